#include "registry/person_service.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>

#include "core/log.h"
#include "core/utf8.h"
#include "registry/change_notices.h"

namespace registry {
namespace {

using core::Status;
using core::StatusOr;
using nlohmann::json;

// A date of birth or of death after today is a mistake in the record (a year typed wrong); so is
// a living person's date of birth more than 130 years ago.
std::string BirthText(const Person& p) { return p.birth_date ? p.birth_date->ToString() : std::string(); }

storage::Value OrNull(const std::string& s) { return s.empty() ? storage::Value(storage::Null{}) : storage::Value(s); }

std::string ChangesJson(const std::vector<Change>& changes) {
  json arr = json::array();
  for (const auto& c : changes) arr.push_back({{"field", c.field}, {"before", c.before}, {"after", c.after}});
  return arr.dump();
}

std::vector<std::string> Tokens(const std::string& key) {
  std::vector<std::string> out;
  std::istringstream in(key);
  for (std::string t; in >> t;) out.push_back(t);
  return out;
}

Status Denied(const authz::Decision& d) { return Status::PermissionDenied(d.reason); }

// The words of a folded name that begin with the Arabic article (ال, "al-") and have at least two
// letters after it, without it, each followed by a space: "العلي" also as "علي", as people
// often write or say the name without it. A search matches the start of a word.
std::string WithoutArticle(const std::string& key) {
  static constexpr std::string_view kArticle = "\xD8\xA7\xD9\x84";  // U+0627 U+0644
  std::string out;
  size_t start = 0;
  while (start < key.size()) {
    size_t end = key.find(' ', start);
    if (end == std::string::npos) end = key.size();
    const std::string_view word(key.data() + start, end - start);
    // Two letters of the Arabic block are four bytes.
    if (word.size() >= kArticle.size() + 4 && word.substr(0, kArticle.size()) == kArticle) {
      out += word.substr(kArticle.size());
      out += ' ';
    }
    start = end + 1;
  }
  return out;
}

// The name search keys of person `id`, one row a name.
Status WriteNameKeys(storage::Transaction& tx, int64_t id, const std::vector<PersonName>& names) {
  for (const auto& n : names) {
    const std::string given = NameKey(n.given);
    const std::string family = NameKey(n.family);
    const std::string full = " " + given + " " + family + " ";
    RETURN_IF_ERROR(tx.Queue(
        "INSERT INTO person_names (person_id, family_key, given_key, full_key) VALUES (?,?,?,?)",
        {id, family, given, full + WithoutArticle(given + " " + family)}));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<authz::Decision> PersonService::Gate(storage::Transaction& tx, const authz::Principal& who,
                                               authz::Operation op, core::PersonId id, std::string_view action,
                                               std::optional<authz::Field> required) {
  authz::Decision d = gate_.DecidePerson(who, op, id, authz::Resource::kPerson, &tx);
  // What was asked for is withheld: a refusal, audited as one.
  if (required) d.Require(*required, gate_.categories());
  audit::Entry e{std::string(action), "person", id.valid() ? std::to_string(id.value) : "",
                 id.valid() ? std::optional(id) : std::nullopt, d.allowed, d.reason};
  RETURN_IF_ERROR(audit_.Append(tx, who, e));
  return d;
}

Status RekeyFoldedNames(storage::Transaction& tx) {
  // Keys of ASCII names are the same as before; only those with other characters may differ.
  ASSIGN_OR_RETURN(storage::Rows ids,
                   tx.Query(tx.dialect() == storage::Dialect::kPostgres
                                ? "SELECT DISTINCT person_id FROM person_names WHERE full_key ~ '[^ -~]' ORDER BY person_id"
                                : "SELECT DISTINCT person_id FROM person_names WHERE full_key GLOB '*[^ -~]*' "
                                  "ORDER BY person_id"));
  for (const auto& row : ids) {
    const int64_t id = row.Int(0);
    ASSIGN_OR_RETURN(storage::Rows doc, tx.Query("SELECT doc FROM persons WHERE id = ?", {id}));
    if (doc.empty()) continue;
    ASSIGN_OR_RETURN(Person p, FromStorageJson(doc[0].Text(0)));
    RETURN_IF_ERROR(tx.Queue("DELETE FROM person_names WHERE person_id = ?", {id}));
    RETURN_IF_ERROR(WriteNameKeys(tx, id, p.names));
  }
  if (!ids.empty()) core::LogInfo("name search keys folded", {{"persons", std::to_string(ids.size())}});
  return Status::Ok();
}

Status KeyIdentifiers(storage::Transaction& tx) {
  // By kind and value, so that each update finds its rows through person_identifiers_value.
  ASSIGN_OR_RETURN(
      storage::Rows values,
      tx.Query("SELECT DISTINCT kind, value FROM person_identifiers ORDER BY kind, value"));
  for (const auto& row : values) {
    const std::string value = row.Text(1);
    RETURN_IF_ERROR(
        tx.Queue("UPDATE person_identifiers SET value_key = ? WHERE kind = ? AND value = ?",
                 {IdentifierKey(value), row.Text(0), value}));
  }
  return Status::Ok();
}

Status PersonService::WriteIndexes(storage::Transaction& tx, const Person& p, bool replace) {
  if (replace) {
    RETURN_IF_ERROR(tx.Queue("DELETE FROM person_names WHERE person_id = ?", {p.id.value}));
    RETURN_IF_ERROR(tx.Queue("DELETE FROM person_identifiers WHERE person_id = ?", {p.id.value}));
  }
  RETURN_IF_ERROR(WriteNameKeys(tx, p.id.value, p.names));
  for (const auto& i : p.identifiers) {
    RETURN_IF_ERROR(tx.Queue(
        "INSERT INTO person_identifiers (person_id, kind, value, value_key) VALUES (?,?,?,?)",
        {p.id.value, i.kind, i.value, IdentifierKey(i.value)}));
  }
  return Status::Ok();
}

Status PersonService::InsertPersons(storage::Transaction& tx, std::span<PendingCreate* const> batch) {
  const size_t allowed =
      std::count_if(batch.begin(), batch.end(), [](const PendingCreate* c) { return c->decision.allowed; });
  // On PostgreSQL several persons take their ids in one statement, so that every row of the batch
  // goes to the database in one round trip (an INSERT … RETURNING each would cost one each). The
  // ids come in the order the sequence gave them.
  std::vector<int64_t> ids;
  if (tx.dialect() == storage::Dialect::kPostgres && allowed > 1) {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT nextval(pg_get_serial_sequence('persons', 'id')) "
                              "FROM generate_series(1, CAST(? AS INTEGER))",
                              {static_cast<int64_t>(allowed)}));
    for (const auto& r : rows) ids.push_back(r.Int(0));
    std::sort(ids.begin(), ids.end());
  }
  const core::Timestamp now = clock_.Now();
  std::vector<audit::Entry> entries(batch.size());  // never resized: `items` points into it
  std::vector<audit::AuditLog::Item> items;
  items.reserve(batch.size());
  size_t next_id = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    const PendingCreate& c = *batch[i];
    const authz::Principal& who = *c.who;
    if (!c.decision.allowed) {
      entries[i] = {"person.create", "person", "", std::nullopt, false, c.decision.reason};
      items.push_back({&who, &entries[i]});
      continue;
    }
    Person& p = *c.person;
    p.version = 1;
    p.created_at = p.updated_at = now;
    storage::Params row{p.DisplayName(), OrNull(BirthText(p)), ToStorageJson(p).dump(), p.created_at.micros,
                        p.updated_at.micros, who.user.value, who.agency.value};
    if (ids.empty()) {
      ASSIGN_OR_RETURN(storage::Rows rows,
                       tx.Query("INSERT INTO persons (version, display_name, birth_date, doc, created_at, updated_at, "
                                "created_by, created_agency) VALUES (1, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                                row));
      p.id = core::PersonId{rows.at(0).Int(0)};
    } else {
      p.id = core::PersonId{ids.at(next_id++)};
      row.insert(row.begin(), p.id.value);
      RETURN_IF_ERROR(tx.Queue("INSERT INTO persons (id, version, display_name, birth_date, doc, created_at, "
                               "updated_at, created_by, created_agency) VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?)",
                               row));
    }
    RETURN_IF_ERROR(WriteIndexes(tx, p, /*replace=*/false));
    RETURN_IF_ERROR(tx.Queue("INSERT INTO person_history (person_id, version, at, user_id, agency_id, actor, action, "
                             "changes) VALUES (?, 1, ?, ?, ?, ?, 'created', ?)",
                             {p.id.value, p.created_at.micros, who.user.value, who.agency.value, who.name,
                              ChangesJson(Diff(Person{}, p))}));
    entries[i] = {"person.create", "person", std::to_string(p.id.value), p.id, true, c.decision.reason};
    items.push_back({&who, &entries[i]});
  }
  RETURN_IF_ERROR(audit_.AppendAll(tx, items));
  for (const PendingCreate* c : batch) {
    if (!c->decision.allowed) continue;
    const Person& p = *c->person;
    RETURN_IF_ERROR(outbox_.Append(
        tx, "person.created", "person", std::to_string(p.id.value),
        json{{"person_id", p.id.value}, {"version", 1}, {"agency_id", c->who->agency.value}}.dump()));
  }
  return Status::Ok();
}

Status PersonService::InsertPerson(storage::Transaction& tx, const authz::Principal& who, Person& p,
                                   const authz::Decision& decision) {
  PendingCreate create{&who, &p, decision, Status::Ok()};
  PendingCreate* const one[] = {&create};
  return InsertPersons(tx, one);
}

void PersonService::CreateAll(std::span<PendingCreate* const> batch) {
  auto write = [&](std::span<PendingCreate* const> creates) {
    return db_.Write([&](storage::Transaction& tx) -> Status {
      for (PendingCreate* c : creates) c->decision = gate_.DecidePerson(*c->who, authz::Operation::kCreate, {});
      return InsertPersons(tx, creates);
    });
  };
  const Status together = write(batch);
  if (together.ok() || batch.size() == 1) {
    for (PendingCreate* c : batch) c->result = together;
    return;
  }
  for (PendingCreate* c : batch) c->result = write(std::span(&c, 1));
}

Status PersonService::Check(const Person& p) const { return CheckRecord(p, clock_.Now()); }

StatusOr<Person> PersonService::Create(const authz::Principal& who, Person input) {
  RETURN_IF_ERROR(CheckRecord(input, clock_.Now()));
  Person p = std::move(input);
  PendingCreate mine{&who, &p, {}, Status::Ok()};
  creates_.Submit(&db_, mine, [this](std::span<PendingCreate* const> batch) { CreateAll(batch); });
  RETURN_IF_ERROR(mine.result);
  if (!mine.decision.allowed) return Denied(mine.decision);
  return p;
}

StatusOr<std::vector<SourceRecord>> PersonService::AllSourceRecords(const authz::Principal& who) {
  authz::Decision decision =
      gate_.DecidePerson(who, authz::Operation::kRead, core::PersonId{}, authz::Resource::kSourceRecord);
  std::vector<SourceRecord> out;
  if (decision.allowed) {
    RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT id, agency_id, local_id, person_id, data, updated_at "
                                                    "FROM source_records ORDER BY id"));
      out.reserve(rows.size());
      for (const auto& r : rows) {
        out.push_back({core::SourceRecordId{r.Int(0)}, core::AgencyId{r.Int(1)}, r.Text(2),
                       r.IsNull(3) ? std::nullopt : std::optional(core::PersonId{r.Int(3)}), r.Text(4),
                       core::Timestamp{r.Int(5)}});
      }
      return Status::Ok();
    }));
  }
  // Nothing is returned before the entry recording the read is durable.
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
    return audit_.Append(tx, who, {"source_record.index_read", "source_record",
                                   decision.allowed ? fmt::format("all {} records", out.size()) : "all records",
                                   std::nullopt, decision.allowed,
                                   decision.reason});
  }));
  if (!decision.allowed) return Denied(decision);
  return out;
}

