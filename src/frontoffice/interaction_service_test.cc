#include "frontoffice/interaction_service.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "storage/migrations.h"
#include "storage/postgres/postgres_database.h"
#include "storage/schema.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/testing.h"

namespace frontoffice {
namespace {

using core::Status;
using core::StatusCode;
using ::testing::HasSubstr;

const auto* const kPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new testing_support::PostgresEnvironment);

// Agency 1 holds every person; agency 2 has an agreement for the "contacts" category; agency 3
// has none.
class FakeFacts : public authz::PersonFactsSource {
 public:
  explicit FakeFacts(const authz::DataCategories& categories) : categories_(categories) {}
  core::StatusOr<authz::PersonFacts> Facts_(const authz::Principal& who) const {
    authz::PersonFacts f;
    f.holds = who.agency.value == 1;
    for (const auto& c : categories_.categories()) {
      authz::CategoryFacts cf;
      if (who.agency.value == 2 && c.id == "contacts") cf.agreement = 7;
      f.categories.push_back(cf);
    }
    return f;
  }
  core::StatusOr<authz::PersonFacts> Facts(storage::Transaction*, const authz::Principal& who,
                                           core::PersonId) const override {
    return Facts_(who);
  }

 private:
  const authz::DataCategories& categories_;
};

authz::Principal Staff(int64_t user, int64_t agency, authz::Role role, const std::string& name) {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kStaff;
  p.user = core::UserId{user};
  p.agency = core::AgencyId{agency};
  p.name = name;
  p.roles = {role};
  p.purpose = authz::Purpose::kServiceDelivery;
  return p;
}

class InteractionServiceTest : public ::testing::TestWithParam<std::string> {
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
    ASSERT_TRUE(db_->Write([](storage::Transaction& tx) -> Status {
                     for (const char* code : {"city", "state", "trust"}) {
                       RETURN_IF_ERROR(tx.Execute("INSERT INTO agencies (code, name, kind, created_at) VALUES (?, ?, "
                                                  "'government', 0)",
                                                  {std::string(code), std::string(code) + " agency"})
                                           .status());
                     }
                     for (int u : {1, 2, 3}) {
                       RETURN_IF_ERROR(tx.Execute("INSERT INTO users (kind, username, display_name, password_hash, "
                                                  "agency_id, created_at, updated_at) VALUES ('staff', ?, ?, 'x', ?, 0, 0)",
                                                  {fmt::format("user{}", u), fmt::format("User {}", u),
                                                   static_cast<int64_t>(u)})
                                           .status());
                     }
                     RETURN_IF_ERROR(tx.Execute("INSERT INTO offices (agency_id, name, address, created_at) VALUES "
                                                "(1, 'One-stop centre', '1 Main St', 0)")
                                         .status());
                     RETURN_IF_ERROR(tx.Execute("INSERT INTO persons (version, display_name, doc, created_at, updated_at, "
                                                "created_by, created_agency) VALUES (1, 'P', '{}', 0, 0, 1, 1)")
                                         .status());
                     return Status::Ok();
                   })
                    .ok());
    service_ = std::make_unique<InteractionService>(*db_, categories_, gate_, audit_, outbox_, clock_);
  }

  int64_t Count(const std::string& sql) {
    int64_t n = -1;
    EXPECT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                     ASSIGN_OR_RETURN(storage::Rows rows, tx.Query(sql));
                     n = rows.at(0).Int(0);
                     return Status::Ok();
                   })
                    .ok());
    return n;
  }

  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_;
  core::FakeClock clock_;
  audit::AuditLog audit_{clock_};
  exchange::Outbox outbox_{clock_};
  const authz::DataCategories& categories_ = authz::DataCategories::Builtin();
  FakeFacts facts_{categories_};
  authz::AccessGate gate_{categories_, facts_};
  std::unique_ptr<InteractionService> service_;
  const core::PersonId person_{1};
  const authz::Principal desk_ = Staff(1, 1, authz::Role::kFrontdesk, "frontdesk.city");
  const authz::Principal state_ = Staff(2, 2, authz::Role::kCaseworker, "caseworker.state");
  const authz::Principal trust_ = Staff(3, 3, authz::Role::kCaseworker, "caseworker.trust");
};

