// libFuzzer target for the CSV reader of client imports and the HSDS data package: any bytes,
// read with each delimiter, encoding and trimming, must give records or a record's clean error:
// no crash, leak, overflow or undefined behaviour, and every record's fields valid UTF-8.
// Build and run with fuzz/run.sh SECONDS csv.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "core/utf8.h"
#include "registry/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (char delimiter : {',', ';', '\t'}) {
    for (auto encoding : {registry::Encoding::kUtf8, registry::Encoding::kLatin1, registry::Encoding::kWindows1252}) {
      for (bool trim : {false, true}) {
        std::istringstream in(text);
        registry::CsvReader reader(in, delimiter, encoding, trim);
        registry::CsvRecord record;
        int64_t last_line = 0;
        while (reader.Next(record)) {
          if (record.line <= last_line) std::abort();  // lines only go forward
          last_line = record.line;
          if (!record.error.empty()) continue;
          for (const auto& f : record.fields) {
            if (!core::IsValidUtf8(f)) std::abort();  // a usable record is UTF-8
          }
        }
      }
    }
  }
  return 0;
}
