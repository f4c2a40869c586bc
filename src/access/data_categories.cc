#include "access/data_categories.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "core/utf8.h"

namespace authz {
namespace {

using core::Status;
using core::StatusOr;

constexpr size_t kMaxIdLength = 40;
constexpr size_t kMaxLabelLength = 80;
constexpr size_t kMaxDescriptionLength = 500;

bool IsId(const std::string& s) {
  if (s.empty() || s.size() > kMaxIdLength || s[0] < 'a' || s[0] > 'z') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string Join(const std::vector<std::string_view>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    out += i == 0 ? "" : i + 1 == names.size() ? " and " : ", ";
    out += names[i];
  }
  return out;
}

// Builds "file:line:column: message" for the place of `node`.
class Errors {
 public:
  explicit Errors(std::string file) : file_(std::move(file)) {}
  Status At(const YAML::Node& node, const std::string& message) const {
    return At(node.Mark(), message);
  }
  Status At(const YAML::Mark& mark, const std::string& message) const {
    if (mark.line < 0) return Status::InvalidArgument(fmt::format("{}: {}", file_, message));
    return Status::InvalidArgument(
        fmt::format("{}:{}:{}: {}", file_, mark.line + 1, mark.column + 1, message));
  }

 private:
  std::string file_;
};

// A scalar's text; an error at the node for anything else (a list or a map where text belongs).
StatusOr<std::string> Text(const Errors& errors, const YAML::Node& node, const std::string& what) {
  if (!node.IsScalar()) return errors.At(node, fmt::format("{} must be a single value", what));
  return node.Scalar();
}

Status CheckKeys(const Errors& errors, const YAML::Node& map,
                 const std::vector<std::string_view>& known, const std::string& where) {
  for (const auto& kv : map) {
    if (!kv.first.IsScalar())
      return errors.At(kv.first, fmt::format("{} has a key that is not a name", where));
    const std::string key = kv.first.Scalar();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return errors.At(kv.first, fmt::format("unknown key '{}' in {}; the keys are {}", key, where,
                                             Join(known)));
    }
  }
  return Status::Ok();
}

StatusOr<DataCategory> ParseCategory(const Errors& errors, const YAML::Node& node, size_t index) {
  const std::string where = fmt::format("category {}", index + 1);
  if (!node.IsMap())
    return errors.At(
        node, fmt::format("{} must be a mapping with id, label, class and description", where));
  RETURN_IF_ERROR(CheckKeys(errors, node, {"id", "label", "class", "description"}, where));
  DataCategory c;
  for (const char* required : {"id", "label", "class"}) {
    if (!node[required]) return errors.At(node, fmt::format("{} has no {}", where, required));
  }
  ASSIGN_OR_RETURN(c.id, Text(errors, node["id"], "id"));
  if (!IsId(c.id)) {
    return errors.At(
        node["id"],
        fmt::format("the id '{}' must be lower-case letters, digits and _, starting with a "
                    "letter, at most {} characters",
                    c.id, kMaxIdLength));
  }
  ASSIGN_OR_RETURN(c.label, Text(errors, node["label"], "label"));
  if (c.label.empty() || core::Utf8Length(c.label) > kMaxLabelLength) {
    return errors.At(node["label"], fmt::format("the label of '{}' must have 1 to {} characters",
                                                c.id, kMaxLabelLength));
  }
  if (node["description"]) {
    ASSIGN_OR_RETURN(c.description, Text(errors, node["description"], "description"));
    if (core::Utf8Length(c.description) > kMaxDescriptionLength) {
      return errors.At(node["description"],
                       fmt::format("the description of '{}' is longer than {} characters", c.id,
                                   kMaxDescriptionLength));
    }
  }
  ASSIGN_OR_RETURN(std::string cls, Text(errors, node["class"], "class"));
  auto parsed = ParseSharingClass(cls);
  if (!parsed.ok()) {
    return errors.At(
        node["class"],
        fmt::format("unknown class '{}' for '{}'; the classes are white, grey and black", cls,
                    c.id));
  }
  c.sharing_class = *parsed;
  return c;
}

}  // namespace

std::string_view SharingClassName(SharingClass c) {
  switch (c) {
    case SharingClass::kWhite:
      return "white";
    case SharingClass::kGrey:
      return "grey";
    case SharingClass::kBlack:
      return "black";
  }
  return "black";
}

StatusOr<SharingClass> ParseSharingClass(std::string_view name) {
  if (name == "white") return SharingClass::kWhite;
  if (name == "grey") return SharingClass::kGrey;
  if (name == "black") return SharingClass::kBlack;
  return Status::InvalidArgument("unknown sharing class; use white, grey or black");
}

const std::vector<std::string_view>& DataCategories::PersonFields() {
  static const auto* fields = new std::vector<std::string_view>{
      "names",  "birth_date",         "sex",  "gender", "identifiers", "addresses", "phones",
      "emails", "preferred_language", "needs", "death_date"};
  return *fields;
}

const std::vector<std::string_view>& DataCategories::RecordKinds() {
  static const auto* kinds =
      new std::vector<std::string_view>{"household", "source_record", "screening", "history", "interaction"};
  return *kinds;
}

