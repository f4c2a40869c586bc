#include "registry/household_service.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/utf8.h"
#include "registry/change_notices.h"
#include "registry/person.h"

namespace registry {
namespace {
using core::Status;
using core::StatusOr;
// Clears the names of the members whose names `decisions` (one for each member, in order)
// withhold, and the household's when no current member's is seen: a member's name is identity
// data, and the household's is often the family's.
void ApplyNameDecisions(Household& h, const std::vector<authz::Decision>& decisions) {
  bool a_name_seen = false;
  for (size_t i = 0; i < h.members.size(); ++i) {
    Membership& m = h.members[i];
    if (!decisions[i].Sees(authz::Field::kNames)) {
      m.name.clear();
      m.name_withheld = true;
    } else if (m.until.empty()) {
      a_name_seen = true;
    }
  }
  if (!h.members.empty() && !a_name_seen) {
    h.name.clear();
    h.name_withheld = true;
  }
}
}  // namespace

bool IsRelationship(const std::string& relationship) {
  return std::find(kRelationships.begin(), kRelationships.end(), relationship) !=
         kRelationships.end();
}

StatusOr<Household> HouseholdService::Load(storage::Transaction& tx, core::HouseholdId id) {
  ASSIGN_OR_RETURN(storage::Rows h, tx.Query("SELECT name, version FROM households WHERE id = ?", {id.value}));
  if (h.empty()) return Status::NotFound(fmt::format("no household has id {}", id.value));
  Household out;
  out.id = id;
  out.name = h[0].Text(0);
  out.version = h[0].Int(1);
  ASSIGN_OR_RETURN(storage::Rows m,
                   tx.Query("SELECT m.person_id, p.display_name, m.relationship, m.start_date, m.end_date "
                            "FROM household_members m JOIN persons p ON p.id = m.person_id WHERE m.household_id = ? "
                            "ORDER BY (m.end_date IS NOT NULL), m.start_date, m.id",
                            {id.value}));
  for (const auto& r : m) {
    out.members.push_back({core::PersonId{r.Int(0)}, r.Text(1), r.Text(2), r.Text(3), r.OptText(4).value_or("")});
  }
  return out;
}

// The gate's decision for the household part of a person's data: refused unless the
// household category is visible too.
authz::Decision HouseholdService::Decide(const authz::Principal& who, authz::Operation op, core::PersonId person,
                                         storage::Transaction* tx) const {
  authz::Decision d = gate_.DecidePerson(who, op, person, authz::Resource::kHousehold, tx);
  if (person.valid()) d.Require(authz::Field::kHousehold, gate_.categories());
  return d;
}

StatusOr<Household> HouseholdService::Create(const authz::Principal& who, const std::string& name) {
  if (name.find_first_not_of(" \t\r\n") == std::string::npos || core::Utf8Length(name) > 200) {
    return Status::InvalidArgument("the household has invalid fields", {{"name", "enter a name of 1 to 200 characters"}});
  }
  authz::Decision d = gate_.DecidePerson(who, authz::Operation::kCreate, {}, authz::Resource::kHousehold);
  Household out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    if (!d.allowed) return audit_.Append(tx, who, {"household.create", "household", "", std::nullopt, false, d.reason});
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("INSERT INTO households (name, version, created_at, created_by) VALUES (?, 1, ?, ?) "
                              "RETURNING id",
                              {name, clock_.Now().micros, who.user.value}));
    out = Household{core::HouseholdId{rows.at(0).Int(0)}, name, 1, {}};
    RETURN_IF_ERROR(audit_.Append(tx, who, {"household.create", "household", std::to_string(out.id.value),
                                            std::nullopt, true, d.reason}));
    return outbox_.Append(tx, "household.created", "household", std::to_string(out.id.value),
                          fmt::format(R"({{"household_id":{}}})", out.id.value));
  }));
  if (!d.allowed) return Status::PermissionDenied(d.reason);
  return out;
}

