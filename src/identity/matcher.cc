#include "identity/matcher.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <atomic>
#include <future>
#include <numeric>
#include <thread>
#include <unordered_map>

#include "identity/compare.h"

namespace identity {
namespace {

constexpr size_t Idx(Feature f) { return static_cast<size_t>(f); }

constexpr std::array<std::string_view, kFeatureCount> kFeatureNames = {
    "given_name",    "family_name", "date_of_birth", "identifier", "street_number", "address_line1",
    "address_line2", "locality",    "postcode",      "region",     "phone"};

constexpr std::array<ComparisonKind, kFeatureCount> kKinds = {
    ComparisonKind::kName, ComparisonKind::kName,     ComparisonKind::kDate, ComparisonKind::kCode,
    ComparisonKind::kCode, ComparisonKind::kText,     ComparisonKind::kText, ComparisonKind::kText,
    ComparisonKind::kCode, ComparisonKind::kCategory, ComparisonKind::kCode};

// Levels of each kind, weakest first. The numbers below must match these positions.
constexpr std::string_view kNameLevels[] = {
    "null", "else", "jw>=0.80", "phonetic", "jw>=0.90", "edit<=1", "nickname", "swapped", "exact"};
constexpr std::string_view kDateLevels[] = {
    "null", "else", "year", "year_month", "partial", "one_digit", "day_month_swapped", "exact"};
constexpr std::string_view kCodeLevels[] = {"null", "else", "edit<=2", "edit<=1", "exact"};
constexpr std::string_view kTextLevels[] = {"null",     "else",    "jw>=0.80",
                                            "jw>=0.90", "edit<=1", "exact"};
constexpr std::string_view kCategoryLevels[] = {"null", "else", "exact"};

namespace name_level {
constexpr uint8_t kJw80 = 2, kPhonetic = 3, kJw90 = 4, kEdit1 = 5, kNickname = 6, kSwapped = 7,
                  kExact = 8;
}
namespace date_level {
constexpr uint8_t kYear = 2, kYearMonth = 3, kPartial = 4, kOneDigit = 5, kSwapped = 6, kExact = 7;
}
namespace code_level {
constexpr uint8_t kEdit2 = 2, kEdit1 = 3, kExact = 4;
}
namespace text_level {
constexpr uint8_t kJw80 = 2, kJw90 = 3, kEdit1 = 4, kExact = 5;
}
namespace category_level {
constexpr uint8_t kExact = 2;
}

std::span<const std::string_view> LevelNames(ComparisonKind kind) {
  switch (kind) {
    case ComparisonKind::kName:
      return kNameLevels;
    case ComparisonKind::kDate:
      return kDateLevels;
    case ComparisonKind::kCode:
      return kCodeLevels;
    case ComparisonKind::kText:
      return kTextLevels;
    case ComparisonKind::kCategory:
      return kCategoryLevels;
  }
  return kCategoryLevels;
}

uint32_t PackCode(std::string_view code) {
  uint32_t packed = 0;
  for (size_t i = 0; i < code.size() && i < 4; ++i) {
    packed |= static_cast<uint32_t>(static_cast<unsigned char>(code[i])) << (8 * i);
  }
  return packed;
}

std::string Compact(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c != ' ') out.push_back(c);
  }
  return out;
}

uint64_t Mix(uint64_t x) {  // splitmix64 finaliser
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

uint64_t HashText(std::string_view s) {
  uint64_t h = 0xCBF29CE484222325ULL;  // FNV-1a, then mixed
  for (unsigned char c : s) h = (h ^ c) * 0x100000001B3ULL;
  return Mix(h);
}

uint64_t KeyHash(uint64_t kind, uint64_t a, uint64_t b = 0) {
  uint64_t h = Mix(Mix(kind * 0x100000001B3ULL ^ a) ^ (b * 0xC2B2AE3D27D4EB4FULL));
  return h == 0 ? 1 : h;
}

// Deterministic pseudo-random numbers for sampling (xorshift-multiply, seeded by splitmix).
class Random {
 public:
  explicit Random(uint64_t seed) : state_(Mix(seed)) {}
  uint64_t Next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1DULL;
  }
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>((Next() >> 32) * n >> 32); }

 private:
  uint64_t state_;
};

uint8_t TextLevel(std::string_view a, std::string_view b) {
  if (a == b) return text_level::kExact;
  if (OsaDistance(a, b, 1) <= 1) return text_level::kEdit1;
  double jw = JaroWinkler(a, b);
  if (jw >= 0.9) return text_level::kJw90;
  if (jw >= 0.8) return text_level::kJw80;
  return kLevelElse;
}

bool NearlyEqual(std::string_view a, std::string_view b) {
  return a == b || OsaDistance(a, b, 1) <= 1;
}

uint8_t NameLevel(Feature f, std::string_view a, std::string_view b,
                  const RecordTable::NameCodes& ca, const RecordTable::NameCodes& cb) {
  if (f == Feature::kGivenName) {
    for (uint16_t x : ca.nickname_group) {
      if (x != 0xFFFF && (x == cb.nickname_group[0] || x == cb.nickname_group[1])) {
        return name_level::kNickname;
      }
    }
  }
  if (OsaDistance(a, b, 1) <= 1) return name_level::kEdit1;
  double jw = JaroWinkler(a, b);
  if (jw >= 0.9) return name_level::kJw90;
  if (ca.metaphone_primary != 0 && cb.metaphone_primary != 0 &&
      (ca.metaphone_primary == cb.metaphone_primary ||
       ca.metaphone_primary == cb.metaphone_alternate ||
       ca.metaphone_alternate == cb.metaphone_primary ||
       ca.metaphone_alternate == cb.metaphone_alternate)) {
    return name_level::kPhonetic;
  }
  if (jw >= 0.8) return name_level::kJw80;
  return kLevelElse;
}

uint8_t DateLevel(const DateKey& a, const DateKey& b) {
  switch (CompareDates(a, b)) {
    case DateAgreement::kExact:
      return date_level::kExact;
    case DateAgreement::kDayMonthSwapped:
      return date_level::kSwapped;
    case DateAgreement::kOneDigitOff:
      return date_level::kOneDigit;
    case DateAgreement::kPartial:
      return date_level::kPartial;
    case DateAgreement::kYearMonth:
      return date_level::kYearMonth;
    case DateAgreement::kYear:
      return date_level::kYear;
    case DateAgreement::kDisagree:
      return kLevelElse;
    case DateAgreement::kMissing:
      return kLevelNull;
  }
  return kLevelElse;
}

