#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace i18n {
class Messages;
}  // namespace i18n

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
  // Fails naming the file when one is missing or does not parse, or when a message catalogue
  // under <dir>/locales does not load (i18n::Messages::Load).
  static core::StatusOr<std::unique_ptr<Templates>> Load(const std::string& dir);

  // Renders `name` with `data`, then the layout around it with the same data plus `content`.
  // `data["lang"]` (English when absent) is the language of the page: {{#t}}message{{/t}} gives
  // the message in it, its {arguments} taken from the data by name, HTML-escaped.
  std::string RenderPage(const std::string& name, const nlohmann::json& data) const;

  // The message catalogues the pages are rendered with.
  const i18n::Messages& messages() const { return *messages_; }

  ~Templates();

 private:
  class Lease;
  Templates() = default;
  std::map<std::string, std::string> sources_;
  std::map<std::string, std::string> partials_;
  std::unique_ptr<i18n::Messages> messages_;
  // Parsed templates not in use, by name (parsing is done once per thread that needs one).
  mutable std::mutex pool_mutex_;
  mutable std::map<std::string, std::vector<std::unique_ptr<kainjow::mustache::basic_mustache<std::string>>>> pool_;
};

}  // namespace http
