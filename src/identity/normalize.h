#pragma once

// Normalisation of the fields that identify a person, so that two records written by
// different agencies, in different scripts and with different habits compare equal when they
// mean the same thing.
//
// Everything here is a pure function of its input (plus read-only built-in tables) and is
// thread-safe. Text in and out is UTF-8. ICU does the Unicode work; its headers stay in the
// .cc files.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace identity {

// ---------------------------------------------------------------------------------------------
// Text

// NFKC, then Unicode full case folding. "Ｍüller" -> "müller", "STRASSE" -> "strasse",
// "ﬁona" -> "fiona". Bytes that are not well-formed UTF-8 pass through unchanged (ICU's
// behaviour); NormalizeName drops them.
std::string FoldText(std::string_view utf8);

// ICU "Any-Latin; Latin-ASCII": any script to Latin, then to plain ASCII. Letters with no ASCII
// form are dropped by ICU's rules, not by this function. "Пушкин" -> "Puskin",
// "北京" -> "bei jing". ASCII input is returned unchanged without calling ICU.
std::string ToLatinAscii(std::string_view utf8);

// A name ready for comparison: both the original script and its Latin transliteration.
struct NameKey {
  // NFKC + case folded, in the script it was written in, punctuation handled and honorifics
  // removed, tokens separated by one space. "Dr. Анна-Мария  O'Neil" -> "анна мария oneil".
  std::string folded;
  // `folded` transliterated to lower-case ASCII with the same clean-up: "anna maria oneil".
  std::string latin;

  bool empty() const { return latin.empty() && folded.empty(); }
  bool operator==(const NameKey&) const = default;
};

// Normalises a name (given, family or full):
//   - NFKC and case folding; transliteration kept beside the original (see NameKey);
//   - apostrophes and similar marks are deleted ("o'neil" -> "oneil", "d’arcy" -> "darcy");
//     hyphens, dots, commas and other punctuation or symbols separate tokens;
//   - honorifics and generational suffixes are removed as whole tokens: mr, mrs, ms, miss, mx,
//     master, dr, prof, rev, sir, dame, lady, lord, jr, snr, jnr, ii, iii, iv (see
//     IsHonorific). A name made only of such tokens keeps them.
NameKey NormalizeName(std::string_view raw);

// True for the honorific and suffix tokens NormalizeName removes (lower-case ASCII input).
bool IsHonorific(std::string_view token);

// ---------------------------------------------------------------------------------------------
// Nicknames

// Equivalence of given names and their diminutives ("bob" ~ "robert", "peggy" ~ "margaret"),
// from the table shipped in src/identity/data/nicknames.tsv (compiled into the library; that
// file's header says where its entries come from). A diminutive may belong to several groups
// ("alex": alexander, alexandra, alexis). Thread-safe, immutable.
class NicknameTable {
 public:
  // Parses the TSV format: lines "canonical<TAB>variant,variant,...", '#' comments, blank
  // lines. Names are lower-case ASCII. InvalidArgument names the line that is wrong.
  static core::StatusOr<NicknameTable> Parse(std::string_view tsv);

  // The table shipped with onedoor, parsed once on first use.
  static const NicknameTable& Builtin();

  // The groups `name` (lower-case ASCII) belongs to, as small integers; empty if unknown.
  std::span<const uint16_t> Groups(std::string_view name) const;

  // The canonical form of `name`: the first group's canonical name, or `name` itself.
  std::string_view Canonical(std::string_view name) const;

  // True if a == b or they share a group.
  bool Equivalent(std::string_view a, std::string_view b) const;

  size_t group_count() const { return canonical_.size(); }

 private:
  struct Entry {
    std::string name;
    std::vector<uint16_t> groups;
  };
  const Entry* Find(std::string_view name) const;

  std::vector<std::string> canonical_;  // by group
  std::vector<Entry> entries_;          // sorted by name
};

// ---------------------------------------------------------------------------------------------
// Phonetic code

// Both codes of Lawrence Philips' Double Metaphone (C/C++ Users Journal, June 2000), written
// here from the published description and checked against its known outputs. Codes are at
// most `max_length` characters (4, as in the reference). Characters other than ASCII letters
// are ignored, so transliterate first. "Smith" -> {"SM0", "XMT"}, "Schmidt" -> {"XMT","SMT"}.
struct PhoneticCode {
  std::string primary;
  std::string alternate;  // equal to primary when the name has one pronunciation
  bool operator==(const PhoneticCode&) const = default;
};
PhoneticCode DoubleMetaphone(std::string_view ascii, size_t max_length = 4);

