// SPDX-License-Identifier: Apache-2.0
// The `sample` evidence type (DESIGN.md section 3): a JWS (ES256 or ES384) signed by a
// development attester whose public key is configured. Its payload is a JSON object of claims
// that includes "report_data" (hex, 64 bytes). For development and tests only: disabled unless
// attestation.sample.enabled = true.
#pragma once

#include <string>

#include "attestation/verifier.h"
#include "common/ossl.h"

namespace skr::attestation::sample {

inline constexpr std::size_t kMaxJwsBytes = 64 * 1024;

class SampleVerifier final : public Verifier {
 public:
  // `public_key_pem`: the attester's EC P-256 or P-384 public key. Errors: kInvalidArgument.
  static Result<std::unique_ptr<SampleVerifier>> Create(std::string_view public_key_pem);
  std::string_view type() const override { return "sample"; }
  Result<VerifiedEvidence> Verify(const Json& evidence) const override;
  // The sample evidence relies on no collateral and no clock: the same as Verify.
  Result<VerifiedEvidence> VerifyRecorded(const Json& evidence,
                                          const RecordedState& /*state*/) const override {
    return Verify(evidence);
  }

 private:
  explicit SampleVerifier(EvpPkeyPtr key) : key_(std::move(key)) {}
  EvpPkeyPtr key_;
};

}  // namespace skr::attestation::sample