StatusOr<Household> HouseholdService::Get(const authz::Principal& who, core::HouseholdId id) {
  Household out;
  std::string refusal;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(out, Load(tx, id));
    // A person sees who lives with them now: the names and relationships of their own
    // household's current members, nothing of anyone else's record; not who lived there before.
    bool own = false;
    if (who.kind == authz::PrincipalKind::kCitizen && who.person) {
      for (const auto& m : out.members) own = own || (m.person == *who.person && m.until.empty());
      if (own) {
        std::erase_if(out.members, [&](const Membership& m) { return !m.until.empty() && m.person != *who.person; });
      }
    }
    // A member's name is shown only where the reader sees the member's names (the household
    // category alone does not release them): ApplyNameDecisions.
    std::vector<authz::Decision> decisions;
    for (auto& m : out.members) {
      authz::Decision d = Decide(who, authz::Operation::kRead, m.person, &tx);
      if (own && !d.allowed) {
        d.allowed = true;
        d.reason = "a person sees who lives in their own household";
      }
      // A past member the reader may not see is left out of the list; a current one refuses the
      // household whole.
      if (!d.allowed && refusal.empty() && m.until.empty()) refusal = d.reason;
      decisions.push_back(std::move(d));
    }
    // A household one current member of which the reader may not see is refused whole: then
    // nothing of any member was shown, and each member's entry says so.
    for (size_t i = 0; i < out.members.size(); ++i) {
      const authz::Decision& d = decisions[i];
      const bool shown = d.allowed && refusal.empty();
      RETURN_IF_ERROR(audit_.Append(
          tx, who,
          {"household.read", "household", std::to_string(id.value), out.members[i].person, shown,
           shown || !d.allowed ? d.reason
                               : "not shown: the household has a member the reader may not see (" +
                                     refusal + ")"}));
    }
    {
      // The past members not shown go from the list.
      std::vector<Membership> kept;
      std::vector<authz::Decision> kept_decisions;
      for (size_t i = 0; i < out.members.size(); ++i) {
        if (!decisions[i].allowed && !out.members[i].until.empty()) continue;
        kept.push_back(std::move(out.members[i]));
        kept_decisions.push_back(std::move(decisions[i]));
      }
      out.members = std::move(kept);
      decisions = std::move(kept_decisions);
    }
    if (!own) ApplyNameDecisions(out, decisions);
    if (out.members.empty()) {
      authz::Decision d = gate_.DecidePerson(who, authz::Operation::kSearch, {}, authz::Resource::kHousehold);
      RETURN_IF_ERROR(audit_.Append(tx, who, {"household.read", "household", std::to_string(id.value), std::nullopt,
                                              d.allowed, d.reason}));
      if (!d.allowed) refusal = d.reason;
    }
    return Status::Ok();
  }));
  if (!refusal.empty()) return Status::PermissionDenied(refusal);
  return out;
}

StatusOr<std::optional<core::HouseholdId>> HouseholdService::CurrentOf(core::PersonId person) {
  std::optional<core::HouseholdId> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT household_id FROM household_members WHERE person_id = ? AND "
                                                  "end_date IS NULL ORDER BY id DESC LIMIT 1",
                                                  {person.value}));
    if (!rows.empty()) out = core::HouseholdId{rows[0].Int(0)};
    return Status::Ok();
  }));
  return out;
}

core::Date HouseholdService::Today() const { return today_ ? today_() : clock_.Now().UtcDate(); }

Status HouseholdService::RequireWholeHousehold(storage::Transaction& tx,
                                               const authz::Principal& who, core::HouseholdId id,
                                               core::PersonId person, authz::Decision& d) {
  if (!d.allowed) return Status::Ok();
  ASSIGN_OR_RETURN(
      storage::Rows members,
      tx.Query(
          "SELECT DISTINCT person_id FROM household_members WHERE household_id = ? AND end_date IS "
          "NULL AND person_id <> ?",
          {id.value, person.value}));
  for (const auto& m : members) {
    if (!Decide(who, authz::Operation::kRead, core::PersonId{m.Int(0)}, &tx).allowed) {
      d.allowed = false;
      d.reason = "the household has a member you may not see, so you may not change it";
      break;
    }
  }
  return Status::Ok();
}

void HouseholdService::WithholdNames(storage::Transaction& tx, const authz::Principal& who,
                                     Household& h) {
  std::vector<authz::Decision> decisions;
  for (const auto& m : h.members)
    decisions.push_back(Decide(who, authz::Operation::kRead, m.person, &tx));
  ApplyNameDecisions(h, decisions);
}

