#include "portal/portal_service.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "core/crypto.h"
#include "core/utf8.h"

namespace portal {

using core::Status;
using core::StatusOr;

namespace {

constexpr int64_t kMinuteMicros = 60'000'000;

// The messages the portal sends, in English; their translations are in web/locales.
constexpr char kConfirmMessage[] =
    "Confirm your e-mail address to use your onedoor account: {link} (the link works for {hours} hours).";
constexpr char kAlreadyMessage[] =
    "Someone asked to open an onedoor account with this e-mail address, which already has one. To sign in, go to "
    "{link}. If it was not you, you need do nothing.";
constexpr char kResetMessage[] =
    "To choose a new password for your onedoor account, open {link} (the link works for {minutes} minutes, once). If "
    "you did not ask for it, you need do nothing: your password stays as it is.";

constexpr char kLinkedMessage[] =
    "Your onedoor account is now linked to your record: sign in to see it at {link}.";
constexpr char kNotLinkedMessage[] =
    "We could not be sure which record is yours, so your onedoor account is not linked yet. {reason} To have it "
    "linked, show a member of staff at any office of the agencies a code from your account page and something that "
    "proves who you are: {link}";

constexpr char kLinkRequestColumns[] =
    "r.id, r.user_id, u.display_name, u.email, r.given, r.family, r.birth_date, r.postcode, r.address, r.state, "
    "r.created_at, r.decided_at, r.decided_by, r.person_id, r.reason, r.lang";

LinkRequest LinkRequestFromRow(const storage::Row& r) {
  LinkRequest out;
  out.id = r.Int(0);
  out.user = core::UserId{r.Int(1)};
  out.account_name = r.Text(2);
  out.account_email = r.Text(3);
  out.said = {r.Text(4), r.Text(5), r.Text(6), r.Text(7), r.Text(8)};
  out.state = r.Text(9);
  out.created_at = core::Timestamp{r.Int(10)};
  if (!r.IsNull(11)) out.decided_at = core::Timestamp{r.Int(11)};
  out.decided_by = r.Text(12);
  if (!r.IsNull(13)) out.person = core::PersonId{r.Int(13)};
  out.reason = r.Text(14);
  out.lang = r.Text(15);
  return out;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trimmed(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t\r\n") - a + 1);
}

bool LooksLikeEmail(const std::string& e) {
  const size_t at = e.find('@');
  return e.size() <= 254 && at != std::string::npos && at > 0 && e.find('@', at + 1) == std::string::npos &&
         e.find('.', at) != std::string::npos && e.back() != '.' &&
         std::none_of(e.begin(), e.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
}

// Eight characters a person can read out and type: no 0/O, 1/I/L.
std::string NewCode() {
  static constexpr char kAlphabet[] = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
  const std::string random = core::RandomToken(16);
  std::string code;
  for (size_t i = 0; code.size() < 9; ++i) {
    if (code.size() == 4) code += '-';
    code += kAlphabet[static_cast<unsigned char>(random[i % random.size()]) * 7 % (sizeof(kAlphabet) - 1)];
  }
  return code;
}

// The code as typed: upper case, without spaces; the dash optional.
std::string NormalCode(const std::string& typed) {
  std::string out;
  for (char c : typed) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
  }
  if (out.size() == 8) out.insert(4, "-");
  return out;
}

}  // namespace

PortalService::PortalService(storage::Database& db, audit::AuditLog& audit, const core::Clock& clock,
                             accounts::AccountService& accounts, registry::PersonService& persons,
                             PortalOptions options)
    : db_(db), audit_(audit), clock_(clock), accounts_(accounts), persons_(persons), options_(std::move(options)) {}

Status PortalService::QueueMessage(storage::Transaction& tx, const std::string& address, const std::string& body) {
  const int64_t now = clock_.Now().micros;
  return tx.Execute("INSERT INTO outgoing_messages (appointment_id, channel, address, body, send_after, state, "
                    "created_at) VALUES (NULL, 'email', ?, ?, ?, 'queued', ?)",
                    {address, body, now, now})
      .status();
}

std::string PortalService::Say(const std::string& lang, const std::string& message,
                               const std::map<std::string, std::string>& args) const {
  static const std::unique_ptr<i18n::Messages> kEnglish = i18n::Messages::EnglishOnly();
  return (messages_ != nullptr ? *messages_ : *kEnglish).Format(lang, message, args);
}

Status PortalService::SignUp(const std::string& name_in, const std::string& email_in, const std::string& password,
                             const std::string& lang) {
  const std::string name = Trimmed(name_in);
  const std::string email = Lower(Trimmed(email_in));
  std::vector<core::FieldError> errors;
  if (name.empty()) errors.push_back({"name", "enter your name"});
  else if (core::Utf8Length(name) > 200)
    errors.push_back({"name", "at most 200 characters"});
  else if (core::HasControlCharacter(name))
    errors.push_back({"name", "one line of text, without control characters"});
  if (!LooksLikeEmail(email)) errors.push_back({"email", "enter an e-mail address like name@example.org"});
  if (core::Utf8Length(password) < 12) {
    errors.push_back({"password", "choose a password of at least 12 characters"});
  } else if (core::Utf8Length(password) > 256) {
    errors.push_back({"password", "at most 256 characters"});
  } else if (std::string problem = accounts_.PasswordProblem(password, "", email);
             !problem.empty()) {
    errors.push_back({"password", problem});
  }
  if (!errors.empty()) return Status::InvalidArgument("the sign-up form has mistakes", std::move(errors));

  bool exists = false;
  std::optional<int64_t> unconfirmed;  // an account whose address was never confirmed
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT u.id, p.email_verified_at, p.user_id FROM users u LEFT JOIN citizen_profiles p "
                              "ON p.user_id = u.id WHERE u.kind = 'citizen' AND u.email = ?",
                              {email}));
    exists = !rows.empty();
    if (exists && rows.at(0).IsNull(1) && !rows.at(0).IsNull(2)) unconfirmed = rows.at(0).Int(0);
    return Status::Ok();
  }));
  // At most one message about an account to an address every 5 minutes, whoever asks: the
  // form cannot be used to flood someone's inbox. The answer is the same.
  const int64_t sent_after = clock_.Now().micros - 5 * kMinuteMicros;
  auto sent_lately = [&](storage::Transaction& tx) -> StatusOr<bool> {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT 1 FROM outgoing_messages WHERE address = ? AND created_at > ? AND "
                              "appointment_id IS NULL LIMIT 1",
                              {email, sent_after}));
    return !rows.empty();
  };
  // An address that has an account takes as long to answer as a new one, whose password is
  // hashed: the timing does not tell who has an account.
  if (unconfirmed || exists) accounts_.SpendPasswordHashTime(password);
  if (unconfirmed) {
    // Signing up again is how a person gets a new link: the account stays, with a fresh link.
    const std::string token = core::RandomToken(24);
    const int64_t now = clock_.Now().micros;
    return db_.Write([&](storage::Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(bool lately, sent_lately(tx));
      if (lately) return Status::Ok();
      RETURN_IF_ERROR(tx.Execute("UPDATE citizen_profiles SET verify_hash = ?, verify_expires = ? WHERE user_id = ?",
                                 {core::Sha256Hex(token), now + int64_t{options_.verify_hours} * 60 * kMinuteMicros,
                                  *unconfirmed})
                          .status());
      return QueueMessage(tx, email,
                          Say(lang, kConfirmMessage,
                              {{"link", fmt::format("{}/portal/verify?token={}", options_.public_url, token)},
                               {"hours", std::to_string(options_.verify_hours)}}));
    });
  }
  if (exists) {
    return db_.Write([&](storage::Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(bool lately, sent_lately(tx));
      if (lately) return Status::Ok();
      return QueueMessage(tx, email,
                          Say(lang, kAlreadyMessage, {{"link", options_.public_url + "/portal/sign-in"}}));
    });
  }
  accounts::NewUser user;
  user.kind = accounts::AccountKind::kCitizen;
  user.username = "citizen-" + core::Sha256Hex(core::RandomToken(16)).substr(0, 16);
  user.display_name = name;
  user.email = email;
  user.password = password;
  ASSIGN_OR_RETURN(accounts::User made,
                   accounts_.CreateUser(accounts::AccountService::SystemPrincipal("portal sign-up"), user));
  const std::string token = core::RandomToken(24);
  const int64_t now = clock_.Now().micros;
  return db_.Write([&](storage::Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.Execute("INSERT INTO citizen_profiles (user_id, verify_hash, verify_expires) VALUES (?, ?, ?)",
                               {made.id.value, core::Sha256Hex(token),
                                now + int64_t{options_.verify_hours} * 60 * kMinuteMicros})
                        .status());
    return QueueMessage(tx, email,
                        Say(lang, kConfirmMessage,
                            {{"link", fmt::format("{}/portal/verify?token={}", options_.public_url, token)},
                             {"hours", std::to_string(options_.verify_hours)}}));
  });
}

