#include "cases/document_service.h"

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>

#include "core/crypto.h"
#include "core/utf8.h"

namespace cases {

using core::Status;
using core::StatusOr;

namespace {

bool Sees(const authz::Decision& d, const std::string& category) {
  return d.allowed && std::none_of(d.withheld.begin(), d.withheld.end(),
                                   [&](const authz::Withheld& w) { return w.category == category; });
}

// Whether the first bytes are those of the media type: %PDF-, the JPEG SOI marker, the PNG
// signature. A file that says it is one thing and is another is refused.
bool Looks(const std::string& media_type, const std::string& content) {
  if (media_type == "application/pdf") return content.rfind("%PDF-", 0) == 0;
  if (media_type == "image/jpeg") return content.size() >= 3 && content.compare(0, 3, "\xFF\xD8\xFF") == 0;
  if (media_type == "image/png") return content.size() >= 8 && content.compare(0, 8, "\x89PNG\r\n\x1A\n") == 0;
  return false;
}

// Whether a file name's ending, if it has one, is one of the media type's: a PDF named .exe, or
// a photo named .pdf, is refused; a name without an ending is taken as it is.
bool NameFits(const std::string& media_type, const std::string& file_name, std::string& ending) {
  const size_t dot = file_name.rfind('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == file_name.size()) return true;
  ending = file_name.substr(dot + 1);
  std::string lower = ending;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (media_type == "application/pdf") return lower == "pdf";
  if (media_type == "image/jpeg") return lower == "jpg" || lower == "jpeg" || lower == "jpe" || lower == "jfif";
  if (media_type == "image/png") return lower == "png";
  return true;
}

const char* TypeName(const std::string& media_type) {
  return media_type == "application/pdf" ? "PDF" : media_type == "image/png" ? "PNG" : "JPEG";
}

const char* UsualEnding(const std::string& media_type) {
  return media_type == "application/pdf" ? ".pdf" : media_type == "image/png" ? ".png" : ".jpg";
}

// The bytes are kept as base64 text: the same column type on SQLite and PostgreSQL.
std::string Encode(const std::string& bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

StatusOr<std::string> Decode(const std::string& text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  size_t length = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &length, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
    return Status::DataLoss("a stored document cannot be decoded");
  }
  out.resize(length);
  return out;
}

}  // namespace

const std::vector<std::string>& DocumentKinds() {
  static const std::vector<std::string> kinds = {"payslip", "bank_statement", "tenancy", "identity",
                                                 "medical", "letter",         "other"};
  return kinds;
}

const std::vector<std::string>& DocumentMediaTypes() {
  static const std::vector<std::string> types = {"application/pdf", "image/jpeg", "image/png"};
  return types;
}

DocumentService::DocumentService(storage::Database& db, const authz::DataCategories& categories,
                                 const authz::AccessGate& gate, audit::AuditLog& audit, exchange::Outbox& outbox,
                                 const core::Clock& clock, DocumentOptions options)
    : db_(db), categories_(categories), gate_(gate), audit_(audit), outbox_(outbox), clock_(clock), options_(options) {}

StatusOr<std::vector<Document>> DocumentService::Load(storage::Transaction& tx, const std::string& where,
                                                      const storage::Params& params) const {
  ASSIGN_OR_RETURN(storage::Rows rows,
                   tx.Query("SELECT d.id, d.person_id, d.application_id, d.kind, d.category, d.file_name, "
                            "d.media_type, d.size, d.sha256, d.uploaded_by, COALESCE(d.agency_id, 0), "
                            "COALESCE(g.name, ''), d.uploaded_at FROM documents d LEFT JOIN agencies g ON g.id = "
                            "d.agency_id " +
                                where,
                            params));
  std::vector<Document> out;
  for (const auto& r : rows) {
    Document d;
    d.id = r.Int(0);
    d.person = core::PersonId{r.Int(1)};
    if (auto a = r.OptInt(2)) d.application = *a;
    d.kind = r.Text(3);
    d.category = r.Text(4);
    const authz::DataCategory* c = categories_.Find(d.category);
    d.category_label = c != nullptr ? c->label : d.category;
    d.file_name = r.Text(5);
    d.media_type = r.Text(6);
    d.size = r.Int(7);
    d.sha256 = r.Text(8);
    d.uploaded_by = r.Text(9);
    d.agency = core::AgencyId{r.Int(10)};
    d.agency_name = r.Text(11);
    d.uploaded_at = core::Timestamp{r.Int(12)};
    out.push_back(std::move(d));
  }
  return out;
}

Status DocumentService::DenyAudited(const authz::Principal& who, const std::string& action, const std::string& id,
                                    core::PersonId person, const std::string& message) {
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
    return audit_.Append(tx, who, {action, "document", id, person, false, message});
  }));
  return Status::PermissionDenied(message);
}

