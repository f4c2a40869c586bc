#include "registry/csv.h"

#include <array>

#include "core/utf8.h"

namespace registry {
namespace {

// Windows-1252 0x80..0x9F; 0 where the byte is unassigned.
constexpr std::array<char32_t, 32> kCp1252High = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

void AppendUtf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}

}  // namespace

core::StatusOr<Encoding> ParseEncoding(const std::string& name) {
  if (name == "utf-8" || name == "utf8" || name == "UTF-8") return Encoding::kUtf8;
  if (name == "latin1" || name == "iso-8859-1" || name == "ISO-8859-1") return Encoding::kLatin1;
  if (name == "windows-1252" || name == "cp1252") return Encoding::kWindows1252;
  return core::Status::InvalidArgument("must be utf-8, latin1 or windows-1252");
}

std::string ToUtf8(std::string_view text, Encoding from) {
  if (from == Encoding::kUtf8) return std::string(text);
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    char32_t cp = c;
    if (from == Encoding::kWindows1252 && c >= 0x80 && c <= 0x9F) {
      cp = kCp1252High[c - 0x80];
      if (cp == 0) cp = 0xFFFD;
    }
    AppendUtf8(out, cp);
  }
  return out;
}

CsvReader::CsvReader(std::istream& in, char delimiter, Encoding encoding, bool trim)
    : in_(in), delimiter_(delimiter), encoding_(encoding), trim_(trim) {}

bool CsvReader::ReadLine(std::string& line) {
  if (!std::getline(in_, line)) return false;
  bytes_read_ += static_cast<int64_t>(line.size()) + (in_.eof() ? 0 : 1);
  ++line_;
  if (line_ == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return true;
}

bool CsvReader::Next(CsvRecord& out) {
  std::string line;
  do {
    if (!ReadLine(line)) return false;
  } while (line.empty());
  out = CsvRecord{};
  out.line = line_;
  std::string raw = line;
  // Whole lines are converted before parsing: the delimiter and quotes are ASCII in every
  // supported encoding, so they keep their meaning.
  auto convert = [&](std::string& text) {
    if (encoding_ != Encoding::kUtf8) {
      text = ToUtf8(text, encoding_);
    } else if (out.error.empty() && !core::IsValidUtf8(text)) {
      out.error = "the record is not valid UTF-8 (set encoding: latin1 or windows-1252 in the mapping?)";
    }
  };
  convert(line);

  std::string field;
  bool quoted = false;      // inside quotes now
  bool was_quoted = false;  // the current field started with a quote
  size_t i = 0;
  for (;;) {
    if (i >= line.size()) {
      if (quoted) {
        // A line break inside quotes belongs to the field.
        std::string next;
        if (!ReadLine(next)) {
          out.error = "a quoted field is not closed before the end of the file";
          out.fields.push_back(field);
          out.raw = ToUtf8(raw, encoding_);
          return true;
        }
        raw += "\n" + next;
        convert(next);
        field += '\n';
        line = std::move(next);
        i = 0;
        continue;
      }
      out.fields.push_back(trim_ && !was_quoted ? Trim(field) : field);
      break;
    }
    const char c = line[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        ++i;
        continue;
      }
      field += c;
      ++i;
      continue;
    }
    if (c == '"' && (trim_ ? Trim(field).empty() : field.empty()) && !was_quoted) {
      quoted = was_quoted = true;
      field.clear();
      ++i;
      continue;
    }
    if (c == delimiter_) {
      out.fields.push_back(trim_ && !was_quoted ? Trim(field) : field);
      field.clear();
      was_quoted = false;
      ++i;
      continue;
    }
    field += c;
    ++i;
  }
  out.raw = encoding_ == Encoding::kUtf8 ? raw : ToUtf8(raw, encoding_);
  return true;
}

}  // namespace registry