Status PortalService::Verify(const std::string& token) {
  if (token.empty() || token.size() > 200) return Status::NotFound("this link is not known or was already used");
  const int64_t now = clock_.Now().micros;
  return db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT user_id, verify_expires FROM citizen_profiles WHERE verify_hash = ?",
                              {core::Sha256Hex(token)}));
    if (rows.empty()) return Status::NotFound("this link is not known or was already used");
    if (rows.at(0).Int(1) < now) {
      return Status::FailedPrecondition("this link has expired: sign up again to get a new one");
    }
    RETURN_IF_ERROR(tx.Execute("UPDATE citizen_profiles SET email_verified_at = ?, verify_hash = NULL WHERE user_id = ?",
                               {now, rows.at(0).Int(0)})
                        .status());
    authz::Principal self;
    self.kind = authz::PrincipalKind::kCitizen;
    self.user = core::UserId{rows.at(0).Int(0)};
    self.name = "citizen";
    return audit_.Append(tx, self, {"portal.verify", "user", std::to_string(rows.at(0).Int(0)), std::nullopt, true,
                                    "e-mail address confirmed"});
  });
}

Status PortalService::RequestPasswordReset(const std::string& email_in, const std::string& lang) {
  const std::string email = Lower(Trimmed(email_in));
  if (!LooksLikeEmail(email)) {
    return Status::InvalidArgument("no e-mail address", {{"email", "enter an e-mail address like name@example.org"}});
  }
  const std::string token = core::RandomToken(24);
  const int64_t now = clock_.Now().micros;
  return db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT u.id, p.reset_asked_at FROM users u JOIN citizen_profiles p ON p.user_id = u.id "
                              "WHERE u.kind = 'citizen' AND u.email = ? AND u.active = 1 AND "
                              "p.email_verified_at IS NOT NULL",
                              {email}));
    // No such account, or a link sent a moment ago: the same answer, and no message.
    if (rows.empty() || rows.at(0).Int(1) > now - 5 * kMinuteMicros) return Status::Ok();
    const int64_t user = rows.at(0).Int(0);
    RETURN_IF_ERROR(tx.Execute("UPDATE citizen_profiles SET reset_hash = ?, reset_expires = ?, reset_asked_at = ? "
                               "WHERE user_id = ?",
                               {core::Sha256Hex(token), now + int64_t{options_.reset_minutes} * kMinuteMicros, now, user})
                        .status());
    authz::Principal self;
    self.kind = authz::PrincipalKind::kCitizen;
    self.user = core::UserId{user};
    self.name = "citizen";
    RETURN_IF_ERROR(audit_.Append(tx, self, {"portal.reset_requested", "user", std::to_string(user), std::nullopt, true,
                                             "password reset link sent to the confirmed address"}));
    return QueueMessage(tx, email,
                        Say(lang, kResetMessage,
                            {{"link", fmt::format("{}/portal/reset?token={}", options_.public_url, token)},
                             {"minutes", std::to_string(options_.reset_minutes)}}));
  });
}

