#include "registry/person.h"

#include <fmt/format.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "core/utf8.h"

namespace registry {
namespace {

using nlohmann::json;

const std::set<std::string> kNameUses = {"official", "alias", "previous", "other_script"};
const std::set<std::string> kIdentifierKinds = {"national_id",  "passport",   "driver_licence",
                                                "health_number", "tax_number", "agency_number"};
const std::set<std::string> kSexes = {"female", "male", "other", "unknown"};
const std::set<std::string> kAddressUses = {"home", "postal", "temporary"};
const std::set<std::string> kPhoneUses = {"", "mobile", "home", "work"};

// Characters that show nothing: white space, controls, and format characters such as U+200B
// (zero width space) and U+FEFF.
bool Invisible(UChar32 c) {
  const auto type = static_cast<UCharCategory>(u_charType(c));
  return c < 0 || u_isUWhiteSpace(c) || type == U_CONTROL_CHAR || type == U_FORMAT_CHAR;
}

// True if `s` shows nothing on a page: empty, or only invisible characters.
bool Blank(const std::string& s) {
  int32_t i = 0;
  const auto n = static_cast<int32_t>(s.size());
  while (i < n) {
    UChar32 c = 0;
    U8_NEXT(s.data(), i, n, c);
    if (!Invisible(c)) return false;
  }
  return true;
}

// Control characters (NUL, escape, line breaks...) have no place in a one-line field.
void CheckLine(std::vector<core::FieldError>& errors, const std::string& path,
               const std::string& v) {
  int32_t i = 0;
  const auto n = static_cast<int32_t>(v.size());
  while (i < n) {
    UChar32 c = 0;
    U8_NEXT(v.data(), i, n, c);
    if (c < 0 || u_charType(c) == U_CONTROL_CHAR) {
      errors.push_back({path, "must be one line of text, without control characters"});
      return;
    }
  }
}

std::string OneOf(const std::set<std::string>& values) {
  std::string out;
  for (const auto& v : values) {
    if (v.empty()) continue;
    if (!out.empty()) out += ", ";
    out += v;
  }
  return "must be one of " + out;
}

// Reads an object's fields with type checks, collecting errors by path.
class Reader {
 public:
  Reader(const json& j, std::string path, std::vector<core::FieldError>& errors)
      : j_(j), path_(std::move(path)), errors_(errors) {
    if (!j_.is_object()) Error("", "must be an object");
  }
  std::string P(std::string_view k) const { return path_.empty() ? std::string(k) : path_ + "/" + std::string(k); }
  void Error(std::string_view k, std::string m) { errors_.push_back({k.empty() ? path_ : P(k), std::move(m)}); }
  void Known(std::initializer_list<std::string_view> keys) {
    if (!j_.is_object()) return;
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      if (std::find(keys.begin(), keys.end(), it.key()) == keys.end()) Error(it.key(), "is not a known field");
    }
  }
  std::string Str(std::string_view k) {
    if (!j_.is_object()) return {};
    auto it = j_.find(k);
    if (it == j_.end() || it->is_null()) return {};
    if (!it->is_string()) {
      Error(k, "must be a string");
      return {};
    }
    return it->get<std::string>();
  }
  bool Bool(std::string_view k) {
    if (!j_.is_object()) return false;
    auto it = j_.find(k);
    if (it == j_.end() || it->is_null()) return false;
    if (!it->is_boolean()) {
      Error(k, "must be true or false");
      return false;
    }
    return it->get<bool>();
  }
  template <typename F>
  void List(std::string_view k, F each) {
    if (!j_.is_object()) return;
    auto it = j_.find(k);
    if (it == j_.end() || it->is_null()) return;
    if (!it->is_array()) {
      Error(k, "must be a list");
      return;
    }
    if (it->size() > 20) {
      Error(k, "must have at most 20 items");
      return;
    }
    for (size_t i = 0; i < it->size(); ++i) each((*it)[i], P(k) + "/" + std::to_string(i));
  }
  const json* Obj(std::string_view k) {
    if (!j_.is_object()) return nullptr;
    auto it = j_.find(k);
    if (it == j_.end() || it->is_null()) return nullptr;
    return &*it;
  }

