#include "identity/match_service.h"

#include <fmt/format.h>

#include <algorithm>

#include "identity/registry_linker.h"

namespace identity {

using core::Status;
using core::StatusOr;

// One build of the index: the persons as read, the table, the index over it, and what the
// database looked like (to tell when it is stale).
struct MatchService::Index {
  std::string state;  // "newest person id:newest history id:newest model id"
  std::vector<core::PersonId> person_of_row;
  std::vector<std::string> name_of_row;
  std::vector<std::string> birth_of_row;
  RecordTable table;
  std::unique_ptr<ClientIndex> index;
};

MatchService::MatchService(storage::Database& db, const authz::AccessGate& gate, audit::AuditLog& audit,
                           const core::Clock& clock, MatchServiceOptions options)
    : db_(db), gate_(gate), audit_(audit), clock_(clock), options_(options) {}

Model MatchService::StarterModel() { return Model::Starter(); }

StatusOr<std::shared_ptr<const MatchService::Index>> MatchService::CurrentIndex() {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (index_ && now - checked_at_ < options_.max_staleness) return index_;
  std::string state;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    // Persons are never deleted and every change adds a history row, so the newest ids tell
    // whether anything changed; each is one index probe.
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT (SELECT MAX(id) FROM persons), (SELECT MAX(id) FROM person_history), "
                              "(SELECT MAX(id) FROM identity_models)"));
    const auto& r = rows.at(0);
    state = fmt::format("{}:{}:{}", r.OptInt(0).value_or(0), r.OptInt(1).value_or(0), r.OptInt(2).value_or(0));
    return Status::Ok();
  }));
  checked_at_ = now;
  if (index_ && index_->state == state) return index_;

  auto fresh = std::make_shared<Index>();
  fresh->state = state;
  Model model = StarterModel();
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows stored,
                     tx.Query("SELECT model FROM identity_models ORDER BY id DESC LIMIT 1"));
    if (!stored.empty()) {
      auto parsed = Model::FromText(stored[0].Text(0));
      if (parsed.ok()) model = std::move(parsed).value();
    }
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT id, doc FROM persons ORDER BY id"));
    fresh->table.Reserve(rows.size());
    for (const auto& row : rows) {
      auto person = registry::FromStorageJson(row.Text(1));
      if (!person.ok()) continue;
      fresh->table.Add(ToPersonRecord(*person));
      fresh->person_of_row.push_back(core::PersonId{row.Int(0)});
      fresh->name_of_row.push_back(person->DisplayName());
      fresh->birth_of_row.push_back(person->birth_date ? person->birth_date->ToString() : "");
    }
    return Status::Ok();
  }));
  fresh->index = std::make_unique<ClientIndex>(fresh->table, std::move(model));
  index_ = std::move(fresh);
  return index_;
}

namespace {

// The field of a person's record a matching feature compares.
authz::Field FieldOf(Feature f) {
  switch (f) {
    case Feature::kGivenName:
    case Feature::kFamilyName: return authz::Field::kNames;
    case Feature::kDateOfBirth: return authz::Field::kBirthDate;
    case Feature::kIdentifier: return authz::Field::kIdentifiers;
    case Feature::kPhone: return authz::Field::kPhones;
    case Feature::kStreetNumber:
    case Feature::kAddressLine1:
    case Feature::kAddressLine2:
    case Feature::kLocality:
    case Feature::kPostcode:
    case Feature::kRegion: return authz::Field::kAddresses;
  }
  return authz::Field::kAddresses;
}

}  // namespace

StatusOr<std::vector<MatchCandidate>> MatchService::Match(const authz::Principal& who, const registry::Person& probe,
                                                          int limit) {
  if (limit < 1 || limit > 20) return Status::InvalidArgument("the limit is out of range", {{"limit", "must be from 1 to 20"}});
  PersonRecord record = ToPersonRecord(probe);
  if (record.given_name.empty() && record.family_name.empty()) {
    return Status::InvalidArgument("a match needs a name", {{"names", "give an official given or family name"}});
  }
  authz::Decision decision = gate_.DecidePerson(who, authz::Operation::kSearch, {});
  if (!decision.allowed) {
    RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
      return audit_.Append(tx, who, {"person.match", "person", "", std::nullopt, false, decision.reason});
    }));
    return Status::PermissionDenied(decision.reason);
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const Index> index, CurrentIndex());
  std::vector<MatchCandidate> out;
  if (index->table.size() > 0) {
    const ProbeKeys keys = index->table.Probe(record);
    for (const ClientIndex::Match& m :
         index->index->Find(record, static_cast<size_t>(limit), options_.min_probability)) {
      MatchCandidate c;
      c.person = index->person_of_row[m.row];
      c.name = index->name_of_row[m.row];
      c.birth_date = index->birth_of_row[m.row];
      c.probability = m.probability;
      c.weight = m.weight;
      c.explanation = index->index->scorer().Explain(
          CompareProbe(index->table, keys, m.row, index->index->scorer().model().use), m.row);
      out.push_back(std::move(c));
    }
  }
  // Every candidate shown is a read of that person, decided by the gate on its own (one the
  // principal may not see by name is left out) and audited before anything is released.
  std::vector<MatchCandidate> shown;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    shown.clear();
    for (const auto& c : out) {
      authz::Decision d = gate_.DecidePerson(who, authz::Operation::kRead, c.person, authz::Resource::kPerson, &tx);
      const bool visible = d.allowed && d.Sees(authz::Field::kNames);
      RETURN_IF_ERROR(audit_.Append(tx, who, {"person.match_candidate", "person", std::to_string(c.person.value),
                                              c.person, visible, visible ? d.reason : d.allowed ? "the names are withheld" : d.reason}));
      if (!visible) continue;
      shown.push_back(c);
      if (!d.Sees(authz::Field::kBirthDate)) shown.back().birth_date.clear();
      // The explanation names no comparison of a field the principal may not see.
      auto& fields = shown.back().explanation.fields;
      std::erase_if(fields, [&](const FieldWeight& w) { return !d.Sees(FieldOf(w.feature)); });
    }
    if (shown.empty()) {
      return audit_.Append(tx, who, {"person.match", "person", "no candidates", std::nullopt, true, decision.reason});
    }
    return Status::Ok();
  }));
  return shown;
}

Status MatchService::RecordRegisteredDespiteMatches(const authz::Principal& who, core::PersonId person,
                                                    const std::vector<core::PersonId>& candidates,
                                                    const std::string& reason) {
  std::string ids;
  for (const auto& c : candidates) ids += (ids.empty() ? "" : ", ") + std::to_string(c.value);
  return db_.Write([&](storage::Transaction& tx) {
    return audit_.Append(tx, who, {"person.registered_despite_match", "person", std::to_string(person.value), person,
                                   true, fmt::format("not the same as {}: {}", ids, reason.substr(0, 500))});
  });
}

}  // namespace identity
