#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "access/access_gate.h"
#include "audit/audit_log.h"
#include "core/batch.h"
#include "core/clock.h"
#include "exchange/outbox.h"
#include "registry/person.h"
#include "storage/database.h"

namespace registry {

struct SourceRef {
  core::AgencyId agency;
  std::string agency_name;
  std::string local_id;
};

struct HouseholdRef {
  core::HouseholdId id;
  std::string name;  // empty when the reader may not see the person's names
  std::string relationship;
};

// A person as a principal may see them, with the gate's decision (what is withheld, why).
struct PersonView {
  Person person;  // with GetStored: only its id and version
  std::string stored;  // with GetStored: the stored document (StoredToJsonText makes the API form)
  authz::Decision decision;
  std::vector<SourceRef> sources;
  std::optional<HouseholdRef> household;
};

// The text of what a read of the API answers for `view` (from GetStored): the API form of the
// stored document with the person's source records and, when there is one, household.
core::StatusOr<std::string> ReadAnswerText(const PersonView& view);

struct SearchQuery {
  std::string name;        // words that must each start a name part, any order
  std::string birth_date;  // YYYY, YYYY-MM or YYYY-MM-DD
  std::string identifier;  // exact identifier value
  int64_t after = 0;       // cursor: the last id of the previous page
  int limit = 20;          // 1..100
};

struct PersonSummary {
  core::PersonId id;
  std::string name;
  std::string birth_date;  // as stored, possibly partial
  std::vector<Identifier> identifiers;
  std::string address;
};

struct SearchPage {
  std::vector<PersonSummary> items;
  std::optional<int64_t> next_after;
};

struct HistoryEntry {
  int64_t version = 0;
  core::Timestamp at;
  std::string actor;
  int64_t agency_id = 0;
  std::string action;  // created, updated
  std::vector<Change> changes;
};

struct SourceRecord {
  core::SourceRecordId id;
  core::AgencyId agency;
  std::string local_id;
  std::optional<core::PersonId> person;
  std::string data;  // the agency's own JSON object
  core::Timestamp updated_at;
};

// One record of an agency's batch of source records: its own id and the person as the agency
// knows them.
struct SourceRecordInput {
  std::string local_id;
  Person person;
};

enum class PutOutcome { kCreated, kUpdated, kUnchanged };

// One entry of a person's access log, with the name of the agency that acted.
struct AccessLogEntry {
  audit::Record record;
  std::string agency_name;
  bool emergency = false;  // the data was opened by emergency access (break-glass)
  bool representative = false;  // a representative acting for the person made it
  bool by_reference = false;    // made with an appointment's reference alone (no account)
  bool by_person = false;       // the person's own portal account made it, not as a representative
};

struct AccessLogPage {
  std::vector<AccessLogEntry> items;
  std::optional<int64_t> next_before;  // pass as `before` for the next (older) page
};

// A source record to link to a person, and the match weight that decided it (for the history).
struct SourceLinkRequest {
  core::SourceRecordId record;
  std::optional<double> weight;
};

// The client registry: people, their history and each agency's source records.
// Every method asks the access gate, writes the gate's decision to the audit log in the
// same transaction as the work, and (for changes) appends a domain event to the outbox.
// Thread-safe.
// Schema migration 45's step: the name search keys of every person whose names are not plain
// ASCII made again with today's NameKey (case and accents folded), in the migration's transaction.
core::Status RekeyFoldedNames(storage::Transaction& tx);
// Schema migration 46's step: the search key (IdentifierKey) of every identifier stored before.
core::Status KeyIdentifiers(storage::Transaction& tx);

class PersonService {
 public:
  PersonService(storage::Database& db, const authz::AccessGate& gate, audit::AuditLog& audit,
                exchange::Outbox& outbox, const core::Clock& clock)
      : db_(db), gate_(gate), audit_(audit), outbox_(outbox), clock_(clock) {}

  // What Create and Update check of a record before anything is read or written: its fields
  // (Validate) and its dates against today (none in the future, a living person's birth within
  // 130 years), every mistake at once. kInvalidArgument with field errors.
  core::Status Check(const Person& p) const;
  // The service's clock, for checks made before a record reaches it (an import's rows).
  core::Timestamp Now() const { return clock_.Now(); }
  // kInvalidArgument with field errors, kPermissionDenied.
  core::StatusOr<Person> Create(const authz::Principal& who, Person input);
  // kNotFound, kPermissionDenied.
  core::StatusOr<PersonView> Get(const authz::Principal& who, core::PersonId id);
  // The same read, gated and audited alike, leaving the stored document as it is in `stored`
  // instead of reading it into `person`: for answers that send it on (StoredToJsonText).
  core::StatusOr<PersonView> GetStored(const authz::Principal& who, core::PersonId id);
  // kFailedPrecondition when `expected_version` is not the current version.
  // Fields the gate withholds from `who` keep their stored values; the result is redacted to
  // what `who` sees, and `decision` (when given) receives the gate's decision.
  core::StatusOr<Person> Update(const authz::Principal& who, core::PersonId id, int64_t expected_version,
                                Person input, authz::Decision* decision = nullptr);
  // Each person in the results counts as a read and is audited as such.
  core::StatusOr<SearchPage> Search(const authz::Principal& who, const SearchQuery& query);
  core::StatusOr<std::vector<HistoryEntry>> History(const authz::Principal& who, core::PersonId id);
  // Who looked at or changed the person's data, newest first, `limit` entries (1..200) before
  // audit entry `before` (0: from the newest): for the person themself, an auditor or a
  // manager (a token needs audit:read). The person does not see the entries of agencies named
  // in SetAccessLogExceptions (a legal exception of the deployment: those entries stay in the
  // audit log, and auditors see them), nor staff usernames and the gate's reasons: they see
  // the agency, the roles, the purpose and what was done. The request is audited.
  // With `others_only`, the entries of the caller's own portal account are left out (the person
  // looking at their own record, again and again, would push the agencies' entries off the page).
  core::StatusOr<AccessLogPage> AccessLog(const authz::Principal& who, core::PersonId id, int limit,
                                          int64_t before = 0, bool others_only = false);
  // The codes of the agencies whose accesses the person does not see in their access log.
  void SetAccessLogExceptions(std::vector<std::string> agency_codes) { log_exceptions_ = std::move(agency_codes); }

