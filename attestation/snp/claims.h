// SPDX-License-Identifier: Apache-2.0
// Claims (DESIGN.md section 3) for a verified SEV-SNP attestation report.
#pragma once

#include <string_view>

#include "attestation/snp/report.h"
#include "common/claims.h"

namespace skr::attestation::snp {

// The claims of a report whose signature and chain have been verified. `product` (which decides
// the TCB_VERSION layout) and `signer` ("vcek" or "vlek") are what the certificate chain proved;
// they are not taken from the report.
//
// Names are the spec's field names in snake_case under "snp."; hashes and identifiers are
// lowercase hex strings, SVNs, versions and TCB components integers, flags booleans:
//   tee = "sev-snp", debug (POLICY.DEBUG), report_data (hex),
//   snp.version, snp.guest_svn, snp.vmpl, snp.policy (integer) and snp.policy.{abi_minor,
//   abi_major, smt, migrate_ma, debug, single_socket, cxl_allow, mem_aes_256_xts, rapl_dis,
//   ciphertext_hiding, page_swap_disable}, snp.family_id, snp.image_id, snp.measurement,
//   snp.host_data, snp.id_key_digest, snp.author_key_digest, snp.report_id, snp.report_id_ma,
//   snp.chip_id, snp.author_key_en, snp.mask_chip_key, snp.signer, snp.product,
//   snp.platform_info (integer) and snp.platform_info.{smt_en, tsme_en, ecc_en, rapl_dis,
//   ciphertext_hiding_en, alias_check_complete, tio_en},
//   snp.{current,reported,committed,launch}_tcb.{bootloader, tee, snp, microcode} (+ .fmc on
//   Turin), snp.current_version and snp.committed_version ("major.minor.build"), snp.cpuid.{family,
//   model, stepping} (version 3+ only), snp.launch_mit_vector, snp.current_mit_vector (version 5+
//   only).
// Never fails. Thread-safe.
Claims ToClaims(const Report& report, Product product, std::string_view signer);

}  // namespace skr::attestation::snp
