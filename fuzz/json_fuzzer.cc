// libFuzzer target for JSON request bodies: any bytes parsed as JSON and, when they are an object,
// read as a person the way POST /api/v1/persons reads it; a person read is written back and read
// again, and must come back the same. Errors must be clean: no crash, leak or undefined behaviour.
// Build and run with fuzz/run.sh SECONDS json.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "registry/person.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto body = nlohmann::json::parse(reinterpret_cast<const char*>(data), reinterpret_cast<const char*>(data) + size,
                                    nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) return 0;
  auto person = registry::FromJson(body);
  if (!person.ok()) {
    if (person.status().message().empty()) std::abort();  // an error says what was wrong
    return 0;
  }
  authz::Decision all;
  all.allowed = true;
  all.fields = ~0u;  // every field visible
  const nlohmann::json written = registry::ToJson(*person, all);
  auto again = registry::FromJson(written);
  if (!again.ok()) std::abort();  // what onedoor writes, it reads
  if (registry::ToJson(*again, all) != written) std::abort();
  return 0;
}
