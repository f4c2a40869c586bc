#include "portal/portal_service.h"

#include <chrono>
#include <regex>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/testing.h"

namespace portal {
namespace {

using core::Status;
using core::StatusCode;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Fields(const Status& s) {
  std::vector<std::string> out;
  for (const auto& f : s.fields()) out.push_back(f.field);
  return out;
}

authz::Principal Staff(authz::Role role) {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kStaff;
  p.user = core::UserId{1};
  p.agency = core::AgencyId{1};
  p.name = "frontdesk.city";
  p.roles = {role};
  p.purpose = authz::Purpose::kFrontDesk;
  return p;
}

class PortalServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = testing_support::NewMigratedSqlite(dir_);
    ASSERT_TRUE(db_->Write([](storage::Transaction& tx) {
                     return tx.Execute("INSERT INTO agencies (code, name, kind, created_at) VALUES ('city', 'City', "
                                       "'government', 0)")
                         .status();
                   }).ok());
    accounts::AccountOptions options;
    options.fast_password_hashing = true;
    accounts_ = std::make_unique<accounts::AccountService>(*db_, audit_, clock_, options);
    persons_ = std::make_unique<registry::PersonService>(*db_, gate_, audit_, outbox_, clock_);
    portal_ = std::make_unique<PortalService>(*db_, audit_, clock_, *accounts_, *persons_,
                                              PortalOptions{"https://onedoor.example.org"});
    registry::Person p;
    p.names = {{"official", "Ana", "Lima"}};
    auto made = persons_->Create(Staff(authz::Role::kCaseworker), p);
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    person_ = made->id;
  }

