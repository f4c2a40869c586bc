#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace authz {

// How far data of a category may travel beyond the agency that holds it.
enum class SharingClass {
  kWhite,  // under a sharing agreement approved by one governance user
  kGrey,   // under a sharing agreement approved by two different governance users
  kBlack,  // never: no agreement can name it
};

std::string_view SharingClassName(SharingClass c);  // "white", "grey", "black"
// kInvalidArgument for anything but white, grey and black.
core::StatusOr<SharingClass> ParseSharingClass(std::string_view name);

// A class of personal data, as declared by the deployment.
struct DataCategory {
  std::string id;  // [a-z][a-z0-9_]*, at most 40 characters: "child_protection"
  std::string label;
  std::string description;
  SharingClass sharing_class = SharingClass::kBlack;
};

// The category a field belongs to. `kind` is "person" for a field of a person's record and
// "records" for a kind of record about a person.
struct FieldCategory {
  std::string kind;
  std::string field;
  std::string category;
};

// The data categories of a deployment, loaded from its YAML file (config/data-categories.yaml,
// docs/sharing.md):
//
//   categories:
//     - {id: income, label: Income, class: grey, description: ...}
//   fields:
//     person: {names: identity, ...}     # every name of PersonFields()
//     records: {household: household, ...}  # every name of RecordKinds()
//
// Immutable once loaded, so thread-safe.
class DataCategories {
 public:
  // The fields of a person's record and the kinds of records onedoor keeps today; the file
  // must give each a category.
  static const std::vector<std::string_view>& PersonFields();
  static const std::vector<std::string_view>& RecordKinds();

  // The categories onedoor uses when a deployment names none: identity, contact, needs and
  // household (white), income (grey) and case_notes (black).
  static const DataCategories& Builtin();

  // Reads and validates `path`. Errors are kInvalidArgument with a message that starts with
  // "path:line:column: " and says what to change: a YAML syntax error, an unknown key, a
  // missing or malformed id, label or class, an unknown class, a category declared twice, a
  // field onedoor does not know, a field mapped to a category not declared, or a field left
  // without a category. kNotFound when the file cannot be opened.
  static core::StatusOr<DataCategories> Load(const std::string& path);
  // The same for `text`, named `file_name` in messages.
  static core::StatusOr<DataCategories> Parse(const std::string& text,
                                              const std::string& file_name);

  // In the order of the file.
  const std::vector<DataCategory>& categories() const { return categories_; }
  // Every person field (in the order of PersonFields()), then every record kind.
  const std::vector<FieldCategory>& fields() const { return fields_; }

  // The category with `id`; nullptr when the deployment does not declare it.
  const DataCategory* Find(std::string_view id) const;
  // The category of a person field ("person", "addresses") or a record kind ("records",
  // "screening"); nullptr for a field onedoor does not know.
  const DataCategory* CategoryOf(std::string_view kind, std::string_view field) const;

 private:
  std::vector<DataCategory> categories_;
  std::vector<FieldCategory> fields_;
};

}  // namespace authz