uint8_t CodeLevel(std::string_view a, std::string_view b) {
  if (a == b) return code_level::kExact;
  int d = OsaDistance(a, b, 2);
  if (d <= 1) return code_level::kEdit1;
  if (d <= 2) return code_level::kEdit2;
  return kLevelElse;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Features and levels

std::string_view FeatureName(Feature f) { return kFeatureNames[Idx(f)]; }

std::optional<Feature> FeatureByName(std::string_view name) {
  for (size_t i = 0; i < kFeatureCount; ++i) {
    if (kFeatureNames[i] == name) return static_cast<Feature>(i);
  }
  return std::nullopt;
}

ComparisonKind KindOf(Feature f) { return kKinds[Idx(f)]; }
size_t LevelCount(Feature f) { return LevelNames(KindOf(f)).size(); }
uint8_t ExactLevel(Feature f) { return static_cast<uint8_t>(LevelCount(f) - 1); }

std::string_view LevelName(Feature f, uint8_t level) {
  auto names = LevelNames(KindOf(f));
  return level < names.size() ? names[level] : std::string_view("?");
}

std::optional<uint8_t> LevelByName(Feature f, std::string_view name) {
  auto names = LevelNames(KindOf(f));
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<uint8_t>(i);
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// RecordTable

RecordTable::RecordTable() {
  for (Dictionary& d : dict_) {
    d.texts.emplace_back();
    d.counts.push_back(0);
    d.hashes.push_back(0);
    d.slots.assign(64, 0);
  }
  given_codes_.emplace_back();
  family_codes_.emplace_back();
  dates_.emplace_back();
}

void RecordTable::Reserve(size_t rows) { rows_.reserve(rows); }

uint32_t RecordTable::Intern(Feature f, std::string&& text, bool* added) {
  Dictionary& d = dict_[Idx(f)];
  *added = false;
  if (text.empty()) return 0;
  ++non_null_[Idx(f)];
  const uint64_t h = HashText(text);
  size_t mask = d.slots.size() - 1;
  size_t pos = static_cast<size_t>(h) & mask;
  while (uint32_t id = d.slots[pos]) {
    if (d.hashes[id] == h && d.texts[id] == text) {
      ++d.counts[id];
      return id;
    }
    pos = (pos + 1) & mask;
  }
  auto id = static_cast<uint32_t>(d.texts.size());
  d.texts.push_back(std::move(text));
  d.counts.push_back(1);
  d.hashes.push_back(h);
  d.slots[pos] = id;
  *added = true;
  if (d.texts.size() * 2 > d.slots.size()) {  // keep the table at most half full
    std::vector<uint32_t> bigger(d.slots.size() * 2, 0);
    mask = bigger.size() - 1;
    for (uint32_t i = 1; i < d.texts.size(); ++i) {
      size_t p = static_cast<size_t>(d.hashes[i]) & mask;
      while (bigger[p] != 0) p = (p + 1) & mask;
      bigger[p] = i;
    }
    d.slots = std::move(bigger);
  }
  return id;
}

namespace {

// A record's normalised text per feature ("" when missing) and its date of birth.
struct NormalizedRecord {
  std::array<std::string, kFeatureCount> text;
  DateKey date;
};

NormalizedRecord Normalize(const PersonRecord& r) {
  NormalizedRecord n;
  auto name = [&](Feature f, const std::string& raw) {
    if (!raw.empty()) n.text[Idx(f)] = Compact(NormalizeName(raw).latin);
  };
  auto address = [&](Feature f, const std::string& raw) {
    if (raw.empty()) return;
    AddressKey key = NormalizeAddress(raw);
    std::string& text = n.text[Idx(f)];
    for (const std::string& w : key.words) text += w;
    for (const std::string& number : key.numbers) text += number;
  };
  name(Feature::kGivenName, r.given_name);
  name(Feature::kFamilyName, r.family_name);
  if (!r.date_of_birth.empty()) {
    auto date = ParseDate(r.date_of_birth);
    if (date.ok()) {
      n.date = *date;
      n.text[Idx(Feature::kDateOfBirth)] = date->ToDigits();
    }
  }
  n.text[Idx(Feature::kIdentifier)] = NormalizeIdentifier(r.identifier);
  n.text[Idx(Feature::kStreetNumber)] = NormalizeIdentifier(r.street_number);
  address(Feature::kAddressLine1, r.address_line1);
  address(Feature::kAddressLine2, r.address_line2);
  address(Feature::kLocality, r.locality);
  n.text[Idx(Feature::kPostcode)] = NormalizeIdentifier(r.postcode);
  n.text[Idx(Feature::kRegion)] = NormalizeIdentifier(r.region);
  if (!r.phone.empty()) {
    auto phone = NormalizePhone(r.phone);
    if (phone.ok()) n.text[Idx(Feature::kPhone)] = std::move(phone).value();
  }
  return n;
}

RecordTable::NameCodes MakeNameCodes(Feature f, std::string_view text) {
  RecordTable::NameCodes c;
  PhoneticCode dm = DoubleMetaphone(text);
  c.metaphone_primary = PackCode(dm.primary);
  c.metaphone_alternate = PackCode(dm.alternate);
  if (f == Feature::kGivenName) {
    std::span<const uint16_t> groups = NicknameTable::Builtin().Groups(text);
    for (size_t i = 0; i < groups.size() && i < 2; ++i) c.nickname_group[i] = groups[i];
  }
  return c;
}

}  // namespace

uint32_t RecordTable::Find(Feature f, std::string_view text) const {
  if (text.empty()) return 0;
  const Dictionary& d = dict_[Idx(f)];
  const uint64_t h = HashText(text);
  const size_t mask = d.slots.size() - 1;
  for (size_t pos = static_cast<size_t>(h) & mask; uint32_t id = d.slots[pos];
       pos = (pos + 1) & mask) {
    if (d.hashes[id] == h && d.texts[id] == text) return id;
  }
  return ProbeKeys::kUnseen;
}

uint32_t RecordTable::Add(const PersonRecord& r) {
  NormalizedRecord n = Normalize(r);
  Row row;
  bool added = false;
  for (size_t i = 0; i < kFeatureCount; ++i) {
    auto f = static_cast<Feature>(i);
    row.value[i] = Intern(f, std::move(n.text[i]), &added);
    if (!added) continue;
    std::string_view text = Text(f, row.value[i]);
    if (f == Feature::kGivenName) given_codes_.push_back(MakeNameCodes(f, text));
    if (f == Feature::kFamilyName) family_codes_.push_back(MakeNameCodes(f, text));
    if (f == Feature::kDateOfBirth) dates_.push_back(n.date);
  }
  rows_.push_back(row);
  return static_cast<uint32_t>(rows_.size() - 1);
}

ProbeKeys RecordTable::Probe(const PersonRecord& r) const {
  NormalizedRecord n = Normalize(r);
  ProbeKeys p;
  for (size_t i = 0; i < kFeatureCount; ++i) {
    p.value[i] = Find(static_cast<Feature>(i), n.text[i]);
    p.text[i] = std::move(n.text[i]);
  }
  p.given_codes = MakeNameCodes(Feature::kGivenName, p.text[Idx(Feature::kGivenName)]);
  p.family_codes = MakeNameCodes(Feature::kFamilyName, p.text[Idx(Feature::kFamilyName)]);
  p.date = n.date;
  return p;
}

// ---------------------------------------------------------------------------------------------
// Comparison

namespace {

// Read access to one record's comparison keys, whether a row of the table or a probe, so that
// one comparison serves both. Value ids are comparable between the two (a probe's value the
// table does not know is ProbeKeys::kUnseen, equal to no row's).
struct RowView {
  const RecordTable& t;
  uint32_t row;
  uint32_t Value(Feature f) const { return t.Value(row, f); }
  std::string_view Text(Feature f) const { return t.Text(f, t.Value(row, f)); }
  const RecordTable::NameCodes& Codes(Feature f) const { return t.Codes(f, t.Value(row, f)); }
  const DateKey& Date() const { return t.Date(t.Value(row, Feature::kDateOfBirth)); }
};

struct ProbeView {
  const ProbeKeys& p;
  uint32_t Value(Feature f) const { return p.text[Idx(f)].empty() ? 0 : p.value[Idx(f)]; }
  std::string_view Text(Feature f) const { return p.text[Idx(f)]; }
  const RecordTable::NameCodes& Codes(Feature f) const {
    return f == Feature::kGivenName ? p.given_codes : p.family_codes;
  }
  const DateKey& Date() const { return p.date; }
};

template <typename A, typename B>
Levels Compare(const A& a, const B& b, const FeatureMask& use) {
  Levels levels{};
  for (size_t i = 0; i < kFeatureCount; ++i) {
    if (!use[i]) continue;
    auto f = static_cast<Feature>(i);
    uint32_t va = a.Value(f), vb = b.Value(f);
    if (va == 0 || vb == 0) continue;
    const bool same = va == vb && va != ProbeKeys::kUnseen;
    switch (kKinds[i]) {
      case ComparisonKind::kName:
        levels[i] =
            same ? name_level::kExact : NameLevel(f, a.Text(f), b.Text(f), a.Codes(f), b.Codes(f));
        break;
      case ComparisonKind::kDate:
        levels[i] = DateLevel(a.Date(), b.Date());
        break;
      case ComparisonKind::kCode:
        levels[i] = same ? code_level::kExact : CodeLevel(a.Text(f), b.Text(f));
        break;
      case ComparisonKind::kText:
        levels[i] = same ? text_level::kExact : TextLevel(a.Text(f), b.Text(f));
        break;
      case ComparisonKind::kCategory:
        levels[i] = same || a.Text(f) == b.Text(f) ? category_level::kExact : kLevelElse;
        break;
    }
  }

  // Given and family names written the wrong way round.
  constexpr size_t kGiven = Idx(Feature::kGivenName), kFamily = Idx(Feature::kFamilyName);
  if (use[kGiven] && use[kFamily] && levels[kGiven] != kLevelNull &&
      levels[kFamily] != kLevelNull && levels[kGiven] <= name_level::kJw80 &&
      levels[kFamily] <= name_level::kJw80) {
    if (NearlyEqual(a.Text(Feature::kGivenName), b.Text(Feature::kFamilyName)) &&
        NearlyEqual(a.Text(Feature::kFamilyName), b.Text(Feature::kGivenName))) {
      levels[kGiven] = levels[kFamily] = name_level::kSwapped;
    }
  }

  // Address lines written in each other's place.
  constexpr size_t kLine1 = Idx(Feature::kAddressLine1), kLine2 = Idx(Feature::kAddressLine2);
  if (use[kLine1] && use[kLine2] && levels[kLine1] + levels[kLine2] < 2 * text_level::kExact) {
    uint8_t x12 = 0, x21 = 0;
    if (a.Value(Feature::kAddressLine1) != 0 && b.Value(Feature::kAddressLine2) != 0) {
      x12 = TextLevel(a.Text(Feature::kAddressLine1), b.Text(Feature::kAddressLine2));
    }
    if (a.Value(Feature::kAddressLine2) != 0 && b.Value(Feature::kAddressLine1) != 0) {
      x21 = TextLevel(a.Text(Feature::kAddressLine2), b.Text(Feature::kAddressLine1));
    }
    if (x12 + x21 > levels[kLine1] + levels[kLine2]) {
      levels[kLine1] = x12;
      levels[kLine2] = x21;
    }
  }
  return levels;
}

}  // namespace

Levels CompareRows(const RecordTable& t, uint32_t a, uint32_t b, const FeatureMask& use) {
  return Compare(RowView{t, a}, RowView{t, b}, use);
}

Levels CompareProbe(const RecordTable& t, const ProbeKeys& probe, uint32_t row,
                    const FeatureMask& use) {
  return Compare(ProbeView{probe}, RowView{t, row}, use);
}

// ---------------------------------------------------------------------------------------------
// Blocking

std::string_view BlockingKeyName(BlockingKey k) {
  static constexpr std::string_view kNames[] = {"identifier",
                                                "date_of_birth_given_initial",
                                                "date_of_birth_family_initial",
                                                "date_of_birth_postcode",
                                                "names_phonetic",
                                                "family_name_birth_year",
                                                "postcode_number_street_initial",
                                                "given_name_postcode",
                                                "family_name_postcode",
                                                "family_name_street_number",
                                                "given_name_family_prefix",
                                                "address_line1_locality",
                                                "address_line2_locality",
                                                "address_line1_postcode",
                                                "phone"};
  static_assert(std::size(kNames) == kBlockingKeyCount);
  return kNames[static_cast<size_t>(k)];
}

FeatureMask BlockingKeyFeatures(BlockingKey k) {
  FeatureMask m{};
  auto set = [&](std::initializer_list<Feature> fs) {
    for (Feature f : fs) m[Idx(f)] = true;
  };
  switch (k) {
    case BlockingKey::kIdentifier: set({Feature::kIdentifier}); break;
    case BlockingKey::kDateOfBirthGivenInitial:
    case BlockingKey::kDateOfBirthFamilyInitial:
      set({Feature::kDateOfBirth});
      break;
    case BlockingKey::kDateOfBirthPostcode: set({Feature::kDateOfBirth, Feature::kPostcode}); break;
    case BlockingKey::kNamesPhonetic: set({Feature::kGivenName, Feature::kFamilyName}); break;
    case BlockingKey::kFamilyNameBirthYear:
      set({Feature::kFamilyName, Feature::kDateOfBirth});
      break;
    case BlockingKey::kPostcodeNumberStreetInitial:
      set({Feature::kPostcode, Feature::kStreetNumber});
      break;
    case BlockingKey::kGivenNamePostcode: set({Feature::kGivenName, Feature::kPostcode}); break;
    case BlockingKey::kFamilyNamePostcode: set({Feature::kFamilyName, Feature::kPostcode}); break;
    case BlockingKey::kFamilyNameStreetNumber:
      set({Feature::kFamilyName, Feature::kStreetNumber});
      break;
    case BlockingKey::kGivenNameFamilyPrefix:
      set({Feature::kGivenName, Feature::kFamilyName});
      break;
    case BlockingKey::kAddressLine1Locality:
    case BlockingKey::kAddressLine2Locality:
      set({Feature::kAddressLine1, Feature::kAddressLine2, Feature::kLocality});
      break;
    case BlockingKey::kAddressLine1Postcode:
      set({Feature::kAddressLine1, Feature::kPostcode});
      break;
    case BlockingKey::kPhone: set({Feature::kPhone}); break;
  }
  return m;
}

Levels SelectionFreeLevels(Levels levels, uint16_t keys) {
  static const std::array<FeatureMask, kBlockingKeyCount> kFeaturesOf = [] {
    std::array<FeatureMask, kBlockingKeyCount> a{};
    for (size_t k = 0; k < kBlockingKeyCount; ++k) {
      a[k] = BlockingKeyFeatures(static_cast<BlockingKey>(k));
    }
    return a;
  }();
  if (keys == 0) return levels;
  for (size_t i = 0; i < kFeatureCount; ++i) {
    bool in_every_key = true;
    for (size_t k = 0; k < kBlockingKeyCount && in_every_key; ++k) {
      if ((keys >> k) & 1u) in_every_key = kFeaturesOf[k][i];
    }
    if (in_every_key) levels[i] = kLevelNull;
  }
  return levels;
}

namespace {

template <typename View>
std::array<uint64_t, kBlockingKeyCount> KeysOfView(const View& v, const FeatureMask& use) {
  std::array<uint64_t, kBlockingKeyCount> keys{};
  auto value = [&](Feature f) -> uint32_t { return use[Idx(f)] ? v.Value(f) : 0; };
  auto set = [&](BlockingKey k, uint64_t a, uint64_t b) {
    keys[static_cast<size_t>(k)] = KeyHash(static_cast<uint64_t>(k) + 1, a, b);
  };
  const uint32_t given = value(Feature::kGivenName), family = value(Feature::kFamilyName);
  const uint32_t dob = value(Feature::kDateOfBirth), postcode = value(Feature::kPostcode);
  const uint32_t number = value(Feature::kStreetNumber), locality = value(Feature::kLocality);
  const uint32_t line1 = value(Feature::kAddressLine1), line2 = value(Feature::kAddressLine2);
  if (uint32_t v = value(Feature::kIdentifier)) set(BlockingKey::kIdentifier, v, 0);
  if (uint32_t v = value(Feature::kPhone)) set(BlockingKey::kPhone, v, 0);
  auto initial = [&](Feature f) -> uint64_t {
    std::string_view text = v.Text(f);
    return text.empty() ? 0 : static_cast<unsigned char>(text[0]);
  };
  if (dob != 0) {
    const DateKey& d = v.Date();
    if (d.year && d.month && d.day) {
      // Both initials hash under one key kind, so a given name written as the family name
      // still meets.
      constexpr uint64_t kKind = 200;
      if (given != 0) {
        keys[static_cast<size_t>(BlockingKey::kDateOfBirthGivenInitial)] =
            KeyHash(kKind, dob, initial(Feature::kGivenName));
      }
      if (family != 0) {
        keys[static_cast<size_t>(BlockingKey::kDateOfBirthFamilyInitial)] =
            KeyHash(kKind, dob, initial(Feature::kFamilyName));
      }
      if (postcode != 0) set(BlockingKey::kDateOfBirthPostcode, dob, postcode);
    }
    if (family != 0 && d.year)
      set(BlockingKey::kFamilyNameBirthYear, family, static_cast<uint64_t>(d.year));
  }
  if (given != 0 && family != 0) {
    uint32_t x = v.Codes(Feature::kGivenName).metaphone_primary;
    uint32_t y = v.Codes(Feature::kFamilyName).metaphone_primary;
    if (x != 0 && y != 0) set(BlockingKey::kNamesPhonetic, std::min(x, y), std::max(x, y));
    std::string_view f = v.Text(Feature::kFamilyName);
    set(BlockingKey::kGivenNameFamilyPrefix, given, HashText(f.substr(0, 2)));
  }
  if (postcode != 0) {
    if (number != 0) {
      uint32_t street = line1 != 0 ? line1 : line2;
      if (street != 0) {
        std::string_view text =
            v.Text(line1 != 0 ? Feature::kAddressLine1 : Feature::kAddressLine2);
        set(BlockingKey::kPostcodeNumberStreetInitial, postcode,
            (static_cast<uint64_t>(number) << 8) | static_cast<unsigned char>(text[0]));
      }
    }
    if (given != 0) set(BlockingKey::kGivenNamePostcode, given, postcode);
    if (family != 0) set(BlockingKey::kFamilyNamePostcode, family, postcode);
    if (line1 != 0) set(BlockingKey::kAddressLine1Postcode, line1, postcode);
  }
  if (locality != 0) {
    // Both lines hash their text under one key kind, so line 1 of one record meets line 2 of
    // another.
    if (line1 != 0) {
      keys[static_cast<size_t>(BlockingKey::kAddressLine1Locality)] =
          KeyHash(100, HashText(v.Text(Feature::kAddressLine1)), locality);
    }
    if (line2 != 0) {
      keys[static_cast<size_t>(BlockingKey::kAddressLine2Locality)] =
          KeyHash(100, HashText(v.Text(Feature::kAddressLine2)), locality);
    }
  }
  if (family != 0 && number != 0) set(BlockingKey::kFamilyNameStreetNumber, family, number);
  return keys;
}

}  // namespace

std::array<uint64_t, kBlockingKeyCount> BlockingIndex::KeysOf(const RecordTable& table,
                                                              uint32_t row,
                                                              const FeatureMask& use) {
  return KeysOfView(RowView{table, row}, use);
}

std::array<uint64_t, kBlockingKeyCount> BlockingIndex::KeysOf(const ProbeKeys& probe,
                                                              const FeatureMask& use) {
  return KeysOfView(ProbeView{probe}, use);
}

BlockingIndex::BlockingIndex(const RecordTable& table, std::span<const uint32_t> rows,
                             const FeatureMask& use, size_t max_block_size)
    : use_(use), max_block_size_(max_block_size) {
  struct Entry {
    uint64_t key;
    uint32_t row;
    uint8_t kind;
  };
  std::vector<Entry> entries;
  entries.reserve(rows.size() * 8);
  for (uint32_t row : rows) {
    auto keys = KeysOf(table, row, use);
    for (size_t k = 0; k < kBlockingKeyCount; ++k) {
      if (keys[k] != 0) entries.push_back({keys[k], row, static_cast<uint8_t>(k)});
    }
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& x, const Entry& y) {
    return x.key != y.key ? x.key < y.key : x.row < y.row;
  });
  size_t distinct = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i == 0 || entries[i].key != entries[i - 1].key) ++distinct;
  }
  size_t capacity = 16;
  while (capacity < distinct * 2) capacity <<= 1;
  slots_.assign(capacity, Slot{});
  rows_.resize(entries.size());
  for (size_t i = 0; i < entries.size();) {
    size_t j = i;
    while (j < entries.size() && entries[j].key == entries[i].key) {
      rows_[j] = entries[j].row;
      ++j;
    }
    size_t pos = static_cast<size_t>(entries[i].key) & (capacity - 1);
    while (slots_[pos].key != 0) pos = (pos + 1) & (capacity - 1);
    slots_[pos] = Slot{entries[i].key, static_cast<uint32_t>(i), static_cast<uint32_t>(j - i)};
    ++block_count_;
    if (j - i > max_block_size_) {
      ++capped_blocks_;
      ++capped_by_key_[entries[i].kind];
      rows_in_capped_ += j - i;
    }
    i = j;
  }
}

