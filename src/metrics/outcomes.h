#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "access/principal.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "metrics/scorecard.h"
#include "storage/database.h"

// The outcomes framework: the consortium's shared outcomes ("People get the income they are
// entitled to without having to ask twice"), each with indicators and targets measured on the
// agencies' own work (the service metrics), and the map of each agency's programs and services
// to the outcomes they contribute to, so that each agency sees where its work counts.
namespace metrics {

struct Indicator {
  int64_t id = 0;
  int64_t outcome = 0;
  std::string metric;      // a TargetMetrics() key
  int minutes = 0;         // for waited_within_percent
  std::string comparison;  // at_least, at_most
  double target = 0;
  std::string label;  // "Decisions within the statutory clock: at least 90%"
};

struct Contribution {
  int64_t id = 0;
  int64_t outcome = 0;
  core::AgencyId agency;
  std::string agency_name;
  std::string kind;  // program (a rule pack's program), service (a directory service)
  std::string ref;   // the program's or the service's id
  std::string name;  // its name when it was mapped
  std::string how;   // how it contributes, in the agency's words
  std::string added_by;
};

struct Outcome {
  int64_t id = 0;
  std::string name;
  std::string description;
  std::vector<Indicator> indicators;
  std::vector<Contribution> contributions;
};

struct NewIndicator {
  std::string metric;
  int minutes = 0;
  std::string comparison;
  double target = 0;
};

struct NewContribution {
  core::AgencyId agency;
  std::string kind;
  std::string ref;
  std::string how;
};

// A program onedoor's rules know: id, name, owning agency's code.
struct KnownProgram {
  std::string id;
  std::string name;
  std::string agency_code;
};
using ProgramList = std::function<std::vector<KnownProgram>()>;

// One indicator measured on one agency's work of a month.
struct IndicatorResult {
  Indicator indicator;
  std::optional<double> actual;
  bool suppressed = false;
  std::string status;  // met, missed, unknown
};

// Where one agency's work counts: each outcome it contributes to, through what, with whom, and
// its indicators measured on this agency's month.
struct AgencyOutcome {
  Outcome outcome;
  std::vector<Contribution> mine;
  std::vector<std::string> partners;  // the other agencies contributing, by name
  std::vector<IndicatorResult> results;
};

struct AgencyOutcomes {
  core::AgencyId agency;
  std::string agency_name;
  std::string month;
  std::vector<AgencyOutcome> outcomes;
};

// Thread-safe.
class OutcomeService {
 public:
  OutcomeService(storage::Database& db, audit::AuditLog& audit, const core::Clock& clock, ScorecardService& cards,
                 ServiceMetricsService& metrics, ProgramList programs);

  // Every staff user (and API tokens with metrics:read) reads the framework: it holds no
  // personal data.
  core::StatusOr<std::vector<Outcome>> List(const authz::Principal& who);
  core::StatusOr<Outcome> Get(const authz::Principal& who, int64_t id);
  // The consortium's governance defines outcomes and indicators. kInvalidArgument (name: 1 to
  // 200 characters, not the name of another outcome; description: at most 2000).
  core::StatusOr<Outcome> AddOutcome(const authz::Principal& who, const std::string& name,
                                     const std::string& description);
  // Removes the outcome with its indicators and map.
  core::Status RemoveOutcome(const authz::Principal& who, int64_t id);
  // kInvalidArgument naming metric, comparison, target, minutes as for service targets.
  core::StatusOr<Indicator> AddIndicator(const authz::Principal& who, int64_t outcome, const NewIndicator& in);
  core::Status RemoveIndicator(const authz::Principal& who, int64_t id);
  // Governance, or the agency's managers and administrators, map its programs and services.
  // kInvalidArgument: kind (program or service), ref (a program of this agency's rules, or a
  // service of the directory; not already mapped), how (1 to 500 characters).
  core::StatusOr<Contribution> AddContribution(const authz::Principal& who, int64_t outcome,
                                               const NewContribution& in);
  core::Status RemoveContribution(const authz::Principal& who, int64_t id);
  // Where `agency`'s work counts in `month`; for those who see the agency's metrics.
  core::StatusOr<AgencyOutcomes> ForAgency(const authz::Principal& who, core::AgencyId agency,
                                           const std::string& month);
  // The programs of `agency` that may be mapped (those its rules say it owns).
  std::vector<KnownProgram> ProgramsOf(core::AgencyId agency);
  static bool MayDefine(const authz::Principal& who);

 private:
  core::Status MayRead(const authz::Principal& who);
  core::Status MayMap(storage::Transaction& tx, const authz::Principal& who, core::AgencyId agency);
  std::vector<KnownProgram> ProgramsOfCode(const std::string& agency_code) const;
  core::Status Refused(const authz::Principal& who, const std::string& action, const std::string& id,
                       const std::string& why);

  storage::Database& db_;
  audit::AuditLog& audit_;
  const core::Clock& clock_;
  ScorecardService& cards_;
  ServiceMetricsService& metrics_;
  ProgramList programs_;
};

}  // namespace metrics
