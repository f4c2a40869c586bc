#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

// JSON-lines logging to stderr: one object per line with time, level, message and fields.
// Never log personal data: ids and counts only.
namespace core {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

void SetLogLevel(LogLevel level);
LogLevel ParseLogLevel(std::string_view name);

using LogField = std::pair<std::string_view, std::string>;
void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {});
// Whether a line at `level` would be written: lets a caller skip making its fields.
bool LogEnabled(LogLevel level);

inline void LogInfo(std::string_view m, std::initializer_list<LogField> f = {}) { Log(LogLevel::kInfo, m, f); }
inline void LogWarn(std::string_view m, std::initializer_list<LogField> f = {}) { Log(LogLevel::kWarn, m, f); }
inline void LogError(std::string_view m, std::initializer_list<LogField> f = {}) { Log(LogLevel::kError, m, f); }

// JSON string escaping, exposed for the few places that write JSON by hand: `"`, `\` and
// control characters escaped as nlohmann::json's dump() writes them; other UTF-8 as it is.
std::string JsonEscape(std::string_view s);
// The same, appended to `out`.
void AppendJsonEscaped(std::string& out, std::string_view s);

}  // namespace core
