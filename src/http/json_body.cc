#include "http/json_body.h"

#include <fmt/format.h>

#include <charconv>
#include <optional>
#include <set>
#include <vector>

#include "core/utf8.h"

namespace http {

namespace {

// Whether a Content-Type is JSON: "application/json", in any case, with any parameters.
bool IsJsonType(std::string_view type) {
  type = type.substr(0, type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  constexpr std::string_view kJson = "application/json";
  if (type.size() != kJson.size()) return false;
  for (size_t i = 0; i < kJson.size(); ++i) {
    const char c =
        type[i] >= 'A' && type[i] <= 'Z' ? static_cast<char>(type[i] - 'A' + 'a') : type[i];
    if (c != kJson[i]) return false;
  }
  return true;
}

}  // namespace

core::StatusOr<nlohmann::json> ParseJsonObject(const Request& request) {
  auto type = request.Header("content-type");
  if (!type || !IsJsonType(*type)) {
    return core::Status::InvalidArgument("the request body must be JSON (Content-Type: application/json)");
  }
  nlohmann::json body;
  // A member named twice in one object (`{"sex": "female", "sex": "male"}`) is refused: which
  // one counts would be the parser's guess, not the sender's. Each one is named by its JSON path
  // ("records/2/person/names/0/given"), as the other field errors are.
  struct Frame {
    bool array = false;
    std::string key;     // an object's member being read
    int64_t index = -1;  // an array's element being read
    std::set<std::string> members;
  };
  std::vector<Frame> frames;
  std::vector<core::FieldError> twice;
  const auto path_to = [&frames](const std::string& last) {
    std::string out;
    for (size_t i = 0; i + 1 < frames.size(); ++i) {
      out += frames[i].array ? std::to_string(frames[i].index) : frames[i].key;
      out += '/';
    }
    return out + last;
  };
  const auto element = [&frames] {
    if (!frames.empty() && frames.back().array) ++frames.back().index;
  };
  const auto check = [&](int /*depth*/, nlohmann::json::parse_event_t event,
                         nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    switch (event) {
      case Event::object_start:
      case Event::array_start:
        element();
        frames.push_back({event == Event::array_start, {}, -1, {}});
        break;
      case Event::object_end:
      case Event::array_end:
        if (!frames.empty()) frames.pop_back();
        break;
      case Event::key:
        if (!frames.empty()) {
          Frame& f = frames.back();
          f.key = parsed.get<std::string>();
          if (!f.members.insert(f.key).second && twice.size() < 100) {
            twice.push_back({path_to(f.key), "appears twice in one object"});
          }
        }
        break;
      case Event::value:
        element();
        break;
    }
    return true;
  };
  try {
    body = nlohmann::json::parse(request.body, check);
  } catch (const nlohmann::json::parse_error& e) {
    // The message gives the byte offset, not the content.
    return core::Status::InvalidArgument(
        fmt::format("the body is not valid JSON (at byte {})", e.byte));
  } catch (const nlohmann::json::out_of_range&) {
    return core::Status::InvalidArgument("the body is not valid JSON: a number is too large");
  } catch (const nlohmann::json::exception&) {
    return core::Status::InvalidArgument("the body is not valid JSON");
  }
  if (!body.is_object()) return core::Status::InvalidArgument("the body must be a JSON object");
  if (!twice.empty()) {
    return core::Status::InvalidArgument(
        "the body names a member twice in one object: send each once", std::move(twice));
  }
  return body;
}

JsonReader::JsonReader(const nlohmann::json& object, std::string prefix)
    : object_(object), prefix_(std::move(prefix)) {}

std::string JsonReader::Path(std::string_view key) const {
  return prefix_.empty() ? std::string(key) : prefix_ + "/" + std::string(key);
}

void JsonReader::Error(std::string field, std::string message) {
  errors_.push_back({std::move(field), std::move(message)});
}

std::string JsonReader::String(std::string_view key, bool required, size_t max_len) {
  auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) {
    if (required) Error(Path(key), "is required");
    return {};
  }
  if (!it->is_string()) {
    Error(Path(key), "must be a string");
    return {};
  }
  std::string v = it->get<std::string>();
  if (core::Utf8Length(v) > max_len) {
    Error(Path(key), fmt::format("must be at most {} characters", max_len));
    return {};
  }
  if (required && v.find_first_not_of(" \t\r\n") == std::string::npos) Error(Path(key), "must not be empty");
  return v;
}

std::optional<std::string> JsonReader::OptString(std::string_view key, size_t max_len) {
  auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) return std::nullopt;
  return String(key, false, max_len);
}

std::optional<int64_t> JsonReader::OptInt(std::string_view key) {
  auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer()) {
    Error(Path(key), "must be a whole number");
    return std::nullopt;
  }
  return it->get<int64_t>();
}

std::optional<bool> JsonReader::OptBool(std::string_view key) {
  auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) {
    Error(Path(key), "must be true or false");
    return std::nullopt;
  }
  return it->get<bool>();
}

const nlohmann::json* JsonReader::Array(std::string_view key, size_t max_items) {
  auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) return nullptr;
  if (!it->is_array()) {
    Error(Path(key), "must be a list");
    return nullptr;
  }
  if (it->size() > max_items) {
    Error(Path(key), fmt::format("must have at most {} items", max_items));
    return nullptr;
  }
  return &*it;
}

const nlohmann::json* JsonReader::Object(std::string_view key) {
  auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) return nullptr;
  if (!it->is_object()) {
    Error(Path(key), "must be an object");
    return nullptr;
  }
  return &*it;
}

void JsonReader::RejectUnknown(std::initializer_list<std::string_view> known) {
  for (auto it = object_.begin(); it != object_.end(); ++it) {
    bool found = false;
    for (auto k : known) found = found || it.key() == k;
    if (!found) Error(Path(it.key()), "is not a known field");
  }
}

void JsonReader::Absorb(const JsonReader& nested) {
  errors_.insert(errors_.end(), nested.errors_.begin(), nested.errors_.end());
}

core::Status JsonReader::Finish(std::string_view what) const {
  if (errors_.empty()) return core::Status::Ok();
  return core::Status::InvalidArgument(std::string(what), errors_);
}

Response JsonResponse(int status, const nlohmann::json& body) { return Response::Json(status, body.dump()); }

core::StatusOr<int64_t> ParseId(const std::string& text, std::string_view field) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v <= 0) {
    return core::Status::InvalidArgument("an id is not valid", {{std::string(field), "must be a positive whole number"}});
  }
  return v;
}

}  // namespace http
