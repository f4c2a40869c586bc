// libFuzzer target for the YAML configuration file: any bytes as onedoor's configuration must
// load or give an error naming the file (and, for YAML mistakes, the line): no crash, leak or
// undefined behaviour. Build and run with fuzz/run.sh SECONDS config.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "core/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/onedoor-config-fuzz-" + std::to_string(getpid()) + ".yaml";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  auto config = core::Config::Load(path);
  if (!config.ok() && config.status().message().find(path) == std::string::npos) std::abort();  // names the file
  return 0;
}
