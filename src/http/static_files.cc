#include "http/static_files.h"

#include <fstream>
#include <sstream>

namespace http {
namespace {

bool SafeSegment(const std::string& s) {
  if (s.empty() || s[0] == '.' || s.size() > 128) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  }
  return true;
}

std::string ContentType(const std::string& path) {
  auto ends = [&](const char* ext) {
    std::string e(ext);
    return path.size() >= e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0;
  };
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".ico")) return "image/x-icon";
  if (ends(".woff2")) return "font/woff2";
  if (ends(".json")) return "application/json";
  return "application/octet-stream";
}

Response ServeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Response::Text(404, "not found");
  std::stringstream ss;
  ss << in.rdbuf();
  Response r = Response::Text(200, ss.str(), ContentType(path));
  r.Header("Cache-Control", "public, max-age=3600");
  return r;
}

}  // namespace

void AddStaticRoutes(Router& router, const std::string& web_root, const std::string& node_modules) {
  const std::string govuk = node_modules + "/govuk-frontend/dist/govuk";
  router.Add({"GET", "/static/{file}", Auth::kPublic, "", [web_root, govuk](Context& ctx) {
                const std::string& file = ctx.Param("file");
                if (!SafeSegment(file)) return Response::Text(404, "not found");
                if (file == "govuk-frontend.min.js") return ServeFile(govuk + "/govuk-frontend.min.js");
                return ServeFile(web_root + "/static/" + file);
              }});
  router.Add({"GET", "/assets/{dir}/{file}", Auth::kPublic, "", [govuk](Context& ctx) {
                if (!SafeSegment(ctx.Param("dir")) || !SafeSegment(ctx.Param("file"))) {
                  return Response::Text(404, "not found");
                }
                return ServeFile(govuk + "/assets/" + ctx.Param("dir") + "/" + ctx.Param("file"));
              }});
}

}  // namespace http
