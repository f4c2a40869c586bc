#include "directory/directory_service.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <deque>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_map>

#include "registry/person.h"

namespace directory {
namespace {

using core::Status;
using core::StatusOr;
using nlohmann::json;

// The columns of directory_records that hold a row's links, by the HSDS field they come from.
// metadata.resource_id shares link_id with attribute.link_id: both point at any kind of row.
const std::vector<std::pair<std::string, std::string>>& LinkColumns() {
  static const auto* columns = new std::vector<std::pair<std::string, std::string>>{
      {"organization_id", "organization_id"},
      {"service_id", "service_id"},
      {"location_id", "location_id"},
      {"service_at_location_id", "service_at_location_id"},
      {"contact_id", "contact_id"},
      {"phone_id", "phone_id"},
      {"link_id", "link_id"},
      {"resource_id", "link_id"},
      {"taxonomy_id", "taxonomy_id"},
      {"parent_id", "parent_id"},
  };
  return *columns;
}

std::string ColumnFor(const std::string& field) {
  for (const auto& [f, c] : LinkColumns()) {
    if (f == field) return c;
  }
  return {};
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Text(const json& row, const char* field) {
  auto it = row.find(field);
  return it != row.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// "2025-03-15T10:30:45.123Z" or with an offset, to microseconds since the epoch; -1 if it is not one.
int64_t ParseRfc3339(const std::string& s) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return -1;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  int64_t micros = static_cast<int64_t>(timegm(&tm)) * 1'000'000;
  size_t i = static_cast<size_t>(consumed);
  if (i < s.size() && s[i] == '.') {
    int64_t scale = 100'000;
    for (++i; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i) {
      micros += (s[i] - '0') * scale;
      scale /= 10;
    }
  }
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int hh = 0, mm = 0;
    if (std::sscanf(s.c_str() + i + 1, "%2d:%2d", &hh, &mm) != 2) return -1;
    const int64_t offset = (hh * 3600LL + mm * 60LL) * 1'000'000;
    micros += s[i] == '+' ? -offset : offset;
  } else if (i >= s.size() || (s[i] != 'Z' && s[i] != 'z')) {
    return -1;
  }
  return micros;
}

// What search and the filters know of one service, derived from its rows.
struct ServiceIndex {
  std::string name;
  std::string status;
  int64_t modified = 0;
  std::string text;
  std::set<std::tuple<std::string, std::string, std::string>> facets;  // facet, value, label
  bool operator==(const ServiceIndex&) const = default;
};

std::string Postcode(std::string s) {
  std::string out;
  for (char c : s) {
    if (c != ' ') out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

ServiceIndex IndexOf(RowSource& src, const json& service, int64_t imported_at) {
  ServiceIndex ix;
  const std::string id = Text(service, "id");
  ix.name = Text(service, "name");
  ix.status = Text(service, "status");
  const int64_t modified = ParseRfc3339(Text(service, "last_modified"));
  ix.modified = modified >= 0 ? modified : imported_at;
  std::vector<std::string> text = {Text(service, "alternate_name"), Text(service, "description"),
                                   Text(service, "eligibility_description"), Text(service, "application_process")};
  const std::string org_id = Text(service, "organization_id");
  if (!org_id.empty()) {
    ix.facets.insert({"organization", org_id, ""});
    if (const json* org = src.Get("organization", org_id)) {
      text.push_back(Text(*org, "name"));
      text.push_back(Text(*org, "alternate_name"));
      for (const json* oi : src.Children("organization_identifier", "organization_id", org_id)) {
        if (Text(*oi, "identifier_scheme") == kAgencyScheme) ix.facets.insert({"agency", Text(*oi, "identifier"), ""});
      }
    }
  }
  for (const json* attr : src.Children("attribute", "link_id", id)) {
    const std::string term_id = Text(*attr, "taxonomy_term_id");
    const json* term = term_id.empty() ? nullptr : src.Get("taxonomy_term", term_id);
    if (term == nullptr) continue;
    const json* taxonomy = src.Get("taxonomy", Text(*term, "taxonomy_id"));
    if (taxonomy != nullptr && Text(*taxonomy, "name") == kProgramTaxonomy) {
      ix.facets.insert({"program", Text(*term, "code"), Text(*term, "name")});
      continue;
    }
    ix.facets.insert({"taxonomy_term", term_id, Text(*term, "name")});
    if (taxonomy != nullptr) ix.facets.insert({"taxonomy", Text(*taxonomy, "id"), Text(*taxonomy, "name")});
    text.push_back(Text(*term, "name"));
  }
  auto add_languages = [&](const std::vector<const json*>& langs) {
    for (const json* l : langs) {
      const std::string code = Lower(Text(*l, "code"));
      if (!code.empty()) ix.facets.insert({"language", code, Text(*l, "name")});
    }
  };
  add_languages(src.Children("language", "service_id", id));
  for (const json* sal : src.Children("service_at_location", "service_id", id)) {
    const std::string loc_id = Text(*sal, "location_id");
    const json* loc = loc_id.empty() ? nullptr : src.Get("location", loc_id);
    if (loc == nullptr) continue;
    ix.facets.insert({"location", loc_id, Text(*loc, "name")});
    text.push_back(Text(*loc, "name"));
    add_languages(src.Children("language", "location_id", loc_id));
    for (const json* a : src.Children("address", "location_id", loc_id)) {
      const std::string pc = Postcode(Text(*a, "postal_code"));
      if (!pc.empty()) ix.facets.insert({"postcode", pc, ""});
      const std::string city = Text(*a, "city");
      if (!city.empty()) ix.facets.insert({"city", Lower(city), city});
      text.push_back(city);
    }
  }
  for (const std::string& t : text) {
    if (t.empty()) continue;
    if (!ix.text.empty()) ix.text += '\n';
    ix.text += t;
  }
  return ix;
}

// Rows read from the database as they are asked for. Lives for one transaction.
class DbSource : public RowSource {
 public:
  explicit DbSource(storage::Transaction& tx) : tx_(tx) {}

  const json* Get(const std::string& table, const std::string& id) override {
    auto key = table + "\n" + id;
    if (auto hit = rows_.find(key); hit != rows_.end()) return hit->second;
    auto rows = tx_.Query("SELECT doc FROM directory_records WHERE tbl = ? AND id = ?", {table, id});
    const json* out = nullptr;
    if (rows.ok() && !rows->empty()) out = &store_.emplace_back(json::parse(rows->at(0).Text(0)));
    rows_[key] = out;
    return out;
  }

  std::vector<const json*> Children(const std::string& table, const std::string& field,
                                    const std::string& id) override {
    const std::string column = ColumnFor(field);
    if (column.empty()) return {};
    auto rows = tx_.Query(fmt::format("SELECT doc FROM directory_records WHERE tbl = ? AND {} = ? ORDER BY id", column),
                          {table, id});
    std::vector<const json*> out;
    if (!rows.ok()) return out;
    for (const auto& r : *rows) out.push_back(&store_.emplace_back(json::parse(r.Text(0))));
    return out;
  }

 private:
  storage::Transaction& tx_;
  std::deque<json> store_;
  std::map<std::string, const json*> rows_;
};

StatusOr<Dataset> LoadAll(storage::Transaction& tx) {
  Dataset out;
  ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT tbl, id, doc FROM directory_records"));
  for (const auto& r : rows) out.tables[r.Text(0)][r.Text(1)] = json::parse(r.Text(2));
  return out;
}

storage::Value Opt(const std::string& s) { return s.empty() ? storage::Value{} : storage::Value{s}; }

Status WriteRow(storage::Transaction& tx, const std::string& table, const std::string& id, const json& row,
                int64_t now) {
  storage::Params params = {table, id, row.dump(), Text(row, "name")};
  std::string columns, marks, updates;
  for (const char* c : {"organization_id", "service_id", "location_id", "service_at_location_id", "contact_id",
                        "phone_id", "link_id", "taxonomy_id", "parent_id"}) {
    std::string v = Text(row, c);
    if (std::string_view(c) == "link_id" && v.empty()) v = Text(row, "resource_id");
    params.push_back(Opt(v));
    columns += fmt::format(", {}", c);
    marks += ", ?";
    updates += fmt::format(", {0} = excluded.{0}", c);
  }
  params.push_back(now);
  return tx.Execute(fmt::format("INSERT INTO directory_records (tbl, id, doc, name{}, updated_at) "
                                "VALUES (?, ?, ?, ?{}, ?) ON CONFLICT (tbl, id) DO UPDATE SET doc = excluded.doc, "
                                "name = excluded.name{}, updated_at = excluded.updated_at",
                                columns, marks, updates),
                    params)
      .status();
}

// The common words of a search that say nothing about the service wanted, kept as
// registry::NameKey folds them: a word is left out in any case, with or without its accents
// ("DÓNDE", "donde"; "أحتاج", "احتاج").
const std::set<std::string>& StopWords() {
  static const auto* words = [] {
    auto* folded = new std::set<std::string>;
    for (const char* w :
         {"a", "an", "and", "are", "as", "at", "be", "by", "can", "for", "from", "get", "have",
          "help", "how", "i", "i'm", "im", "in", "is", "it", "me", "my", "need", "of", "on", "or",
          "our", "the", "to", "want", "we", "what", "where", "who", "with", "you", "your", "some",
          "am", "been", "do", "does", "find", "looking",
          // Spanish.
          "al", "ayuda", "busco", "con", "de", "del", "donde", "el", "en", "es", "la", "las", "lo",
          "los", "mi", "mis", "necesito", "nos", "o", "para", "por", "quiero", "se", "sin", "su",
          "sus", "tengo", "un", "una", "unos", "y", "yo", "he", "ha", "han", "has", "hemos",
          "estoy", "soy", "que", "como", "hay", "algo", "alguien", "puedo", "puede", "necesitamos",
          "nuestro", "nuestra", "nuestros", "este", "esta", "ese", "esa",
          // Arabic.
          "أحتاج", "أريد", "إلى", "عن", "على", "في", "لي", "مساعدة", "مع", "من"}) {
      folded->insert(registry::NameKey(w));
    }
    return folded;
  }();
  return *words;
}

// One word or phrase for FTS5 (quoted, so that nothing in it is an operator) or for
// PostgreSQL's to_tsquery (words joined by <->); `prefix` also matches longer words.
std::string FtsTerm(const std::string& phrase, bool prefix, storage::Dialect dialect) {
  std::vector<std::string> words;
  std::string w;
  for (char c : phrase + " ") {
    if (std::isalnum(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) >= 0x80) {
      w += c;
    } else if (!w.empty()) {
      words.push_back(w);
      w.clear();
    }
  }
  if (words.empty()) return {};
  if (dialect == storage::Dialect::kSqlite) {
    std::string out = "\"";
    for (size_t i = 0; i < words.size(); ++i) out += (i ? " " : "") + words[i];
    out += "\"";
    if (prefix && words.size() == 1) out += "*";
    return out;
  }
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) out += (i ? " <-> " : "") + words[i];
  if (prefix && words.size() == 1) out += ":*";
  return words.size() > 1 ? "(" + out + ")" : out;
}

}  // namespace

StatusOr<Synonyms> Synonyms::Parse(const std::string& text, const std::string& file) {
  Synonyms out;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(fmt::format("{}:{}:{}: {}", file, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  auto at = [&](const YAML::Node& n) { return fmt::format("{}:{}", file, n.Mark().line + 1); };
  if (!root.IsMap() || !root["synonyms"] || !root["synonyms"].IsSequence()) {
    return Status::InvalidArgument(file + ": must have `synonyms:`, a list of groups of words");
  }
  for (const auto& entry : root) {
    if (entry.first.as<std::string>() != "synonyms") {
      return Status::InvalidArgument(fmt::format("{}: unknown key '{}'", at(entry.first), entry.first.as<std::string>()));
    }
  }
  for (const YAML::Node& group : root["synonyms"]) {
    if (!group.IsSequence() || group.size() < 2) {
      return Status::InvalidArgument(at(group) + ": each group is a list of at least two words, like [job, employment]");
    }
    std::vector<std::string> words;
    for (const YAML::Node& w : group) {
      if (!w.IsScalar() || w.Scalar().empty()) return Status::InvalidArgument(at(w) + ": a word must be text");
      const std::string word = Lower(w.Scalar());
      // Found however it is typed: in any case, with or without accents ("educación" and
      // "EDUCACION" find the same group).
      const std::string key = registry::NameKey(word);
      if (key.empty())
        return Status::InvalidArgument(at(w) + ": a word must have letters or digits");
      if (out.index_.count(key)) {
        return Status::InvalidArgument(fmt::format("{}: '{}' is already in another group", at(w), word));
      }
      out.index_[key] = out.groups_.size();
      // A phrase is also found as a search gives it: without the words that say nothing
      // ("banco de alimentos" as "banco alimentos").
      if (word.find(' ') != std::string::npos) {
        std::string searched;
        for (const std::string& w : SearchWords(word))
          searched += (searched.empty() ? "" : " ") + w;
        if (const std::string k = registry::NameKey(searched); !k.empty() && k != key) {
          out.index_.emplace(k, out.groups_.size());
        }
      }
      words.push_back(word);
    }
    out.groups_.push_back(std::move(words));
  }
  return out;
}

StatusOr<Synonyms> Synonyms::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(fmt::format("cannot read the synonyms file {}", path));
  std::stringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

std::vector<std::string> Synonyms::Expand(const std::string& word) const {
  std::vector<std::string> out = {word};
  // The keys a word may be found by, in order: as typed; without a plural's -s or -es ("jobs",
  // "alimentos", "alquileres"); in Arabic without the article (ال: "السكن" is "سكن"), and with a
  // final ة (U+0629) typed as ه (U+0647) or the other way round ("صحه" is "صحة").
  static constexpr std::string_view kArticle = "\xD8\xA7\xD9\x84", kTaMarbuta = "\xD8\xA9",
                                    kHa = "\xD9\x87";
  const std::string key = registry::NameKey(word);
  auto without_end = [&](std::string_view end) {
    return key.size() > end.size() + 2 && key.ends_with(end)
               ? key.substr(0, key.size() - end.size())
               : std::string();
  };
  auto without_article = [](const std::string& k) {
    return k.size() >= kArticle.size() + 4 && k.starts_with(kArticle) ? k.substr(kArticle.size())
                                                                      : std::string();
  };
  std::string swapped;
  if (key.ends_with(kHa))
    swapped = key.substr(0, key.size() - kHa.size()) + std::string(kTaMarbuta);
  if (key.ends_with(kTaMarbuta))
    swapped = key.substr(0, key.size() - kTaMarbuta.size()) + std::string(kHa);
  auto it = index_.end();
  for (const std::string& k : {key, without_end("s"), without_end("es"), without_article(key),
                               swapped, without_article(swapped)}) {
    if (!k.empty() && (it = index_.find(k)) != index_.end()) break;
  }
  if (it == index_.end()) return out;
  for (const std::string& w : groups_[it->second]) {
    if (w != word) out.push_back(w);
  }
  return out;
}

std::vector<std::string> SearchWords(const std::string& text) {
  std::vector<std::string> out;
  std::string w;
  for (char c : text + " ") {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || u >= 0x80 || c == '\'') {
      w += static_cast<char>(std::tolower(u));
    } else if (!w.empty()) {
      while (!w.empty() && w.back() == '\'') w.pop_back();
      while (!w.empty() && w.front() == '\'') w.erase(0, 1);
      if (!w.empty() && !StopWords().count(registry::NameKey(w)) && out.size() < 12)
        out.push_back(w);
      w.clear();
    }
  }
  return out;
}

DirectoryService::DirectoryService(storage::Database& db, audit::AuditLog& audit, exchange::Outbox& outbox,
                                   const core::Clock& clock, Synonyms synonyms)
    : db_(db), audit_(audit), outbox_(outbox), clock_(clock), synonyms_(std::move(synonyms)) {}

StatusOr<ImportReport> DirectoryService::Import(const authz::Principal& who, const Dataset& data, bool replace) {
  if (!who.HasRole(authz::Role::kAdmin)) {
    return Status::PermissionDenied("only an administrator may change the service directory");
  }
  if (!who.HasScope("directory:write")) {
    return Status::PermissionDenied("the token does not have the directory:write scope");
  }
  ImportReport report;
  for (const auto& [table, rows] : data.tables) {
    if (FindTable(table) == nullptr) return Status::InvalidArgument(fmt::format("'{}' is not an HSDS table", table));
    if (!rows.empty()) report.rows[table] = static_cast<int64_t>(rows.size());
  }
  const int64_t now = clock_.Now().micros;
  Status s = db_.Write([&](storage::Transaction& tx) -> Status {
    report = ImportReport{.rows = report.rows};
    ASSIGN_OR_RETURN(Dataset all, LoadAll(tx));
    std::set<std::string> changed_services;
    if (replace) {
      for (auto& [table, rows] : all.tables) {
        auto incoming = data.tables.find(table);
        for (auto it = rows.begin(); it != rows.end();) {
          if (incoming == data.tables.end() || !incoming->second.count(it->first)) {
            ++report.removed;
            RETURN_IF_ERROR(
                tx.Execute("DELETE FROM directory_records WHERE tbl = ? AND id = ?", {table, it->first}).status());
            it = rows.erase(it);
          } else {
            ++it;
          }
        }
      }
    }
    for (const auto& [table, rows] : data.tables) {
      Rows& stored = all.tables[table];
      const Table& t = *FindTable(table);
      for (const auto& [id, incoming] : rows) {
        auto existing = stored.find(id);
        json row = incoming;
        if (existing != stored.end()) {
          // A row nested in one document links only to the row it is nested in (a phone in a
          // service names the service, not its location): the links it does not give are kept.
          for (const Field& f : t.fields) {
            if (f.format != Format::kUuid || std::string_view(f.name) == "id" || row.contains(f.name)) continue;
            if (auto kept = existing->second.find(f.name); kept != existing->second.end()) row[f.name] = *kept;
          }
          if (existing->second == row) {
            ++report.unchanged;
            continue;
          }
        }
        (existing == stored.end() ? report.added : report.changed)++;
        RETURN_IF_ERROR(WriteRow(tx, table, id, row, now));
        if (table == "service") changed_services.insert(id);
        stored[id] = std::move(row);
      }
    }
    // References to rows that are nowhere: a warning, since directories are often loaded in parts.
    for (const auto& [table, rows] : data.tables) {
      const Table& t = *FindTable(table);
      for (const auto& [id, incoming] : rows) {
        const json& row = all.tables[table][id];
        for (const Field& f : t.fields) {
          const std::string name = f.name;
          if (name == "id" || f.format != Format::kUuid) continue;
          const std::string target_id = Text(row, f.name);
          if (target_id.empty()) continue;
          std::string target;
          if (name == "parent_organization_id") target = "organization";
          else if (name == "parent_id") target = table;
          else if (name == "link_id" || name == "resource_id") continue;  // any kind of row
          else target = name.substr(0, name.size() - 3);
          auto rows_of = all.tables.find(target);
          if (rows_of != all.tables.end() && rows_of->second.count(target_id)) continue;
          ++report.dangling;
          if (report.warnings.size() < 50) {
            report.warnings.push_back(fmt::format("{} {}: {} {} is not in the directory", table, id, name, target_id));
          }
        }
      }
    }
    // The search index: every service's derived row, rewritten only where it changed.
    std::map<std::string, ServiceIndex> current;
    ASSIGN_OR_RETURN(storage::Rows indexed,
                     tx.Query("SELECT service_id, name, status, modified_at, search_text FROM directory_services"));
    for (const auto& r : indexed) {
      current[r.Text(0)] = ServiceIndex{r.Text(1), r.Text(2), r.Int(3), r.Text(4), {}};
    }
    ASSIGN_OR_RETURN(storage::Rows facets, tx.Query("SELECT service_id, facet, value, label FROM directory_service_facets"));
    for (const auto& r : facets) current[r.Text(0)].facets.insert({r.Text(1), r.Text(2), r.Text(3)});
    // A service without last_modified counts as modified when its row last changed.
    DatasetSource src(all);
    std::map<std::string, ServiceIndex> wanted;
    if (auto services = all.tables.find("service"); services != all.tables.end()) {
      for (const auto& [id, row] : services->second) {
        auto have = current.find(id);
        const int64_t stamp = have != current.end() && !changed_services.count(id) ? have->second.modified : now;
        wanted[id] = IndexOf(src, row, stamp);
      }
    }
    for (const auto& [id, ix] : current) {
      if (wanted.count(id)) continue;
      RETURN_IF_ERROR(tx.Execute("DELETE FROM directory_service_facets WHERE service_id = ?", {id}).status());
      RETURN_IF_ERROR(tx.Execute("DELETE FROM directory_services WHERE service_id = ?", {id}).status());
    }
    for (const auto& [id, ix] : wanted) {
      auto have = current.find(id);
      if (have != current.end() && have->second == ix) continue;
      if (have != current.end()) {
        RETURN_IF_ERROR(tx.Execute("UPDATE directory_services SET name = ?, status = ?, modified_at = ?, search_text = ? "
                                   "WHERE service_id = ?",
                                   {ix.name, ix.status, ix.modified, ix.text, id})
                            .status());
        RETURN_IF_ERROR(tx.Execute("DELETE FROM directory_service_facets WHERE service_id = ?", {id}).status());
      } else {
        RETURN_IF_ERROR(tx.Execute("INSERT INTO directory_services (service_id, name, status, modified_at, search_text) "
                                   "VALUES (?, ?, ?, ?, ?)",
                                   {id, ix.name, ix.status, ix.modified, ix.text})
                            .status());
      }
      for (const auto& [facet, value, label] : ix.facets) {
        RETURN_IF_ERROR(tx.Execute("INSERT INTO directory_service_facets (service_id, facet, value, label) "
                                   "VALUES (?, ?, ?, ?)",
                                   {id, facet, value, label})
                            .status());
      }
    }
    report.services = static_cast<int64_t>(wanted.size());
    // Every server's search index is rebuilt when it sees the version move on.
    RETURN_IF_ERROR(tx.Execute("INSERT INTO directory_meta (key, value) VALUES ('version', 1) "
                               "ON CONFLICT (key) DO UPDATE SET value = directory_meta.value + 1")
                        .status());
    const std::string summary = fmt::format("{} added, {} changed, {} unchanged, {} removed", report.added,
                                            report.changed, report.unchanged, report.removed);
    RETURN_IF_ERROR(audit_.Append(tx, who, {"directory.import", "directory", "", std::nullopt, true, summary}));
    return outbox_.Append(tx, "directory.updated", "directory", "services",
                          json{{"added", report.added},
                               {"changed", report.changed},
                               {"removed", report.removed},
                               {"services", report.services}}
                              .dump());
  });
  RETURN_IF_ERROR(s);
  // This server's index now, rather than at the next search.
  (void)db_.Read([&](storage::Transaction& tx) { return CurrentIndex(tx).status(); });
  return report;
}

StatusOr<Dataset> DirectoryService::Export() {
  Dataset out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(out, LoadAll(tx));
    return Status::Ok();
  }));
  return out;
}

