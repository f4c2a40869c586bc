#include "identity/registry_linker.h"

#include <fmt/format.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace identity {
namespace {

using core::Status;
using core::StatusOr;

// A house number at the start of a line: "8 stanley street" -> "8", "stanley street".
void SplitHouseNumber(const std::string& line, std::string& number, std::string& rest) {
  size_t i = 0;
  while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) ++i;
  if (i > 0 && i < line.size() && std::isalpha(static_cast<unsigned char>(line[i]))) ++i;  // "12a"
  if (i > 0 && i < line.size() && line[i] == ' ') {
    number = line.substr(0, i);
    rest = line.substr(i + 1);
  } else {
    rest = line;
  }
}

std::string ExplanationJson(const Explanation& e) {
  std::string fields;
  for (const FieldWeight& f : e.fields) {
    if (!fields.empty()) fields += ',';
    fields += fmt::format(R"({{"field":"{}","level":"{}","weight":{:.3f}}})", FeatureName(f.feature), f.level,
                          f.weight);
  }
  return fmt::format(R"({{"prior_weight":{:.3f},"total":{:.3f},"probability":{:.6f},"fields":[{}]}})",
                     e.prior_weight, e.total, e.probability, fields);
}

constexpr int kWriters = 8;

}  // namespace

PersonRecord ToPersonRecord(const registry::Person& p) {
  PersonRecord r;
  for (const auto& n : p.names) {
    if (n.use == "official") {
      r.given_name = n.given;
      r.family_name = n.family;
      break;
    }
  }
  if (p.birth_date) r.date_of_birth = p.birth_date->ToString();
  const registry::Address* address = nullptr;
  for (const auto& a : p.addresses) {
    if (address == nullptr || (a.use == "home" && address->use != "home")) address = &a;
  }
  if (address != nullptr) {
    SplitHouseNumber(address->line1, r.street_number, r.address_line1);
    r.address_line2 = address->line2;
    r.locality = address->city;
    r.postcode = address->postcode;
    r.region = address->region;
  }
  for (const auto& id : p.identifiers) {
    if (id.kind == "national_id") {
      r.identifier = id.value;
      break;
    }
  }
  if (!p.phones.empty()) r.phone = p.phones.front().value;
  return r;
}

std::string DedupeReport::ToJson() const {
  return fmt::format(
      R"({{"records":{},"registered":{},"unusable":{},"clusters":{},"persons_created":{},"records_linked":{},)"
      R"("conflicts":{},"review_queued":{},"review_known":{},"review_unqueued":{},"pairs_compared":{},)"
      R"("merges_refused":{},"seconds":{:.3f}}})",
      records, registered, unusable, clusters, persons_created, records_linked, conflicts,
      review_queued, review_known, review_unqueued, pairs_compared, merges_refused, seconds);
}

authz::Principal ClientIndexPrincipal() {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kSystem;
  p.name = "client index";
  p.roles = {authz::Role::kCaseworker};
  p.scopes = {"source-records:read", "source-records:write", "persons:read", "persons:write"};
  p.purpose = authz::Purpose::kServiceDelivery;
  p.request_id = "client-index";
  return p;
}

