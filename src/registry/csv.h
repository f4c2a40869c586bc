#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "core/status.h"

namespace registry {

enum class Encoding { kUtf8, kLatin1, kWindows1252 };

// "utf-8", "latin1" (ISO-8859-1), "windows-1252". kInvalidArgument otherwise.
core::StatusOr<Encoding> ParseEncoding(const std::string& name);

// One record of a CSV file.
struct CsvRecord {
  int64_t line = 0;                 // the file line the record starts on, from 1
  std::vector<std::string> fields;  // UTF-8
  std::string raw;                  // the record as read (converted to UTF-8 where possible)
  std::string error;                // non-empty: the record cannot be used, and why
};

// Reads RFC 4180 CSV from a stream, one record at a time: fields separated by `delimiter`,
// optionally in double quotes (a quoted field may hold the delimiter, "" for a quote, and line
// breaks); CRLF or LF line ends; a UTF-8 byte order mark at the start is skipped. Text in
// Latin-1 or Windows-1252 is converted to UTF-8; UTF-8 input is checked, and a record with
// invalid bytes comes back with `error` set, so that the caller can reject it and go on.
// `trim` removes spaces around unquoted fields (FEBRL-style ", " separators).
// Not thread-safe.
class CsvReader {
 public:
  CsvReader(std::istream& in, char delimiter = ',', Encoding encoding = Encoding::kUtf8, bool trim = false);

  // Reads the next record into `out`. Returns false at the end of the input. Blank lines are
  // skipped. A quote left open at the end of the input gives a record with `error` set.
  bool Next(CsvRecord& out);

  int64_t bytes_read() const { return bytes_read_; }

 private:
  bool ReadLine(std::string& line);

  std::istream& in_;
  const char delimiter_;
  const Encoding encoding_;
  const bool trim_;
  int64_t line_ = 0;
  int64_t bytes_read_ = 0;
};

// `text` from Latin-1 or Windows-1252 to UTF-8 (unassigned Windows-1252 bytes become U+FFFD).
std::string ToUtf8(std::string_view text, Encoding from);

}  // namespace registry
