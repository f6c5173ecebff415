// SPDX-License-Identifier: Apache-2.0
// TPM 2.0 evidence from inside a machine (DESIGN.md section 3, evidence.type "tpm"), through the
// TSS2 Enhanced System API (ESAPI). The TCTI comes from --tcti, else TPM2TOOLS_TCTI, else the
// kernel resource manager ("device:/dev/tpmrm0"); tests use swtpm ("swtpm:host=127.0.0.1,port=N").
//
// Keys (none is persisted; both are primary keys re-derived from the endorsement seed, so the
// same TPM yields the same keys at every boot):
//   - EK: TCG EK Credential Profile 2.0 template L-1 (RSA 2048, SHA-256, AES-128-CFB, PolicyA;
//     certificate at NV index 0x01c00002) or L-2 (ECC NIST P-256, same policy and symmetric
//     definition; certificate at 0x01c0000a), the key the manufacturer's EK certificate certifies;
//   - AK: a restricted signing key (fixedTPM, fixedParent, sensitiveDataOrigin, userWithAuth,
//     restricted, sign) in the endorsement hierarchy, ECC P-256 / ECDSA-SHA256 (default; fast to
//     derive on hardware TPMs) or RSA 2048 / RSASSA-SHA256.
// Enrolment (skrctl tpm enroll) sends the EK certificate and AK public area to skrd and answers
// its MakeCredential challenge with TPM2_ActivateCredential; skr-agent then quotes with the AK.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "client/sample_attester.h"
#include "common/json.h"
#include "common/result.h"
#include "common/secret_bytes.h"

namespace skr::client {

enum class TpmAkType { kEccP256, kRsa2048 };
// "ecc" | "rsa". Errors: kInvalidArgument.
Result<TpmAkType> ParseTpmAkType(std::string_view text);
// The EK used for enrolment: TCG EK Credential Profile template L-1 (RSA 2048, certificate at NV
// 0x01c00002) or L-2 (ECC NIST P-256, certificate at NV 0x01c0000a).
enum class TpmEkType { kRsa2048, kEccP256 };
// "rsa" | "ecc". Errors: kInvalidArgument.
Result<TpmEkType> ParseTpmEkType(std::string_view text);

// PCR selection: bank name -> ascending indexes.
struct TpmPcrBank {
  std::string bank;  // "sha1" | "sha256" | "sha384" | "sha512"
  std::vector<unsigned> indexes;
};
// "sha256:0,1,2,7" or "sha256:0-7+sha1:0" (banks joined by '+', ranges allowed).
// Errors: kInvalidArgument.
Result<std::vector<TpmPcrBank>> ParsePcrSpec(std::string_view spec);
// From a challenge hint {"sha256": [0, 7], ...}. Errors: kInvalidArgument.
Result<std::vector<TpmPcrBank>> PcrSelectionFromJson(const Json& hint);

// The TCTI configuration in use: `flag` if set, else $TPM2TOOLS_TCTI, else "device:/dev/tpmrm0".
std::string ResolveTcti(const std::string& flag);

// skr-agent's --tcti is filled by the Clevis pin from the LUKS header, which the host can write.
// The TCTI loader would dlopen a library named by it and "cmd:" runs a shell command, so from
// there only the kernel device TCTI is accepted: "device:" then an absolute path under /dev/ of
// [A-Za-z0-9._/-] with no "." or ".." component, at most 128 characters. Other TCTIs (swtpm,
// mssim) come from the local side: $TPM2TOOLS_TCTI or the local agent config (local_config.h).
// Errors: kPermissionDenied reason "untrusted_tcti".
Result<void> ValidateDeviceTcti(std::string_view tcti);
// skr-agent's --event-log from the same untrusted source: only "none" or the securityfs log
// (TpmAttesterOptions::kDefaultEventLog); any other file would be read and sent to the server.
// Errors: kPermissionDenied reason "untrusted_event_log".
Result<void> ValidateEventLogOption(std::string_view path);

class TpmDevice {
 public:
  // Errors: kUnavailable reason "tpm_unavailable" when the TCTI or ESAPI cannot start.
  static Result<std::unique_ptr<TpmDevice>> Open(const std::string& tcti, TpmAkType ak_type,
                                                 TpmEkType ek_type = TpmEkType::kRsa2048);
  ~TpmDevice();
  TpmDevice(const TpmDevice&) = delete;
  TpmDevice& operator=(const TpmDevice&) = delete;

  // The EK certificate from NV index 0x01c00002 (RSA) or 0x01c0000a (ECC), as PEM. Errors: kNotFound reason
  // "tpm_ek_cert_missing", kUnavailable on TPM errors.
  Result<std::string> EkCertificatePem();
  // Marshalled TPMT_PUBLIC of the EK / AK (created on first use).
  Result<std::vector<std::uint8_t>> EkPublic();
  Result<std::vector<std::uint8_t>> AkPublic();
  // TPM2_ActivateCredential with the AK as the activated object and the EK as the decryption key
  // (PolicySecret(TPM_RH_ENDORSEMENT) session for the EK). Inputs are the marshalled
  // TPM2B_ID_OBJECT / TPM2B_ENCRYPTED_SECRET from skrd. Errors: kVerificationFailed reason
  // "tpm_activation_failed" when the TPM refuses (wrong EK or AK), kMalformedEvidence.
  Result<SecretBytes> ActivateCredential(std::span<const std::uint8_t> credential_blob,
                                         std::span<const std::uint8_t> encrypted_secret);

  struct QuoteOutput {
    std::vector<std::uint8_t> attest;     // TPMS_ATTEST
    std::vector<std::uint8_t> signature;  // marshalled TPMT_SIGNATURE
    Json pcrs;                            // {"sha256": {"0": "hex", ...}}
  };
  // TPM2_PCR_Read of the selection, then TPM2_Quote with qualifyingData = extra_data (the AK's
  // scheme). Re-reads and re-quotes (up to 3 times) if a PCR changes in between, so the values
  // always match the quote's pcrDigest. Errors: kUnavailable / kMalformedEvidence.
  Result<QuoteOutput> Quote(const std::vector<TpmPcrBank>& selection,
                            std::span<const std::uint8_t> extra_data);

 private:
  struct Impl;
  explicit TpmDevice(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct TpmAttesterOptions {
  std::string tcti;                  // see ResolveTcti
  TpmAkType ak_type = TpmAkType::kEccP256;
  std::string ak_id;                 // the enrolment id from `skrctl tpm enroll`
  std::vector<TpmPcrBank> pcrs;      // empty: the challenge hint, else sha256:0-7
  // TCG measured-boot event log sent as `event_log` (skrd replays it against the quoted PCRs).
  // Default: the kernel's securityfs copy when it exists; "none" disables; an explicit path
  // that cannot be read is an error.
  std::string event_log = std::string(kDefaultEventLog);
  static constexpr const char* kDefaultEventLog = "/sys/kernel/security/tpm0/binary_bios_measurements";
};

// {"type":"tpm","quote","signature","pcrs","ak_id","ak_public","event_log"?}.
class TpmAttester final : public EvidenceProvider {
 public:
  explicit TpmAttester(TpmAttesterOptions options) : options_(std::move(options)) {}
  bool WantsChallengeHints() const override { return options_.pcrs.empty(); }
  void OnChallenge(const Json& challenge) override;
  Result<Json> Collect(std::span<const std::uint8_t, 48> digest) override;

 private:
  TpmAttesterOptions options_;
  std::vector<TpmPcrBank> hinted_;
};

}  // namespace skr::client
