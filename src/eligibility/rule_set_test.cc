#include "eligibility/rule_set.h"

#include <gtest/gtest.h>

namespace eligibility {
namespace {

TEST(RuleSet, Placeholder) { SUCCEED(); }

}  // namespace
}  // namespace eligibility
