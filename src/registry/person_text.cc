// The API form of a client record written straight from its stored document, for the read path:
// the members the decision lets through are copied as the stored text has them, without building
// a JSON tree of the record. simdjson is confined to this file (its header is large).
#include <simdjson.h>

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "core/log.h"
#include "registry/person.h"
#include "registry/person_service.h"

namespace registry {
namespace {

constexpr int kPersonFields = static_cast<int>(authz::Field::kDeathDate) + 1;

core::Status NotAnObject() { return core::Status::DataLoss("a stored client record is not a valid JSON object"); }
core::Status BadShape() { return core::Status::DataLoss("a stored client record has an unexpected shape"); }

// The person field named `key`, or -1.
int PersonFieldIndex(std::string_view key) {
  for (int f = 0; f < kPersonFields; ++f) {
    if (authz::FieldName(static_cast<authz::Field>(f)) == key) return f;
  }
  return -1;
}

// The text of `value` as the document has it: a whole object or array, or one scalar token.
simdjson::error_code RawText(simdjson::ondemand::value value, std::string_view& out) {
  simdjson::ondemand::json_type type;
  if (auto e = value.type().get(type)) return e;
  if (type == simdjson::ondemand::json_type::object) {
    simdjson::ondemand::object o;
    if (auto e = value.get_object().get(o)) return e;
    return o.raw_json().get(out);
  }
  if (type == simdjson::ondemand::json_type::array) {
    simdjson::ondemand::array a;
    if (auto e = value.get_array().get(a)) return e;
    return a.raw_json().get(out);
  }
  out = value.raw_json_token();
  while (!out.empty() && (out.back() == ' ' || out.back() == '\n' || out.back() == '\r' || out.back() == '\t')) {
    out.remove_suffix(1);
  }
  return simdjson::SUCCESS;
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  core::AppendJsonEscaped(out, s);
  out += '"';
}

core::StatusOr<std::string> StoredToJsonText(std::string_view stored, core::PersonId id, int64_t version,
                                             const authz::Decision& visible, std::span<const JsonMember> more) {
  // The parser and its padded copy of the document are kept per thread: a read allocates neither.
  thread_local simdjson::ondemand::parser parser;
  thread_local std::string padded;
  padded.assign(stored);
  padded.append(simdjson::SIMDJSON_PADDING, '\0');
  simdjson::ondemand::document doc;
  if (parser.iterate(padded.data(), stored.size(), padded.size()).get(doc)) return NotAnObject();
  simdjson::ondemand::object object;
  if (doc.get_object().get(object)) return NotAnObject();

  std::array<std::string_view, kPersonFields> fields{};
  std::array<bool, kPersonFields> present{};
  core::Timestamp created_at;
  core::Timestamp updated_at;
  for (auto member : object) {
    std::string_view key;
    if (member.unescaped_key().get(key)) return NotAnObject();
    simdjson::ondemand::value value;
    if (member.value().get(value)) return NotAnObject();
    if (key == "created_at" || key == "updated_at") {
      int64_t micros = 0;
      if (value.get_int64().get(micros)) return BadShape();
      (key == "created_at" ? created_at : updated_at) = core::Timestamp{micros};
      continue;
    }
    const int f = PersonFieldIndex(key);
    if (f < 0) continue;  // not part of the API form; skipped unread
    if (RawText(value, fields[f])) return NotAnObject();
    present[f] = true;
  }
  // Past the end now, unless something follows the object.
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return NotAnObject();

  // The members in the order nlohmann::json writes an object's keys (sorted), so that the text is
  // the one ToJson(...).dump() makes of the same record.
  std::vector<std::pair<std::string_view, std::string_view>> members;
  members.reserve(kPersonFields + 6 + more.size());
  for (int f = 0; f < kPersonFields; ++f) {
    if (present[f] && visible.Sees(static_cast<authz::Field>(f))) {
      members.emplace_back(authz::FieldName(static_cast<authz::Field>(f)), fields[f]);
    }
  }
  const std::string id_text = std::to_string(id.value);
  const std::string version_text = std::to_string(version);
  const std::string created_text = '"' + created_at.ToRfc3339() + '"';
  const std::string updated_text = '"' + updated_at.ToRfc3339() + '"';
  members.emplace_back("id", id_text);
  members.emplace_back("version", version_text);
  members.emplace_back("created_at", created_text);
  members.emplace_back("updated_at", updated_text);
  std::string withheld;
  if (!visible.withheld.empty()) {
    withheld += '[';
    for (const auto& x : visible.withheld) {
      if (withheld.size() > 1) withheld += ',';
      withheld += "{\"category\":";
      AppendJsonString(withheld, x.category);
      withheld += ",\"label\":";
      AppendJsonString(withheld, x.label);
      withheld += ",\"reason\":";
      AppendJsonString(withheld, x.reason);
      withheld += '}';
    }
    withheld += ']';
    members.emplace_back("withheld", withheld);
  }
  for (const auto& m : more) members.emplace_back(m.key, m.text);
  std::sort(members.begin(), members.end());

  size_t size = 2;
  for (const auto& [key, text] : members) size += key.size() + text.size() + 4;
  std::string out;
  out.reserve(size);
  out += '{';
  for (const auto& [key, text] : members) {
    if (out.size() > 1) out += ',';
    out += '"';
    out += key;  // the API form's own names: nothing to escape
    out += "\":";
    out += text;
  }
  out += '}';
  return out;
}

core::StatusOr<std::string> ReadAnswerText(const PersonView& view) {
  std::string sources = "[";
  for (const auto& s : view.sources) {
    if (sources.size() > 1) sources += ',';
    fmt::format_to(std::back_inserter(sources), "{{\"agency_id\":{},\"agency_name\":", s.agency.value);
    AppendJsonString(sources, s.agency_name);
    sources += ",\"local_id\":";
    AppendJsonString(sources, s.local_id);
    sources += '}';
  }
  sources += ']';
  std::vector<JsonMember> more;
  more.push_back({"source_records", std::move(sources)});
  if (view.household) {
    // A name withheld from the reader is absent (HouseholdRef).
    std::string h = fmt::format("{{\"id\":{}", view.household->id.value);
    if (!view.household->name.empty()) {
      h += ",\"name\":";
      AppendJsonString(h, view.household->name);
    }
    h += ",\"relationship\":";
    AppendJsonString(h, view.household->relationship);
    h += '}';
    more.push_back({"household", std::move(h)});
  }
  return StoredToJsonText(view.stored, view.person.id, view.person.version, view.decision, more);
}

}  // namespace registry