StatusOr<std::vector<std::pair<core::PersonId, std::string>>> PersonService::PersonsWithoutSources(
    const authz::Principal& who) {
  authz::Decision decision = gate_.DecidePerson(who, authz::Operation::kRead, core::PersonId{});
  std::vector<std::pair<core::PersonId, std::string>> out;
  if (decision.allowed) {
    RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(
          storage::Rows rows,
          tx.Query(
              "SELECT p.id, p.doc FROM persons p WHERE NOT EXISTS (SELECT 1 FROM source_records s "
              "WHERE s.person_id = p.id) ORDER BY p.id"));
      out.reserve(rows.size());
      for (const auto& r : rows) out.emplace_back(core::PersonId{r.Int(0)}, r.Text(1));
      return Status::Ok();
    }));
  }
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
    return audit_.Append(
        tx, who,
        {"person.index_read", "person",
         decision.allowed ? fmt::format("all {} persons without a source record", out.size())
                          : "all persons without a source record",
         std::nullopt, decision.allowed, decision.reason});
  }));
  if (!decision.allowed) return Denied(decision);
  return out;
}

StatusOr<core::PersonId> PersonService::LinkSources(const authz::Principal& who, std::optional<core::PersonId> person,
                                                    const Person* new_person,
                                                    const std::vector<SourceLinkRequest>& records,
                                                    const std::string& cause) {
  if (records.empty()) return Status::InvalidArgument("give at least one source record to link");
  if (!person && new_person == nullptr) return Status::InvalidArgument("give a person or one to create");
  if (new_person != nullptr) RETURN_IF_ERROR(Validate(*new_person));
  core::PersonId target = person.value_or(core::PersonId{});
  authz::Decision create_decision;
  authz::Decision link_decision;
  Status s = db_.Write([&](storage::Transaction& tx) -> Status {
    if (!person) {
      create_decision = gate_.DecidePerson(who, authz::Operation::kCreate, {});
      if (!create_decision.allowed) {
        return audit_.Append(tx, who, {"person.create", "person", "", std::nullopt, false, create_decision.reason});
      }
      Person p = *new_person;
      RETURN_IF_ERROR(InsertPerson(tx, who, p, create_decision));
      target = p.id;
    } else {
      ASSIGN_OR_RETURN(storage::Rows exists, tx.Query("SELECT 1 FROM persons WHERE id = ?", {target.value}));
      if (exists.empty()) return Status::NotFound(fmt::format("no client has id {}", target.value));
    }
    link_decision = gate_.DecidePerson(who, authz::Operation::kUpdate, target, authz::Resource::kSourceRecord);
    const int64_t now = clock_.Now().micros;
    json ids = json::array();
    for (const SourceLinkRequest& r : records) {
      RETURN_IF_ERROR(audit_.Append(tx, who, {"source_record.link", "source_record", std::to_string(r.record.value),
                                              target, link_decision.allowed, link_decision.reason}));
      if (!link_decision.allowed) return Status::Ok();
      ASSIGN_OR_RETURN(int64_t changed,
                       tx.Execute("UPDATE source_records SET person_id = ? WHERE id = ? AND person_id IS NULL",
                                  {target.value, r.record.value}));
      if (changed != 1) {
        return Status::FailedPrecondition(fmt::format(
            "source record {} is already linked to a client, or does not exist; nothing was linked", r.record.value));
      }
      RETURN_IF_ERROR(tx.Execute("INSERT INTO source_record_links (source_record_id, person_id, previous_person_id, "
                                 "action, cause, weight, at, user_id, actor) VALUES (?, ?, NULL, 'linked', ?, ?, ?, ?, ?)",
                                 {r.record.value, target.value, cause,
                                  r.weight ? storage::Value(*r.weight) : storage::Value(storage::Null{}), now,
                                  who.user.value, who.name})
                          .status());
      ids.push_back(r.record.value);
    }
    return outbox_.Append(tx, "person.sources_linked", "person", std::to_string(target.value),
                          json{{"person_id", target.value}, {"source_record_ids", ids}, {"cause", cause}}.dump());
  });
  RETURN_IF_ERROR(s);
  if (!person && !create_decision.allowed) return Denied(create_decision);
  if (!link_decision.allowed) return Denied(link_decision);
  return target;
}