void BlockingStats::AddPairs(const BlockingStats& other) {
  pairs_generated += other.pairs_generated;
  pairs_compared += other.pairs_compared;
  for (size_t k = 0; k < kBlockingKeyCount; ++k) pairs_by_key[k] += other.pairs_by_key[k];
}

const BlockingIndex::Slot* BlockingIndex::Find(uint64_t key) const {
  size_t mask = slots_.size() - 1;
  size_t pos = static_cast<size_t>(key) & mask;
  while (slots_[pos].key != 0) {
    if (slots_[pos].key == key) return &slots_[pos];
    pos = (pos + 1) & mask;
  }
  return nullptr;
}

void BlockingIndex::Candidates(const RecordTable& table, uint32_t row, std::vector<uint32_t>& out,
                               BlockingStats& stats, uint32_t min_row) const {
  Gather(KeysOf(table, row, use_), row, min_row, out, nullptr, stats);
}

void BlockingIndex::Candidates(const RecordTable& table, uint32_t row, std::vector<uint32_t>& out,
                               std::vector<uint16_t>& keys, BlockingStats& stats,
                               uint32_t min_row) const {
  Gather(KeysOf(table, row, use_), row, min_row, out, &keys, stats);
}

void BlockingIndex::Candidates(const ProbeKeys& probe, std::vector<uint32_t>& out,
                               BlockingStats& stats) const {
  Gather(KeysOf(probe, use_), ProbeKeys::kUnseen, 0, out, nullptr, stats);
}

