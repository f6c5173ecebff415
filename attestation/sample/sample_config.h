// SPDX-License-Identifier: Apache-2.0
// [attestation.sample]: the development attester (never in production).
// The section's keys and validation (common/config_section.h); config/ parses it without knowing
// it, server/verifiers.cpp lists it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config_section.h"

namespace skr::attestation::sample {

struct SampleConfig {
  static constexpr std::string_view kSection = "attestation.sample";
  bool enabled = false;
  std::string public_key;  // PEM file of the attester's public key
};

// A fresh section for ParseConfig.
std::shared_ptr<ConfigSectionBase> SampleConfigSection();

}  // namespace skr::attestation::sample
