#pragma once

#include <nlohmann/json_fwd.hpp>

#include "cases/document_service.h"
#include "http/router.h"

namespace http {

// /api/v1/persons/{id}/documents (upload: the file as the body; list) and
// /api/v1/documents/{id}/content (the bytes).
void AddDocumentRoutes(Router& router, cases::DocumentService& documents);

nlohmann::json DocumentJson(const cases::Document& d);

}  // namespace http
