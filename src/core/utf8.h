#pragma once

#include <cstddef>
#include <string_view>

namespace core {

// True if `text` is well-formed UTF-8: no overlong forms, surrogates, values past U+10FFFF or
// sequences cut short.
bool IsValidUtf8(std::string_view text);

// The number of characters (code points) in UTF-8 `text`: what a limit of "200 characters" counts,
// as JSON Schema's maxLength does. "山" is one character of three bytes.
size_t Utf8Length(std::string_view text);

// True if UTF-8 `text` holds a control character (C0, DEL or C1: NUL, tab, line breaks, escape),
// which a one-line field such as a name or an id must not.
bool HasControlCharacter(std::string_view text);

}  // namespace core