namespace {

// The account whose reset link carried `token`, while the link works.
StatusOr<int64_t> ResetAccount(storage::Transaction& tx, const std::string& token, int64_t now) {
  if (token.empty() || token.size() > 200) return Status::NotFound("this link is not known or was already used");
  ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT user_id, reset_expires FROM citizen_profiles WHERE reset_hash = ?",
                                                {core::Sha256Hex(token)}));
  if (rows.empty()) return Status::NotFound("this link is not known or was already used");
  if (rows.at(0).Int(1) < now) {
    return Status::FailedPrecondition("this link has expired: ask for a new one");
  }
  return rows.at(0).Int(0);
}

}  // namespace

Status PortalService::CheckPasswordReset(const std::string& token) {
  return db_.Read([&](storage::Transaction& tx) -> Status {
    return ResetAccount(tx, token, clock_.Now().micros).status();
  });
}

Status PortalService::ResetPassword(const std::string& token, const std::string& password) {
  const int64_t now = clock_.Now().micros;
  int64_t user = 0;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(user, ResetAccount(tx, token, now));
    return Status::Ok();
  }));
  // The link is used up first, so that it cannot set two passwords; if the password is refused
  // the link is given back.
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(int64_t taken, tx.Execute("UPDATE citizen_profiles SET reset_hash = NULL WHERE user_id = ? AND "
                                               "reset_hash = ?",
                                               {user, core::Sha256Hex(token)}));
    if (taken == 0) return Status::NotFound("this link is not known or was already used");
    return Status::Ok();
  }));
  Status set = accounts_.SetPassword(accounts::AccountService::SystemPrincipal("portal password reset"),
                                     core::UserId{user}, password);
  if (!set.ok()) {
    (void)db_.Write([&](storage::Transaction& tx) -> Status {
      return tx.Execute("UPDATE citizen_profiles SET reset_hash = ? WHERE user_id = ? AND reset_hash IS NULL",
                        {core::Sha256Hex(token), user})
          .status();
    });
  }
  return set;
}