 private:
  const json& j_;
  std::string path_;
  std::vector<core::FieldError>& errors_;
};

Person Read(const json& body, std::vector<core::FieldError>& errors, bool storage) {
  Person p;
  Reader r(body, "", errors);
  if (storage) {
    r.Known({"names", "birth_date", "sex", "gender", "identifiers", "addresses", "phones", "emails",
             "preferred_language", "needs", "death_date", "created_at", "updated_at"});
  } else {
    r.Known({"id", "version", "names", "birth_date", "sex", "gender", "identifiers", "addresses", "phones",
             "emails", "preferred_language", "needs", "death_date", "created_at", "updated_at", "withheld", "links"});
  }
  r.List("names", [&](const json& j, const std::string& path) {
    Reader n(j, path, errors);
    n.Known({"use", "given", "family"});
    PersonName name;
    name.use = n.Str("use");
    if (name.use.empty()) name.use = "official";
    name.given = n.Str("given");
    name.family = n.Str("family");
    p.names.push_back(std::move(name));
  });
  std::string dob = r.Str("birth_date");
  if (!dob.empty()) {
    auto d = core::PartialDate::Parse(dob);
    if (d.ok()) {
      p.birth_date = *d;
    } else {
      r.Error("birth_date", d.status().message());
    }
  }
  std::string dod = r.Str("death_date");
  if (!dod.empty()) {
    auto d = core::PartialDate::Parse(dod);
    if (d.ok()) {
      p.death_date = *d;
    } else {
      r.Error("death_date", d.status().message());
    }
  }
  p.sex = r.Str("sex");
  p.gender = r.Str("gender");
  r.List("identifiers", [&](const json& j, const std::string& path) {
    Reader n(j, path, errors);
    n.Known({"kind", "value", "issuer"});
    p.identifiers.push_back({n.Str("kind"), n.Str("value"), n.Str("issuer")});
  });
  r.List("addresses", [&](const json& j, const std::string& path) {
    Reader n(j, path, errors);
    n.Known({"use", "line1", "line2", "city", "region", "postcode", "country"});
    Address a;
    a.use = n.Str("use");
    if (a.use.empty()) a.use = "home";
    a.line1 = n.Str("line1");
    a.line2 = n.Str("line2");
    a.city = n.Str("city");
    a.region = n.Str("region");
    a.postcode = n.Str("postcode");
    a.country = n.Str("country");
    p.addresses.push_back(std::move(a));
  });
  auto contacts = [&](std::string_view key, std::vector<ContactPoint>& out) {
    r.List(key, [&](const json& j, const std::string& path) {
      Reader n(j, path, errors);
      n.Known({"use", "value"});
      out.push_back({n.Str("use"), n.Str("value")});
    });
  };
  contacts("phones", p.phones);
  contacts("emails", p.emails);
  p.preferred_language = r.Str("preferred_language");
  if (const json* needs = r.Obj("needs")) {
    Reader n(*needs, "needs", errors);
    n.Known({"interpreter", "interpreter_language", "accessibility"});
    p.needs.interpreter = n.Bool("interpreter");
    p.needs.interpreter_language = n.Str("interpreter_language");
    p.needs.accessibility = n.Str("accessibility");
  }
  return p;
}

void CheckLength(std::vector<core::FieldError>& errors, const std::string& path, const std::string& v, size_t max) {
  if (core::Utf8Length(v) > max)
    errors.push_back({path, fmt::format("must be at most {} characters", max)});
}

void Flatten(const json& j, const std::string& prefix, std::map<std::string, std::string>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      Flatten(it.value(), prefix.empty() ? it.key() : prefix + "/" + it.key(), out);
    }
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) Flatten(j[i], prefix + "/" + std::to_string(i), out);
  } else if (j.is_string()) {
    out[prefix] = j.get<std::string>();
  } else {
    out[prefix] = j.dump();
  }
}

}  // namespace

std::string Address::OneLine() const {
  std::string out;
  for (const std::string* part : {&line1, &line2, &city, &region, &postcode, &country}) {
    if (part->empty()) continue;
    if (!out.empty()) out += ", ";
    out += *part;
  }
  return out;
}

std::string Person::DisplayName() const {
  const PersonName* main = nullptr;
  for (const auto& n : names) {
    if (n.use == "official") {
      main = &n;
      break;
    }
  }
  if (main == nullptr && !names.empty()) main = &names.front();
  if (main == nullptr) return "(no name)";
  if (main->given.empty()) return main->family;
  if (main->family.empty()) return main->given;
  return main->given + " " + main->family;
}

