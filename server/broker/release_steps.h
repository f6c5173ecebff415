// SPDX-License-Identifier: Apache-2.0
// Small steps of the release path shared by the broker's release, dry-run and replay code
// (broker.cpp, release_replay.cpp).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "attestation/verifier.h"
#include "common/claims.h"
#include "common/json.h"
#include "common/result.h"

namespace skr::server {

// What a verification relied on beyond the evidence: VerifiedEvidence::collateral (digests,
// compared by a replay) and ::collateral_bytes (by name; kept with the replay bundle).
struct ReliedOn {
  Json collateral = Json::object();
  std::vector<std::pair<std::string, std::string>> bytes;
  Claims claims;  // the verified claims (what-if names the VM by them)
};

// Text that reaches audit records and problem details may carry client input: printable ASCII
// (always valid UTF-8) and bounded, so a request cannot grow the append-only audit log by more
// than a small, fixed amount.
std::string Clip(std::string_view s, std::size_t max = 256);

// Hex SHA-256 of the evidence JSON as serialized (the record's evidence_sha256).
std::string EvidenceDigest(const Json& evidence);

// An AK enrolled by one tenant's admin vouches only for that tenant (release, dry run, verify).
Result<void> CheckAkTenant(const attestation::VerifiedEvidence& ev, std::string_view tenant);

}  // namespace skr::server
