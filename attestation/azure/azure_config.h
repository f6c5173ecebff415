// SPDX-License-Identifier: Apache-2.0
// [attestation.azure]: the Azure paravisor launch identities skrd trusts (azure_options.h).
// Entries are 96 lowercase hex characters (48 bytes). "Not set" stays distinct from "empty": skrd
// substitutes the built-in identities when trusted_id_key_digests / trusted_mrtds is unset; an
// explicitly empty list stays empty.
// The section's keys and validation (common/config_section.h); config/ parses it without knowing
// it, server/verifiers.cpp lists it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config_section.h"

namespace skr::attestation::azure {

struct AzureConfig {
  static constexpr std::string_view kSection = "attestation.azure";
  std::optional<std::vector<std::string>> trusted_id_key_digests;  // nullopt: built-in defaults
  std::vector<std::string> trusted_measurements;
  std::optional<std::vector<std::string>> trusted_mrtds;  // nullopt: built-in defaults
};

// A fresh section for ParseConfig.
std::shared_ptr<ConfigSectionBase> AzureConfigSection();

}  // namespace skr::attestation::azure