StatusOr<accounts::NewSession> PortalService::SignIn(const std::string& email_in, const std::string& password,
                                                     const std::string& request_id, const std::string& client) {
  const std::string email = Lower(Trimmed(email_in));
  std::string username;
  bool verified = false;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT u.username, p.email_verified_at FROM users u LEFT JOIN citizen_profiles p ON "
                              "p.user_id = u.id WHERE u.kind = 'citizen' AND u.email = ?",
                              {email}));
    if (!rows.empty()) {
      username = rows.at(0).Text(0);
      verified = !rows.at(0).IsNull(1);
    }
    return Status::Ok();
  }));
  // An unknown address goes through the same check (and its throttling) as a wrong password.
  ASSIGN_OR_RETURN(accounts::NewSession session,
                   accounts_.Login(username.empty() ? "citizen-unknown" : username, password,
                                   authz::Purpose::kOwnRecord, request_id, client));
  if (!verified) {
    (void)accounts_.Logout(session.session_id);
    return Status::FailedPrecondition(
        "confirm your e-mail address first: open the link in the message we sent you");
  }
  return session;
}

StatusOr<Account> PortalService::Me(const authz::Principal& citizen) {
  if (citizen.kind != authz::PrincipalKind::kCitizen) {
    return Status::PermissionDenied("the portal is for people with a portal account");
  }
  Account out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT u.id, u.display_name, u.email, u.person_id, p.linked_at FROM users u LEFT JOIN "
                              "citizen_profiles p ON p.user_id = u.id WHERE u.id = ? AND u.kind = 'citizen'",
                              {citizen.user.value}));
    if (rows.empty()) return Status::NotFound("no such account");
    const auto& r = rows.at(0);
    out.user = core::UserId{r.Int(0)};
    out.display_name = r.Text(1);
    out.email = r.Text(2);
    if (!r.IsNull(3)) out.person = core::PersonId{r.Int(3)};
    if (!r.IsNull(4)) out.linked_at = core::Timestamp{r.Int(4)};
    return Status::Ok();
  }));
  return out;
}

StatusOr<LinkCode> PortalService::NewLinkCode(const authz::Principal& citizen) {
  ASSIGN_OR_RETURN(Account me, Me(citizen));
  if (me.person) return Status::FailedPrecondition("your account is already linked to your record");
  LinkCode out{NewCode(), core::Timestamp{clock_.Now().micros + int64_t{options_.link_minutes} * kMinuteMicros}};
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    // Accounts made before the portal kept profiles have none yet.
    ASSIGN_OR_RETURN(storage::Rows has, tx.Query("SELECT user_id FROM citizen_profiles WHERE user_id = ?",
                                                 {me.user.value}));
    if (has.empty()) {
      RETURN_IF_ERROR(tx.Execute("INSERT INTO citizen_profiles (user_id, email_verified_at) VALUES (?, ?)",
                                 {me.user.value, clock_.Now().micros})
                          .status());
    }
    RETURN_IF_ERROR(tx.Execute("UPDATE citizen_profiles SET link_hash = ?, link_expires = ? WHERE user_id = ?",
                               {core::Sha256Hex(out.code), out.expires.micros, me.user.value})
                        .status());
    return audit_.Append(tx, citizen, {"portal.link_code", "user", std::to_string(me.user.value), std::nullopt, true,
                                       "a code to link the account at a desk"});
  }));
  return out;
}