void BlockingIndex::Gather(const std::array<uint64_t, kBlockingKeyCount>& keys, uint32_t row,
                           uint32_t min_row, std::vector<uint32_t>& out,
                           std::vector<uint16_t>* key_masks, BlockingStats& stats) const {
  out.clear();
  if (key_masks != nullptr) key_masks->clear();
  // With key masks, each found row is gathered as (row << 16 | bit of the key) into `tagged`.
  thread_local std::vector<uint64_t> tagged;
  tagged.clear();
  for (size_t k = 0; k < kBlockingKeyCount; ++k) {
    if (keys[k] == 0) continue;
    const Slot* slot = Find(keys[k]);
    if (slot == nullptr || slot->count > max_block_size_) continue;
    uint64_t found = 0;
    for (uint32_t i = slot->start; i < slot->start + slot->count; ++i) {
      if (rows_[i] >= min_row && rows_[i] != row) {
        if (key_masks != nullptr) {
          tagged.push_back(static_cast<uint64_t>(rows_[i]) << 16 | (1u << k));
        } else {
          out.push_back(rows_[i]);
        }
        ++found;
      }
    }
    stats.pairs_by_key[k] += found;
    stats.pairs_generated += found;
  }
  if (key_masks != nullptr) {
    std::sort(tagged.begin(), tagged.end());
    for (uint64_t t : tagged) {
      const auto r = static_cast<uint32_t>(t >> 16);
      const auto bit = static_cast<uint16_t>(t & 0xFFFF);
      if (!out.empty() && out.back() == r) {
        key_masks->back() |= bit;
      } else {
        out.push_back(r);
        key_masks->push_back(bit);
      }
    }
  } else {
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
  stats.pairs_compared += out.size();
}

// ---------------------------------------------------------------------------------------------
// Model

Model Model::Starter() {
  Model model = Neutral();
  model.note = "hand-set starter model, used until `onedoor link dedupe` trains one";
  model.prior = 1e-4;
  model.contact_as_one = true;
  for (size_t i = 0; i < kFeatureCount; ++i) {
    const size_t n = model.m[i].size();
    for (size_t l = 1; l < n; ++l) {
      model.m[i][l] = 0.1 / static_cast<double>(n - 2);
      model.u[i][l] = 0.02 / static_cast<double>(n - 2);
    }
    model.m[i][n - 1] = 0.85;
    model.m[i][kLevelElse] = 0.05;
    model.u[i][n - 1] = 0.001;
    model.u[i][kLevelElse] = 0.979;
  }
  model.term_frequency[static_cast<size_t>(Feature::kGivenName)] = true;
  model.term_frequency[static_cast<size_t>(Feature::kFamilyName)] = true;
  return model;
}

Model Model::Neutral() {
  Model model;
  for (size_t i = 0; i < kFeatureCount; ++i) {
    size_t n = LevelCount(static_cast<Feature>(i));
    model.m[i].assign(n, 1.0 / static_cast<double>(n - 1));
    model.u[i].assign(n, 1.0 / static_cast<double>(n - 1));
    model.m[i][0] = model.u[i][0] = 0;
  }
  return model;
}

namespace {
std::string FormatDouble(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}
}  // namespace

std::string Model::ToText() const {
  std::string out = "onedoor-identity-model 1\n";
  out += "version " + std::to_string(version) + "\n";
  if (!note.empty()) out += "note " + note + "\n";
  out += "prior " + FormatDouble(prior) + "\n";
  if (contact_as_one) out += "contact_as_one 1\n";
  for (size_t i = 0; i < kFeatureCount; ++i) {
    auto f = static_cast<Feature>(i);
    out += "feature " + std::string(FeatureName(f)) + " use=" + (use[i] ? "1" : "0") +
           " tf=" + (term_frequency[i] ? "1" : "0") + "\n";
    if (!use[i]) continue;
    for (size_t l = 1; l < LevelCount(f); ++l) {
      out += "level " + std::string(FeatureName(f)) + " " +
             std::string(LevelName(f, static_cast<uint8_t>(l))) + " m=" + FormatDouble(m[i][l]) +
             " u=" + FormatDouble(u[i][l]) + "\n";
    }
  }
  return out;
}

core::StatusOr<Model> Model::FromText(std::string_view text) {
  Model model = Neutral();
  model.use = {};
  for (size_t i = 0; i < kFeatureCount; ++i) {
    std::fill(model.m[i].begin(), model.m[i].end(), -1.0);
    std::fill(model.u[i].begin(), model.u[i].end(), -1.0);
  }
  size_t line_number = 0, pos = 0;
  bool header = false;
  auto error = [&](const std::string& what) {
    return core::Status::InvalidArgument("model line " + std::to_string(line_number) + ": " + what);
  };
  auto parse_double = [](std::string_view s, double* out) {
    std::string copy(s);
    char* end = nullptr;
    *out = std::strtod(copy.c_str(), &end);
    return end != nullptr && *end == '\0' && !copy.empty();
  };
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    std::vector<std::string_view> words;
    for (size_t i = 0; i < line.size();) {
      size_t j = line.find(' ', i);
      if (j == std::string_view::npos) j = line.size();
      if (j > i) words.push_back(line.substr(i, j - i));
      i = j + 1;
    }
    if (!header) {
      if (words.size() != 2 || words[0] != "onedoor-identity-model" || words[1] != "1") {
        return error("expected 'onedoor-identity-model 1'");
      }
      header = true;
      continue;
    }
    if (words[0] == "version" && words.size() == 2) {
      double v;
      if (!parse_double(words[1], &v) || v < 1 || v != std::floor(v)) {
        return error("version must be a positive integer");
      }
      model.version = static_cast<int>(v);
    } else if (words[0] == "note") {
      model.note = line.size() > 5 ? std::string(line.substr(5)) : std::string();
    } else if (words[0] == "prior" && words.size() == 2) {
      if (!parse_double(words[1], &model.prior) || !(model.prior > 0 && model.prior < 1)) {
        return error("prior must be a number between 0 and 1");
      }
    } else if (words[0] == "contact_as_one" && words.size() == 2) {
      if (words[1] != "0" && words[1] != "1") return error("contact_as_one must be 0 or 1");
      model.contact_as_one = words[1] == "1";
    } else if (words[0] == "feature" && words.size() == 4) {
      auto f = FeatureByName(words[1]);
      if (!f) return error("unknown feature '" + std::string(words[1]) + "'");
      if ((words[2] != "use=0" && words[2] != "use=1") ||
          (words[3] != "tf=0" && words[3] != "tf=1")) {
        return error("expected use=0|1 tf=0|1");
      }
      model.use[Idx(*f)] = words[2] == "use=1";
      model.term_frequency[Idx(*f)] = words[3] == "tf=1";
    } else if (words[0] == "level" && words.size() == 5) {
      auto f = FeatureByName(words[1]);
      if (!f) return error("unknown feature '" + std::string(words[1]) + "'");
      auto level = LevelByName(*f, words[2]);
      if (!level || *level == kLevelNull) {
        return error("unknown level '" + std::string(words[2]) + "' of " + std::string(words[1]));
      }
      double m, u;
      if (!words[3].starts_with("m=") || !words[4].starts_with("u=") ||
          !parse_double(words[3].substr(2), &m) || !parse_double(words[4].substr(2), &u)) {
        return error("expected m=NUMBER u=NUMBER");
      }
      model.m[Idx(*f)][*level] = m;
      model.u[Idx(*f)][*level] = u;
    } else {
      return error("unknown line '" + std::string(words[0]) + "'");
    }
  }
  if (!header) {
    line_number = 1;
    return error("expected 'onedoor-identity-model 1'");
  }
  for (size_t i = 0; i < kFeatureCount; ++i) {
    model.m[i][kLevelNull] = model.u[i][kLevelNull] = 0;
    auto f = static_cast<Feature>(i);
    if (!model.use[i]) {  // levels of an unused feature need not be given: neutral
      for (size_t l = 1; l < LevelCount(f); ++l) {
        if (model.m[i][l] < 0) model.m[i][l] = 1.0 / static_cast<double>(LevelCount(f) - 1);
        if (model.u[i][l] < 0) model.u[i][l] = 1.0 / static_cast<double>(LevelCount(f) - 1);
      }
      continue;
    }
    for (size_t l = 1; l < LevelCount(f); ++l) {
      double m = model.m[i][l], u = model.u[i][l];
      if (!(m > 0 && m <= 1 && u > 0 && u <= 1)) {
        return core::Status::FailedPrecondition("model level " + std::string(FeatureName(f)) + " " +
                                                std::string(LevelName(f, static_cast<uint8_t>(l))) +
                                                " needs m and u in (0, 1]");
      }
    }
  }
  return model;
}