TEST_P(InteractionServiceTest, AContactIsRecordedAndOtherAgenciesSeeWhereThePersonHasBeenButNotTheNote) {
  auto rec = service_->Record(desk_, {person_, 1, "desk", "Rent arrears", "", "referred", 12, "Worried about eviction."});
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  EXPECT_EQ(rec->interaction.office_name, "One-stop centre");
  EXPECT_EQ(rec->interaction.duration_seconds, 720);
  EXPECT_EQ(rec->interaction.note, "Worried about eviction.");
  EXPECT_GE(rec->feedback_token.size(), 20u);  // 16 random bytes, URL-safe
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE type = 'interaction.recorded'"), 1);

  // The state, under an agreement for contacts, sees the contact without its note.
  auto seen = service_->ForPerson(state_, person_);
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  ASSERT_EQ(seen->items.size(), 1u);
  EXPECT_EQ(seen->items[0].topic, "Rent arrears");
  EXPECT_EQ(seen->items[0].agency_name, "city agency");
  EXPECT_FALSE(seen->items[0].own);
  EXPECT_EQ(seen->items[0].note, "");
  // The city sees its note.
  auto own = service_->ForPerson(desk_, person_);
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->items[0].note, "Worried about eviction.");
  // The trust has no agreement: the person's contacts are withheld, and it cannot add one.
  auto trust = service_->ForPerson(trust_, person_);
  ASSERT_EQ(trust.status().code(), StatusCode::kPermissionDenied);
  auto refused = service_->Record(trust_, {person_, std::nullopt, "phone", "Food", "", "resolved", 5, ""});
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  EXPECT_GE(Count("SELECT COUNT(*) FROM audit_log WHERE allowed = 0 AND action LIKE 'interaction.%'"), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'interaction.list' AND allowed = 1"), 2);
}

TEST_P(InteractionServiceTest, BadFieldsAreNamedAndNothingIsWritten) {
  auto r = service_->Record(desk_, {person_, 99, "pigeon", "", "", "maybe", 900, std::string(2001, 'x')});
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const auto& f : r.status().fields()) fields.push_back(f.field);
  EXPECT_THAT(fields, ::testing::UnorderedElementsAre("channel", "outcome", "topic", "note", "duration_minutes",
                                                      "office_id"));
  EXPECT_EQ(service_->Record(desk_, {person_, std::nullopt, "desk", "x", "no-such-service", "resolved", {}, ""})
                .status()
                .fields()
                .at(0)
                .field,
            "service_id");
  EXPECT_EQ(service_->Record(desk_, {core::PersonId{42}, std::nullopt, "desk", "x", "", "resolved", {}, ""})
                .status()
                .code(),
            StatusCode::kNotFound);
  authz::Principal admin = Staff(9, 1, authz::Role::kAdmin, "admin.city");
  EXPECT_EQ(service_->Record(admin, {std::nullopt, std::nullopt, "desk", "x", "", "resolved", {}, ""}).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM interactions"), 0);
}

TEST_P(InteractionServiceTest, AnAnonymousEnquiryCountsInTheAgencysDay) {
  ASSERT_TRUE(service_->Record(desk_, {std::nullopt, 1, "phone", "Opening hours", "", "resolved", 2, "n"}).ok());
  ASSERT_TRUE(service_->Record(desk_, {person_, 1, "desk", "Rent", "", "follow_up", {}, "n"}).ok());
  auto day = service_->AgencyDay(desk_, clock_.Now().UtcDate());
  ASSERT_TRUE(day.ok()) << day.status().ToString();
  ASSERT_EQ(day->size(), 2u);
  EXPECT_TRUE(day->at(0).note.empty());  // notes stay on the person's page
  auto other = service_->AgencyDay(state_, clock_.Now().UtcDate());
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->empty());
}

