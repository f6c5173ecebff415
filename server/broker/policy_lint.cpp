// SPDX-License-Identifier: Apache-2.0
#include "server/broker/policy_lint.h"

#include "policy/policy.h"

namespace skr::server {

Result<Json> PoliciesWithoutTee(keystore::KeyStore& keys) {
  Json out = Json::array();
  SKR_TRY(std::vector<keystore::Tenant> tenants, keys.ListTenants());
  for (const auto& t : tenants) {
    SKR_TRY(std::vector<keystore::PolicyRecord> policies, keys.ListPolicies(t.name));
    for (const auto& p : policies) {
      Json entry = {{"tenant", t.name}, {"policy", p.name}, {"version", p.version}};
      auto parsed = policy::Policy::ParseText(p.document);
      if (!parsed) {
        entry["error"] = parsed.error().message();
        out.push_back(std::move(entry));
        continue;
      }
      const auto paths = parsed->UnconstrainedTeePaths();
      if (paths.empty()) continue;
      entry["tee_unconstrained"] = paths;
      out.push_back(std::move(entry));
    }
  }
  return out;
}

Result<Json> PoliciesWithLintProblems(keystore::KeyStore& keys) {
  Json out = Json::array();
  SKR_TRY(std::vector<keystore::Tenant> tenants, keys.ListTenants());
  for (const auto& t : tenants) {
    SKR_TRY(std::vector<keystore::PolicyRecord> policies, keys.ListPolicies(t.name));
    for (const auto& p : policies) {
      auto parsed = policy::Policy::ParseText(p.document);
      if (!parsed) continue;  // listed by PoliciesWithoutTee
      const auto problems = parsed->Lint();
      if (problems.empty()) continue;
      Json lint = Json::array();
      for (const auto& pr : problems) lint.push_back({{"path", pr.path}, {"message", pr.message}});
      out.push_back({{"tenant", t.name}, {"policy", p.name}, {"version", p.version}, {"lint", std::move(lint)}});
    }
  }
  return out;
}

}  // namespace skr::server
