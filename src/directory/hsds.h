#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

// Open Referral HSDS 3.0: the tables of the specification, and the two shapes a directory takes
// in it — flat rows, one table per kind (the CSV data package), and nested JSON documents (the
// API and the JSON files). Free of storage.
namespace directory {

enum class Type { kString, kNumber };
enum class Format { kNone, kUuid, kUri, kEmail, kDateTime };

struct Field {
  const char* name;
  Type type;
  Format format;
};

// A property of a document that holds other rows: `many` is an array of rows of `table` that
// point at this row (phone.service_id = service.id); otherwise one row that this row points at
// (service.organization_id = organization.id).
struct Nested {
  const char* property;
  const char* table;
  bool many;
};

struct Table {
  const char* name;  // "service"
  const char* csv;   // "services.csv"
  std::vector<const char*> required;
  std::vector<Field> fields;
  std::vector<Nested> nested;

  std::string Plural() const;  // "services": the CSV file name without .csv, the bundle key
  const Field* FindField(std::string_view name) const;
};

// Every table of HSDS 3.0, in the order of the data package (parents before children).
const std::vector<Table>& Tables();
const Table* FindTable(std::string_view name);
const Table* FindTableByPlural(std::string_view plural);

// The field of a row of `child`, nested under a row of `parent`, that holds the parent's id:
// "service_id" for a phone under a service, "link_id" for an attribute, "resource_id" for
// metadata. Empty when the child has no such field.
std::string ParentField(const Table& child, const Table& parent);
// The field of a row of `table` that holds the id of the row nested as `n` (many = false).
std::string ReferenceField(const Nested& n);

// Rows by table and id. Each row is a flat JSON object with the fields of its table.
using Rows = std::map<std::string, nlohmann::json>;
struct Dataset {
  std::map<std::string, Rows> tables;
  size_t size() const;
};

// Adds the rows of one nested document of `table` to `out`. A row met twice (an organization
// nested in two services) is merged, and a field given two different values is an error.
// Problems are appended to `errors`, each named by its path from `where` ("services[3].phones[0].number").
void Flatten(const nlohmann::json& doc, const Table& table, const std::string& where, Dataset& out,
             std::vector<core::FieldError>& errors);

// Adds the rows of a bundle ({"services": [...], "organizations": [...], ...}, each key a
// table's plural name), of a page ({"contents": [...]}) or list of documents of `table`, or of
// one document of `table`. `table` is empty for a bundle.
core::Status FlattenDocument(const nlohmann::json& doc, const std::string& table, const std::string& file,
                             Dataset& out);

// Checks one flat row against its table: known fields, types, formats and required fields.
void CheckRow(const Table& table, const nlohmann::json& row, const std::string& where,
              std::vector<core::FieldError>& errors);

// Where nested documents read their rows from.
class RowSource {
 public:
  virtual ~RowSource() = default;
  virtual const nlohmann::json* Get(const std::string& table, const std::string& id) = 0;
  // Rows of `table` whose `field` is `id`, ordered by id.
  virtual std::vector<const nlohmann::json*> Children(const std::string& table, const std::string& field,
                                                       const std::string& id) = 0;
};

// A RowSource over a Dataset in memory, with its own indexes.
class DatasetSource : public RowSource {
 public:
  explicit DatasetSource(const Dataset& data);
  const nlohmann::json* Get(const std::string& table, const std::string& id) override;
  std::vector<const nlohmann::json*> Children(const std::string& table, const std::string& field,
                                               const std::string& id) override;

 private:
  const Dataset& data_;
  std::map<std::string, std::map<std::string, std::vector<const nlohmann::json*>>> index_;  // table.field -> id
};

struct NestOptions {
  // Rows that a row points at (service.organization) come with their own nested rows; when
  // false they come as their flat fields only (the bundle, where they appear in full elsewhere).
  bool full_references = true;
  std::set<std::pair<std::string, std::string>>* emitted = nullptr;  // (table, id) of each row written
};

// The nested document of one row, as the HSDS API and JSON files give it. A table is never
// nested inside itself, so that service → organization → services stops.
nlohmann::json Nest(RowSource& source, const Table& table, const nlohmann::json& row, const NestOptions& options,
                    std::vector<std::string> ancestors = {});

// The whole of `data` as a bundle: organizations, services, taxonomies and taxonomy terms
// nested, and every row not reached from them under its table's key, so that nothing is left out.
nlohmann::json Bundle(const Dataset& data);

// The CSV data package: one file per non-empty table (name → contents) and datapackage.json.
std::map<std::string, std::string> CsvPackage(const Dataset& data);
// Reads the files of a CSV data package (name → contents; datapackage.json is optional and not
// needed). Unknown files are an error. Each problem names the file, line and field.
core::Status ReadCsvPackage(const std::map<std::string, std::string>& files, Dataset& out);

// The rows of `data` as one text line each, sorted: for comparing two datasets in tests and checks.
std::vector<std::string> Fingerprint(const Dataset& data);

}  // namespace directory
