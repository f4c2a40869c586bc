#pragma once

#include <functional>
#include <istream>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "access/principal.h"
#include "core/status.h"
#include "registry/csv.h"
#include "registry/person.h"
#include "registry/person_service.h"

namespace registry {

// How an agency's client list maps onto person fields: a YAML file (docs/imports.md).
//
//   local_id: client_no            # the column holding the agency's own id (required)
//   delimiter: ","                 # one character; "\t" for tabs
//   encoding: utf-8                # or latin1, windows-1252
//   trim: false                    # remove spaces around unquoted fields
//   date_format: DD/MM/YYYY        # YYYY-MM-DD (default), YYYYMMDD, DD/MM/YYYY, MM/DD/YYYY, DD.MM.YYYY
//   values:                        # optional recoding of a target's values
//     sex: {M: male, F: female}
//   fields:                        # target: column, or a list of columns joined by a space
//     given: first_name
//     family: last_name
//     birth_date: dob
//     address.line1: [house_no, street]
//     identifier.national_id: ssn
//
// Targets: given, family, birth_date, sex, gender, preferred_language, phone, mobile, email,
// address.line1, address.line2, address.city, address.region, address.postcode, address.country,
// identifier.KIND (national_id, passport, driver_licence, health_number, tax_number,
// agency_number).
struct ImportMapping {
  std::string local_id_column;
  char delimiter = ',';
  Encoding encoding = Encoding::kUtf8;
  bool trim = false;
  std::string date_format = "YYYY-MM-DD";
  std::map<std::string, std::map<std::string, std::string>> values;  // target -> from -> to
  std::vector<std::pair<std::string, std::vector<std::string>>> fields;  // target -> columns, in file order
  // Where each setting that names columns is in the mapping file ("name:line" of local_id and
  // of each target), for errors about the data file's header.
  std::map<std::string, std::string> places;

  // Reads a mapping file. Errors name the file, the line and the key.
  static core::StatusOr<ImportMapping> Load(const std::string& path);
  // Parses mapping text; `name` is used in errors.
  static core::StatusOr<ImportMapping> Parse(const std::string& yaml, const std::string& name);
};

// A row turned into a person, or the reason it cannot be.
struct MappedRow {
  std::string local_id;
  Person person;
};

// Maps rows of one file: built from the mapping and the file's header row.
class RowMapper {
 public:
  // kInvalidArgument if a mapped column is not in the header (naming it).
  static core::StatusOr<RowMapper> Create(const ImportMapping& mapping, const std::vector<std::string>& header);
  // The person of `row`, or kInvalidArgument with a reason naming the column (never a value).
  // The person is checked as a single create checks it (CheckRecord): its dates against `now`.
  core::StatusOr<MappedRow> Map(const std::vector<std::string>& row, core::Timestamp now) const;
  size_t columns() const { return columns_; }

 private:
  const ImportMapping* mapping_ = nullptr;
  size_t columns_ = 0;
  size_t local_id_index_ = 0;
  std::vector<std::pair<std::string, std::vector<size_t>>> fields_;  // target -> column indexes
  std::map<std::string, std::string> column_of_;                     // target -> column name(s) for errors
};

// Parses `text` as a date in `format` (see ImportMapping). kInvalidArgument if it is not one.
core::StatusOr<core::PartialDate> ParseDateInFormat(std::string_view text, std::string_view format);

struct ImportSummary {
  int64_t rows = 0;
  int64_t created = 0;
  int64_t updated = 0;
  int64_t unchanged = 0;
  int64_t rejected = 0;
  double seconds = 0;
};

struct ImportOptions {
  int batch = 500;  // rows per transaction
  std::string source_name;  // the file's name, for the audit entry
  // Called after each batch with bytes read so far and rows done.
  std::function<void(int64_t bytes, int64_t rows)> progress;
};

// Streams `in` (a CSV file with a header row) into the caller agency's source records.
// Rows that cannot be used go to `rejects` as CSV: line, reason, the record as read; nothing
// is dropped silently. Valid rows are written in batches of `options.batch`. Returns the
// counts; an error only when the file cannot be read at all (no header, a mapped column
// missing) or the database fails — the batches written before stay written, and running the
// same import again finishes it (re-importing is idempotent).
core::StatusOr<ImportSummary> ImportClients(PersonService& persons, const authz::Principal& who,
                                            const ImportMapping& mapping, std::istream& in,
                                            std::ostream& rejects, const ImportOptions& options);

}  // namespace registry