const std::set<std::string>& IdentifierKinds() { return kIdentifierKinds; }

namespace {

// Whether `death` is surely before `birth`, comparing only the parts both dates know.
bool DiedBeforeBorn(const core::PartialDate& birth, const core::PartialDate& death) {
  if (death.year != birth.year) return death.year < birth.year;
  if (death.month == 0 || birth.month == 0 || death.month != birth.month) return death.month != 0 && birth.month != 0 && death.month < birth.month;
  return death.day != 0 && birth.day != 0 && death.day < birth.day;
}

}  // namespace

core::Status Validate(const Person& p) {
  std::vector<core::FieldError> e;
  if (p.names.empty()) e.push_back({"names", "must have at least one name"});
  bool official = false;
  for (size_t i = 0; i < p.names.size(); ++i) {
    const auto& n = p.names[i];
    const std::string path = "names/" + std::to_string(i);
    if (!kNameUses.count(n.use)) e.push_back({path + "/use", OneOf(kNameUses)});
    CheckLength(e, path + "/given", n.given, 200);
    CheckLength(e, path + "/family", n.family, 200);
    if (Blank(n.family) && Blank(n.given)) {
      e.push_back({path + "/family", "enter the family name or the given name"});
    } else {
      CheckLine(e, path + "/given", n.given);
      CheckLine(e, path + "/family", n.family);
    }
    official = official || n.use == "official";
  }
  if (!p.names.empty() && !official) e.push_back({"names", "must include one official name"});
  if (!p.sex.empty() && !kSexes.count(p.sex)) e.push_back({"sex", OneOf(kSexes)});
  if (p.death_date && p.birth_date && DiedBeforeBorn(*p.birth_date, *p.death_date)) {
    e.push_back({"death_date", "is before the date of birth"});
  }
  CheckLength(e, "gender", p.gender, 100);
  std::set<std::pair<std::string, std::string>> seen_ids;
  for (size_t i = 0; i < p.identifiers.size(); ++i) {
    const auto& id = p.identifiers[i];
    const std::string path = "identifiers/" + std::to_string(i);
    if (!kIdentifierKinds.count(id.kind)) e.push_back({path + "/kind", OneOf(kIdentifierKinds)});
    if (Blank(id.value)) e.push_back({path + "/value", "is required"});
    CheckLength(e, path + "/value", id.value, 64);
    CheckLine(e, path + "/value", id.value);
    if (id.kind == "agency_number" && Blank(id.issuer)) {
      e.push_back({path + "/issuer", "an agency number needs the agency that issued it"});
    }
    if (!seen_ids.insert({id.kind, id.value}).second) e.push_back({path, "is listed twice"});
  }
  for (size_t i = 0; i < p.addresses.size(); ++i) {
    const auto& a = p.addresses[i];
    const std::string path = "addresses/" + std::to_string(i);
    if (!kAddressUses.count(a.use)) e.push_back({path + "/use", OneOf(kAddressUses)});
    if (Blank(a.line1) && Blank(a.city) && Blank(a.postcode)) e.push_back({path, "enter at least a first line, a town or a postcode"});
    CheckLength(e, path + "/line1", a.line1, 200);
    CheckLength(e, path + "/line2", a.line2, 200);
    CheckLength(e, path + "/city", a.city, 200);
    CheckLength(e, path + "/region", a.region, 200);
    CheckLength(e, path + "/postcode", a.postcode, 16);
    for (const auto& [field, value] :
         {std::pair{"line1", &a.line1}, std::pair{"line2", &a.line2}, std::pair{"city", &a.city},
          std::pair{"region", &a.region}, std::pair{"postcode", &a.postcode}}) {
      CheckLine(e, path + "/" + field, *value);
    }
  }
  static const std::regex kPhone(R"(^\+?[0-9 ()\-.]{3,30}$)");
  for (size_t i = 0; i < p.phones.size(); ++i) {
    const std::string path = "phones/" + std::to_string(i);
    if (!kPhoneUses.count(p.phones[i].use)) e.push_back({path + "/use", OneOf(kPhoneUses)});
    if (!std::regex_match(p.phones[i].value, kPhone)) {
      e.push_back({path + "/value",
                   "enter a phone number of 3 to 30 characters: digits, spaces, brackets, dashes "
                   "or dots, with an optional leading +"});
    }
  }
  static const std::regex kEmail(R"(^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$)");
  for (size_t i = 0; i < p.emails.size(); ++i) {
    const std::string path = "emails/" + std::to_string(i);
    if (p.emails[i].value.size() > 254 || !std::regex_match(p.emails[i].value, kEmail)) {
      e.push_back({path + "/value", "enter an email address like name@example.org"});
    }
  }
  CheckLength(e, "preferred_language", p.preferred_language, 35);
  CheckLine(e, "preferred_language", p.preferred_language);
  CheckLine(e, "gender", p.gender);
  CheckLength(e, "needs/interpreter_language", p.needs.interpreter_language, 35);
  CheckLength(e, "needs/accessibility", p.needs.accessibility, 2000);
  if (e.empty()) return core::Status::Ok();
  return core::Status::InvalidArgument("the client record has invalid fields", std::move(e));
}

