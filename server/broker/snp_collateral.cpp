// SPDX-License-Identifier: Apache-2.0
#include "server/broker/snp_collateral.h"

namespace skr::server {

std::vector<std::vector<std::uint8_t>> KeystoreSnpCollateral::Candidates(
    attestation::snp::Signer signer, std::span<const std::uint8_t> chip_id,
    std::uint64_t reported_tcb) const {
  std::vector<std::vector<std::uint8_t>> out;
  const auto keys = attestation::snp::CollateralKeysForReport(signer, chip_id, reported_tcb);
  if (signer == attestation::snp::Signer::kVlek) {
    // VLEK keys are prefixes: every provider's VLEK for this TCB is a candidate.
    auto all = keys_.ListCollateral(kSnpCertKind);
    if (!all) return out;
    for (auto& c : *all) {
      for (const auto& prefix : keys) {
        if (c.lookup.rfind(prefix, 0) == 0) {
          out.push_back(std::move(c.data));
          break;
        }
      }
    }
    return out;
  }
  for (const auto& key : keys) {
    auto c = keys_.FindCollateral(kSnpCertKind, key);
    if (c) out.push_back(std::move(c->data));
  }
  return out;
}

}  // namespace skr::server
