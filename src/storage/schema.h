#pragma once

#include <vector>

#include "storage/migrations.h"

namespace storage {

// Every schema migration of onedoor, in order. Append only: never edit a released one.
const std::vector<Migration>& OnedoorSchema();

}  // namespace storage
