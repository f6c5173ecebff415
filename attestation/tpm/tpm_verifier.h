// SPDX-License-Identifier: Apache-2.0
// The plain `tpm` evidence type (DESIGN.md section 3): a TPM 2.0 quote (TPMS_ATTEST), its
// TPMT_SIGNATURE and the quoted PCR values, signed by an attestation key (AK) that skrd trusts in
// one of two ways:
//   - an AK certificate that chains to a configured CA (e.g. Google's vTPM CA for GCE Shielded
//     VMs, a corporate AK CA, the swtpm local CA), `ak_cert` in the evidence;
//   - an AK enrolled by a tenant admin (POST /v1/tenants/{t}/tpm/enrollments, proven resident in
//     the same TPM as a certified EK with TPM2_MakeCredential / TPM2_ActivateCredential),
//     `ak_id` in the evidence.
// The quote's extraData must carry the binding digest of DESIGN.md section 2 (checked by the
// caller through VerifiedEvidence::bound_data, BindingForm::kExact48).
//
// Evidence members: `quote` (base64 TPMS_ATTEST), `signature` (base64 TPMT_SIGNATURE), `pcrs`
// ({"sha256": {"0": "<hex>", ...}, ...}), and either `ak_cert` (PEM: the AK certificate first,
// then any intermediates; or base64 DER) with optional `ak_public` (base64 TPMT_PUBLIC, checked
// against the certificate and for AK attributes; when absent, the attributes are derived from the
// quote's qualifiedSigner: ak_checks.h), or `ak_id` (an enrolment id) with optional
// `ak_public` (must equal the enrolled one); optional `event_log` (base64 of a TCG crypto-agile
// measured-boot log, replayed against the quoted PCRs: event_log.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "attestation/tpm/quote.h"
#include "attestation/verifier.h"
#include "common/clock.h"
#include "common/ossl.h"

namespace skr::attestation::tpm {

// An AK enrolled by an admin, as the server's store returns it.
struct EnrolledAk {
  std::string id;
  std::string tenant;
  std::string name;                     // machine name given at enrolment
  std::vector<std::uint8_t> ak_public;  // marshalled TPMT_PUBLIC
};

// Lookup of enrolled AKs, implemented by the server over the keystore (no I/O here).
class AkDirectory {
 public:
  virtual ~AkDirectory() = default;
  // Errors: kNotFound when no active enrolment has this id; kUnavailable on storage failure.
  virtual Result<EnrolledAk> FindActiveAk(std::string_view id) const = 0;
};

struct TpmVerifierOptions {
  // Trust anchors for AK certificates (owned by the verifier). May be empty: then only enrolled
  // AKs are accepted.
  std::vector<X509Ptr> ak_anchors;
  const Clock* clock = nullptr;          // required: validity of AK certificate chains
  const AkDirectory* enrolled = nullptr; // optional: without it `ak_id` evidence is refused
};

inline constexpr std::size_t kMaxAkCertPemBytes = 32 * 1024;
using tpm_wire::kMaxPcrBanks;
using tpm_wire::kMaxPcrIndex;

// Checks that a TPMT_PUBLIC describes an attestation key: RSA or ECC, restricted signing key
// (TPMA_OBJECT restricted | sign, not decrypt) generated in and bound to its TPM (fixedTPM,
// fixedParent, sensitiveDataOrigin). A restricted signing key only signs TPM-generated
// attestation structures (TCG TPM 2.0 Library Part 1, section 25.2.1; Part 3, 18.1), which is what
// makes its quotes evidence. Also the key strength: RSA keyBits 2048..4096 with exponent 0 (65537)
// or an odd one above 2^16, ECC on NIST P-256 / P-384. Errors: kVerificationFailed reason
// tpm_ak_attributes, or tpm_ak_weak for the key strength.
Result<void> CheckAkAttributes(const TPMT_PUBLIC& pub);

// TPMT_PUBLIC marshalling and object names: tpm/wire.h.
using tpm_wire::MarshalPublic;
using tpm_wire::ObjectName;

// Trust decisions made about the AK; become tpm.ak.* claims.
struct AkTrust {
  std::string trust;  // "certificate" | "enrolled"
  std::vector<std::uint8_t> ca_sha256, cert_sha256;  // certificate trust
  std::vector<std::uint8_t> ca_der;                  // the anchor the chain ended at
  EnrolledAk enrolled;                               // enrolled trust
};

// The parsed parts of a TPM quote evidence, before the AK is trusted.
struct TpmQuoteInput {
  std::vector<std::uint8_t> attest;     // TPMS_ATTEST bytes, exactly as signed
  std::vector<std::uint8_t> signature;  // TPMT_SIGNATURE
  PcrValues pcrs;
};

// The quote checks shared by every AK trust path: parse, signature by `ak`, PCR digest. Adds the
// tpm.* claims of the quote and AK to `claims` and returns the parsed quote.
Result<Quote> VerifyQuoteWithAk(const TpmQuoteInput& in, EVP_PKEY* ak, Claims& claims);

class TpmVerifier final : public Verifier {
 public:
  explicit TpmVerifier(TpmVerifierOptions options);
  std::string_view type() const override { return "tpm"; }
  // Errors: kMalformedEvidence (members missing, unknown, oversized, not decoding: reasons
  // malformed_evidence, tpm_attest_malformed, tpm_signature_malformed, tpm_public_malformed,
  // tpm_pcrs_malformed), kVerificationFailed (tpm_signature_invalid, tpm_pcr_mismatch,
  // tpm_pcr_missing, tpm_ak_attributes, tpm_ak_attributes_unproven, tpm_ak_weak,
  // tpm_ak_cert_ca, tpm_ak_cert_usage, tpm_ak_mismatch, tpm_ak_not_enrolled,
  // cert_chain_untrusted, cert_expired, ...), kUnavailable (enrolment store).
  // Claims: tpm.*, tee = "tpm", report_data; no `debug` (a TPM has no debug mode).
  Result<VerifiedEvidence> Verify(const Json& evidence) const override;
  // As at state.time; an AK certificate chains to the CA kept as "tpm_ak_ca", an `ak_id` names
  // the enrolment kept as "tpm_ak_enrolment" + "tpm_ak_public" (even if deleted since). Names
  // not kept: today's anchors / enrolments.
  Result<VerifiedEvidence> VerifyRecorded(const Json& evidence,
                                          const RecordedState& state) const override;

 private:
  Result<VerifiedEvidence> VerifyImpl(const Json& evidence, const RecordedState* state) const;
  TpmVerifierOptions options_;
};

// Parses the `pcrs` member: {"<bank>": {"<index>": "<hex of the bank's digest size>"}}.
// Errors: kMalformedEvidence reason tpm_pcrs_malformed.
Result<PcrValues> ParsePcrsJson(const Json& pcrs);

}  // namespace skr::attestation::tpm
