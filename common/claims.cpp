// SPDX-License-Identifier: Apache-2.0
#include "common/claims.h"

namespace skr {

void FlattenInto(Claims& claims, std::string_view prefix, const Json& obj) {
  if (!obj.is_object()) {
    claims[std::string(prefix)] = obj;
    return;
  }
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    std::string path = prefix.empty() ? it.key() : std::string(prefix) + "." + it.key();
    if (it->is_object()) {
      FlattenInto(claims, path, *it);
    } else {
      claims[path] = *it;
    }
  }
}

Json ClaimsToJson(const Claims& claims) {
  Json out = Json::object();
  for (const auto& [k, v] : claims) out[k] = v;
  return out;
}

}  // namespace skr
