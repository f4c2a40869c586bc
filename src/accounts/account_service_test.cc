#include "accounts/account_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "tests/testing/testing.h"

namespace accounts {
namespace {

using authz::Principal;
using authz::PrincipalKind;
using authz::Purpose;
using authz::Role;
using core::StatusCode;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

using namespace std::chrono_literals;

constexpr char kPassword[] = "correct horse battery";

std::vector<std::string> FieldNames(const core::Status& status) {
  std::vector<std::string> out;
  for (const auto& f : status.fields()) out.push_back(f.field);
  return out;
}

class AccountServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(core::InitCrypto().ok());
    auto a = service_.CreateAgency(sys_, {.code = "city-social", .name = "City Social Services"});
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    agency_a_ = a->id;
    auto b = service_.CreateAgency(sys_, {.code = "food-bank", .name = "Food Bank", .kind = AgencyKind::kNonprofit});
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    agency_b_ = b->id;
    admin_a_user_ = MustCreateStaff(agency_a_, "admin.a", {Role::kAdmin});
    admin_a_ = Staff(admin_a_user_, agency_a_, {Role::kAdmin}, "admin.a");
    admin_b_ = Staff(MustCreateStaff(agency_b_, "admin.b", {Role::kAdmin}), agency_b_, {Role::kAdmin}, "admin.b");
    caseworker_a_ = Staff(MustCreateStaff(agency_a_, "case.a", {Role::kCaseworker}), agency_a_,
                          {Role::kCaseworker}, "case.a");
  }

  static Principal Staff(core::UserId user, core::AgencyId agency, std::vector<Role> roles, std::string name) {
    Principal p;
    p.kind = PrincipalKind::kStaff;
    p.user = user;
    p.agency = agency;
    p.roles = std::move(roles);
    p.name = std::move(name);
    p.purpose = Purpose::kAdministration;
    p.request_id = "req-test";
    return p;
  }

  NewUser StaffUser(core::AgencyId agency, std::string username, std::vector<Role> roles) {
    NewUser u;
    u.kind = AccountKind::kStaff;
    u.username = std::move(username);
    u.display_name = "Staff Member";
    u.email = "staff@example.org";
    u.password = kPassword;
    u.agency = agency;
    u.roles = std::move(roles);
    return u;
  }

  core::UserId MustCreateStaff(core::AgencyId agency, std::string username, std::vector<Role> roles) {
    auto u = service_.CreateUser(sys_, StaffUser(agency, std::move(username), std::move(roles)));
    EXPECT_TRUE(u.ok()) << u.status().ToString();
    return u.ok() ? u->id : core::UserId{};
  }

  storage::Rows Query(const std::string& sql, const storage::Params& params = {}) {
    storage::Rows rows;
    core::Status st = db_->Read([&](storage::Transaction& tx) -> core::Status {
      ASSIGN_OR_RETURN(rows, tx.Query(sql, params));
      return core::Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return rows;
  }

  // Audit entries, oldest first.
  std::vector<audit::Record> AuditEntries() {
    std::vector<audit::Record> out;
    core::Status st = db_->Read([&](storage::Transaction& tx) -> core::Status {
      ASSIGN_OR_RETURN(out, audit_.List(tx, 1000));
      return core::Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    std::reverse(out.begin(), out.end());
    return out;
  }

  const audit::Record* LastAudit(const std::string& action) {
    last_audit_ = AuditEntries();
    for (auto it = last_audit_.rbegin(); it != last_audit_.rend(); ++it) {
      if (it->entry.action == action) return &*it;
    }
    return nullptr;
  }

  int64_t CountAudit(const std::string& action) {
    return Query("SELECT COUNT(*) FROM audit_log WHERE action = ?", {action})[0].Int(0);
  }

  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_ = testing_support::NewMigratedSqlite(dir_);
  core::FakeClock clock_;
  audit::AuditLog audit_{clock_};
  AccountOptions options_{.fast_password_hashing = true};
  AccountService service_{*db_, audit_, clock_, options_};
  Principal sys_ = AccountService::SystemPrincipal("test-setup");

  core::AgencyId agency_a_;
  core::AgencyId agency_b_;
  core::UserId admin_a_user_;
  Principal admin_a_;
  Principal admin_b_;
  Principal caseworker_a_;
  std::vector<audit::Record> last_audit_;
};

// ---- agencies and offices ------------------------------------------------------------

TEST_F(AccountServiceTest, CreatedAgenciesAreListedAndFound) {
  auto all = service_.ListAgencies();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].code, "city-social");
  EXPECT_EQ((*all)[0].kind, AgencyKind::kGovernment);
  EXPECT_EQ((*all)[1].code, "food-bank");
  EXPECT_EQ((*all)[1].kind, AgencyKind::kNonprofit);

  auto got = service_.GetAgency(agency_b_);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->name, "Food Bank");
  auto by_code = service_.FindAgencyByCode("city-social");
  ASSERT_TRUE(by_code.ok());
  EXPECT_EQ(by_code->id, agency_a_);

  EXPECT_EQ(service_.GetAgency(core::AgencyId{999}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_.FindAgencyByCode("nope").status().code(), StatusCode::kNotFound);

  const auto* entry = LastAudit("agency.created");
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->entry.record_type, "agency");
  EXPECT_EQ(entry->entry.record_id, std::to_string(agency_b_.value));
  EXPECT_TRUE(entry->entry.allowed);
  EXPECT_EQ(entry->actor, "test-setup");
}

TEST_F(AccountServiceTest, CreateAgencyValidatesCodeAndName) {
  auto bad = service_.CreateAgency(sys_, {.code = "City Social!", .name = "  "});
  ASSERT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldNames(bad.status()), ElementsAre("code", "name"));

  auto long_name = service_.CreateAgency(sys_, {.code = "ok-code", .name = std::string(201, 'x')});
  ASSERT_EQ(long_name.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldNames(long_name.status()), ElementsAre("name"));

  EXPECT_TRUE(service_.CreateAgency(sys_, {.code = "ok-code", .name = std::string(200, 'x')}).ok());
}

TEST_F(AccountServiceTest, CreateAgencyWithTakenCodeIsAlreadyExists) {
  auto dup = service_.CreateAgency(sys_, {.code = "city-social", .name = "Another"});
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.status().message(), "an agency with that code exists");
}

TEST_F(AccountServiceTest, CreateAgencyNeedsAnAdminAndRefusalIsAudited) {
  auto refused = service_.CreateAgency(caseworker_a_, {.code = "new-one", .name = "New"});
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(refused.status().message(), "only an administrator may create agencies");
  const auto* entry = LastAudit("agency.create");
  ASSERT_NE(entry, nullptr);
  EXPECT_FALSE(entry->entry.allowed);
  EXPECT_EQ(entry->actor, "case.a");
  EXPECT_EQ(entry->user_id, caseworker_a_.user.value);
  EXPECT_EQ(entry->entry.reason, "only an administrator may create agencies");
  EXPECT_EQ(entry->request_id, "req-test");
  EXPECT_EQ(service_.ListAgencies()->size(), 2u);

  EXPECT_TRUE(service_.CreateAgency(admin_a_, {.code = "new-one", .name = "New"}).ok());
}

TEST_F(AccountServiceTest, OfficesAreCreatedByTheirAgencysAdmin) {
  auto office = service_.CreateOffice(admin_a_, {.agency = agency_a_, .name = "Central", .address = "1 Main St"});
  ASSERT_TRUE(office.ok()) << office.status().ToString();
  EXPECT_TRUE(office->id.valid());
  auto list = service_.ListOffices(agency_a_);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "Central");
  EXPECT_EQ((*list)[0].address, "1 Main St");
  EXPECT_THAT(*service_.ListOffices(agency_b_), IsEmpty());
  ASSERT_NE(LastAudit("office.created"), nullptr);

  auto dup = service_.CreateOffice(admin_a_, {.agency = agency_a_, .name = "Central"});
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);

  auto blank = service_.CreateOffice(admin_a_, {.agency = agency_a_, .name = ""});
  EXPECT_EQ(blank.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldNames(blank.status()), ElementsAre("name"));

  auto other = service_.CreateOffice(admin_a_, {.agency = agency_b_, .name = "Depot"});
  EXPECT_EQ(other.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(other.status().message(), "an administrator may create offices only in their own agency");
  const auto* refusal = LastAudit("office.create");
  ASSERT_NE(refusal, nullptr);
  EXPECT_FALSE(refusal->entry.allowed);

  auto caseworker = service_.CreateOffice(caseworker_a_, {.agency = agency_a_, .name = "North"});
  EXPECT_EQ(caseworker.status().code(), StatusCode::kPermissionDenied);

  auto unknown = service_.CreateOffice(sys_, {.agency = core::AgencyId{999}, .name = "Nowhere"});
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(service_.CreateOffice(sys_, {.agency = agency_b_, .name = "Depot"}).ok());
}

