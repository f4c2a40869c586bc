#include "directory/life_events.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace directory {
namespace {

using ::testing::HasSubstr;

RuleNames Names() {
  RuleNames r;
  for (const char* q : {"household_size", "earned_income", "unearned_income", "shelter_costs", "countable_assets",
                        "is_pregnant", "age"}) {
    r.questions[q] = std::string("Question about ") + q;
  }
  for (const char* p : {"snap", "medicaid_adult", "lifeline", "wic", "winter_fuel_grant"}) r.programs[p] = p;
  return r;
}

TEST(LifeEvents, TheShippedFileLoads) {
  auto events = LifeEvents::Load(std::string(ONEDOOR_SOURCE_DIR) + "/config/life-events.yaml", Names());
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_GE(events->events().size(), 4u);
  const LifeEvent* job = events->Find("lost-job");
  ASSERT_NE(job, nullptr);
  EXPECT_EQ(job->title, "I lost my job");
  EXPECT_EQ(job->steps.front().action, StepAction::kReferral);
  EXPECT_EQ(job->steps[1].action, StepAction::kScreening);
  EXPECT_EQ(events->Find("nothing"), nullptr);
}

TEST(LifeEvents, AFileWithAMistakeIsRefusedNamingTheLine) {
  auto check = [](const std::string& text, const std::string& expected) {
    auto r = LifeEvents::Parse(text, "le.yaml", Names());
    ASSERT_EQ(r.status().code(), core::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(r.status().message(), HasSubstr(expected)) << text;
  };
  const std::string head = "life_events:\n  - id: x\n    title: X\n";
  check(head + "    steps:\n      - title: A\n        text: B\n        action: dance\n",
        "le.yaml:7: action must be information, screening, referral or appointment");
  check(head + "    questions: [income_of_the_moon]\n    steps:\n      - title: A\n        text: B\n",
        "le.yaml:4: 'income_of_the_moon' is not a question of the rules");
  check(head + "    programs: [spaceship]\n    steps:\n      - title: A\n        text: B\n",
        "le.yaml:4: 'spaceship' is not a program of the rules");
  check(head + "    steps: []\n", "`steps` must list at least one step");
  check(head + "    colour: red\n    steps:\n      - title: A\n        text: B\n", "le.yaml:4: unknown key 'colour'");
  check("life_events:\n  - id: Bad Id\n    title: X\n    steps:\n      - title: A\n        text: B\n",
        "may hold only a-z, 0-9 and -");
  check(head + "    steps:\n      - title: A\n        text: B\n  - id: x\n    title: Y\n    steps:\n      - title: A\n"
               "        text: B\n",
        "le.yaml:7: the id 'x' is used twice");
  check(head + "    steps:\n      - title: A\n        text: B\n        action: referral\n",
        "a referral step needs `search` or `topic`");
  check(head + "    steps:\n      - text: B\n", "le.yaml:5: `title` is missing");
}

}  // namespace
}  // namespace directory