TEST_P(InteractionServiceTest, AContactAboutTheSameTopicWithin30DaysIsARepeat) {
  ASSERT_TRUE(service_->Record(desk_, {person_, 1, "desk", "Rent", "", "follow_up", {}, ""}).ok());
  clock_.Advance(std::chrono::hours(24 * 10));
  ASSERT_TRUE(service_->Record(desk_, {person_, 1, "phone", "Rent", "", "resolved", {}, ""}).ok());   // repeat
  ASSERT_TRUE(service_->Record(desk_, {person_, 1, "phone", "Food", "", "resolved", {}, ""}).ok());   // new topic
  ASSERT_TRUE(service_->Record(state_, {person_, std::nullopt, "desk", "Rent", "", "resolved", {}, ""}).ok());  // other agency
  ASSERT_TRUE(service_->Record(desk_, {std::nullopt, 1, "desk", "Rent", "", "resolved", {}, ""}).ok());  // nobody known
  clock_.Advance(std::chrono::hours(24 * 31));
  ASSERT_TRUE(service_->Record(desk_, {person_, 1, "desk", "Food", "", "resolved", {}, ""}).ok());  // 31 days on
  EXPECT_EQ(Count("SELECT COUNT(*) FROM interactions WHERE repeat_contact = 1"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM interactions WHERE repeat_contact = 1 AND topic = 'Rent' AND channel = 'phone'"), 1);
}

TEST_P(InteractionServiceTest, TheSameContactSentTwiceAtOnceIsRecordedOnce) {
  const NewInteraction visit{person_, 1,          "desk", "Rent arrears",
                             "",      "resolved", 12,     "Paid the arrears."};
  ASSERT_TRUE(service_->Record(desk_, visit).ok());
  auto twice = service_->Record(desk_, visit);
  EXPECT_EQ(twice.status().code(), StatusCode::kAlreadyExists);
  // Anyone else, anything else, or later, is another contact; so is a visit by nobody known.
  ASSERT_TRUE(service_
                  ->Record(state_, {person_, std::nullopt, "desk", "Rent arrears", "", "resolved",
                                    12, "Paid the arrears."})
                  .ok());
  NewInteraction longer = visit;
  longer.duration_minutes = 13;
  ASSERT_TRUE(service_->Record(desk_, longer).ok());
  const NewInteraction walk_in{std::nullopt, 1, "desk", "Bus pass", "", "resolved", {}, ""};
  ASSERT_TRUE(service_->Record(desk_, walk_in).ok());
  ASSERT_TRUE(service_->Record(desk_, walk_in).ok());
  clock_.Advance(std::chrono::minutes(3));
  ASSERT_TRUE(service_->Record(desk_, visit).ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM interactions"), 6);
}

TEST_P(InteractionServiceTest, WhatTheCallerCouldNotReadIsNamedWithTheRest) {
  auto r = service_->Record(desk_, {person_, 1, "", "", "", "", {}, ""},
                            {{"duration_minutes", "not a number"}});
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const auto& f : r.status().fields()) fields.push_back(f.field);
  EXPECT_THAT(fields, ::testing::ElementsAre("duration_minutes", "channel", "outcome", "topic"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM interactions"), 0);
}

TEST_P(InteractionServiceTest, ThePersonRatesTheContactOnceByItsLink) {
  auto rec = service_->Record(desk_, {person_, 1, "desk", "Benefits", "", "resolved", 10, ""});
  ASSERT_TRUE(rec.ok());
  auto about = service_->FeedbackFor(rec->feedback_token);
  ASSERT_TRUE(about.ok()) << about.status().ToString();
  EXPECT_EQ(about->topic, "Benefits");
  EXPECT_EQ(service_->Feedback(rec->feedback_token, 6, "").code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(service_->Feedback(rec->feedback_token, 5, "Quick and kind.").ok());
  EXPECT_EQ(service_->Feedback(rec->feedback_token, 4, "").code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->FeedbackFor("not-a-token").status().code(), StatusCode::kNotFound);
  auto own = service_->ForPerson(desk_, person_);
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->items[0].satisfaction, 5);
  EXPECT_EQ(own->items[0].satisfaction_comment, "Quick and kind.");
  auto seen = service_->ForPerson(state_, person_);
  EXPECT_EQ(seen->items[0].satisfaction_comment, "");
  // A link older than 30 days no longer works.
  auto old = service_->Record(desk_, {person_, 1, "desk", "Old", "", "resolved", 10, ""});
  ASSERT_TRUE(old.ok());
  clock_.Advance(std::chrono::hours(24 * 31));  // NOLINT
  EXPECT_EQ(service_->Feedback(old->feedback_token, 3, "").code(), StatusCode::kNotFound);
  // Staff can enter a survey's rating for their own agency's contact.
  auto rated = service_->Rate(desk_, old->interaction.id, 3, "Paper survey");
  ASSERT_TRUE(rated.ok()) << rated.status().ToString();
  EXPECT_EQ(rated->satisfaction, 3);
  EXPECT_EQ(service_->Rate(state_, old->interaction.id, 3, "").status().code(), StatusCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Databases, InteractionServiceTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace frontoffice
