#pragma once

#include <string>

#include "http/router.h"

namespace http {

// /static/onedoor.css (built from web/scss), /static/govuk-frontend.min.js and /assets/...
// from the installed GOV.UK Frontend package. Paths are checked so that nothing outside
// those folders can be read.
void AddStaticRoutes(Router& router, const std::string& web_root, const std::string& node_modules);

}  // namespace http