Status PortalService::Link(const authz::Principal& staff, core::PersonId person, const std::string& typed) {
  if (staff.kind != authz::PrincipalKind::kStaff ||
      !staff.HasAnyRole({authz::Role::kFrontdesk, authz::Role::kCaseworker, authz::Role::kCoordinator,
                         authz::Role::kManager})) {
    RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
      return audit_.Append(tx, staff, {"portal.link", "person", std::to_string(person.value), person, false,
                                       "portal accounts are linked by staff who serve the person"});
    }));
    return Status::PermissionDenied("portal accounts are linked by staff who serve the person");
  }
  // The record, through the access gate (audited): whoever may not see it may not link to it,
  // and learns nothing of the code.
  RETURN_IF_ERROR(persons_.Get(staff, person).status());
  const std::string code = NormalCode(typed);
  if (code.size() != 9) {
    return Status::InvalidArgument("the code is not valid", {{"code", "enter the 8 characters the person shows you"}});
  }
  const int64_t now = clock_.Now().micros;
  return db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT user_id, link_expires FROM citizen_profiles WHERE link_hash = ?",
                              {core::Sha256Hex(code)}));
    if (rows.empty()) {
      return Status::InvalidArgument("the code is not valid", {{"code", "no account has this code: ask for a new one"}});
    }
    if (rows.at(0).Int(1) < now) {
      return Status::InvalidArgument("the code is not valid",
                                     {{"code", "the code has expired: the person can ask the portal for a new one"}});
    }
    const int64_t user = rows.at(0).Int(0);
    ASSIGN_OR_RETURN(storage::Rows other,
                     tx.Query("SELECT id FROM users WHERE person_id = ? AND kind = 'citizen' AND id <> ?",
                              {person.value, user}));
    if (!other.empty()) {
      return Status::FailedPrecondition("another portal account is already linked to this person");
    }
    RETURN_IF_ERROR(tx.Execute("UPDATE users SET person_id = ?, updated_at = ? WHERE id = ?", {person.value, now, user})
                        .status());
    RETURN_IF_ERROR(tx.Execute("UPDATE citizen_profiles SET link_hash = NULL, linked_at = ?, linked_by = ? WHERE "
                               "user_id = ?",
                               {now, staff.name, user})
                        .status());
    return audit_.Append(tx, staff, {"portal.link", "person", std::to_string(person.value), person, true,
                                     fmt::format("portal account {} linked after checking who the person is", user)});
  });
}

Status PortalService::Unlink(const authz::Principal& citizen) {
  if (citizen.kind != authz::PrincipalKind::kCitizen) {
    return Status::PermissionDenied("the portal is for people with a portal account");
  }
  return db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT person_id FROM users WHERE id = ? AND kind = 'citizen'", {citizen.user.value}));
    if (rows.empty()) return Status::NotFound("no such account");
    if (rows.at(0).IsNull(0)) return Status::FailedPrecondition("your account is not linked to a record");
    const core::PersonId person{rows.at(0).Int(0)};
    const int64_t now = clock_.Now().micros;
    RETURN_IF_ERROR(
        tx.Execute("UPDATE users SET person_id = NULL, updated_at = ? WHERE id = ?", {now, citizen.user.value}).status());
    RETURN_IF_ERROR(tx.Execute("UPDATE citizen_profiles SET linked_at = NULL, linked_by = '' WHERE user_id = ?",
                               {citizen.user.value})
                        .status());
    return audit_.Append(tx, citizen, {"portal.unlink", "person", std::to_string(person.value), person, true,
                                       "the person unlinked their portal account from their record"});
  });
}

Status PortalService::MayLink(const authz::Principal& staff, const std::string& action, const std::string& record_type,
                              const std::string& record_id, std::optional<core::PersonId> person) {
  if (staff.kind == authz::PrincipalKind::kStaff &&
      staff.HasAnyRole({authz::Role::kFrontdesk, authz::Role::kCaseworker, authz::Role::kCoordinator,
                        authz::Role::kManager})) {
    return Status::Ok();
  }
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
    return audit_.Append(tx, staff, {action, record_type, record_id, person, false,
                                     "portal accounts are linked by staff who serve the person"});
  }));
  return Status::PermissionDenied("portal accounts are linked by staff who serve the person");
}

