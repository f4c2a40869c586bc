#include "metrics/outcomes.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/utf8.h"

namespace metrics {

using core::Status;
using core::StatusOr;

namespace {

bool Governance(const authz::Principal& who) {
  return who.kind == authz::PrincipalKind::kStaff && who.HasRole(authz::Role::kGovernance);
}

StatusOr<std::vector<Outcome>> Load(storage::Transaction& tx, std::optional<int64_t> only) {
  std::vector<Outcome> out;
  std::map<int64_t, size_t> at;
  ASSIGN_OR_RETURN(storage::Rows rows,
                   only ? tx.Query("SELECT id, name, description FROM outcomes WHERE id = ?", {*only})
                        : tx.Query("SELECT id, name, description FROM outcomes ORDER BY name, id"));
  for (const auto& r : rows) {
    at[r.Int(0)] = out.size();
    out.push_back({r.Int(0), r.Text(1), r.Text(2), {}, {}});
  }
  if (out.empty()) return out;
  ASSIGN_OR_RETURN(storage::Rows ind, tx.Query("SELECT id, outcome_id, metric, minutes, comparison, target FROM "
                                               "outcome_indicators ORDER BY id"));
  for (const auto& r : ind) {
    auto it = at.find(r.Int(1));
    if (it == at.end()) continue;
    Indicator i{r.Int(0), r.Int(1), r.Text(2), static_cast<int>(r.Int(3)), r.Text(4), r.Real(5), ""};
    i.label = TargetLabel(i.metric, i.minutes, i.comparison, i.target);
    out[it->second].indicators.push_back(std::move(i));
  }
  ASSIGN_OR_RETURN(storage::Rows con,
                   tx.Query("SELECT c.id, c.outcome_id, c.agency_id, a.name, c.kind, c.ref, c.name, c.how, c.added_by "
                            "FROM outcome_contributions c JOIN agencies a ON a.id = c.agency_id "
                            "ORDER BY a.name, c.kind, c.name, c.id"));
  for (const auto& r : con) {
    auto it = at.find(r.Int(1));
    if (it == at.end()) continue;
    out[it->second].contributions.push_back({r.Int(0), r.Int(1), core::AgencyId{r.Int(2)}, r.Text(3), r.Text(4),
                                             r.Text(5), r.Text(6), r.Text(7), r.Text(8)});
  }
  return out;
}

}  // namespace

OutcomeService::OutcomeService(storage::Database& db, audit::AuditLog& audit, const core::Clock& clock,
                               ScorecardService& cards, ServiceMetricsService& metrics, ProgramList programs)
    : db_(db), audit_(audit), clock_(clock), cards_(cards), metrics_(metrics), programs_(std::move(programs)) {}

bool OutcomeService::MayDefine(const authz::Principal& who) { return Governance(who); }

Status OutcomeService::MayRead(const authz::Principal& who) {
  if (who.kind == authz::PrincipalKind::kStaff) return Status::Ok();
  if (who.kind == authz::PrincipalKind::kSystem && who.HasScope("metrics:read")) return Status::Ok();
  return Status::PermissionDenied("the outcomes framework is for staff and tokens with metrics:read");
}

Status OutcomeService::Refused(const authz::Principal& who, const std::string& action, const std::string& id,
                               const std::string& why) {
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
    return audit_.Append(tx, who, {action, "outcome", id, std::nullopt, false, why});
  }));
  return Status::PermissionDenied(why);
}

Status OutcomeService::MayMap(storage::Transaction& tx, const authz::Principal& who, core::AgencyId agency) {
  ASSIGN_OR_RETURN(storage::Rows a, tx.Query("SELECT id FROM agencies WHERE id = ?", {agency.value}));
  if (a.empty()) {
    return Status::InvalidArgument("the agency does not exist",
                                   {{"agency_id", fmt::format("no agency has id {}", agency.value)}});
  }
  const bool own = who.agency == agency && who.HasAnyRole({authz::Role::kManager, authz::Role::kAdmin}) &&
                   (who.kind == authz::PrincipalKind::kStaff ||
                    (who.kind == authz::PrincipalKind::kSystem && who.HasScope("metrics:write")));
  if (!Governance(who) && !own) {
    return Status::PermissionDenied("an agency's work is mapped by its managers and the consortium's governance");
  }
  return Status::Ok();
}