// ---- users ---------------------------------------------------------------------------

TEST_F(AccountServiceTest, CreateUserStoresAnArgon2idHashAndRoles) {
  NewUser nu = StaffUser(agency_a_, "jo.smith", {Role::kManager, Role::kCaseworker, Role::kCaseworker});
  auto office = service_.CreateOffice(admin_a_, {.agency = agency_a_, .name = "Central"});
  ASSERT_TRUE(office.ok());
  nu.office = office->id;
  auto user = service_.CreateUser(admin_a_, nu);
  ASSERT_TRUE(user.ok()) << user.status().ToString();
  EXPECT_EQ(user->username, "jo.smith");
  EXPECT_EQ(user->agency, agency_a_);
  EXPECT_EQ(user->office, office->id);
  EXPECT_THAT(user->roles, ElementsAre(Role::kCaseworker, Role::kManager));
  EXPECT_TRUE(user->active);

  auto got = service_.GetUser(user->id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->display_name, "Staff Member");
  EXPECT_EQ(got->email, "staff@example.org");
  EXPECT_EQ(got->kind, AccountKind::kStaff);
  EXPECT_EQ(got->office, office->id);
  EXPECT_THAT(got->roles, ElementsAre(Role::kCaseworker, Role::kManager));

  auto stored = Query("SELECT password_hash FROM users WHERE id = ?", {user->id.value});
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_THAT(stored[0].Text(0), ::testing::StartsWith("$argon2id$"));
  EXPECT_THAT(stored[0].Text(0), Not(HasSubstr(kPassword)));

  auto entry = LastAudit("user.created");
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->entry.record_type, "user");
  EXPECT_EQ(entry->entry.record_id, std::to_string(user->id.value));
  EXPECT_FALSE(entry->entry.person.has_value());
  EXPECT_EQ(entry->actor, "admin.a");
  EXPECT_THAT(entry->entry.reason, Not(HasSubstr("staff@example.org")));

  auto list = service_.ListUsers(admin_a_, agency_a_);
  ASSERT_TRUE(list.ok());
  std::vector<std::string> names;
  for (const auto& u : *list) names.push_back(u.username);
  EXPECT_THAT(names, ElementsAre("admin.a", "case.a", "jo.smith"));
  EXPECT_THAT(list->back().roles, ElementsAre(Role::kCaseworker, Role::kManager));
}

TEST_F(AccountServiceTest, GetUnknownUserIsNotFound) {
  EXPECT_EQ(service_.GetUser(core::UserId{999}).status().code(), StatusCode::kNotFound);
}

TEST_F(AccountServiceTest, CreateUserNamesEveryInvalidField) {
  NewUser nu;
  nu.kind = AccountKind::kStaff;
  nu.username = "Jo";
  nu.display_name = " ";
  nu.email = "not-an-email";
  nu.password = "short pw";
  auto st = service_.CreateUser(sys_, nu).status();
  ASSERT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldNames(st), ElementsAre("username", "display_name", "email", "password", "roles", "agency"));
  EXPECT_THAT(st.message(), Not(HasSubstr("short pw")));
  for (const auto& f : st.fields()) EXPECT_THAT(f.message, Not(HasSubstr("short pw")));
}

TEST_F(AccountServiceTest, CreateUserChecksUsernameShapeAndLength) {
  for (const std::string& bad : std::vector<std::string>{"ab", std::string(65, 'a'), "Upper", "with space", "semi;colon", "é-accent"}) {
    auto st = service_.CreateUser(sys_, StaffUser(agency_a_, bad, {Role::kFrontdesk})).status();
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(FieldNames(st), ElementsAre("username")) << bad;
  }
  for (const std::string& good : std::vector<std::string>{"abc", std::string(64, 'a'), "a.b_c-9"}) {
    auto user = service_.CreateUser(sys_, StaffUser(agency_a_, good, {Role::kFrontdesk}));
    EXPECT_TRUE(user.ok()) << good << ": " << user.status().ToString();
  }
}

TEST_F(AccountServiceTest, CreateUserChecksPasswordLength) {
  NewUser nu = StaffUser(agency_a_, "pw.test", {Role::kFrontdesk});
  nu.password = std::string(11, 'p');
  auto st = service_.CreateUser(sys_, nu).status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldNames(st), ElementsAre("password"));
  EXPECT_EQ(st.fields()[0].message, "must be at least 12 characters long");

  nu.password = std::string(257, 'p');
  st = service_.CreateUser(sys_, nu).status();
  EXPECT_THAT(FieldNames(st), ElementsAre("password"));
  EXPECT_EQ(st.fields()[0].message, "must be at most 256 characters long");

  // Characters, not bytes: eleven two-byte letters are still too short.
  nu.password.clear();
  for (int i = 0; i < 11; ++i) nu.password += "\xC3\xA9";
  EXPECT_THAT(FieldNames(service_.CreateUser(sys_, nu).status()), ElementsAre("password"));

  nu.password = std::string(12, 'p');
  EXPECT_TRUE(service_.CreateUser(sys_, nu).ok());
  nu.username = "pw.test2";
  nu.password = std::string(256, 'p');
  EXPECT_TRUE(service_.CreateUser(sys_, nu).ok());
}

TEST_F(AccountServiceTest, PasswordsKnownToAttackersAndTheAccountsOwnWordsAreRefused) {
  // The list shipped with onedoor: the 30,000 most common leaked passwords.
  ASSERT_TRUE(service_.UseBlocklist(std::string(ONEDOOR_SOURCE_DIR) + "/config/breached-passwords.txt").ok());
  EXPECT_EQ(service_.UseBlocklist(dir_.File("none.txt")).code(), StatusCode::kInvalidArgument);
  NewUser nu = StaffUser(agency_a_, "pw.list", {Role::kFrontdesk});
  for (const char* known : {"qwerty123456", "QWERTY123456", "1q2w3e4r5t6y", "123456789987654321"}) {
    nu.password = known;
    auto st = service_.CreateUser(sys_, nu).status();
    ASSERT_EQ(st.code(), StatusCode::kInvalidArgument) << known;
    EXPECT_EQ(st.fields()[0].message, "this password is on a list of passwords known to attackers: choose another");
  }
  // The account's own words: its username, its e-mail address's name, the service's name; a
  // short address is still the address, and its name of three letters still its name.
  for (auto [email, own] : {std::pair{"jo.smith@example.org", "my pw.list is long enough"},
                            std::pair{"jo.smith@example.org", "JO.SMITH-2026-winter"},
                            std::pair{"jo.smith@example.org", "onedoor for everyone"},
                            std::pair{"li2@example.org", "LI2@EXAMPLE.ORG extra"},
                            std::pair{"li2@example.org", "li2@example.org"},
                            std::pair{"li2@example.org", "the li2 of the river"}}) {
    nu.email = email;
    nu.password = own;
    auto st = service_.CreateUser(sys_, nu).status();
    ASSERT_EQ(st.code(), StatusCode::kInvalidArgument) << own;
    EXPECT_EQ(st.fields()[0].message,
              "must not contain your username, your e-mail address or the name of the service");
  }
  nu.password = std::string(14, ' ');
  auto blank = service_.CreateUser(sys_, nu).status();
  ASSERT_EQ(blank.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(blank.fields()[0].message, "must not be only spaces");
  nu.password = "kowhai tree by the river";
  auto made = service_.CreateUser(sys_, nu);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  // A new password is held to the same rules.
  EXPECT_EQ(service_.SetPassword(sys_, made->id, "qwerty123456").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(service_.SetPassword(sys_, made->id, "a long walk on the beach").ok());
}

TEST_F(AccountServiceTest, CreateUserChecksDisplayNameLength) {
  NewUser nu = StaffUser(agency_a_, "dn.test", {Role::kFrontdesk});
  nu.display_name = std::string(201, 'd');
  EXPECT_THAT(FieldNames(service_.CreateUser(sys_, nu).status()), ElementsAre("display_name"));
  nu.display_name = std::string(200, 'd');
  EXPECT_TRUE(service_.CreateUser(sys_, nu).ok());
}

TEST_F(AccountServiceTest, StaffNeedAnExistingAgencyAndAnOfficeOfIt) {
  NewUser nu = StaffUser(core::AgencyId{999}, "lost.soul", {Role::kFrontdesk});
  auto st = service_.CreateUser(sys_, nu).status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldNames(st), ElementsAre("agency"));

  auto office_b = service_.CreateOffice(sys_, {.agency = agency_b_, .name = "Depot"});
  ASSERT_TRUE(office_b.ok());
  nu = StaffUser(agency_a_, "wrong.office", {Role::kFrontdesk});
  nu.office = office_b->id;
  st = service_.CreateUser(sys_, nu).status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldNames(st), ElementsAre("office"));
}

