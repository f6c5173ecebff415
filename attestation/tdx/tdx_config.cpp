// SPDX-License-Identifier: Apache-2.0
#include "attestation/tdx/tdx_config.h"

#include <limits>

namespace skr::attestation::tdx {
namespace {

std::vector<ConfigKeyRef> Keys(TdxConfig& c) {
  return {{"enabled", &c.enabled},
          {"extra_roots", &c.extra_roots},
          {"collateral_grace_seconds", &c.collateral_grace_seconds}};
}

Result<void> Validate(TdxConfig& c, const ConfigCheck& check) {
  SKR_TRY_VOID(check.InRange("collateral_grace_seconds", c.collateral_grace_seconds, 0, 90 * 86400));
  check.ResolvePath(c.extra_roots);
  return Ok();
}

}  // namespace

std::shared_ptr<ConfigSectionBase> TdxConfigSection() {
  return std::make_shared<ConfigSection<TdxConfig>>(Keys, Validate);
}

}  // namespace skr::attestation::tdx
