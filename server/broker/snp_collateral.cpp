// SPDX-License-Identifier: Apache-2.0
#include "server/broker/snp_collateral.h"

namespace skr::server {

std::vector<std::vector<std::uint8_t>> KeystoreSnpCollateral::Candidates(
    attestation::snp::Signer signer, std::span<const std::uint8_t> chip_id,
    std::uint64_t reported_tcb) const {
  std::vector<std::vector<std::uint8_t>> out;
  for (const auto& key : attestation::snp::CollateralKeysForReport(signer, chip_id, reported_tcb)) {
    auto c = keys_.FindCollateral(kSnpCertKind, key);
    if (c) out.push_back(std::move(c->data));
  }
  return out;
}

}  // namespace skr::server
