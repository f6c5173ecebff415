// SPDX-License-Identifier: Apache-2.0
// [attestation.snp]: AMD SEV-SNP reports (sev-snp, and the SNP report inside az-snp-vtpm).
// The section's keys and validation (common/config_section.h); config/ parses it without knowing
// it, server/verifiers.cpp lists it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config_section.h"

namespace skr::attestation::snp {

struct SnpConfig {
  static constexpr std::string_view kSection = "attestation.snp";
  bool enabled = true;
  // Additional trusted AMD-shaped roots (PEM bundle: ARK, then ASK, then optionally ASVK) for
  // test or pre-production PKIs, trusted beside the pinned AMD roots, under the product named by
  // extra_roots_product ("Milan" | "Genoa" | "Turin").
  std::string extra_roots;
  std::string extra_roots_product;
  // AMD CRLs (PEM bundle or one DER CRL), matched to the trusted ARK/ASK/ASVK that signed each.
  // Re-read on SIGHUP.
  std::string crl_file;
  // How long past its nextUpdate a CRL may still be used. 0: no limit (a stale CRL is only a
  // warning and a metric); otherwise verification that needs a CRL stale by more than this is
  // refused (503, reason snp_crl_stale).
  int crl_max_staleness_seconds = 0;
};

// A fresh section for ParseConfig.
std::shared_ptr<ConfigSectionBase> SnpConfigSection();

}  // namespace skr::attestation::snp
