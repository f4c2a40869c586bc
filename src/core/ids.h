#pragma once

#include <compare>
#include <cstdint>
#include <functional>

namespace core {

// A typed integer id, so that a PersonId cannot be passed where an AgencyId is expected.
template <typename Tag>
struct Id {
  int64_t value = 0;
  auto operator<=>(const Id&) const = default;
  bool valid() const { return value > 0; }
};

}  // namespace core

template <typename Tag>
struct std::hash<core::Id<Tag>> {
  size_t operator()(const core::Id<Tag>& id) const noexcept { return std::hash<int64_t>{}(id.value); }
};

namespace core {
using PersonId = Id<struct PersonTag>;
using HouseholdId = Id<struct HouseholdTag>;
using AgencyId = Id<struct AgencyTag>;
using OfficeId = Id<struct OfficeTag>;
using UserId = Id<struct UserTag>;
using SourceRecordId = Id<struct SourceRecordTag>;
using ApiTokenId = Id<struct ApiTokenTag>;
}  // namespace core