StatusOr<LinkRequest> PortalService::RequestLink(const authz::Principal& citizen, const LinkRequestInput& in_raw,
                                                 const std::string& lang) {
  ASSIGN_OR_RETURN(Account me, Me(citizen));
  LinkRequestInput in{Trimmed(in_raw.given), Trimmed(in_raw.family), Trimmed(in_raw.birth_date),
                      Trimmed(in_raw.postcode), Trimmed(in_raw.address)};
  std::vector<core::FieldError> errors;
  if (in.given.empty()) errors.push_back({"given", "enter your given name"});
  else if (core::Utf8Length(in.given) > 200)
    errors.push_back({"given", "at most 200 characters"});
  if (in.family.empty()) errors.push_back({"family", "enter your family name"});
  else if (core::Utf8Length(in.family) > 200)
    errors.push_back({"family", "at most 200 characters"});
  auto born = core::Date::Parse(in.birth_date);
  if (in.birth_date.empty()) {
    errors.push_back({"birth_date", "enter your date of birth"});
  } else if (!born.ok()) {
    errors.push_back({"birth_date", "enter a real date of birth, like 27 3 1985"});
  } else if (born->ToDays() > clock_.Now().micros / 86'400'000'000LL) {
    errors.push_back({"birth_date", "the date of birth must be in the past"});
  }
  if (core::Utf8Length(in.postcode) > 200) errors.push_back({"postcode", "at most 200 characters"});
  if (core::Utf8Length(in.address) > 200) errors.push_back({"address", "at most 200 characters"});
  if (!errors.empty()) return Status::InvalidArgument("the form has mistakes", std::move(errors));
  if (me.person) return Status::FailedPrecondition("your account is already linked to your record");

  LinkRequest out;
  const int64_t now = clock_.Now().micros;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows waiting,
                     tx.Query("SELECT id FROM portal_link_requests WHERE user_id = ? AND state = 'waiting'",
                              {me.user.value}));
    if (!waiting.empty()) {
      return Status::FailedPrecondition("you have already asked: we will tell you when it is checked");
    }
    ASSIGN_OR_RETURN(
        storage::Rows made,
        tx.Query("INSERT INTO portal_link_requests (user_id, given, family, birth_date, postcode, address, lang, state, "
                 "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'waiting', ?) RETURNING id",
                 {me.user.value, in.given, in.family, in.birth_date, in.postcode, in.address, lang, now}));
    out.id = made.at(0).Int(0);
    return audit_.Append(tx, citizen, {"portal.link_requested", "portal_link_request", std::to_string(out.id),
                                       std::nullopt, true, "the person asked to have their account linked by matching"});
  }));
  out.user = me.user;
  out.account_name = me.display_name;
  out.account_email = me.email;
  out.said = in;
  out.state = "waiting";
  out.created_at = core::Timestamp{now};
  return out;
}

StatusOr<std::optional<LinkRequest>> PortalService::MyLinkRequest(const authz::Principal& citizen) {
  ASSIGN_OR_RETURN(Account me, Me(citizen));
  std::optional<LinkRequest> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query(fmt::format("SELECT {} FROM portal_link_requests r JOIN users u ON u.id = r.user_id "
                                          "WHERE r.user_id = ? ORDER BY r.id DESC LIMIT 1",
                                          kLinkRequestColumns),
                              {me.user.value}));
    if (!rows.empty()) out = LinkRequestFromRow(rows.at(0));
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<LinkRequest>> PortalService::WaitingLinkRequests(const authz::Principal& staff) {
  RETURN_IF_ERROR(MayLink(staff, "portal.link_requests", "portal_link_request", "", std::nullopt));
  std::vector<LinkRequest> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query(fmt::format("SELECT {} FROM portal_link_requests r JOIN users u ON u.id = r.user_id "
                                          "WHERE r.state = 'waiting' ORDER BY r.id LIMIT 200",
                                          kLinkRequestColumns)));
    for (const auto& r : rows) out.push_back(LinkRequestFromRow(r));
    return Status::Ok();
  }));
  return out;
}

StatusOr<LinkRequest> PortalService::GetLinkRequest(const authz::Principal& staff, int64_t id) {
  RETURN_IF_ERROR(MayLink(staff, "portal.link_request", "portal_link_request", std::to_string(id), std::nullopt));
  std::optional<LinkRequest> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query(fmt::format("SELECT {} FROM portal_link_requests r JOIN users u ON u.id = r.user_id "
                                          "WHERE r.id = ?",
                                          kLinkRequestColumns),
                              {id}));
    if (!rows.empty()) out = LinkRequestFromRow(rows.at(0));
    return Status::Ok();
  }));
  if (!out) return Status::NotFound("no such request");
  return *out;
}

