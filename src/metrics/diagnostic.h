#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "access/principal.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "core/status.h"
#include "storage/database.h"

// The integration diagnostic: a planning tool for a consortium, in three steps.
//  1. Four questions on the complexity of the outcome to be delivered (range of need, frequency
//     of interaction, nature of interaction, expertise required) lead to the model of
//     integration it needs: collaborative information and assessment, collaborative customer
//     interface, networked delivery or joint delivery, with the reasoning shown.
//  2. Questions on the scale of the challenges and the facility to manage change in governance,
//     performance management, workforce and information sharing give a profile per area.
//  3. From both: the journey (evolutionary or transformational), the first steps, and which
//     onedoor modules to switch on first.
// Assessments are saved, listed by initiative and date, and compared.
namespace metrics {

struct Choice {
  int level = 0;  // 1 (lowest) to 4 (highest)
  std::string text;
};

// A question of step 1: four answers, one per level.
struct ComplexityQuestion {
  std::string key;  // range, frequency, nature, expertise
  std::string text;
  std::vector<Choice> choices;
};
const std::vector<ComplexityQuestion>& ComplexityQuestions();

// A statement of step 2, rated 1 (low) to 4 (high).
struct ChangeStatement {
  std::string key;   // "governance.scrutiny"
  std::string area;  // governance, performance, workforce, information
  bool challenge = true;  // else a facility for change
  std::string text;
};
const std::vector<ChangeStatement>& ChangeStatements();
// The areas of step 2, in order, with their names.
const std::vector<std::pair<std::string, std::string>>& ChangeAreas();
// The four ratings: "Low", "Fairly low", "Fairly high", "High".
const std::vector<std::string>& RatingNames();

// The answers: a level per complexity question and a rating per statement.
struct DiagnosticAnswers {
  std::map<std::string, int> complexity;
  std::map<std::string, int> ratings;
};

struct Model {
  std::string key;   // information, interface, networked, joint
  std::string name;  // "Collaborative information and assessment"
  int level = 0;     // 1 to 4
};
const std::vector<Model>& Models();

struct AreaProfile {
  std::string area;
  std::string name;
  double challenge = 0;  // mean of its challenge ratings, 1 to 4
  double facility = 0;   // mean of its facility ratings, 1 to 4
  std::string balance;   // ready (facility ≥ challenge), stretch (short by at most 0.5), gap
  std::string summary;   // "High challenge, fairly low facility: a gap to close first"
};

struct Assessment {
  double complexity = 0;  // mean level of the four answers
  Model model;
  std::optional<Model> also;   // a neighbouring model that can also work, near a boundary
  std::vector<std::string> reasoning;  // one line per answer, then the conclusion
  std::vector<AreaProfile> areas;
  std::string journey;       // evolutionary, transformational
  std::string pace;          // transformational: measured or quick; evolutionary: "" 
  std::vector<std::string> journey_reasoning;
  std::vector<std::string> first_steps;
  std::vector<std::string> modules;  // onedoor modules to switch on first, in order
};

// kInvalidArgument naming every missing or out-of-range answer ("complexity.range",
// "ratings.governance.scrutiny") and every answer to a question that does not exist.
core::Status CheckAnswers(const DiagnosticAnswers& answers);
// Step 1 to 3 from valid answers.
Assessment Assess(const DiagnosticAnswers& answers);

struct SavedDiagnostic {
  int64_t id = 0;
  std::string initiative;  // what is being planned: "Families with complex needs, north district"
  std::string note;
  DiagnosticAnswers answers;
  Assessment assessment;
  std::string created_by;
  core::Timestamp created_at;
};

// Thread-safe. Governance users, managers and administrators of any agency plan; they and
// auditors read. Saving is audited as diagnostic.save.
class DiagnosticService {
 public:
  DiagnosticService(storage::Database& db, audit::AuditLog& audit, const core::Clock& clock);

  // kInvalidArgument (initiative: 1 to 200 characters; note: at most 2000; the answers as
  // CheckAnswers), kPermissionDenied (audited).
  core::StatusOr<SavedDiagnostic> Save(const authz::Principal& who, const std::string& initiative,
                                       const std::string& note, const DiagnosticAnswers& answers);
  // Newest first; only those of `initiative` when it is not empty.
  core::StatusOr<std::vector<SavedDiagnostic>> List(const authz::Principal& who, const std::string& initiative);
  core::StatusOr<SavedDiagnostic> Get(const authz::Principal& who, int64_t id);
  // Whether `who` may read (or, with `plan`, save) diagnostics.
  static bool MayRead(const authz::Principal& who);
  static bool MayPlan(const authz::Principal& who);

 private:
  storage::Database& db_;
  audit::AuditLog& audit_;
  const core::Clock& clock_;
};

}  // namespace metrics