StatusOr<Document> DocumentService::Upload(const authz::Principal& who, const NewDocument& in,
                                           std::vector<core::FieldError> read_errors) {
  const bool citizen = who.kind == authz::PrincipalKind::kCitizen;
  if (citizen && !(who.person && *who.person == in.person && who.HasScope("portal:apply"))) {
    return DenyAudited(who, "document.upload", "", in.person, "a person sends documents for their own record only");
  }
  bool exists = false;
  bool application_ok = true;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT id FROM persons WHERE id = ?", {in.person.value}));
    exists = !rows.empty();
    if (in.application && citizen) {
      ASSIGN_OR_RETURN(storage::Rows a, tx.Query("SELECT 1 FROM applications WHERE id = ? AND person_id = ?",
                                                 {*in.application, in.person.value}));
      application_ok = !a.empty();
    } else if (in.application) {
      // An application of this person that the uploader's agency made or decides a part of.
      ASSIGN_OR_RETURN(storage::Rows a,
                       tx.Query("SELECT 1 FROM applications a WHERE a.id = ? AND a.person_id = ? AND (a.agency_id = ? "
                                "OR EXISTS (SELECT 1 FROM application_parts t WHERE t.application_id = a.id AND "
                                "t.agency_id = ?))",
                                {*in.application, in.person.value, who.agency.value, who.agency.value}));
      application_ok = !a.empty();
    }
    return Status::Ok();
  }));
  if (!exists) return Status::NotFound(fmt::format("no person has id {}", in.person.value));
  authz::Decision d = gate_.DecidePerson(who, authz::Operation::kUpdate, in.person);
  if (citizen) {
    // A person sends documents for their own application, in the category of the screening
    // answers the application carries: those who may decide it see them.
    d.allowed = true;
    d.reason = "a person sends a document for their own application";
    d.withheld.clear();
  }
  if (!d.allowed) return DenyAudited(who, "document.upload", "", in.person, d.reason);
  std::vector<core::FieldError> errors;
  const auto& kinds = DocumentKinds();
  if (std::find(kinds.begin(), kinds.end(), in.kind) == kinds.end()) {
    errors.push_back({"kind", "must be payslip, bank_statement, tenancy, identity, medical, letter or other"});
  }
  // Left to the service, a person's document goes in the category of the screening answers.
  const std::string category_id =
      citizen && in.category.empty() ? gate_.CategoryOf(authz::Field::kScreening).id : in.category;
  const authz::DataCategory* category = categories_.Find(category_id);
  if (category == nullptr) {
    errors.push_back({"category", fmt::format("'{}' is not a data category of this deployment", category_id)});
  } else if (!Sees(d, category_id)) {
    errors.push_back({"category", fmt::format("{} is withheld from you for this person: you may not file a "
                                              "document in it",
                                              category->label)});
  }
  if (in.file_name.empty() || core::Utf8Length(in.file_name) > 200 ||
      in.file_name.find_first_of("/\\") != std::string::npos ||
      in.file_name.find('\0') != std::string::npos) {
    errors.push_back({"file_name", "give the file's name, 1 to 200 characters, without a folder"});
  }
  const auto& types = DocumentMediaTypes();
  const bool known_type = std::find(types.begin(), types.end(), in.media_type) != types.end();
  if (!known_type) errors.push_back({"media_type", "upload a PDF, JPEG or PNG file"});
  if (in.content.empty()) {
    errors.push_back({"content", "the file is empty"});
  } else if (in.content.size() > options_.max_bytes) {
    errors.push_back({"content", options_.max_bytes >= (1u << 20)
                                     ? fmt::format("the file is {} bytes; the limit is {} MiB", in.content.size(),
                                                   options_.max_bytes >> 20)
                                     : fmt::format("the file is {} bytes; the limit is {} KiB", in.content.size(),
                                                   options_.max_bytes >> 10)});
  } else if (known_type && !Looks(in.media_type, in.content)) {
    errors.push_back({"content", fmt::format("the file is not a {} file", TypeName(in.media_type))});
  }
  if (std::string ending; known_type && !in.file_name.empty() && !NameFits(in.media_type, in.file_name, ending)) {
    errors.push_back({"file_name", fmt::format("the name ends in .{}, but the file is a {}: name it with {}",
                                               ending.substr(0, 20), TypeName(in.media_type),
                                               UsualEnding(in.media_type))});
  }
  if (citizen && !in.application) errors.push_back({"application_id", "choose the application the document is for"});
  if (!application_ok) {
    errors.push_back({"application_id", citizen ? "not one of your applications"
                                                : "not an application of this person that your agency made or decides"});
  }
  errors = core::MergeFieldErrors(std::move(read_errors), errors);
  if (!errors.empty()) return Status::InvalidArgument("the document has invalid fields", std::move(errors));

  const core::Timestamp now = clock_.Now();
  const std::string sha = core::Sha256Hex(in.content);
  Document out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(
        storage::Rows rows,
        tx.Query("INSERT INTO documents (person_id, application_id, kind, category, file_name, media_type, size, "
                 "sha256, content, uploaded_by, agency_id, uploaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                 "RETURNING id",
                 {in.person.value,
                  in.application ? storage::Value(*in.application) : storage::Value(storage::Null{}), in.kind,
                  category_id, in.file_name, in.media_type, static_cast<int64_t>(in.content.size()), sha,
                  Encode(in.content), who.name,
                  citizen ? storage::Value(storage::Null{}) : storage::Value(who.agency.value), now.micros}));
    const int64_t id = rows.at(0).Int(0);
    RETURN_IF_ERROR(audit_.Append(tx, who, {"document.upload", "document", std::to_string(id), in.person, true,
                                            fmt::format("{}; a {} in {}", d.reason, in.kind, category_id)}));
    ASSIGN_OR_RETURN(std::vector<Document> found, Load(tx, "WHERE d.id = ?", {id}));
    out = std::move(found.at(0));
    return outbox_.Append(tx, "document.uploaded", "document", std::to_string(id),
                          fmt::format(R"({{"document_id":{},"person_id":{},"category":"{}","agency_id":{}}})", id,
                                      in.person.value, category_id, who.agency.value));
  }));
  return out;
}