// ---------------------------------------------------------------------------------------------
// Scorer

Scorer::Scorer(const RecordTable& table, Model model) : table_(table), model_(std::move(model)) {
  double prior = std::clamp(model_.prior, 1e-12, 1 - 1e-12);
  prior_weight_ = std::log2(prior / (1 - prior));
  for (size_t i = 0; i < kFeatureCount; ++i) {
    size_t n = LevelCount(static_cast<Feature>(i));
    weight_[i].assign(n, 0.0);
    if (!model_.use[i]) continue;
    for (size_t l = 1; l < n; ++l) {
      double m = std::max(model_.m[i][l], 1e-12), u = std::max(model_.u[i][l], 1e-12);
      weight_[i][l] = std::log2(m / u);
    }
    log2_m_exact_[i] = std::log2(std::max(model_.m[i][n - 1], 1e-12));
  }
}

double Scorer::Probability(double weight) { return 1.0 / (1.0 + std::exp2(-weight)); }

double Scorer::WeightOfProbability(double probability) {
  double p = std::clamp(probability, 1e-12, 1 - 1e-12);
  return std::log2(p / (1 - p));
}

double Scorer::ExactTermWeight(Feature f, uint32_t value) const {
  size_t i = Idx(f);
  size_t exact = weight_[i].size() - 1;
  uint32_t total = table_.NonNullCount(f);
  uint32_t count = table_.Count(f, value);
  if (total == 0 || count == 0) return weight_[i][exact];
  double p = static_cast<double>(count) / static_cast<double>(total);
  return std::max(log2_m_exact_[i] - std::log2(p), weight_[i][exact - 1]);
}

namespace {
// Where a person lives and how to reach them: the address's parts and the phone. They describe
// one fact about a person and change together (a move, a new household), and people of one
// household share them, so they are not independent evidence: however many of them agree, they
// count together as much as the strongest one of them, and however many disagree, as much as
// the strongest disagreement. Without this a different person at the same address scored
// certain and the same person after a move scored nothing.
constexpr std::array<Feature, 7> kContactFeatures = {
    Feature::kStreetNumber, Feature::kAddressLine1, Feature::kAddressLine2, Feature::kLocality,
    Feature::kPostcode,     Feature::kRegion,       Feature::kPhone};

void CombineContact(std::array<double, kFeatureCount>& w) {
  double sum_for = 0, most_for = 0, sum_against = 0, most_against = 0;
  for (Feature f : kContactFeatures) {
    const double x = w[Idx(f)];
    if (x > 0) {
      sum_for += x;
      most_for = std::max(most_for, x);
    } else if (x < 0) {
      sum_against += x;
      most_against = std::min(most_against, x);
    }
  }
  const double scale_for = sum_for > most_for ? most_for / sum_for : 1.0;
  const double scale_against = sum_against < most_against ? most_against / sum_against : 1.0;
  if (scale_for == 1.0 && scale_against == 1.0) return;
  for (Feature f : kContactFeatures) {
    double& x = w[Idx(f)];
    x *= x > 0 ? scale_for : scale_against;
  }
}
}  // namespace

void Scorer::FieldWeights(const Levels& levels, uint32_t a,
                          std::array<double, kFeatureCount>& w) const {
  for (size_t i = 0; i < kFeatureCount; ++i) {
    const uint8_t l = levels[i];
    if (l == kLevelNull || !model_.use[i]) {
      w[i] = 0;
    } else if (model_.term_frequency[i] && l == weight_[i].size() - 1) {
      const auto f = static_cast<Feature>(i);
      w[i] = ExactTermWeight(f, table_.Value(a, f));
    } else {
      w[i] = weight_[i][l];
    }
  }
  if (model_.contact_as_one) CombineContact(w);
}

double Scorer::Weight(const Levels& levels, uint32_t a) const {
  std::array<double, kFeatureCount> w;
  FieldWeights(levels, a, w);
  double total = prior_weight_;
  for (double x : w) total += x;
  return total;
}

Explanation Scorer::Explain(uint32_t a, uint32_t b) const { return Explain(Compare(a, b), a); }