StatusOr<DedupeReport> RegistryLinker::Dedupe(const authz::Principal& who, const MatchOptions& options,
                                              bool dry_run) {
  const auto start = std::chrono::steady_clock::now();
  DedupeReport report;
  ASSIGN_OR_RETURN(std::vector<registry::SourceRecord> sources, persons_.AllSourceRecords(who));
  report.records = static_cast<int64_t>(sources.size());

  // Rows of the table: the usable source records, with their parsed persons.
  RecordTable table;
  table.Reserve(sources.size());
  std::vector<size_t> source_of_row;
  std::vector<registry::Person> person_of_row;
  for (size_t i = 0; i < sources.size(); ++i) {
    auto person = registry::FromStorageJson(sources[i].data);
    if (!person.ok() || person->names.empty() || !registry::Validate(*person).ok()) {
      ++report.unusable;
      continue;
    }
    table.Add(ToPersonRecord(*person));
    source_of_row.push_back(i);
    person_of_row.push_back(std::move(person).value());
  }
  // Persons registered at a desk or through the API have no source record: their stored record
  // joins the table as a row already linked to them, so that an agency's record of one of them
  // joins them instead of making a duplicate.
  constexpr size_t kRegistered = SIZE_MAX;
  std::vector<std::optional<core::PersonId>> registered_of_row(source_of_row.size());
  std::vector<std::pair<core::PersonId, std::string>> registered;
  if (!source_of_row.empty()) {
    ASSIGN_OR_RETURN(registered, persons_.PersonsWithoutSources(who));
  }
  for (auto& [id, doc] : registered) {
    auto person = registry::FromStorageJson(doc);
    if (!person.ok() || person->names.empty()) continue;
    table.Add(ToPersonRecord(*person));
    source_of_row.push_back(kRegistered);
    person_of_row.push_back(std::move(person).value());
    registered_of_row.push_back(id);
    ++report.registered;
  }
  if (table.size() == 0) {
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
  }
  MatchResult result = Deduplicate(table, options);
  if (!dry_run && !options.model) {
    // Kept for the real-time match, which scores with the newest model.
    RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
      return tx
          .Execute("INSERT INTO identity_models (created_at, note, model) VALUES (?, ?, ?)",
                   {clock_.Now().micros, result.model.note, result.model.ToText()})
          .status();
    }));
  }
  report.pairs_compared = static_cast<int64_t>(result.blocking.pairs_compared);
  report.merges_refused = result.merges_refused;

  std::map<uint32_t, std::vector<uint32_t>> clusters;
  for (uint32_t row = 0; row < result.cluster.size(); ++row) clusters[result.cluster[row]].push_back(row);
  report.clusters = static_cast<int64_t>(clusters.size());

  // The best link weight that joined each row, for the link history.
  std::vector<double> weight_of_row(table.size(), 0);
  std::vector<bool> has_weight(table.size(), false);
  for (const ScoredPair& l : result.links) {
    for (uint32_t r : {l.a, l.b}) {
      if (!has_weight[r] || l.weight > weight_of_row[r]) weight_of_row[r] = l.weight, has_weight[r] = true;
    }
  }

  Scorer scorer(table, result.model);
  std::vector<std::pair<uint32_t, uint32_t>> to_review;
  for (const ScoredPair& p : result.review) to_review.emplace_back(p.a, p.b);

  struct LinkWork {
    std::optional<core::PersonId> target;
    const registry::Person* person;  // the person to create when there is no target
    std::vector<registry::SourceLinkRequest> records;
  };
  std::vector<LinkWork> work;
  for (const auto& [cluster, rows] : clusters) {
    std::set<int64_t> linked_to;
    std::vector<registry::SourceLinkRequest> unlinked;
    for (uint32_t row : rows) {
      if (registered_of_row[row]) {
        linked_to.insert(registered_of_row[row]->value);
        continue;
      }
      const registry::SourceRecord& s = sources[source_of_row[row]];
      if (s.person) {
        linked_to.insert(s.person->value);
      } else {
        unlinked.push_back({s.id, has_weight[row] ? std::optional(weight_of_row[row]) : std::nullopt});
      }
    }
    if (linked_to.size() > 1) {
      // Two existing persons look like one: a person decides (a merge is never automatic).
      ++report.conflicts;
      for (size_t i = 1; i < rows.size(); ++i) to_review.emplace_back(rows[0], rows[i]);
      continue;
    }
    if (unlinked.empty()) continue;
    report.records_linked += static_cast<int64_t>(unlinked.size());
    if (linked_to.empty()) ++report.persons_created;
    if (dry_run) continue;
    std::optional<core::PersonId> target;
    if (!linked_to.empty()) target = core::PersonId{*linked_to.begin()};
    work.push_back({target, &person_of_row[rows.front()], std::move(unlinked)});
  }

  // Each cluster is its own transaction; several at once share commits (group commit on
  // SQLite, concurrent sessions on PostgreSQL).
  std::atomic<size_t> next{0};
  std::mutex error_mu;
  Status first_error;  // GUARDED_BY(error_mu)
  auto worker = [&] {
    for (size_t i = next++; i < work.size(); i = next++) {
      const LinkWork& w = work[i];
      auto linked = persons_.LinkSources(who, w.target, w.target ? nullptr : w.person, w.records, "auto");
      if (!linked.ok()) {
        std::lock_guard lock(error_mu);
        if (first_error.ok()) first_error = linked.status();
        next = work.size();
      }
    }
  };
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kWriters; ++t) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
  }
  RETURN_IF_ERROR(first_error);

  // The review queue: a pair is asked once; a decided pair is remembered.
  for (const auto& [a, b] : to_review) {
    // A pair is reviewed as two agencies' records; a registered person with none has no record
    // to name (the pair is counted, and its records stay as they are).
    if (registered_of_row[a] || registered_of_row[b]) {
      ++report.review_unqueued;
      continue;
    }
    int64_t ra = sources[source_of_row[a]].id.value;
    int64_t rb = sources[source_of_row[b]].id.value;
    if (ra == rb) continue;
    uint32_t row_a = a, row_b = b;
    if (ra > rb) std::swap(ra, rb), std::swap(row_a, row_b);
    const Explanation e = scorer.Explain(row_a, row_b);
    if (dry_run) {
      ++report.review_queued;
      continue;
    }
    bool fresh = false;
    RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(storage::Rows known,
                       tx.Query("SELECT 1 FROM match_reviews WHERE record_a = ? AND record_b = ?", {ra, rb}));
      if (!known.empty()) return Status::Ok();
      fresh = true;
      return tx
          .Execute("INSERT INTO match_reviews (record_a, record_b, weight, probability, explanation, state, "
                   "created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?)",
                   {ra, rb, e.total, e.probability, ExplanationJson(e), clock_.Now().micros})
          .status();
    }));
    ++(fresh ? report.review_queued : report.review_known);
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

int RunLinkDedupe(registry::PersonService& persons, storage::Database& db, const core::Clock& clock,
                  const std::vector<std::string>& args) {
  bool dry_run = false;
  for (const std::string& a : args) {
    if (a == "--dry-run") {
      dry_run = true;
    } else {
      std::fprintf(stderr, "onedoor: usage: onedoor link dedupe [--dry-run]\n");
      return 2;
    }
  }
  RegistryLinker linker(persons, db, clock);
  auto report = linker.Dedupe(ClientIndexPrincipal(), MatchOptions{}, dry_run);
  if (!report.ok()) {
    std::fprintf(stderr, "onedoor: %s\n", report.status().ToString().c_str());
    return 1;
  }
  std::printf("%s\n", report->ToJson().c_str());
  return 0;
}

}  // namespace identity
