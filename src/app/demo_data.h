#pragma once

#include <string>

#include "app/app.h"

namespace app {

inline constexpr char kDemoPassword[] = "demo-password-1";

// Loads the demo consortium: four agencies, their offices and staff, and a few hundred
// invented people in households with each agency's source records. Deterministic. Does
// nothing (and says so) if the demo agencies exist already.
core::StatusOr<std::string> LoadDemoData(App& app, int people = 300);

}  // namespace app
