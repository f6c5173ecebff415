// SPDX-License-Identifier: Apache-2.0
// TPM2_MakeCredential done in software (TCG TPM 2.0 Library Part 1, section 24 "Credential
// Protection"; Part 3, 12.6 TPM2_MakeCredential), used by AK enrolment: the server wraps a random
// secret to the endorsement key (EK) so that only the TPM holding that EK *and* a loaded object
// with the AK's name can recover it with TPM2_ActivateCredential. This is the check Keylime's
// registrar performs before it trusts an AK.
#pragma once

#include <tss2/tss2_tpm2_types.h>

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/ossl.h"
#include "common/result.h"

namespace skr::attestation::tpm {

// The EK's parameters that MakeCredential depends on. Defaults are the TCG EK Credential Profile
// template L-1 (RSA 2048, nameAlg SHA-256, AES-128-CFB), which swtpm_setup and most TPMs use.
struct EkParameters {
  TPM2_ALG_ID name_alg = TPM2_ALG_SHA256;
  TPM2_ALG_ID sym_alg = TPM2_ALG_AES;
  std::uint16_t sym_bits = 128;
};

struct CredentialChallenge {
  std::vector<std::uint8_t> credential_blob;   // marshalled TPM2B_ID_OBJECT
  std::vector<std::uint8_t> encrypted_secret;  // marshalled TPM2B_ENCRYPTED_SECRET
};

// KDFa of Part 1, 11.4.10.2 (SP 800-108 counter mode with HMAC): `bits` bits of
// HMAC(key, [i]32 || label || 0x00 || context_u || context_v || [bits]32) for i = 1, 2, ...
Result<SecretBytes> KdfA(TPM2_ALG_ID hash, std::span<const std::uint8_t> key, std::string_view label,
                         std::span<const std::uint8_t> context_u,
                         std::span<const std::uint8_t> context_v, std::size_t bits);

// KDFe of Part 1, 11.4.10.3 (SP 800-56A concatenation KDF): `bits` bits of
// H([i]32 || Z || label || 0x00 || party_u || party_v) for i = 1, 2, ...
Result<SecretBytes> KdfE(TPM2_ALG_ID hash, std::span<const std::uint8_t> z, std::string_view label,
                         std::span<const std::uint8_t> party_u, std::span<const std::uint8_t> party_v,
                         std::size_t bits);

// Wraps `credential` (at most the digest size of the EK nameAlg) for the object named
// `object_name` (the AK's TPM name) to the EK `ek`:
//   RSA EK: seed = random (digest size of nameAlg), encrypted_secret = RSA-OAEP(ek, seed,
//   nameAlg, label "IDENTITY\0") (Part 1, B.10.4);
//   ECC EK (NIST P-256 / P-384): an ephemeral key on the EK's curve, Z = ECDH x-coordinate,
//   seed = KDFe(nameAlg, Z, "IDENTITY", x_ephemeral, x_ek, digest bits), encrypted_secret = the
//   marshalled ephemeral TPMS_ECC_POINT (Part 1, C.6.4);
//   then for both: symKey = KDFa(nameAlg, seed, "STORAGE", name, -, symBits);
//   encIdentity = AES-CFB(symKey, IV 0, TPM2B_DIGEST(credential)); hmacKey = KDFa(nameAlg, seed,
//   "INTEGRITY", -, -, digest bits); outerHMAC = HMAC(hmacKey, encIdentity || name) (Part 1, 24.4
//   and 24.5). Errors: kInvalidArgument reason tpm_ek_unsupported (neither RSA nor P-256/P-384
//   ECC, unsupported parameters), kInvalidArgument when the credential is too long.
Result<CredentialChallenge> MakeCredential(EVP_PKEY* ek, const EkParameters& params,
                                           std::span<const std::uint8_t> object_name,
                                           std::span<const std::uint8_t> credential);

}  // namespace skr::attestation::tpm