std::vector<KnownProgram> OutcomeService::ProgramsOf(core::AgencyId agency) {
  std::string code;
  (void)db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT code FROM agencies WHERE id = ?", {agency.value}));
    if (!rows.empty()) code = rows.at(0).Text(0);
    return Status::Ok();
  });
  return code.empty() ? std::vector<KnownProgram>{} : ProgramsOfCode(code);
}

std::vector<KnownProgram> OutcomeService::ProgramsOfCode(const std::string& agency_code) const {
  std::vector<KnownProgram> out;
  if (!programs_) return out;
  for (auto& p : programs_()) {
    if (p.agency_code == agency_code) out.push_back(std::move(p));
  }
  return out;
}

StatusOr<std::vector<Outcome>> OutcomeService::List(const authz::Principal& who) {
  RETURN_IF_ERROR(MayRead(who));
  std::vector<Outcome> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(out, Load(tx, std::nullopt));
    return Status::Ok();
  }));
  return out;
}

StatusOr<Outcome> OutcomeService::Get(const authz::Principal& who, int64_t id) {
  RETURN_IF_ERROR(MayRead(who));
  std::vector<Outcome> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(out, Load(tx, id));
    return Status::Ok();
  }));
  if (out.empty()) return Status::NotFound(fmt::format("no outcome has id {}", id));
  return out.front();
}

StatusOr<Outcome> OutcomeService::AddOutcome(const authz::Principal& who, const std::string& name,
                                             const std::string& description) {
  if (!MayDefine(who)) {
    return Refused(who, "outcome.add", "", "outcomes are defined by the consortium's governance");
  }
  std::vector<core::FieldError> errors;
  if (name.empty() || core::Utf8Length(name) > 200)
    errors.push_back({"name", "name the outcome in 1 to 200 characters"});
  if (core::Utf8Length(description) > 2000)
    errors.push_back({"description", "at most 2000 characters"});
  if (!errors.empty()) return Status::InvalidArgument("the outcome has invalid fields", std::move(errors));
  int64_t id = 0;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows same, tx.Query("SELECT id FROM outcomes WHERE name = ?", {name}));
    if (!same.empty()) {
      return Status::InvalidArgument("the outcome has invalid fields",
                                     {{"name", "another outcome has this name"}});
    }
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("INSERT INTO outcomes (name, description, created_by, created_at) VALUES (?, ?, ?, ?) "
                              "RETURNING id",
                              {name, description, who.name, clock_.Now().micros}));
    id = rows.at(0).Int(0);
    return audit_.Append(tx, who, {"outcome.add", "outcome", std::to_string(id), std::nullopt, true, name});
  }));
  return Outcome{id, name, description, {}, {}};
}

Status OutcomeService::RemoveOutcome(const authz::Principal& who, int64_t id) {
  if (!MayDefine(who)) {
    return Refused(who, "outcome.remove", std::to_string(id), "outcomes are defined by the consortium's governance");
  }
  return db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT name FROM outcomes WHERE id = ?", {id}));
    if (rows.empty()) return Status::NotFound(fmt::format("no outcome has id {}", id));
    RETURN_IF_ERROR(tx.Execute("DELETE FROM outcome_indicators WHERE outcome_id = ?", {id}).status());
    RETURN_IF_ERROR(tx.Execute("DELETE FROM outcome_contributions WHERE outcome_id = ?", {id}).status());
    RETURN_IF_ERROR(tx.Execute("DELETE FROM outcomes WHERE id = ?", {id}).status());
    return audit_.Append(tx, who,
                         {"outcome.remove", "outcome", std::to_string(id), std::nullopt, true, rows.at(0).Text(0)});
  });
}