bool Synonyms::HasPhrase(const std::string& phrase) const {
  return phrase.find(' ') != std::string::npos && index_.count(registry::NameKey(phrase)) > 0;
}

std::string DirectoryService::MatchExpression(const std::vector<std::string>& words, bool prefix, bool any) const {
  const storage::Dialect dialect = db_.dialect();
  std::string expr;
  for (size_t i = 0; i < words.size();) {
    // A phrase of a group (two or three words) is looked up whole.
    std::string looked_up = words[i];
    size_t took = 1;
    for (size_t k = std::min<size_t>(3, words.size() - i); k >= 2; --k) {
      std::string phrase = words[i];
      for (size_t j = 1; j < k; ++j) phrase += " " + words[i + j];
      if (synonyms_.HasPhrase(phrase)) {
        looked_up = std::move(phrase);
        took = k;
        break;
      }
    }
    const bool last = i + took == words.size();
    i += took;
    std::string group;
    for (const std::string& w : synonyms_.Expand(looked_up)) {
      const std::string term = FtsTerm(w, prefix && last && took == 1 && w == looked_up, dialect);
      if (term.empty()) continue;
      if (!group.empty()) group += dialect == storage::Dialect::kSqlite ? " OR " : " | ";
      group += term;
    }
    if (group.empty()) continue;
    if (!expr.empty()) {
      expr += dialect == storage::Dialect::kSqlite ? (any ? " OR " : " AND ") : (any ? " | " : " & ");
    }
    expr += "(" + group + ")";
  }
  return expr;
}

