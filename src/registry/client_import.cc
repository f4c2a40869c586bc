#include "registry/client_import.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>

#include "core/utf8.h"

namespace registry {
namespace {

using core::Status;
using core::StatusOr;

const std::set<std::string> kPlainTargets = {
    "given",         "family",         "birth_date",  "sex",           "gender",          "preferred_language",
    "phone",         "mobile",         "email",       "address.line1", "address.line2",   "address.city",
    "address.region", "address.postcode", "address.country"};
const std::set<std::string> kDateFormats = {"YYYY-MM-DD", "YYYYMMDD", "DD/MM/YYYY", "MM/DD/YYYY", "DD.MM.YYYY"};

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    if (p.empty()) continue;
    if (!out.empty()) out += ' ';
    out += p;
  }
  return out;
}

// A CSV field for the reject file.
std::string CsvField(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

StatusOr<ImportMapping> ImportMapping::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(fmt::format("{}: cannot open the mapping file", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return Parse(ss.str(), path);
}

StatusOr<ImportMapping> ImportMapping::Parse(const std::string& yaml, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(fmt::format("{}:{}:{}: {}", name, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  if (!root.IsMap()) return Status::InvalidArgument(fmt::format("{}: the mapping must be a YAML mapping", name));
  ImportMapping m;
  auto error = [&](const YAML::Node& at, const std::string& key, const std::string& message) {
    return Status::InvalidArgument(fmt::format("{}:{}: '{}' {}", name, at.Mark().line + 1, key, message));
  };
  auto scalar = [&](const YAML::Node& node, const std::string& key) -> StatusOr<std::string> {
    if (!node.IsScalar()) return error(node, key, "must be a single value");
    return node.as<std::string>();
  };
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (key == "local_id") {
      ASSIGN_OR_RETURN(m.local_id_column, scalar(v, key));
      m.places["local_id"] = fmt::format("{}:{}", name, kv.first.Mark().line + 1);
    } else if (key == "delimiter") {
      ASSIGN_OR_RETURN(std::string d, scalar(v, key));
      if (d == "\\t" || d == "tab") d = "\t";
      if (d.size() != 1 || d == "\"" || d == "\n") return error(kv.first, key, "must be one character, not a quote");
      m.delimiter = d[0];
    } else if (key == "encoding") {
      ASSIGN_OR_RETURN(std::string e, scalar(v, key));
      auto enc = ParseEncoding(e);
      if (!enc.ok()) return error(kv.first, key, enc.status().message());
      m.encoding = *enc;
    } else if (key == "trim") {
      ASSIGN_OR_RETURN(std::string t, scalar(v, key));
      if (t != "true" && t != "false") return error(kv.first, key, "must be true or false");
      m.trim = t == "true";
    } else if (key == "date_format") {
      ASSIGN_OR_RETURN(m.date_format, scalar(v, key));
      if (!kDateFormats.count(m.date_format)) {
        return error(kv.first, key, "must be one of YYYY-MM-DD, YYYYMMDD, DD/MM/YYYY, MM/DD/YYYY, DD.MM.YYYY");
      }
    } else if (key == "values") {
      if (!v.IsMap()) return error(kv.first, key, "must map targets to {from: to} tables");
      for (const auto& t : v) {
        const std::string target = t.first.as<std::string>();
        if (!t.second.IsMap()) return error(t.first, "values." + target, "must be a table of {from: to}");
        for (const auto& ft : t.second) {
          ASSIGN_OR_RETURN(std::string to, scalar(ft.second, "values." + target));
          if (target == "sex") {
            // A value the record cannot take would reject every row that has it: said here, once.
            Person probe;
            probe.sex = to;
            const Status checked = Validate(probe);
            for (const auto& fe : checked.fields()) {
              if (fe.field == "sex") {
                return error(ft.second, "values.sex." + ft.first.as<std::string>(),
                             fmt::format("is '{}', which a record cannot have: it {}",
                                         to.substr(0, 40), fe.message));
              }
            }
          }
          m.values[target][ft.first.as<std::string>()] = to;
        }
      }
    } else if (key == "fields") {
      if (!v.IsMap()) return error(kv.first, key, "must map targets to columns");
      for (const auto& f : v) {
        const std::string target = f.first.as<std::string>();
        const bool identifier =
            target.rfind("identifier.", 0) == 0 && IdentifierKinds().count(target.substr(11)) != 0;
        if (!kPlainTargets.count(target) && !identifier) {
          return error(f.first, "fields." + target,
                       "is not a target: use given, family, birth_date, sex, gender, preferred_language, phone, "
                       "mobile, email, address.line1|line2|city|region|postcode|country or identifier.KIND");
        }
        if (target == "identifier.agency_number") {
          return error(f.first, "fields." + target, "is set by the import itself from the agency and local id");
        }
        std::vector<std::string> columns;
        if (f.second.IsSequence()) {
          for (const auto& c : f.second) {
            ASSIGN_OR_RETURN(std::string col, scalar(c, "fields." + target));
            columns.push_back(col);
          }
        } else {
          ASSIGN_OR_RETURN(std::string col, scalar(f.second, "fields." + target));
          columns.push_back(col);
        }
        if (columns.empty()) return error(f.first, "fields." + target, "names no column");
        m.places["fields." + target] = fmt::format("{}:{}", name, f.first.Mark().line + 1);
        m.fields.emplace_back(target, std::move(columns));
      }
    } else {
      return error(kv.first, key,
                   "is not a mapping setting (local_id, delimiter, encoding, trim, date_format, values, fields)");
    }
  }
  if (m.local_id_column.empty()) return Status::InvalidArgument(fmt::format("{}: 'local_id' is required", name));
  bool named = false;
  for (const auto& [target, cols] : m.fields) named = named || target == "given" || target == "family";
  if (!named) return Status::InvalidArgument(fmt::format("{}: 'fields' must map given or family", name));
  return m;
}

StatusOr<core::PartialDate> ParseDateInFormat(std::string_view text, std::string_view format) {
  auto digits = [&](size_t from, size_t n, int& out) {
    if (from + n > text.size()) return false;
    int v = 0;
    for (size_t i = from; i < from + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      v = v * 10 + (text[i] - '0');
    }
    out = v;
    return true;
  };
  const auto bad = Status::InvalidArgument(fmt::format("is not a date in the format {}", format));
  if (text.size() != format.size()) return bad;
  int y = 0, mo = 0, d = 0;
  for (size_t i = 0; i < format.size();) {
    if (format.compare(i, 4, "YYYY") == 0) {
      if (!digits(i, 4, y)) return bad;
      i += 4;
    } else if (format.compare(i, 2, "MM") == 0) {
      if (!digits(i, 2, mo)) return bad;
      i += 2;
    } else if (format.compare(i, 2, "DD") == 0) {
      if (!digits(i, 2, d)) return bad;
      i += 2;
    } else {
      if (text[i] != format[i]) return bad;
      ++i;
    }
  }
  auto date = core::PartialDate::Parse(fmt::format("{:04}-{:02}-{:02}", y, mo, d));
  if (!date.ok()) return Status::InvalidArgument("is not a date that exists");
  return *date;
}

StatusOr<RowMapper> RowMapper::Create(const ImportMapping& mapping, const std::vector<std::string>& header) {
  RowMapper r;
  r.mapping_ = &mapping;
  r.columns_ = header.size();
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < header.size(); ++i) index.emplace(header[i], i);
  // A column the header lacks: where the mapping names it, and what the header has.
  auto find = [&](const std::string& col, const std::string& setting) -> StatusOr<size_t> {
    auto it = index.find(col);
    if (it == index.end()) {
      std::string have;
      for (const auto& h : header) have += fmt::format("{}'{}'", have.empty() ? "" : ", ", h);
      auto place = mapping.places.find(setting);
      return Status::InvalidArgument(fmt::format(
          "{}'{}' names the column '{}', which is not in the file's header (its columns: {})",
          place != mapping.places.end() ? place->second + ": " : "", setting, col, have));
    }
    return it->second;
  };
  ASSIGN_OR_RETURN(r.local_id_index_, find(mapping.local_id_column, "local_id"));
  for (const auto& [target, columns] : mapping.fields) {
    std::vector<size_t> idx;
    std::string names;
    for (const auto& c : columns) {
      ASSIGN_OR_RETURN(size_t i, find(c, "fields." + target));
      idx.push_back(i);
      names += (names.empty() ? "" : "+") + c;
    }
    r.fields_.emplace_back(target, std::move(idx));
    r.column_of_[target] = names;
  }
  return r;
}

StatusOr<MappedRow> RowMapper::Map(const std::vector<std::string>& row, core::Timestamp now) const {
  if (row.size() != columns_) {
    return Status::InvalidArgument(fmt::format("has {} fields where the header has {}", row.size(), columns_));
  }
  MappedRow out;
  out.local_id = row[local_id_index_];
  if (out.local_id.empty() || core::Utf8Length(out.local_id) > 64) {
    return Status::InvalidArgument(
        fmt::format("column {}: the agency's id must be 1 to 64 characters", mapping_->local_id_column));
  }
  if (core::HasControlCharacter(out.local_id)) {
    return Status::InvalidArgument(fmt::format(
        "column {}: the agency's id must be one line of text, without control characters",
        mapping_->local_id_column));
  }
  Person& p = out.person;
  PersonName name;
  Address address;
  std::vector<std::string> phone_targets, identifier_targets;  // the target behind each, in order
  // Every problem of the row is named at once (a row rejected for one, fixed, and rejected again
  // for the next would take as many imports as it has problems).
  std::vector<std::string> problems;
  for (const auto& [target, idx] : fields_) {
    std::vector<std::string> parts;
    for (size_t i : idx) parts.push_back(row[i]);
    std::string value = Join(parts);
    if (auto recode = mapping_->values.find(target); recode != mapping_->values.end() && !value.empty()) {
      auto to = recode->second.find(value);
      if (to == recode->second.end()) {
        problems.push_back(
            fmt::format("column {}: a value not listed under values.{} in the mapping",
                        column_of_.at(target), target));
        continue;
      }
      value = to->second;
    }
    if (value.empty()) continue;
    if (target == "given") {
      name.given = value;
    } else if (target == "family") {
      name.family = value;
    } else if (target == "birth_date") {
      auto date = ParseDateInFormat(value, mapping_->date_format);
      if (!date.ok()) {
        problems.push_back(
            fmt::format("column {}: {}", column_of_.at(target), date.status().message()));
        continue;
      }
      p.birth_date = *date;
    } else if (target == "sex") {
      p.sex = value;
    } else if (target == "gender") {
      p.gender = value;
    } else if (target == "preferred_language") {
      p.preferred_language = value;
    } else if (target == "phone") {
      p.phones.push_back({"", value});
      phone_targets.push_back(target);
    } else if (target == "mobile") {
      p.phones.push_back({"mobile", value});
      phone_targets.push_back(target);
    } else if (target == "email") {
      p.emails.push_back({"", value});
    } else if (target == "address.line1") {
      address.line1 = value;
    } else if (target == "address.line2") {
      address.line2 = value;
    } else if (target == "address.city") {
      address.city = value;
    } else if (target == "address.region") {
      address.region = value;
    } else if (target == "address.postcode") {
      address.postcode = value;
    } else if (target == "address.country") {
      address.country = value;
    } else {  // identifier.KIND
      p.identifiers.push_back({target.substr(11), value, ""});
      identifier_targets.push_back(target);
    }
  }
  p.names.push_back(name);
  // A region or country alone does not locate anyone: such an address is left out.
  if (!address.line1.empty() || !address.line2.empty() || !address.city.empty() || !address.postcode.empty()) {
    p.addresses.push_back(address);
  }
  const Status v = CheckRecord(p, now);
  if (!v.ok() || !problems.empty()) {
    // Name the column behind each problem, all of them at once; never the value.
    auto mapped = [&](const std::string& target) {
      auto it = column_of_.find(target);
      return it == column_of_.end() ? std::string() : it->second;
    };
    // "addresses/0/postcode" -> 0 and "postcode"; "phones/1" -> 1 and "".
    auto split = [](const std::string& field, size_t prefix) {
      std::pair<size_t, std::string> out{0, ""};
      const size_t slash = field.find('/', prefix);
      out.first = static_cast<size_t>(std::strtoul(field.c_str() + prefix, nullptr, 10));
      if (slash != std::string::npos) out.second = field.substr(slash + 1);
      return out;
    };
    auto column_of = [&](const std::string& field) -> std::string {
      if (field.rfind("names/", 0) == 0) {
        const std::string part = split(field, 6).second;
        if (part == "given" || part == "family") return mapped(part);
        return mapped("family").empty() ? mapped("given") : mapped("family");
      }
      if (field.rfind("addresses/", 0) == 0) {
        const std::string part = split(field, 10).second;
        const std::string target = part == "city" ? "address.city" : "address." + part;
        if (!part.empty() && !mapped(target).empty()) return mapped(target);
        return mapped("address.line1");
      }
      if (field.rfind("phones/", 0) == 0) {
        const size_t i = split(field, 7).first;
        return i < phone_targets.size() ? mapped(phone_targets[i]) : "";
      }
      if (field.rfind("identifiers/", 0) == 0) {
        const size_t i = split(field, 12).first;
        return i < identifier_targets.size() ? mapped(identifier_targets[i]) : "";
      }
      if (field.rfind("emails", 0) == 0) return mapped("email");
      for (const char* plain : {"birth_date", "sex", "gender", "preferred_language"}) {
        if (field.rfind(plain, 0) == 0) return mapped(plain);
      }
      return "";
    };
    std::string said;
    for (const auto& problem : problems) said += (said.empty() ? "" : "; ") + problem;
    for (const auto& fe : v.fields()) {
      const std::string column = column_of(fe.field);
      said += (said.empty() ? "" : "; ") + (column.empty()
                                                ? fmt::format("{}: {}", fe.field, fe.message)
                                                : fmt::format("column {}: {}", column, fe.message));
    }
    return Status::InvalidArgument(said);
  }
  return out;
}

StatusOr<ImportSummary> ImportClients(PersonService& persons, const authz::Principal& who,
                                      const ImportMapping& mapping, std::istream& in, std::ostream& rejects,
                                      const ImportOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  CsvReader reader(in, mapping.delimiter, mapping.encoding, mapping.trim);
  CsvRecord header;
  if (!reader.Next(header)) return Status::InvalidArgument("the file is empty: it needs a header row");
  if (!header.error.empty()) return Status::InvalidArgument(fmt::format("line {}: {}", header.line, header.error));
  ASSIGN_OR_RETURN(RowMapper mapper, RowMapper::Create(mapping, header.fields));
  const core::Timestamp now = persons.Now();

  ImportSummary summary;
  rejects << "line,reason,record\n";
  auto reject = [&](const CsvRecord& rec, const std::string& reason) {
    ++summary.rejected;
    rejects << rec.line << ',' << CsvField(reason) << ',' << CsvField(rec.raw) << '\n';
  };
  std::vector<SourceRecordInput> batch;
  std::map<std::string, int64_t> first_line;  // local id -> line, across the file
  int64_t batch_first = 0, batch_last = 0;  // the batch's lines, for the audit entry
  auto flush = [&]() -> Status {
    if (batch.empty()) return Status::Ok();
    const std::string note = fmt::format("{} lines {}-{}", options.source_name, batch_first, batch_last);
    auto put = persons.PutSourceRecords(who, batch, note);
    if (!put.ok()) {
      // How far it got: the batches before this one are stored, and running the import again
      // finds them unchanged.
      return Status(
          put.status().code(),
          fmt::format(
              "the import stopped at lines {}-{}, which are not stored: {}. The lines before "
              "line {} are stored ({} created, {} updated, {} unchanged); run the import again "
              "to finish it",
              batch_first, batch_last, put.status().message(), batch_first, summary.created,
              summary.updated, summary.unchanged));
    }
    const std::vector<PutOutcome>& outcomes = *put;
    for (PutOutcome o : outcomes) {
      if (o == PutOutcome::kCreated) ++summary.created;
      if (o == PutOutcome::kUpdated) ++summary.updated;
      if (o == PutOutcome::kUnchanged) ++summary.unchanged;
    }
    batch.clear();
    if (options.progress) options.progress(reader.bytes_read(), summary.rows);
    return Status::Ok();
  };

  CsvRecord rec;
  while (reader.Next(rec)) {
    ++summary.rows;
    if (!rec.error.empty()) {
      reject(rec, rec.error);
      continue;
    }
    auto mapped = mapper.Map(rec.fields, now);
    if (!mapped.ok()) {
      reject(rec, mapped.status().message());
      continue;
    }
    auto [it, fresh] = first_line.emplace(mapped->local_id, rec.line);
    if (!fresh) {
      reject(rec, fmt::format("column {}: the same id is already on line {}", mapping.local_id_column, it->second));
      continue;
    }
    if (batch.empty()) batch_first = rec.line;
    batch.push_back({std::move(mapped->local_id), std::move(mapped->person)});
    batch_last = rec.line;
    if (static_cast<int>(batch.size()) >= options.batch) RETURN_IF_ERROR(flush());
  }
  RETURN_IF_ERROR(flush());
  if (options.progress) options.progress(reader.bytes_read(), summary.rows);
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace registry
