#include "eligibility/screening_service.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/crypto.h"
#include "eligibility/decimal.h"

namespace eligibility {
namespace {

using nlohmann::json;
using core::Status;
using core::StatusOr;

constexpr char kSelect[] =
    "SELECT id, household_id, as_of, created_at, created_by, agency_id, result FROM screenings ";

json InputJson(const HouseholdInput& in) {
  json values = json::object();
  for (const auto& [k, v] : in.values) values[k] = v;
  json members = json::array();
  for (const auto& m : in.members) {
    json o = json::object();
    for (const auto& [k, v] : m) o[k] = v;
    members.push_back(std::move(o));
  }
  return {{"values", std::move(values)}, {"members", std::move(members)}};
}

ScreeningRecord FromRow(const storage::Row& row) {
  ScreeningRecord r;
  r.id = row.Int(0);
  if (!row.IsNull(1)) r.household = core::HouseholdId{row.Int(1)};
  auto d = core::Date::Parse(row.Text(2));
  if (d.ok()) r.as_of = *d;
  r.created_at = core::Timestamp{row.Int(3)};
  r.created_by = row.Int(4);
  r.agency = row.Int(5);
  r.result_json = row.Text(6);
  return r;
}

}  // namespace

std::string ScreeningJson(const Screening& s) {
  json programs = json::array();
  for (const auto& p : s.programs) {
    json tests = json::array();
    for (const auto& t : p.tests) {
      json o = {{"name", t.name},       {"label", t.label},
                {"citation", t.citation}, {"result", std::string(TestOutcomeName(t.outcome))},
                {"message", t.message},  {"uses", t.uses}};
      if (!t.value.empty()) o["value"] = t.value;
      if (!t.limit.empty()) o["limit"] = t.limit;
      if (!t.margin.empty()) o["margin"] = t.margin;
      tests.push_back(std::move(o));
    }
    json trace = json::array();
    for (const auto& t : p.trace) {
      json o = {{"name", t.name}, {"label", t.label}, {"kind", t.kind}, {"value", t.value}};
      if (!t.raw.empty()) o["raw"] = t.raw;
      if (!t.source.empty()) o[t.kind == "parameter" ? "reference" : t.kind == "variable" ? "formula" : "source"] = t.source;
      if (!t.effective.empty()) o["effective"] = t.effective;
      trace.push_back(std::move(o));
    }
    json o = {{"program", p.program},
              {"name", p.name},
              {"agency", p.agency},
              {"jurisdiction", p.jurisdiction},
              {"legal_basis", p.legal_basis},
              {"version", p.version},
              {"result", std::string(OutcomeName(p.outcome))},
              {"reason", p.reason},
              {"missing_inputs", p.missing_inputs},
              {"stale", p.stale},
              {"tests", std::move(tests)},
              {"trace", std::move(trace)}};
    if (p.amount) {
      o["amount"] = {{"value", decimal::ToString(*p.amount)},
                     {"currency", p.currency},
                     {"text", p.amount_text},
                     {"label", p.amount_label}};
    }
    programs.push_back(std::move(o));
  }
  return json{{"as_of", s.as_of.ToString()}, {"rules_hash", s.rules_hash}, {"programs", std::move(programs)}}.dump();
}

core::Date ScreeningService::Today() const {
  return clock_.Now().UtcDate();
}

std::string ScreeningService::MembersDay(core::Date as_of) const {
  return as_of < Today() ? as_of.ToString() : "";
}

bool ScreeningService::TooFarAhead(core::Date as_of) const {
  return as_of.ToDays() - Today().ToDays() > 2 * 366;
}

std::vector<authz::Decision> ScreeningService::DecideMembers(
    const authz::Principal& who, const std::vector<core::PersonId>& members, int64_t made_by,
    storage::Transaction* tx) const {
  // The role, scope and purpose must allow client work all the same.
  const bool made_by_caller =
      who.kind == authz::PrincipalKind::kStaff && made_by != 0 && made_by == who.agency.value &&
      gate_.DecidePerson(who, authz::Operation::kRead, core::PersonId{}).allowed;
  const bool own = who.kind == authz::PrincipalKind::kCitizen && who.person &&
                   std::find(members.begin(), members.end(), *who.person) != members.end();
  std::vector<authz::Decision> out;
  out.reserve(members.size());
  if (members.empty()) {
    // No one it was made for lives on in the household's records (all removed as mistakes):
    // only the agency that made it reads it, as it reads what it asked at its desk.
    authz::Decision d;
    d.allowed = made_by_caller;
    d.reason = made_by_caller
                   ? "the agency made this screening"
                   : "the screening's household had no members on its day: only the agency that "
                     "made it may read it";
    out.push_back(std::move(d));
    return out;
  }
  for (core::PersonId p : members) {
    authz::Decision d =
        gate_.DecidePerson(who, authz::Operation::kRead, p, authz::Resource::kHousehold, tx);
    // The screening holds the household's means: its own category (income by default).
    d.Require(authz::Field::kScreening, gate_.categories());
    if (own && !d.allowed) {
      d.allowed = true;
      d.reason = "a person sees the screenings of their own household";
    } else if (!d.allowed && made_by_caller) {
      // What the agency asked and was answered at its desk, not what other agencies hold.
      d.allowed = true;
      d.reason = "the agency made this screening";
    }
    out.push_back(std::move(d));
  }
  return out;
}

Status ScreeningService::AuditMembers(const authz::Principal& who, const std::string& action,
                                      int64_t screening, const std::vector<core::PersonId>& members,
                                      int64_t made_by) {
  std::string refusal;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    const std::vector<authz::Decision> decisions = DecideMembers(who, members, made_by, &tx);
    for (size_t i = 0; i < decisions.size(); ++i) {
      const authz::Decision& d = decisions[i];
      const std::optional<core::PersonId> about =
          i < members.size() ? std::optional(members[i]) : std::nullopt;
      RETURN_IF_ERROR(audit_.Append(
          tx, who, {action, "screening", std::to_string(screening), about, d.allowed, d.reason}));
      if (!d.allowed && refusal.empty()) refusal = d.reason;
    }
    return Status::Ok();
  }));
  if (!refusal.empty()) return Status::PermissionDenied(refusal);
  return Status::Ok();
}