Status PortalService::DecideLinkRequest(const authz::Principal& staff, int64_t id, std::optional<core::PersonId> person,
                                        const std::string& reason_in) {
  RETURN_IF_ERROR(MayLink(staff, "portal.link", "portal_link_request", std::to_string(id), person));
  const std::string reason = Trimmed(reason_in);
  if (!person) {
    if (reason.empty()) {
      return Status::InvalidArgument("the decision has mistakes",
                                     {{"reason", "say why the account is not linked: the person reads it"}});
    }
    if (core::Utf8Length(reason) > 500)
      return Status::InvalidArgument("the decision has mistakes",
                                     {{"reason", "at most 500 characters"}});
  } else {
    // The record, through the access gate (audited): whoever may not see it may not link to it.
    RETURN_IF_ERROR(persons_.Get(staff, *person).status());
  }
  const int64_t now = clock_.Now().micros;
  return db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query(fmt::format("SELECT {} FROM portal_link_requests r JOIN users u ON u.id = r.user_id "
                                          "WHERE r.id = ?",
                                          kLinkRequestColumns),
                              {id}));
    if (rows.empty()) return Status::NotFound("no such request");
    const LinkRequest request = LinkRequestFromRow(rows.at(0));
    const std::string lang = rows.at(0).Text(15);
    if (request.state != "waiting") return Status::FailedPrecondition("this request was already decided");
    const int64_t user = request.user.value;
    const std::string link = options_.public_url + "/portal";
    if (!person) {
      RETURN_IF_ERROR(tx.Execute("UPDATE portal_link_requests SET state = 'declined', decided_at = ?, decided_by = ?, "
                                 "reason = ? WHERE id = ?",
                                 {now, staff.name, reason, id})
                          .status());
      RETURN_IF_ERROR(audit_.Append(tx, staff, {"portal.link_declined", "portal_link_request", std::to_string(id),
                                                std::nullopt, true, "no record matched closely enough to link"}));
      if (request.account_email.empty()) return Status::Ok();
      return QueueMessage(tx, request.account_email, Say(lang, kNotLinkedMessage, {{"reason", reason}, {"link", link}}));
    }
    ASSIGN_OR_RETURN(storage::Rows account, tx.Query("SELECT person_id FROM users WHERE id = ?", {user}));
    if (account.empty() || !account.at(0).IsNull(0)) {
      return Status::FailedPrecondition("the account was linked to a record meanwhile");
    }
    ASSIGN_OR_RETURN(storage::Rows other,
                     tx.Query("SELECT id FROM users WHERE person_id = ? AND kind = 'citizen'", {person->value}));
    if (!other.empty()) return Status::FailedPrecondition("another portal account is already linked to this person");
    RETURN_IF_ERROR(
        tx.Execute("UPDATE users SET person_id = ?, updated_at = ? WHERE id = ?", {person->value, now, user}).status());
    ASSIGN_OR_RETURN(storage::Rows profile, tx.Query("SELECT user_id FROM citizen_profiles WHERE user_id = ?", {user}));
    if (profile.empty()) {
      RETURN_IF_ERROR(tx.Execute("INSERT INTO citizen_profiles (user_id, email_verified_at) VALUES (?, ?)", {user, now})
                          .status());
    }
    RETURN_IF_ERROR(tx.Execute("UPDATE citizen_profiles SET link_hash = NULL, linked_at = ?, linked_by = ? WHERE "
                               "user_id = ?",
                               {now, staff.name, user})
                        .status());
    RETURN_IF_ERROR(tx.Execute("UPDATE portal_link_requests SET state = 'linked', decided_at = ?, decided_by = ?, "
                               "person_id = ? WHERE id = ?",
                               {now, staff.name, person->value, id})
                        .status());
    RETURN_IF_ERROR(audit_.Append(
        tx, staff,
        {"portal.link", "person", std::to_string(person->value), person, true,
         fmt::format("portal account {} linked after matching the person's details, with review (request {})", user,
                     id)}));
    if (request.account_email.empty()) return Status::Ok();
    return QueueMessage(tx, request.account_email, Say(lang, kLinkedMessage, {{"link", link}}));
  });
}

}  // namespace portal
