// libFuzzer target for the Open Referral HSDS import: any bytes parsed as JSON and flattened as a
// bundle, a page or a document of services and organizations, every row checked against its
// table. Problems must be reported, never crash: no crash, leak or undefined behaviour.
// Build and run with fuzz/run.sh SECONDS hsds.

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "directory/hsds.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto doc = nlohmann::json::parse(reinterpret_cast<const char*>(data), reinterpret_cast<const char*>(data) + size,
                                   nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return 0;
  for (const char* table : {"", "service", "organization"}) {
    directory::Dataset out;
    (void)directory::FlattenDocument(doc, table, "fuzz.json", out);
    (void)out.size();
  }
  return 0;
}
