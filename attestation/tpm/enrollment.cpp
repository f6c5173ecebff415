// SPDX-License-Identifier: Apache-2.0
#include "attestation/tpm/enrollment.h"

#include "attestation/tpm/quote.h"
#include "attestation/tpm/tpm_verifier.h"
#include "common/encoding.h"

namespace skr::attestation::tpm {
namespace {

// A step's refusal, as the admin API answers it: the request carried an unusable structure.
Error AsInvalid(const Error& e) {
  return Error(ErrorCode::kInvalidArgument, e.message(), e.reason());
}

}  // namespace

Result<EnrollmentAk> CheckEnrollmentAk(std::span<const std::uint8_t> ak_public) {
  auto pub = ParsePublic(ak_public);
  if (!pub) return AsInvalid(pub.error());
  if (auto attrs = CheckAkAttributes(*pub); !attrs) return AsInvalid(attrs.error());
  if (auto key = AkFromTpmtPublic(*pub); !key) return AsInvalid(key.error());
  auto name = ObjectName(*pub);
  if (!name) return AsInvalid(name.error());
  EnrollmentAk out;
  out.pub = *pub;
  out.name = std::move(name).value();
  return out;
}

Result<EkParameters> EkParametersFromPublic(std::span<const std::uint8_t> ek_public,
                                            EVP_PKEY* ek_cert_key) {
  auto pub = ParsePublic(ek_public);
  if (!pub) return AsInvalid(pub.error());
  auto key = AkFromTpmtPublic(*pub);
  if (!key || ek_cert_key == nullptr || EVP_PKEY_eq(key->get(), ek_cert_key) != 1) {
    return Error(ErrorCode::kInvalidArgument, "'ek_public' is not the key of 'ek_cert'",
                 "tpm_ek_mismatch");
  }
  // The EK's nameAlg and symmetric definition shape the credential (Part 1, 24.4).
  const TPMT_SYM_DEF_OBJECT& sym = pub->type == TPM2_ALG_RSA ? pub->parameters.rsaDetail.symmetric
                                                             : pub->parameters.eccDetail.symmetric;
  if (sym.algorithm != TPM2_ALG_AES) {
    return Error(ErrorCode::kInvalidArgument,
                 "tpm: the EK's symmetric definition is not AES (storage keys protect "
                 "credentials with AES-CFB)",
                 "tpm_ek_unsupported");
  }
  EkParameters params;
  params.name_alg = pub->nameAlg;
  params.sym_alg = sym.algorithm;
  params.sym_bits = sym.keyBits.aes;
  return params;
}

Result<EnrollmentChallenge> IssueEnrollmentChallenge(EVP_PKEY* ek, const EkParameters& params,
                                                     std::span<const std::uint8_t> ak_name) {
  SecretBytes secret = RandomSecret(32);
  SKR_TRY(CredentialChallenge challenge, MakeCredential(ek, params, ak_name, secret.Reveal()));
  EnrollmentChallenge out;
  out.challenge = std::move(challenge);
  out.secret_sha256 = Sha256(secret.Reveal());
  return out;
}

}  // namespace skr::attestation::tpm