StatusOr<PersonView> PersonService::Get(const authz::Principal& who, core::PersonId id) { return Read(who, id, true); }

StatusOr<PersonView> PersonService::GetStored(const authz::Principal& who, core::PersonId id) {
  return Read(who, id, false);
}

StatusOr<PersonView> PersonService::Read(const authz::Principal& who, core::PersonId id, bool parse) {
  authz::Decision decision;
  std::string doc;
  int64_t version = 0;
  PersonView view;
  bool found = false;
  // The entry recording the read, allowed or not, is durable before anything is returned.
  Status s = audit_.AuditedRead(db_, who, [&](storage::Transaction& tx, audit::Entry& entry) -> Status {
    view.sources.clear();
    view.household.reset();
    found = false;
    decision = gate_.DecidePerson(who, authz::Operation::kRead, id, authz::Resource::kPerson, &tx);
    entry = {"person.read", "person", id.valid() ? std::to_string(id.value) : "",
             id.valid() ? std::optional(id) : std::nullopt, decision.allowed, decision.reason};
    if (!decision.allowed) return Status::Ok();
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT version, doc FROM persons WHERE id = ?", {id.value}));
    // The read attempt stays audited; NotFound is returned after the entry is written.
    if (rows.empty()) return Status::Ok();
    found = true;
    version = rows[0].Int(0);
    doc = rows[0].Text(1);
    ASSIGN_OR_RETURN(storage::Rows sources,
                     tx.Query("SELECT s.agency_id, a.name, s.local_id FROM source_records s JOIN agencies a ON "
                              "a.id = s.agency_id WHERE s.person_id = ? ORDER BY a.name",
                              {id.value}));
    if (decision.Sees(authz::Field::kSourceRecord)) {
      for (const auto& r : sources) view.sources.push_back({core::AgencyId{r.Int(0)}, r.Text(1), r.Text(2)});
    }
    if (decision.Sees(authz::Field::kHousehold)) {
      ASSIGN_OR_RETURN(storage::Rows hh,
                       tx.Query("SELECT h.id, h.name, m.relationship FROM household_members m JOIN households h ON "
                                "h.id = m.household_id WHERE m.person_id = ? AND m.end_date IS NULL "
                                "ORDER BY m.id DESC LIMIT 1",
                                {id.value}));
      // The household's name is often the family's: not shown to a reader who may not see names.
      if (!hh.empty()) {
        view.household = HouseholdRef{
            core::HouseholdId{hh[0].Int(0)},
            decision.Sees(authz::Field::kNames) ? hh[0].Text(1) : std::string(), hh[0].Text(2)};
      }
    }
    return Status::Ok();
  });
  RETURN_IF_ERROR(s);
  if (!decision.allowed) return Denied(decision);
  if (!found) return Status::NotFound(fmt::format("no client has id {}", id.value));
  if (parse) {
    ASSIGN_OR_RETURN(view.person, FromStorageJson(doc));
    Redact(view.person, decision);
  } else {
    view.stored = std::move(doc);
  }
  view.person.id = id;
  view.person.version = version;
  view.decision = std::move(decision);
  return view;
}

