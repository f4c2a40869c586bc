#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>

namespace eligibility {

// A key given twice in one map: YAML takes both silently and a reader would keep one of them
// (a value's date copied and left unchanged, a household size given twice).
struct DuplicateKey {
  std::string key;
  YAML::Mark first;   // where it was given first
  YAML::Mark second;  // where it is given again
};

// The first map key given twice anywhere under `node`, in document order, if any.
std::optional<DuplicateKey> FirstDuplicateKey(const YAML::Node& node);
// What is wrong, for the place of `dup.second`: "'2025-07-01' is given twice in the same place
// (first at line 7): each key once".
std::string DuplicateKeyText(const DuplicateKey& dup);

// yaml-cpp's message for a parse error, with a hint where the usual cause is plain text that
// holds ": " or starts with "{" (a message's words), which YAML reads as a map.
std::string YamlErrorText(const YAML::Exception& e);

}  // namespace eligibility
