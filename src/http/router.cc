#include "http/router.h"

#include <stdexcept>

namespace http {
namespace {
std::vector<std::string> Split(const std::string& path, bool decode) {
  std::vector<std::string> out;
  size_t start = 1;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    std::string_view segment(path.data() + start, slash - start);
    out.push_back(decode && segment.find('%') != std::string_view::npos ? PathDecode(segment)
                                                                        : std::string(segment));
    start = slash + 1;
  }
  return out;
}
}  // namespace

const std::string& Context::Param(const std::string& name) const {
  static const std::string kEmpty;
  auto it = params.find(name);
  return it == params.end() ? kEmpty : it->second;
}

void Router::Add(Route route) {
  for (const auto& r : routes_) {
    if (r.method == route.method && r.pattern == route.pattern) {
      throw std::logic_error("duplicate route " + route.method + " " + route.pattern);
    }
  }
  patterns_.push_back(Split(route.pattern, false));
  routes_.push_back(std::move(route));
}

Route* Router::FindOperation(std::string_view operation_id) {
  for (auto& r : routes_) {
    if (!r.operation_id.empty() && r.operation_id == operation_id) return &r;
  }
  return nullptr;
}

Match Router::Find(const std::string& method, const std::string& path) const {
  Match m;
  if (path.empty() || path[0] != '/') return m;
  const auto segments = Split(path, true);
  for (size_t k = 0; k < routes_.size(); ++k) {
    const Route& r = routes_[k];
    const auto& pattern = patterns_[k];
    if (pattern.size() != segments.size()) continue;
    std::map<std::string, std::string> params;
    bool ok = true;
    for (size_t i = 0; i < pattern.size() && ok; ++i) {
      const auto& p = pattern[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        if (segments[i].empty()) ok = false;
        params[p.substr(1, p.size() - 2)] = segments[i];
      } else {
        ok = p == segments[i];
      }
    }
    if (!ok) continue;
    if (r.method != method) {
      m.path_exists = true;
      m.allowed.push_back(r.method);
      continue;
    }
    m.route = &r;
    m.params = std::move(params);
    return m;
  }
  return m;
}

}  // namespace http
