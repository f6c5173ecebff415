// SPDX-License-Identifier: Apache-2.0
// The claim catalogue table. Sources of each row: attestation/snp/claims.cpp (SEV-SNP Firmware
// ABI 56860, ATTESTATION_REPORT), attestation/tpm/quote.cpp + tpm_verifier.cpp + event_log.cpp
// (TCG TPM 2.0 Part 2 TPMS_ATTEST / TPMS_QUOTE_INFO), attestation/azure/* (Azure HCL report),
// attestation/sample/sample_verifier.cpp, attestation/tdx/verify.cpp + tdx_verifier.cpp (Intel TDX
// DCAP quote v4/v5 TD report body; TCB status from the collateral). tests/attestation check real evidence against it.
#include "policy/claim_catalogue.h"

#include "common/encoding.h"

#include <algorithm>
#include <array>

namespace skr::policy {
namespace {

using T = ClaimType;
constexpr std::uint8_t kSnp = kTeeSevSnp | kTeeAzSnpVtpm;  // SNP report claims (Azure too)
constexpr std::uint8_t kQuote = kTeeTpm | kTeeAzSnpVtpm | kTeeAzTdxVtpm;  // TPM quote claims (Azure vTPM too)
constexpr std::uint8_t kTdx = kTeeTdx | kTeeAzTdxVtpm;     // TD quote claims (Azure TDX too)
constexpr std::uint8_t kAzure = kTeeAzSnpVtpm | kTeeAzTdxVtpm;  // HCL report claims

// clang-format off
constexpr ClaimSpec kCatalogue[] = {
  // Common claims (DESIGN.md section 3).
  {"tee", T::kString, 0, kAllTees, "sev-snp|az-snp-vtpm|tpm|sample|tdx|az-tdx-vtpm", "the evidence type"},
  {"debug", T::kBool, 0, kSnp | kTeeSample | kTdx, "", "the TEE is debuggable (a TPM has no debug mode)"},
  {"report_data", T::kHex, 0, kAllTees, "", "the bound data as found in the evidence (per boot)"},
  // SEV-SNP ATTESTATION_REPORT.
  {"snp.version", T::kInteger, 0, kSnp, "", "report format version"},
  {"snp.guest_svn", T::kInteger, 0, kSnp, "", "guest security version number"},
  {"snp.vmpl", T::kInteger, 0, kSnp, "", "VM privilege level that requested the report"},
  {"snp.policy", T::kInteger, 0, kSnp, "", "guest policy, raw 64-bit value"},
  {"snp.policy.abi_minor", T::kInteger, 0, kSnp, "", "minimum firmware ABI minor"},
  {"snp.policy.abi_major", T::kInteger, 0, kSnp, "", "minimum firmware ABI major"},
  {"snp.policy.smt", T::kBool, 0, kSnp, "", "SMT allowed"},
  {"snp.policy.migrate_ma", T::kBool, 0, kSnp, "", "migration agent allowed (needs an explicit allow)"},
  {"snp.policy.debug", T::kBool, 0, kSnp, "", "debugging allowed (needs an explicit allow)"},
  {"snp.policy.single_socket", T::kBool, 0, kSnp, "", "single socket required"},
  {"snp.policy.cxl_allow", T::kBool, 0, kSnp, "", "CXL allowed"},
  {"snp.policy.mem_aes_256_xts", T::kBool, 0, kSnp, "", "AES-256-XTS memory encryption required"},
  {"snp.policy.rapl_dis", T::kBool, 0, kSnp, "", "RAPL disabled required"},
  {"snp.policy.ciphertext_hiding", T::kBool, 0, kSnp, "", "ciphertext hiding required"},
  {"snp.policy.page_swap_disable", T::kBool, 0, kSnp, "", "page swap disabled"},
  {"snp.family_id", T::kHex, 16, kSnp, "", "family id from the ID block"},
  {"snp.image_id", T::kHex, 16, kSnp, "", "image id from the ID block"},
  {"snp.measurement", T::kHex, 48, kSnp, "", "launch measurement"},
  {"snp.host_data", T::kHex, 32, kSnp, "", "data the host supplied at launch"},
  {"snp.id_key_digest", T::kHex, 48, kSnp, "", "SHA-384 of the ID key"},
  {"snp.author_key_digest", T::kHex, 48, kSnp, "", "SHA-384 of the author key"},
  {"snp.report_id", T::kHex, 32, kSnp, "", "report id of the guest (per launch)"},
  {"snp.report_id_ma", T::kHex, 32, kSnp, "", "report id of the migration agent"},
  {"snp.chip_id", T::kHex, 64, kSnp, "", "chip identifier (one machine)"},
  {"snp.author_key_en", T::kBool, 0, kSnp, "", "an author key signed the ID block"},
  {"snp.mask_chip_key", T::kBool, 0, kSnp, "", "chip key masked"},
  {"snp.signer", T::kString, 0, kSnp, "vcek|vlek", "key that signed the report"},
  {"snp.csp_id", T::kString, 0, kSnp, "", "cloud provider of a VLEK"},
  {"snp.product", T::kString, 0, kSnp, "Milan|Genoa|Turin", "processor product (from the AMD chain)"},
  {"snp.platform_info", T::kInteger, 0, kSnp, "", "platform info, raw 64-bit value"},
  {"snp.platform_info.smt_en", T::kBool, 0, kSnp, "", "SMT enabled"},
  {"snp.platform_info.tsme_en", T::kBool, 0, kSnp, "", "TSME enabled"},
  {"snp.platform_info.ecc_en", T::kBool, 0, kSnp, "", "ECC memory"},
  {"snp.platform_info.rapl_dis", T::kBool, 0, kSnp, "", "RAPL disabled"},
  {"snp.platform_info.ciphertext_hiding_en", T::kBool, 0, kSnp, "", "ciphertext hiding enabled"},
  {"snp.platform_info.alias_check_complete", T::kBool, 0, kSnp, "", "memory alias check done"},
  {"snp.platform_info.tio_en", T::kBool, 0, kSnp, "", "TIO enabled"},
  {"snp.current_tcb.bootloader", T::kInteger, 0, kSnp, "", "current TCB: bootloader SVN"},
  {"snp.current_tcb.tee", T::kInteger, 0, kSnp, "", "current TCB: PSP OS SVN"},
  {"snp.current_tcb.snp", T::kInteger, 0, kSnp, "", "current TCB: SNP firmware SVN"},
  {"snp.current_tcb.microcode", T::kInteger, 0, kSnp, "", "current TCB: microcode SVN"},
  {"snp.current_tcb.fmc", T::kInteger, 0, kSnp, "", "current TCB: FMC SVN (Turin)"},
  {"snp.reported_tcb.bootloader", T::kInteger, 0, kSnp, "", "reported TCB: bootloader SVN"},
  {"snp.reported_tcb.tee", T::kInteger, 0, kSnp, "", "reported TCB: PSP OS SVN"},
  {"snp.reported_tcb.snp", T::kInteger, 0, kSnp, "", "reported TCB: SNP firmware SVN"},
  {"snp.reported_tcb.microcode", T::kInteger, 0, kSnp, "", "reported TCB: microcode SVN"},
  {"snp.reported_tcb.fmc", T::kInteger, 0, kSnp, "", "reported TCB: FMC SVN (Turin)"},
  {"snp.committed_tcb.bootloader", T::kInteger, 0, kSnp, "", "committed TCB: bootloader SVN"},
  {"snp.committed_tcb.tee", T::kInteger, 0, kSnp, "", "committed TCB: PSP OS SVN"},
  {"snp.committed_tcb.snp", T::kInteger, 0, kSnp, "", "committed TCB: SNP firmware SVN"},
  {"snp.committed_tcb.microcode", T::kInteger, 0, kSnp, "", "committed TCB: microcode SVN"},
  {"snp.committed_tcb.fmc", T::kInteger, 0, kSnp, "", "committed TCB: FMC SVN (Turin)"},
  {"snp.launch_tcb.bootloader", T::kInteger, 0, kSnp, "", "launch TCB: bootloader SVN"},
  {"snp.launch_tcb.tee", T::kInteger, 0, kSnp, "", "launch TCB: PSP OS SVN"},
  {"snp.launch_tcb.snp", T::kInteger, 0, kSnp, "", "launch TCB: SNP firmware SVN"},
  {"snp.launch_tcb.microcode", T::kInteger, 0, kSnp, "", "launch TCB: microcode SVN"},
  {"snp.launch_tcb.fmc", T::kInteger, 0, kSnp, "", "launch TCB: FMC SVN (Turin)"},
  {"snp.current_version", T::kString, 0, kSnp, "", "firmware version major.minor.build"},
  {"snp.committed_version", T::kString, 0, kSnp, "", "committed firmware version major.minor.build"},
  {"snp.cpuid.family", T::kInteger, 0, kSnp, "", "CPUID family (report v3+)"},
  {"snp.cpuid.model", T::kInteger, 0, kSnp, "", "CPUID model (report v3+)"},
  {"snp.cpuid.stepping", T::kInteger, 0, kSnp, "", "CPUID stepping (report v3+)"},
  {"snp.launch_mit_vector", T::kInteger, 0, kSnp, "", "mitigations at launch (report v5+)"},
  {"snp.current_mit_vector", T::kInteger, 0, kSnp, "", "mitigations now (report v5+)"},
  // TPM 2.0 quotes (tpm, and the Azure vTPM).
  {"tpm.pcr.sha1.<pcr>", T::kHex, 20, kQuote, "", "a quoted PCR of the SHA-1 bank"},
  {"tpm.pcr.sha256.<pcr>", T::kHex, 32, kQuote, "", "a quoted PCR of the SHA-256 bank"},
  {"tpm.pcr.sha384.<pcr>", T::kHex, 48, kQuote, "", "a quoted PCR of the SHA-384 bank"},
  {"tpm.pcr.sha512.<pcr>", T::kHex, 64, kQuote, "", "a quoted PCR of the SHA-512 bank"},
  {"tpm.pcr.sm3_256.<pcr>", T::kHex, 32, kQuote, "", "a quoted PCR of the SM3-256 bank"},
  {"tpm.firmware_version", T::kInteger, 0, kQuote, "", "TPM firmware version"},
  {"tpm.clock.safe", T::kBool, 0, kQuote, "", "TPM clock safe flag"},
  {"tpm.clock.reset_count", T::kInteger, 0, kQuote, "", "TPM resets (changes per boot)"},
  {"tpm.clock.restart_count", T::kInteger, 0, kQuote, "", "TPM restarts"},
  {"tpm.extra_data", T::kHex, 0, kQuote, "", "the quote's qualifying data (per boot)"},
  {"tpm.qualified_signer", T::kHex, 0, kQuote, "", "qualified name of the AK"},
  {"tpm.ak.type", T::kString, 0, kQuote, "rsa|ecc", "AK algorithm"},
  {"tpm.ak.bits", T::kInteger, 0, kQuote, "", "AK size in bits"},
  {"tpm.ak.sha256", T::kHex, 32, kQuote, "", "SHA-256 of the AK's SubjectPublicKeyInfo"},
  {"tpm.ak.trust", T::kString, 0, kTeeTpm, "certificate|enrolled", "why the AK is trusted"},
  {"tpm.ak.ca_sha256", T::kHex, 32, kTeeTpm, "", "SHA-256 of the CA the AK certificate chains to"},
  {"tpm.ak.cert_sha256", T::kHex, 32, kTeeTpm, "", "SHA-256 of the AK certificate"},
  {"tpm.ak.id", T::kString, 0, kTeeTpm, "", "enrolment id of the AK"},
  {"tpm.ak.tenant", T::kString, 0, kTeeTpm, "", "tenant that enrolled the AK"},
  {"tpm.ak.name", T::kString, 0, kTeeTpm, "", "machine name given at enrolment"},
  {"tpm.gce.zone", T::kString, 0, kTeeTpm, "", "GCE zone (Google AK certificate)"},
  {"tpm.gce.project_number", T::kInteger, 0, kTeeTpm, "", "GCE project number"},
  {"tpm.gce.project_id", T::kString, 0, kTeeTpm, "", "GCE project id"},
  {"tpm.gce.instance_id", T::kInteger, 0, kTeeTpm, "", "GCE instance id"},
  {"tpm.gce.instance_name", T::kString, 0, kTeeTpm, "", "GCE instance name"},
  {"tpm.gce.security_version", T::kInteger, 0, kTeeTpm, "", "GCE shielded VM security version"},
  {"tpm.gce.is_production", T::kBool, 0, kTeeTpm, "", "GCE production instance"},
  {"tpm.event_log.events", T::kInteger, 0, kTeeTpm, "", "events in the replayed boot log"},
  {"tpm.event_log.pcrs", T::kIntegerList, 0, kTeeTpm, "", "PCRs the boot log was checked for"},
  {"tpm.secure_boot.enabled", T::kBool, 0, kTeeTpm, "", "UEFI secure boot on (from the boot log)"},
  // Azure confidential VMs (HCL report + vTPM).
  {"azure.hcl_version", T::kInteger, 0, kAzure, "", "HCL report version"},
  {"azure.report_type", T::kString, 0, kAzure, "snp|tdx", "hardware report inside the HCL report"},
  {"azure.paravisor.trusted_by", T::kString, 0, kAzure, "", "why the paravisor is trusted"},
  {"azure.hw_report_data", T::kHex, 64, kAzure, "", "the hardware report's REPORT_DATA"},
  {"azure.user_data", T::kHex, 0, kAzure, "", "HCL runtime user-data (lowercase)"},
  {"azure.vm_configuration.<name>", T::kAny, 0, kAzure, "", "HCL vm-configuration member"},
  // Intel TDX quotes (TD report body, PCK certificate, TCB status from the collateral).
  {"tdx.quote_version", T::kInteger, 0, kTdx, "", "quote format version (4 or 5)"},
  {"tdx.mrtd", T::kHex, 48, kTdx, "", "measurement of the initial TD contents"},
  {"tdx.rtmr0", T::kHex, 48, kTdx, "", "runtime measurement register 0 (firmware)"},
  {"tdx.rtmr1", T::kHex, 48, kTdx, "", "runtime measurement register 1 (boot loader, kernel)"},
  {"tdx.rtmr2", T::kHex, 48, kTdx, "", "runtime measurement register 2 (OS)"},
  {"tdx.rtmr3", T::kHex, 48, kTdx, "", "runtime measurement register 3"},
  {"tdx.mrconfigid", T::kHex, 48, kTdx, "", "software-defined configuration id"},
  {"tdx.mrowner", T::kHex, 48, kTdx, "", "software-defined owner id"},
  {"tdx.mrownerconfig", T::kHex, 48, kTdx, "", "software-defined owner configuration"},
  {"tdx.mrseam", T::kHex, 48, kTdx, "", "measurement of the TDX module"},
  {"tdx.mrsignerseam", T::kHex, 48, kTdx, "", "signer of the TDX module"},
  {"tdx.mrservicetd", T::kHex, 48, kTdx, "", "service TD measurement (TD 1.5 bodies)"},
  {"tdx.seam_attributes", T::kHex, 8, kTdx, "", "TDX module attributes"},
  {"tdx.td_attributes", T::kHex, 8, kTdx, "", "TD attributes, raw (little-endian)"},
  {"tdx.td_attributes.debug", T::kBool, 0, kTdx, "", "debug TD (needs an explicit allow)"},
  {"tdx.td_attributes.sept_ve_disable", T::kBool, 0, kTdx, "", "EPT violations not converted to #VE"},
  {"tdx.td_attributes.pks", T::kBool, 0, kTdx, "", "supervisor protection keys allowed"},
  {"tdx.td_attributes.kl", T::kBool, 0, kTdx, "", "key locker allowed"},
  {"tdx.td_attributes.perfmon", T::kBool, 0, kTdx, "", "performance monitoring allowed"},
  {"tdx.xfam", T::kHex, 8, kTdx, "", "extended features allowed (XFAM)"},
  {"tdx.tee_tcb_svn", T::kHex, 16, kTdx, "", "TDX module and microcode SVNs"},
  {"tdx.tee_tcb_svn2", T::kHex, 16, kTdx, "", "TEE TCB SVN 2 (TD 1.5 bodies)"},
  {"tdx.report_data", T::kHex, 64, kTdx, "", "REPORTDATA (per boot)"},
  {"tdx.fmspc", T::kHex, 6, kTdx, "", "platform family (from the PCK certificate)"},
  {"tdx.pce_id", T::kHex, 2, kTdx, "", "PCE id (from the PCK certificate)"},
  {"tdx.pce_svn", T::kInteger, 0, kTdx, "", "PCE SVN (from the PCK certificate)"},
  {"tdx.qe_svn", T::kInteger, 0, kTdx, "", "quoting enclave ISV SVN"},
  {"tdx.tcb_status", T::kString, 0, kTdx,
   "UpToDate|SWHardeningNeeded|ConfigurationNeeded|ConfigurationAndSWHardeningNeeded|OutOfDate|"
   "OutOfDateConfigurationNeeded|Revoked", "TCB status per Intel's collateral"},
  {"tdx.advisory_ids", T::kStringList, 0, kTdx, "", "Intel security advisories that apply"},
  {"tdx.tcb_date", T::kString, 0, kTdx, "", "date of the platform's TCB level"},
  // The development attester: free-form claims under "sample.".
  {"sample.<rest>", T::kAny, 0, kTeeSample, "", "claims the sample attester signed (development)"},
};
// clang-format on

constexpr std::array<std::pair<std::string_view, std::uint8_t>, 6> kTees = {{
    {"sev-snp", kTeeSevSnp},
    {"az-snp-vtpm", kTeeAzSnpVtpm},
    {"tpm", kTeeTpm},
    {"sample", kTeeSample},
    {"tdx", kTeeTdx},
    {"az-tdx-vtpm", kTeeAzTdxVtpm},
}};

bool IsSegmentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool MatchesPlaceholder(std::string_view placeholder, std::string_view text) {
  if (text.empty()) return false;
  if (placeholder == "<rest>") return true;
  if (text.find('.') != std::string_view::npos) return false;
  if (placeholder == "<pcr>") {
    if (text.size() > 2 || (text.size() == 2 && text[0] == '0')) return false;
    int v = 0;
    for (char c : text) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    return v <= 23;
  }
  return std::all_of(text.begin(), text.end(), IsSegmentChar);  // <name>
}

bool Matches(std::string_view pattern, std::string_view claim) {
  const auto open = pattern.find('<');
  if (open == std::string_view::npos) return pattern == claim;
  const auto close = pattern.find('>', open);
  const std::string_view prefix = pattern.substr(0, open);
  const std::string_view suffix = pattern.substr(close + 1);
  if (claim.size() < prefix.size() + suffix.size() || claim.substr(0, prefix.size()) != prefix ||
      claim.substr(claim.size() - suffix.size()) != suffix) {
    return false;
  }
  return MatchesPlaceholder(pattern.substr(open, close - open + 1),
                            claim.substr(prefix.size(), claim.size() - prefix.size() - suffix.size()));
}

}  // namespace

std::span<const ClaimSpec> ClaimCatalogue() { return kCatalogue; }

std::optional<std::uint8_t> TeeBit(std::string_view tee) {
  for (const auto& [name, bit] : kTees) {
    if (name == tee) return bit;
  }
  return std::nullopt;
}

std::string TeeNames(std::uint8_t tees) {
  std::string out;
  for (const auto& [name, bit] : kTees) {
    if ((tees & bit) == 0) continue;
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

const ClaimSpec* FindClaim(std::string_view claim, std::uint8_t tees) {
  for (const ClaimSpec& spec : kCatalogue) {
    if ((spec.tees & tees) != 0 && Matches(spec.name, claim)) return &spec;
  }
  return nullptr;
}

std::string NearestClaim(std::string_view claim, std::uint8_t tees) {
  // Quadratic per catalogue row: bounded so a huge claim name in a stored policy costs little.
  if (claim.size() > 128) return "";
  std::string best;
  std::size_t best_distance = 4;  // at most 3 edits
  for (const ClaimSpec& spec : kCatalogue) {
    if ((spec.tees & tees) == 0 || spec.name.find('<') != std::string_view::npos) continue;
    const std::size_t d = EditDistance(claim, spec.name);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(spec.name);
    }
  }
  return best;
}

bool ValueHasType(const ClaimSpec& spec, const Json& value) {
  switch (spec.type) {
    case ClaimType::kString:
      return value.is_string();
    case ClaimType::kHex: {
      if (!value.is_string()) return false;
      const auto& s = value.get_ref<const std::string&>();
      if (s.size() % 2 != 0 || (spec.hex_bytes != 0 && s.size() != spec.hex_bytes * 2)) return false;
      return std::all_of(s.begin(), s.end(),
                         [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
    }
    case ClaimType::kInteger:
      return value.is_number_integer();
    case ClaimType::kBool:
      return value.is_boolean();
    case ClaimType::kIntegerList:
      return value.is_array() &&
             std::all_of(value.begin(), value.end(), [](const Json& v) { return v.is_number_integer(); });
    case ClaimType::kStringList:
      return value.is_array() &&
             std::all_of(value.begin(), value.end(), [](const Json& v) { return v.is_string(); });
    case ClaimType::kAny:
      return value.is_primitive() || value.is_array();
  }
  return false;
}

std::string TypeName(const ClaimSpec& spec) {
  switch (spec.type) {
    case ClaimType::kString: return "string";
    case ClaimType::kHex:
      return spec.hex_bytes == 0 ? "hex" : "hex (" + std::to_string(spec.hex_bytes) + " bytes)";
    case ClaimType::kInteger: return "integer";
    case ClaimType::kBool: return "bool";
    case ClaimType::kIntegerList: return "integer list";
    case ClaimType::kStringList: return "string list";
    case ClaimType::kAny: return "any";
  }
  return "any";
}

Json ClaimCatalogueJson() {
  Json out = Json::array();
  for (const ClaimSpec& spec : kCatalogue) {
    Json tees = Json::array();
    for (const auto& [name, bit] : kTees) {
      if ((spec.tees & bit) != 0) tees.push_back(std::string(name));
    }
    Json row = {{"name", std::string(spec.name)},
                {"type", spec.type == ClaimType::kHex ? "hex" : TypeName(spec)},
                {"tee", std::move(tees)},
                {"description", std::string(spec.description)}};
    if (spec.type == ClaimType::kHex && spec.hex_bytes != 0) row["hex_bytes"] = spec.hex_bytes;
    if (!spec.values.empty()) {
      Json values = Json::array();
      std::string_view rest = spec.values;
      while (!rest.empty()) {
        const auto bar = rest.find('|');
        values.push_back(std::string(rest.substr(0, bar)));
        rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
      }
      row["values"] = std::move(values);
    }
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace skr::policy