TEST_F(AccountServiceTest, CitizensHaveNoRolesAndNoAgency) {
  NewUser nu = StaffUser(agency_a_, "citizen.one", {Role::kCaseworker});
  nu.kind = AccountKind::kCitizen;
  auto st = service_.CreateUser(sys_, nu).status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldNames(st), ElementsAre("roles", "agency"));

  nu.roles.clear();
  nu.agency = {};
  auto citizen = service_.CreateUser(sys_, nu);
  ASSERT_TRUE(citizen.ok()) << citizen.status().ToString();
  EXPECT_EQ(citizen->kind, AccountKind::kCitizen);
  EXPECT_FALSE(citizen->agency.valid());
  EXPECT_THAT(citizen->roles, IsEmpty());
  auto stored = Query("SELECT kind, agency_id FROM users WHERE id = ?", {citizen->id.value});
  EXPECT_EQ(stored[0].Text(0), "citizen");
  EXPECT_TRUE(stored[0].IsNull(1));
}

TEST_F(AccountServiceTest, DuplicateUsernameIsAlreadyExists) {
  auto st = service_.CreateUser(admin_a_, StaffUser(agency_a_, "case.a", {Role::kFrontdesk})).status();
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(st.message(), "that username is taken");
  // Taken across agencies too.
  st = service_.CreateUser(admin_b_, StaffUser(agency_b_, "case.a", {Role::kFrontdesk})).status();
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists);
}

TEST_F(AccountServiceTest, CaseworkerCannotCreateUsers) {
  auto st = service_.CreateUser(caseworker_a_, StaffUser(agency_a_, "new.one", {Role::kFrontdesk})).status();
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(st.message(), "only an administrator may create accounts");
  const auto* entry = LastAudit("user.create");
  ASSERT_NE(entry, nullptr);
  EXPECT_FALSE(entry->entry.allowed);
  EXPECT_EQ(entry->actor, "case.a");
  EXPECT_EQ(entry->entry.record_type, "user");
  EXPECT_TRUE(Query("SELECT id FROM users WHERE username = 'new.one'").empty());
}

TEST_F(AccountServiceTest, AdminCannotCreateUsersInAnotherAgency) {
  auto st = service_.CreateUser(admin_a_, StaffUser(agency_b_, "new.one", {Role::kFrontdesk})).status();
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(st.message(), "an administrator may create accounts only in their own agency");
  ASSERT_NE(LastAudit("user.create"), nullptr);
  EXPECT_EQ(CountAudit("user.create"), 1);
  // Its own agency and the system principal are fine.
  EXPECT_TRUE(service_.CreateUser(admin_a_, StaffUser(agency_a_, "new.one", {Role::kFrontdesk})).ok());
  EXPECT_TRUE(service_.CreateUser(sys_, StaffUser(agency_b_, "new.two", {Role::kFrontdesk})).ok());
}

TEST_F(AccountServiceTest, ApiTokenPrincipalsAreBoundToTheirAgencyAndScopes) {
  auto read_only = service_.IssueToken(admin_a_, "reader", {Role::kAdmin}, {"accounts:read"});
  ASSERT_TRUE(read_only.ok()) << read_only.status().ToString();
  auto writer = service_.IssueToken(admin_a_, "writer", {Role::kAdmin}, {"accounts:write", "accounts:read"});
  ASSERT_TRUE(writer.ok());
  auto reader_p = service_.AuthenticateToken(read_only->secret, Purpose::kAdministration, "r1");
  auto writer_p = service_.AuthenticateToken(writer->secret, Purpose::kAdministration, "r2");
  ASSERT_TRUE(reader_p.ok());
  ASSERT_TRUE(writer_p.ok());

  auto st = service_.CreateUser(*reader_p, StaffUser(agency_a_, "via.token", {Role::kFrontdesk})).status();
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(st.message(), "this API token lacks the accounts:write scope");
  EXPECT_TRUE(service_.ListUsers(*reader_p, agency_a_).ok());

  // A kSystem principal from a token with role admin is not the system principal.
  st = service_.CreateUser(*writer_p, StaffUser(agency_b_, "via.token", {Role::kFrontdesk})).status();
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(service_.CreateAgency(*reader_p, {.code = "x-agency", .name = "X"}).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(service_.CreateUser(*writer_p, StaffUser(agency_a_, "via.token", {Role::kFrontdesk})).ok());
}

TEST_F(AccountServiceTest, ListUsersIsForTheAgencysAdmin) {
  auto st = service_.ListUsers(admin_b_, agency_a_).status();
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied);
  const auto* entry = LastAudit("user.list");
  ASSERT_NE(entry, nullptr);
  EXPECT_FALSE(entry->entry.allowed);
  EXPECT_EQ(entry->entry.record_id, std::to_string(agency_a_.value));
  EXPECT_EQ(service_.ListUsers(caseworker_a_, agency_a_).status().code(), StatusCode::kPermissionDenied);
  auto all_b = service_.ListUsers(sys_, agency_b_);
  ASSERT_TRUE(all_b.ok());
  ASSERT_EQ(all_b->size(), 1u);
  EXPECT_EQ((*all_b)[0].username, "admin.b");
}

TEST_F(AccountServiceTest, SetUserActiveChecksAgencyAndRefusesSelf) {
  auto st = service_.SetUserActive(admin_b_, caseworker_a_.user, false);
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied);
  ASSERT_NE(LastAudit("user.deactivate"), nullptr);
  EXPECT_EQ(service_.SetUserActive(admin_a_, admin_a_.user, false).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_.SetUserActive(admin_a_, core::UserId{999}, false).code(), StatusCode::kNotFound);
  EXPECT_TRUE(service_.SetUserActive(admin_a_, caseworker_a_.user, false).ok());
  EXPECT_FALSE(service_.GetUser(caseworker_a_.user)->active);
  ASSERT_NE(LastAudit("user.deactivated"), nullptr);
  EXPECT_TRUE(service_.SetUserActive(admin_a_, caseworker_a_.user, true).ok());
  EXPECT_TRUE(service_.GetUser(caseworker_a_.user)->active);
}

TEST_F(AccountServiceTest, AnAdministratorGivesATemporaryPasswordThatIsChangedBeforeAnythingElse) {
  auto before = service_.Login("case.a", kPassword, Purpose::kCaseWork, "r");
  ASSERT_TRUE(before.ok());
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(service_.Login("case.a", "not the password", Purpose::kCaseWork, "r").ok());
  const std::string temporary = "blue harbour lantern 42";

  // Only an administrator of the account's agency, not for their own account, within the rules.
  EXPECT_EQ(service_.SetTemporaryPassword(caseworker_a_, caseworker_a_.user, temporary).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(service_.SetTemporaryPassword(admin_b_, caseworker_a_.user, temporary).code(), StatusCode::kPermissionDenied);
  const audit::Record* refused = LastAudit("user.password_reset");
  ASSERT_NE(refused, nullptr);
  EXPECT_FALSE(refused->entry.allowed);
  EXPECT_EQ(service_.SetTemporaryPassword(admin_a_, admin_a_.user, temporary).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_.SetTemporaryPassword(admin_a_, core::UserId{999}, temporary).code(), StatusCode::kNotFound);
  auto weak = service_.SetTemporaryPassword(admin_a_, caseworker_a_.user, "short");
  ASSERT_EQ(weak.code(), StatusCode::kInvalidArgument);
  ASSERT_EQ(weak.fields().size(), 1u);
  EXPECT_EQ(weak.fields()[0].field, "password");
  EXPECT_TRUE(service_.AuthenticateSession(before->session_id, "r").ok());  // nothing changed yet

  ASSERT_TRUE(service_.SetTemporaryPassword(admin_a_, caseworker_a_.user, temporary).ok());
  EXPECT_EQ(service_.AuthenticateSession(before->session_id, "r").status().code(), StatusCode::kUnauthenticated);
  EXPECT_FALSE(service_.Login("case.a", kPassword, Purpose::kCaseWork, "r").ok());
  EXPECT_EQ(Query("SELECT COUNT(*) FROM login_failures WHERE username = 'case.a'")[0].Int(0), 1);  // the line above
  auto with_temporary = service_.Login("case.a", temporary, Purpose::kCaseWork, "r");
  ASSERT_TRUE(with_temporary.ok());
  auto auth = service_.AuthenticateSession(with_temporary->session_id, "r");
  ASSERT_TRUE(auth.ok());
  EXPECT_TRUE(auth->password_change_required);
  const audit::Record* reset = LastAudit("user.password_reset");
  ASSERT_NE(reset, nullptr);
  EXPECT_TRUE(reset->entry.allowed);
  EXPECT_EQ(reset->actor, "admin.a");
  EXPECT_EQ(reset->entry.record_id, std::to_string(caseworker_a_.user.value));

  // Choosing their own clears it: not the temporary one again, which the administrator knows.
  auto same = service_.ChangeOwnPassword(auth->principal, temporary, temporary);
  ASSERT_EQ(same.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(same.fields()[0].message, "must differ from your current password");
  ASSERT_TRUE(service_.ChangeOwnPassword(auth->principal, temporary, "a quiet walk by the river").ok());
  auto own = service_.Login("case.a", "a quiet walk by the river", Purpose::kCaseWork, "r");
  ASSERT_TRUE(own.ok());
  auto after = service_.AuthenticateSession(own->session_id, "r");
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->password_change_required);
}

TEST_F(AccountServiceTest, AnAdministratorChangesTheNameEmailAndOfficeOfAnAccountOfTheAgency) {
  auto office_a = service_.CreateOffice(admin_a_, {.agency = agency_a_, .name = "North Hub"});
  auto office_b = service_.CreateOffice(admin_b_, {.agency = agency_b_, .name = "Pantry"});
  ASSERT_TRUE(office_a.ok() && office_b.ok());
  const core::UserId id = caseworker_a_.user;
  EXPECT_EQ(service_.SetStaffDetails(admin_b_, id, "Casey New", "", {}).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(service_.SetStaffDetails(caseworker_a_, id, "Casey New", "", {}).code(), StatusCode::kPermissionDenied);
  auto bad = service_.SetStaffDetails(admin_a_, id, " ", "not an address", office_b->id);
  ASSERT_EQ(bad.code(), StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const auto& f : bad.fields()) fields.push_back(f.field);
  EXPECT_THAT(fields, ElementsAre("display_name", "email", "office"));
  EXPECT_EQ(service_.GetUser(id)->display_name, "Staff Member");

  ASSERT_TRUE(service_.SetStaffDetails(admin_a_, id, "Casey New", "casey@city.example", office_a->id).ok());
  auto user = service_.GetUser(id);
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->display_name, "Casey New");
  EXPECT_EQ(user->email, "casey@city.example");
  EXPECT_EQ(user->office, office_a->id);
  const audit::Record* entry = LastAudit("user.details_changed");
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->entry.reason, "name, e-mail address and office changed");
  // No office, the rest the same: one field changed; nothing changed records nothing.
  ASSERT_TRUE(service_.SetStaffDetails(admin_a_, id, "Casey New", "casey@city.example", {}).ok());
  EXPECT_FALSE(service_.GetUser(id)->office.valid());
  EXPECT_EQ(LastAudit("user.details_changed")->entry.reason, "office changed");
  ASSERT_TRUE(service_.SetStaffDetails(admin_a_, id, "Casey New", "casey@city.example", {}).ok());
  EXPECT_EQ(CountAudit("user.details_changed"), 2);
}