Status HouseholdService::CheckVersion(storage::Transaction& tx, core::HouseholdId id,
                                      const MembershipCheck& check) {
  if (!check.version) return Status::Ok();
  ASSIGN_OR_RETURN(storage::Rows h,
                   tx.Query("SELECT version FROM households WHERE id = ?", {id.value}));
  if (h.empty()) return Status::NotFound(fmt::format("no household has id {}", id.value));
  if (h[0].Int(0) != *check.version) {
    return Status::Aborted("the household changed since the page was loaded: nothing was saved");
  }
  return Status::Ok();
}

Status HouseholdService::NotifyOtherMembers(storage::Transaction& tx, const authz::Principal& who,
                                            int64_t household, core::PersonId person) {
  // An agency deciding a member's application counts the household; it is told about its own
  // client, never about a member it does not know.
  ASSIGN_OR_RETURN(
      storage::Rows others,
      tx.Query(
          "SELECT DISTINCT person_id FROM household_members WHERE household_id = ? AND end_date IS "
          "NULL AND person_id <> ? ORDER BY person_id",
          {household, person.value}));
  for (const auto& o : others) {
    RETURN_IF_ERROR(NotifyAgencies(tx, core::PersonId{o.Int(0)}, who.agency, "household.changed",
                                   {"household"}, 0, clock_.Now())
                        .status());
  }
  return Status::Ok();
}

Status HouseholdService::AddMemberIn(storage::Transaction& tx, const authz::Principal& who,
                                     core::HouseholdId id, core::PersonId person,
                                     const std::string& relationship, core::Date since,
                                     const MembershipCheck& check) {
  ASSIGN_OR_RETURN(storage::Rows p,
                   tx.Query("SELECT birth_date, doc FROM persons WHERE id = ?", {person.value}));
  if (p.empty()) {
    return Status::InvalidArgument(
        "the membership has invalid fields",
        {{"person_id", fmt::format("no client has id {}", person.value)}});
  }
  ASSIGN_OR_RETURN(storage::Rows h, tx.Query("SELECT 1 FROM households WHERE id = ?", {id.value}));
  if (h.empty()) return Status::NotFound(fmt::format("no household has id {}", id.value));
  // The same form sent again finds the client a member already: said so, before the household's
  // version (which the first send changed) is compared.
  ASSIGN_OR_RETURN(
      storage::Rows here,
      tx.Query(
          "SELECT 1 FROM household_members WHERE person_id = ? AND household_id = ? AND end_date "
          "IS NULL",
          {person.value, id.value}));
  if (!here.empty())
    return Status::AlreadyExists("the client is already a member of this household");
  RETURN_IF_ERROR(CheckVersion(tx, id, check));
  const std::string since_text = since.ToString();
  if (since > Today()) {
    return Status::InvalidArgument("the membership has invalid fields",
                                   {{"since", "must not be after today"}});
  }
  // A date known to the year or month ("1990", "1990-05") is a prefix of the days it may be:
  // only a day before all of them (for a birth) or after all of them (for a death) is refused.
  if (const std::string birth = p[0].OptText(0).value_or("");
      !birth.empty() && since_text < birth) {
    return Status::InvalidArgument("the membership has invalid fields",
                                   {{"since", "must not be before the client's date of birth"}});
  }
  if (auto stored = FromStorageJson(p[0].Text(1)); stored.ok() && stored->death_date) {
    const std::string death = stored->death_date->ToString();
    if (since_text > death && since_text.rfind(death, 0) != 0) {
      return Status::InvalidArgument("the membership has invalid fields",
                                     {{"since", "must not be after the client's date of death"}});
    }
  }
  ASSIGN_OR_RETURN(
      storage::Rows current,
      tx.Query("SELECT id, household_id, start_date FROM household_members WHERE person_id = ? AND "
               "end_date IS NULL",
               {person.value}));
  for (const auto& c : current) {
    if (c.Int(1) == id.value) {
      return Status::AlreadyExists("the client is already a member of this household");
    }
    if (c.Text(2) > since_text) {
      return Status::InvalidArgument(
          "the membership has invalid fields",
          {{"since", "must not be before the start of the client's current household"}});
    }
    if (!check.move_confirmed) {
      return Status::InvalidArgument(
          "the membership has invalid fields",
          {{"move",
            fmt::format(
                "the client lives in another household now: adding them here ends their membership "
                "there on {}",
                since_text)}});
    }
  }
  for (const auto& c : current) {
    RETURN_IF_ERROR(
        tx.Execute("UPDATE household_members SET end_date = ? WHERE id = ?", {since_text, c.Int(0)})
            .status());
    RETURN_IF_ERROR(
        tx.Execute("UPDATE households SET version = version + 1 WHERE id = ?", {c.Int(1)})
            .status());
    RETURN_IF_ERROR(NotifyOtherMembers(tx, who, c.Int(1), person));
  }
  ASSIGN_OR_RETURN(
      storage::Rows added,
      tx.Query("INSERT INTO household_members (household_id, person_id, relationship, start_date, "
               "created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
               {id.value, person.value, relationship, since_text, clock_.Now().micros}));
  // The memberships this move ended name it, so that removing it as a mistake restores them.
  for (const auto& c : current) {
    RETURN_IF_ERROR(tx.Execute("UPDATE household_members SET ended_by = ? WHERE id = ?",
                               {added.at(0).Int(0), c.Int(0)})
                        .status());
  }
  RETURN_IF_ERROR(
      tx.Execute("UPDATE households SET version = version + 1 WHERE id = ?", {id.value}).status());
  RETURN_IF_ERROR(outbox_.Append(
      tx, current.empty() ? "household.member_added" : "household.member_moved", "household",
      std::to_string(id.value),
      fmt::format(R"({{"household_id":{},"person_id":{}}})", id.value, person.value)));
  RETURN_IF_ERROR(
      NotifyAgencies(tx, person, who.agency,
                     current.empty() ? "household.member_added" : "household.member_moved",
                     {"household"}, 0, clock_.Now())
          .status());
  return NotifyOtherMembers(tx, who, id.value, person);
}