  // The last message queued to `address`.
  std::string LastMessage(const std::string& address) {
    std::string body;
    EXPECT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                     ASSIGN_OR_RETURN(storage::Rows rows,
                                      tx.Query("SELECT body FROM outgoing_messages WHERE address = ? AND channel = "
                                               "'email' ORDER BY id DESC LIMIT 1",
                                               {address}));
                     if (!rows.empty()) body = rows.at(0).Text(0);
                     return Status::Ok();
                   }).ok());
    return body;
  }
  int64_t MessageCount(const std::string& address) {
    int64_t n = -1;
    EXPECT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                     ASSIGN_OR_RETURN(storage::Rows rows,
                                      tx.Query("SELECT COUNT(*) FROM outgoing_messages WHERE address = ?", {address}));
                     n = rows.at(0).Int(0);
                     return Status::Ok();
                   }).ok());
    return n;
  }

  static std::string TokenIn(const std::string& body) {
    std::smatch m;
    return std::regex_search(body, m, std::regex("token=([A-Za-z0-9_-]+)")) ? m[1].str() : "";
  }

  // The principal of a signed-in session.
  authz::Principal Citizen(const accounts::NewSession& s) {
    auto auth = accounts_->AuthenticateSession(s.session_id, "req");
    EXPECT_TRUE(auth.ok()) << auth.status().ToString();
    return auth.ok() ? auth->principal : authz::Principal{};
  }

  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_;
  core::FakeClock clock_{core::Timestamp{1'772'409'600'000'000}};
  audit::AuditLog audit_{clock_};
  exchange::Outbox outbox_{clock_};
  authz::AccessGate gate_;
  std::unique_ptr<accounts::AccountService> accounts_;
  std::unique_ptr<registry::PersonService> persons_;
  std::unique_ptr<PortalService> portal_;
  core::PersonId person_;
};

TEST_F(PortalServiceTest, SignUpConfirmSignInLinkAtTheDeskAndReadOwnRecord) {
  ASSERT_TRUE(portal_->SignUp("Ana Lima", " Ana@Example.org ", "correct horse battery").ok());
  const std::string mail = LastMessage("ana@example.org");
  EXPECT_THAT(mail, HasSubstr("https://onedoor.example.org/portal/verify?token="));
  // Not before the address is confirmed.
  EXPECT_EQ(portal_->SignIn("ana@example.org", "correct horse battery", "r").status().code(),
            StatusCode::kFailedPrecondition);
  ASSERT_TRUE(portal_->Verify(TokenIn(mail)).ok());
  EXPECT_EQ(portal_->Verify(TokenIn(mail)).code(), StatusCode::kNotFound);  // once only
  EXPECT_EQ(portal_->SignIn("ana@example.org", "wrong password here", "r").status().code(),
            StatusCode::kUnauthenticated);
  auto session = portal_->SignIn("ANA@example.org", "correct horse battery", "r");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  authz::Principal ana = Citizen(*session);
  EXPECT_EQ(ana.kind, authz::PrincipalKind::kCitizen);
  EXPECT_FALSE(ana.person.has_value());
  // Unlinked, the account sees nothing of the registry.
  EXPECT_EQ(persons_->Get(ana, person_).status().code(), StatusCode::kPermissionDenied);

  auto code = portal_->NewLinkCode(ana);
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  EXPECT_TRUE(std::regex_match(code->code, std::regex("[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}"))) << code->code;
  // A caseworker of no client role may not link; a wrong code is named.
  EXPECT_EQ(portal_->Link(Staff(authz::Role::kAuditor), person_, code->code).code(), StatusCode::kPermissionDenied);
  // Nor may staff whom the gate does not let see the person (here: not working with clients);
  // they learn nothing of the code.
  authz::Principal administering = Staff(authz::Role::kFrontdesk);
  administering.purpose = authz::Purpose::kAdministration;
  EXPECT_EQ(portal_->Link(administering, person_, "x").code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(Fields(portal_->Link(Staff(authz::Role::kFrontdesk), person_, "AAAA-AAAA")), ElementsAre("code"));
  // Typed in lower case without the dash: still the code.
  std::string typed = code->code;
  typed.erase(4, 1);
  for (char& c : typed) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  ASSERT_TRUE(portal_->Link(Staff(authz::Role::kFrontdesk), person_, typed).ok());
  EXPECT_THAT(Fields(portal_->Link(Staff(authz::Role::kFrontdesk), person_, code->code)), ElementsAre("code"));

  ana = Citizen(*session);
  ASSERT_TRUE(ana.person.has_value());
  EXPECT_EQ(*ana.person, person_);
  auto me = portal_->Me(ana);
  ASSERT_TRUE(me.ok());
  EXPECT_EQ(me->email, "ana@example.org");
  ASSERT_TRUE(me->linked_at.has_value());
  auto view = persons_->Get(ana, person_);
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_EQ(view->person.DisplayName(), "Ana Lima");
  // The desk's read and link are in the person's own access log.
  auto log = persons_->AccessLog(ana, person_, 50);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  std::vector<std::string> actions;
  for (const auto& e : log->items) actions.push_back(e.record.entry.action);
  EXPECT_THAT(actions, ::testing::IsSupersetOf({"portal.link", "person.read"}));
  EXPECT_EQ(portal_->NewLinkCode(ana).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(PortalServiceTest, MistakesAreNamedAndAKnownAddressGetsAMessageNotAnAccount) {
  EXPECT_THAT(Fields(portal_->SignUp("", "not-an-address", "short")), ElementsAre("name", "email", "password"));
  ASSERT_TRUE(portal_->SignUp("Ana Lima", "ana@example.org", "correct horse battery").ok());
  ASSERT_TRUE(portal_->Verify(TokenIn(LastMessage("ana@example.org"))).ok());
  // Within 5 minutes of the confirmation link, no other message to the address, however often asked.
  const int64_t before = MessageCount("ana@example.org");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(portal_->SignUp("Someone Else", "ana@example.org", "another long password").ok());
  EXPECT_EQ(MessageCount("ana@example.org"), before);
  clock_.Advance(std::chrono::minutes(5));
  ASSERT_TRUE(portal_->SignUp("Someone Else", "ana@example.org", "another long password").ok());
  EXPECT_THAT(LastMessage("ana@example.org"), HasSubstr("already has one"));
  ASSERT_TRUE(portal_->SignUp("Someone Else", "ana@example.org", "another long password").ok());
  EXPECT_EQ(MessageCount("ana@example.org"), before + 1);
  int64_t accounts = 0;
  ASSERT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                   ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT COUNT(*) FROM users WHERE kind = 'citizen'"));
                   accounts = rows.at(0).Int(0);
                   return Status::Ok();
                 }).ok());
  EXPECT_EQ(accounts, 1);
  // A confirmation link expires.
  ASSERT_TRUE(portal_->SignUp("Bo", "bo@example.org", "correct horse battery").ok());
  const std::string token = TokenIn(LastMessage("bo@example.org"));
  clock_.Advance(std::chrono::hours(49));
  EXPECT_EQ(portal_->Verify(token).code(), StatusCode::kFailedPrecondition);
  // Signing up again sends a new link for the same account (the password stays the first one).
  ASSERT_TRUE(portal_->SignUp("Bo", "bo@example.org", "a different password").ok());
  const std::string fresh = TokenIn(LastMessage("bo@example.org"));
  ASSERT_NE(fresh, token);
  ASSERT_TRUE(portal_->Verify(fresh).ok());
  EXPECT_TRUE(portal_->SignIn("bo@example.org", "correct horse battery", "r").ok());
}

TEST_F(PortalServiceTest, ACodeExpiresAndOnePersonHasOneAccount) {
  auto sign_up = [&](const std::string& email) -> authz::Principal {
    EXPECT_TRUE(portal_->SignUp("Ana Lima", email, "correct horse battery").ok());
    EXPECT_TRUE(portal_->Verify(TokenIn(LastMessage(email))).ok());
    auto s = portal_->SignIn(email, "correct horse battery", "r");
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? Citizen(*s) : authz::Principal{};
  };
  const authz::Principal first = sign_up("ana@example.org");
  auto old = portal_->NewLinkCode(first);
  ASSERT_TRUE(old.ok());
  clock_.Advance(std::chrono::minutes(31));
  EXPECT_THAT(Fields(portal_->Link(Staff(authz::Role::kFrontdesk), person_, old->code)), ElementsAre("code"));
  auto fresh = portal_->NewLinkCode(first);
  ASSERT_TRUE(fresh.ok());
  ASSERT_TRUE(portal_->Link(Staff(authz::Role::kCaseworker), person_, fresh->code).ok());
  const authz::Principal second = sign_up("ana.lima@example.org");
  auto code = portal_->NewLinkCode(second);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(portal_->Link(Staff(authz::Role::kFrontdesk), person_, code->code).code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace portal

namespace portal {
namespace {

// The number of messages queued to `address`.
int64_t MessagesTo(storage::Database& db, const std::string& address) {
  int64_t n = -1;
  EXPECT_TRUE(db.Read([&](storage::Transaction& tx) -> Status {
                  ASSIGN_OR_RETURN(storage::Rows rows,
                                   tx.Query("SELECT count(*) FROM outgoing_messages WHERE address = ?", {address}));
                  n = rows.at(0).Int(0);
                  return Status::Ok();
                }).ok());
  return n;
}

TEST_F(PortalServiceTest, AForgottenPasswordIsResetByAOneTimeLinkThatEndsEverySession) {
  ASSERT_TRUE(portal_->SignUp("Ana Lima", "ana@example.org", "correct horse battery").ok());
  ASSERT_TRUE(portal_->Verify(TokenIn(LastMessage("ana@example.org"))).ok());
  auto before = portal_->SignIn("ana@example.org", "correct horse battery", "req-1");
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  const int64_t sent = MessagesTo(*db_, "ana@example.org");

  // No account, or an address not confirmed: the same answer, and no message.
  EXPECT_TRUE(portal_->RequestPasswordReset("nobody@example.org").ok());
  EXPECT_EQ(MessagesTo(*db_, "nobody@example.org"), 0);
  ASSERT_TRUE(portal_->SignUp("Bo Unconfirmed", "bo@example.org", "another long password").ok());
  const int64_t bo = MessagesTo(*db_, "bo@example.org");
  EXPECT_TRUE(portal_->RequestPasswordReset("bo@example.org").ok());
  EXPECT_EQ(MessagesTo(*db_, "bo@example.org"), bo);
  Status bad = portal_->RequestPasswordReset("not an address");
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(Fields(bad), ElementsAre("email"));

  ASSERT_TRUE(portal_->RequestPasswordReset(" ANA@example.org ").ok());
  EXPECT_EQ(MessagesTo(*db_, "ana@example.org"), sent + 1);
  const std::string mail = LastMessage("ana@example.org");
  EXPECT_THAT(mail, HasSubstr("https://onedoor.example.org/portal/reset?token="));
  const std::string token = TokenIn(mail);
  // Asked again at once: no second message.
  ASSERT_TRUE(portal_->RequestPasswordReset("ana@example.org").ok());
  EXPECT_EQ(MessagesTo(*db_, "ana@example.org"), sent + 1);

  EXPECT_TRUE(portal_->CheckPasswordReset(token).ok());
  EXPECT_EQ(portal_->CheckPasswordReset("made-up").code(), StatusCode::kNotFound);
  // Too short: refused, and the link still works.
  Status shortish = portal_->ResetPassword(token, "short");
  EXPECT_EQ(shortish.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(Fields(shortish), ElementsAre("password"));
  EXPECT_TRUE(portal_->CheckPasswordReset(token).ok());

  ASSERT_TRUE(portal_->ResetPassword(token, "a brand new passphrase").ok());
  // The old session is over; the old password no longer signs in; the new one does.
  EXPECT_EQ(accounts_->AuthenticateSession(before->session_id, "req-2").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(portal_->SignIn("ana@example.org", "correct horse battery", "req-3").status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_TRUE(portal_->SignIn("ana@example.org", "a brand new passphrase", "req-4").ok());
  // The link works once.
  EXPECT_EQ(portal_->ResetPassword(token, "yet another passphrase").code(), StatusCode::kNotFound);
}

TEST_F(PortalServiceTest, AResetLinkExpires) {
  ASSERT_TRUE(portal_->SignUp("Ana Lima", "ana@example.org", "correct horse battery").ok());
  ASSERT_TRUE(portal_->Verify(TokenIn(LastMessage("ana@example.org"))).ok());
  ASSERT_TRUE(portal_->RequestPasswordReset("ana@example.org").ok());
  const std::string token = TokenIn(LastMessage("ana@example.org"));
  clock_.Advance(std::chrono::minutes(61));
  Status late = portal_->ResetPassword(token, "a brand new passphrase");
  EXPECT_EQ(late.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(late.message(), HasSubstr("ask for a new one"));
  EXPECT_TRUE(portal_->SignIn("ana@example.org", "correct horse battery", "req").ok());
  // A new link may be asked for once five minutes have passed (they have).
  ASSERT_TRUE(portal_->RequestPasswordReset("ana@example.org").ok());
  EXPECT_NE(TokenIn(LastMessage("ana@example.org")), token);
}

TEST_F(PortalServiceTest, OnlyTheOwnerOrTheSystemSetsAPassword) {
  ASSERT_TRUE(portal_->SignUp("Ana Lima", "ana@example.org", "correct horse battery").ok());
  ASSERT_TRUE(portal_->Verify(TokenIn(LastMessage("ana@example.org"))).ok());
  auto session = portal_->SignIn("ana@example.org", "correct horse battery", "req");
  ASSERT_TRUE(session.ok());
  const authz::Principal ana = Citizen(*session);
  authz::Principal other = ana;
  other.user = core::UserId{ana.user.value + 1000};
  EXPECT_EQ(accounts_->SetPassword(other, ana.user, "someone else's choice").code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(accounts_->SetPassword(ana, ana.user, "my own new passphrase").ok());
}

}  // namespace
}  // namespace portal

namespace portal {
namespace {

TEST_F(PortalServiceTest, TheMessagesAreWrittenInTheLanguageThePersonUsed) {
  auto messages = i18n::Messages::Load(std::string(ONEDOOR_SOURCE_DIR) + "/web/locales");
  ASSERT_TRUE(messages.ok()) << messages.status().ToString();
  portal_->UseMessages(messages->get());
  ASSERT_TRUE(portal_->SignUp("Ana Lima", "ana@example.org", "correct horse battery", "es").ok());
  const std::string mail = LastMessage("ana@example.org");
  EXPECT_THAT(mail, HasSubstr("Confirme su dirección de correo electrónico para usar su cuenta de onedoor: "
                              "https://onedoor.example.org/portal/verify?token="));
  EXPECT_THAT(mail, HasSubstr("(el enlace sirve durante 48 horas)"));
  ASSERT_TRUE(portal_->Verify(TokenIn(mail)).ok());
  ASSERT_TRUE(portal_->RequestPasswordReset("ana@example.org", "es").ok());
  EXPECT_THAT(LastMessage("ana@example.org"), HasSubstr("Para elegir una contraseña nueva"));
  // Signing up again with the address (past the 5 minutes after the last message): the owner
  // is told, in the language of whoever asked.
  clock_.Advance(std::chrono::minutes(6));
  ASSERT_TRUE(portal_->SignUp("Ana Lima", "ana@example.org", "correct horse battery", "en").ok());
  EXPECT_THAT(LastMessage("ana@example.org"),
              HasSubstr("which already has one. To sign in, go to https://onedoor.example.org/portal/sign-in."));
  ASSERT_TRUE(portal_->SignUp("Bo", "bo@example.org", "correct horse battery", "ar").ok());
  EXPECT_THAT(LastMessage("bo@example.org"), HasSubstr("أكّد عنوان بريدك الإلكتروني لاستخدام حسابك في onedoor"));
  // A language without a catalogue: English.
  ASSERT_TRUE(portal_->SignUp("Cy", "cy@example.org", "correct horse battery", "fr").ok());
  EXPECT_THAT(LastMessage("cy@example.org"), HasSubstr("Confirm your e-mail address to use your onedoor account"));
}

}  // namespace
}  // namespace portal

namespace portal {
namespace {

TEST_F(PortalServiceTest, APersonUnlinksTheirAccountAndCanBeLinkedAgain) {
  ASSERT_TRUE(portal_->SignUp("Ana Lima", "ana@example.org", "correct horse battery").ok());
  ASSERT_TRUE(portal_->Verify(TokenIn(LastMessage("ana@example.org"))).ok());
  auto session = portal_->SignIn("ana@example.org", "correct horse battery", "r");
  ASSERT_TRUE(session.ok());
  authz::Principal ana = Citizen(*session);
  EXPECT_EQ(portal_->Unlink(ana).code(), StatusCode::kFailedPrecondition);  // not linked yet
  auto code = portal_->NewLinkCode(ana);
  ASSERT_TRUE(code.ok());
  ASSERT_TRUE(portal_->Link(Staff(authz::Role::kFrontdesk), person_, code->code).ok());
  ana = Citizen(*session);
  ASSERT_TRUE(persons_->Get(ana, person_).ok());
  EXPECT_EQ(portal_->Unlink(Staff(authz::Role::kCaseworker)).code(), StatusCode::kPermissionDenied);

  ASSERT_TRUE(portal_->Unlink(ana).ok());
  // The session goes on, but the account sees nothing of the record.
  ana = Citizen(*session);
  EXPECT_FALSE(ana.person.has_value());
  EXPECT_EQ(persons_->Get(ana, person_).status().code(), StatusCode::kPermissionDenied);
  auto me = portal_->Me(ana);
  ASSERT_TRUE(me.ok());
  EXPECT_FALSE(me->person.has_value());
  EXPECT_FALSE(me->linked_at.has_value());
  // The unlinking is recorded against the person's record (so in their access log), as their act.
  std::string last;
  ASSERT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                   ASSIGN_OR_RETURN(storage::Rows rows,
                                    tx.Query("SELECT action, user_id FROM audit_log WHERE person_id = ? AND action = "
                                             "'portal.unlink'",
                                             {person_.value}));
                   last = rows.at(0).Text(0) + " by " + std::to_string(rows.at(0).Int(1));
                   return Status::Ok();
                 }).ok());
  EXPECT_EQ(last, "portal.unlink by " + std::to_string(ana.user.value));
  // Linked again with a new code.
  auto again = portal_->NewLinkCode(ana);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ASSERT_TRUE(portal_->Link(Staff(authz::Role::kFrontdesk), person_, again->code).ok());
  EXPECT_TRUE(persons_->Get(Citizen(*session), person_).ok());
}

TEST_F(PortalServiceTest, APersonAsksToBeFoundAndStaffLinkOrDeclineAfterReview) {
  auto signed_in = [&](const std::string& name, const std::string& email) {
    EXPECT_TRUE(portal_->SignUp(name, email, "correct horse battery").ok());
    EXPECT_TRUE(portal_->Verify(TokenIn(LastMessage(email))).ok());
    auto s = portal_->SignIn(email, "correct horse battery", "r");
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return Citizen(*s);
  };
  authz::Principal ana = signed_in("Ana Lima", "ana@example.org");
  // Mistakes are named.
  EXPECT_THAT(Fields(portal_->RequestLink(ana, {"", "", "1985-02-30", "", ""}).status()),
              ElementsAre("given", "family", "birth_date"));
  EXPECT_THAT(Fields(portal_->RequestLink(ana, {"Ana", "Lima", "2999-01-01", "", ""}).status()),
              ElementsAre("birth_date"));
  auto asked = portal_->RequestLink(ana, {" Ana ", "Lima", "1985-03-27", "1000", "12 Rue Haute"});
  ASSERT_TRUE(asked.ok()) << asked.status().ToString();
  EXPECT_EQ(asked->said.given, "Ana");
  // One request waits at a time.
  EXPECT_EQ(portal_->RequestLink(ana, {"Ana", "Lima", "1985-03-27", "", ""}).status().code(),
            StatusCode::kFailedPrecondition);
  auto mine = portal_->MyLinkRequest(ana);
  ASSERT_TRUE(mine.ok() && mine->has_value());
  EXPECT_EQ((*mine)->state, "waiting");

  // Only staff who serve people review them; the refusal is audited.
  EXPECT_EQ(portal_->WaitingLinkRequests(Staff(authz::Role::kAuditor)).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(portal_->WaitingLinkRequests(ana).status().code(), StatusCode::kPermissionDenied);
  auto waiting = portal_->WaitingLinkRequests(Staff(authz::Role::kFrontdesk));
  ASSERT_TRUE(waiting.ok());
  ASSERT_EQ(waiting->size(), 1u);
  EXPECT_EQ((*waiting)[0].account_email, "ana@example.org");
  EXPECT_EQ((*waiting)[0].said.birth_date, "1985-03-27");

  const authz::Principal desk = Staff(authz::Role::kFrontdesk);
  ASSERT_TRUE(portal_->DecideLinkRequest(desk, asked->id, person_, "").ok());
  EXPECT_THAT(LastMessage("ana@example.org"), HasSubstr("now linked to your record"));
  auto me = portal_->Me(ana);
  ASSERT_TRUE(me.ok());
  ASSERT_TRUE(me->person.has_value());
  EXPECT_EQ(*me->person, person_);
  // Decided once.
  EXPECT_EQ(portal_->DecideLinkRequest(desk, asked->id, std::nullopt, "no").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(portal_->RequestLink(ana, {"Ana", "Lima", "1985-03-27", "", ""}).status().code(),
            StatusCode::kFailedPrecondition);  // linked now

  // Bo's details match no one closely enough: declined with a reason he reads.
  authz::Principal bo = signed_in("Bo Diaz", "bo@example.org");
  auto bo_asked = portal_->RequestLink(bo, {"Bo", "Diaz", "1990-01-01", "", ""});
  ASSERT_TRUE(bo_asked.ok());
  EXPECT_THAT(Fields(portal_->DecideLinkRequest(desk, bo_asked->id, std::nullopt, " ")), ElementsAre("reason"));
  // The record already has Ana's account: not linked to Bo's as well.
  EXPECT_EQ(portal_->DecideLinkRequest(desk, bo_asked->id, person_, "").code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(portal_->DecideLinkRequest(desk, bo_asked->id, std::nullopt, "Two records are close to your details.").ok());
  EXPECT_THAT(LastMessage("bo@example.org"), HasSubstr("Two records are close to your details."));
  auto bo_mine = portal_->MyLinkRequest(bo);
  ASSERT_TRUE(bo_mine.ok() && bo_mine->has_value());
  EXPECT_EQ((*bo_mine)->state, "declined");
  EXPECT_FALSE(portal_->Me(bo)->person.has_value());
  // He may ask again.
  EXPECT_TRUE(portal_->RequestLink(bo, {"Bo", "Diaz", "1990-01-02", "", ""}).ok());
}

}  // namespace
}  // namespace portal