TEST_F(AccountServiceTest, AnAccountCreatedWithATemporaryPasswordChangesItAtItsFirstSignIn) {
  NewUser u = StaffUser(agency_a_, "new.starter", {Role::kFrontdesk});
  u.temporary_password = true;
  auto made = service_.CreateUser(admin_a_, u);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_TRUE(made->password_change_required);
  auto session = service_.Login("new.starter", kPassword, Purpose::kServiceDelivery, "r");
  ASSERT_TRUE(session.ok());
  auto auth = service_.AuthenticateSession(session->session_id, "r");
  ASSERT_TRUE(auth.ok());
  EXPECT_TRUE(auth->password_change_required);
  auto listed = service_.ListUsers(admin_a_, agency_a_);
  ASSERT_TRUE(listed.ok());
  auto it = std::find_if(listed->begin(), listed->end(), [](const User& x) { return x.username == "new.starter"; });
  ASSERT_NE(it, listed->end());
  EXPECT_TRUE(it->password_change_required);
}

// A temporary password works for temporary_password_days (7 here), then only a new one from an
// administrator lets its owner in; a password the owner chose does not expire.
TEST_F(AccountServiceTest, ATemporaryPasswordStopsWorkingAfterItsDays) {
  NewUser u = StaffUser(agency_a_, "late.starter", {Role::kFrontdesk});
  u.temporary_password = true;
  auto made = service_.CreateUser(admin_a_, u);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  ASSERT_TRUE(made->password_expires_at.has_value());
  EXPECT_EQ(made->password_expires_at->micros, clock_.Now().micros + int64_t{7} * 24 * 3600 * 1'000'000);
  EXPECT_EQ(service_.GetUser(made->id)->password_expires_at, made->password_expires_at);

  clock_.Advance(7 * 24h - 1s);
  EXPECT_TRUE(service_.Login("late.starter", kPassword, Purpose::kServiceDelivery, "r").ok());
  clock_.Advance(1s);
  auto expired = service_.Login("late.starter", kPassword, Purpose::kServiceDelivery, "r");
  ASSERT_EQ(expired.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(expired.status().message(), HasSubstr("temporary password has expired"));
  const audit::Record* refused = LastAudit("login.failed");
  ASSERT_NE(refused, nullptr);
  EXPECT_EQ(refused->entry.reason, "the temporary password expired");
  // The wrong password still says only that it is wrong: expiry is told to whoever knows it.
  EXPECT_EQ(service_.Login("late.starter", "not the password at all", Purpose::kServiceDelivery, "r")
                .status()
                .message(),
            "the username or password is not right");

  // A new temporary password from an administrator starts its own days.
  const std::string temporary = "green meadow lantern 77";
  ASSERT_TRUE(service_.SetTemporaryPassword(admin_a_, made->id, temporary).ok());
  auto listed = service_.ListUsers(admin_a_, agency_a_);
  ASSERT_TRUE(listed.ok());
  auto it = std::find_if(listed->begin(), listed->end(), [](const User& x) { return x.username == "late.starter"; });
  ASSERT_NE(it, listed->end());
  ASSERT_TRUE(it->password_expires_at.has_value());
  EXPECT_EQ(it->password_expires_at->micros, clock_.Now().micros + int64_t{7} * 24 * 3600 * 1'000'000);
  auto session = service_.Login("late.starter", temporary, Purpose::kServiceDelivery, "r");
  ASSERT_TRUE(session.ok());
  auto auth = service_.AuthenticateSession(session->session_id, "r");
  ASSERT_TRUE(auth.ok());

  // Chosen by its owner, the password has no end.
  ASSERT_TRUE(service_.ChangeOwnPassword(auth->principal, temporary, "a long walk by the harbour").ok());
  EXPECT_FALSE(service_.GetUser(made->id)->password_expires_at.has_value());
  clock_.Advance(400 * 24h);
  EXPECT_TRUE(service_.Login("late.starter", "a long walk by the harbour", Purpose::kServiceDelivery, "r").ok());
}

TEST_F(AccountServiceTest, AnAdministratorSetsRolesThatApplyAtTheNextRequest) {
  auto session = service_.Login("case.a", kPassword, Purpose::kCaseWork, "r");
  ASSERT_TRUE(session.ok());
  EXPECT_EQ(service_.SetRoles(caseworker_a_, caseworker_a_.user, {Role::kAdmin}).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(service_.SetRoles(admin_b_, caseworker_a_.user, {Role::kManager}).code(), StatusCode::kPermissionDenied);
  auto none = service_.SetRoles(admin_a_, caseworker_a_.user, {});
  ASSERT_EQ(none.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(none.fields()[0].field, "roles");
  EXPECT_EQ(service_.SetRoles(admin_a_, admin_a_.user, {Role::kManager}).code(), StatusCode::kFailedPrecondition);

  ASSERT_TRUE(service_.SetRoles(admin_a_, caseworker_a_.user, {Role::kManager, Role::kCaseworker}).ok());
  auto auth = service_.AuthenticateSession(session->session_id, "r");
  ASSERT_TRUE(auth.ok());
  EXPECT_THAT(auth->principal.roles, ElementsAre(Role::kCaseworker, Role::kManager));
  const audit::Record* changed = LastAudit("user.roles_changed");
  ASSERT_NE(changed, nullptr);
  EXPECT_EQ(changed->entry.reason, "roles caseworker became caseworker,manager");
  // The same roles again change nothing and record nothing.
  ASSERT_TRUE(service_.SetRoles(admin_a_, caseworker_a_.user, {Role::kCaseworker, Role::kManager}).ok());
  EXPECT_EQ(CountAudit("user.roles_changed"), 1);
  // An administrator may keep their own admin role while adding another.
  EXPECT_TRUE(service_.SetRoles(admin_a_, admin_a_.user, {Role::kAdmin, Role::kAuditor}).ok());
}

TEST_F(AccountServiceTest, AnAdministratorSeesWhereTheAgencysAccountsAreSignedInAndSignsOneOutEverywhere) {
  auto one = service_.Login("case.a", kPassword, Purpose::kCaseWork, "r");
  clock_.Advance(2min);
  auto two = service_.Login("case.a", kPassword, Purpose::kCaseWork, "r");
  ASSERT_TRUE(one.ok() && two.ok());
  auto listed = service_.ListUsers(admin_a_, agency_a_);
  ASSERT_TRUE(listed.ok());
  for (const User& u : *listed) {
    if (u.username == "case.a") {
      EXPECT_EQ(u.live_sessions, 2);
      ASSERT_TRUE(u.last_seen_at.has_value());
      EXPECT_EQ(u.last_seen_at->micros, clock_.Now().micros);
    } else {
      EXPECT_EQ(u.live_sessions, 0) << u.username;
      EXPECT_FALSE(u.last_seen_at.has_value());
    }
  }
  EXPECT_EQ(service_.EndUserSessions(admin_b_, caseworker_a_.user).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(service_.EndUserSessions(caseworker_a_, caseworker_a_.user).status().code(), StatusCode::kPermissionDenied);
  auto ended = service_.EndUserSessions(admin_a_, caseworker_a_.user);
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(*ended, 2);
  EXPECT_FALSE(service_.AuthenticateSession(one->session_id, "r").ok());
  EXPECT_FALSE(service_.AuthenticateSession(two->session_id, "r").ok());
  const audit::Record* entry = LastAudit("user.sessions_ended");
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->entry.reason, "2 sessions ended by an administrator");
  // The account can sign in again.
  EXPECT_TRUE(service_.Login("case.a", kPassword, Purpose::kCaseWork, "r").ok());
}

// ---- sign-in -------------------------------------------------------------------------

TEST_F(AccountServiceTest, LoginCreatesAHashedSessionAndAuthenticates) {
  auto session = service_.Login("case.a", kPassword, Purpose::kCaseWork, "req-1");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  EXPECT_GE(session->session_id.size(), 40u);
  EXPECT_GE(session->csrf_token.size(), 40u);
  EXPECT_NE(session->session_id, session->csrf_token);
  EXPECT_EQ(session->user.username, "case.a");

  auto stored = Query("SELECT id_hash, purpose, expires_at, last_seen_at FROM sessions");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].Text(0), core::Sha256Hex(session->session_id));
  EXPECT_EQ(stored[0].Text(1), "case_work");
  EXPECT_EQ(stored[0].Int(2), clock_.Now().micros + int64_t{12} * 3600 * 1'000'000);
  EXPECT_EQ(stored[0].Int(3), clock_.Now().micros);

  auto auth = service_.AuthenticateSession(session->session_id, "req-2");
  ASSERT_TRUE(auth.ok()) << auth.status().ToString();
  EXPECT_EQ(auth->csrf_token, session->csrf_token);
  const Principal& p = auth->principal;
  EXPECT_EQ(p.kind, PrincipalKind::kStaff);
  EXPECT_EQ(p.user, caseworker_a_.user);
  EXPECT_EQ(p.agency, agency_a_);
  EXPECT_EQ(p.name, "case.a");
  EXPECT_THAT(p.roles, ElementsAre(Role::kCaseworker));
  EXPECT_EQ(p.purpose, Purpose::kCaseWork);
  EXPECT_EQ(p.request_id, "req-2");
  EXPECT_THAT(p.scopes, IsEmpty());
  EXPECT_FALSE(p.person.has_value());

  const auto* entry = LastAudit("login.succeeded");
  ASSERT_NE(entry, nullptr);
  EXPECT_TRUE(entry->entry.allowed);
  EXPECT_EQ(entry->actor, "case.a");
  EXPECT_EQ(entry->request_id, "req-1");
  EXPECT_EQ(entry->entry.record_type, "session");
}

TEST_F(AccountServiceTest, WrongPasswordAndUnknownUserFailAlike) {
  auto wrong = service_.Login("case.a", "wrong password!", Purpose::kCaseWork, "req-1");
  auto unknown = service_.Login("nobody.here", kPassword, Purpose::kCaseWork, "req-2");
  EXPECT_EQ(wrong.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(unknown.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(wrong.status().message(), "the username or password is not right");
  EXPECT_EQ(unknown.status().message(), wrong.status().message());

  EXPECT_EQ(Query("SELECT COUNT(*) FROM login_failures WHERE username = 'case.a'")[0].Int(0), 1);
  EXPECT_EQ(Query("SELECT COUNT(*) FROM login_failures WHERE username = 'nobody.here'")[0].Int(0), 1);
  EXPECT_TRUE(Query("SELECT * FROM sessions").empty());

  auto entries = AuditEntries();
  std::vector<std::string> failed_actors;
  for (const auto& e : entries) {
    if (e.entry.action != "login.failed") continue;
    EXPECT_FALSE(e.entry.allowed);
    EXPECT_THAT(e.entry.reason, Not(HasSubstr("wrong password!")));
    failed_actors.push_back(e.actor);
  }
  EXPECT_THAT(failed_actors, ElementsAre("case.a", "nobody.here"));
}

TEST_F(AccountServiceTest, SomethingThatIsNotAUsernameIsNotWrittenToTheAuditLog) {
  auto st = service_.Login("My Secret Passphrase", kPassword, Purpose::kCaseWork, "req-1").status();
  EXPECT_EQ(st.code(), StatusCode::kUnauthenticated);
  const auto* entry = LastAudit("login.failed");
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->actor, "(not a username)");
  // Nor kept as a failed sign-in.
  EXPECT_EQ(Query("SELECT COUNT(*) FROM login_failures")[0].Int(0), 0);
}

// Wrong passwords from one address lock the username there only; the owner signs in from
// another. Ten times as many from all addresses together lock it everywhere.
TEST_F(AccountServiceTest, FailedSignInsLockTheirOwnAddressAndManyFromEverywhereLockAll) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(service_.Login("case.a", "wrong password!", Purpose::kCaseWork, "r", "203.0.113.9").status().code(),
              StatusCode::kUnauthenticated);
  }
  auto there = service_.Login("case.a", kPassword, Purpose::kCaseWork, "r", "203.0.113.9");
  EXPECT_EQ(there.status().code(), StatusCode::kResourceExhausted);
  const auto* throttled = LastAudit("login.throttled");
  ASSERT_NE(throttled, nullptr);
  EXPECT_EQ(throttled->entry.reason, "5 failed sign-in attempts from this address in 15 minutes");
  EXPECT_TRUE(service_.Login("case.a", kPassword, Purpose::kCaseWork, "r", "198.51.100.7").ok()) << "the owner, elsewhere";

  // Signing in cleared the failures; now 50 from ten addresses, 5 from each.
  for (int a = 0; a < 10; ++a) {
    for (int i = 0; i < 5; ++i) {
      (void)service_.Login("case.a", "wrong password!", Purpose::kCaseWork, "r", "192.0.2." + std::to_string(a));
    }
  }
  auto everywhere = service_.Login("case.a", kPassword, Purpose::kCaseWork, "r", "198.51.100.7");
  EXPECT_EQ(everywhere.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(LastAudit("login.throttled")->entry.reason, "50 failed sign-in attempts from all addresses in 15 minutes");
  clock_.Advance(15min);
  EXPECT_TRUE(service_.Login("case.a", kPassword, Purpose::kCaseWork, "r", "198.51.100.7").ok());
}

TEST_F(AccountServiceTest, FailedSignInsAreKeptOnlyWhileTheyCount) {
  ASSERT_FALSE(service_.Login("case.a", "wrong password!", Purpose::kCaseWork, "r").ok());
  ASSERT_FALSE(service_.Login("nobody.here", "wrong password!", Purpose::kCaseWork, "r").ok());
  EXPECT_EQ(Query("SELECT COUNT(*) FROM login_failures")[0].Int(0), 2);
  clock_.Advance(15min);  // the window (login_window_minutes)
  ASSERT_FALSE(service_.Login("admin.a", "wrong password!", Purpose::kCaseWork, "r").ok());
  auto kept = Query("SELECT username FROM login_failures");
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].Text(0), "admin.a");
}

