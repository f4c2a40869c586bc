#pragma once

#include <string_view>

namespace core {

// True if `text` is well-formed UTF-8: no overlong forms, surrogates, values past U+10FFFF or
// sequences cut short.
bool IsValidUtf8(std::string_view text);

}  // namespace core
