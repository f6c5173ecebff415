// SPDX-License-Identifier: Apache-2.0
// TPM 2.0 quote verification (DESIGN.md section 3, evidence types `tpm`, `az-*-vtpm`).
// Structures are unmarshalled with libtss2-mu (TCG TPM 2.0 Library Part 2 encodings), never by
// hand. A quote is a TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE (Part 2, 10.12.12) signed by an
// attestation key (AK); its TPMS_QUOTE_INFO carries the PCR selection and pcrDigest, the digest
// of the selected PCR values concatenated in selection order (Part 3, 18.4 TPM2_Quote), computed
// with the hash algorithm of the signing scheme.
#pragma once

#include <tss2/tss2_tpm2_types.h>

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/claims.h"
#include "common/ossl.h"
#include "common/result.h"
#include "tpm/wire.h"

namespace skr::attestation::tpm {

// Size caps applied before unmarshalling (a TPMS_ATTEST of a quote is ~150 bytes; a
// TPMT_SIGNATURE with RSA-4096 ~520; a TPMT_PUBLIC ~360).
inline constexpr std::size_t kMaxTpmStructBytes = 4096;

struct PcrBankSelection {
  TPM2_ALG_ID hash = TPM2_ALG_ERROR;
  std::string bank;                // "sha1", "sha256", "sha384", "sha512", "sm3_256"
  std::vector<unsigned> indexes;   // ascending
};

// A parsed TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE.
struct Quote {
  std::vector<std::uint8_t> qualified_signer;  // TPM2B_NAME of the signing key
  std::vector<std::uint8_t> extra_data;        // caller-supplied qualifying data (nonce)
  std::uint64_t clock = 0;
  std::uint32_t reset_count = 0;
  std::uint32_t restart_count = 0;
  bool safe = false;
  std::uint64_t firmware_version = 0;
  std::vector<PcrBankSelection> pcr_selection;  // TPML_PCR_SELECTION order
  std::vector<std::uint8_t> pcr_digest;

  // Errors: kMalformedEvidence reason tpm_attest_malformed (does not unmarshal, trailing bytes,
  // too large, bad magic, unknown bank) or tpm_attest_type (not a quote).
  static Result<Quote> Parse(std::span<const std::uint8_t> attest);
};

// Errors: kMalformedEvidence reason tpm_signature_malformed.
Result<TPMT_SIGNATURE> ParseSignature(std::span<const std::uint8_t> bytes);
// TPMT_PUBLIC / TPM2B_PUBLIC. Errors: kMalformedEvidence reason tpm_public_malformed.
Result<TPMT_PUBLIC> ParsePublic(std::span<const std::uint8_t> bytes);
Result<TPMT_PUBLIC> ParsePublic2B(std::span<const std::uint8_t> bytes);

// A TPMT_SIGNATURE holding a bare RSASSA-PKCS1-v1_5 signature (the form Azure's vTPM evidence
// uses: only TPMT_SIGNATURE.signature.rsassa.sig). Errors: tpm_signature_malformed if too long.
Result<TPMT_SIGNATURE> RsassaSignature(std::span<const std::uint8_t> sig, TPM2_ALG_ID hash);

// The hash algorithm a signature names (TPM2_ALG_ERROR for unsupported schemes).
TPM2_ALG_ID SignatureHash(const TPMT_SIGNATURE& sig);

// Verifies `sig` over the exact TPMS_ATTEST bytes with `ak`: RSASSA (PKCS#1 v1.5), RSAPSS or
// ECDSA (P-256/P-384), hash SHA-256/384/512 as named in the signature.
// Errors: kVerificationFailed reason tpm_signature_invalid (also for a key of the wrong type
// and unsupported schemes).
Result<void> VerifyQuoteSignature(std::span<const std::uint8_t> attest_bytes,
                                  const TPMT_SIGNATURE& sig, EVP_PKEY* ak);

// The AK's public key from its TPMT_PUBLIC (RSA: n and exponent, 0 meaning 65537; ECC: the
// point on NIST P-256/P-384). Errors: kMalformedEvidence reason tpm_public_malformed.
Result<EvpPkeyPtr> AkFromTpmtPublic(const TPMT_PUBLIC& pub);
// An RSA public key from big-endian modulus and exponent. Errors: kMalformedEvidence.
Result<EvpPkeyPtr> RsaPublicKey(std::span<const std::uint8_t> n, std::span<const std::uint8_t> e);

// PCR values supplied with a quote: bank name -> PCR index -> value.
using PcrValues = std::map<std::string, std::map<unsigned, std::vector<std::uint8_t>>, std::less<>>;

// Recomputes pcrDigest = H(PCR[sel0] || PCR[sel1] || ...) over the quote's selection (banks in
// TPML_PCR_SELECTION order, ascending index within a bank) with `digest_alg` (the signing
// scheme's hash; see SignatureHash) and compares it with the quote's pcrDigest. Each value must
// have its bank's digest size. Errors: kVerificationFailed reason tpm_pcr_missing (a selected
// PCR not supplied), tpm_pcr_mismatch (digest differs, a supplied PCR is not selected, or a value
// has the wrong size).
Result<void> VerifyPcrDigest(const Quote& quote, const PcrValues& pcrs, TPM2_ALG_ID digest_alg);

// Claims of a verified quote: tpm.pcr.<bank>.<index> (hex, only the selected PCRs),
// tpm.firmware_version, tpm.clock.safe, tpm.clock.reset_count, tpm.clock.restart_count,
// tpm.extra_data (hex), tpm.qualified_signer (hex).
void AddQuoteClaims(Claims& claims, const Quote& quote, const PcrValues& pcrs);
// tpm.ak.type ("rsa"|"ecc"), tpm.ak.bits, tpm.ak.sha256 (SHA-256 of the AK's DER
// SubjectPublicKeyInfo, so it is the same whether the AK came from a TPMT_PUBLIC or a JWK).
Result<void> AddAkClaims(Claims& claims, EVP_PKEY* ak);

// The hash-algorithm table, PCR bitmaps and names are the shared TPM wire library's (tpm/wire.h).
using tpm_wire::BankAlg;
using tpm_wire::BankName;
using tpm_wire::DigestSize;
using tpm_wire::HashMd;
using tpm_wire::StrongHashMd;

}  // namespace skr::attestation::tpm
