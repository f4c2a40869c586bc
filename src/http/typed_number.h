#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace http {

// A number or an amount as people type it into a form, in the form the engine takes
// ("3500.50"): currency signs and spaces dropped, Arabic-Indic digits read, and either mark read
// as the decimal one where only one reading makes sense. "1,200.50", "1.200,50", "$ 1 200,50"
// and "١٢٠٠٫٥٠" all give "1200.50"; "3.500" and "3,500" give "3500" for an amount, which never
// has three decimals; for a number, a lone mark before three digits is the decimal mark only
// when it is `decimal_mark`, the page language's. nullopt when the text is not clearly one
// number: letters, groups that are not of three digits, more than two decimals in an amount.
std::optional<std::string> NumberFromTyped(std::string_view text, bool money, char decimal_mark);

// `text` with Arabic-Indic digits (U+0660-0669, U+06F0-06F9) written as ASCII digits, and
// nothing else changed: for dates and phone numbers typed on a page in Arabic.
std::string AsciiDigits(std::string_view text);

// The decimal mark of a language ("es" → ',', "en" → '.').
char DecimalMarkOf(std::string_view language);

}  // namespace http