StatusOr<ScreeningRecord> ScreeningService::Screen(const authz::Principal& who, const ScreeningRequest& request) {
  ScreeningRecord rec;
  rec.as_of = request.as_of.value_or(Today());
  if (TooFarAhead(rec.as_of)) {
    return Status::InvalidArgument("the screening request has invalid fields",
                                   {{"as_of", "must be no more than two years after today"}});
  }
  rec.input = request.input;
  rec.household = request.household;
  std::vector<core::PersonId> members;
  if (request.household) {
    ASSIGN_OR_RETURN(registry::Household h, households_.Get(who, *request.household));
    // Screened as it was on a past date: those who lived there then.
    const std::string day = MembersDay(rec.as_of);
    for (const auto& m : h.members) {
      if (m.LivedThereOn(day)) members.push_back(m.person);
    }
    if (!day.empty() && members.empty()) {
      return Status::InvalidArgument(
          fmt::format("the household had no members on {}", day),
          {{"as_of",
            fmt::format("no one lived in the household on {}: screen on a later date", day)}});
    }
    if (request.input.members.size() > members.size()) {
      return Status::InvalidArgument(
          day.empty()
              ? fmt::format("the household has {} current members, but answers were given for {}",
                            members.size(), request.input.members.size())
              : fmt::format("the household had {} member{} on {}, but answers were given for {}",
                            members.size(), members.size() == 1 ? "" : "s", day,
                            request.input.members.size()),
          {{"members", "more members than the household has"}});
    }
    rec.input.members.assign(members.size(), {});
    for (size_t i = 0; i < members.size(); ++i) {
      if (i < request.input.members.size()) rec.input.members[i] = request.input.members[i];
      bool has_age = false;
      for (const auto& [k, v] : rec.input.members[i]) has_age = has_age || k == "age";
      if (!has_age && rules_.FindSymbol("age") >= 0) {
        std::optional<core::PartialDate> born;
        if (who.kind == authz::PrincipalKind::kCitizen) {
          // The person's household members' ages are used, not shown: the read of the household
          // above and the screening's entries are what their access logs show.
          RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
            ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT birth_date FROM persons WHERE id = ?",
                                                          {members[i].value}));
            if (!rows.empty() && !rows[0].IsNull(0)) {
              if (auto d = core::PartialDate::Parse(rows[0].Text(0)); d.ok()) born = *d;
            }
            return Status::Ok();
          }));
        } else {
          ASSIGN_OR_RETURN(registry::PersonView view, persons_.Get(who, members[i]));
          born = view.person.birth_date;
        }
        if (auto age = born ? born->AgeOn(rec.as_of) : std::nullopt) {
          rec.input.members[i].emplace_back("age", std::to_string(*age));
        }
      }
    }
  }
  bool has_size = false;
  for (const auto& [k, v] : rec.input.values) has_size = has_size || k == "household_size";
  if (!has_size && !rec.input.members.empty() && rules_.FindSymbol("household_size") >= 0) {
    rec.input.values.emplace_back("household_size", std::to_string(rec.input.members.size()));
  }
  ASSIGN_OR_RETURN(rec.result, eligibility::Screen(rules_, rec.input, rec.as_of));
  rec.result_json = ScreeningJson(rec.result);
  rec.created_at = clock_.Now();
  rec.created_by = who.user.value;
  rec.agency = who.agency.value;
  if (!request.household || !request.save) return rec;

  std::string input_json = InputJson(rec.input).dump();
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    // The form's key with what it screened: the same form with the same household, date and
    // answers (a reload, a second press) finds the screening it saved; with other answers (back,
    // changed, sent) it is a screening of its own, which a reload of that finds in turn.
    storage::Value token = storage::Null{};
    if (!request.form_token.empty() && rec.created_by != 0) {
      const std::string key = request.form_token + ":" +
                              core::Sha256Hex(fmt::format("{}\n{}\n{}", rec.household->value,
                                                          rec.as_of.ToString(), input_json));
      ASSIGN_OR_RETURN(
          storage::Rows sent,
          tx.Query("SELECT id, created_at FROM screenings WHERE created_by = ? AND form_token = ?",
                   {rec.created_by, key}));
      if (!sent.empty()) {
        rec.id = sent[0].Int(0);
        rec.created_at = core::Timestamp{sent[0].Int(1)};
        rec.repeated = true;
        return Status::Ok();
      }
      token = key;
    }
    ASSIGN_OR_RETURN(
        storage::Rows rows,
        tx.Query(
            "INSERT INTO screenings (household_id, as_of, rules_hash, input, result, created_at, "
            "created_by, agency_id, form_token) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            {rec.household->value, rec.as_of.ToString(), rules_.content_hash(), input_json,
             rec.result_json, rec.created_at.micros, rec.created_by, rec.agency, token}));
    rec.id = rows.at(0).Int(0);
    for (core::PersonId p : members) {
      RETURN_IF_ERROR(audit_.Append(tx, who, {"screening.create", "screening", std::to_string(rec.id), p, true,
                                              fmt::format("screened for every program as of {}", rec.as_of.ToString())}));
    }
    json event = {{"screening_id", rec.id}, {"household_id", rec.household->value}, {"as_of", rec.as_of.ToString()}};
    return outbox_.Append(tx, "screening.completed", "household", std::to_string(rec.household->value), event.dump());
  }));
  return rec;
}

