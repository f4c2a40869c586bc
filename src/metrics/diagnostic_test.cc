#include "metrics/diagnostic.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/postgres_cluster.h"
#include "tests/testing/testing.h"

namespace metrics {
namespace {

using core::StatusCode;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const auto* const kPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new testing_support::PostgresEnvironment);

// Every challenge rated `challenge` and every facility `facility`, area by area when given.
DiagnosticAnswers Answers(int range, int frequency, int nature, int expertise, int challenge, int facility,
                          std::map<std::string, std::pair<int, int>> per_area = {}) {
  DiagnosticAnswers a;
  a.complexity = {{"range", range}, {"frequency", frequency}, {"nature", nature}, {"expertise", expertise}};
  for (const auto& s : ChangeStatements()) {
    auto it = per_area.find(s.area);
    const auto [c, f] = it == per_area.end() ? std::pair{challenge, facility} : it->second;
    a.ratings[s.key] = s.challenge ? c : f;
  }
  return a;
}

TEST(DiagnosticTest, AccessWashingtonIsACollaborativeCustomerInterface) {
  // A portal giving information and signposting for a broad range of services: "the level of
  // complexity is low".
  const Assessment a = Assess(Answers(2, 2, 1, 1, 2, 3));
  EXPECT_EQ(a.model.key, "interface");
  EXPECT_EQ(a.model.name, "Collaborative customer interface");
  EXPECT_DOUBLE_EQ(a.complexity, 1.5);
  ASSERT_TRUE(a.also.has_value());
  EXPECT_EQ(a.also->key, "information");
  EXPECT_EQ(a.reasoning.front(),
            "Range of need: A broad range of simple needs: information and transactions from many services (2 of 4).");
  EXPECT_THAT(a.reasoning, Contains(HasSubstr("one shared front door")));
}

TEST(DiagnosticTest, StrengtheningFamiliesIsNetworkedDelivery) {
  // Families with multiple, complex needs, served over time by professionals of many agencies.
  const Assessment a = Assess(Answers(4, 4, 4, 4, 3, 2));
  EXPECT_EQ(a.model.key, "networked");
  EXPECT_FALSE(a.also.has_value());
  EXPECT_THAT(a.reasoning.back(), HasSubstr("no single team can hold every expertise"));
}

TEST(DiagnosticTest, TamesideIsJointDeliveryInOneQuickStep) {
  // A complex need but very specific tasks, low challenges and a strong facility for change.
  const Assessment a = Assess(Answers(3, 2, 3, 4, 1, 4));
  EXPECT_EQ(a.model.key, "joint");
  EXPECT_EQ(a.journey, "transformational");
  EXPECT_EQ(a.pace, "quick");
  for (const auto& p : a.areas) {
    EXPECT_EQ(p.balance, "ready") << p.area;
    EXPECT_DOUBLE_EQ(p.challenge, 1);
    EXPECT_DOUBLE_EQ(p.facility, 4);
  }
  // Every rung up to joint delivery is switched on.
  EXPECT_EQ(a.modules.size(), 13u);
  EXPECT_EQ(a.modules.back(), "Service targets and the monthly scorecard");
}

TEST(DiagnosticTest, NavIsJointDeliveryAtAMeasuredPace) {
  // Facility a little above the challenge in every area: core changes first, then the rest.
  const Assessment a = Assess(Answers(3, 3, 3, 3, 3, 3));
  EXPECT_EQ(a.model.key, "joint");
  EXPECT_EQ(a.journey, "transformational");
  EXPECT_EQ(a.pace, "measured");
}

TEST(DiagnosticTest, HhsConnectStartsWithInformationAndAssessment) {
  // Complex needs, but a challenge greater than the facility to manage change in governance and
  // information sharing: an evolutionary journey whose first rung is sharing information.
  const Assessment a = Assess(Answers(4, 3, 4, 3, 2, 3, {{"governance", {4, 2}}, {"information", {4, 3}}}));
  EXPECT_EQ(a.model.key, "networked");
  EXPECT_EQ(a.journey, "evolutionary");
  EXPECT_EQ(a.pace, "");
  ASSERT_EQ(a.areas.size(), 4u);
  EXPECT_EQ(a.areas[0].balance, "gap");
  EXPECT_EQ(a.areas[0].summary, "High challenge, fairly low facility to manage change: a gap to close before the change");
  EXPECT_EQ(a.areas[1].balance, "ready");
  EXPECT_EQ(a.areas[3].balance, "gap");
  EXPECT_THAT(a.journey_reasoning.front(), HasSubstr("In Governance and Information sharing the challenge is greater"));
  EXPECT_THAT(a.journey_reasoning, Contains(HasSubstr("realistic first step")));
  EXPECT_THAT(a.first_steps, Contains(HasSubstr("Governance: set up a joint board")));
  EXPECT_THAT(a.first_steps, Contains(HasSubstr("Information sharing: agree what may be shared")));
  EXPECT_THAT(a.first_steps, ::testing::Not(Contains(HasSubstr("Workforce:"))));
  EXPECT_EQ(a.modules.size(), 4u);
  EXPECT_EQ(a.modules.front(), "Client index: each person known once across the agencies");
}

TEST(DiagnosticTest, AStretchIsShortByHalfAPointAtMost) {
  // Governance: challenges 3, facilities 3, 3, 2 → 2.67, short by 0.33.
  DiagnosticAnswers in = Answers(1, 1, 1, 1, 2, 3);
  for (const char* k : {"governance.scrutiny", "governance.disruption", "governance.partners"}) in.ratings[k] = 3;
  in.ratings["governance.collaboration"] = 2;
  const Assessment a = Assess(in);
  EXPECT_EQ(a.model.key, "information");
  EXPECT_EQ(a.areas[0].balance, "stretch");
  EXPECT_EQ(a.journey, "evolutionary");
  EXPECT_THAT(a.journey_reasoning, ::testing::Not(Contains(HasSubstr("realistic first step"))));
}

TEST(DiagnosticTest, MissingAndUnknownAnswersAreNamed) {
  DiagnosticAnswers in = Answers(2, 2, 5, 1, 2, 2);
  in.complexity.erase("range");
  in.complexity["cost"] = 2;
  in.ratings.erase("workforce.skills");
  in.ratings["governance.leaders"] = 0;
  const auto s = CheckAnswers(in);
  ASSERT_EQ(s.code(), StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const auto& f : s.fields()) fields.push_back(f.field + ": " + f.message);
  EXPECT_THAT(fields, ElementsAre("complexity.range: choose an answer", "complexity.nature: must be 1, 2, 3 or 4",
                                  "complexity.cost: there is no such question",
                                  "ratings.governance.leaders: must be 1 (low) to 4 (high)",
                                  "ratings.workforce.skills: choose a rating"));
  EXPECT_TRUE(CheckAnswers(Answers(1, 2, 3, 4, 1, 4)).ok());
}

authz::Principal Staff(authz::Role role) {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kStaff;
  p.user = core::UserId{1};
  p.agency = core::AgencyId{1};
  p.name = "planner";
  p.roles = {role};
  return p;
}

class DiagnosticServiceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = testing_support::NewMigratedDatabase(GetParam(), dir_, 2);
    clock_.Set(core::Timestamp{1'767'225'600'000'000});
    service_ = std::make_unique<DiagnosticService>(*db_, audit_, clock_);
  }

  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_;
  core::FakeClock clock_;
  audit::AuditLog audit_{clock_};
  std::unique_ptr<DiagnosticService> service_;
};

TEST_P(DiagnosticServiceTest, SavedAssessmentsAreListedNewestFirstByInitiative) {
  const auto governance = Staff(authz::Role::kGovernance);
  auto first = service_->Save(governance, "Families north", "First workshop", Answers(4, 4, 4, 4, 4, 2));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->assessment.journey, "evolutionary");
  clock_.Advance(std::chrono::hours(24 * 180));
  auto second = service_->Save(governance, "Families north", "Six months on", Answers(4, 4, 4, 4, 2, 3));
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(service_->Save(governance, "Pension credit", "", Answers(3, 2, 3, 4, 1, 4)).ok());