namespace {

// Takes created_at and updated_at (integers; 0 when absent) out of a stored document; false when
// one is not an integer.
bool TakeTimestamps(json& j, core::Timestamp& created_at, core::Timestamp& updated_at) {
  core::Timestamp* const stamps[2] = {&created_at, &updated_at};
  const char* const keys[2] = {"created_at", "updated_at"};
  for (int i = 0; i < 2; ++i) {
    auto it = j.find(keys[i]);
    if (it == j.end()) continue;
    if (!it->is_number_integer()) return false;
    *stamps[i] = {it->get<int64_t>()};
    j.erase(it);
  }
  return true;
}

// The API form from the storage form `j` (whose fields it takes).
json ApiForm(json& j, core::PersonId id, int64_t version, core::Timestamp created_at, core::Timestamp updated_at,
             const authz::Decision& visible) {
  json out = {{"id", id.value}, {"version", version}};
  for (int f = 0; f <= static_cast<int>(authz::Field::kDeathDate); ++f) {
    const auto field = static_cast<authz::Field>(f);
    const std::string name(authz::FieldName(field));
    if (!visible.Sees(field)) continue;
    if (auto it = j.find(name); it != j.end()) out[name] = std::move(*it);
  }
  out["created_at"] = created_at.ToRfc3339();
  out["updated_at"] = updated_at.ToRfc3339();
  if (!visible.withheld.empty()) {
    json w = json::array();
    for (const auto& x : visible.withheld) {
      w.push_back({{"category", x.category}, {"label", x.label}, {"reason", x.reason}});
    }
    out["withheld"] = std::move(w);
  }
  return out;
}

}  // namespace

json ToJson(const Person& p, const authz::Decision& visible) {
  json j = ToStorageJson(p);
  return ApiForm(j, p.id, p.version, p.created_at, p.updated_at, visible);
}

namespace {

// Calls f(field, member-swapper) for each person field: `move(from, to)` copies the field.
template <typename F>
void EachPersonField(Person& a, const Person& b, F&& f) {
  using authz::Field;
  f(Field::kNames, [&] { a.names = b.names; });
  f(Field::kBirthDate, [&] { a.birth_date = b.birth_date; });
  f(Field::kSex, [&] { a.sex = b.sex; });
  f(Field::kGender, [&] { a.gender = b.gender; });
  f(Field::kIdentifiers, [&] { a.identifiers = b.identifiers; });
  f(Field::kAddresses, [&] { a.addresses = b.addresses; });
  f(Field::kPhones, [&] { a.phones = b.phones; });
  f(Field::kEmails, [&] { a.emails = b.emails; });
  f(Field::kPreferredLanguage, [&] { a.preferred_language = b.preferred_language; });
  f(Field::kNeeds, [&] { a.needs = b.needs; });
  f(Field::kDeathDate, [&] { a.death_date = b.death_date; });
}

}  // namespace

void Redact(Person& p, const authz::Decision& visible) {
  const Person empty;
  EachPersonField(p, empty, [&](authz::Field f, auto&& copy) {
    if (!visible.Sees(f)) copy();
  });
}

void KeepWithheld(Person& input, const Person& stored, const authz::Decision& visible) {
  EachPersonField(input, stored, [&](authz::Field f, auto&& copy) {
    if (!visible.Sees(f)) copy();
  });
}

