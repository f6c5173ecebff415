// SPDX-License-Identifier: Apache-2.0
// The binding check of DESIGN.md section 2: the evidence must carry
// SHA-384(JCS({"additional-evidence": "", "nonce": nonce, "tee-pubkey": jwk})), the KBS RCAR
// 0.4.0 construction, as REPORT_DATA (digest || 16 zero bytes) or TPM extraData (digest).
#pragma once

#include <string_view>

#include "attestation/verifier.h"
#include "common/json.h"
#include "common/result.h"

namespace skr::attestation {

// Errors: kVerificationFailed reason "binding_mismatch" when the evidence is bound to another
// nonce or key; kInvalidArgument when the tee-pubkey cannot be canonicalized.
Result<void> CheckBinding(const VerifiedEvidence& evidence, std::string_view nonce,
                          const Json& tee_pubkey);

}  // namespace skr::attestation
