// SPDX-License-Identifier: Apache-2.0
#include "attestation/tpm/tpm_config.h"

#include <limits>

namespace skr::attestation::tpm {
namespace {

std::vector<ConfigKeyRef> Keys(TpmConfig& c) {
  return {{"enabled", &c.enabled},
          {"ak_roots", &c.ak_roots},
          {"ek_roots", &c.ek_roots},
          {"require_ek", &c.require_ek},
          {"enrollment_ttl_seconds", &c.enrollment_ttl_seconds}};
}

Result<void> Validate(TpmConfig& c, const ConfigCheck& check) {
  SKR_TRY_VOID(check.InRange("enrollment_ttl_seconds", c.enrollment_ttl_seconds, 10, 86400));
  check.ResolvePath(c.ak_roots);
  check.ResolvePath(c.ek_roots);
  return Ok();
}

}  // namespace

std::shared_ptr<ConfigSectionBase> TpmConfigSection() {
  return std::make_shared<ConfigSection<TpmConfig>>(Keys, Validate);
}

}  // namespace skr::attestation::tpm