StatusOr<Person> PersonService::Update(const authz::Principal& who, core::PersonId id, int64_t expected_version,
                                       Person input, authz::Decision* decision_out) {
  // Field errors first, for what the caller sees; checked again once withheld fields are kept.
  authz::Decision decision;
  Person p = std::move(input);
  Status s = db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(decision, Gate(tx, who, authz::Operation::kUpdate, id, "person.update"));
    if (!decision.allowed) return Status::Ok();
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT version, doc FROM persons WHERE id = ?", {id.value}));
    if (rows.empty()) return Status::NotFound(fmt::format("no client has id {}", id.value));
    const int64_t current = rows[0].Int(0);
    if (current != expected_version) {
      return Status::FailedPrecondition(fmt::format(
          "the client record was changed by someone else since you loaded it (you had version {}, it is now "
          "version {}); reload it and make your change again",
          expected_version, current));
    }
    ASSIGN_OR_RETURN(Person old, FromStorageJson(rows[0].Text(1)));
    KeepWithheld(p, old, decision);
    RETURN_IF_ERROR(CheckRecord(p, clock_.Now()));
    std::vector<Change> changes = Diff(old, p);
    p.id = id;
    p.created_at = old.created_at;
    if (changes.empty()) {
      p.version = current;
      p.updated_at = old.updated_at;
      return Status::Ok();
    }
    p.version = current + 1;
    p.updated_at = clock_.Now();
    ASSIGN_OR_RETURN(int64_t changed,
                     tx.Execute("UPDATE persons SET version = ?, display_name = ?, birth_date = ?, doc = ?, "
                                "updated_at = ? WHERE id = ? AND version = ?",
                                {p.version, p.DisplayName(), OrNull(BirthText(p)), ToStorageJson(p).dump(),
                                 p.updated_at.micros, id.value, current}));
    if (changed != 1) return Status::Aborted("the client record changed during the update; try again");
    RETURN_IF_ERROR(WriteIndexes(tx, p, /*replace=*/true));
    RETURN_IF_ERROR(tx.Queue("INSERT INTO person_history (person_id, version, at, user_id, agency_id, actor, action, "
                             "changes) VALUES (?, ?, ?, ?, ?, ?, 'updated', ?)",
                             {id.value, p.version, p.updated_at.micros, who.user.value, who.agency.value, who.name,
                              ChangesJson(changes)}));
    json fields = json::array();
    for (const auto& c : changes) {
      std::string top = c.field.substr(0, c.field.find('/'));
      // Diff lists changed paths before added ones, so a field can come back later.
      if (std::find(fields.begin(), fields.end(), top) == fields.end()) fields.push_back(top);
    }
    RETURN_IF_ERROR(outbox_.Append(tx, "person.updated", "person", std::to_string(id.value),
                                   json{{"person_id", id.value}, {"version", p.version}, {"agency_id", who.agency.value},
                                        {"fields", fields}}
                                       .dump()));
    // Tell us once: every other agency that knows the person is told what changed; a death
    // newly recorded is its own event, so that receivers can close what they hold.
    const bool died = p.death_date && !old.death_date;
    return NotifyAgencies(tx, id, who.agency, died ? "person.died" : "person.updated",
                          fields.get<std::vector<std::string>>(), p.version, p.updated_at)
        .status();
  });
  if (!decision.allowed) return Denied(decision);
  RETURN_IF_ERROR(s);
  Redact(p, decision);
  if (decision_out != nullptr) *decision_out = decision;
  return p;
}

