#include "http/api_documents.h"

#include <fmt/format.h>

#include <cctype>
#include <nlohmann/json.hpp>

#include "http/json_body.h"
#include "http/problem.h"

namespace http {

using nlohmann::json;

json DocumentJson(const cases::Document& d) {
  return {{"id", d.id},
          {"person_id", d.person.value},
          {"application_id", d.application ? json(*d.application) : json(nullptr)},
          {"kind", d.kind},
          {"category", {{"id", d.category}, {"label", d.category_label}}},
          {"file_name", d.file_name},
          {"media_type", d.media_type},
          {"size", d.size},
          {"sha256", d.sha256},
          {"uploaded_by", d.uploaded_by},
          {"agency", {{"id", d.agency.value}, {"name", d.agency_name}}},
          {"uploaded_at", d.uploaded_at.ToRfc3339()},
          {"content", fmt::format("/api/v1/documents/{}/content", d.id)}};
}

// Content-Disposition for a file's name (RFC 6266): `filename` with printable ASCII only (quotes,
// backslashes and each other character replaced by "_", so that no header can be broken by a
// name), and, when the name has more than that, `filename*` with the whole name in UTF-8,
// percent-encoded (RFC 8187), which browsers prefer: "Lohn März.pdf" downloads as it was named.
std::string ContentDisposition(const std::string& name) {
  std::string ascii;
  std::string encoded;
  bool plain = true;
  for (size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c >= 0x80) {
      plain = false;
      if ((c & 0xC0) != 0x80) ascii.push_back('_');  // one "_" per character, not per byte
    } else if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      plain = false;
      ascii.push_back('_');
    } else {
      ascii.push_back(static_cast<char>(c));
    }
    const bool attr_char = std::isalnum(c) != 0 && c < 0x80;
    if (attr_char ||
        std::string_view("!#$&+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos) {
      encoded.push_back(static_cast<char>(c));
    } else {
      encoded += fmt::format("%{:02X}", c);
    }
  }
  if (ascii.empty()) return "attachment; filename=\"document\"";
  if (plain) return fmt::format("attachment; filename=\"{}\"", ascii);
  return fmt::format("attachment; filename=\"{}\"; filename*=UTF-8''{}", ascii, encoded);
}

void AddDocumentRoutes(Router& router, cases::DocumentService& documents) {
  router.Add({"POST", "/api/v1/persons/{id}/documents", Auth::kApi, "uploadDocument", [&documents](Context& ctx) {
                auto person = ParseId(ctx.Param("id"), "id");
                if (!person.ok()) return Problem(person.status(), ctx.request.request_id);
                cases::NewDocument d;
                d.person = core::PersonId{*person};
                d.kind = ctx.request.Query("kind");
                d.category = ctx.request.Query("category");
                d.file_name = ctx.request.Query("file_name");
                std::vector<core::FieldError> unread;  // named with the rest by the service
                if (const std::string a = ctx.request.Query("application_id"); !a.empty()) {
                  auto id = ParseId(a, "application_id");
                  if (id.ok()) {
                    d.application = *id;
                  } else {
                    for (const auto& fe : id.status().fields()) unread.push_back(fe);
                    if (unread.empty()) unread.push_back({"application_id", id.status().message()});
                  }
                }
                std::string type = ctx.request.Header("content-type").value_or("");
                if (const size_t semi = type.find(';'); semi != std::string::npos) type.resize(semi);
                d.media_type = type;
                d.content = ctx.request.body;
                auto done = documents.Upload(ctx.Who(), d, std::move(unread));
                if (!done.ok()) return Problem(done.status(), ctx.request.request_id);
                Response resp = JsonResponse(201, DocumentJson(*done));
                resp.Header("Location", fmt::format("/api/v1/documents/{}/content", done->id));
                return resp;
              }});

  router.Add({"GET", "/api/v1/persons/{id}/documents", Auth::kApi, "listDocuments", [&documents](Context& ctx) {
                auto person = ParseId(ctx.Param("id"), "id");
                if (!person.ok()) return Problem(person.status(), ctx.request.request_id);
                auto list = documents.ForPerson(ctx.Who(), core::PersonId{*person});
                if (!list.ok()) return Problem(list.status(), ctx.request.request_id);
                json items = json::array();
                for (const auto& d : list->first) items.push_back(DocumentJson(d));
                return JsonResponse(200, {{"items", std::move(items)}, {"withheld", list->second}});
              }});

  router.Add({"GET", "/api/v1/documents/{id}/content", Auth::kApi, "getDocumentContent", [&documents](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto got = documents.Content(ctx.Who(), *id);
                if (!got.ok()) return Problem(got.status(), ctx.request.request_id);
                Response resp;
                resp.status = 200;
                resp.body = std::move(got->second);
                resp.Header("Content-Type", got->first.media_type);
                resp.Header("Content-Disposition", ContentDisposition(got->first.file_name));
                resp.Header("Cache-Control", "no-store");
                resp.Header("ETag", fmt::format("\"{}\"", got->first.sha256));
                return resp;
              }});
}

}  // namespace http