const DataCategories& DataCategories::Builtin() {
  static const auto* builtin = [] {
    auto parsed = Parse(R"yaml(
categories:
  - {id: identity, label: Identity, class: white}
  - {id: contact, label: Contact details, class: white}
  - {id: needs, label: Access needs, class: white}
  - {id: household, label: Household, class: white}
  - {id: income, label: Income, class: grey}
  - {id: contacts, label: Contacts with agencies, class: white}
  - {id: case_notes, label: Case notes, class: black}
fields:
  person: {names: identity, birth_date: identity, sex: identity, gender: identity,
           identifiers: identity, addresses: contact, phones: contact, emails: contact,
           preferred_language: contact, needs: needs, death_date: identity}
  records: {household: household, source_record: identity, screening: income,
            history: case_notes, interaction: contacts}
)yaml",
                        "built-in data categories");
    return new DataCategories(std::move(parsed).value());
  }();
  return *builtin;
}

StatusOr<DataCategories> DataCategories::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(fmt::format("{}: cannot open the data categories file", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return Parse(ss.str(), path);
}

StatusOr<DataCategories> DataCategories::Parse(const std::string& text,
                                               const std::string& file_name) {
  const Errors errors(file_name);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return errors.At(e.mark, e.msg);
  }
  // Values of an unexpected shape are checked before every conversion; this catch is for
  // whatever yaml-cpp still throws, reported without a place rather than crashing the start.
  try {
    if (!root || !root.IsMap()) {
      return errors.At(root, "the file must be a mapping with categories: and fields:");
    }
    RETURN_IF_ERROR(CheckKeys(errors, root, {"categories", "fields"}, "the file"));
    if (!root["categories"]) return errors.At(root, "the file has no categories:");
    if (!root["fields"]) return errors.At(root, "the file has no fields:");

    DataCategories out;
    const YAML::Node list = root["categories"];
    if (!list.IsSequence() || list.size() == 0) {
      return errors.At(
          list,
          "categories: must be a list of categories, each with id, label, class and description");
    }
    std::map<std::string, YAML::Mark> declared;
    for (size_t i = 0; i < list.size(); ++i) {
      ASSIGN_OR_RETURN(DataCategory c, ParseCategory(errors, list[i], i));
      if (auto it = declared.find(c.id); it != declared.end()) {
        return errors.At(list[i]["id"],
                         fmt::format("the category '{}' is declared twice (first on line {})", c.id,
                                     it->second.line + 1));
      }
      declared.emplace(c.id, list[i]["id"].Mark());
      out.categories_.push_back(std::move(c));
    }

    const YAML::Node fields = root["fields"];
    if (!fields.IsMap())
      return errors.At(fields, "fields: must be a mapping with person: and records:");
    RETURN_IF_ERROR(CheckKeys(errors, fields, {"person", "records"}, "fields:"));
    for (const auto& [kind, known] :
         {std::pair<std::string, const std::vector<std::string_view>*>{"person", &PersonFields()},
          std::pair<std::string, const std::vector<std::string_view>*>{"records",
                                                                       &RecordKinds()}}) {
      const std::string what = kind == "person" ? "person field" : "record kind";
      const YAML::Node map = fields[kind];
      if (!map)
        return errors.At(fields,
                         fmt::format("fields: has no {}:; give every {} a category", kind, what));
      if (!map.IsMap())
        return errors.At(map,
                         fmt::format("fields: {}: must map each {} to a category", kind, what));
      std::map<std::string, std::string> assigned;
      for (const auto& kv : map) {
        ASSIGN_OR_RETURN(std::string field, Text(errors, kv.first, what));
        if (std::find(known->begin(), known->end(), field) == known->end()) {
          return errors.At(kv.first, fmt::format("unknown {} '{}'; onedoor knows {}", what, field,
                                                 Join(*known)));
        }
        ASSIGN_OR_RETURN(std::string category,
                         Text(errors, kv.second, fmt::format("the category of {}", field)));
        if (!declared.count(category)) {
          return errors.At(
              kv.second,
              fmt::format("the {} '{}' is mapped to '{}', which is not a declared category", what,
                          field, category));
        }
        assigned[field] = category;
      }
      for (std::string_view field : *known) {
        auto it = assigned.find(std::string(field));
        if (it == assigned.end()) {
          return errors.At(map, fmt::format("the {} '{}' has no category; add it under fields: {}:",
                                            what, field, kind));
        }
        out.fields_.push_back({kind, std::string(field), it->second});
      }
    }
    return out;
  } catch (const YAML::Exception& e) {
    return errors.At(e.mark, e.msg);
  }
}

const DataCategory* DataCategories::Find(std::string_view id) const {
  for (const auto& c : categories_) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

const DataCategory* DataCategories::CategoryOf(std::string_view kind,
                                               std::string_view field) const {
  for (const auto& f : fields_) {
    if (f.kind == kind && f.field == field) return Find(f.category);
  }
  return nullptr;
}

}  // namespace authz
