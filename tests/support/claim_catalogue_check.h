// SPDX-License-Identifier: Apache-2.0
// Checks verified claims against the claim catalogue (policy/claim_catalogue.h, issue 12): every
// claim a verifier produced from real evidence is in the table for its evidence type, with the
// table's type (and hex length), so the policy lint never refuses a claim a verifier produces.
#pragma once

#include <catch2/catch.hpp>
#include <string_view>

#include "common/claims.h"
#include "policy/claim_catalogue.h"

namespace skr::test {

inline void CheckClaimsCatalogued(const Claims& claims, std::string_view tee) {
  const auto bit = policy::TeeBit(tee);
  REQUIRE(bit.has_value());
  for (const auto& [name, value] : claims) {
    INFO("claim " << name << " = " << value.dump() << " (tee " << tee << ")");
    const policy::ClaimSpec* spec = policy::FindClaim(name, *bit);
    REQUIRE(spec != nullptr);
    CHECK(policy::ValueHasType(*spec, value));
  }
}

}  // namespace skr::test