StatusOr<SearchPage> PersonService::Search(const authz::Principal& who, const SearchQuery& q) {
  if (q.limit < 1 || q.limit > 100) {
    return Status::InvalidArgument("the page size is out of range", {{"limit", "must be from 1 to 100"}});
  }
  std::vector<std::string> tokens = Tokens(NameKey(q.name));
  if (tokens.size() > 6) return Status::InvalidArgument("too many words", {{"q", "use at most 6 words"}});
  std::string dob = q.birth_date;
  if (!dob.empty()) {
    auto parsed = core::PartialDate::Parse(dob);
    if (!parsed.ok()) return Status::InvalidArgument("the date of birth is not valid", {{"birth_date", parsed.status().message()}});
    dob = parsed->ToString();
  }
  // The decision for the search as a whole; refusals are audited.
  authz::Decision decision = gate_.DecidePerson(who, authz::Operation::kSearch, {});
  if (!decision.allowed) {
    RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
      return audit_.Append(tx, who, {"person.search", "person", "", std::nullopt, false, decision.reason});
    }));
    return Denied(decision);
  }
  std::string sql = "SELECT p.id, p.doc FROM persons p WHERE p.id > ?";
  storage::Params params{int64_t{0}};  // the cursor, set per batch below
  if (!tokens.empty()) {
    sql += " AND EXISTS (SELECT 1 FROM person_names n WHERE n.person_id = p.id";
    for (const auto& t : tokens) {
      sql += " AND n.full_key LIKE ?";
      params.emplace_back("% " + t + "%");
    }
    sql += ")";
  }
  if (!dob.empty()) {
    sql += " AND (p.birth_date LIKE ? OR ? LIKE p.birth_date || '-%')";
    params.emplace_back(dob + "%");
    params.emplace_back(dob);
  }
  if (!q.identifier.empty()) {
    sql += " AND p.id IN (SELECT i.person_id FROM person_identifiers i WHERE i.value_key = ?)";
    params.emplace_back(IdentifierKey(q.identifier));
  }
  sql += " ORDER BY p.id LIMIT ?";
  params.emplace_back(int64_t{0});  // the batch size, set per batch below
  SearchPage page;
  // Each person found is a read of their data, decided by the gate on its own: a person the
  // principal may not see is left out, and every decision is audited before anything is
  // released. Batches are read until the page is full; at most kMaxExamined persons are
  // examined per request (a page may then be short, with a next cursor).
  constexpr int kMaxExamined = 1000;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    page = SearchPage{};
    int64_t after = q.after;
    int examined = 0;
    for (;;) {
      const int need = q.limit - static_cast<int>(page.items.size());
      params.front() = after;
      params.back() = int64_t{need + 1};
      ASSIGN_OR_RETURN(storage::Rows rows, tx.Query(sql, params));
      const size_t take = std::min(rows.size(), static_cast<size_t>(need));
      for (size_t i = 0; i < take; ++i) {
        const core::PersonId id{rows[i].Int(0)};
        after = id.value;
        ++examined;
        authz::Decision d = gate_.DecidePerson(who, authz::Operation::kRead, id, authz::Resource::kPerson, &tx);
        const bool shown = d.allowed && d.Sees(authz::Field::kNames);
        RETURN_IF_ERROR(audit_.Append(tx, who, {"person.search_result", "person", std::to_string(id.value), id, shown,
                                                shown ? d.reason : d.allowed ? "the names are withheld" : d.reason}));
        if (!shown) continue;
        ASSIGN_OR_RETURN(Person p, FromStorageJson(rows[i].Text(1)));
        Redact(p, d);
        page.items.push_back({id, p.DisplayName(), BirthText(p), p.identifiers,
                              p.addresses.empty() ? "" : p.addresses.front().OneLine()});
      }
      if (rows.size() <= take) break;  // nothing more matches
      if (static_cast<int>(page.items.size()) == q.limit || examined >= kMaxExamined) {
        page.next_after = after;
        break;
      }
    }
    return Status::Ok();
  }));
  return page;
}

