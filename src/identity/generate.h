#pragma once

// `onedoor link generate`: synthetic person records with known truth, for scale tests of the
// matcher. Each generated person (an entity) has one original record and zero or more
// duplicates, each duplicate corrupted the way real source records differ: typos, OCR and
// keyboard errors, nicknames, swapped fields, missing values, a family name changed on
// marriage, a name in another script or another transliteration, a move to a new address.
//
// The names, streets and localities are built-in lists written for onedoor (no external data);
// nicknames come from src/identity/data/nicknames.tsv. Beside the common names, a share of the
// people get a rarer name built from syllables with endings of their culture, as real
// populations have a long tail of names few others share. The output is FEBRL CSV (see febrl.h),
// with record ids rec-N-org and rec-N-dup-K, so that `onedoor link eval` measures the matcher
// against the generator's truth.
//
// Deterministic: the same options give the same bytes on every platform (own PRNG and
// distributions, no std:: distributions, no floating-point library calls).

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "identity/record.h"

namespace identity {

// The kinds of corruption a duplicate may carry.
enum class Corruption : uint8_t {
  kTypo,             // a character inserted, deleted, replaced or two transposed
  kOcr,              // a scanning confusion: 0/o, 1/l, 5/s, rn/m, cl/d, 8/b...
  kKeyboard,         // a key next to the intended one on a QWERTY keyboard
  kNickname,         // a diminutive of the given name (nicknames.tsv)
  kSwappedFields,    // given/family names, day/month, or the two address lines exchanged
  kMissingValue,     // a field left empty
  kMarriage,         // a new family name (and often a new address)
  kTransliteration,  // a name written in its original script or another Latin spelling
  kMove,             // a new address: number, street, locality, postcode, state
};
inline constexpr size_t kCorruptionCount = 9;
std::string_view CorruptionName(Corruption c);

struct GeneratorOptions {
  uint64_t records = 1000;  // exactly this many records are produced
  uint64_t seed = 1;
  // The share of the records that are duplicates (the rest are originals), in [0, 0.9].
  double duplicates_share = 0.4;
  // At most this many duplicates of one person (the FEBRL sets use 5).
  uint32_t max_duplicates = 5;
  // Shuffles the records (as the FEBRL files are) instead of writing each person's together.
  bool shuffle = true;
};

struct GeneratedRecord {
  int64_t entity = 0;        // N of rec-N-...: the true person
  int32_t duplicate = -1;    // K of rec-N-dup-K, or -1 for the original
  uint32_t corruptions = 0;  // bit (1 << Corruption) for each corruption applied
  PersonRecord record;       // phone is never set (FEBRL has no phone column)

  std::string RecId() const;
  bool Has(Corruption c) const { return (corruptions >> static_cast<unsigned>(c)) & 1u; }
};

// Generates the records in entity order (each original, then its duplicates), calling `sink`
// for each. Uses little memory whatever the count.
void GenerateRecords(const GeneratorOptions& options,
                     const std::function<void(const GeneratedRecord&)>& sink);

// All records, shuffled when options.shuffle is set.
std::vector<GeneratedRecord> GenerateRecords(const GeneratorOptions& options);

// The FEBRL header line and one record as a FEBRL line (no line end). Fields never contain
// ", ".
std::string_view FebrlHeader();
std::string FebrlLine(const GeneratedRecord& r);

// Writes FEBRL CSV (header, then one line per record, LF line ends). Lines are formatted
// first and shuffled as text when options.shuffle is set, which keeps a million records
// in about 150 MB.
void WriteGeneratedFebrl(const GeneratorOptions& options, std::ostream& out);

// `onedoor link generate --records N --seed S [--out FILE] [--duplicates-share P]
// [--max-duplicates K]`; `args` are the words after "link generate". Writes FEBRL CSV to FILE
// or stdout and a one-line summary to stderr. Returns 0 on success, 2 for a usage error
// (message on stderr), 1 when the file cannot be written.
int RunLinkGenerate(const std::vector<std::string>& args);

}  // namespace identity
