#pragma once

// Helpers for JSON request bodies. Includes nlohmann/json: only API handler files include this.

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "http/request.h"

namespace http {

// Parses `request.body` as a JSON object. Fails with kInvalidArgument when the content type
// is not JSON, the body is not valid JSON (with the byte offset), or not an object.
core::StatusOr<nlohmann::json> ParseJsonObject(const Request& request);

// Collects field errors while reading a JSON object, so that one response names every wrong
// field. Unknown fields are errors.
class JsonReader {
 public:
  JsonReader(const nlohmann::json& object, std::string prefix = "");

  // Required and optional values; wrong types are recorded as field errors.
  std::string String(std::string_view key, bool required = false, size_t max_len = 1000);
  std::optional<std::string> OptString(std::string_view key, size_t max_len = 1000);
  std::optional<int64_t> OptInt(std::string_view key);
  std::optional<bool> OptBool(std::string_view key);
  // Returns the array at `key` (empty if absent); records an error when it is not an array
  // or has more than `max_items`.
  const nlohmann::json* Array(std::string_view key, size_t max_items = 100);
  const nlohmann::json* Object(std::string_view key);

  void Error(std::string field, std::string message);
  void RejectUnknown(std::initializer_list<std::string_view> known);
  // Merges errors found by a nested reader.
  void Absorb(const JsonReader& nested);
  std::string Path(std::string_view key) const;

  const std::vector<core::FieldError>& errors() const { return errors_; }
  // OK, or kInvalidArgument with every field error.
  core::Status Finish(std::string_view what = "the request has invalid fields") const;

 private:
  const nlohmann::json& object_;
  std::string prefix_;
  std::vector<core::FieldError> errors_;
};

Response JsonResponse(int status, const nlohmann::json& body);

// A positive id from a path or query parameter; kInvalidArgument naming `field` otherwise.
core::StatusOr<int64_t> ParseId(const std::string& text, std::string_view field);

}  // namespace http
