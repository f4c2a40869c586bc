#pragma once

#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "access/access_gate.h"
#include "core/clock.h"
#include "core/date.h"
#include "core/ids.h"
#include "core/status.h"

namespace registry {

// A name as recorded, in any script. `use`: official, alias, previous, other_script.
struct PersonName {
  std::string use = "official";
  std::string given;
  std::string family;
  bool operator==(const PersonName&) const = default;
};

// A typed identifier: national_id, passport, driver_licence, health_number, tax_number,
// agency_number (then `issuer` is the agency code).
struct Identifier {
  std::string kind;
  std::string value;
  std::string issuer;
  bool operator==(const Identifier&) const = default;
};

struct Address {
  std::string use = "home";  // home, postal, temporary
  std::string line1;
  std::string line2;
  std::string city;
  std::string region;
  std::string postcode;
  std::string country;
  bool operator==(const Address&) const = default;
  std::string OneLine() const;
};

struct ContactPoint {
  std::string use;  // mobile, home, work
  std::string value;
  bool operator==(const ContactPoint&) const = default;
};

struct Needs {
  bool interpreter = false;
  std::string interpreter_language;
  std::string accessibility;
  bool operator==(const Needs&) const = default;
};

struct Person {
  core::PersonId id;
  int64_t version = 0;
  std::vector<PersonName> names;  // the first official name is the main one
  std::optional<core::PartialDate> birth_date;
  std::string sex;     // as recorded: female, male, other, unknown
  std::string gender;  // as the person describes it, free text
  std::vector<Identifier> identifiers;
  std::vector<Address> addresses;
  std::vector<ContactPoint> phones;
  std::vector<ContactPoint> emails;
  std::string preferred_language;
  Needs needs;
  core::Timestamp created_at;
  core::Timestamp updated_at;
  // Recorded by an agency that learnt of the death; on or after the date of birth and never
  // in the future. Setting it tells every agency that knows the person ("person.died").
  std::optional<core::PartialDate> death_date;

  // "Amara Okonkwo", from the first official name.
  std::string DisplayName() const;
};

// The identifier kinds a person may have: national_id, passport, driver_licence,
// health_number, tax_number, agency_number.
const std::set<std::string>& IdentifierKinds();

// Every problem with `p` as field errors named by JSON path ("names/0/family").
core::Status Validate(const Person& p);

// Validate, and the dates against `now`: none in the future, and a living person's birth within
// 130 years (1800 for 1980 is a year typed wrong). Every mistake at once, each field once.
core::Status CheckRecord(const Person& p, core::Timestamp now);

// The API form: the fields `visible` lets through (authz::Field), with id, version, the
// timestamps and, when something is withheld, "withheld": [{category, label, reason}].
nlohmann::json ToJson(const Person& p, const authz::Decision& visible);
// A member to add to an API form written as text: its key (a plain name, written as it is) and
// its value as JSON text.
struct JsonMember {
  std::string_view key;
  std::string text;
};

// The text of the same API form made straight from a stored document (ToStorageJson's, as
// `persons.doc` holds it), without reading it into a Person, with the members of `more` (whose
// keys are not the record's) added: what a read of the API sends. Byte for byte what
// ToJson(...) with `more` merged dumps. kDataLoss when the document is not a JSON object or its
// timestamps are not integers.
core::StatusOr<std::string> StoredToJsonText(std::string_view stored, core::PersonId id, int64_t version,
                                             const authz::Decision& visible, std::span<const JsonMember> more = {});

// Appends `s` to `out` as a JSON string, quoted and escaped as nlohmann::json's dump() writes it
// (`"`, `\` and control characters escaped; other UTF-8 as it is).
void AppendJsonString(std::string& out, std::string_view s);

// Clears the fields of `p` that `visible` does not let through, so that what is handed on
// holds only what the principal may see.
void Redact(Person& p, const authz::Decision& visible);

// For an update by someone who does not see every field: the fields `visible` withholds
// keep their stored values from `stored` (nobody changes or erases what they cannot see).
void KeepWithheld(Person& input, const Person& stored, const authz::Decision& visible);
nlohmann::json ToStorageJson(const Person& p);
// Reads an API body. Unknown fields and wrong types are field errors.
core::StatusOr<Person> FromJson(const nlohmann::json& body);
core::StatusOr<Person> FromStorageJson(const std::string& text);

// Lower-case, punctuation-free key for name search ("O'Brien-Smith" -> "obrien smith"), the
// same for a name in any case and with or without accents ("ÉMILIE", "Émilie", "emilie" ->
// "emilie"; "Пушкин" -> "пушкин").
std::string NameKey(std::string_view name);
// The key an identifier is found by, so that it is found however it was typed: "ab 12-34.56 c"
// and "AB123456C" have the same key. Spaces, hyphens and dots are dropped and ASCII letters put
// in upper case; other characters are kept as they are.
std::string IdentifierKey(std::string_view value);

// Field-level differences between two versions: path, before, after.
struct Change {
  std::string field;
  std::string before;
  std::string after;
};
std::vector<Change> Diff(const Person& before, const Person& after);

}  // namespace registry
