#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "access/access_gate.h"
#include "access/data_categories.h"
#include "access/principal.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "exchange/outbox.h"
#include "storage/database.h"

// Documents uploaded once and kept with the person (a payslip, a tenancy agreement, a letter),
// each in a data category of the deployment, so that every agency sees it exactly when the
// access gate lets it see that category of the person's data. The bytes are stored in the
// database with their SHA-256; an application may name the documents that support it.
namespace cases {

struct Document {
  int64_t id = 0;
  core::PersonId person;
  std::optional<int64_t> application;
  std::string kind;  // payslip, bank_statement, tenancy, identity, medical, letter, other
  std::string category;
  std::string category_label;
  std::string file_name;
  std::string media_type;
  int64_t size = 0;
  std::string sha256;  // hex
  std::string uploaded_by;
  core::AgencyId agency;
  std::string agency_name;
  core::Timestamp uploaded_at;
};

struct NewDocument {
  core::PersonId person;
  std::optional<int64_t> application;
  std::string kind;
  std::string category;
  std::string file_name;
  std::string media_type;
  std::string content;
};

struct DocumentOptions {
  size_t max_bytes = 5u << 20;
};

// The kinds of document and the media types accepted (PDF, JPEG, PNG).
const std::vector<std::string>& DocumentKinds();
const std::vector<std::string>& DocumentMediaTypes();

// Every upload and every read of the content is audited on the person (document.upload,
// document.download; lists: document.list) and an upload sends `document.uploaded`.
// Thread-safe.
class DocumentService {
 public:
  DocumentService(storage::Database& db, const authz::DataCategories& categories, const authz::AccessGate& gate,
                  audit::AuditLog& audit, exchange::Outbox& outbox, const core::Clock& clock,
                  DocumentOptions options = {});

  // By staff the gate lets update the person, in a category they see; or by the person
  // themself, signed in to the portal, for one of their own applications (any category;
  // the portal files it in the screening's). A person's document is uploaded at no agency.
  // kNotFound (person), kPermissionDenied (audited), kInvalidArgument naming kind, category (not
  // declared, or withheld from the uploader), file_name (1-200 characters, no path), media_type
  // (PDF, JPEG or PNG), content (empty, larger than the limit, or not what the media type says) and
  // application_id (not an application of this person).
  // `read_errors` are the fields the caller could not read (an application id that is not a
  // number); they are named with every other mistake, once the uploader's right is checked.
  core::StatusOr<Document> Upload(const authz::Principal& who, const NewDocument& d,
                                  std::vector<core::FieldError> read_errors = {});
  // The documents of `person` whose category the caller sees, newest first, and how many
  // others are withheld.
  core::StatusOr<std::pair<std::vector<Document>, int>> ForPerson(const authz::Principal& who, core::PersonId person);
  // The document and its bytes. kNotFound also when the gate withholds its category (the
  // refusal is audited).
  core::StatusOr<std::pair<Document, std::string>> Content(const authz::Principal& who, int64_t id);

  size_t max_bytes() const { return options_.max_bytes; }

 private:
  core::StatusOr<std::vector<Document>> Load(storage::Transaction& tx, const std::string& where,
                                             const storage::Params& params) const;
  core::Status DenyAudited(const authz::Principal& who, const std::string& action, const std::string& id,
                           core::PersonId person, const std::string& message);

  storage::Database& db_;
  const authz::DataCategories& categories_;
  const authz::AccessGate& gate_;
  audit::AuditLog& audit_;
  exchange::Outbox& outbox_;
  const core::Clock& clock_;
  const DocumentOptions options_;
};

}  // namespace cases
