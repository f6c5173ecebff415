// SPDX-License-Identifier: Apache-2.0
// The TEE-specific admin endpoints (issue 13, the TEE seam), as declarative tables each TEE's
// module exports: {method, path pattern, success status, handler}. A pattern's "{name}" segment
// matches any one path segment and is passed to the handler in order. The router matches these
// tables before its own routes: a path one of them knows but not with this method is 405.
// Role checks stay in the handlers (the broker's methods), as for every admin endpoint.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/result.h"

namespace skr::server {

class Broker;
struct Actor;

struct TeeRoute {
  const char* method;
  const char* pattern;
  unsigned ok_status;  // 204: the handler's JSON is not sent
  Result<Json> (*handler)(Broker& broker, const Actor& actor,
                          const std::vector<std::string>& params, std::string_view body,
                          const std::string& rid);
};

// SEV-SNP VCEK/VLEK cache (broker.cpp), TPM AK enrolment (tpm_aks.cpp), TDX collateral
// (tdx_admin.cpp).
std::span<const TeeRoute> SnpRoutes();
std::span<const TeeRoute> TpmRoutes();
std::span<const TeeRoute> TdxRoutes();

// Every TEE route, in the order the router tries them.
std::vector<TeeRoute> AllTeeRoutes();

// The values of the "{...}" segments of `pattern` when `path_segments` (the path split at '/',
// without the empty first one) matches it, else nullopt.
std::optional<std::vector<std::string>> MatchTeeRoute(std::string_view pattern,
                                                      const std::vector<std::string>& path_segments);

}  // namespace skr::server
