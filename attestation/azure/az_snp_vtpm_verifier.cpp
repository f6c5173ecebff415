// SPDX-License-Identifier: Apache-2.0
#include "attestation/azure/az_snp_vtpm_verifier.h"

#include <algorithm>

#include "attestation/azure/vtpm_evidence.h"
#include "common/encoding.h"
#include "common/ossl.h"

namespace skr::attestation::azure {
namespace {

Error Malformed(const std::string& msg, const char* reason = "malformed_evidence") {
  return Error(ErrorCode::kMalformedEvidence, "az-snp-vtpm evidence: " + msg, reason);
}

constexpr std::size_t kMaxVcekPem = snp::kMaxSnpEvidenceCertBytes;
constexpr std::size_t kSnpReportDataOffset = 0x50;  // ATTESTATION_REPORT.REPORT_DATA (64 bytes)

bool Listed(const std::vector<std::string>& list, const Claims& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end() || !it->second.is_string()) return false;
  const auto& value = it->second.get_ref<const std::string&>();
  return std::find(list.begin(), list.end(), value) != list.end();
}

// Nothing in an HCL report ties it to Azure: the runtime data (HCLAkPub, vm-configuration) is
// whatever the VMPL0 software wrote. What the AMD firmware vouches for is the launch identity:
// MEASUREMENT (the launch digest) and ID_KEY_DIGEST (the key that signed the ID block, whose
// signature and launch digest the firmware checked at SNP_LAUNCH_FINISH; SEV-SNP Firmware ABI,
// section 8.18 and ATTESTATION_REPORT 0xE0). Returns which list matched.
Result<std::string> CheckParavisor(const Claims& snp_claims, const AzureOptions& options) {
  if (options.trusted_id_key_digests.empty() && options.trusted_measurements.empty()) {
    return Error(ErrorCode::kVerificationFailed,
                 "az-snp-vtpm evidence refused: no trusted Azure paravisor is configured "
                 "([attestation.azure] trusted_id_key_digests / trusted_measurements are empty)",
                 "azure_paravisor_untrusted");
  }
  // The launch identity describes the whole launch, not the privilege level that asked for the
  // report: only the paravisor itself runs at VMPL0, so a report from VMPL1-3 of a genuine launch
  // (the guest under the paravisor) vouches for nothing the paravisor says.
  auto vmpl = snp_claims.find("snp.vmpl");
  if (vmpl == snp_claims.end() || !vmpl->second.is_number_integer() ||
      vmpl->second.get<std::int64_t>() != 0) {
    return Error(ErrorCode::kVerificationFailed,
                 "az-snp-vtpm evidence refused: the SNP report was not requested at VMPL0 (the "
                 "paravisor's level)",
                 "azure_paravisor_untrusted");
  }
  // A debuggable or migratable paravisor launch (possible when it is trusted by measurement, i.e.
  // without an ID block that fixes the guest policy) lets the host read and rewrite the
  // paravisor's memory, so it vouches for nothing either.
  for (const char* bit : {"snp.policy.debug", "snp.policy.migrate_ma"}) {
    auto it = snp_claims.find(bit);
    if (it != snp_claims.end() && it->second.is_boolean() && it->second.get<bool>()) {
      return Error(ErrorCode::kVerificationFailed,
                   std::string("az-snp-vtpm evidence refused: the paravisor was launched with ") +
                       bit + " set",
                   "azure_paravisor_untrusted");
    }
  }
  // An all-zero ID_KEY_DIGEST means "launched without an ID block": never an identity.
  auto id = snp_claims.find("snp.id_key_digest");
  const bool has_id_key = id != snp_claims.end() && id->second.is_string() &&
                          id->second.get_ref<const std::string&>() != std::string(96, '0');
  if (has_id_key && Listed(options.trusted_id_key_digests, snp_claims, "snp.id_key_digest")) {
    return std::string("id_key_digest");
  }
  if (Listed(options.trusted_measurements, snp_claims, "snp.measurement")) {
    return std::string("measurement");
  }
  return Error(ErrorCode::kVerificationFailed,
               "az-snp-vtpm evidence refused: the SNP report's launch identity is not a trusted "
               "Azure paravisor (add it to [attestation.azure] trusted_id_key_digests or "
               "trusted_measurements when Azure updates its paravisor)",
               "azure_paravisor_untrusted");
}

}  // namespace

