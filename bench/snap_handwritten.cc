#include "snap_handwritten.h"

#include <algorithm>

#include "core/wide.h"

namespace bench {
namespace {

constexpr int64_t kDollar = 1'000'000;  // one dollar in millionths

// FY 2026, 48 states and DC (rules/us/parameters/snap.yaml, values from 2025-10-01).
constexpr int64_t kGrossLimit[8] = {1696, 2292, 2888, 3483, 4079, 4675, 5271, 5867};
constexpr int64_t kGrossLimitAdditional = 596;
constexpr int64_t kNetLimit[8] = {1305, 1763, 2221, 2680, 3138, 3596, 4055, 4513};
constexpr int64_t kNetLimitAdditional = 459;
constexpr int64_t kStandardDeduction[6] = {209, 209, 209, 223, 261, 299};  // 6 and more: 299
constexpr int64_t kMaxAllotment[8] = {298, 546, 785, 994, 1183, 1421, 1571, 1789};
constexpr int64_t kMaxAllotmentAdditional = 218;
constexpr int64_t kAssetLimit = 3000;
constexpr int64_t kAssetLimitElderlyDisabled = 4500;
constexpr int64_t kMedicalThreshold = 35;
constexpr int64_t kExcessShelterCap = 744;
constexpr int64_t kMinimumBenefit = 24;
constexpr int kMinimumBenefitMaxSize = 2;

// A table by household size whose last column continues with `additional` per person.
int64_t BySize(const int64_t (&table)[8], int64_t additional, int size) {
  if (size <= 8) return table[size - 1] * kDollar;
  return (table[7] + (size - 8) * additional) * kDollar;
}

// x × num / den, rounded halves away from zero: decimal::Mul by the rate num/den.
int64_t MulRate(int64_t x, int64_t num, int64_t den) {
  int64_t p = x * num;
  int64_t q = p / den;
  int64_t r = p % den;
  if (2 * (r < 0 ? -r : r) >= den) q += p < 0 ? -1 : 1;
  return q;
}

// Up to a whole dollar (ceil(x, 1)).
int64_t CeilDollar(int64_t x) {
  int64_t q = x / kDollar;
  if (x % kDollar > 0) ++q;
  return q * kDollar;
}

inline SnapResult Snap(const SnapHousehold& h) {
  const int size = h.household_size;
  const bool elderly = h.has_elderly_or_disabled_member;
  const int64_t gross = h.earned_income + h.unearned_income;

  // Gross income test, for households without an elderly or disabled member.
  bool failed = !elderly && gross > BySize(kGrossLimit, kGrossLimitAdditional, size);

  // Net income: gross less the deductions, then less the excess shelter deduction.
  const int64_t earned_deduction = MulRate(h.earned_income, 2, 10);
  const int64_t standard = kStandardDeduction[std::min(size, 6) - 1] * kDollar;
  const int64_t medical =
      elderly ? std::max<int64_t>(h.medical_costs - kMedicalThreshold * kDollar, 0) : 0;
  const int64_t adjusted = std::max<int64_t>(
      gross - earned_deduction - standard - medical - h.dependent_care_costs - h.child_support_paid,
      0);
  std::optional<int64_t> net;
  if (h.shelter_costs) {
    int64_t excess = std::max<int64_t>(*h.shelter_costs - MulRate(adjusted, 5, 10), 0);
    int64_t shelter_deduction = elderly ? excess : std::min(excess, kExcessShelterCap * kDollar);
    net = std::max<int64_t>(adjusted - shelter_deduction, 0);
    failed |= *net > BySize(kNetLimit, kNetLimitAdditional, size);
  }

  // Resources.
  if (h.countable_assets) {
    failed |= *h.countable_assets > (elderly ? kAssetLimitElderlyDisabled : kAssetLimit) * kDollar;
  }

  // A failing test settles it; otherwise a missing answer leaves it open.
  if (failed) return {SnapOutcome::kNotEligible, 0};
  if (!net || !h.countable_assets) return {SnapOutcome::kUnknown, 0};

  const int64_t contribution = CeilDollar(MulRate(*net, 3, 10));
  int64_t allotment =
      std::max<int64_t>(BySize(kMaxAllotment, kMaxAllotmentAdditional, size) - contribution, 0);
  if (size <= kMinimumBenefitMaxSize) allotment = std::max(allotment, kMinimumBenefit * kDollar);
  return {SnapOutcome::kEligible, allotment};
}

}  // namespace

ONEDOOR_WIDE void SnapFy2026(const SnapHousehold* households, SnapResult* results, size_t n) {
  for (size_t i = 0; i < n; ++i) results[i] = Snap(households[i]);
}

}  // namespace bench