StatusOr<Household> HouseholdService::AddMember(const authz::Principal& who, core::HouseholdId id,
                                                core::PersonId person,
                                                const std::string& relationship, core::Date since,
                                                const MembershipCheck& check) {
  if (!IsRelationship(relationship)) {
    return Status::InvalidArgument("the membership has invalid fields",
                                   {{"relationship", kRelationshipMessage}});
  }
  authz::Decision d = Decide(who, authz::Operation::kUpdate, person, nullptr);
  Household out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    RETURN_IF_ERROR(RequireWholeHousehold(tx, who, id, person, d));
    RETURN_IF_ERROR(audit_.Append(tx, who, {"household.add_member", "household", std::to_string(id.value), person,
                                            d.allowed, d.reason}));
    if (!d.allowed) return Status::Ok();
    RETURN_IF_ERROR(AddMemberIn(tx, who, id, person, relationship, since, check));
    ASSIGN_OR_RETURN(out, Load(tx, id));
    WithholdNames(tx, who, out);
    return Status::Ok();
  }));
  if (!d.allowed) return Status::PermissionDenied(d.reason);
  return out;
}

StatusOr<Household> HouseholdService::Start(const authz::Principal& who, const std::string& name,
                                            core::PersonId person, const std::string& relationship,
                                            core::Date since) {
  std::vector<core::FieldError> errors;
  if (name.find_first_not_of(" \t\r\n") == std::string::npos || core::Utf8Length(name) > 200) {
    errors.push_back({"name", "enter a name of 1 to 200 characters"});
  }
  if (!IsRelationship(relationship)) errors.push_back({"relationship", kRelationshipMessage});
  if (!errors.empty())
    return Status::InvalidArgument("the household has invalid fields", std::move(errors));
  authz::Decision create =
      gate_.DecidePerson(who, authz::Operation::kCreate, {}, authz::Resource::kHousehold);
  authz::Decision add = Decide(who, authz::Operation::kUpdate, person, nullptr);
  Household out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    if (!create.allowed) {
      // Refused for the person the household was started with: it is in their access log.
      return audit_.Append(tx, who,
                           {"household.create", "household", "", person, false, create.reason});
    }
    if (!add.allowed) {
      return audit_.Append(tx, who,
                           {"household.add_member", "household", "", person, false, add.reason});
    }
    // A household is started for someone who lives in none: the same form sent again (Back and
    // send) must not move them out of the household it made.
    ASSIGN_OR_RETURN(
        storage::Rows current,
        tx.Query("SELECT 1 FROM household_members WHERE person_id = ? AND end_date IS NULL",
                 {person.value}));
    if (!current.empty()) {
      return Status::AlreadyExists(
          "the client lives in a household already: add people to it from its page, or record that "
          "the client left "
          "it first");
    }
    ASSIGN_OR_RETURN(
        storage::Rows rows,
        tx.Query(
            "INSERT INTO households (name, version, created_at, created_by) VALUES (?, 1, ?, ?) "
            "RETURNING id",
            {name, clock_.Now().micros, who.user.value}));
    const core::HouseholdId id{rows.at(0).Int(0)};
    RETURN_IF_ERROR(audit_.Append(tx, who,
                                  {"household.create", "household", std::to_string(id.value),
                                   std::nullopt, true, create.reason}));
    RETURN_IF_ERROR(outbox_.Append(tx, "household.created", "household", std::to_string(id.value),
                                   fmt::format(R"({{"household_id":{}}})", id.value)));
    RETURN_IF_ERROR(audit_.Append(
        tx, who,
        {"household.add_member", "household", std::to_string(id.value), person, true, add.reason}));
    RETURN_IF_ERROR(AddMemberIn(tx, who, id, person, relationship, since, {}));
    ASSIGN_OR_RETURN(out, Load(tx, id));
    WithholdNames(tx, who, out);
    return Status::Ok();
  }));
  if (!create.allowed) return Status::PermissionDenied(create.reason);
  if (!add.allowed) return Status::PermissionDenied(add.reason);
  return out;
}

