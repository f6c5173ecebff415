// SPDX-License-Identifier: Apache-2.0
// The Azure confidential VM "HCL report" (DESIGN.md section 3, `az-snp-vtpm` / `az-tdx-vtpm`):
// what the paravisor (HCL) returns from the vTPM NV index 0x01400001. Layout (little endian),
// per Microsoft's Azure CVM attestation documentation (IGVM_ATTEST / HCL report):
//   0x000  header (32 bytes): signature "HCLA", version u32, report_size u32, request_type u32,
//          status u32, 12 reserved bytes
//   0x020  hardware report (0x4A0 bytes): SNP ATTESTATION_REPORT, or TDX TDREPORT (1024 bytes)
//          followed by zero padding
//   0x4C0  runtime data header (20 bytes): data_size u32, version u32, report_type u32
//          (2 = SNP, 4 = TDX), hash_type u32 (1 = SHA-256), variable_data_size u32
//   0x4D4  variable data: the runtime claims JSON (keys incl. HCLAkPub, vm-configuration,
//          user-data). The hardware REPORT_DATA[0..32) is SHA-256 of exactly these bytes.
// The buffer read from the NV index is usually longer (2600 bytes) than report_size; bytes after
// report_size are ignored.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/claims.h"
#include "common/json.h"
#include "common/ossl.h"
#include "common/result.h"

namespace skr::attestation::azure {

inline constexpr std::size_t kHclHeaderSize = 0x20;
inline constexpr std::size_t kHclHwReportSize = 0x4A0;
inline constexpr std::size_t kHclRuntimeHeaderSize = 20;
inline constexpr std::size_t kMaxHclReportBytes = 16 * 1024;
inline constexpr std::size_t kMaxHclRuntimeDataBytes = 8 * 1024;

enum class HclReportType : std::uint32_t { kSnp = 2, kTdx = 4 };

class HclReport {
 public:
  // Errors: kMalformedEvidence reason azure_hcl_malformed (bad signature, sizes out of bounds,
  // truncated, runtime data not a JSON object, too large) or azure_hcl_unsupported (report
  // type or hash type not known).
  static Result<HclReport> Parse(std::span<const std::uint8_t> bytes);

  std::uint32_t version() const { return version_; }
  std::uint32_t request_type() const { return request_type_; }
  HclReportType report_type() const { return report_type_; }
  const std::vector<std::uint8_t>& hw_report() const { return hw_report_; }     // 0x4A0 bytes
  const std::vector<std::uint8_t>& runtime_data() const { return runtime_data_; }  // exact bytes
  const Json& runtime() const { return runtime_; }  // the parsed runtime JSON (an object)

  // The HCL attestation key: runtime "keys" entry with kid "HCLAkPub" (an RSA JWK) of 2048..4096
  // bits with an odd exponent above 2^16 (tpm::CheckRsaAkParameters).
  // Errors: kMalformedEvidence reason azure_ak_missing / azure_ak_malformed; kVerificationFailed
  // reason azure_ak_weak (smaller or larger key, bad exponent).
  Result<EvpPkeyPtr> AttestationKey() const;

  // azure.hcl_version, azure.report_type ("snp"|"tdx"), azure.vm_configuration.<snake_case of
  // each scalar member> (secure_boot, tpm_enabled, vm_unique_id, console_enabled,
  // tpm_persisted, root_cert_thumbprint, ...), azure.user_data (lowercase hex as found).
  void AddClaims(Claims& claims) const;

 private:
  std::uint32_t version_ = 0;
  std::uint32_t request_type_ = 0;
  HclReportType report_type_ = HclReportType::kSnp;
  std::vector<std::uint8_t> hw_report_;
  std::vector<std::uint8_t> runtime_data_;
  Json runtime_;
};

// "vmUniqueId" -> "vm_unique_id", "secure-boot" -> "secure_boot".
std::string SnakeCase(std::string_view name);

}  // namespace skr::attestation::azure
