// SPDX-License-Identifier: Apache-2.0
// Synthetic-but-real TPM 2.0 and Azure vTPM evidence for tests and the load generator: TPM
// structures marshalled with libtss2-mu (TCG TPM 2.0 Library Part 2 encodings), signed with real
// OpenSSL keys, and Azure HCL reports in the layout of attestation/azure/hcl_report.h. Written
// independently of attestation/tpm and attestation/azure so that tests cross-check them.
// Test keys only. Failures are programming errors in a test and throw std::runtime_error (as
// amd_test_pki.h does); nothing here is used by a production binary.
#pragma once

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/ossl.h"

namespace skr::test {

// One bank of a TPML_PCR_SELECTION (Part 2, 10.6.2 TPMS_PCR_SELECTION).
struct TpmPcrBank {
  TPM2_ALG_ID hash = TPM2_ALG_SHA256;
  std::vector<unsigned> indexes;  // 0..23; marshalled as a bitmap, so the order is irrelevant
};
// Banks in TPML_PCR_SELECTION order.
using TpmPcrSelection = std::vector<TpmPcrBank>;
// PCR values: bank name ("sha1", "sha256", "sha384", "sha512") -> index -> value. The same type
// as skr::attestation::tpm::PcrValues, so values pass straight to VerifyPcrDigest.
using TpmPcrValues =
    std::map<std::string, std::map<unsigned, std::vector<std::uint8_t>>, std::less<>>;

// "sha256" etc. for a hash algorithm id (throws for others).
std::string TpmBankName(TPM2_ALG_ID hash);
// SHA-256 bank, PCRs first..last.
TpmPcrSelection Sha256Pcrs(unsigned first, unsigned last);
// A distinct, recognisable value for every selected PCR (bank digest size, byte i = seed+index+i).
TpmPcrValues SyntheticPcrValues(const TpmPcrSelection& selection, std::uint8_t seed = 0x30);

// pcrDigest of TPM2_Quote (Part 3, 18.4): `hash` over the selected PCR values concatenated in
// selection order (banks as listed, ascending index within a bank). Throws when a selected PCR
// has no value or a value has the wrong size for its bank.
std::vector<std::uint8_t> ComputePcrDigest(const TpmPcrSelection& selection,
                                           const TpmPcrValues& values,
                                           TPM2_ALG_ID hash = TPM2_ALG_SHA256);

// The fields of a TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE (Part 2, 10.12.12). Defaults look like
// the Azure vTPM's quotes (firmware 0x2020031200120003, clock safe, 48-byte extraData).
struct QuoteSpec {
  std::vector<std::uint8_t> qualified_signer;  // TPM2B_NAME bytes, e.g. TpmName(...) of the AK
  std::vector<std::uint8_t> extra_data = std::vector<std::uint8_t>(48, 0xA5);  // <= 64 bytes
  std::uint64_t clock = 1413298427;
  std::uint32_t reset_count = 53;
  std::uint32_t restart_count = 0;
  bool safe = true;
  std::uint64_t firmware_version = 0x2020031200120003ULL;
  TpmPcrSelection selection = Sha256Pcrs(0, 7);
  // Values of the selected PCRs; the default pcrDigest is computed over them.
  TpmPcrValues pcrs = SyntheticPcrValues(Sha256Pcrs(0, 7));
  // The hash of the pcrDigest: a TPM uses the signing scheme's hash (SHA-384 for ECDSA-SHA384).
  TPM2_ALG_ID digest_hash = TPM2_ALG_SHA256;
  // When set, used as pcrDigest as is (to build inconsistent quotes).
  std::optional<std::vector<std::uint8_t>> pcr_digest_override;
  // Defaults to TPM_ST_ATTEST_QUOTE; others build a wrong-type attestation with a quote body.
  TPM2_ST type = TPM2_ST_ATTEST_QUOTE;
};

// The marshalled TPMS_ATTEST (what the TPM signs).
std::vector<std::uint8_t> MarshalQuoteAttest(const QuoteSpec& spec);

enum class TpmSigScheme {
  kRsassaSha256,  // TPM_ALG_RSASSA (PKCS#1 v1.5), RSA key
  kRsapssSha256,  // TPM_ALG_RSAPSS, salt = digest size (Part 1, B.7), RSA key
  kEcdsaSha256,   // TPM_ALG_ECDSA, P-256 key
  kEcdsaSha384,   // TPM_ALG_ECDSA, P-384 key
};
TPM2_ALG_ID SchemeHash(TpmSigScheme scheme);

// A marshalled TPMT_SIGNATURE (Part 2, 11.3.4) over the exact `attest` bytes, signed by `ak`.
// ECDSA R and S are left-padded to the curve size, as a TPM returns them. ECDSA also signs with
// keys no TPM holds (P-521, secp256k1), so tests can present them as AKs.
std::vector<std::uint8_t> SignQuote(std::span<const std::uint8_t> attest, EVP_PKEY* ak,
                                    TpmSigScheme scheme);
// The bare RSA signature inside a marshalled RSASSA/RSAPSS TPMT_SIGNATURE (the form Trustee's
// az-snp-vtpm evidence carries).
std::vector<std::uint8_t> BareRsaSignature(std::span<const std::uint8_t> tpmt_signature);

// TPMA_OBJECT of a TCG attestation key: fixedTPM | fixedParent | sensitiveDataOrigin |
// userWithAuth | restricted | sign (Part 2, 8.3; TCG EK/AK profile).
inline constexpr TPMA_OBJECT kAkAttributes =
    TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;

// A marshalled TPMT_PUBLIC (Part 2, 12.2.4) for an RSA-2048 (exponent 0 = 65537 when e is
// 65537; RSASSA-SHA256) or ECC P-256 / P-384 (ECDSA-SHA256 / -SHA384) key, nameAlg SHA-256, no
// authPolicy, symmetric NULL. Throws for other key types.
std::vector<std::uint8_t> MarshalAkPublic(EVP_PKEY* ak, TPMA_OBJECT attributes = kAkAttributes);
// The same as a TPM2B_PUBLIC (UINT16 size, then the TPMT_PUBLIC).
std::vector<std::uint8_t> MarshalAkPublic2B(EVP_PKEY* ak, TPMA_OBJECT attributes = kAkAttributes);
// The object's Name (Part 1, 16 "Names"): nameAlg (SHA-256, big-endian UINT16) || SHA-256 of the
// marshalled TPMT_PUBLIC; what a quote's qualifiedSigner holds for a key in the endorsement
// hierarchy's descendants (here: the key's own Name).
std::vector<std::uint8_t> TpmName(std::span<const std::uint8_t> tpmt_public);

// The Qualified Name of a primary object in `hierarchy` (Part 1, 16 "Names"): nameAlg (SHA-256)
// || SHA-256(handle, big-endian UINT32 || Name); what a real TPM's quote carries as
// qualifiedSigner for a primary AK (e.g. TPM2_RH_ENDORSEMENT for GCE's and skr-agent's AKs).
// `name` must be a SHA-256 Name (TpmName).
std::vector<std::uint8_t> TpmQualifiedName(std::span<const std::uint8_t> name,
                                           TPM2_HANDLE hierarchy);

// Azure HCL report (attestation/azure/hcl_report.h): header "HCLA", version 2, request_type 2,
// status 0; the hardware report (an SNP report of 0x4A0 bytes, or a 1024-byte TDREPORT) zero
// padded to 0x4A0; runtime data header (version 1, `report_type` 2 = SNP / 4 = TDX, hash_type 1 =
// SHA-256); the runtime JSON; zero padding up to 2600 bytes (the vTPM NV index size Azure
// returns).
std::vector<std::uint8_t> MakeAzureHclReport(std::span<const std::uint8_t> hw_report,
                                             std::string_view runtime_json,
                                             std::uint32_t report_type = 2);
// Runtime claims JSON shaped like Azure's (compact, members in Azure's order):
//   {"keys":[{"kid":"HCLAkPub","key_ops":["sign"],"kty":"RSA","e":..,"n":..}
//            (, {"kid":"HCLEkPub","key_ops":["encrypt"],...} when rsa_ek is given)],
//    "vm-configuration":{"console-enabled":true,"root-cert-thumbprint":..,"secure-boot":true,
//                        "tpm-enabled":true,"tpm-persisted":true,"vmUniqueId":..},
//    "user-data":"00..00" (128 hex digits)}
std::string AzureRuntimeJson(
    EVP_PKEY* rsa_ak, EVP_PKEY* rsa_ek = nullptr,
    std::string_view vm_unique_id = "5E6C1F0A-7B3D-4C2E-9A81-0D4F6B2C3A17");

// az-snp-vtpm evidence as AzSnpVtpmVerifier::Verify expects it, byte strings as base64:
// {"type":"az-snp-vtpm","report":..,"vcek":<PEM>,"quote":{"message":..,"signature":..,
//  "pcrs":[PCR 0, PCR 1, ...]}} with `sha256_pcrs` the SHA-256 bank values by index.
Json AzSnpVtpmEvidence(std::span<const std::uint8_t> hcl_report, std::string_view vcek_pem,
                       std::span<const std::uint8_t> attest,
                       std::span<const std::uint8_t> signature,
                       const std::vector<std::vector<std::uint8_t>>& sha256_pcrs);

// The same for az-tdx-vtpm: {"type":"az-tdx-vtpm","report":..,"td_quote":..,"quote":{...}}.
Json AzTdxVtpmEvidence(std::span<const std::uint8_t> hcl_report,
                       std::span<const std::uint8_t> td_quote, std::span<const std::uint8_t> attest,
                       std::span<const std::uint8_t> signature,
                       const std::vector<std::vector<std::uint8_t>>& sha256_pcrs);

// A test AK certificate authority, shaped like a cloud's vTPM AK CA (tpm evidence with
// `ak_cert`, trusted through [attestation.tpm] ak_roots): an ECDSA P-256 CA whose key derives from
// `seed` (SeededTestP256), so a benchmark's setup tool and its load generator share it.
class TpmTestAkCa {
 public:
  explicit TpmTestAkCa(std::string_view seed);
  std::string RootPem() const;
  // A certificate for `ak` (keyUsage digitalSignature, not a CA), valid from a day ago.
  std::string IssueAkCert(EVP_PKEY* ak, long serial) const;