Status HouseholdService::CheckChange(const authz::Principal& who, const std::string& action,
                                     core::HouseholdId id, std::optional<core::PersonId> person) {
  const authz::Operation op =
      action == "household.create" ? authz::Operation::kCreate : authz::Operation::kUpdate;
  authz::Decision d = gate_.DecidePerson(who, op, {}, authz::Resource::kHousehold);
  if (d.allowed && person) d = Decide(who, authz::Operation::kUpdate, *person, nullptr);
  if (d.allowed && id.valid()) {
    RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) {
      return RequireWholeHousehold(tx, who, id, person.value_or(core::PersonId{}), d);
    }));
  }
  if (d.allowed) return Status::Ok();
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
    return audit_.Append(
        tx, who,
        {action, "household", id.valid() ? std::to_string(id.value) : "", person, false, d.reason});
  }));
  return Status::PermissionDenied(d.reason);
}

bool HouseholdService::MaySee(const authz::Principal& who, core::HouseholdId id) {
  authz::Decision d;
  d.allowed = true;
  const Status s = db_.Read([&](storage::Transaction& tx) {
    return RequireWholeHousehold(tx, who, id, core::PersonId{}, d);
  });
  return s.ok() && d.allowed;
}

StatusOr<RemovedMembership> HouseholdService::RemoveMistake(const authz::Principal& who, core::HouseholdId id,
                                                            core::PersonId person, const std::string& reason,
                                                            const MembershipCheck& check) {
  const size_t length = core::Utf8Length(reason);
  const bool blank = reason.find_first_not_of(" \t\r\n") == std::string::npos;
  if (blank || length > 500 || core::HasControlCharacter(reason)) {
    return Status::InvalidArgument(
        "the removal has invalid fields",
        {{"reason", blank ? "say what the mistake was, so that others can see why"
                    : length > 500 ? "must be at most 500 characters long"
                                   : "must be one line of text, without control characters"}});
  }
  authz::Decision d = Decide(who, authz::Operation::kUpdate, person, nullptr);
  RemovedMembership out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    RETURN_IF_ERROR(RequireWholeHousehold(tx, who, id, person, d));
    RETURN_IF_ERROR(audit_.Append(tx, who, {"household.remove_member", "household", std::to_string(id.value), person,
                                            d.allowed,
                                            d.allowed ? "added by mistake: " + reason : d.reason}));
    if (!d.allowed) return Status::Ok();
    RETURN_IF_ERROR(CheckVersion(tx, id, check));
    ASSIGN_OR_RETURN(storage::Rows m,
                     tx.Query("SELECT id FROM household_members WHERE household_id = ? AND person_id = ? "
                              "AND end_date IS NULL",
                              {id.value, person.value}));
    if (m.empty()) return Status::NotFound("the client is not a current member of this household");
    const int64_t membership = m[0].Int(0);
    {
      // Who was taken back, as the reader may name them.
      ASSIGN_OR_RETURN(Household before, Load(tx, id));
      WithholdNames(tx, who, before);
      for (auto& b : before.members) {
        if (b.person == person && b.until.empty()) out.removed = std::move(b);
      }
    }
    RETURN_IF_ERROR(tx.Execute("DELETE FROM household_members WHERE id = ?", {membership}).status());
    // The household the mistaken add moved them out of is theirs again.
    ASSIGN_OR_RETURN(storage::Rows ended,
                     tx.Query("SELECT id, household_id FROM household_members WHERE ended_by = ?", {membership}));
    for (const auto& e : ended) {
      RETURN_IF_ERROR(
          tx.Execute("UPDATE household_members SET end_date = NULL, ended_by = NULL WHERE id = ?", {e.Int(0)})
              .status());
      RETURN_IF_ERROR(
          tx.Execute("UPDATE households SET version = version + 1 WHERE id = ?", {e.Int(1)}).status());
      RETURN_IF_ERROR(NotifyOtherMembers(tx, who, e.Int(1), person));
      out.restored = core::HouseholdId{e.Int(1)};
    }
    RETURN_IF_ERROR(tx.Execute("UPDATE households SET version = version + 1 WHERE id = ?", {id.value}).status());
    RETURN_IF_ERROR(outbox_.Append(tx, "household.member_removed", "household", std::to_string(id.value),
                                   fmt::format(R"({{"household_id":{},"person_id":{}}})", id.value, person.value)));
    RETURN_IF_ERROR(
        NotifyAgencies(tx, person, who.agency, "household.member_removed", {"household"}, 0, clock_.Now()).status());
    RETURN_IF_ERROR(NotifyOtherMembers(tx, who, id.value, person));
    ASSIGN_OR_RETURN(out.household, Load(tx, id));
    WithholdNames(tx, who, out.household);
    return Status::Ok();
  }));
  if (!d.allowed) return Status::PermissionDenied(d.reason);
  return out;
}

