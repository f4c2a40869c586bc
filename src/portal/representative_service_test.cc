#include "portal/representative_service.h"

#include <regex>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/crypto.h"
#include "portal/portal_service.h"
#include "storage/migrations.h"
#include "storage/postgres/postgres_database.h"
#include "storage/schema.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/testing.h"

namespace portal {
namespace {

using core::Status;
using core::StatusCode;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

const auto* const kPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new testing_support::PostgresEnvironment);

std::vector<std::string> Fields(const Status& s) {
  std::vector<std::string> out;
  for (const auto& f : s.fields()) out.push_back(f.field);
  return out;
}

authz::Principal Desk() {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kStaff;
  p.user = core::UserId{1};
  p.agency = core::AgencyId{1};
  p.name = "frontdesk.city";
  p.roles = {authz::Role::kFrontdesk};
  p.purpose = authz::Purpose::kFrontDesk;
  return p;
}

// The same tests on SQLite and on a throwaway PostgreSQL.
class RepresentativeTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      db_ = testing_support::NewMigratedSqlite(dir_);
    } else {
      auto opened = storage::OpenPostgres(testing_support::PostgresEnvironment::Cluster().NewMigratedDatabaseUrl(),
                                          {.connections = 4});
      ASSERT_TRUE(opened.ok()) << opened.status().ToString();
      db_ = std::move(opened).value();
      ASSERT_TRUE(storage::Migrate(*db_, storage::OnedoorSchema()).ok());
    }
    ASSERT_TRUE(db_->Write([](storage::Transaction& tx) {
                     return tx.Execute("INSERT INTO agencies (code, name, kind, created_at) VALUES ('city', 'City', "
                                       "'government', 0)")
                         .status();
                   }).ok());
    accounts::AccountOptions options;
    options.fast_password_hashing = true;
    accounts_ = std::make_unique<accounts::AccountService>(*db_, audit_, clock_, options);
    persons_ = std::make_unique<registry::PersonService>(*db_, gate_, audit_, outbox_, clock_);
    portal_ = std::make_unique<PortalService>(*db_, audit_, clock_, *accounts_, *persons_, PortalOptions{});
    service_ = std::make_unique<RepresentativeService>(*db_, audit_, clock_);
    registry::Person p;
    p.names = {{"official", "Ana", "Lima"}};
    auto made = persons_->Create(Desk(), p);
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    person_ = made->id;
  }

  // A confirmed, signed-in account: its session id and principal.
  std::pair<std::string, authz::Principal> Account(const std::string& name, const std::string& email) {
    EXPECT_TRUE(portal_->SignUp(name, email, "correct horse battery").ok());
    std::string body;
    EXPECT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                     ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT body FROM outgoing_messages WHERE address = "
                                                                   "? ORDER BY id DESC LIMIT 1",
                                                                   {email}));
                     body = rows.at(0).Text(0);
                     return Status::Ok();
                   }).ok());
    std::smatch m;
    EXPECT_TRUE(std::regex_search(body, m, std::regex("token=([A-Za-z0-9_-]+)")));
    EXPECT_TRUE(portal_->Verify(m[1].str()).ok());
    auto session = portal_->SignIn(email, "correct horse battery", "r");
    EXPECT_TRUE(session.ok()) << session.status().ToString();
    return {session->session_id, Session(session->session_id)};
  }

  authz::Principal Session(const std::string& id) {
    auto auth = accounts_->AuthenticateSession(id, "r");
    EXPECT_TRUE(auth.ok()) << auth.status().ToString();
    return auth.ok() ? auth->principal : authz::Principal{};
  }

  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_;
  core::FakeClock clock_{core::Timestamp{1'772'409'600'000'000}};  // 2026-03-02
  audit::AuditLog audit_{clock_};
  exchange::Outbox outbox_{clock_};
  authz::AccessGate gate_;
  std::unique_ptr<accounts::AccountService> accounts_;
  std::unique_ptr<registry::PersonService> persons_;
  std::unique_ptr<PortalService> portal_;
  std::unique_ptr<RepresentativeService> service_;
  core::PersonId person_;
};

TEST_P(RepresentativeTest, APersonGrantsTheRepresentativeActsWithinItAndThePersonEndsIt) {
  auto [ana_session, ana] = Account("Ana Lima", "ana@example.org");
  auto code = portal_->NewLinkCode(ana);
  ASSERT_TRUE(code.ok());
  ASSERT_TRUE(portal_->Link(Desk(), person_, code->code).ok());
  ana = Session(ana_session);
  auto [mere_session, mere] = Account("Mere Lima", "mere@example.org");

  // Mistakes, each named; an unlinked account has no one to grant for.
  EXPECT_THAT(Fields(service_->Grant(ana, {"nobody@example.org", " ", {"fly"}, core::Date{2026, 3, 1}}).status()),
              UnorderedElementsAre("email", "relationship", "scopes", "until"));
  EXPECT_THAT(Fields(service_->Grant(ana, {"ana@example.org", "me", {}, std::nullopt}).status()), ElementsAre("email"));
  EXPECT_EQ(service_->Grant(mere, {"ana@example.org", "mother", {}, std::nullopt}).status().code(),
            StatusCode::kPermissionDenied);

  auto grant = service_->Grant(ana, {" MERE@example.org", "my daughter", {"apply", "apply"}, core::Date{2026, 6, 30}});
  ASSERT_TRUE(grant.ok()) << grant.status().ToString();
  EXPECT_EQ(grant->name, "Mere Lima");
  EXPECT_THAT(grant->scopes, ElementsAre("apply"));
  EXPECT_EQ(service_->Grant(ana, {"mere@example.org", "my daughter", {}, std::nullopt}).status().code(),
            StatusCode::kAlreadyExists);
  ASSERT_EQ(service_->ActingFor(mere)->size(), 1u);

  // Someone else cannot switch to it; the representative can, and acts as the person within it.
  auto [other_session, other] = Account("Other", "other@example.org");
  EXPECT_EQ(service_->Switch(other, core::Sha256Hex(other_session), grant->id).code(), StatusCode::kNotFound);
  ASSERT_TRUE(service_->Switch(mere, core::Sha256Hex(mere_session), grant->id).ok());
  authz::Principal acting = Session(mere_session);
  EXPECT_EQ(acting.person, person_);
  EXPECT_EQ(acting.representation, grant->id);
  EXPECT_TRUE(acting.HasScope("portal:apply"));
  EXPECT_FALSE(acting.HasScope("portal:contact"));
  EXPECT_TRUE(persons_->Get(acting, person_).ok());
  // Not granted: contact details stay the person's to change.
  EXPECT_FALSE(gate_.DecidePerson(acting, authz::Operation::kUpdate, person_).allowed);
  EXPECT_EQ(service_->Grant(acting, {"other@example.org", "x", {}, std::nullopt}).status().code(),
            StatusCode::kPermissionDenied);
  int64_t marked = 0;
  ASSERT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                   ASSIGN_OR_RETURN(storage::Rows rows,
                                    tx.Query("SELECT COUNT(*) FROM audit_log WHERE person_id = ? AND action = "
                                             "'person.read' AND reason LIKE '%representative, grant%'",
                                             {person_.value}));
                   marked = rows.at(0).Int(0);
                   return Status::Ok();
                 }).ok());
  EXPECT_EQ(marked, 1);

  // After the last day, the session is the account's own again.
  auto set_until = [&](const std::string& day) {
    ASSERT_TRUE(db_->Write([&](storage::Transaction& tx) {
                     return tx.Execute("UPDATE representatives SET until = ? WHERE id = ?", {day, grant->id}).status();
                   }).ok());
  };
  set_until("2026-03-01");
  EXPECT_EQ(Session(mere_session).representation, 0);
  EXPECT_TRUE(service_->ActingFor(mere)->empty());
  set_until("2026-03-02");  // the last day still counts
  EXPECT_EQ(Session(mere_session).representation, grant->id);

  // The person ends it: at once.
  EXPECT_EQ(service_->End(mere, grant->id).code(), StatusCode::kPermissionDenied);
  ASSERT_TRUE(service_->End(ana, grant->id).ok());
  EXPECT_EQ(service_->End(ana, grant->id).code(), StatusCode::kFailedPrecondition);
  authz::Principal after = Session(mere_session);
  EXPECT_EQ(after.representation, 0);
  EXPECT_FALSE(after.person.has_value());
  EXPECT_EQ(persons_->Get(after, person_).status().code(), StatusCode::kPermissionDenied);
  auto listed = service_->ForPerson(ana);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_TRUE(listed->at(0).ended_at.has_value());
}

INSTANTIATE_TEST_SUITE_P(Databases, RepresentativeTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace portal
