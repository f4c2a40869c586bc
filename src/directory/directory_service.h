#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "access/principal.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "directory/hsds.h"
#include "directory/life_events.h"
#include "exchange/outbox.h"
#include "storage/database.h"

// The service directory: every service of every agency of the consortium (and of the
// community organisations around them), stored as Open Referral HSDS 3.0, searched with
// stemming and synonyms. Nothing in it is personal data: anyone may read it.
namespace directory {

// Groups of words that search treats as one ("job" also finds "employment").
class Synonyms {
 public:
  Synonyms() = default;
  // A YAML file with `synonyms:`, a list of lists of words or short phrases. Errors name the
  // file and line.
  static core::StatusOr<Synonyms> Load(const std::string& path);
  static core::StatusOr<Synonyms> Parse(const std::string& text, const std::string& file);

  // The words that mean the same as `word` (lower case; or a phrase of words joined by spaces),
  // `word` first; just `word` if none.
  std::vector<std::string> Expand(const std::string& word) const;
  // Whether `phrase` (words joined by spaces, as SearchWords gives them) is one of the groups'
  // phrases, so that a search for it finds its group ("recién nacido", "banco de alimentos").
  bool HasPhrase(const std::string& phrase) const;
  size_t groups() const { return groups_.size(); }

 private:
  std::vector<std::vector<std::string>> groups_;
  std::map<std::string, size_t> index_;  // word -> group
};

// The words of a search, lower case, without the common words that say nothing ("I", "my",
// "the"); at most 12.
std::vector<std::string> SearchWords(const std::string& text);

struct SearchQuery {
  std::string text;              // full text: every word (or one of its synonyms) must match
  std::string taxonomy_term_id;  // services with this term
  std::string taxonomy_id;       // services with any term of this taxonomy
  std::string organization_id;
  std::string language;          // a language code (ISO 639: "es", "ur") the service is offered in
  std::string postcode;          // at a location with this postal code (spaces and case ignored)
  std::string city;              // at a location in this city (case ignored)
  std::string location_id;
  std::string program;           // linked to this program of the eligibility rules ("us-snap")
  std::string agency;            // offered by the organization that is this onedoor agency (code)
  std::string modified_after;    // RFC 3339; services modified on or after
  bool active_only = false;      // only services whose status is "active"
  int page = 1;                  // from 1
  int per_page = 20;             // 1 to 100
};

struct SearchResult {
  int64_t total = 0;
  std::vector<std::string> ids;  // service ids of this page, best first
  bool any_word = false;         // no service had every word: these have some of them
};

struct ImportReport {
  std::map<std::string, int64_t> rows;  // table -> rows in the document
  int64_t added = 0;
  int64_t changed = 0;
  int64_t unchanged = 0;
  int64_t removed = 0;                  // with `replace`: rows no longer in the directory
  int64_t services = 0;                 // services in the directory after the import
  std::vector<std::string> warnings;    // references to rows that are in neither (at most 50)
  int64_t dangling = 0;                 // how many such references
};

// A page of rows of one table, for the HSDS API.
struct Page {
  int64_t total = 0;
  std::vector<nlohmann::json> rows;
};

// One service for the pages: its document and what onedoor knows about it.
struct ServiceView {
  nlohmann::json doc;               // the service, fully nested
  std::vector<std::pair<std::string, std::string>> programs;  // linked programs: id ("us-snap"), name
  std::string agency;               // the onedoor agency code of its organization, if any
};

inline constexpr char kProgramTaxonomy[] = "onedoor programs";
inline constexpr char kAgencyScheme[] = "onedoor";

// Thread-safe.
class DirectoryService {
 public:
  DirectoryService(storage::Database& db, audit::AuditLog& audit, exchange::Outbox& outbox, const core::Clock& clock,
                   Synonyms synonyms);

  // Adds the rows of `data` to the directory, each replacing the stored row of the same table
  // and id, except that links to other rows (the *_id fields) that a row does not give are kept
  // (a phone nested in a service does not say which location it is also at); with `replace`,
  // the directory becomes exactly `data`. One transaction: all or
  // nothing. Administrators (and the command line) only. Rebuilds the search index.
  core::StatusOr<ImportReport> Import(const authz::Principal& who, const Dataset& data, bool replace);

  // The whole directory.
  core::StatusOr<Dataset> Export();

  core::StatusOr<SearchResult> Search(const SearchQuery& q);
  // The services-at-locations of the services `q` finds (every word must match), optionally of
  // one service or one location, a page of them.
  core::StatusOr<Page> ServiceAtLocations(const SearchQuery& q, const std::string& service_id,
                                          const std::string& location_id, bool full);

  // One row of `table`, fully nested (full) or its own fields; kNotFound if there is none.
  core::StatusOr<nlohmann::json> Get(const std::string& table, const std::string& id, bool full);
  // Several rows of one table by id, in the order given (missing ones left out).
  core::StatusOr<std::vector<nlohmann::json>> GetMany(const std::string& table, const std::vector<std::string>& ids,
                                                      bool full);
  // Rows of `table` in name (then id) order; `filter` narrows by field values (all must hold).
  core::StatusOr<Page> List(const std::string& table, const std::map<std::string, std::string>& filter, int page,
                            int per_page, bool full);

  core::StatusOr<ServiceView> Service(const std::string& id);

  // The taxonomy terms used by services, with how many services use each, for the filters.
  struct TermCount {
    std::string id, name, taxonomy;
    int64_t services = 0;
  };
  core::StatusOr<std::vector<TermCount>> TermsInUse();
  // The language codes services are offered in, with their names where given.
  core::StatusOr<std::vector<std::pair<std::string, std::string>>> LanguagesInUse();

  // The active services a step of a life event points to (its search words and topic), at most
  // `limit`, best first: each the service's own fields and its organization's name.
  core::StatusOr<std::vector<nlohmann::json>> StepServices(const LifeEventStep& step, int limit);

  const Synonyms& synonyms() const { return synonyms_; }

 private:
  // The services `q` finds, as SQL for the services-at-locations list.
  struct SqlParts {
    std::string from, where;
    storage::Params params;
    size_t words = 0;
  };
  core::StatusOr<SqlParts> SearchSql(const SearchQuery& q, bool any) const;
  // The words of `q` as a full-text query for the database: every group of synonyms (or, with
  // `any`, one of them); empty when there are no words.
  std::string MatchExpression(const std::vector<std::string>& words, bool prefix, bool any) const;

  // What search orders and filters by, for every service, in memory: rebuilt from the
  // database when the directory's version there moves on (an import on any server).
  struct SearchIndex;
  core::StatusOr<std::shared_ptr<const SearchIndex>> CurrentIndex(storage::Transaction& tx);

  storage::Database& db_;
  audit::AuditLog& audit_;
  exchange::Outbox& outbox_;
  const core::Clock& clock_;
  Synonyms synonyms_;
  std::mutex index_mu_;
  std::shared_ptr<const SearchIndex> index_;
};

}  // namespace directory