  // Creates or updates the caller agency's own record of a person, keyed by `local_id`.
  core::StatusOr<SourceRecord> PutSourceRecord(const authz::Principal& who, const std::string& local_id,
                                               std::optional<core::PersonId> person, const std::string& data_json);

  // Creates or updates many of the caller agency's source records in one transaction, with
  // `data` the stored form of each person (so that re-sending the same records changes
  // nothing: kUnchanged, no event). A record already linked to a person keeps its link. One
  // audit entry for the batch (`note` says where it came from, e.g. a file and its lines) and
  // one outbox event per created or updated record. Every record must be valid (Validate) and
  // local ids unique within the batch, else kInvalidArgument naming "records/N/..." and
  // nothing is written. kPermissionDenied without the right to keep source records.
  core::StatusOr<std::vector<PutOutcome>> PutSourceRecords(const authz::Principal& who,
                                                           const std::vector<SourceRecordInput>& records,
                                                           const std::string& note);

  // Every agency's source records, for the client index. One gate decision and one audit
  // entry for the whole read (released only once that entry is durable). kPermissionDenied
  // without source-records:read.
  core::StatusOr<std::vector<SourceRecord>> AllSourceRecords(const authz::Principal& who);
  // Every person no agency keeps a source record of (registered at a desk or through the API),
  // with their stored document, for the client index to match agencies' records against them
  // too. Gated and audited like AllSourceRecords: one entry for the read.
  core::StatusOr<std::vector<std::pair<core::PersonId, std::string>>> PersonsWithoutSources(
      const authz::Principal& who);

  // Links `records` (each not linked yet) to `person`, or, when `person` is empty, to a new
  // person made from `new_person` — in one transaction, so that a record is never left
  // half-linked. Each link is audited with the person (it shows in their access log), kept in
  // the link history with `cause` ("auto", "review", "manual") and its weight, and announced
  // by one "person.sources_linked" event. kFailedPrecondition if a record is already linked
  // (someone linked it meanwhile): nothing is written. Returns the person's id.
  core::StatusOr<core::PersonId> LinkSources(const authz::Principal& who, std::optional<core::PersonId> person,
                                             const Person* new_person,
                                             const std::vector<SourceLinkRequest>& records, const std::string& cause);

  // Moves `record`, now linked to `from`, to `to` or, when `to` is empty, to a new person made
  // from `new_person` — one transaction, audited on both persons, two rows of link history
  // ("unlinked" from, "linked" to). kFailedPrecondition if the record is no longer linked to
  // `from` (nothing written). Returns the person it is now linked to.
  core::StatusOr<core::PersonId> MoveSource(const authz::Principal& who, core::SourceRecordId record,
                                            core::PersonId from, std::optional<core::PersonId> to,
                                            const Person* new_person, const std::string& cause);

 private:
  core::StatusOr<PersonView> Read(const authz::Principal& who, core::PersonId id, bool parse);
  // A create on its way to the database, alone or with concurrent ones, and its outcome.
  struct PendingCreate {
    const authz::Principal* who;
    Person* person;
    authz::Decision decision;
    core::Status result;
  };
  // Writes the creates of `batch` in one transaction (one commit, one audit chain lock); if that
  // fails and it holds more than one, writes each alone, so that a create fails only for a reason
  // of its own.
  void CreateAll(std::span<PendingCreate* const> batch);
  // Inserts each person of `batch` whose decision allows it (indexes, history, audit, event; sets
  // its id and version) and records the refusal of the others, in `tx`.
  core::Status InsertPersons(storage::Transaction& tx, std::span<PendingCreate* const> batch);
  // InsertPersons of one person the gate allowed to be created.
  core::Status InsertPerson(storage::Transaction& tx, const authz::Principal& who, Person& p,
                            const authz::Decision& decision);
  // Decides, audits the decision in `tx`, and returns it.
  // The gate's decision, audited as `action`; with `required`, a decision that withholds that
  // field is a refusal.
  core::StatusOr<authz::Decision> Gate(storage::Transaction& tx, const authz::Principal& who,
                                       authz::Operation op, core::PersonId id, std::string_view action,
                                       std::optional<authz::Field> required = std::nullopt);
  // Writes the name and identifier index rows of `p`; `replace` first removes its old ones (a
  // new person has none, which saves two statements per create).
  core::Status WriteIndexes(storage::Transaction& tx, const Person& p, bool replace);

  storage::Database& db_;
  const authz::AccessGate& gate_;
  audit::AuditLog& audit_;
  exchange::Outbox& outbox_;
  const core::Clock& clock_;
  std::vector<std::string> log_exceptions_;
  // Concurrent creates are written together, up to this many in one transaction.
  static constexpr size_t kMaxCreateBatch = 64;
  core::Batcher<PendingCreate> creates_{kMaxCreateBatch};
};

}  // namespace registry