Explanation Scorer::Explain(const Levels& levels, uint32_t a) const {
  std::array<double, kFeatureCount> w;
  FieldWeights(levels, a, w);
  Explanation e;
  e.prior_weight = prior_weight_;
  e.total = prior_weight_;
  for (size_t i = 0; i < kFeatureCount; ++i) {
    if (!model_.use[i]) continue;
    auto f = static_cast<Feature>(i);
    const bool tf =
        levels[i] != kLevelNull && model_.term_frequency[i] && levels[i] == weight_[i].size() - 1;
    e.fields.push_back(FieldWeight{f, LevelName(f, levels[i]), w[i], tf});
    e.total += w[i];
  }
  e.probability = Probability(e.total);
  return e;
}

// ---------------------------------------------------------------------------------------------
// ClientIndex

namespace {
std::vector<uint32_t> AllRows(const RecordTable& table) {
  std::vector<uint32_t> rows(table.size());
  std::iota(rows.begin(), rows.end(), 0);
  return rows;
}
}  // namespace

ClientIndex::ClientIndex(const RecordTable& table, Model model, size_t max_block_size)
    : table_(table),
      scorer_(table, std::move(model)),
      index_(table, AllRows(table), scorer_.model().use, max_block_size),
      max_block_size_(max_block_size),
      built_rows_(table.size()) {}

void ClientIndex::IndexAdded() {
  std::vector<uint32_t> rows(added());
  std::iota(rows.begin(), rows.end(), static_cast<uint32_t>(built_rows_));
  added_ = std::make_unique<BlockingIndex>(table_, rows, scorer_.model().use, max_block_size_);
}

void ClientIndex::Retire(uint32_t row) {
  if (row >= retired_.size()) retired_.resize(static_cast<size_t>(row) + 1, false);
  retired_[row] = true;
}

std::vector<ClientIndex::Match> ClientIndex::Find(const PersonRecord& record, size_t limit,
                                                  double min_probability) const {
  ProbeKeys probe = table_.Probe(record);
  std::vector<uint32_t> candidates;
  BlockingStats stats;
  index_.Candidates(probe, candidates, stats);
  if (added_) {
    // Added rows come after every row of the first index: appended, the list stays sorted.
    std::vector<uint32_t> more;
    added_->Candidates(probe, more, stats);
    candidates.insert(candidates.end(), more.begin(), more.end());
  }
  const double min_weight =
      min_probability > 0 ? Scorer::WeightOfProbability(min_probability) : -1e300;
  std::vector<Match> matches;
  for (uint32_t row : candidates) {
    if (row < retired_.size() && retired_[row]) continue;
    Levels levels = CompareProbe(table_, probe, row, scorer_.model().use);
    double w = scorer_.Weight(levels, row);
    if (w >= min_weight) matches.push_back({row, w, 0});
  }
  size_t keep = std::min(limit, matches.size());
  std::partial_sort(matches.begin(), matches.begin() + static_cast<ptrdiff_t>(keep), matches.end(),
                    [](const Match& x, const Match& y) {
                      return x.weight != y.weight ? x.weight > y.weight : x.row < y.row;
                    });
  matches.resize(keep);
  for (Match& m : matches) m.probability = Scorer::Probability(m.weight);
  return matches;
}

// ---------------------------------------------------------------------------------------------
// Estimation

Model EstimateU(const RecordTable& table, std::span<const uint32_t> rows_a,
                std::span<const uint32_t> rows_b, const FeatureMask& use, size_t pairs,
                uint64_t seed) {
  Model model = Model::Neutral();
  model.use = use;
  const bool dedup = rows_b.empty();
  std::array<std::vector<double>, kFeatureCount> counts;
  for (size_t i = 0; i < kFeatureCount; ++i) {
    counts[i].assign(LevelCount(static_cast<Feature>(i)), 0.0);
  }
  Random random(seed);
  if (rows_a.size() >= 2 && (dedup || !rows_b.empty())) {
    const auto na = static_cast<uint32_t>(rows_a.size());
    const auto nb = static_cast<uint32_t>(rows_b.size());
    for (size_t p = 0; p < pairs; ++p) {
      uint32_t a, b;
      if (dedup) {
        uint32_t x = random.Below(na), y = random.Below(na - 1);
        if (y >= x) ++y;
        a = rows_a[x];
        b = rows_a[y];
      } else {
        a = rows_a[random.Below(na)];
        b = rows_b[random.Below(nb)];
      }
      Levels levels = CompareRows(table, a, b, use);
      for (size_t i = 0; i < kFeatureCount; ++i) counts[i][levels[i]] += 1.0;
    }
  }
  for (size_t i = 0; i < kFeatureCount; ++i) {
    if (!use[i]) continue;
    auto f = static_cast<Feature>(i);
    const size_t exact = LevelCount(f) - 1;
    // Exact agreement by chance, from the value counts of each side.
    std::vector<double> ca(table.DictionarySize(f), 0.0), cb;
    double na = 0, nb = 0;
    auto counts_of = [&](std::span<const uint32_t> rows, std::vector<double>& c, double& n) {
      c.assign(table.DictionarySize(f), 0.0);
      for (uint32_t r : rows) {
        uint32_t v = table.Value(r, f);
        if (v == 0) continue;
        if (f == Feature::kDateOfBirth) {
          const DateKey& d = table.Date(v);
          if (!(d.year && d.month && d.day)) continue;  // partial dates never agree exactly
        }
        c[v] += 1;
        n += 1;
      }
    };
    counts_of(rows_a, ca, na);
    double u_exact = 0;
    if (dedup) {
      for (double c : ca) u_exact += c * (c - 1);
      u_exact = na > 1 ? u_exact / (na * (na - 1)) : 0;
    } else {
      counts_of(rows_b, cb, nb);
      for (size_t v = 1; v < ca.size(); ++v) u_exact += ca[v] * cb[v];
      u_exact = na > 0 && nb > 0 ? u_exact / (na * nb) : 0;
    }
    u_exact = std::clamp(u_exact, 1e-9, 0.999);
    double rest = 0;
    for (size_t l = 1; l < exact; ++l) rest += counts[i][l] + 0.5;
    for (size_t l = 1; l < exact; ++l) {
      model.u[i][l] = (1 - u_exact) * (counts[i][l] + 0.5) / rest;
    }
    model.u[i][exact] = u_exact;
  }
  return model;
}

namespace {

uint64_t PatternCode(const Levels& l) {
  uint64_t c = 0;
  for (size_t i = 0; i < kFeatureCount; ++i) c |= static_cast<uint64_t>(l[i]) << (4 * i);
  return c;
}

Levels PatternLevels(uint64_t code) {
  Levels l{};
  for (size_t i = 0; i < kFeatureCount; ++i) l[i] = static_cast<uint8_t>((code >> (4 * i)) & 0xF);
  return l;
}

}  // namespace

Model EstimateM(std::span<const Levels> levels, Model model, int max_iterations) {
  // Distinct comparison vectors with their counts: EM then costs little whatever the number
  // of pairs.
  std::vector<uint64_t> codes(levels.size());
  for (size_t p = 0; p < levels.size(); ++p) codes[p] = PatternCode(levels[p]);
  std::sort(codes.begin(), codes.end());
  std::vector<std::pair<Levels, double>> patterns;
  for (size_t p = 0; p < codes.size();) {
    size_t q = p;
    while (q < codes.size() && codes[q] == codes[p]) ++q;
    patterns.emplace_back(PatternLevels(codes[p]), static_cast<double>(q - p));
    p = q;
  }
  return EstimateM(patterns, std::move(model), max_iterations);
}

