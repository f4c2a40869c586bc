#include "i18n/messages.h"

#include <fmt/format.h>
#include <unicode/datefmt.h>
#include <unicode/messagepattern.h>
#include <unicode/msgfmt.h>
#include <unicode/timezone.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace i18n {

using core::Status;
using core::StatusOr;

const std::vector<Language>& Languages() {
  static const std::vector<Language> kLanguages = {
      {"en", "English", false},
      {"es", "Español", false},
      {"ar", "العربية", true},
  };
  return kLanguages;
}

const Language* FindLanguage(std::string_view tag) {
  for (const auto& l : Languages()) {
    if (l.tag == tag) return &l;
  }
  return nullptr;
}

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string ToUtf8(const icu::UnicodeString& u) {
  std::string out;
  u.toUTF8String(out);
  return out;
}

// A value as ICU should see it: a number when the whole text is one, so that plurals work.
icu::Formattable Argument(const std::string& value) {
  if (!value.empty() && value.size() < 20) {
    int64_t n = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec == std::errc() && end == value.data() + value.size()) return icu::Formattable(static_cast<int64_t>(n));
  }
  return icu::Formattable(icu::UnicodeString::fromUTF8(value));
}

}  // namespace

std::string Negotiate(std::string_view chosen, std::string_view accept_language) {
  if (FindLanguage(chosen) != nullptr) return std::string(chosen);
  // "es-MX,es;q=0.9,en;q=0.8": the tags in order of their weight (stable for equal weights).
  std::vector<std::pair<double, std::string>> wanted;
  std::stringstream in{std::string(accept_language)};
  std::string item;
  while (std::getline(in, item, ',')) {
    std::string tag = item.substr(0, item.find(';'));
    tag.erase(std::remove_if(tag.begin(), tag.end(), [](unsigned char c) { return std::isspace(c); }), tag.end());
    double q = 1.0;
    if (const auto at = item.find("q="); at != std::string::npos) {
      try {
        q = std::stod(item.substr(at + 2));
      } catch (...) {
        q = 0;
      }
    }
    if (!tag.empty() && q > 0) wanted.emplace_back(q, Lower(tag.substr(0, tag.find('-'))));
  }
  std::stable_sort(wanted.begin(), wanted.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [q, tag] : wanted) {
    if (FindLanguage(tag) != nullptr) return tag;
  }
  return "en";
}

std::string FormatDate(std::string_view lang, core::Date date) {
  // One formatter per language and thread, made once: making one costs far more than using it,
  // and a page may write a hundred dates. (An ICU formatter is not shared between threads.)
  thread_local std::map<std::string, std::unique_ptr<icu::DateFormat>, std::less<>> formats;
  auto it = formats.find(lang);
  if (it == formats.end()) {
    // onedoor's English is written day first, as on every other page ("2 December 2026").
    const icu::Locale locale(lang == "en" ? "en_GB" : std::string(lang).c_str());
    std::unique_ptr<icu::DateFormat> made(icu::DateFormat::createDateInstance(icu::DateFormat::kLong, locale));
    if (made) made->setTimeZone(*icu::TimeZone::getGMT());
    it = formats.emplace(std::string(lang), std::move(made)).first;
  }
  if (!it->second) return date.ToString();
  // Noon UTC of the day, so that no time zone moves it to another day.
  const UDate when = (static_cast<double>(date.ToDays()) * 24 + 12) * 3600 * 1000;
  icu::UnicodeString out;
  it->second->format(when, out);
  return ToUtf8(out);
}

StatusOr<std::vector<std::string>> ArgumentNames(const std::string& pattern) {
  UErrorCode status = U_ZERO_ERROR;
  UParseError where{};
  icu::MessagePattern parsed(icu::UnicodeString::fromUTF8(pattern), &where, status);
  if (U_FAILURE(status)) {
    return Status::InvalidArgument(fmt::format("the message does not parse at character {}: {}", where.offset + 1,
                                               u_errorName(status)));
  }
  std::vector<std::string> names;
  for (int32_t i = 0; i < parsed.countParts(); ++i) {
    const icu::MessagePattern::Part& part = parsed.getPart(i);
    if (part.getType() != UMSGPAT_PART_TYPE_ARG_NAME) continue;
    std::string name = ToUtf8(parsed.getSubstring(part));
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
  }
  return names;
}

std::string Collapse(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

StatusOr<std::unique_ptr<Messages>> Messages::Load(const std::string& dir) {
  namespace fs = std::filesystem;
  auto m = std::unique_ptr<Messages>(new Messages());
  for (const auto& language : Languages()) {
    auto& catalogue = m->catalogues_[language.tag];
    const fs::path folder = fs::path(dir) / language.tag;
    std::error_code ec;
    if (!fs::is_directory(folder, ec)) continue;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(folder)) {
      if (entry.path().extension() == ".json") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      std::ifstream in(file);
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(in);
      } catch (const nlohmann::json::parse_error& e) {
        return Status::InvalidArgument(fmt::format("{}: not JSON: {}", file.string(), e.what()));
      }
      if (!j.is_object()) return Status::InvalidArgument(fmt::format("{}: must be one object of messages", file.string()));
      for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string english = Collapse(it.key());
        auto fail = [&](const std::string& why) {
          return Status::InvalidArgument(fmt::format("{}: message \"{}\": {}", file.string(), english, why));
        };
        if (!it.value().is_string()) return fail("the translation must be a string");
        const std::string translated = Collapse(it.value().get<std::string>());
        if (translated.empty()) return fail("the translation is empty");
        auto from = ArgumentNames(english);
        if (!from.ok()) return fail("the English " + from.status().message());
        auto to = ArgumentNames(translated);
        if (!to.ok()) return fail("the translation " + to.status().message());
        std::set<std::string> a(from->begin(), from->end()), b(to->begin(), to->end());
        if (a != b) return fail("the translation must use the same arguments as the English");
        if (catalogue.contains(english)) return fail("given twice");
        catalogue.emplace(english, translated);
      }
    }
  }
  return m;
}

std::unique_ptr<Messages> Messages::EnglishOnly() { return std::unique_ptr<Messages>(new Messages()); }

bool Messages::Has(std::string_view lang, const std::string& message) const {
  const auto c = catalogues_.find(lang);
  return c != catalogues_.end() && c->second.contains(message);
}

size_t Messages::Count(std::string_view lang) const {
  const auto c = catalogues_.find(lang);
  return c == catalogues_.end() ? 0 : c->second.size();
}

std::string Messages::Format(std::string_view lang, const std::string& message,
                             const std::map<std::string, std::string>& args) const {
  const std::string* pattern = &message;
  if (const auto c = catalogues_.find(lang); c != catalogues_.end()) {
    if (const auto it = c->second.find(message); it != c->second.end()) pattern = &it->second;
  }
  if (pattern->find_first_of("{'") == std::string::npos) return *pattern;
  UErrorCode status = U_ZERO_ERROR;
  icu::MessageFormat format(icu::UnicodeString::fromUTF8(*pattern), icu::Locale(std::string(lang).c_str()), status);
  if (U_FAILURE(status)) return *pattern;
  std::vector<icu::UnicodeString> names;
  std::vector<icu::Formattable> values;
  for (const auto& [name, value] : args) {
    names.push_back(icu::UnicodeString::fromUTF8(name));
    values.push_back(Argument(value));
  }
  icu::UnicodeString out;
  format.format(names.data(), values.data(), static_cast<int32_t>(names.size()), out, status);
  if (U_FAILURE(status)) return *pattern;
  return ToUtf8(out);
}

}  // namespace i18n