TEST_F(AccountServiceTest, LoginIsThrottledAfterMaxFailuresUntilTheWindowPasses) {
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(service_.Login("case.a", "wrong password!", Purpose::kCaseWork, "r").status().code(),
              StatusCode::kUnauthenticated);
  }
  // Even the right password is refused now.
  auto throttled = service_.Login("case.a", kPassword, Purpose::kCaseWork, "r");
  EXPECT_EQ(throttled.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(throttled.status().message(), "too many failed sign-in attempts; try again in 15 minutes");
  const auto* entry = LastAudit("login.throttled");
  ASSERT_NE(entry, nullptr);
  EXPECT_FALSE(entry->entry.allowed);
  EXPECT_EQ(entry->actor, "case.a");
  // A throttled attempt is not itself a failure, so it does not extend the lock.
  EXPECT_EQ(Query("SELECT COUNT(*) FROM login_failures")[0].Int(0), 5);

  clock_.Advance(10min + 30s);
  EXPECT_EQ(service_.Login("case.a", kPassword, Purpose::kCaseWork, "r").status().message(),
            "too many failed sign-in attempts; try again in 5 minutes");
  clock_.Advance(4min);
  EXPECT_EQ(service_.Login("case.a", kPassword, Purpose::kCaseWork, "r").status().message(),
            "too many failed sign-in attempts; try again in 1 minute");
  EXPECT_EQ(CountAudit("login.throttled"), 3);

  clock_.Advance(30s);  // exactly the window after the failures
  auto ok = service_.Login("case.a", kPassword, Purpose::kCaseWork, "r");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  // Success clears the failures.
  EXPECT_EQ(Query("SELECT COUNT(*) FROM login_failures WHERE username = 'case.a'")[0].Int(0), 0);
}