StatusOr<std::vector<HistoryEntry>> PersonService::History(const authz::Principal& who, core::PersonId id) {
  authz::Decision decision;
  storage::Rows rows;
  Status s = db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(decision, Gate(tx, who, authz::Operation::kRead, id, "person.history", authz::Field::kHistory));
    if (!decision.allowed) return Status::Ok();
    ASSIGN_OR_RETURN(storage::Rows exists, tx.Query("SELECT 1 FROM persons WHERE id = ?", {id.value}));
    if (exists.empty()) return Status::NotFound(fmt::format("no client has id {}", id.value));
    ASSIGN_OR_RETURN(rows, tx.Query("SELECT version, at, actor, agency_id, action, changes FROM person_history "
                                    "WHERE person_id = ? ORDER BY version DESC",
                                    {id.value}));
    return Status::Ok();
  });
  RETURN_IF_ERROR(s);
  if (!decision.allowed) return Denied(decision);
  std::vector<HistoryEntry> out;
  for (const auto& r : rows) {
    HistoryEntry e{r.Int(0), {r.Int(1)}, r.Text(2), r.Int(3), r.Text(4), {}};
    json changes = json::parse(r.Text(5), nullptr, false);
    if (changes.is_array()) {
      for (const auto& c : changes) {
        e.changes.push_back({c.value("field", ""), c.value("before", ""), c.value("after", "")});
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

StatusOr<AccessLogPage> PersonService::AccessLog(const authz::Principal& who, core::PersonId id, int limit,
                                                 int64_t before, bool others_only) {
  if (limit < 1 || limit > 200) {
    return Status::InvalidArgument("the page size is out of range", {{"limit", "must be from 1 to 200"}});
  }
  const bool own = who.kind == authz::PrincipalKind::kCitizen && who.person && *who.person == id;
  const bool role_ok = own || who.HasAnyRole({authz::Role::kAuditor, authz::Role::kManager});
  const bool scope_ok = who.kind != authz::PrincipalKind::kSystem || who.HasScope("audit:read");
  AccessLogPage page;
  bool allowed = false;
  bool exists = true;
  std::string reason;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    page = AccessLogPage{};
    allowed = role_ok && scope_ok;
    reason = !scope_ok ? "the API token lacks the scope audit:read"
             : own     ? "a person may see who looked at their data"
             : allowed ? "auditors and managers may read the access log of their agency's clients"
                       : "only the person, an auditor or a manager may read the access log";
    if (allowed && !own) {
      // Staff read the log of the people their own agency holds, and no one else's.
      ASSIGN_OR_RETURN(Holding holding, KnowsPerson(tx, who.agency, id));
      exists = holding.exists;
      if (!holding.holds) {
        allowed = false;
        reason = exists ? "your agency does not hold this client: auditors and managers read the access log "
                          "of their agency's clients only"
                        : "there is no such client";
      }
    }
    RETURN_IF_ERROR(audit_.Append(tx, who, {"person.access_log", "person", std::to_string(id.value), id, allowed, reason}));
    if (!allowed) return Status::Ok();
    std::map<int64_t, std::pair<std::string, std::string>> agencies;  // id -> code, name
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT id, code, name FROM agencies"));
    for (const auto& r : rows) agencies[r.Int(0)] = {r.Text(1), r.Text(2)};
    // The entries of an agency under a legal exception are seen by that agency's own auditors and
    // managers only: not by the person, nor by other agencies.
    // The person's own portal accounts: what they did themselves (not as someone's representative).
    std::set<int64_t> person_accounts;
    ASSIGN_OR_RETURN(storage::Rows accounts,
                     tx.Query("SELECT id FROM users WHERE person_id = ?", {id.value}));
    for (const auto& r : accounts) person_accounts.insert(r.Int(0));
    auto by_person = [&](const audit::Record& r) {
      return r.agency_id == 0 && r.user_id != 0 && r.roles.empty() &&
             person_accounts.count(r.user_id) > 0 && !audit::ActedByRepresentative(r.entry);
    };
    auto hidden = [&](const audit::Record& r) {
      if (others_only && r.agency_id == 0 && r.user_id != 0 && r.user_id == who.user.value) return true;
      if (others_only && by_person(r)) return true;
      if (!own && r.agency_id == who.agency.value) return false;
      auto it = agencies.find(r.agency_id);
      return it != agencies.end() &&
             std::find(log_exceptions_.begin(), log_exceptions_.end(), it->second.first) != log_exceptions_.end();
    };
    // Read older entries until the page is full; the person's page skips the hidden ones.
    int64_t cursor = before;
    for (int round = 0; round < 50; ++round) {
      ASSIGN_OR_RETURN(std::vector<audit::Record> batch, audit_.ForPerson(tx, id, limit + 1, cursor));
      size_t i = 0;
      for (; i < batch.size() && static_cast<int>(page.items.size()) < limit; ++i) {
        cursor = batch[i].seq;
        if (hidden(batch[i])) continue;
        auto it = agencies.find(batch[i].agency_id);
        AccessLogEntry e{std::move(batch[i]), it == agencies.end() ? "" : it->second.second};
        // Whether emergency access opened it is said to everyone who reads the log; the reason
        // given for it is for the agency's auditors.
        e.emergency = e.record.entry.allowed &&
                      e.record.entry.reason.find(authz::kBreakGlassMarker) != std::string::npos;
        // Switching to act for the person is the first thing done under the grant.
        e.representative =
            audit::ActedByRepresentative(e.record.entry) ||
            (e.record.entry.action == "representative.act" && e.record.entry.allowed);
        e.by_person = by_person(e.record);
        e.by_reference = e.record.agency_id == 0 && e.record.user_id == 0 &&
                         e.record.actor == audit::kAppointmentReferenceActor;
        if (own) {
          // Staff usernames, the gate's reasons and where others' requests came from are for auditors.
          const bool theirs = e.record.user_id == who.user.value;
          e.record.actor = theirs ? who.name : "";
          if (!theirs) e.record.client_address.clear();
          e.record.entry.reason.clear();
        } else if (e.record.agency_id != 0 && e.record.agency_id != who.agency.value) {
          // Another agency's staff, reasons (a break-glass justification among them) and addresses
          // are for that agency's auditors: here, what the person sees of them.
          e.record.actor.clear();
          e.record.client_address.clear();
          e.record.entry.reason.clear();
        }
        page.items.push_back(std::move(e));
      }
      const bool more = batch.size() > static_cast<size_t>(limit);
      if (static_cast<int>(page.items.size()) == limit) {
        if (i < batch.size() || more) page.next_before = cursor;
        break;
      }
      if (!more) break;  // no older entries
    }
    return Status::Ok();
  }));
  if (!exists) return Status::NotFound(fmt::format("no client has id {}", id.value));
  if (!allowed) return Status::PermissionDenied(reason);
  return page;
}

