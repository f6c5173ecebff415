// SPDX-License-Identifier: Apache-2.0
#include "attestation/azure/azure_config.h"

#include <limits>

namespace skr::attestation::azure {
namespace {

std::vector<ConfigKeyRef> Keys(AzureConfig& c) {
  return {{"trusted_id_key_digests", &c.trusted_id_key_digests},
          {"trusted_mrtds", &c.trusted_mrtds},
          {"trusted_measurements", &c.trusted_measurements}};
}

Result<void> Validate(AzureConfig& c, const ConfigCheck& check) {
  if (c.trusted_id_key_digests) {
    SKR_TRY_VOID(check.HexDigestList("trusted_id_key_digests", *c.trusted_id_key_digests));
  }
  if (c.trusted_mrtds) SKR_TRY_VOID(check.HexDigestList("trusted_mrtds", *c.trusted_mrtds));
  return check.HexDigestList("trusted_measurements", c.trusted_measurements);
}

}  // namespace

std::shared_ptr<ConfigSectionBase> AzureConfigSection() {
  return std::make_shared<ConfigSection<AzureConfig>>(Keys, Validate);
}

}  // namespace skr::attestation::azure