TEST_F(AccountServiceTest, ThrottleCountsOnlyFailuresInsideTheWindow) {
  for (int i = 0; i < 4; ++i) (void)service_.Login("case.a", "wrong password!", Purpose::kCaseWork, "r");
  clock_.Advance(16min);
  for (int i = 0; i < 4; ++i) (void)service_.Login("case.a", "wrong password!", Purpose::kCaseWork, "r");
  EXPECT_TRUE(service_.Login("case.a", kPassword, Purpose::kCaseWork, "r").ok());
}

TEST_F(AccountServiceTest, ThrottleAppliesToUnknownUsernamesToo) {
  for (int i = 0; i < 5; ++i) (void)service_.Login("ghost", kPassword, Purpose::kCaseWork, "r");
  EXPECT_EQ(service_.Login("ghost", kPassword, Purpose::kCaseWork, "r").status().code(),
            StatusCode::kResourceExhausted);
  // Other usernames are unaffected.
  EXPECT_TRUE(service_.Login("case.a", kPassword, Purpose::kCaseWork, "r").ok());
}

TEST_F(AccountServiceTest, SwitchedOffAccountCannotSignInAndLosesItsSessions) {
  auto session = service_.Login("case.a", kPassword, Purpose::kCaseWork, "r");
  ASSERT_TRUE(session.ok());
  ASSERT_TRUE(service_.SetUserActive(admin_a_, caseworker_a_.user, false).ok());
  EXPECT_EQ(service_.AuthenticateSession(session->session_id, "r").status().code(), StatusCode::kUnauthenticated);
  auto again = service_.Login("case.a", kPassword, Purpose::kCaseWork, "r");
  EXPECT_EQ(again.status().code(), StatusCode::kUnauthenticated);
  // A wrong password for a switched-off account says no more than for any account.
  EXPECT_EQ(service_.Login("case.a", "wrong password!", Purpose::kCaseWork, "r").status().message(),
            "the username or password is not right");
}

TEST_F(AccountServiceTest, CitizenSessionsAreForTheirOwnRecord) {
  NewUser nu;
  nu.kind = AccountKind::kCitizen;
  nu.username = "resident.one";
  nu.display_name = "Resident";
  nu.password = kPassword;
  auto citizen = service_.CreateUser(sys_, nu);
  ASSERT_TRUE(citizen.ok()) << citizen.status().ToString();
  auto session = service_.Login("resident.one", kPassword, Purpose::kCaseWork, "r");
  ASSERT_TRUE(session.ok());
  auto auth = service_.AuthenticateSession(session->session_id, "r");
  ASSERT_TRUE(auth.ok());
  EXPECT_EQ(auth->principal.kind, PrincipalKind::kCitizen);
  EXPECT_EQ(auth->principal.purpose, Purpose::kOwnRecord);
  EXPECT_FALSE(auth->principal.agency.valid());
  EXPECT_THAT(auth->principal.roles, IsEmpty());
}

// ---- sessions ------------------------------------------------------------------------

