// SPDX-License-Identifier: Apache-2.0
// Checks on an attestation key (AK) that come from outside the TPM structures (issue 9, item 7):
//   - the AK certificate's leaf profile (not a CA, keyUsage digitalSignature);
//   - key strength (RSA 2048..4096 bits with a sane exponent, ECC on NIST P-256 / P-384 only),
//     for certified AKs and for Azure's HCLAkPub;
//   - for a certified AK whose TPMT_PUBLIC the client did not send: the restricted + sign
//     attributes, derived from the quote's qualifiedSigner (see CheckCertifiedAkTemplate).
//
// What these prove. A restricted signing key refuses to sign anything that starts with
// TPM_GENERATED_VALUE unless the TPM produced it (TPM 2.0 Library Part 1, 25.2.1), which is what
// makes its quotes evidence. A key without `restricted` signs any digest, so whoever holds it can
// forge a TPMS_ATTEST with any qualifiedSigner; and `ak_public` is unsigned client data. So
// neither a qualifiedSigner match nor a client-sent TPMT_PUBLIC is a cryptographic proof of the
// attributes of a *certified* AK: that proof is the CA's issuance policy (it certifies only
// restricted signing keys, TCG's AK certificate profile), which is why the leaf profile is checked
// here. What the checks below add is that the quote the client presents is consistent with a
// restricted signing AK of a known template, and that a client which would present a non-AK
// (honestly, or by misconfiguration) is refused. Enrolled AKs get their attributes proven by
// TPM2_ActivateCredential, which binds the exact Name (attributes included) to a certified EK.
// Thread-safety: all functions are reentrant.
#pragma once

#include <openssl/x509.h>
#include <tss2/tss2_tpm2_types.h>

#include <cstdint>
#include <span>
#include <vector>

#include "attestation/tpm/quote.h"
#include "common/result.h"

namespace skr::attestation::tpm {

inline constexpr int kMinAkRsaBits = 2048;
inline constexpr int kMaxAkRsaBits = 4096;  // the largest RSA key a TPM holds (TPM2B 512 bytes)

// An RSA AK's modulus and exponent (big endian): modulus of 2048..4096 bits; exponent odd with
// 2^16 < e < 2^32 (FIPS 186-5 A.1.1 asks for e > 2^16; a TPMT_PUBLIC holds it in a UINT32, Part 2
// 12.2.3.5). Errors: kVerificationFailed with `reason`.
Result<void> CheckRsaAkParameters(std::span<const std::uint8_t> n, std::span<const std::uint8_t> e,
                                  const char* reason);

// RSA as above, or EC on NIST P-256 / P-384 (named curve). Other curves (P-521, secp256k1,
// explicit parameters), Ed25519/Ed448, DSA and anything else are refused.
// Errors: kVerificationFailed with `reason`.
Result<void> CheckAkKeyStrength(EVP_PKEY* key, const char* reason);

// The leaf profile of an AK certificate (RFC 5280 4.2.1.3 / 4.2.1.9; TCG EK Credential Profile
// 2.0 section 3 and "TPM 2.0 Keys for Device Identity and Attestation" 8.x AK certificates):
//   - basicConstraints absent or cA FALSE, and no keyCertSign / cRLSign in keyUsage: an AK is an
//     end entity, never an issuer (reason tpm_ak_cert_ca);
//   - keyUsage present and holding digitalSignature; besides it only nonRepudiation
//     (contentCommitment) is allowed, since an AK is a sign-only key (no encipherment, key
//     agreement). RFC 5280 reads an absent keyUsage as "any usage"; TCG's AK profile requires the
//     extension, and Google's GCE AK certificates carry it (critical, digitalSignature), so its
//     absence is refused (reason tpm_ak_cert_usage);
//   - extensions that OpenSSL cannot decode (reason cert_malformed, kMalformedEvidence).
// Errors: kVerificationFailed with the reasons above.
Result<void> CheckAkCertificateProfile(X509* leaf);

// The Qualified Name of an object whose parent has qualified name `parent_qn` (Part 1, 16
// "Names"): nameAlg || H_nameAlg(parent_qn || name), with nameAlg the first two bytes of `name`.
// A hierarchy's qualified name is its handle, big endian (TPM_RH_ENDORSEMENT = 0x4000000B).
// Errors: kMalformedEvidence reason tpm_public_malformed (unsupported nameAlg).
Result<std::vector<std::uint8_t>> QualifiedName(std::span<const std::uint8_t> parent_qn,
                                                std::span<const std::uint8_t> name);

// For a certified AK sent without `ak_public`: the quote's qualifiedSigner must be the Qualified
// Name of a restricted signing key holding the certificate's public key, reconstructed with
//   type, key and size from the certificate; nameAlg from qualifiedSigner (SHA-256/384/512);
//   objectAttributes fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth | restricted |
//     sign, with or without noDA (the TCG / go-tpm-tools / tpm2-tools / skr-agent AK templates);
//   empty authPolicy; symmetric NULL; scheme = the quote signature's scheme and hash;
//   RSA exponent 0 (the default 65537) or as in the certificate; ECC kdf NULL;
// as a primary key of the endorsement or owner hierarchy (GCE's AK is an endorsement primary).
// An AK that is a child of another key (e.g. tpm2_createak under the EK) has a qualified name
// that depends on its parent, so it cannot be reconstructed: such clients must send ak_public.
// Call after the quote's signature verified with `cert_key`.
// Errors: kVerificationFailed reason tpm_ak_attributes_unproven.
Result<void> CheckCertifiedAkTemplate(const Quote& quote, const TPMT_SIGNATURE& sig,
                                      EVP_PKEY* cert_key);

}  // namespace skr::attestation::tpm
