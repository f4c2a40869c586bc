#pragma once

#include <string>

#include "app/app.h"

namespace app {

inline constexpr char kDemoPassword[] = "demo-password-1";

// Loads the demo consortium: four agencies, their offices and staff, a few hundred invented
// people in households with each agency's source records, and sharing agreements between the
// agencies (approved, refused and one waiting for a decision). Deterministic. Safe to repeat:
// if the demo agencies exist already it only adds the sharing agreements, when there are none
// yet (with the governance.city user they need), and says what it did.
core::StatusOr<std::string> LoadDemoData(App& app, int people = 300);

}  // namespace app