TEST_F(AccountServiceTest, UnknownSessionMustSignInAgain) {
  auto st = service_.AuthenticateSession("not-a-session", "r").status();
  EXPECT_EQ(st.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(st.message(), "sign in again");
  EXPECT_EQ(service_.AuthenticateSession("", "r").status().code(), StatusCode::kUnauthenticated);
}

TEST_F(AccountServiceTest, IdleSessionEnds) {
  auto session = service_.Login("case.a", kPassword, Purpose::kCaseWork, "r");
  ASSERT_TRUE(session.ok());
  clock_.Advance(30min);
  EXPECT_TRUE(service_.AuthenticateSession(session->session_id, "r").ok());  // exactly at the limit
  clock_.Advance(30min + 1s);
  auto st = service_.AuthenticateSession(session->session_id, "r").status();
  EXPECT_EQ(st.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(st.message(), "your session has ended; sign in again");
  EXPECT_TRUE(Query("SELECT * FROM sessions").empty());
  EXPECT_EQ(service_.AuthenticateSession(session->session_id, "r").status().message(), "sign in again");
}

TEST_F(AccountServiceTest, ActivityKeepsASessionAliveUntilItsMaximumAge) {
  auto session = service_.Login("case.a", kPassword, Purpose::kCaseWork, "r");
  ASSERT_TRUE(session.ok());
  for (int i = 0; i < 36; ++i) {  // 36 x 20 min = 12 h
    clock_.Advance(20min);
    ASSERT_TRUE(service_.AuthenticateSession(session->session_id, "r").ok()) << i;
  }
  clock_.Advance(1s);
  auto st = service_.AuthenticateSession(session->session_id, "r").status();
  EXPECT_EQ(st.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(st.message(), "your session has ended; sign in again");
}

TEST_F(AccountServiceTest, LastSeenIsWrittenAtMostOnceAMinute) {
  auto session = service_.Login("case.a", kPassword, Purpose::kCaseWork, "r");
  ASSERT_TRUE(session.ok());
  const int64_t start = clock_.Now().micros;
  auto last_seen = [&] { return Query("SELECT last_seen_at FROM sessions")[0].Int(0); };
  clock_.Advance(59s);
  ASSERT_TRUE(service_.AuthenticateSession(session->session_id, "r").ok());
  EXPECT_EQ(last_seen(), start);
  clock_.Advance(1s);
  ASSERT_TRUE(service_.AuthenticateSession(session->session_id, "r").ok());
  EXPECT_EQ(last_seen(), clock_.Now().micros);
}

TEST_F(AccountServiceTest, LogoutEndsTheSession) {
  auto session = service_.Login("case.a", kPassword, Purpose::kCaseWork, "r");
  ASSERT_TRUE(session.ok());
  EXPECT_TRUE(service_.Logout(session->session_id).ok());
  EXPECT_EQ(service_.AuthenticateSession(session->session_id, "r").status().message(), "sign in again");
  EXPECT_TRUE(service_.Logout(session->session_id).ok());  // twice is harmless
  EXPECT_EQ(CountAudit("logout"), 1);
}

TEST_F(AccountServiceTest, AnAccountSeesItsLiveSessionsAndWhereTheyAreUsedFrom) {
  auto here = service_.Login("case.a", kPassword, Purpose::kCaseWork, "r");
  ASSERT_TRUE(here.ok());
  clock_.Advance(5min);
  auto there = service_.Login("case.a", kPassword, Purpose::kCaseWork, "r");
  ASSERT_TRUE(there.ok());
  auto admins = service_.Login("admin.a", kPassword, Purpose::kAdministration, "r");
  ASSERT_TRUE(admins.ok());
  // Where a session is used from is written on its first use, then with the once-a-minute write.
  const std::string firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
  auto auth = service_.AuthenticateSession(here->session_id, "r", {"203.0.113.7", firefox});
  ASSERT_TRUE(auth.ok());
  ASSERT_TRUE(service_.AuthenticateSession(there->session_id, "r", {"198.51.100.2", std::string(400, 'x') + "\n"}).ok());
  clock_.Advance(30s);
  ASSERT_TRUE(service_.AuthenticateSession(here->session_id, "r", {"203.0.113.99", firefox}).ok());

  auto list = service_.ListOwnSessions(auth->principal, here->session_id);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);  // not the administrator's
  const SessionInfo& mine = (*list)[0];
  EXPECT_TRUE(mine.current);
  EXPECT_EQ(mine.ref, core::Sha256Hex(here->session_id).substr(0, 16));
  EXPECT_EQ(mine.client_address, "203.0.113.7");  // the next write is due a minute after the last
  EXPECT_EQ(mine.user_agent, firefox);
  EXPECT_EQ(mine.purpose, Purpose::kCaseWork);
  EXPECT_EQ(mine.expires_at.micros, mine.created_at.micros + 12 * 3600 * int64_t{1'000'000});
  const SessionInfo& other = (*list)[1];
  EXPECT_FALSE(other.current);
  EXPECT_EQ(other.client_address, "198.51.100.2");
  EXPECT_EQ(other.user_agent, std::string(256, 'x'));  // kept to 256 printable characters

  clock_.Advance(31s);
  ASSERT_TRUE(service_.AuthenticateSession(here->session_id, "r", {"203.0.113.99", firefox}).ok());
  list = service_.ListOwnSessions(auth->principal, here->session_id);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ((*list)[0].client_address, "203.0.113.99");
  // Reading one's own sessions is not an audited read of anyone's data.
  EXPECT_EQ(CountAudit("session.ended"), 0);

  // An idle session is no longer listed.
  clock_.Advance(31min);
  ASSERT_TRUE(service_.AuthenticateSession(here->session_id, "r").status().code() == StatusCode::kUnauthenticated);
  auto again = service_.Login("case.a", kPassword, Purpose::kCaseWork, "r");
  ASSERT_TRUE(again.ok());
  auto fresh = service_.AuthenticateSession(again->session_id, "r");
  ASSERT_TRUE(fresh.ok());
  list = service_.ListOwnSessions(fresh->principal, again->session_id);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
  // Signing in took away the sessions that had ended, of every account, with where they were used.
  EXPECT_EQ(Query("SELECT COUNT(*) FROM sessions")[0].Int(0), 1);
}

TEST_F(AccountServiceTest, AnAccountEndsOneOfItsOtherSessionsOrAllOfThem) {
  std::vector<NewSession> sessions;
  for (int i = 0; i < 4; ++i) {
    auto s = service_.Login("case.a", kPassword, Purpose::kCaseWork, "r");
    ASSERT_TRUE(s.ok());
    sessions.push_back(*s);
  }
  auto admins = service_.Login("admin.a", kPassword, Purpose::kAdministration, "r");
  ASSERT_TRUE(admins.ok());
  auto auth = service_.AuthenticateSession(sessions[0].session_id, "r");
  ASSERT_TRUE(auth.ok());
  const Principal& me = auth->principal;
  auto ref = [](const NewSession& s) { return core::Sha256Hex(s.session_id).substr(0, 16); };

  // Another account's session, an unknown one and a malformed one are not there to end.
  for (const std::string& r : {ref(*admins), std::string("0123456789abcdef"), std::string("' OR 1=1 --")}) {
    auto st = service_.EndOwnSession(me, r, sessions[0].session_id);
    EXPECT_EQ(st.code(), StatusCode::kNotFound) << r;
  }
  EXPECT_TRUE(service_.AuthenticateSession(admins->session_id, "r").ok());
  // The session asking is ended by signing out.
  EXPECT_EQ(service_.EndOwnSession(me, ref(sessions[0]), sessions[0].session_id).code(),
            StatusCode::kFailedPrecondition);

  ASSERT_TRUE(service_.EndOwnSession(me, ref(sessions[1]), sessions[0].session_id).ok());
  EXPECT_EQ(service_.AuthenticateSession(sessions[1].session_id, "r").status().code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(service_.AuthenticateSession(sessions[2].session_id, "r").ok());
  const audit::Record* ended = LastAudit("session.ended");
  ASSERT_NE(ended, nullptr);
  EXPECT_EQ(ended->entry.record_id, ref(sessions[1]));
  EXPECT_EQ(ended->actor, "case.a");
  EXPECT_EQ(service_.EndOwnSession(me, ref(sessions[1]), sessions[0].session_id).code(), StatusCode::kNotFound);

  auto n = service_.EndOtherSessions(me, sessions[0].session_id);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2);
  for (int i = 1; i < 4; ++i) {
    EXPECT_EQ(service_.AuthenticateSession(sessions[i].session_id, "r").status().code(), StatusCode::kUnauthenticated);
  }
  EXPECT_TRUE(service_.AuthenticateSession(sessions[0].session_id, "r").ok());
  EXPECT_TRUE(service_.AuthenticateSession(admins->session_id, "r").ok());
  EXPECT_EQ(CountAudit("session.ended_others"), 1);
  n = service_.EndOtherSessions(me, sessions[0].session_id);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
  EXPECT_EQ(CountAudit("session.ended_others"), 1);  // nothing ended, nothing recorded

  // A principal from an API token has no sessions.
  Principal token = me;
  token.token = core::ApiTokenId{1};
  EXPECT_EQ(service_.ListOwnSessions(token, "").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_.EndOtherSessions(token, "").status().code(), StatusCode::kFailedPrecondition);
}

// ---- API tokens ----------------------------------------------------------------------

TEST_F(AccountServiceTest, IssuedTokenAuthenticatesAndIsStoredHashed) {
  auto issued = service_.IssueToken(admin_a_, "case system", {Role::kCaseworker, Role::kFrontdesk},
                                    {"persons:read", "households:read"});
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  EXPECT_EQ(issued->secret.rfind("od_", 0), 0u);
  EXPECT_GE(issued->secret.size(), 40u);
  EXPECT_EQ(issued->token.agency, agency_a_);
  EXPECT_THAT(issued->token.roles, ElementsAre(Role::kFrontdesk, Role::kCaseworker));

  auto stored = Query("SELECT token_hash, roles, scopes, created_by FROM api_tokens WHERE id = ?",
                      {issued->token.id.value});
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].Text(0), core::Sha256Hex(issued->secret));
  EXPECT_EQ(stored[0].Text(1), "frontdesk,caseworker");
  EXPECT_EQ(stored[0].Text(2), "persons:read,households:read");
  EXPECT_EQ(stored[0].Int(3), admin_a_.user.value);

  auto p = service_.AuthenticateToken(issued->secret, Purpose::kEligibility, "req-9");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->kind, PrincipalKind::kSystem);
  EXPECT_EQ(p->token, issued->token.id);
  EXPECT_FALSE(p->user.valid());
  EXPECT_EQ(p->agency, agency_a_);
  EXPECT_EQ(p->name, "case system");
  EXPECT_THAT(p->roles, ElementsAre(Role::kFrontdesk, Role::kCaseworker));
  EXPECT_THAT(p->scopes, ElementsAre("persons:read", "households:read"));
  EXPECT_EQ(p->purpose, Purpose::kEligibility);
  EXPECT_EQ(p->request_id, "req-9");
  EXPECT_TRUE(p->HasScope("persons:read"));
  EXPECT_FALSE(p->HasScope("persons:write"));

  const auto* entry = LastAudit("token.issued");
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->entry.record_type, "api_token");
  EXPECT_EQ(entry->entry.record_id, std::to_string(issued->token.id.value));
  EXPECT_THAT(entry->entry.reason, Not(HasSubstr(issued->secret)));
}

TEST_F(AccountServiceTest, UnknownOrMalformedTokensAreUnauthenticated) {
  for (const std::string bad : {"", "od_", "od_nothing-like-this", "Bearer abc", "xx_abc"}) {
    auto st = service_.AuthenticateToken(bad, Purpose::kServiceDelivery, "r").status();
    EXPECT_EQ(st.code(), StatusCode::kUnauthenticated) << bad;
    EXPECT_EQ(st.message(), "the API token is not valid") << bad;
  }
}