StatusOr<DirectoryService::SqlParts> DirectoryService::SearchSql(const SearchQuery& q, bool any) const {
  int64_t modified_after = -1;
  if (!q.modified_after.empty()) {
    modified_after = ParseRfc3339(q.modified_after);
    if (modified_after < 0) {
      return Status::InvalidArgument("modified_after must be a date and time, like 2025-03-15T10:30:00Z",
                                     {{"modified_after", "must be a date and time, like 2025-03-15T10:30:00Z"}});
    }
  }
  const std::vector<std::string> words = SearchWords(q.text);
  const bool prefix = !q.text.empty() && std::isalnum(static_cast<unsigned char>(q.text.back()));
  const std::string expr = MatchExpression(words, prefix, any);
  const storage::Dialect dialect = db_.dialect();
  SqlParts out;
  out.words = words.size();
  out.from = "directory_services s";
  out.where = " WHERE 1 = 1";
  if (!expr.empty()) {
    if (dialect == storage::Dialect::kSqlite) {
      out.from += " JOIN directory_services_fts f ON f.rowid = s.id";
      out.where += " AND directory_services_fts MATCH ?";
    } else {
      out.where += " AND to_tsvector('english', s.name || ' ' || s.search_text) @@ to_tsquery('english', ?)";
    }
    out.params.push_back(expr);
  }
  auto facet = [&](const char* name, const std::string& value) {
    if (value.empty()) return;
    out.where += " AND EXISTS (SELECT 1 FROM directory_service_facets x WHERE x.service_id = s.service_id "
                 "AND x.facet = ? AND x.value = ?)";
    out.params.push_back(std::string(name));
    out.params.push_back(value);
  };
  facet("taxonomy_term", q.taxonomy_term_id);
  facet("taxonomy", q.taxonomy_id);
  facet("organization", q.organization_id);
  facet("language", Lower(q.language));
  facet("postcode", Postcode(q.postcode));
  facet("city", Lower(q.city));
  facet("location", q.location_id);
  facet("program", q.program);
  facet("agency", q.agency);
  if (q.active_only) out.where += " AND s.status = 'active'";
  if (modified_after >= 0) {
    out.where += " AND s.modified_at >= ?";
    out.params.push_back(modified_after);
  }
  return out;
}

