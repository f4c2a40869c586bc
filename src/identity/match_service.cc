#include "identity/match_service.h"

#include <fmt/format.h>

#include <algorithm>
#include <shared_mutex>
#include <unordered_map>

#include "core/log.h"
#include "identity/registry_linker.h"

namespace identity {

using core::Status;
using core::StatusOr;

// The index: the persons as read, the table, the index over it, and what the database looked
// like when it was last brought up to date. Read under a shared lock; rows are added under an
// exclusive one.
struct MatchService::Index {
  State state;
  std::vector<core::PersonId> person_of_row;
  std::vector<std::string> name_of_row;
  std::vector<std::string> birth_of_row;
  std::unordered_map<int64_t, uint32_t> row_of_person;  // each person's current row
  RecordTable table;
  std::unique_ptr<ClientIndex> index;
  std::shared_mutex lock;

  void Put(core::PersonId id, const registry::Person& person) {
    const uint32_t row = table.Add(ToPersonRecord(person));
    person_of_row.push_back(id);
    name_of_row.push_back(person.DisplayName());
    birth_of_row.push_back(person.birth_date ? person.birth_date->ToString() : "");
    row_of_person[id.value] = row;
  }
};

MatchService::MatchService(storage::Database& db, const authz::AccessGate& gate, audit::AuditLog& audit,
                           const core::Clock& clock, MatchServiceOptions options)
    : db_(db), gate_(gate), audit_(audit), clock_(clock), options_(options) {}

Model MatchService::StarterModel() { return Model::Starter(); }

StatusOr<MatchService::State> MatchService::ReadState(storage::Transaction& tx) {
  ASSIGN_OR_RETURN(storage::Rows rows,
                   tx.Query("SELECT (SELECT MAX(id) FROM persons), (SELECT MAX(id) FROM person_history), "
                            "(SELECT MAX(id) FROM identity_models)"));
  const auto& r = rows.at(0);
  return State{r.OptInt(0).value_or(0), r.OptInt(1).value_or(0), r.OptInt(2).value_or(0)};
}

StatusOr<std::shared_ptr<MatchService::Index>> MatchService::Build() {
  auto fresh = std::make_shared<Index>();
  Model model = StarterModel();
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    // The state and the persons from one snapshot: nothing changed in between goes unseen.
    ASSIGN_OR_RETURN(fresh->state, ReadState(tx));
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
      fresh->Put(core::PersonId{row.Int(0)}, *person);
    }
    return Status::Ok();
  }));
  fresh->index = std::make_unique<ClientIndex>(fresh->table, std::move(model));
  return fresh;
}

Status MatchService::CatchUp(Index& index, const State& to) {
  std::vector<std::pair<core::PersonId, registry::Person>> changed;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    changed.clear();
    ASSIGN_OR_RETURN(storage::Rows ids,
                     tx.Query("SELECT DISTINCT person_id FROM person_history WHERE id > ? AND id <= ? UNION "
                              "SELECT id FROM persons WHERE id > ? AND id <= ? ORDER BY 1",
                              {index.state.history, to.history, index.state.person, to.person}));
    if (index.index->added() + ids.size() > options_.max_added) {
      return Status::ResourceExhausted("too many changes to add: build the index again");
    }
    constexpr size_t kChunk = 200;
    for (size_t i = 0; i < ids.size(); i += kChunk) {
      const size_t n = std::min(kChunk, ids.size() - i);
      std::string sql = "SELECT id, doc FROM persons WHERE id IN (";
      storage::Params params;
      for (size_t j = 0; j < n; ++j) {
        sql += j == 0 ? "?" : ",?";
        params.push_back(ids[i + j].Int(0));
      }
      sql += ") ORDER BY id";
      ASSIGN_OR_RETURN(storage::Rows rows, tx.Query(sql, params));
      for (const auto& row : rows) {
        auto person = registry::FromStorageJson(row.Text(1));
        if (person.ok()) changed.emplace_back(core::PersonId{row.Int(0)}, std::move(person).value());
      }
    }
    return Status::Ok();
  }));
  std::unique_lock write(index.lock);
  for (const auto& [id, person] : changed) {
    if (auto old = index.row_of_person.find(id.value); old != index.row_of_person.end()) {
      index.index->Retire(old->second);
    }
    index.Put(id, person);
  }
  if (!changed.empty()) index.index->IndexAdded();
  index.state = to;
  return Status::Ok();
}

