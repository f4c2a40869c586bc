#pragma once

#include <map>
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "core/status.h"

namespace http {

// The page templates (Mustache, HTML-escaped by default) under web/templates, loaded and
// checked once at start-up. Thread-safe.
class Templates {
 public:
  // Fails naming the file when one is missing or does not parse.
  static core::StatusOr<std::unique_ptr<Templates>> Load(const std::string& dir);

  // Renders `name` with `data`, then the layout around it with the same data plus `content`.
  std::string RenderPage(const std::string& name, const nlohmann::json& data) const;

 private:
  std::map<std::string, std::string> sources_;
  std::map<std::string, std::string> partials_;
};

}  // namespace http