namespace {

Status CheckPage(int page, int per_page) {
  if (page < 1) return Status::InvalidArgument("page must be 1 or more", {{"page", "must be 1 or more"}});
  if (per_page < 1 || per_page > 100) {
    return Status::InvalidArgument("per_page must be from 1 to 100", {{"per_page", "must be from 1 to 100"}});
  }
  return Status::Ok();
}

}  // namespace

struct DirectoryService::SearchIndex {
  struct Doc {
    std::string service_id;
    bool active = false;
    int64_t modified = 0;
  };
  int64_t version = -1;
  std::vector<Doc> docs;  // in name order: a document's place here is its place in a list
  std::unordered_map<int64_t, uint32_t> by_rowid;
  std::map<std::pair<std::string, std::string>, std::vector<uint32_t>> facets;  // (facet, value) -> docs, sorted
};

StatusOr<std::shared_ptr<const DirectoryService::SearchIndex>> DirectoryService::CurrentIndex(storage::Transaction& tx) {
  ASSIGN_OR_RETURN(storage::Rows v, tx.Query("SELECT value FROM directory_meta WHERE key = 'version'"));
  const int64_t version = v.empty() ? 0 : v.at(0).Int(0);
  std::lock_guard<std::mutex> lock(index_mu_);
  if (index_ && index_->version == version) return index_;
  auto ix = std::make_shared<SearchIndex>();
  ix->version = version;
  ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT id, service_id, status, modified_at FROM directory_services "
                                                "ORDER BY name, service_id"));
  std::unordered_map<std::string, uint32_t> by_service;
  ix->docs.reserve(rows.size());
  for (const auto& r : rows) {
    const auto i = static_cast<uint32_t>(ix->docs.size());
    ix->docs.push_back({r.Text(1), r.Text(2) == "active", r.Int(3)});
    ix->by_rowid[r.Int(0)] = i;
    by_service[r.Text(1)] = i;
  }
  ASSIGN_OR_RETURN(storage::Rows facets, tx.Query("SELECT service_id, facet, value FROM directory_service_facets"));
  for (const auto& r : facets) {
    auto doc = by_service.find(r.Text(0));
    if (doc != by_service.end()) ix->facets[{r.Text(1), r.Text(2)}].push_back(doc->second);
  }
  for (auto& [key, list] : ix->facets) std::sort(list.begin(), list.end());
  index_ = std::move(ix);
  return index_;
}