Model EstimateM(std::span<const std::pair<Levels, double>> patterns, Model model,
                int max_iterations) {
  if (patterns.empty()) return model;

  std::array<std::vector<double>, kFeatureCount> m, u;
  for (size_t i = 0; i < kFeatureCount; ++i) {
    size_t n = LevelCount(static_cast<Feature>(i));
    m[i].assign(n, 0.0);
    u[i] = model.u[i];
    if (!model.use[i]) continue;
    // Start: matches mostly agree exactly, the rest spread over the other levels.
    m[i][n - 1] = 0.8;
    for (size_t l = 1; l + 1 < n; ++l) m[i][l] = 0.2 / static_cast<double>(n - 2);
  }
  double lambda = 0.1;
  constexpr double kSmoothing = 1e-3;  // keeps every level possible in both classes
  std::array<std::vector<double>, kFeatureCount> log_m, log_u, sum_m, sum_u;
  for (int iteration = 0; iteration < max_iterations; ++iteration) {
    for (size_t i = 0; i < kFeatureCount; ++i) {
      log_m[i].resize(m[i].size());
      log_u[i].resize(u[i].size());
      for (size_t l = 0; l < m[i].size(); ++l) {
        log_m[i][l] = std::log(std::max(m[i][l], 1e-300));
        log_u[i][l] = std::log(std::max(u[i][l], 1e-300));
      }
      sum_m[i].assign(m[i].size(), 0.0);
      sum_u[i].assign(u[i].size(), 0.0);
    }
    const double log_lambda = std::log(lambda), log_not = std::log(1 - lambda);
    double matched = 0, total = 0;
    for (const auto& [l, count] : patterns) {
      double lm = log_lambda, lu = log_not;
      for (size_t i = 0; i < kFeatureCount; ++i) {
        if (!model.use[i] || l[i] == kLevelNull) continue;
        lm += log_m[i][l[i]];
        lu += log_u[i][l[i]];
      }
      double g = 1.0 / (1.0 + std::exp(lu - lm));
      matched += count * g;
      total += count;
      for (size_t i = 0; i < kFeatureCount; ++i) {
        if (!model.use[i] || l[i] == kLevelNull) continue;
        sum_m[i][l[i]] += count * g;
        sum_u[i][l[i]] += count * (1 - g);
      }
    }
    double change = std::abs(matched / total - lambda);
    lambda = std::clamp(matched / total, 1e-6, 1 - 1e-6);
    for (size_t i = 0; i < kFeatureCount; ++i) {
      if (!model.use[i]) continue;
      size_t n = m[i].size();
      double tm = 0, tu = 0;
      for (size_t l = 1; l < n; ++l) {
        tm += sum_m[i][l] + kSmoothing;
        tu += sum_u[i][l] + kSmoothing;
      }
      for (size_t l = 1; l < n; ++l) {
        double nm = (sum_m[i][l] + kSmoothing) / tm;
        change = std::max(change, std::abs(nm - m[i][l]));
        m[i][l] = nm;
        u[i][l] = (sum_u[i][l] + kSmoothing) / tu;
      }
    }
    if (change < 1e-7) break;
  }
  for (size_t i = 0; i < kFeatureCount; ++i) {
    if (model.use[i]) model.m[i] = m[i];
  }
  model.prior = lambda;
  return model;
}

// ---------------------------------------------------------------------------------------------
// Linking and clustering

namespace {

FeatureMask TermFrequencyFeatures(const FeatureMask& use) {
  FeatureMask tf{};
  for (Feature f :
       {Feature::kGivenName, Feature::kFamilyName, Feature::kLocality, Feature::kPostcode}) {
    tf[Idx(f)] = use[Idx(f)];
  }
  return tf;
}

// True when the value of `b` follows from the value of `a` in nearly every row: among values
// of `a` held by at least 5 rows (which must hold most rows with both fields), the most common
// value of `b` accounts for at least 95% of them. Real addresses are like this (the postcode
// gives the state), and EM, which assumes features independent given the class, then counts
// one agreement several times and takes "lives in the same place" for "is the same person".
bool Determines(const RecordTable& table, Feature a, Feature b) {
  const size_t na = table.DictionarySize(a);
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> seen(na);  // a value -> (b, count)
  uint64_t both = 0;
  for (uint32_t r = 0; r < table.size(); ++r) {
    uint32_t va = table.Value(r, a), vb = table.Value(r, b);
    if (va == 0 || vb == 0) continue;
    ++both;
    auto& list = seen[va];
    auto it = std::find_if(list.begin(), list.end(), [&](const auto& e) { return e.first == vb; });
    if (it == list.end()) {
      list.emplace_back(vb, 1);
    } else {
      ++it->second;
    }
  }
  uint64_t rows = 0, majority = 0;
  for (const auto& list : seen) {
    uint64_t total = 0, best = 0;
    for (const auto& [vb, count] : list) {
      total += count;
      best = std::max<uint64_t>(best, count);
    }
    if (total < 5) continue;
    rows += total;
    majority += best;
  }
  return both > 0 && rows * 2 >= both && majority * 100 >= rows * 95;
}

// Leaves out of the model the address features that another used one determines (region, then
// locality, given postcode or locality), so that one place is counted once.
void DropDeterminedFeatures(const RecordTable& table, FeatureMask& use) {
  const Feature kOrder[] = {Feature::kRegion, Feature::kLocality, Feature::kPostcode};
  for (Feature b : kOrder) {
    if (!use[Idx(b)]) continue;
    for (Feature a : kOrder) {
      if (a == b || !use[Idx(a)]) continue;
      if (Determines(table, a, b)) {
        use[Idx(b)] = false;
        break;
      }
    }
  }
}

struct Candidates {
  std::vector<ScoredPair> pairs;
  std::vector<Levels> levels;
  std::vector<uint16_t> keys;  // the blocking keys that found each pair
};

// The distinct selection-free comparison vectors of the candidate pairs with their counts, in
// code order (so that EM adds them up in the same order every time).
std::vector<std::pair<Levels, double>> TrainingPatterns(const Candidates& c) {
  std::unordered_map<uint64_t, double> counts;
  for (size_t p = 0; p < c.levels.size(); ++p) {
    counts[PatternCode(SelectionFreeLevels(c.levels[p], c.keys[p]))] += 1.0;
  }
  std::vector<std::pair<uint64_t, double>> sorted(counts.begin(), counts.end());
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::pair<Levels, double>> patterns;
  patterns.reserve(sorted.size());
  for (const auto& [code, count] : sorted) patterns.emplace_back(PatternLevels(code), count);
  return patterns;
}

// Starts estimating u on another thread: it reads the table only, and takes about as long
// as generating and comparing the candidate pairs, which the caller does meanwhile.
std::future<Model> StartEstimateU(const RecordTable& table, std::span<const uint32_t> rows_a,
                                  std::span<const uint32_t> rows_b, const MatchOptions& options) {
  return std::async(std::launch::async, [&table, rows_a, rows_b, &options] {
    return EstimateU(table, rows_a, rows_b, options.use, options.random_pairs, options.seed);
  });
}

Model Train(const RecordTable& table, std::span<const uint32_t> rows_a,
            std::span<const uint32_t> rows_b, const Candidates& c, Model model,
            const MatchOptions& options) {
  model.term_frequency = TermFrequencyFeatures(options.use);
  for (size_t i = 0; i < kFeatureCount; ++i) {
    if (table.NonNullCount(static_cast<Feature>(i)) == 0) model.use[i] = false;  // no evidence
  }
  DropDeterminedFeatures(table, model.use);
  model = EstimateM(TrainingPatterns(c), std::move(model), options.em_iterations);
  // EM gives the share of matches among the candidate pairs; the model keeps the chance that
  // two records drawn at random match, which does not depend on the blocking. Blocking is
  // assumed to let (nearly) all matches through.
  double all_pairs = rows_b.empty()
                         ? static_cast<double>(rows_a.size()) * (rows_a.size() - 1) / 2.0
                         : static_cast<double>(rows_a.size()) * static_cast<double>(rows_b.size());
  double matches = model.prior * static_cast<double>(c.pairs.size());
  model.prior = all_pairs > 0 ? std::clamp(matches / all_pairs, 1e-12, 0.5) : 0.5;
  model.note = "trained without labels: u from " + std::to_string(options.random_pairs) +
               " random pairs, m by EM on " + std::to_string(c.pairs.size()) +
               " candidate pairs, of which about " + std::to_string(static_cast<int64_t>(matches)) +
               " match";
  return model;
}

unsigned ThreadCount(const MatchOptions& options) {
  if (options.threads != 0) return options.threads;
  return std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
}

// Runs work(t) for t in [0, threads), t = 0 on the calling thread.
template <typename Work>
void RunOnThreads(unsigned threads, Work&& work) {
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0u);
  for (std::thread& t : pool) t.join();
}

