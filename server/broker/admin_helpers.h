// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the broker's services (admin_service.cpp, policy_admin.cpp, ...): request
// parsing and the JSON forms of keys, tokens and pages.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/result.h"
#include "keystore/keystore.h"
#include "policy/policy.h"
#include "server/broker/broker_context.h"

namespace skr::server {

Error BadRequest(std::string msg, std::string reason = "malformed_request");
// A policy document an admin wants stored (or dry-run as a draft): it parses and passes
// Policy::ValidateForStore (lint and safe defaults); every problem travels in Error::problems().
Result<policy::Policy> ParsePolicyForStore(const Json& doc);
// Flags a policy stored before the store-time rules: `tee_unconstrained` and `lint` members.
void AddPolicyWarnings(Json& out, const std::string& document);
Result<void> CheckName(std::string_view what, std::string_view name);
Result<Json> ParseBodyObject(std::string_view body, std::size_t limit);
Json KeyToJson(const keystore::KeyInfo& k);
Json TokenToJson(const keystore::TokenInfo& t);

// Slices a name-sorted list for pagination: items with name > after, at most limit; "next"
// is the last returned name when more remain.
template <typename T, typename NameOf, typename ToJson>
Json Paginate(const std::vector<T>& items, const Page& page, NameOf name_of, ToJson to_json,
              const char* member) {
  std::vector<const T*> sorted;
  for (const auto& it : items) sorted.push_back(&it);
  std::sort(sorted.begin(), sorted.end(),
            [&](const T* a, const T* b) { return name_of(*a) < name_of(*b); });
  const std::size_t limit = static_cast<std::size_t>(std::clamp(page.limit, 1, 1000));
  Json arr = Json::array();
  Json next = nullptr;
  std::string last;
  for (const T* it : sorted) {
    if (!page.after.empty() && name_of(*it) <= page.after) continue;
    if (arr.size() == limit) {
      next = last;
      break;
    }
    arr.push_back(to_json(*it));
    last = name_of(*it);
  }
  return {{member, arr}, {"next", next}};
}

// Converts a Result<T> into Result<void> to pass to AuditAdmin.
template <typename T>
Result<void> Outcome(const Result<T>& r) {
  if (r) return Ok();
  return r.error();
}

}  // namespace skr::server
