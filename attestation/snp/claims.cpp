// SPDX-License-Identifier: Apache-2.0
#include "attestation/snp/claims.h"

#include <string>

#include "common/encoding.h"

namespace skr::attestation::snp {
namespace {

void AddTcb(Claims& claims, const std::string& prefix, std::uint64_t raw, Product product) {
  const TcbVersion tcb = DecodeTcb(raw, product);
  claims[prefix + ".bootloader"] = tcb.bootloader;
  claims[prefix + ".tee"] = tcb.tee;
  claims[prefix + ".snp"] = tcb.snp;
  claims[prefix + ".microcode"] = tcb.microcode;
  // FMC exists only in the Turin layout; elsewhere those bits are reserved, so no claim.
  if (product == Product::kTurin) claims[prefix + ".fmc"] = tcb.fmc;
}

std::string Version(std::uint8_t major, std::uint8_t minor, std::uint8_t build) {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(build);
}

}  // namespace

Claims ToClaims(const Report& report, Product product, std::string_view signer) {
  Claims c;
  const GuestPolicy policy = report.policy_fields();
  const PlatformInfo info = report.platform_info_fields();

  // Common claims (DESIGN.md section 3).
  c["tee"] = "sev-snp";
  c["debug"] = policy.debug;
  c["report_data"] = HexEncode(report.report_data());

  c["snp.version"] = report.version();
  c["snp.guest_svn"] = report.guest_svn();
  c["snp.vmpl"] = report.vmpl();

  c["snp.policy"] = report.policy();
  c["snp.policy.abi_minor"] = policy.abi_minor;
  c["snp.policy.abi_major"] = policy.abi_major;
  c["snp.policy.smt"] = policy.smt;
  c["snp.policy.migrate_ma"] = policy.migrate_ma;
  c["snp.policy.debug"] = policy.debug;
  c["snp.policy.single_socket"] = policy.single_socket;
  c["snp.policy.cxl_allow"] = policy.cxl_allow;
  c["snp.policy.mem_aes_256_xts"] = policy.mem_aes_256_xts;
  c["snp.policy.rapl_dis"] = policy.rapl_dis;
  c["snp.policy.ciphertext_hiding"] = policy.ciphertext_hiding;
  c["snp.policy.page_swap_disable"] = policy.page_swap_disable;

  c["snp.family_id"] = HexEncode(report.family_id());
  c["snp.image_id"] = HexEncode(report.image_id());
  c["snp.measurement"] = HexEncode(report.measurement());
  c["snp.host_data"] = HexEncode(report.host_data());
  c["snp.id_key_digest"] = HexEncode(report.id_key_digest());
  c["snp.author_key_digest"] = HexEncode(report.author_key_digest());
  c["snp.report_id"] = HexEncode(report.report_id());
  c["snp.report_id_ma"] = HexEncode(report.report_id_ma());
  c["snp.chip_id"] = HexEncode(report.chip_id());

  c["snp.author_key_en"] = report.author_key_en();
  c["snp.mask_chip_key"] = report.mask_chip_key();
  c["snp.signer"] = std::string(signer);
  c["snp.product"] = ProductName(product);

  c["snp.platform_info"] = report.platform_info();
  c["snp.platform_info.smt_en"] = info.smt_en;
  c["snp.platform_info.tsme_en"] = info.tsme_en;
  c["snp.platform_info.ecc_en"] = info.ecc_en;
  c["snp.platform_info.rapl_dis"] = info.rapl_dis;
  c["snp.platform_info.ciphertext_hiding_en"] = info.ciphertext_hiding_en;
  c["snp.platform_info.alias_check_complete"] = info.alias_check_complete;
  c["snp.platform_info.tio_en"] = info.tio_en;

  AddTcb(c, "snp.current_tcb", report.current_tcb(), product);
  AddTcb(c, "snp.reported_tcb", report.reported_tcb(), product);
  AddTcb(c, "snp.committed_tcb", report.committed_tcb(), product);
  AddTcb(c, "snp.launch_tcb", report.launch_tcb(), product);

  c["snp.current_version"] =
      Version(report.current_major(), report.current_minor(), report.current_build());
  c["snp.committed_version"] =
      Version(report.committed_major(), report.committed_minor(), report.committed_build());

  if (report.cpuid_fam_id()) c["snp.cpuid.family"] = *report.cpuid_fam_id();
  if (report.cpuid_mod_id()) c["snp.cpuid.model"] = *report.cpuid_mod_id();
  if (report.cpuid_step()) c["snp.cpuid.stepping"] = *report.cpuid_step();

  if (report.launch_mit_vector()) c["snp.launch_mit_vector"] = *report.launch_mit_vector();
  if (report.current_mit_vector()) c["snp.current_mit_vector"] = *report.current_mit_vector();
  return c;
}

}  // namespace skr::attestation::snp