json ToStorageJson(const Person& p) {
  json j;
  json names = json::array();
  for (const auto& n : p.names) names.push_back({{"use", n.use}, {"given", n.given}, {"family", n.family}});
  j["names"] = std::move(names);
  if (p.birth_date) j["birth_date"] = p.birth_date->ToString();
  if (!p.sex.empty()) j["sex"] = p.sex;
  if (!p.gender.empty()) j["gender"] = p.gender;
  json ids = json::array();
  for (const auto& i : p.identifiers) {
    json id = {{"kind", i.kind}, {"value", i.value}};
    if (!i.issuer.empty()) id["issuer"] = i.issuer;
    ids.push_back(std::move(id));
  }
  j["identifiers"] = std::move(ids);
  json addresses = json::array();
  for (const auto& a : p.addresses) {
    json o = {{"use", a.use}};
    if (!a.line1.empty()) o["line1"] = a.line1;
    if (!a.line2.empty()) o["line2"] = a.line2;
    if (!a.city.empty()) o["city"] = a.city;
    if (!a.region.empty()) o["region"] = a.region;
    if (!a.postcode.empty()) o["postcode"] = a.postcode;
    if (!a.country.empty()) o["country"] = a.country;
    addresses.push_back(std::move(o));
  }
  j["addresses"] = std::move(addresses);
  auto contacts = [](const std::vector<ContactPoint>& v) {
    json out = json::array();
    for (const auto& c : v) {
      json o = {{"value", c.value}};
      if (!c.use.empty()) o["use"] = c.use;
      out.push_back(std::move(o));
    }
    return out;
  };
  j["phones"] = contacts(p.phones);
  j["emails"] = contacts(p.emails);
  if (!p.preferred_language.empty()) j["preferred_language"] = p.preferred_language;
  json needs = {{"interpreter", p.needs.interpreter}};
  if (!p.needs.interpreter_language.empty()) needs["interpreter_language"] = p.needs.interpreter_language;
  if (!p.needs.accessibility.empty()) needs["accessibility"] = p.needs.accessibility;
  j["needs"] = std::move(needs);
  if (p.death_date) j["death_date"] = p.death_date->ToString();
  j["created_at"] = p.created_at.micros;
  j["updated_at"] = p.updated_at.micros;
  return j;
}

core::StatusOr<Person> FromJson(const json& body) {
  std::vector<core::FieldError> errors;
  Person p = Read(body, errors, false);
  if (errors.empty()) return p;
  // Every mistake at once: the fields that were read are validated too, except where a field
  // (or the list holding it) could not be read, whose validation would only repeat the error.
  const core::Status invalid = Validate(p);
  const size_t read_errors = errors.size();
  for (const auto& fe : invalid.fields()) {
    bool covered = false;
    for (size_t i = 0; i < read_errors && !covered; ++i) {
      const std::string& r = errors[i].field;
      const auto within = [](const std::string& a, const std::string& b) {  // a is b, or inside b
        return a.size() >= b.size() && a.compare(0, b.size(), b) == 0 &&
               (a.size() == b.size() || a[b.size()] == '/');
      };
      covered = within(fe.field, r) || within(r, fe.field);
    }
    if (!covered) errors.push_back(fe);
  }
  return core::Status::InvalidArgument("the client record has invalid fields", std::move(errors));
}

core::StatusOr<Person> FromStorageJson(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return core::Status::DataLoss("a stored client record is not valid JSON");
  // erase() below throws on anything but an object.
  if (!j.is_object()) return core::Status::DataLoss("a stored client record has an unexpected shape");
  // The timestamps are taken out first: Read knows only the fields a caller may send.
  core::Timestamp created_at;
  core::Timestamp updated_at;
  if (!TakeTimestamps(j, created_at, updated_at)) {
    return core::Status::DataLoss("a stored client record has an unexpected shape");
  }
  std::vector<core::FieldError> errors;
  Person p = Read(j, errors, true);
  if (!errors.empty()) return core::Status::DataLoss("a stored client record has an unexpected shape");
  p.created_at = created_at;
  p.updated_at = updated_at;
  return p;
}