StatusOr<std::pair<std::vector<Document>, int>> DocumentService::ForPerson(const authz::Principal& who,
                                                                           core::PersonId person) {
  std::pair<std::vector<Document>, int> out{{}, 0};
  std::optional<std::string> refusal;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT id FROM persons WHERE id = ?", {person.value}));
    if (rows.empty()) return Status::NotFound(fmt::format("no person has id {}", person.value));
    const authz::Decision d = gate_.DecidePerson(who, authz::Operation::kRead, person, authz::Resource::kPerson, &tx);
    if (!d.allowed) {
      refusal = d.reason;
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(std::vector<Document> all, Load(tx, "WHERE d.person_id = ? ORDER BY d.id DESC", {person.value}));
    for (auto& doc : all) {
      if (Sees(d, doc.category)) out.first.push_back(std::move(doc));
      else ++out.second;
    }
    return audit_.Append(tx, who, {"document.list", "person", std::to_string(person.value), person, true,
                                   fmt::format("{}; {} documents shown, {} withheld", d.reason, out.first.size(),
                                               out.second)});
  }));
  if (refusal) return DenyAudited(who, "document.list", "", person, *refusal);
  return out;
}

StatusOr<std::pair<Document, std::string>> DocumentService::Content(const authz::Principal& who, int64_t id) {
  std::pair<Document, std::string> out;
  std::optional<std::string> refusal;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(std::vector<Document> found, Load(tx, "WHERE d.id = ?", {id}));
    if (found.empty()) return Status::NotFound(fmt::format("no document has id {}", id));
    out.first = std::move(found[0]);
    const authz::Decision d =
        gate_.DecidePerson(who, authz::Operation::kRead, out.first.person, authz::Resource::kPerson, &tx);
    if (!Sees(d, out.first.category)) {
      refusal = d.allowed ? fmt::format("{} is withheld: {}", out.first.category_label,
                                        [&] {
                                          for (const auto& w : d.withheld) {
                                            if (w.category == out.first.category) return w.reason;
                                          }
                                          return std::string();
                                        }())
                          : d.reason;
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT content FROM documents WHERE id = ?", {id}));
    ASSIGN_OR_RETURN(out.second, Decode(rows.at(0).Text(0)));
    if (core::Sha256Hex(out.second) != out.first.sha256) {
      return Status::DataLoss(fmt::format("document {} does not match its checksum", id));
    }
    return audit_.Append(tx, who, {"document.download", "document", std::to_string(id), out.first.person, true,
                                   d.reason});
  }));
  if (refusal) {
    RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
      return audit_.Append(tx, who, {"document.download", "document", std::to_string(id), out.first.person, false,
                                     *refusal});
    }));
    return Status::NotFound(fmt::format("no document has id {}", id));
  }
  return out;
}

}  // namespace cases
