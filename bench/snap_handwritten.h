#pragma once

// SNAP as rules/us/snap.yaml has it for FY 2026 (2025-10-01 to 2026-09-30), written by hand in
// plain C++: the yardstick for the rule engine's speed (bench/eligibility_benchmark.cc). The
// same arithmetic step by step: amounts in millionths of a dollar (the engine's decimals),
// products rounded halves away from zero like decimal::Mul (exact here, since inputs are whole
// cents), no rounding in the net income, 30% of net income rounded up to a whole dollar; the
// same three-valued answer when shelter costs or savings are not given. The FY 2026 amounts
// are constants, as a hand-written program would have them.
//
// Not a second implementation to ship: the pack is the rules. This exists so that the
// benchmark can say how far the engine is from code written for one program, and check that
// both give the same answer for every household.

#include <cstddef>
#include <cstdint>
#include <optional>

namespace bench {

struct SnapHousehold {
  int household_size = 1;     // 1 or more
  int64_t earned_income = 0;  // decimals (millionths), per month
  int64_t unearned_income = 0;
  std::optional<int64_t> shelter_costs;  // not given: the answer may be unknown
  int64_t dependent_care_costs = 0;      // default 0 when not given
  int64_t medical_costs = 0;
  int64_t child_support_paid = 0;
  bool has_elderly_or_disabled_member = false;
  std::optional<int64_t> countable_assets;
};

enum class SnapOutcome : uint8_t { kEligible, kNotEligible, kUnknown };

struct SnapResult {
  SnapOutcome outcome = SnapOutcome::kUnknown;
  int64_t allotment = 0;  // decimals, when eligible
};

// SNAP for n households, compiled like the engine's loops (ONEDOOR_WIDE, core/wide.h).
void SnapFy2026(const SnapHousehold* households, SnapResult* results, size_t n);

}  // namespace bench