StatusOr<Indicator> OutcomeService::AddIndicator(const authz::Principal& who, int64_t outcome,
                                                 const NewIndicator& in) {
  if (!MayDefine(who)) {
    return Refused(who, "indicator.add", std::to_string(outcome),
                   "indicators are defined by the consortium's governance");
  }
  std::vector<core::FieldError> errors = CheckTarget({in.metric, in.comparison, in.target, in.minutes});
  for (auto& e : errors) {
    if (e.field == "value") e.field = "target";
  }
  if (!errors.empty()) return Status::InvalidArgument("the indicator has invalid fields", std::move(errors));
  Indicator out{0, outcome, in.metric, in.minutes, in.comparison, in.target,
                TargetLabel(in.metric, in.minutes, in.comparison, in.target)};
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows o, tx.Query("SELECT id FROM outcomes WHERE id = ?", {outcome}));
    if (o.empty()) return Status::NotFound(fmt::format("no outcome has id {}", outcome));
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("INSERT INTO outcome_indicators (outcome_id, metric, minutes, comparison, target, "
                              "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                              {outcome, in.metric, static_cast<int64_t>(in.minutes), in.comparison, in.target,
                               who.name, clock_.Now().micros}));
    out.id = rows.at(0).Int(0);
    return audit_.Append(tx, who,
                         {"indicator.add", "outcome", std::to_string(outcome), std::nullopt, true, out.label});
  }));
  return out;
}

Status OutcomeService::RemoveIndicator(const authz::Principal& who, int64_t id) {
  if (!MayDefine(who)) {
    return Refused(who, "indicator.remove", "", "indicators are defined by the consortium's governance");
  }
  return db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT outcome_id FROM outcome_indicators WHERE id = ?", {id}));
    if (rows.empty()) return Status::NotFound(fmt::format("no indicator has id {}", id));
    RETURN_IF_ERROR(tx.Execute("DELETE FROM outcome_indicators WHERE id = ?", {id}).status());
    return audit_.Append(tx, who, {"indicator.remove", "outcome", std::to_string(rows.at(0).Int(0)), std::nullopt,
                                   true, fmt::format("indicator {}", id)});
  });
}

StatusOr<Contribution> OutcomeService::AddContribution(const authz::Principal& who, int64_t outcome,
                                                       const NewContribution& in) {
  std::vector<core::FieldError> errors;
  if (in.kind != "program" && in.kind != "service") errors.push_back({"kind", "must be program or service"});
  if (in.ref.empty()) errors.push_back({"ref", in.kind == "service" ? "choose a service" : "choose a program"});
  if (in.how.empty() || core::Utf8Length(in.how) > 500)
    errors.push_back({"how", "say how it contributes, in 1 to 500 characters"});
  Contribution out;
  std::optional<std::string> refusal;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows o, tx.Query("SELECT id FROM outcomes WHERE id = ?", {outcome}));
    if (o.empty()) return Status::NotFound(fmt::format("no outcome has id {}", outcome));
    // A refusal comes before the form is judged: who may not map learns nothing from it.
    if (Status s = MayMap(tx, who, in.agency); !s.ok()) {
      if (s.code() != core::StatusCode::kPermissionDenied) return s;
      refusal = s.message();
      return Status::Ok();
    }
    if (!errors.empty()) return Status::InvalidArgument("the contribution has invalid fields", std::move(errors));
    ASSIGN_OR_RETURN(storage::Rows agency, tx.Query("SELECT code, name FROM agencies WHERE id = ?", {in.agency.value}));
    std::string name;
    if (in.kind == "program") {
      for (const auto& p : ProgramsOfCode(agency.at(0).Text(0))) {
        if (p.id == in.ref) name = p.name;
      }
      if (name.empty()) {
        return Status::InvalidArgument("the contribution has invalid fields",
                                       {{"ref", fmt::format("{} has no program {}", agency.at(0).Text(1), in.ref)}});
      }
    } else {
      ASSIGN_OR_RETURN(storage::Rows s, tx.Query("SELECT name FROM directory_services WHERE service_id = ?", {in.ref}));
      if (s.empty()) {
        return Status::InvalidArgument("the contribution has invalid fields",
                                       {{"ref", "the service directory has no such service"}});
      }
      name = s.at(0).Text(0);
    }
    ASSIGN_OR_RETURN(storage::Rows same,
                     tx.Query("SELECT id FROM outcome_contributions WHERE outcome_id = ? AND agency_id = ? AND kind = ? "
                              "AND ref = ?",
                              {outcome, in.agency.value, in.kind, in.ref}));
    if (!same.empty()) {
      return Status::InvalidArgument("the contribution has invalid fields",
                                     {{"ref", "already mapped to this outcome"}});
    }
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("INSERT INTO outcome_contributions (outcome_id, agency_id, kind, ref, name, how, added_by, "
                              "added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                              {outcome, in.agency.value, in.kind, in.ref, name, in.how, who.name, clock_.Now().micros}));
    out = {rows.at(0).Int(0), outcome, in.agency, agency.at(0).Text(1), in.kind, in.ref, name, in.how, who.name};
    return audit_.Append(tx, who, {"contribution.add", "outcome", std::to_string(outcome), std::nullopt, true,
                                   fmt::format("{} {} of agency {}", in.kind, in.ref, in.agency.value)});
  }));
  if (refusal) return Refused(who, "contribution.add", std::to_string(outcome), *refusal);
  return out;
}