TEST_F(AccountServiceTest, RevokedTokenNoLongerAuthenticates) {
  auto issued = service_.IssueToken(admin_a_, "feed", {Role::kCaseworker}, {"persons:read"});
  ASSERT_TRUE(issued.ok());
  auto other = service_.RevokeToken(admin_b_, issued->token.id);
  EXPECT_EQ(other.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(other.message(), "an administrator may revoke API tokens only in their own agency");
  ASSERT_NE(LastAudit("token.revoke"), nullptr);
  EXPECT_FALSE(LastAudit("token.revoke")->entry.allowed);
  EXPECT_EQ(service_.RevokeToken(caseworker_a_, issued->token.id).code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(service_.AuthenticateToken(issued->secret, Purpose::kServiceDelivery, "r").ok());

  clock_.Advance(5s);
  ASSERT_TRUE(service_.RevokeToken(admin_a_, issued->token.id).ok());
  auto st = service_.AuthenticateToken(issued->secret, Purpose::kServiceDelivery, "r").status();
  EXPECT_EQ(st.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(st.message(), "the API token was revoked");
  ASSERT_NE(LastAudit("token.revoked"), nullptr);

  auto list = service_.ListTokens(admin_a_);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  ASSERT_TRUE((*list)[0].revoked_at.has_value());
  EXPECT_EQ((*list)[0].revoked_at->micros, clock_.Now().micros);

  EXPECT_TRUE(service_.RevokeToken(admin_a_, issued->token.id).ok());  // again: no change
  EXPECT_EQ(CountAudit("token.revoked"), 1);
  EXPECT_EQ(service_.RevokeToken(admin_a_, core::ApiTokenId{999}).code(), StatusCode::kNotFound);
}

// A token is valid for the days it was issued for (365 unless said), then authenticates nothing.
TEST_F(AccountServiceTest, ATokenExpiresAfterItsDays) {
  auto issued = service_.IssueToken(admin_a_, "feed", {Role::kCaseworker}, {"persons:read"}, 30);
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  ASSERT_TRUE(issued->token.expires_at.has_value());
  EXPECT_EQ(issued->token.expires_at->micros, clock_.Now().micros + int64_t{30} * 86'400'000'000);
  clock_.Advance(std::chrono::hours(24 * 30) - 1s);
  EXPECT_TRUE(service_.AuthenticateToken(issued->secret, Purpose::kServiceDelivery, "r").ok());
  clock_.Advance(1s);
  auto st = service_.AuthenticateToken(issued->secret, Purpose::kServiceDelivery, "r").status();
  EXPECT_EQ(st.code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(st.message(), testing::StartsWith("the API token expired on "));
  auto list = service_.ListTokens(admin_a_);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].expires_at, issued->token.expires_at);

  auto year = service_.IssueToken(admin_a_, "default", {Role::kCaseworker}, {"persons:read"});
  ASSERT_TRUE(year.ok());
  EXPECT_EQ(year->token.expires_at->micros - year->token.created_at.micros, int64_t{365} * 86'400'000'000);
  for (int days : {0, 731}) {
    EXPECT_THAT(FieldNames(service_.IssueToken(admin_a_, "x", {Role::kCaseworker}, {"persons:read"}, days).status()),
                ElementsAre("expires_in_days"));
  }
}

TEST_F(AccountServiceTest, IssueTokenValidatesNameRolesAndScopes) {
  auto st = service_.IssueToken(admin_a_, "", {}, {"persons:read", "persons:delete", "audit:read", "x"}).status();
  ASSERT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldNames(st), ElementsAre("name", "roles", "scopes/1", "scopes/3"));

  st = service_.IssueToken(admin_a_, std::string(101, 'n'), {Role::kCaseworker}, {}).status();
  EXPECT_THAT(FieldNames(st), ElementsAre("name", "scopes"));

  EXPECT_TRUE(service_.IssueToken(admin_a_, std::string(100, 'n'), {Role::kCaseworker}, KnownScopes()).ok());
}

// A token may have a request limit of its own: an administrator may set one lower than the
// deployment's (6000 here, the default), an operator any, 0 for none. The principal the token
// authenticates as carries it; changes are audited.
TEST_F(AccountServiceTest, ATokenHasARequestLimitOfItsOwnOnlyBelowTheDeploymentsUnlessAnOperatorSetsIt) {
  auto issued = service_.IssueToken(admin_a_, "feed", {Role::kCaseworker}, {"persons:read"}, 365, 120);
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  EXPECT_EQ(issued->token.requests_per_minute, 120);
  EXPECT_THAT(LastAudit("token.issued")->entry.reason, testing::EndsWith("; at most 120 requests a minute"));
  auto who = service_.AuthenticateToken(issued->secret, Purpose::kServiceDelivery, "r");
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->requests_per_minute, 120);

  for (int64_t wrong : {int64_t{0}, int64_t{-1}, int64_t{6001}, int64_t{1} << 40}) {
    EXPECT_THAT(FieldNames(service_.IssueToken(admin_a_, "x", {Role::kCaseworker}, {"persons:read"}, 365, wrong)
                               .status()),
                ElementsAre("requests_per_minute"))
        << wrong;
    auto st = service_.SetTokenLimit(admin_a_, issued->token.id, wrong).status();
    EXPECT_THAT(FieldNames(st), ElementsAre("requests_per_minute")) << wrong;
  }
  EXPECT_EQ(service_.SetTokenLimit(admin_a_, issued->token.id, 7000).status().fields()[0].message,
            "must be from 1 to 6000 requests a minute: a token may have a lower limit than the deployment's, not a "
            "higher one");
  EXPECT_EQ(Query("SELECT requests_per_minute FROM api_tokens")[0].Int(0), 120) << "nothing was changed";

  auto changed = service_.SetTokenLimit(admin_a_, issued->token.id, 6000);
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_EQ(changed->requests_per_minute, 6000);
  EXPECT_EQ(LastAudit("token.limit_changed")->entry.reason, "at most 6000 requests a minute");
  changed = service_.SetTokenLimit(admin_a_, issued->token.id, std::nullopt);
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(changed->requests_per_minute.has_value());
  EXPECT_EQ(LastAudit("token.limit_changed")->entry.reason, "the deployment's request limit");
  who = service_.AuthenticateToken(issued->secret, Purpose::kServiceDelivery, "r");
  ASSERT_TRUE(who.ok());
  EXPECT_FALSE(who->requests_per_minute.has_value());

  // An operator (a system principal, at the command line) may raise it, or take it away.
  changed = service_.SetTokenLimit(sys_, issued->token.id, 50'000);
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_EQ(changed->requests_per_minute, 50'000);
  changed = service_.SetTokenLimit(sys_, issued->token.id, 0);
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->requests_per_minute, 0);
  EXPECT_EQ(LastAudit("token.limit_changed")->entry.reason, "no request limit");
  EXPECT_EQ(service_.AuthenticateToken(issued->secret, Purpose::kServiceDelivery, "r")->requests_per_minute, 0);
  EXPECT_THAT(FieldNames(service_.SetTokenLimit(sys_, issued->token.id, -5).status()),
              ElementsAre("requests_per_minute"));
  auto listed = service_.ListTokens(admin_a_);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ((*listed)[0].requests_per_minute, 0);
}

TEST_F(AccountServiceTest, OnlyTheTokensOwnAdministratorsChangeItsLimit) {
  auto issued = service_.IssueToken(admin_a_, "feed", {Role::kCaseworker}, {"persons:read"});
  ASSERT_TRUE(issued.ok());
  auto other = service_.SetTokenLimit(admin_b_, issued->token.id, 10);
  EXPECT_EQ(other.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(other.status().message(), "an administrator may change API tokens only in their own agency");
  ASSERT_NE(LastAudit("token.limit"), nullptr);
  EXPECT_FALSE(LastAudit("token.limit")->entry.allowed);
  EXPECT_EQ(service_.SetTokenLimit(caseworker_a_, issued->token.id, 10).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(service_.SetTokenLimit(admin_a_, core::ApiTokenId{999}, 10).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Query("SELECT requests_per_minute FROM api_tokens")[0].IsNull(0));
  EXPECT_EQ(CountAudit("token.limit_changed"), 0);
}

TEST_F(AccountServiceTest, IssueTokenNeedsAnAdminOfAnAgency) {
  auto st = service_.IssueToken(caseworker_a_, "mine", {Role::kCaseworker}, {"persons:read"}).status();
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied);
  const auto* entry = LastAudit("token.issue");
  ASSERT_NE(entry, nullptr);
  EXPECT_FALSE(entry->entry.allowed);
  EXPECT_EQ(service_.ListTokens(caseworker_a_).status().code(), StatusCode::kPermissionDenied);
  // The system principal belongs to no agency, so it cannot say whose token it would be.
  EXPECT_EQ(service_.IssueToken(sys_, "sys", {Role::kCaseworker}, {"persons:read"}).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(AccountServiceTest, TokensAreListedPerAgency) {
  ASSERT_TRUE(service_.IssueToken(admin_a_, "a1", {Role::kCaseworker}, {"persons:read"}).ok());
  ASSERT_TRUE(service_.IssueToken(admin_b_, "b1", {Role::kCaseworker}, {"persons:read"}).ok());
  auto a = service_.ListTokens(admin_a_);
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->size(), 1u);
  EXPECT_EQ((*a)[0].name, "a1");
  auto all = service_.ListTokens(sys_);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
}

TEST_F(AccountServiceTest, TokenUseIsRecordedAtMostOnceAMinute) {
  auto issued = service_.IssueToken(admin_a_, "feed", {Role::kCaseworker}, {"persons:read"});
  ASSERT_TRUE(issued.ok());
  auto last_used = [&] { return Query("SELECT last_used_at FROM api_tokens")[0].OptInt(0); };
  EXPECT_FALSE(last_used().has_value());
  const int64_t first = clock_.Now().micros;
  ASSERT_TRUE(service_.AuthenticateToken(issued->secret, Purpose::kServiceDelivery, "r").ok());
  EXPECT_EQ(last_used(), first);
  clock_.Advance(59s);
  ASSERT_TRUE(service_.AuthenticateToken(issued->secret, Purpose::kServiceDelivery, "r").ok());
  EXPECT_EQ(last_used(), first);
  clock_.Advance(1s);
  ASSERT_TRUE(service_.AuthenticateToken(issued->secret, Purpose::kServiceDelivery, "r").ok());
  EXPECT_EQ(last_used(), clock_.Now().micros);
}

// ---- the audit chain -----------------------------------------------------------------

TEST_F(AccountServiceTest, AuditChainStaysValidThroughRefusalsAndFailures) {
  (void)service_.CreateUser(caseworker_a_, StaffUser(agency_a_, "new.one", {Role::kFrontdesk}));
  (void)service_.Login("case.a", "wrong password!", Purpose::kCaseWork, "r");
  (void)service_.Login("case.a", kPassword, Purpose::kCaseWork, "r");
  auto report = audit::AuditLog::Verify(*db_);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->entries, 8);  // 5 from SetUp, then the refusal, the failure and the success
}

}  // namespace
}  // namespace accounts