StatusOr<std::shared_ptr<MatchService::Index>> MatchService::CurrentIndex() {
  std::unique_lock lock(mu_);
  // The first build: wait for the one under way.
  built_.wait(lock, [&] { return index_ != nullptr || !building_; });
  const auto now = std::chrono::steady_clock::now();
  // While a whole build is under way, requests use the index there is.
  if (index_ && (building_ || now - checked_at_ < options_.max_staleness)) return index_;
  if (index_) {
    State state;
    RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(state, ReadState(tx));
      return Status::Ok();
    }));
    checked_at_ = now;
    if (state == index_->state) return index_;
    if (state.model == index_->state.model) {
      Status caught = CatchUp(*index_, state);
      if (caught.ok()) return index_;
      if (caught.code() != core::StatusCode::kResourceExhausted) return caught;
    }
  }
  building_ = true;
  if (index_) {
    // A whole build on a thread of its own: every request, this one too, goes on with the index
    // there is until it is done.
    SpawnBuild();
    return index_;
  }
  // The first build: in this request; others wait for it.
  lock.unlock();
  StatusOr<std::shared_ptr<Index>> built = Build();
  lock.lock();
  const Status status = built.status();
  Finish(std::move(built));
  if (!status.ok()) return status;
  return index_;
}

void MatchService::Finish(StatusOr<std::shared_ptr<Index>> built) {
  building_ = false;
  built_.notify_all();
  if (!built.ok()) {
    core::LogError("the real-time match index could not be built", {{"error", built.status().ToString()}});
    return;
  }
  index_ = std::move(built).value();
  checked_at_ = std::chrono::steady_clock::now();
  ++builds_;
}

void MatchService::StartBuilding() {
  std::lock_guard lock(mu_);
  if (index_ || building_) return;
  building_ = true;
  SpawnBuild();
}

void MatchService::SpawnBuild() {
  if (builder_.joinable()) builder_.join();  // the last one, finished: building_ was false
  builder_ = std::thread([this] {
    StatusOr<std::shared_ptr<Index>> built = Build();
    std::lock_guard done(mu_);
    Finish(std::move(built));
  });
}

void MatchService::WaitForBuild() {
  std::unique_lock lock(mu_);
  built_.wait(lock, [&] { return !building_; });
}

MatchService::~MatchService() {
  WaitForBuild();
  std::lock_guard lock(mu_);
  if (builder_.joinable()) builder_.join();
}

MatchIndexStats MatchService::Stats() {
  std::shared_ptr<Index> index;
  MatchIndexStats out;
  {
    std::lock_guard lock(mu_);
    index = index_;
    out.builds = builds_;
  }
  if (index) {
    std::shared_lock read(index->lock);
    out.rows = index->table.size();
    out.added = index->index->added();
  }
  return out;
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
                                                          int limit, double min_probability,
                                                          const std::function<bool(const MatchCandidate&)>& keep) {
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
  ASSIGN_OR_RETURN(std::shared_ptr<Index> index, CurrentIndex());
  std::vector<MatchCandidate> out;
  std::shared_lock read(index->lock);
  if (index->table.size() > 0) {
    const ProbeKeys keys = index->table.Probe(record);
    for (const ClientIndex::Match& m :
         index->index->Find(record, static_cast<size_t>(limit),
                            min_probability >= 0 ? min_probability : options_.min_probability)) {
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
  read.unlock();
  if (keep) std::erase_if(out, [&](const MatchCandidate& c) { return !keep(c); });
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
