#pragma once

#include <map>
#include <optional>
#include <string>

#include "http/request.h"

namespace http {

// One field of a multipart/form-data body: a file (with its name and type) or a plain value.
struct FormPart {
  std::string file_name;     // empty for a plain field
  std::string content_type;  // as the browser sent it
  std::string value;         // the bytes
};

// The fields of a multipart/form-data request by name, or nullopt when the request is not
// one or its body cannot be read.
std::optional<std::multimap<std::string, FormPart>> ParseMultipartForm(const Request& request);

}  // namespace http
