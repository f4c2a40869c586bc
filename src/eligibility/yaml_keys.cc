#include "eligibility/yaml_keys.h"

#include <fmt/format.h>

#include <map>

namespace eligibility {

std::optional<DuplicateKey> FirstDuplicateKey(const YAML::Node& node) {
  if (node.IsMap()) {
    std::map<std::string, YAML::Mark> seen;
    for (const auto& kv : node) {
      if (kv.first.IsScalar()) {
        auto [it, fresh] = seen.emplace(kv.first.Scalar(), kv.first.Mark());
        if (!fresh) return DuplicateKey{kv.first.Scalar(), it->second, kv.first.Mark()};
      }
      if (auto inner = FirstDuplicateKey(kv.second)) return inner;
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) {
      if (auto inner = FirstDuplicateKey(item)) return inner;
    }
  }
  return std::nullopt;
}

std::string DuplicateKeyText(const DuplicateKey& dup) {
  return fmt::format("'{}' is given twice in the same place (first at line {}): each key once",
                     dup.key, dup.first.line + 1);
}

std::string YamlErrorText(const YAML::Exception& e) {
  std::string out = "YAML: " + e.msg;
  if (e.msg.find("illegal map value") != std::string::npos ||
      e.msg.find("end of map not found") != std::string::npos ||
      e.msg.find("end of map flow not found") != std::string::npos) {
    out +=
        " (text that holds \": \" or starts with \"{\" must be in quotes, like pass: \"Costs: "
        "{costs} a month\")";
  }
  return out;
}

}  // namespace eligibility
