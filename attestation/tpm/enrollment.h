// SPDX-License-Identifier: Apache-2.0
// The TPM side of AK enrolment (DESIGN.md section 8; issue 4): what the admin service needs to
// decide whether an AK may be enrolled and to challenge the TPM that holds it, without doing any
// TPM structure handling or cryptography itself. The challenge is TPM2_MakeCredential in
// software (credential.h): only the TPM holding the certified EK *and* the AK can answer it with
// TPM2_ActivateCredential.
#pragma once

#include <tss2/tss2_tpm2_types.h>

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "attestation/tpm/credential.h"
#include "common/ossl.h"
#include "common/result.h"

namespace skr::attestation::tpm {

struct EnrollmentAk {
  TPMT_PUBLIC pub{};
  std::vector<std::uint8_t> name;  // nameAlg || H(TPMT_PUBLIC): what MakeCredential binds
};

// The AK's marshalled TPMT_PUBLIC parses, has an attestation key's attributes and strength
// (CheckAkAttributes), converts to a public key, and has a Name. Errors: kInvalidArgument with the
// reason of the failing step (tpm_public_malformed, tpm_ak_attributes, tpm_ak_weak, ...): the
// admin sent an AK that cannot be enrolled.
Result<EnrollmentAk> CheckEnrollmentAk(std::span<const std::uint8_t> ak_public);

// The EK's MakeCredential parameters from its marshalled TPMT_PUBLIC (nameAlg and symmetric
// definition; Part 1, 24.4), after checking that it is the key of the EK certificate.
// Errors: kInvalidArgument reason tpm_public_malformed, tpm_ek_mismatch (not the certificate's
// key), tpm_ek_unsupported (a symmetric algorithm other than AES).
Result<EkParameters> EkParametersFromPublic(std::span<const std::uint8_t> ek_public,
                                            EVP_PKEY* ek_cert_key);

struct EnrollmentChallenge {
  CredentialChallenge challenge;             // sent to the machine
  std::array<std::uint8_t, 32> secret_sha256{};  // kept: the answer is checked against it
};

// A fresh 32-byte secret wrapped for `ak_name` to the EK; the secret itself is wiped.
// Errors: MakeCredential's.
Result<EnrollmentChallenge> IssueEnrollmentChallenge(EVP_PKEY* ek, const EkParameters& params,
                                                     std::span<const std::uint8_t> ak_name);

}  // namespace skr::attestation::tpm
