#pragma once

// The languages onedoor speaks. Every message is written in English, as an ICU MessageFormat
// pattern ("You have {count, plural, one {# document} other {# documents}}"); the English text is
// the message's key. A language's catalogue (web/locales/<tag>/*.json, flat objects from the
// English pattern to the language's) gives its pattern; a message not in it is shown in English.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/date.h"
#include "core/status.h"

namespace i18n {

struct Language {
  std::string tag;   // BCP 47: en, es, ar
  std::string name;  // in the language itself: English, Español, العربية
  bool rtl = false;  // written right to left
};

// The languages of the language switcher, English first.
const std::vector<Language>& Languages();
// The language of `tag`, or null when onedoor does not speak it.
const Language* FindLanguage(std::string_view tag);

// The language of a request: the chosen one (the language cookie) when onedoor speaks it, else
// the first of Accept-Language's that it speaks ("es-MX" counts as "es"), else English.
std::string Negotiate(std::string_view chosen, std::string_view accept_language);

// A date in the language's long style: "2 December 2026", "2 de diciembre de 2026".
std::string FormatDate(std::string_view lang, core::Date date);

// The names of the arguments of an ICU pattern, each once, in order; an error naming the
// position when the pattern does not parse.
core::StatusOr<std::vector<std::string>> ArgumentNames(const std::string& pattern);

class Messages {
 public:
  // Reads every <dir>/<tag>/*.json of the languages onedoor speaks. Fails naming the file, and
  // the message where it applies, when a file does not parse, a value is not a string, a
  // pattern does not parse, or a translation's arguments differ from the English.
  static core::StatusOr<std::unique_ptr<Messages>> Load(const std::string& dir);
  // No catalogue: every message in English.
  static std::unique_ptr<Messages> EnglishOnly();

  // `message` in `lang`, its arguments filled in by ICU (numbers as numbers, so that plurals
  // follow the language's rules). Never fails: a message that cannot be formatted is given as
  // its pattern.
  std::string Format(std::string_view lang, const std::string& message,
                     const std::map<std::string, std::string>& args = {}) const;
  // Whether `lang`'s catalogue has `message`.
  bool Has(std::string_view lang, const std::string& message) const;
  // How many messages `lang`'s catalogue has.
  size_t Count(std::string_view lang) const;

 private:
  Messages() = default;
  // tag -> English pattern -> the language's pattern.
  std::map<std::string, std::unordered_map<std::string, std::string>, std::less<>> catalogues_;
};

// `text` with runs of white space made one space and the ends trimmed: a message as written
// over several lines of a template.
std::string Collapse(std::string_view text);

}  // namespace i18n