StatusOr<SourceRecord> PersonService::PutSourceRecord(const authz::Principal& who, const std::string& local_id,
                                                      std::optional<core::PersonId> person,
                                                      const std::string& data_json) {
  std::vector<core::FieldError> errors;
  if (local_id.empty() || core::Utf8Length(local_id) > 64) {
    errors.push_back({"local_id", "must be 1 to 64 characters"});
  } else if (core::HasControlCharacter(local_id)) {
    errors.push_back({"local_id", "must be one line of text, without control characters"});
  }
  json data = json::parse(data_json, nullptr, false);
  if (data.is_discarded() || !data.is_object()) errors.push_back({"data", "must be a JSON object"});
  if (data_json.size() > 64 * 1024) errors.push_back({"data", "must be at most 64 KiB"});
  if (!errors.empty()) return Status::InvalidArgument("the source record has invalid fields", std::move(errors));
  if (!who.agency.valid()) return Status::PermissionDenied("only an agency's staff or systems keep source records");
  authz::Decision decision = gate_.DecidePerson(who, authz::Operation::kUpdate, person.value_or(core::PersonId{}),
                                                       authz::Resource::kSourceRecord);
  SourceRecord rec{{}, who.agency, local_id, person, data.dump(), clock_.Now()};
  Status s = db_.Write([&](storage::Transaction& tx) -> Status {
    if (decision.allowed && person) {
      ASSIGN_OR_RETURN(Holding holding, KnowsPerson(tx, who.agency, *person));
      if (!holding.exists) {
        return Status::InvalidArgument("the source record has invalid fields",
                                       {{"person_id", fmt::format("no client has id {}", person->value)}});
      }
      // Keeping a record of a person makes the agency one that holds them, and so opens their
      // record: an agency may name only a person it holds already. Others are found by the
      // client index, which matches the record's details and sends doubtful pairs to review.
      if (!holding.holds) {
        decision.allowed = false;
        decision.reason =
            "your agency does not hold this person: send the record without person_id and the client index links it "
            "by matching";
      }
    }
    RETURN_IF_ERROR(audit_.Append(tx, who, {"source_record.put", "source_record", local_id, person, decision.allowed,
                                            decision.reason}));
    if (!decision.allowed) return Status::Ok();
    ASSIGN_OR_RETURN(
        storage::Rows existing,
        tx.Query(
            "SELECT id, data, person_id, updated_at FROM source_records WHERE agency_id = ? AND "
            "local_id = ?",
            {who.agency.value, local_id}));
    // Without person_id the record keeps the person it is linked to (by the client index, or
    // by an earlier put): a sync that sends its records again must not undo the index's work.
    std::optional<core::PersonId> before;
    if (!existing.empty() && !existing[0].IsNull(2)) before = core::PersonId{existing[0].Int(2)};
    rec.person = person ? person : before;
    if (!existing.empty() && existing[0].Text(1) == rec.data && rec.person == before) {
      // The same record again: nothing changed, and no one is told.
      rec.id = core::SourceRecordId{existing[0].Int(0)};
      rec.updated_at = core::Timestamp{existing[0].Int(3)};
      return Status::Ok();
    }
    const storage::Value linked =
        rec.person ? storage::Value(rec.person->value) : storage::Value(storage::Null{});
    if (existing.empty()) {
      ASSIGN_OR_RETURN(
          storage::Rows rows,
          tx.Query("INSERT INTO source_records (agency_id, local_id, person_id, data, created_at, "
                   "updated_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                   {who.agency.value, local_id, linked, rec.data, rec.updated_at.micros,
                    rec.updated_at.micros}));
      rec.id = core::SourceRecordId{rows.at(0).Int(0)};
    } else {
      rec.id = core::SourceRecordId{existing[0].Int(0)};
      RETURN_IF_ERROR(
          tx.Execute(
                "UPDATE source_records SET person_id = ?, data = ?, updated_at = ? WHERE id = ?",
                {linked, rec.data, rec.updated_at.micros, rec.id.value})
              .status());
    }
    if (rec.person != before) {
      // The agency named the person itself: kept in the record's link history, as the index's
      // links are.
      RETURN_IF_ERROR(
          tx.Execute(
                "INSERT INTO source_record_links (source_record_id, person_id, previous_person_id, "
                "action, cause, weight, at, user_id, actor) VALUES (?, ?, ?, 'linked', ?, NULL, ?, "
                "?, "
                "?)",
                {rec.id.value, linked,
                 before ? storage::Value(before->value) : storage::Value(storage::Null{}),
                 std::string("agency"), rec.updated_at.micros, who.user.value, who.name})
              .status());
    }
    return outbox_.Append(tx, "source_record.updated", "source_record",
                          std::to_string(rec.id.value),
                          json{{"source_record_id", rec.id.value},
                               {"agency_id", who.agency.value},
                               {"person_id", rec.person ? json(rec.person->value) : json(nullptr)}}
                              .dump());
  });
  RETURN_IF_ERROR(s);
  if (!decision.allowed) return Denied(decision);
  return rec;
}