// ---------------------------------------------------------------------------------------------
// Dates

// A date as written on a record. A part is 0 when missing: year-only ("1985") and year-month
// ("1985-03") dates are partial. A month outside 1..12 or a day outside 1..31 is kept as 0
// (unknown) rather than rejected: records carry typos, and the other parts are still evidence.
struct DateKey {
  int16_t year = 0;
  int8_t month = 0;
  int8_t day = 0;
  bool empty() const { return year == 0 && month == 0 && day == 0; }
  bool operator==(const DateKey&) const = default;
  // "YYYYMMDD" with 0 for unknown parts ("19850300").
  std::string ToDigits() const;
};

// Which way round to read an ambiguous "NN/NN/YYYY".
enum class DayMonthOrder { kDayFirst, kMonthFirst };

// Parses YYYYMMDD, YYYY-MM-DD, YYYY/MM/DD, DD/MM/YYYY (also with '-' or '.'), MM/YYYY,
// YYYY-MM, YYYYMM and YYYY. In NN/NN/YYYY, a first number above 12 is always the day.
// Surrounding spaces are ignored. Returns InvalidArgument for empty or other text.
core::StatusOr<DateKey> ParseDate(std::string_view text,
                                  DayMonthOrder order = DayMonthOrder::kDayFirst);

// How far two dates agree, best first.
enum class DateAgreement {
  kExact,            // same year, month and day, all known
  kDayMonthSwapped,  // a.day == b.month and a.month == b.day, same year
  kOneDigitOff,      // "YYYYMMDD" forms within one edit (typo or adjacent transposition)
  kPartial,          // every part known on both sides agrees, but some part is unknown
  kYearMonth,        // same year and month, different or unknown day
  kYear,             // same year only
  kDisagree,
  kMissing,  // either date is empty
};
DateAgreement CompareDates(const DateKey& a, const DateKey& b);

// ---------------------------------------------------------------------------------------------
// Addresses

struct AddressKey {
  // Lower-case ASCII word tokens with common abbreviations expanded ("st" -> "street",
  // "rd" -> "road", "ave" -> "avenue", "nth" -> "north"...), numbers removed.
  std::vector<std::string> words;
  // The numbers, in order: "12a smith st unit 3" -> {"12a", "3"}.
  std::vector<std::string> numbers;
  bool operator==(const AddressKey&) const = default;
  // The words joined by single spaces.
  std::string Words() const;
};

// Normalises a street address line (any script: transliterated first). A token holding a
// digit is a number ("12", "12a", "3/14" gives "3" and "14").
AddressKey NormalizeAddress(std::string_view raw);

// The full word for a common address abbreviation ("st" -> "street"), or the token itself.
std::string_view ExpandAddressAbbreviation(std::string_view token);

// ---------------------------------------------------------------------------------------------
// Phones

// The telephone conventions of the region records come from.
struct PhoneRegion {
  std::string country_code = "61";            // E.164 country code, digits
  std::string trunk_prefix = "0";             // dialled before national numbers inside the country
  std::string international_prefix = "0011";  // dialled before a country code from inside
};

// The number in international form, digits only, without '+': "(02) 9876 5432" in Australia
// -> "61298765432"; "+44 (0)20 7946 0018" -> "442079460018"; "0044 20..." -> "4420...".
// Extensions ("x12", "ext. 12") are dropped. Returns InvalidArgument if fewer than 6 digits
// remain.
core::StatusOr<std::string> NormalizePhone(std::string_view raw, const PhoneRegion& region = {});

// ---------------------------------------------------------------------------------------------
// Identifiers

// Upper-case ASCII letters and digits only: " ab-12 345/6 " -> "AB123456".
std::string NormalizeIdentifier(std::string_view raw);

enum class CheckDigit { kValid, kInvalid, kNotApplicable };

// Checks the check digit of a normalised identifier of `kind`:
//   "luhn", "payment_card", "imei", "ca_sin" (Canadian social insurance number): Luhn mod 10;
//   "iso7064_mod97_10", "iban", "lei": ISO 7064 MOD 97-10 (IBANs are rotated first, as ISO
//   13616 says; letters count as 10..35).
// kNotApplicable for kinds without a check digit (including unknown kinds); kInvalid also for
// characters the scheme does not allow.
CheckDigit CheckIdentifier(std::string_view kind, std::string_view normalized);

bool LuhnValid(std::string_view digits);
bool Mod97_10Valid(std::string_view alnum);

}  // namespace identity