  auto families = service_->List(Staff(authz::Role::kAuditor), "Families north");
  ASSERT_TRUE(families.ok());
  ASSERT_EQ(families->size(), 2u);
  EXPECT_EQ((*families)[0].note, "Six months on");
  EXPECT_EQ((*families)[0].assessment.journey, "transformational");
  EXPECT_EQ((*families)[1].assessment.journey, "evolutionary");
  EXPECT_EQ((*families)[1].answers.ratings.at("governance.scrutiny"), 4);
  auto all = service_->List(governance, "");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
  auto got = service_->Get(Staff(authz::Role::kManager), first->id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->assessment.model.key, "networked");
  EXPECT_EQ(got->created_by, "planner");
  EXPECT_EQ(service_->Get(governance, 999).status().code(), StatusCode::kNotFound);
}

TEST_P(DiagnosticServiceTest, OnlyPlannersSaveAndBadAnswersSaveNothing) {
  auto refused = service_->Save(Staff(authz::Role::kCaseworker), "X", "", Answers(1, 1, 1, 1, 1, 1));
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->List(Staff(authz::Role::kFrontdesk), "").status().code(), StatusCode::kPermissionDenied);
  DiagnosticAnswers bad = Answers(1, 1, 1, 1, 1, 1);
  bad.complexity.erase("nature");
  auto invalid = service_->Save(Staff(authz::Role::kManager), "", std::string(2001, 'x'), bad);
  ASSERT_EQ(invalid.status().code(), StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const auto& f : invalid.status().fields()) fields.push_back(f.field);
  EXPECT_THAT(fields, ElementsAre("initiative", "note", "complexity.nature"));
  auto all = service_->List(Staff(authz::Role::kGovernance), "");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
  // The refusal is in the audit log.
  int64_t refusals = 0;
  ASSERT_TRUE(db_->Read([&](storage::Transaction& tx) -> core::Status {
                   ASSIGN_OR_RETURN(storage::Rows rows,
                                    tx.Query("SELECT COUNT(*) FROM audit_log WHERE action = 'diagnostic.save' AND "
                                             "allowed = 0"));
                   refusals = rows.at(0).Int(0);
                   return core::Status::Ok();
                 }).ok());
  EXPECT_EQ(refusals, 1);
}

INSTANTIATE_TEST_SUITE_P(Databases, DiagnosticServiceTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace metrics