StatusOr<SearchResult> DirectoryService::Search(const SearchQuery& q) {
  RETURN_IF_ERROR(CheckPage(q.page, q.per_page));
  int64_t modified_after = -1;
  if (!q.modified_after.empty()) {
    modified_after = ParseRfc3339(q.modified_after);
    if (modified_after < 0) {
      return Status::InvalidArgument("modified_after must be a date and time, like 2025-03-15T10:30:00Z",
                                     {{"modified_after", "must be a date and time, like 2025-03-15T10:30:00Z"}});
    }
  }
  const std::vector<std::string> words = SearchWords(q.text);
  const bool prefix = !q.text.empty() && std::isalnum(static_cast<unsigned char>(q.text.back()));
  const bool sqlite = db_.dialect() == storage::Dialect::kSqlite;
  SearchResult result;
  Status s = db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(std::shared_ptr<const SearchIndex> ix, CurrentIndex(tx));
    const size_t n = ix->docs.size();
    // The filters, as one mask over the documents.
    std::vector<char> keep(n, 1);
    auto facet = [&](const char* name, const std::string& value) {
      if (value.empty()) return;
      std::vector<char> in(n, 0);
      if (auto it = ix->facets.find({name, value}); it != ix->facets.end()) {
        for (uint32_t d : it->second) in[d] = 1;
      }
      for (size_t i = 0; i < n; ++i) keep[i] = keep[i] && in[i];
    };
    facet("taxonomy_term", q.taxonomy_term_id);
    facet("taxonomy", q.taxonomy_id);
    facet("organization", q.organization_id);
    facet("language", Lower(q.language));
    facet("postcode", Postcode(q.postcode));
    facet("city", Lower(q.city));
    facet("location", q.location_id);
    facet("program", q.program);
    facet("agency", q.agency);
    for (size_t i = 0; i < n; ++i) {
      if (q.active_only && !ix->docs[i].active) keep[i] = 0;
      if (modified_after >= 0 && ix->docs[i].modified < modified_after) keep[i] = 0;
    }
    // Services whose name has the words come first, then the others that have them; each in
    // name order.
    std::vector<std::pair<int, uint32_t>> hits;  // (0 = in the name, 1 = elsewhere; document)
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool any = attempt == 1;
      hits.clear();
      const std::string expr = MatchExpression(words, prefix, any);
      if (expr.empty()) {
        for (uint32_t i = 0; i < n; ++i) {
          if (keep[i]) hits.push_back({0, i});
        }
      } else {
        // The matching rows come back as one list of numbers: far cheaper than a row each.
        std::vector<char> tier(n, 2);
        auto mark = [&](const storage::Rows& rows, char value) {
          if (rows.empty() || rows.at(0).IsNull(0)) return;
          const std::string list = rows.at(0).Text(0);
          const char* p = list.data();
          const char* end = p + list.size();
          while (p < end) {
            int64_t rowid = 0;
            auto [next, ec] = std::from_chars(p, end, rowid);
            if (ec != std::errc()) break;
            auto d = ix->by_rowid.find(rowid);
            if (d != ix->by_rowid.end()) tier[d->second] = std::min(tier[d->second], value);
            p = next + 1;
          }
        };
        if (sqlite) {
          ASSIGN_OR_RETURN(storage::Rows all, tx.Query("SELECT group_concat(rowid) FROM directory_services_fts "
                                                       "WHERE directory_services_fts MATCH ?", {expr}));
          mark(all, 1);
          ASSIGN_OR_RETURN(storage::Rows named, tx.Query("SELECT group_concat(rowid) FROM directory_services_fts "
                                                         "WHERE directory_services_fts MATCH ?",
                                                         {"{name} : (" + expr + ")"}));
          mark(named, 0);
        } else {
          ASSIGN_OR_RETURN(storage::Rows all,
                           tx.Query("SELECT string_agg(id::text, ',') FROM directory_services "
                                    "WHERE to_tsvector('english', name || ' ' || search_text) @@ to_tsquery('english', ?)",
                                    {expr}));
          mark(all, 1);
          ASSIGN_OR_RETURN(storage::Rows named,
                           tx.Query("SELECT string_agg(id::text, ',') FROM directory_services "
                                    "WHERE to_tsvector('english', name || ' ' || search_text) @@ to_tsquery('english', ?) "
                                    "AND to_tsvector('english', name) @@ to_tsquery('english', ?)",
                                    {expr, expr}));
          mark(named, 0);
        }
        for (uint32_t i = 0; i < n; ++i) {
          if (keep[i] && tier[i] < 2) hits.push_back({tier[i], i});
        }
      }
      if (hits.empty() && !any && words.size() > 1) continue;  // try any of the words
      result.any_word = any;
      break;
    }
    result.total = static_cast<int64_t>(hits.size());
    const size_t from = static_cast<size_t>(q.page - 1) * static_cast<size_t>(q.per_page);
    const size_t to = std::min(hits.size(), from + static_cast<size_t>(q.per_page));
    if (from < hits.size()) {
      std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(to), hits.end());
      for (size_t i = from; i < to; ++i) result.ids.push_back(ix->docs[hits[i].second].service_id);
    }
    return Status::Ok();
  });
  RETURN_IF_ERROR(s);
  return result;
}

