// SPDX-License-Identifier: Apache-2.0
// Claims: what a verifier says about the evidence, keyed by dot path ("snp.vmpl",
// "tpm.pcr.sha256.7"). Values are JSON scalars or arrays. Flat so that policy lookup is exact.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "common/json.h"

namespace skr {

using Claims = std::map<std::string, Json, std::less<>>;

// Adds every member of `obj` under `prefix` ("sample" -> "sample.a", "sample.b.c"); nested
// objects are flattened, arrays and scalars kept as values.
void FlattenInto(Claims& claims, std::string_view prefix, const Json& obj);

// The claims as one JSON object {"path": value, ...}.
Json ClaimsToJson(const Claims& claims);

}  // namespace skr
