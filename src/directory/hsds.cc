#include "directory/hsds.h"

#include <fmt/format.h>

#include <charconv>
#include <sstream>

#include "registry/csv.h"

namespace directory {
namespace {

using nlohmann::json;

const std::vector<Table>& AllTables() {
  // From the HSDS 3.0 schemas (third_party/hsds-3.0/schema/*.json), in the data package's
  // order; table_test.cc checks them against those files. Two nestings come from the
  // specification's compiled documents rather than its table schemas: an organization's
  // services and a service-at-location's service.
  static const auto* tables = new std::vector<Table>{
  {"organization", "organizations.csv", {"id", "name", "description"},
   {{"id", Type::kString, Format::kUuid}, {"name", Type::kString, Format::kNone}, {"alternate_name", Type::kString, Format::kNone}, {"description", Type::kString, Format::kNone}, {"email", Type::kString, Format::kEmail}, {"website", Type::kString, Format::kUri}, {"tax_status", Type::kString, Format::kNone}, {"tax_id", Type::kString, Format::kNone}, {"year_incorporated", Type::kNumber, Format::kNone}, {"legal_status", Type::kString, Format::kNone}, {"logo", Type::kString, Format::kNone}, {"uri", Type::kString, Format::kUri}, {"parent_organization_id", Type::kString, Format::kUuid}},
   {{"funding", "funding", true}, {"contacts", "contact", true}, {"phones", "phone", true}, {"locations", "location", true}, {"programs", "program", true}, {"organization_identifiers", "organization_identifier", true}, {"attributes", "attribute", true}, {"metadata", "metadata", true}, {"services", "service", true}}},
  {"program", "programs.csv", {"id", "name", "description"},
   {{"id", Type::kString, Format::kUuid}, {"organization_id", Type::kString, Format::kUuid}, {"name", Type::kString, Format::kNone}, {"alternate_name", Type::kString, Format::kNone}, {"description", Type::kString, Format::kNone}},
   {{"attributes", "attribute", true}, {"metadata", "metadata", true}}},
  {"service", "services.csv", {"id", "name", "status"},
   {{"id", Type::kString, Format::kUuid}, {"organization_id", Type::kString, Format::kUuid}, {"program_id", Type::kString, Format::kUuid}, {"name", Type::kString, Format::kNone}, {"alternate_name", Type::kString, Format::kNone}, {"description", Type::kString, Format::kNone}, {"url", Type::kString, Format::kUri}, {"email", Type::kString, Format::kEmail}, {"status", Type::kString, Format::kNone}, {"interpretation_services", Type::kString, Format::kNone}, {"application_process", Type::kString, Format::kNone}, {"fees_description", Type::kString, Format::kNone}, {"wait_time", Type::kString, Format::kNone}, {"fees", Type::kString, Format::kNone}, {"accreditations", Type::kString, Format::kNone}, {"eligibility_description", Type::kString, Format::kNone}, {"minimum_age", Type::kNumber, Format::kNone}, {"maximum_age", Type::kNumber, Format::kNone}, {"assured_date", Type::kString, Format::kNone}, {"assurer_email", Type::kString, Format::kEmail}, {"licenses", Type::kString, Format::kNone}, {"alert", Type::kString, Format::kNone}, {"last_modified", Type::kString, Format::kDateTime}},
   {{"phones", "phone", true}, {"schedules", "schedule", true}, {"service_areas", "service_area", true}, {"service_at_locations", "service_at_location", true}, {"languages", "language", true}, {"organization", "organization", false}, {"funding", "funding", true}, {"cost_options", "cost_option", true}, {"program", "program", false}, {"required_documents", "required_document", true}, {"contacts", "contact", true}, {"attributes", "attribute", true}, {"metadata", "metadata", true}}},
  {"attribute", "attributes.csv", {"id"},
   {{"id", Type::kString, Format::kUuid}, {"link_id", Type::kString, Format::kUuid}, {"taxonomy_term_id", Type::kString, Format::kUuid}, {"link_type", Type::kString, Format::kNone}, {"link_entity", Type::kString, Format::kNone}, {"value", Type::kString, Format::kNone}},
   {{"taxonomy_term", "taxonomy_term", false}, {"metadata", "metadata", true}}},
  {"service_at_location", "service_at_location.csv", {"id"},
   {{"id", Type::kString, Format::kUuid}, {"service_id", Type::kString, Format::kUuid}, {"location_id", Type::kString, Format::kUuid}, {"description", Type::kString, Format::kNone}},
   {{"contacts", "contact", true}, {"phones", "phone", true}, {"schedules", "schedule", true}, {"location", "location", false}, {"service", "service", false}, {"attributes", "attribute", true}, {"metadata", "metadata", true}}},
  {"location", "locations.csv", {"id", "location_type"},
   {{"id", Type::kString, Format::kUuid}, {"location_type", Type::kString, Format::kNone}, {"url", Type::kString, Format::kUri}, {"organization_id", Type::kString, Format::kUuid}, {"name", Type::kString, Format::kNone}, {"alternate_name", Type::kString, Format::kNone}, {"description", Type::kString, Format::kNone}, {"transportation", Type::kString, Format::kNone}, {"latitude", Type::kNumber, Format::kNone}, {"longitude", Type::kNumber, Format::kNone}, {"external_identifier", Type::kString, Format::kNone}, {"external_identifier_type", Type::kString, Format::kNone}},
   {{"languages", "language", true}, {"addresses", "address", true}, {"contacts", "contact", true}, {"accessibility", "accessibility", true}, {"phones", "phone", true}, {"schedules", "schedule", true}, {"attributes", "attribute", true}, {"metadata", "metadata", true}}},
  {"phone", "phones.csv", {"id", "number"},
   {{"id", Type::kString, Format::kUuid}, {"location_id", Type::kString, Format::kUuid}, {"service_id", Type::kString, Format::kUuid}, {"organization_id", Type::kString, Format::kUuid}, {"contact_id", Type::kString, Format::kUuid}, {"service_at_location_id", Type::kString, Format::kUuid}, {"number", Type::kString, Format::kNone}, {"extension", Type::kNumber, Format::kNone}, {"type", Type::kString, Format::kNone}, {"description", Type::kString, Format::kNone}},
   {{"languages", "language", true}, {"attributes", "attribute", true}, {"metadata", "metadata", true}}},
  {"contact", "contacts.csv", {"id"},
   {{"id", Type::kString, Format::kUuid}, {"organization_id", Type::kString, Format::kUuid}, {"service_id", Type::kString, Format::kUuid}, {"service_at_location_id", Type::kString, Format::kUuid}, {"location_id", Type::kString, Format::kUuid}, {"name", Type::kString, Format::kNone}, {"title", Type::kString, Format::kNone}, {"department", Type::kString, Format::kNone}, {"email", Type::kString, Format::kEmail}},
   {{"phones", "phone", true}, {"attributes", "attribute", true}, {"metadata", "metadata", true}}},
  {"address", "addresses.csv", {"id", "address_1", "city", "state_province", "postal_code", "country", "address_type"},
   {{"id", Type::kString, Format::kUuid}, {"location_id", Type::kString, Format::kUuid}, {"attention", Type::kString, Format::kNone}, {"address_1", Type::kString, Format::kNone}, {"address_2", Type::kString, Format::kNone}, {"city", Type::kString, Format::kNone}, {"region", Type::kString, Format::kNone}, {"state_province", Type::kString, Format::kNone}, {"postal_code", Type::kString, Format::kNone}, {"country", Type::kString, Format::kNone}, {"address_type", Type::kString, Format::kNone}},
   {{"attributes", "attribute", true}, {"metadata", "metadata", true}}},
  {"schedule", "schedules.csv", {"id"},
   {{"id", Type::kString, Format::kUuid}, {"service_id", Type::kString, Format::kUuid}, {"location_id", Type::kString, Format::kUuid}, {"service_at_location_id", Type::kString, Format::kUuid}, {"valid_from", Type::kString, Format::kNone}, {"valid_to", Type::kString, Format::kNone}, {"dtstart", Type::kString, Format::kNone}, {"timezone", Type::kNumber, Format::kNone}, {"until", Type::kString, Format::kNone}, {"count", Type::kNumber, Format::kNone}, {"wkst", Type::kString, Format::kNone}, {"freq", Type::kString, Format::kNone}, {"interval", Type::kNumber, Format::kNone}, {"byday", Type::kString, Format::kNone}, {"byweekno", Type::kString, Format::kNone}, {"bymonthday", Type::kString, Format::kNone}, {"byyearday", Type::kString, Format::kNone}, {"description", Type::kString, Format::kNone}, {"opens_at", Type::kString, Format::kNone}, {"closes_at", Type::kString, Format::kNone}, {"schedule_link", Type::kString, Format::kUri}, {"attending_type", Type::kString, Format::kNone}, {"notes", Type::kString, Format::kNone}},
   {{"attributes", "attribute", true}, {"metadata", "metadata", true}}},
  {"funding", "funding.csv", {"id"},
   {{"id", Type::kString, Format::kUuid}, {"organization_id", Type::kString, Format::kUuid}, {"service_id", Type::kString, Format::kUuid}, {"source", Type::kString, Format::kNone}},
   {{"attributes", "attribute", true}, {"metadata", "metadata", true}}},
  {"service_area", "service_areas.csv", {"id"},
   {{"id", Type::kString, Format::kUuid}, {"service_id", Type::kString, Format::kUuid}, {"name", Type::kString, Format::kNone}, {"description", Type::kString, Format::kNone}, {"extent", Type::kString, Format::kNone}, {"extent_type", Type::kString, Format::kNone}, {"uri", Type::kString, Format::kNone}},
   {{"attributes", "attribute", true}, {"metadata", "metadata", true}}},
  {"required_document", "required_documents.csv", {"id"},
   {{"id", Type::kString, Format::kUuid}, {"service_id", Type::kString, Format::kUuid}, {"document", Type::kString, Format::kNone}, {"uri", Type::kString, Format::kUri}},
   {{"attributes", "attribute", true}, {"metadata", "metadata", true}}},
  {"language", "languages.csv", {"id"},
   {{"id", Type::kString, Format::kUuid}, {"service_id", Type::kString, Format::kUuid}, {"location_id", Type::kString, Format::kUuid}, {"phone_id", Type::kString, Format::kUuid}, {"name", Type::kString, Format::kNone}, {"code", Type::kString, Format::kNone}, {"note", Type::kString, Format::kNone}},
   {{"attributes", "attribute", true}, {"metadata", "metadata", true}}},
  {"accessibility", "accessibility.csv", {"id"},
   {{"id", Type::kString, Format::kUuid}, {"location_id", Type::kString, Format::kUuid}, {"description", Type::kString, Format::kNone}, {"details", Type::kString, Format::kNone}, {"url", Type::kString, Format::kUri}},
   {{"attributes", "attribute", true}, {"metadata", "metadata", true}}},
  {"taxonomy_term", "taxonomy_terms.csv", {"id", "name", "description"},
   {{"id", Type::kString, Format::kUuid}, {"code", Type::kString, Format::kNone}, {"name", Type::kString, Format::kNone}, {"description", Type::kString, Format::kNone}, {"parent_id", Type::kString, Format::kUuid}, {"taxonomy", Type::kString, Format::kNone}, {"language", Type::kString, Format::kNone}, {"taxonomy_id", Type::kString, Format::kUuid}, {"term_uri", Type::kString, Format::kUri}},
   {{"taxonomy_detail", "taxonomy", false}, {"metadata", "metadata", true}}},
  {"metadata", "metadata.csv", {"id", "last_action_date", "last_action_type", "field_name", "previous_value", "replacement_value", "updated_by"},
   {{"id", Type::kString, Format::kUuid}, {"resource_id", Type::kString, Format::kUuid}, {"resource_type", Type::kString, Format::kNone}, {"last_action_date", Type::kString, Format::kNone}, {"last_action_type", Type::kString, Format::kNone}, {"field_name", Type::kString, Format::kNone}, {"previous_value", Type::kString, Format::kNone}, {"replacement_value", Type::kString, Format::kNone}, {"updated_by", Type::kString, Format::kNone}},
   {}},
  {"meta_table_description", "meta_table_descriptions.csv", {"id"},
   {{"id", Type::kString, Format::kUuid}, {"name", Type::kString, Format::kNone}, {"language", Type::kString, Format::kNone}, {"character_set", Type::kString, Format::kNone}},
   {{"attributes", "attribute", true}, {"metadata", "metadata", true}}},
  {"cost_option", "cost_options.csv", {"id"},
   {{"id", Type::kString, Format::kUuid}, {"service_id", Type::kString, Format::kUuid}, {"valid_from", Type::kString, Format::kNone}, {"valid_to", Type::kString, Format::kNone}, {"option", Type::kString, Format::kNone}, {"currency", Type::kString, Format::kNone}, {"amount", Type::kNumber, Format::kNone}, {"amount_description", Type::kString, Format::kNone}},
   {{"attributes", "attribute", true}, {"metadata", "metadata", true}}},
  {"organization_identifier", "organization_identifiers.csv", {"id", "identifier_type", "identifier"},
   {{"id", Type::kString, Format::kUuid}, {"organization_id", Type::kString, Format::kUuid}, {"identifier_scheme", Type::kString, Format::kNone}, {"identifier_type", Type::kString, Format::kNone}, {"identifier", Type::kString, Format::kNone}},
   {{"attributes", "attribute", true}, {"metadata", "metadata", true}}},
  {"taxonomy", "taxonomies.csv", {"id", "name", "description"},
   {{"id", Type::kString, Format::kUuid}, {"name", Type::kString, Format::kNone}, {"description", Type::kString, Format::kNone}, {"uri", Type::kString, Format::kUri}, {"version", Type::kString, Format::kNone}},
   {{"metadata", "metadata", true}}},
  };
  return *tables;
}

}  // namespace

std::string Table::Plural() const {
  std::string s = csv;
  return s.substr(0, s.size() - 4);
}

const Field* Table::FindField(std::string_view n) const {
  for (const Field& f : fields) {
    if (n == f.name) return &f;
  }
  return nullptr;
}

const std::vector<Table>& Tables() { return AllTables(); }

const Table* FindTable(std::string_view name) {
  for (const Table& t : AllTables()) {
    if (name == t.name) return &t;
  }
  return nullptr;
}

const Table* FindTableByPlural(std::string_view plural) {
  for (const Table& t : AllTables()) {
    if (plural == t.Plural()) return &t;
  }
  return nullptr;
}

std::string ParentField(const Table& child, const Table& parent) {
  if (std::string_view(child.name) == "attribute") return "link_id";
  if (std::string_view(child.name) == "metadata") return "resource_id";
  std::string f = std::string(parent.name) + "_id";
  return child.FindField(f) ? f : std::string();
}

std::string ReferenceField(const Nested& n) {
  if (std::string_view(n.property) == "taxonomy_detail") return "taxonomy_id";
  return std::string(n.property) + "_id";
}

size_t Dataset::size() const {
  size_t n = 0;
  for (const auto& [name, rows] : tables) n += rows.size();
  return n;
}

namespace {

bool IsUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

// The formats below are checked by hand, in one pass: a regular expression's matcher recurses
// once for each character of a long value and overflows the stack.

bool IsAsciiAlpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAsciiAlnum(char c) { return IsAsciiAlpha(c) || IsAsciiDigit(c); }

// An absolute URI: a scheme (a letter, then letters, digits, "+", "." or "-"), ":", then no
// space and none of <>"{}|\^`.
bool IsUri(const std::string& s) {
  if (s.empty() || !IsAsciiAlpha(s[0])) return false;
  size_t i = 1;
  while (i < s.size() && (IsAsciiAlnum(s[i]) || s[i] == '+' || s[i] == '.' || s[i] == '-')) ++i;
  if (i == s.size() || s[i] != ':') return false;
  for (++i; i < s.size(); ++i) {
    const char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' ||
        std::string_view("<>\"{}|\\^`").find(c) != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// local@domain: the local part dot-separated runs of letters, digits and !#$%&'*+/=?^_`{|}~-;
// the domain two or more dot-separated labels of letters, digits and "-", not starting or
// ending with "-".
bool IsEmail(const std::string& s) {
  const size_t at = s.find('@');
  if (at == std::string::npos || at == 0 || at + 1 >= s.size()) return false;
  bool run = false;
  for (size_t i = 0; i < at; ++i) {
    const char c = s[i];
    if (c == '.') {
      if (!run) return false;
      run = false;
    } else if (IsAsciiAlnum(c) ||
               std::string_view("!#$%&'*+/=?^_`{|}~-").find(c) != std::string_view::npos) {
      run = true;
    } else {
      return false;
    }
  }
  if (!run) return false;
  size_t labels = 0;
  size_t start = at + 1;
  while (true) {
    size_t end = s.find('.', start);
    if (end == std::string::npos) end = s.size();
    if (end == start || s[start] == '-' || s[end - 1] == '-') return false;
    for (size_t i = start; i < end; ++i) {
      if (!IsAsciiAlnum(s[i]) && s[i] != '-') return false;
    }
    ++labels;
    if (end == s.size()) break;
    start = end + 1;
  }
  return labels >= 2;
}

// YYYY-MM-DDThh:mm:ss[.fraction](Z|+hh:mm|-hh:mm), as RFC 3339 writes it ("T" or a space,
// seconds up to 60 for a leap second).
bool IsDateTime(const std::string& s) {
  auto two = [&](size_t at, int low, int high) {
    if (at + 2 > s.size() || !IsAsciiDigit(s[at]) || !IsAsciiDigit(s[at + 1])) return false;
    const int v = (s[at] - '0') * 10 + (s[at + 1] - '0');
    return v >= low && v <= high;
  };
  if (s.size() < 20) return false;
  for (size_t i = 0; i < 4; ++i) {
    if (!IsAsciiDigit(s[i])) return false;
  }
  if (s[4] != '-' || !two(5, 1, 12) || s[7] != '-' || !two(8, 1, 31)) return false;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return false;
  if (!two(11, 0, 23) || s[13] != ':' || !two(14, 0, 59) || s[16] != ':' || !two(17, 0, 60))
    return false;
  size_t i = 19;
  if (s[i] == '.') {
    const size_t first = ++i;
    while (i < s.size() && IsAsciiDigit(s[i])) ++i;
    if (i == first) return false;
  }
  if (i == s.size()) return false;
  if (s[i] == 'Z' || s[i] == 'z') return i + 1 == s.size();
  if (s[i] != '+' && s[i] != '-') return false;
  return i + 6 == s.size() && two(i + 1, 0, 23) && s[i + 3] == ':' && two(i + 4, 0, 59);
}

const char* FormatProblem(Format f, const std::string& value) {
  switch (f) {
    case Format::kNone: return nullptr;
    case Format::kUuid: return IsUuid(value) ? nullptr : "must be a UUID, like ac148810-d857-441c-9679-408f346de14b";
    case Format::kUri: return IsUri(value) ? nullptr : "must be an absolute URI, like https://example.org/page";
    case Format::kEmail: return IsEmail(value) ? nullptr : "must be an e-mail address";
    case Format::kDateTime:
      return IsDateTime(value) ? nullptr : "must be a date and time with its zone, like 2025-03-15T10:30:00Z";
  }
  return nullptr;
}

void Merge(const Table& table, json row, const std::string& where, Dataset& out,
           std::vector<core::FieldError>& errors) {
  const auto id = row.find("id");
  if (id == row.end() || !id->is_string()) return;  // CheckRow has said so
  Rows& rows = out.tables[table.name];
  auto [it, inserted] = rows.try_emplace(id->get<std::string>(), row);
  if (inserted) return;
  for (auto& [k, v] : row.items()) {
    auto existing = it->second.find(k);
    if (existing == it->second.end()) {
      it->second[k] = v;
    } else if (*existing != v) {
      errors.push_back({where + "." + k, fmt::format("differs from the same {} ({}) given elsewhere in the document",
                                                     table.name, id->get<std::string>())});
    }
  }
}

}  // namespace

void CheckRow(const Table& table, const json& row, const std::string& where, std::vector<core::FieldError>& errors) {
  for (const auto& [k, v] : row.items()) {
    const Field* f = table.FindField(k);
    if (f == nullptr) {
      errors.push_back({where + "." + k, fmt::format("is not a field of an HSDS {}", table.name)});
      continue;
    }
    if (f->type == Type::kNumber) {
      if (!v.is_number()) errors.push_back({where + "." + k, "must be a number"});
    } else if (!v.is_string()) {
      errors.push_back({where + "." + k, "must be text"});
    } else if (const char* problem = FormatProblem(f->format, v.get<std::string>())) {
      errors.push_back({where + "." + k, problem});
    }
  }
  for (const char* r : table.required) {
    if (!row.contains(r)) errors.push_back({where + "." + r, fmt::format("is required for an HSDS {}", table.name)});
  }
}

void Flatten(const json& doc, const Table& table, const std::string& where, Dataset& out,
             std::vector<core::FieldError>& errors) {
  if (!doc.is_object()) {
    errors.push_back({where, fmt::format("must be an object (an HSDS {})", table.name)});
    return;
  }
  json row = json::object();
  std::vector<std::pair<const Nested*, const json*>> nested;
  for (const auto& [k, v] : doc.items()) {
    if (table.FindField(k)) {
      if (!v.is_null()) row[k] = v;
      continue;
    }
    const Nested* n = nullptr;
    for (const Nested& candidate : table.nested) {
      if (k == candidate.property) n = &candidate;
    }
    if (n == nullptr) {
      errors.push_back({where + "." + k, fmt::format("is not a field of an HSDS {}", table.name)});
      continue;
    }
    if (!v.is_null()) nested.push_back({n, &v});
  }
  const std::string id = row.contains("id") && row["id"].is_string() ? row["id"].get<std::string>() : std::string();
  for (const auto& [n, v] : nested) {
    const Table& child = *FindTable(n->table);
    const std::string path = where + "." + n->property;
    if (n->many) {
      if (!v->is_array()) {
        errors.push_back({path, fmt::format("must be a list of HSDS {} objects", child.name)});
        continue;
      }
      const std::string link = ParentField(child, table);
      for (size_t i = 0; i < v->size(); ++i) {
        const std::string item_path = fmt::format("{}[{}]", path, i);
        json item = (*v)[i];
        if (item.is_object() && !link.empty() && !id.empty()) {
          auto existing = item.find(link);
          if (existing == item.end() || existing->is_null()) {
            item[link] = id;
          } else if (*existing != id) {
            errors.push_back({item_path + "." + link, fmt::format("points at another {} than the one it is in", table.name)});
            continue;
          }
        }
        Flatten(item, child, item_path, out, errors);
      }
    } else {
      if (!v->is_object()) {
        errors.push_back({path, fmt::format("must be an HSDS {} object", child.name)});
        continue;
      }
      const std::string link = ReferenceField(*n);
      const auto ref = v->find("id");
      if (ref != v->end() && ref->is_string()) {
        auto existing = row.find(link);
        if (existing == row.end()) {
          row[link] = *ref;
        } else if (*existing != *ref) {
          errors.push_back({where + "." + link, fmt::format("differs from the id of the {} given in {}", child.name,
                                                            n->property)});
        }
      }
      Flatten(*v, child, path, out, errors);
    }
  }
  CheckRow(table, row, where, errors);
  Merge(table, std::move(row), where, out, errors);
}

namespace {

core::Status Problems(std::vector<core::FieldError> errors, const std::string& what) {
  const size_t total = errors.size();
  constexpr size_t kMax = 100;
  if (errors.size() > kMax) errors.resize(kMax);
  std::string message = fmt::format("{} has {} problem{}; the first: {}: {}", what, total, total == 1 ? "" : "s",
                                    errors.front().field, errors.front().message);
  if (total > kMax) message += fmt::format(" (the first {} are listed)", kMax);
  return core::Status::InvalidArgument(std::move(message), std::move(errors));
}

}  // namespace

core::Status FlattenDocument(const json& doc, const std::string& table_name, const std::string& file, Dataset& out) {
  std::vector<core::FieldError> errors;
  if (table_name.empty()) {
    bool any_table = false;
    if (doc.is_object()) {
      for (const auto& [k, v] : doc.items()) any_table = any_table || FindTableByPlural(k) != nullptr;
    }
    if (!any_table) {
      return core::Status::InvalidArgument(
          file + " is not a directory bundle (an object whose keys are HSDS tables: services, organizations, …); "
                 "for one HSDS service, organization, location… or a list or page of them, say which table it is of "
                 "(--type service on the command line, ?type=service in the API)");
    }
    for (const auto& [k, v] : doc.items()) {
      if (k == "hsds_version") continue;
      const Table* t = FindTableByPlural(k);
      if (t == nullptr) {
        errors.push_back({k, "is not an HSDS 3.0 table (give services, organizations, locations, taxonomies, …; "
                             "for one HSDS object or list, say which table it is of)"});
        continue;
      }
      if (!v.is_array()) {
        errors.push_back({k, fmt::format("must be a list of HSDS {} objects", t->name)});
        continue;
      }
      for (size_t i = 0; i < v.size(); ++i) Flatten(v[i], *t, fmt::format("{}[{}]", k, i), out, errors);
    }
  } else {
    const Table* t = FindTable(table_name);
    if (t == nullptr) return core::Status::InvalidArgument(fmt::format("'{}' is not an HSDS 3.0 table", table_name));
    const json* list = nullptr;
    if (doc.is_object() && doc.contains("contents")) list = &doc["contents"];
    else if (doc.is_array()) list = &doc;
    if (list != nullptr) {
      if (!list->is_array()) return core::Status::InvalidArgument(file + ": contents must be a list");
      for (size_t i = 0; i < list->size(); ++i) {
        Flatten((*list)[i], *t, fmt::format("{}[{}]", t->Plural(), i), out, errors);
      }
    } else {
      Flatten(doc, *t, t->name, out, errors);
    }
  }
  if (!errors.empty()) return Problems(std::move(errors), file);
  return core::Status::Ok();
}

DatasetSource::DatasetSource(const Dataset& data) : data_(data) {}

const json* DatasetSource::Get(const std::string& table, const std::string& id) {
  auto t = data_.tables.find(table);
  if (t == data_.tables.end()) return nullptr;
  auto r = t->second.find(id);
  return r == t->second.end() ? nullptr : &r->second;
}

std::vector<const json*> DatasetSource::Children(const std::string& table, const std::string& field,
                                                 const std::string& id) {
  const std::string key = table + "." + field;
  auto idx = index_.find(key);
  if (idx == index_.end()) {
    idx = index_.emplace(key, std::map<std::string, std::vector<const json*>>{}).first;
    auto t = data_.tables.find(table);
    if (t != data_.tables.end()) {
      for (const auto& [row_id, row] : t->second) {
        auto f = row.find(field);
        if (f != row.end() && f->is_string()) idx->second[f->get<std::string>()].push_back(&row);
      }
    }
  }
  auto hit = idx->second.find(id);
  return hit == idx->second.end() ? std::vector<const json*>{} : hit->second;
}

json Nest(RowSource& source, const Table& table, const json& row, const NestOptions& options,
          std::vector<std::string> ancestors) {
  json out = row;
  const std::string id = row.value("id", std::string());
  if (options.emitted) options.emitted->insert({table.name, id});
  ancestors.push_back(table.name);
  for (const Nested& n : table.nested) {
    if (std::find(ancestors.begin(), ancestors.end(), n.table) != ancestors.end()) continue;
    const Table& child = *FindTable(n.table);
    if (n.many) {
      const std::string link = ParentField(child, table);
      if (link.empty()) continue;
      json list = json::array();
      for (const json* c : source.Children(child.name, link, id)) list.push_back(Nest(source, child, *c, options, ancestors));
      if (!list.empty()) out[n.property] = std::move(list);
    } else {
      const auto ref = row.find(ReferenceField(n));
      if (ref == row.end() || !ref->is_string()) continue;
      const json* target = source.Get(child.name, ref->get<std::string>());
      if (target == nullptr) continue;
      if (options.full_references) {
        out[n.property] = Nest(source, child, *target, options, ancestors);
      } else {
        out[n.property] = *target;
        if (options.emitted) options.emitted->insert({child.name, ref->get<std::string>()});
      }
    }
  }
  return out;
}

json Bundle(const Dataset& data) {
  DatasetSource source(data);
  std::set<std::pair<std::string, std::string>> emitted;
  NestOptions options{.full_references = false, .emitted = &emitted};
  json out = json::object();
  out["hsds_version"] = "3.0";
  for (const char* top : {"organization", "service", "taxonomy", "taxonomy_term"}) {
    const Table& t = *FindTable(top);
    json list = json::array();
    auto rows = data.tables.find(top);
    if (rows != data.tables.end()) {
      for (const auto& [id, row] : rows->second) list.push_back(Nest(source, t, row, options));
    }
    out[t.Plural()] = std::move(list);
  }
  for (const Table& t : Tables()) {
    auto rows = data.tables.find(t.name);
    if (rows == data.tables.end()) continue;
    for (const auto& [id, row] : rows->second) {
      if (emitted.count({t.name, id})) continue;
      out[t.Plural()].push_back(row);
    }
  }
  return out;
}

namespace {

std::string CsvField(const std::string& s) {
  const bool quote = s.find_first_of(",\"\r\n") != std::string::npos || (!s.empty() && (s.front() == ' ' || s.back() == ' '));
  if (!quote) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

std::map<std::string, std::string> CsvPackage(const Dataset& data) {
  std::map<std::string, std::string> files;
  json resources = json::array();
  for (const Table& t : Tables()) {
    auto rows = data.tables.find(t.name);
    if (rows == data.tables.end() || rows->second.empty()) continue;
    std::string text;
    json fields = json::array();
    for (size_t i = 0; i < t.fields.size(); ++i) {
      if (i) text += ',';
      text += t.fields[i].name;
      json f = {{"name", t.fields[i].name}, {"type", t.fields[i].type == Type::kNumber ? "number" : "string"}};
      if (t.fields[i].format == Format::kUuid) f["format"] = "uuid";
      if (t.fields[i].format == Format::kUri) f["format"] = "uri";
      if (t.fields[i].format == Format::kEmail) f["format"] = "email";
      fields.push_back(std::move(f));
    }
    text += "\r\n";
    for (const auto& [id, row] : rows->second) {
      for (size_t i = 0; i < t.fields.size(); ++i) {
        if (i) text += ',';
        auto v = row.find(t.fields[i].name);
        if (v == row.end() || v->is_null()) continue;
        text += CsvField(v->is_string() ? v->get<std::string>() : v->dump());
      }
      text += "\r\n";
    }
    files[t.csv] = std::move(text);
    resources.push_back({{"name", t.name},
                         {"path", t.csv},
                         {"profile", "tabular-data-resource"},
                         {"schema", {{"fields", std::move(fields)}, {"primaryKey", "id"}}}});
  }
  files["datapackage.json"] =
      json{{"name", "onedoor-directory"}, {"profile", "tabular-data-package"}, {"resources", std::move(resources)}}
          .dump(2) +
      "\n";
  return files;
}

core::Status ReadCsvPackage(const std::map<std::string, std::string>& files, Dataset& out) {
  std::vector<core::FieldError> errors;
  for (const auto& [name, text] : files) {
    if (name == "datapackage.json") continue;
    const Table* table = nullptr;
    for (const Table& t : Tables()) {
      if (name == t.csv) table = &t;
    }
    if (table == nullptr) {
      errors.push_back({name, "is not a file of the HSDS 3.0 data package (services.csv, organizations.csv, …)"});
      continue;
    }
    std::istringstream in(text);
    registry::CsvReader reader(in);
    registry::CsvRecord record;
    if (!reader.Next(record)) continue;  // an empty file: no rows
    std::vector<const Field*> columns;
    for (const std::string& h : record.fields) {
      const Field* f = table->FindField(h);
      if (f == nullptr) errors.push_back({fmt::format("{}:1:{}", name, h), fmt::format("is not a field of an HSDS {}", table->name)});
      columns.push_back(f);
    }
    std::set<std::string> seen;
    while (reader.Next(record)) {
      const std::string where = fmt::format("{}:{}", name, record.line);
      if (!record.error.empty()) {
        errors.push_back({where, record.error});
        continue;
      }
      if (record.fields.size() != columns.size()) {
        errors.push_back({where, fmt::format("has {} fields but the header has {}", record.fields.size(), columns.size())});
        continue;
      }
      json row = json::object();
      for (size_t i = 0; i < columns.size(); ++i) {
        const Field* f = columns[i];
        const std::string& v = record.fields[i];
        if (f == nullptr || v.empty()) continue;
        if (f->type == Type::kNumber) {
          int64_t n = 0;
          auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
          if (ec == std::errc() && p == v.data() + v.size()) {
            row[f->name] = n;
            continue;
          }
          double d = 0;
          auto [p2, ec2] = std::from_chars(v.data(), v.data() + v.size(), d);
          if (ec2 == std::errc() && p2 == v.data() + v.size()) {
            row[f->name] = d;
          } else {
            errors.push_back({fmt::format("{}:{}", where, f->name), fmt::format("'{}' is not a number", v)});
          }
          continue;
        }
        row[f->name] = v;
      }
      std::vector<core::FieldError> row_errors;
      CheckRow(*table, row, where, row_errors);
      for (auto& e : row_errors) {
        // "services.csv:3.minimum_age" reads better as "services.csv:3:minimum_age".
        if (e.field.size() > where.size() && e.field[where.size()] == '.') e.field[where.size()] = ':';
        errors.push_back(std::move(e));
      }
      if (!row_errors.empty()) continue;
      const std::string id = row["id"].get<std::string>();
      if (!seen.insert(id).second) {
        errors.push_back({where + ":id", fmt::format("{} appears twice in {}", id, name)});
        continue;
      }
      out.tables[table->name][id] = std::move(row);
    }
  }
  if (!errors.empty()) return Problems(std::move(errors), "the CSV data package");
  return core::Status::Ok();
}

std::vector<std::string> Fingerprint(const Dataset& data) {
  std::vector<std::string> out;
  for (const auto& [table, rows] : data.tables) {
    for (const auto& [id, row] : rows) out.push_back(table + " " + row.dump());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace directory
