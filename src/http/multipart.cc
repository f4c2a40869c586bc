#include "http/multipart.h"

#include <restinio/helpers/http_field_parsers/content-disposition.hpp>
#include <restinio/helpers/multipart_body.hpp>

namespace http {

std::optional<std::multimap<std::string, FormPart>> ParseMultipartForm(const Request& request) {
  const auto type = request.Header("content-type");
  if (!type || type->rfind("multipart/form-data", 0) != 0) return std::nullopt;
  const size_t at = type->find("boundary=");
  if (at == std::string::npos) return std::nullopt;
  std::string boundary = type->substr(at + 9);
  if (const size_t end = boundary.find(';'); end != std::string::npos) boundary.resize(end);
  if (boundary.size() >= 2 && boundary.front() == '"' && boundary.back() == '"') {
    boundary = boundary.substr(1, boundary.size() - 2);
  }
  if (boundary.empty() || boundary.size() > 70) return std::nullopt;
  const std::string separator = "--" + boundary;
  std::multimap<std::string, FormPart> out;
  const auto parts = restinio::multipart_body::split_multipart_body(request.body, separator);
  if (parts.empty()) return std::nullopt;
  for (const auto one : parts) {
    auto parsed = restinio::multipart_body::try_parse_part(one);
    if (!parsed) return std::nullopt;
    const std::string* disposition = parsed->fields.try_get_field("Content-Disposition");
    if (disposition == nullptr) return std::nullopt;
    auto value = restinio::http_field_parsers::content_disposition_value_t::try_parse(*disposition);
    if (!value || value->value != "form-data") return std::nullopt;
    const auto name = restinio::http_field_parsers::find_first(value->parameters, "name");
    if (!name) return std::nullopt;
    FormPart part;
    if (const auto file = restinio::http_field_parsers::find_first(value->parameters, "filename")) {
      part.file_name = std::string(*file);
    }
    if (const std::string* content_type = parsed->fields.try_get_field("Content-Type")) part.content_type = *content_type;
    part.value = std::string(parsed->body);
    out.emplace(std::string(*name), std::move(part));
  }
  return out;
}

}  // namespace http