 private:
  EvpPkeyPtr key_;
  X509Ptr cert_;
};

// `tpm` evidence by a certified primary AK of the standard template (ECC P-256, ECDSA-SHA256, in
// the endorsement hierarchy): a quote over SHA-256 PCRs 0..7 (SyntheticPcrValues) with
// `extra_data`, the marshalled TPMT_PUBLIC (ak_public) and the AK certificate.
Json CertifiedTpmEvidence(EVP_PKEY* ak, const std::string& ak_cert_pem,
                          std::span<const std::uint8_t> extra_data, std::uint64_t clock = 1000);

// A minimal TCG crypto-agile event log (PC Client PFP section 10; SHA-256 bank only): the Spec ID
// event, then one EV_EFI_VARIABLE_DRIVER_CONFIG event in PCR 7 for the EFI global variable
// "SecureBoot" = `secure_boot`. `pcr7_event_digest` is the digest extended into PCR 7 (corrupted,
// so it no longer hashes the event data, when asked), `pcr7` the value PCR 7 replays to from zero.
struct SecureBootEventLog {
  std::vector<std::uint8_t> log;
  std::vector<std::uint8_t> pcr7_event_digest;
  std::vector<std::uint8_t> pcr7;
};
SecureBootEventLog MakeSecureBootEventLog(std::uint8_t secure_boot, bool corrupt_variable_digest = false);

}  // namespace skr::test
