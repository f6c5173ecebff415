// SPDX-License-Identifier: Apache-2.0
#include "attestation/sample/sample_config.h"

#include <limits>

namespace skr::attestation::sample {
namespace {

std::vector<ConfigKeyRef> Keys(SampleConfig& c) {
  return {{"enabled", &c.enabled},
          {"public_key", &c.public_key}};
}

Result<void> Validate(SampleConfig& c, const ConfigCheck& check) {
  if (c.enabled) SKR_TRY_VOID(check.Require("public_key", c.public_key));
  check.ResolvePath(c.public_key);
  return Ok();
}

}  // namespace

std::shared_ptr<ConfigSectionBase> SampleConfigSection() {
  return std::make_shared<ConfigSection<SampleConfig>>(Keys, Validate);
}

}  // namespace skr::attestation::sample
