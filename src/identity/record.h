#pragma once

#include <string>

namespace identity {

// What the matcher knows of one source record of a person, as the source wrote it. Every
// field may be empty (unknown). Text is UTF-8 in any script.
struct PersonRecord {
  std::string given_name;
  std::string family_name;
  std::string date_of_birth;  // any format identity::ParseDate reads
  std::string street_number;
  std::string address_line1;
  std::string address_line2;
  std::string locality;  // suburb, town
  std::string postcode;
  std::string region;      // state, province
  std::string identifier;  // one national identifier, e.g. a social security number
  std::string phone;
};

}  // namespace identity
