#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace kainjow::mustache {
template <typename StringType>
class basic_mustache;
}  // namespace kainjow::mustache

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

  ~Templates();

 private:
  class Lease;
  Templates() = default;
  std::map<std::string, std::string> sources_;
  std::map<std::string, std::string> partials_;
  // Parsed templates not in use, by name (parsing is done once per thread that needs one).
  mutable std::mutex pool_mutex_;
  mutable std::map<std::string, std::vector<std::unique_ptr<kainjow::mustache::basic_mustache<std::string>>>> pool_;
};

}  // namespace http