Status OutcomeService::RemoveContribution(const authz::Principal& who, int64_t id) {
  std::optional<std::string> refusal;
  int64_t outcome = 0;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT outcome_id, agency_id FROM outcome_contributions WHERE id = ?", {id}));
    if (rows.empty()) return Status::NotFound(fmt::format("no contribution has id {}", id));
    outcome = rows.at(0).Int(0);
    if (Status s = MayMap(tx, who, core::AgencyId{rows.at(0).Int(1)}); !s.ok()) {
      if (s.code() != core::StatusCode::kPermissionDenied) return s;
      refusal = s.message();
      return Status::Ok();
    }
    RETURN_IF_ERROR(tx.Execute("DELETE FROM outcome_contributions WHERE id = ?", {id}).status());
    return audit_.Append(tx, who, {"contribution.remove", "outcome", std::to_string(outcome), std::nullopt, true,
                                   fmt::format("contribution {}", id)});
  }));
  if (refusal) return Refused(who, "contribution.remove", std::to_string(outcome), *refusal);
  return Status::Ok();
}

StatusOr<AgencyOutcomes> OutcomeService::ForAgency(const authz::Principal& who, core::AgencyId agency,
                                                   const std::string& month) {
  ASSIGN_OR_RETURN(Period period, cards_.MonthPeriod(month));
  // The agency's metrics of the month: checks who may see them, audits the read.
  ASSIGN_OR_RETURN(ServiceMetrics m, metrics_.Compute(who, agency, period));
  std::vector<Outcome> all;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(all, Load(tx, std::nullopt));
    return Status::Ok();
  }));
  AgencyOutcomes out;
  out.agency = agency;
  out.agency_name = m.agency_name;
  out.month = month;
  for (auto& o : all) {
    AgencyOutcome ao;
    std::set<std::string> partners;
    for (const auto& c : o.contributions) {
      if (c.agency == agency) ao.mine.push_back(c);
      else partners.insert(c.agency_name);
    }
    if (ao.mine.empty()) continue;
    ao.partners.assign(partners.begin(), partners.end());
    for (const auto& i : o.indicators) {
      IndicatorResult r;
      r.indicator = i;
      r.actual = MetricValue(m, i.metric, i.minutes, &r.suppressed);
      r.status = !r.actual                                                                  ? "unknown"
                 : (i.comparison == "at_least" ? *r.actual >= i.target : *r.actual <= i.target) ? "met"
                                                                                               : "missed";
      ao.results.push_back(std::move(r));
    }
    ao.outcome = std::move(o);
    out.outcomes.push_back(std::move(ao));
  }
  return out;
}

}  // namespace metrics