Status ScreeningService::ReadWithMembers(int64_t id, std::optional<ScreeningRecord>& found,
                                         std::vector<core::PersonId>& members) {
  return db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query(std::string(kSelect) + "WHERE id = ?", {id}));
    if (rows.empty()) return Status::Ok();
    found = FromRow(rows.at(0));
    // The people it was made for: those who lived in the household on its day (its date, or the
    // day it was made, whichever came first), whoever lives there now.
    const std::string made = found->created_at.UtcDate().ToString();
    const std::string day = std::min(found->as_of.ToString(), made);
    ASSIGN_OR_RETURN(
        storage::Rows m,
        tx.Query(
            "SELECT person_id FROM household_members WHERE household_id = ? AND start_date <= ? "
            "AND (end_date IS NULL OR end_date > ?) ORDER BY id",
            {found->household->value, day, day}));
    for (const auto& row : m) members.push_back(core::PersonId{row.Int(0)});
    return Status::Ok();
  });
}

StatusOr<ScreeningRecord> ScreeningService::Get(const authz::Principal& who, int64_t id) {
  std::optional<ScreeningRecord> found;
  std::vector<core::PersonId> members;
  RETURN_IF_ERROR(ReadWithMembers(id, found, members));
  if (!found) return Status::NotFound(fmt::format("no screening has id {}", id));
  RETURN_IF_ERROR(AuditMembers(who, "screening.read", id, members, found->agency));
  return *found;
}

bool ScreeningService::MayRead(const authz::Principal& who, int64_t id) {
  std::optional<ScreeningRecord> found;
  std::vector<core::PersonId> members;
  if (!ReadWithMembers(id, found, members).ok() || !found) return false;
  for (const authz::Decision& d : DecideMembers(who, members, found->agency, nullptr)) {
    if (!d.allowed) return false;
  }
  return true;
}

StatusOr<std::vector<ScreeningRecord>> ScreeningService::ForHousehold(const authz::Principal& who,
                                                                      core::HouseholdId household, int limit) {
  if (limit < 1 || limit > 100) return Status::InvalidArgument("the page size is out of range", {{"limit", "must be from 1 to 100"}});
  // Reading the household checks and audits each member's household data.
  ASSIGN_OR_RETURN(registry::Household h, households_.Get(who, household));
  return ForReadHousehold(who, h, limit);
}

StatusOr<std::vector<ScreeningRecord>> ScreeningService::ForReadHousehold(
    const authz::Principal& who, const registry::Household& h, int limit) {
  if (limit < 1 || limit > 100)
    return Status::InvalidArgument("the page size is out of range",
                                   {{"limit", "must be from 1 to 100"}});
  std::vector<ScreeningRecord> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(
        storage::Rows rows,
        tx.Query(std::string(kSelect) + "WHERE household_id = ? ORDER BY id DESC LIMIT ?",
                 {h.id.value, int64_t{limit}}));
    for (const auto& row : rows) out.push_back(FromRow(row));
    return Status::Ok();
  }));
  std::vector<core::PersonId> members;
  for (const auto& m : h.members) {
    if (m.until.empty()) members.push_back(m.person);
  }
  if (!out.empty())
    RETURN_IF_ERROR(AuditMembers(who, "screening.list", out.front().id, members, 0));
  return out;
}

}  // namespace eligibility