const std::vector<std::string>& DefaultTrustedIdKeyDigests() {
  // ID_KEY_DIGEST (SEV-SNP Firmware ABI, ATTESTATION_REPORT 0xE0..0x10F) of the real Azure
  // confidential VM reports in ../shared/testdata/azure: the Milan bundle (hcl_version 1) and the
  // Genoa bundle (hcl_version 2). Their measurements differ per paravisor build; the ID key that
  // signed the launch ID block is Microsoft's, so it identifies the paravisor across builds.
  static const std::vector<std::string> kDigests = {
      "0356215882a825279a85b300b0b742931d113bf7e32dde2e50ffde7ec743ca491ecdd7f336dc28a6e0b2bb57af7a44a3",
      "942fd93ebde6ea7a96efadeafc60f1c6b3d10e703b1dafd7555b92f7f3d32d0e006767648cba5b102af3d65756af4177",
  };
  return kDigests;
}

Result<VerifiedEvidence> AzSnpVtpmVerifier::Verify(const Json& evidence) const {
  return VerifyImpl(evidence, nullptr);
}

Result<VerifiedEvidence> AzSnpVtpmVerifier::VerifyRecorded(const Json& evidence,
                                                           const RecordedState& state) const {
  return VerifyImpl(evidence, &state);
}

Result<VerifiedEvidence> AzSnpVtpmVerifier::VerifyImpl(const Json& evidence,
                                                       const RecordedState* state) const {
  // ---- Parse ----
  SKR_TRY(VtpmEvidence ev,
          ParseVtpmEvidence(evidence, "az-snp-vtpm", "vcek", HclReportType::kSnp));
  auto vcek = evidence.find("vcek");
  if (vcek != evidence.end() &&
      (!vcek->is_string() || vcek->get_ref<const std::string&>().size() > kMaxVcekPem)) {
    return Malformed("'vcek' must be a PEM string of at most 96 KiB");
  }

  // ---- Verify the hardware report through the sev-snp verifier ----
  Json snp_ev = {{"type", "sev-snp"}, {"report", Base64Encode(ev.hcl.hw_report())}};
  if (vcek != evidence.end()) {
    // A PEM bundle (VCEK, ASK, ARK) goes in as cert_chain, whose first certificate is the leaf.
    snp_ev["cert_chain"] = vcek->get<std::string>();
  }
  SKR_TRY(VerifiedEvidence snp_out,
          state != nullptr ? snp_.VerifyRecorded(snp_ev, *state) : snp_.Verify(snp_ev));
  // ---- Validate: the launch identity is a trusted Azure paravisor (issue 9, item 1) ----
  SKR_TRY(std::string trusted_by, CheckParavisor(snp_out.claims, options_));

  // ---- The runtime data (holding the AK) is what the hardware report vouches for ----
  const std::span<const std::uint8_t> report_data(ev.hcl.hw_report().data() + kSnpReportDataOffset,
                                                  64);
  SKR_TRY_VOID(CheckRuntimeDataBinding(report_data, ev.hcl, "az-snp-vtpm", "SNP"));

  // ---- The TPM quote, then the claims ----
  VerifiedEvidence out;
  out.type = "az-snp-vtpm";
  out.claims = std::move(snp_out.claims);
  // What the SNP report's verification relied on (the CRLs in force; the VCEK is in the evidence).
  out.collateral = std::move(snp_out.collateral);
  out.collateral_bytes = std::move(snp_out.collateral_bytes);
  SKR_TRY_VOID(VerifyVtpmQuote(ev, "az-snp-vtpm", out));
  out.claims["azure.paravisor.trusted_by"] = trusted_by;
  out.claims["azure.hw_report_data"] = HexEncode(report_data);
  return out;
}

}  // namespace skr::attestation::azure