namespace {

// `name` case-folded in every script (NFKC_Casefold: "ÉMILIE" → "émilie", "ß" → "ss") and
// without the marks that sit on letters ("émilie" → "emilie", Arabic and Hebrew vowel points).
// ASCII is returned as it is: the rest of NameKey lower-cases it.
std::string FoldForSearch(std::string_view name) {
  if (std::all_of(name.begin(), name.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    return std::string(name);
  }
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* fold = icu::Normalizer2::getNFKCCasefoldInstance(status);
  const icu::Normalizer2* nfd = icu::Normalizer2::getNFDInstance(status);
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status)) return std::string(name);
  const icu::UnicodeString text = icu::UnicodeString::fromUTF8(
      icu::StringPiece(name.data(), static_cast<int32_t>(name.size())));
  const icu::UnicodeString decomposed = nfd->normalize(fold->normalize(text, status), status);
  icu::UnicodeString bare;
  for (int32_t i = 0; i < decomposed.length();) {
    const UChar32 c = decomposed.char32At(i);
    if (u_charType(c) != U_NON_SPACING_MARK) bare.append(c);
    i += U16_LENGTH(c);
  }
  const icu::UnicodeString out = nfc->normalize(bare, status);
  if (U_FAILURE(status)) return std::string(name);
  std::string utf8;
  out.toUTF8String(utf8);
  return utf8;
}

}  // namespace

std::string IdentifierKey(std::string_view value) {
  std::string key;
  key.reserve(value.size());
  for (const char c : value) {
    if (c == ' ' || c == '-' || c == '.' || c == '\t') continue;
    key += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  }
  return key;
}

std::string NameKey(std::string_view raw) {
  const std::string name = FoldForSearch(raw);
  std::string out;
  bool space = false;
  for (unsigned char c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80) {
      if (space && !out.empty()) out += ' ';
      space = false;
      out += static_cast<char>(c);
    } else if (c == '\'' || c == '.') {
      // O'Brien and St. John fold to obrien and st john.
    } else {
      space = true;
    }
  }
  return out;
}

std::vector<Change> Diff(const Person& before, const Person& after) {
  std::map<std::string, std::string> a;
  std::map<std::string, std::string> b;
  json ja = ToStorageJson(before);
  json jb = ToStorageJson(after);
  for (json* j : {&ja, &jb}) {
    j->erase("created_at");
    j->erase("updated_at");
  }
  Flatten(ja, "", a);
  Flatten(jb, "", b);
  std::vector<Change> out;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end()) {
      out.push_back({k, v, ""});
    } else if (it->second != v) {
      out.push_back({k, v, it->second});
    }
  }
  for (const auto& [k, v] : b) {
    if (!a.count(k)) out.push_back({k, "", v});
  }
  return out;
}

namespace {

core::Status NotInFuture(const Person& p, core::Timestamp now) {
  const core::Date today = now.UtcDate();
  auto future = [&](const core::PartialDate& d) {
    return d.year != today.year     ? d.year > today.year
           : d.month != today.month ? d.month > today.month
                                    : d.day > today.day;
  };
  std::vector<core::FieldError> errors;
  if (p.birth_date && future(*p.birth_date)) errors.push_back({"birth_date", "is in the future"});
  // Nobody alive was born more than 130 years ago: a year typed wrong (1800 for 1980), unless the
  // record says the person died.
  if (p.birth_date && !p.death_date && p.birth_date->year < today.year - 130) {
    errors.push_back({"birth_date", "is more than 130 years ago: check the year"});
  }
  if (p.death_date && future(*p.death_date)) errors.push_back({"death_date", "is in the future"});
  if (errors.empty()) return core::Status::Ok();
  return core::Status::InvalidArgument("the client record has invalid fields", std::move(errors));
}

}  // namespace

// Validate and NotInFuture together, so that every mistake is named at once (a name too long and
// a date of birth in the future); a field already wrong is named once.
core::Status CheckRecord(const Person& p, core::Timestamp now) {
  core::Status v = Validate(p);
  core::Status f = NotInFuture(p, now);
  if (v.ok()) return f;
  if (f.ok() || v.code() != core::StatusCode::kInvalidArgument) return v;
  std::vector<core::FieldError> fields = v.fields();
  for (const auto& e : f.fields()) {
    if (std::none_of(fields.begin(), fields.end(),
                     [&](const core::FieldError& x) { return x.field == e.field; })) {
      fields.push_back(e);
    }
  }
  return core::Status::InvalidArgument(v.message(), std::move(fields));
}

}  // namespace registry
