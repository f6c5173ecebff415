// SPDX-License-Identifier: Apache-2.0
#include "attestation/binding.h"

#include <array>
#include <vector>

#include "common/jose.h"
#include "common/ossl.h"

namespace skr::attestation {

Result<void> CheckBinding(const VerifiedEvidence& evidence, std::string_view nonce,
                          const Json& tee_pubkey) {
  auto digest = BindingDigest(nonce, tee_pubkey);
  if (!digest) return digest.error();
  std::vector<std::uint8_t> expected(digest->begin(), digest->end());
  if (evidence.binding_form == BindingForm::kReportData64) {
    expected.resize(64, 0);  // DESIGN.md section 2: REPORT_DATA = digest || 16 zero bytes
  }
  if (!ConstantTimeEquals(expected, evidence.bound_data)) {
    return Error(ErrorCode::kVerificationFailed,
                 "evidence is not bound to this nonce and tee-pubkey", "binding_mismatch");
  }
  return Ok();
}

}  // namespace skr::attestation