StatusOr<std::vector<PutOutcome>> PersonService::PutSourceRecords(const authz::Principal& who,
                                                                  const std::vector<SourceRecordInput>& records,
                                                                  const std::string& note) {
  std::vector<core::FieldError> errors;
  std::vector<std::string> docs;
  docs.reserve(records.size());
  std::set<std::string_view> seen;
  for (size_t i = 0; i < records.size(); ++i) {
    const SourceRecordInput& r = records[i];
    const std::string at = fmt::format("records/{}/", i);
    if (r.local_id.empty() || core::Utf8Length(r.local_id) > 64) {
      errors.push_back({at + "local_id", "must be 1 to 64 characters"});
    } else if (core::HasControlCharacter(r.local_id)) {
      errors.push_back({at + "local_id", "must be one line of text, without control characters"});
    }
    if (!seen.insert(r.local_id).second) errors.push_back({at + "local_id", "appears twice in the batch"});
    if (Status v = CheckRecord(r.person, clock_.Now()); !v.ok()) {
      for (const auto& fe : v.fields()) errors.push_back({at + "person/" + fe.field, fe.message});
    }
    docs.push_back(ToStorageJson(r.person).dump());
  }
  if (!errors.empty()) return Status::InvalidArgument("some source records have invalid fields", std::move(errors));
  if (!who.agency.valid()) return Status::PermissionDenied("only an agency's staff or systems keep source records");
  authz::Decision decision = gate_.DecidePerson(who, authz::Operation::kUpdate, core::PersonId{},
                                                authz::Resource::kSourceRecord);
  std::vector<PutOutcome> outcomes(records.size(), PutOutcome::kUnchanged);
  Status s = db_.Write([&](storage::Transaction& tx) -> Status {
    RETURN_IF_ERROR(audit_.Append(tx, who, {"source_record.import", "source_record",
                                            fmt::format("{} records: {}", records.size(), note), std::nullopt,
                                            decision.allowed, decision.reason}));
    if (!decision.allowed) return Status::Ok();
    const int64_t now = clock_.Now().micros;
    for (size_t i = 0; i < records.size(); ++i) {
      ASSIGN_OR_RETURN(storage::Rows existing,
                       tx.Query("SELECT id, data, person_id FROM source_records WHERE agency_id = ? AND local_id = ?",
                                {who.agency.value, records[i].local_id}));
      int64_t id = 0;
      json person_id = nullptr;
      if (existing.empty()) {
        ASSIGN_OR_RETURN(storage::Rows inserted,
                         tx.Query("INSERT INTO source_records (agency_id, local_id, person_id, data, created_at, "
                                  "updated_at) VALUES (?, ?, NULL, ?, ?, ?) RETURNING id",
                                  {who.agency.value, records[i].local_id, docs[i], now, now}));
        id = inserted.at(0).Int(0);
        outcomes[i] = PutOutcome::kCreated;
      } else {
        if (existing[0].Text(1) == docs[i]) continue;
        id = existing[0].Int(0);
        if (!existing[0].IsNull(2)) person_id = existing[0].Int(2);
        RETURN_IF_ERROR(tx.Execute("UPDATE source_records SET data = ?, updated_at = ? WHERE id = ?", {docs[i], now, id})
                            .status());
        outcomes[i] = PutOutcome::kUpdated;
      }
      RETURN_IF_ERROR(outbox_.Append(
          tx, "source_record.updated", "source_record", std::to_string(id),
          json{{"source_record_id", id}, {"agency_id", who.agency.value}, {"person_id", person_id}}.dump()));
    }
    return Status::Ok();
  });
  RETURN_IF_ERROR(s);
  if (!decision.allowed) return Denied(decision);
  return outcomes;
}

StatusOr<core::PersonId> PersonService::MoveSource(const authz::Principal& who, core::SourceRecordId record,
                                                   core::PersonId from, std::optional<core::PersonId> to,
                                                   const Person* new_person, const std::string& cause) {
  if (!to && new_person == nullptr) return Status::InvalidArgument("give a person or one to create");
  if (new_person != nullptr) RETURN_IF_ERROR(Validate(*new_person));
  authz::Decision decision;
  core::PersonId target = to.value_or(core::PersonId{});
  Status s = db_.Write([&](storage::Transaction& tx) -> Status {
    decision = gate_.DecidePerson(who, authz::Operation::kUpdate, from, authz::Resource::kSourceRecord);
    if (decision.allowed && !to) decision = gate_.DecidePerson(who, authz::Operation::kCreate, {});
    RETURN_IF_ERROR(audit_.Append(tx, who, {"source_record.unlink", "source_record", std::to_string(record.value),
                                            from, decision.allowed, decision.reason}));
    if (!decision.allowed) return Status::Ok();
    if (!to) {
      Person p = *new_person;
      RETURN_IF_ERROR(InsertPerson(tx, who, p, decision));
      target = p.id;
    }
    ASSIGN_OR_RETURN(int64_t changed, tx.Execute("UPDATE source_records SET person_id = ? WHERE id = ? AND person_id = ?",
                                                 {target.value, record.value, from.value}));
    if (changed != 1) {
      return Status::FailedPrecondition(
          fmt::format("source record {} is no longer linked to client {}; nothing was changed", record.value, from.value));
    }
    const int64_t now = clock_.Now().micros;
    for (const auto& [person, previous, action] :
         {std::tuple<storage::Value, storage::Value, std::string>{storage::Null{}, from.value, "unlinked"},
          std::tuple<storage::Value, storage::Value, std::string>{target.value, from.value, "linked"}}) {
      RETURN_IF_ERROR(tx.Execute("INSERT INTO source_record_links (source_record_id, person_id, previous_person_id, "
                                 "action, cause, weight, at, user_id, actor) VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?)",
                                 {record.value, person, previous, action, cause, now, who.user.value, who.name})
                          .status());
    }
    RETURN_IF_ERROR(audit_.Append(tx, who, {"source_record.link", "source_record", std::to_string(record.value),
                                            target, true, decision.reason}));
    return outbox_.Append(tx, "source_record.moved", "source_record", std::to_string(record.value),
                          json{{"source_record_id", record.value}, {"from_person_id", from.value},
                               {"to_person_id", target.value}, {"cause", cause}}
                              .dump());
  });
  RETURN_IF_ERROR(s);
  if (!decision.allowed) return Denied(decision);
  return target;
}

}  // namespace registry