// Generates the candidate pairs of each row of `rows_a` with the rows of `index` (when
// deduplicating, only with later rows, so that each pair is seen once) and compares them.
// Rows go in chunks to whichever thread is free. A first pass counts each chunk's pairs, so
// that the second writes them straight into arrays of the exact size, in row order as one
// thread would, and memory holds each pair once.
Candidates GenerateCandidates(const RecordTable& table, const BlockingIndex& index,
                              std::span<const uint32_t> rows_a, bool dedup,
                              const MatchOptions& options, MatchResult& result) {
  constexpr size_t kChunk = 1024;
  const size_t chunks = (rows_a.size() + kChunk - 1) / kChunk;
  const unsigned threads = ThreadCount(options);
  auto chunk_rows = [&](size_t chunk) {
    return rows_a.subspan(chunk * kChunk, std::min(kChunk, rows_a.size() - chunk * kChunk));
  };

  std::vector<size_t> offset(chunks + 1, 0);
  std::atomic<size_t> next{0};
  RunOnThreads(threads, [&](unsigned) {
    std::vector<uint32_t> buffer;
    BlockingStats ignored;
    for (size_t chunk = next++; chunk < chunks; chunk = next++) {
      size_t n = 0;
      for (uint32_t a : chunk_rows(chunk)) {
        index.Candidates(table, a, buffer, ignored, dedup ? a + 1 : 0);
        n += buffer.size();
      }
      offset[chunk + 1] = n;
    }
  });
  for (size_t chunk = 0; chunk < chunks; ++chunk) offset[chunk + 1] += offset[chunk];

  Candidates c;
  c.pairs.resize(offset[chunks]);
  c.levels.resize(offset[chunks]);
  c.keys.resize(offset[chunks]);
  std::vector<BlockingStats> stats(threads);
  std::vector<uint64_t> counted(threads, 0);
  next = 0;
  RunOnThreads(threads, [&](unsigned t) {
    std::vector<uint32_t> buffer;
    std::vector<uint16_t> keys;
    for (size_t chunk = next++; chunk < chunks; chunk = next++) {
      size_t at = offset[chunk];
      for (uint32_t a : chunk_rows(chunk)) {
        index.Candidates(table, a, buffer, keys, stats[t], dedup ? a + 1 : 0);
        for (size_t i = 0; i < buffer.size(); ++i, ++at) {
          const uint32_t b = buffer[i];
          c.pairs[at] = {a, b, 0};
          c.levels[at] = CompareRows(table, a, b, options.use);
          c.keys[at] = keys[i];
          if (options.count_pairs_where && options.count_pairs_where(a, b)) ++counted[t];
        }
      }
    }
  });
  for (unsigned t = 0; t < threads; ++t) {
    result.blocking.AddPairs(stats[t]);
    result.pairs_counted += counted[t];
  }
  return c;
}

bool BetterPair(const ScoredPair& x, const ScoredPair& y) {
  if (x.weight != y.weight) return x.weight > y.weight;
  if (x.a != y.a) return x.a < y.a;
  return x.b < y.b;
}

// Scores every pair and sorts them best first (ties by row), the halves on their own threads.
void ScoreAll(const Scorer& scorer, Candidates& c, unsigned threads) {
  const size_t n = c.pairs.size();
  threads = n < 100000 ? 1 : threads;
  RunOnThreads(threads, [&](unsigned t) {
    const size_t from = n * t / threads, to = n * (t + 1) / threads;
    for (size_t p = from; p < to; ++p) {
      c.pairs[p].weight = static_cast<float>(scorer.Weight(c.levels[p], c.pairs[p].a));
    }
    std::sort(c.pairs.begin() + static_cast<std::ptrdiff_t>(from),
              c.pairs.begin() + static_cast<std::ptrdiff_t>(to), BetterPair);
  });
  // Merges the sorted ranges pairwise until one is left.
  for (size_t width = 1; width < threads; width *= 2) {
    for (size_t t = 0; t + width < threads; t += 2 * width) {
      auto at = [&](size_t k) {
        return c.pairs.begin() + static_cast<std::ptrdiff_t>(n * std::min<size_t>(k, threads) /
                                                             threads);
      };
      std::inplace_merge(at(t), at(t + width), at(t + 2 * width), BetterPair);
    }
  }
}

std::vector<uint32_t> Iota(uint32_t from, uint32_t to) {
  std::vector<uint32_t> v(to - from);
  std::iota(v.begin(), v.end(), from);
  return v;
}

}  // namespace

MatchResult LinkTables(const RecordTable& table, uint32_t split, const MatchOptions& options) {
  const auto n = static_cast<uint32_t>(table.size());
  std::vector<uint32_t> rows_a = Iota(0, split), rows_b = Iota(split, n);
  MatchResult result;
  std::future<Model> u;
  if (!options.model) u = StartEstimateU(table, rows_a, rows_b, options);
  BlockingIndex index(table, rows_b, options.use, options.max_block_size);
  result.blocking.blocks = index.block_count();
  result.blocking.blocks_capped = index.capped_block_count();
  result.blocking.rows_in_capped_blocks = index.rows_in_capped_blocks();
  result.blocking.capped_by_key = index.capped_by_key();

  Candidates c = GenerateCandidates(table, index, rows_a, false, options, result);
  result.model = options.model ? *options.model : Train(table, rows_a, rows_b, c, u.get(), options);
  Scorer scorer(table, result.model);
  ScoreAll(scorer, c, ThreadCount(options));

  const double link_w = Scorer::WeightOfProbability(options.link_probability);
  const double review_w = Scorer::WeightOfProbability(options.review_probability);
  std::vector<bool> taken(n, false);
  result.cluster = Iota(0, n);
  for (const ScoredPair& p : c.pairs) {
    if (p.weight < review_w) break;
    if (options.one_to_one && (taken[p.a] || taken[p.b])) continue;
    if (p.weight >= link_w) {
      result.links.push_back(p);
      if (options.one_to_one) taken[p.a] = taken[p.b] = true;
      result.cluster[p.b] = result.cluster[p.a];
    } else {
      result.review.push_back(p);
    }
  }
  if (!options.one_to_one) {
    // Without the one-to-one rule a record may link to several: connect them all.
    std::vector<uint32_t> parent = Iota(0, n);
    auto find = [&](uint32_t x) {
      while (parent[x] != x) x = parent[x] = parent[parent[x]];
      return x;
    };
    for (const ScoredPair& p : result.links) parent[find(p.a)] = find(p.b);
    for (uint32_t r = 0; r < n; ++r) result.cluster[r] = find(r);
  }
  return result;
}

MatchResult Deduplicate(const RecordTable& table, const MatchOptions& options) {
  const auto n = static_cast<uint32_t>(table.size());
  std::vector<uint32_t> rows = Iota(0, n);
  MatchResult result;
  std::future<Model> u;
  if (!options.model) u = StartEstimateU(table, rows, {}, options);
  BlockingIndex index(table, rows, options.use, options.max_block_size);
  result.blocking.blocks = index.block_count();
  result.blocking.blocks_capped = index.capped_block_count();
  result.blocking.rows_in_capped_blocks = index.rows_in_capped_blocks();
  result.blocking.capped_by_key = index.capped_by_key();

  Candidates c = GenerateCandidates(table, index, rows, true, options, result);
  result.model = options.model ? *options.model : Train(table, rows, {}, c, u.get(), options);
  Scorer scorer(table, result.model);
  ScoreAll(scorer, c, ThreadCount(options));

  const double link_w = Scorer::WeightOfProbability(options.link_probability);
  const double review_w = Scorer::WeightOfProbability(options.review_probability);
  // Union-find with member lists, so that the guard can look across two clusters.
  std::vector<uint32_t> parent = Iota(0, n);
  std::vector<std::vector<uint32_t>> members(n);
  for (uint32_t r = 0; r < n; ++r) members[r] = {r};
  auto find = [&](uint32_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  };
  for (const ScoredPair& p : c.pairs) {
    if (p.weight < link_w) break;
    uint32_t x = find(p.a), y = find(p.b);
    if (x == y) {
      result.links.push_back(p);
      continue;
    }
    // The chaining guard: one link joins two groups only if nobody across them is clearly a
    // different person.
    bool refuse = false;
    if (members[x].size() + members[y].size() > 2) {
      size_t checks = 0;
      for (uint32_t s : members[x]) {
        for (uint32_t t : members[y]) {
          if (++checks > options.chain_guard_max_checks) break;
          if ((s == p.a && t == p.b) || (s == p.b && t == p.a)) continue;
          if (scorer.Weight(s, t) < options.chain_guard_weight) {
            refuse = true;
            break;
          }
        }
        if (refuse || checks > options.chain_guard_max_checks) break;
      }
    }
    if (refuse) {
      ++result.merges_refused;
      result.review.push_back(p);
      continue;
    }
    if (members[x].size() < members[y].size()) std::swap(x, y);
    parent[y] = x;
    members[x].insert(members[x].end(), members[y].begin(), members[y].end());
    members[y].clear();
    members[y].shrink_to_fit();
    result.links.push_back(p);
  }
  for (const ScoredPair& p : c.pairs) {
    if (p.weight >= link_w) continue;
    if (p.weight < review_w) break;
    if (find(p.a) != find(p.b)) result.review.push_back(p);
  }
  result.cluster.resize(n);
  for (uint32_t r = 0; r < n; ++r) result.cluster[r] = find(r);
  return result;
}

}  // namespace identity
