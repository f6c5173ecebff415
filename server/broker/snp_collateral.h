// SPDX-License-Identifier: Apache-2.0
// The VCEK/VLEK cache that admins fill (skrctl snp import-cert), served to the sev-snp verifier
// from the keystore's collateral table. Certificates are verified to the trusted AMD roots
// before they are stored, and again at every use.
#pragma once

#include "attestation/snp/snp_verifier.h"
#include "keystore/keystore.h"

namespace skr::server {

inline constexpr std::string_view kSnpCertKind = "snp-cert";

class KeystoreSnpCollateral final : public attestation::snp::SnpCollateral {
 public:
  explicit KeystoreSnpCollateral(keystore::KeyStore& keys) : keys_(keys) {}
  std::vector<std::vector<std::uint8_t>> Candidates(attestation::snp::Signer signer,
                                                    std::span<const std::uint8_t> chip_id,
                                                    std::uint64_t reported_tcb) const override;

 private:
  keystore::KeyStore& keys_;
};

}  // namespace skr::server
