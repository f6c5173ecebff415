// SPDX-License-Identifier: Apache-2.0
// [attestation.tdx]: Intel TDX quotes (tdx, and the TD quote inside az-tdx-vtpm). Collateral
// is imported by an operator (skrctl tdx import-collateral), never fetched.
// The section's keys and validation (common/config_section.h); config/ parses it without knowing
// it, server/verifiers.cpp lists it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config_section.h"

namespace skr::attestation::tdx {

struct TdxConfig {
  static constexpr std::string_view kSection = "attestation.tdx";
  bool enabled = true;
  // Additional trusted Intel-shaped roots (PEM) beside the pinned Intel SGX Root CA, for test or
  // pre-production PKIs.
  std::string extra_roots;
  // How long past its nextUpdate imported collateral may still be used (seconds).
  int collateral_grace_seconds = 86400;
};

// A fresh section for ParseConfig.
std::shared_ptr<ConfigSectionBase> TdxConfigSection();

}  // namespace skr::attestation::tdx