StatusOr<Page> DirectoryService::ServiceAtLocations(const SearchQuery& q, const std::string& service_id,
                                                    const std::string& location_id, bool full) {
  RETURN_IF_ERROR(CheckPage(q.page, q.per_page));
  ASSIGN_OR_RETURN(SqlParts sql, SearchSql(q, false));
  std::string where = " WHERE r.tbl = 'service_at_location' AND r.service_id IN (SELECT s.service_id FROM " +
                      sql.from + sql.where + ")";
  storage::Params params = sql.params;
  if (!service_id.empty()) {
    where += " AND r.service_id = ?";
    params.push_back(service_id);
  }
  if (!location_id.empty()) {
    where += " AND r.location_id = ?";
    params.push_back(location_id);
  }
  Page out;
  const Table& table = *FindTable("service_at_location");
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows count, tx.Query("SELECT COUNT(*) FROM directory_records r" + where, params));
    out.total = count.at(0).Int(0);
    storage::Params page_params = params;
    page_params.push_back(static_cast<int64_t>(q.per_page));
    page_params.push_back(static_cast<int64_t>(q.page - 1) * q.per_page);
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT r.doc FROM directory_records r" + where +
                                                      " ORDER BY r.service_id, r.id LIMIT ? OFFSET ?",
                                                  page_params));
    DbSource src(tx);
    for (const auto& r : rows) {
      json row = json::parse(r.Text(0));
      out.rows.push_back(full ? Nest(src, table, row, NestOptions{}) : std::move(row));
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<json> DirectoryService::Get(const std::string& table, const std::string& id, bool full) {
  const Table* t = FindTable(table);
  if (t == nullptr) return Status::InvalidArgument(fmt::format("'{}' is not an HSDS table", table));
  json out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    DbSource src(tx);
    const json* row = src.Get(table, id);
    if (row == nullptr) return Status::NotFound(fmt::format("the directory has no {} with id {}", table, id));
    out = full ? Nest(src, *t, *row, NestOptions{}) : *row;
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<json>> DirectoryService::GetMany(const std::string& table, const std::vector<std::string>& ids,
                                                      bool full) {
  const Table* t = FindTable(table);
  if (t == nullptr) return Status::InvalidArgument(fmt::format("'{}' is not an HSDS table", table));
  std::vector<json> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    DbSource src(tx);
    for (const std::string& id : ids) {
      const json* row = src.Get(table, id);
      if (row == nullptr) continue;
      out.push_back(full ? Nest(src, *t, *row, NestOptions{}) : *row);
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<Page> DirectoryService::List(const std::string& table, const std::map<std::string, std::string>& filter,
                                      int page, int per_page, bool full) {
  const Table* t = FindTable(table);
  if (t == nullptr) return Status::InvalidArgument(fmt::format("'{}' is not an HSDS table", table));
  RETURN_IF_ERROR(CheckPage(page, per_page));
  std::string where = " WHERE tbl = ?";
  storage::Params params = {table};
  for (const auto& [field, value] : filter) {
    if (field == "search") {
      where += " AND LOWER(name) LIKE ?";
      params.push_back("%" + Lower(value) + "%");
      continue;
    }
    if (field == "top_only") {
      where += " AND parent_id IS NULL";
      continue;
    }
    const std::string column = ColumnFor(field);
    if (column.empty() || !t->FindField(field)) {
      return Status::InvalidArgument(fmt::format("{} cannot be filtered by {}", t->Plural(), field),
                                     {{field, "is not a filter here"}});
    }
    where += fmt::format(" AND {} = ?", column);
    params.push_back(value);
  }
  Page out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows count, tx.Query("SELECT COUNT(*) FROM directory_records" + where, params));
    out.total = count.at(0).Int(0);
    storage::Params page_params = params;
    page_params.push_back(static_cast<int64_t>(per_page));
    page_params.push_back(static_cast<int64_t>(page - 1) * per_page);
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT doc FROM directory_records" + where +
                                                      " ORDER BY name, id LIMIT ? OFFSET ?",
                                                  page_params));
    DbSource src(tx);
    for (const auto& r : rows) {
      json row = json::parse(r.Text(0));
      out.rows.push_back(full ? Nest(src, *t, row, NestOptions{}) : std::move(row));
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<ServiceView> DirectoryService::Service(const std::string& id) {
  ServiceView out;
  ASSIGN_OR_RETURN(out.doc, Get("service", id, true));
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT facet, value, label FROM directory_service_facets WHERE service_id = ? "
                                                  "AND facet IN ('program', 'agency') ORDER BY facet, value",
                                                  {id}));
    for (const auto& r : rows) {
      if (r.Text(0) == "program") out.programs.push_back({r.Text(1), r.Text(2)});
      else out.agency = r.Text(1);
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<DirectoryService::TermCount>> DirectoryService::TermsInUse() {
  std::vector<TermCount> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT value, MIN(label), COUNT(*) FROM directory_service_facets "
                              "WHERE facet = 'taxonomy_term' GROUP BY value ORDER BY MIN(label), value"));
    for (const auto& r : rows) out.push_back({r.Text(0), r.Text(1), "", r.Int(2)});
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<std::pair<std::string, std::string>>> DirectoryService::LanguagesInUse() {
  std::vector<std::pair<std::string, std::string>> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT value, MAX(label) FROM directory_service_facets "
                                                  "WHERE facet = 'language' GROUP BY value ORDER BY MAX(label), value"));
    for (const auto& r : rows) out.push_back({r.Text(0), r.IsNull(1) || r.Text(1).empty() ? r.Text(0) : r.Text(1)});
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<json>> DirectoryService::StepServices(const LifeEventStep& step, int limit) {
  if (step.search.empty() && step.topic.empty()) return std::vector<json>{};
  SearchQuery q{.text = step.search, .active_only = true, .per_page = limit};
  if (!step.topic.empty()) {
    ASSIGN_OR_RETURN(auto terms, TermsInUse());
    for (const auto& t : terms) {
      if (Lower(t.name) == Lower(step.topic)) q.taxonomy_term_id = t.id;
    }
    if (q.taxonomy_term_id.empty()) return std::vector<json>{};  // no service has the topic (yet)
  }
  ASSIGN_OR_RETURN(SearchResult found, Search(q));
  if (found.any_word) return std::vector<json>{};  // only services with every word belong to a step
  ASSIGN_OR_RETURN(std::vector<json> docs, GetMany("service", found.ids, false));
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    DbSource src(tx);
    for (auto& d : docs) {
      if (const json* org = src.Get("organization", Text(d, "organization_id"))) d["organization"] = {{"id", (*org)["id"]}, {"name", Text(*org, "name")}};
    }
    return Status::Ok();
  }));
  return docs;
}

}  // namespace directory
