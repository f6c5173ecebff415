// SPDX-License-Identifier: Apache-2.0
#include "attestation/snp/snp_config.h"

#include <limits>

namespace skr::attestation::snp {
namespace {

std::vector<ConfigKeyRef> Keys(SnpConfig& c) {
  return {{"enabled", &c.enabled},
          {"extra_roots", &c.extra_roots},
          {"extra_roots_product", &c.extra_roots_product},
          {"crl_file", &c.crl_file},
          {"crl_max_staleness_seconds", &c.crl_max_staleness_seconds}};
}

Result<void> Validate(SnpConfig& c, const ConfigCheck& check) {
  if (!c.extra_roots.empty()) {
    const auto& p = c.extra_roots_product;
    if (p != "Milan" && p != "Genoa" && p != "Turin") {
      return check.KeyError("extra_roots_product",
                            "must be Milan, Genoa or Turin when extra_roots is set");
    }
  }
  SKR_TRY_VOID(check.InRange("crl_max_staleness_seconds", c.crl_max_staleness_seconds, 0,
                             std::numeric_limits<int>::max()));
  check.ResolvePath(c.extra_roots);
  check.ResolvePath(c.crl_file);
  return Ok();
}

}  // namespace

std::shared_ptr<ConfigSectionBase> SnpConfigSection() {
  return std::make_shared<ConfigSection<SnpConfig>>(Keys, Validate);
}

}  // namespace skr::attestation::snp