StatusOr<Household> HouseholdService::EndMembership(const authz::Principal& who,
                                                    core::HouseholdId id, core::PersonId person,
                                                    core::Date until,
                                                    const MembershipCheck& check) {
  authz::Decision d = Decide(who, authz::Operation::kUpdate, person, nullptr);
  Household out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    RETURN_IF_ERROR(RequireWholeHousehold(tx, who, id, person, d));
    RETURN_IF_ERROR(audit_.Append(tx, who, {"household.end_member", "household", std::to_string(id.value), person,
                                            d.allowed, d.reason}));
    if (!d.allowed) return Status::Ok();
    RETURN_IF_ERROR(CheckVersion(tx, id, check));
    ASSIGN_OR_RETURN(storage::Rows m,
                     tx.Query("SELECT id, start_date FROM household_members WHERE household_id = ? AND person_id = ? "
                              "AND end_date IS NULL",
                              {id.value, person.value}));
    if (m.empty()) return Status::NotFound("the client is not a current member of this household");
    if (m[0].Text(1) > until.ToString()) {
      return Status::InvalidArgument("the membership has invalid fields", {{"until", "must not be before the start"}});
    }
    if (until > Today()) {
      return Status::InvalidArgument("the membership has invalid fields",
                                     {{"until", "must not be after today"}});
    }
    RETURN_IF_ERROR(tx.Execute("UPDATE household_members SET end_date = ? WHERE id = ?", {until.ToString(), m[0].Int(0)}).status());
    RETURN_IF_ERROR(tx.Execute("UPDATE households SET version = version + 1 WHERE id = ?", {id.value}).status());
    RETURN_IF_ERROR(outbox_.Append(tx, "household.member_left", "household", std::to_string(id.value),
                                   fmt::format(R"({{"household_id":{},"person_id":{}}})", id.value, person.value)));
    RETURN_IF_ERROR(
        NotifyAgencies(tx, person, who.agency, "household.member_left", {"household"}, 0, clock_.Now()).status());
    RETURN_IF_ERROR(NotifyOtherMembers(tx, who, id.value, person));
    ASSIGN_OR_RETURN(out, Load(tx, id));
    WithholdNames(tx, who, out);
    return Status::Ok();
  }));
  if (!d.allowed) return Status::PermissionDenied(d.reason);
  return out;
}

}  // namespace registry
