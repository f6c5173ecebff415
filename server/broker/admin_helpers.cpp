// SPDX-License-Identifier: Apache-2.0
#include "server/broker/admin_helpers.h"

#include "common/clock.h"
#include "common/encoding.h"

namespace skr::server {

using keystore::Role;

Error BadRequest(std::string msg, std::string reason) {
  return Error(ErrorCode::kInvalidArgument, std::move(msg), std::move(reason));
}

// A policy document an admin wants stored (or dry-run as a draft): it parses and it passes the
// safe-default rules of DESIGN.md section 4 (every skr:local path says which TEE it trusts).
Result<policy::Policy> ParsePolicyForStore(const Json& doc) {
  auto parsed = policy::Policy::Parse(doc);
  if (!parsed) {
    return Error(ErrorCode::kInvalidArgument, "invalid policy: " + parsed.error().message(),
                 "invalid_policy");
  }
  if (auto ok = parsed->ValidateForStore(); !ok) {
    return Error(ErrorCode::kInvalidArgument, "invalid policy: " + ok.error().message(),
                 ok.error().reason())
        .WithProblems(ok.error().problems());
  }
  return std::move(parsed).value();
}

// Flags a policy stored before the "tee" rule: it keeps evaluating, but GET and the dry run
// say which paths grant without naming a TEE.
void AddPolicyWarnings(Json& out, const std::string& document) {
  auto p = policy::Policy::ParseText(document);
  if (!p) return;
  Json warnings = Json::array();
  const auto paths = p->UnconstrainedTeePaths();
  if (!paths.empty()) {
    out["tee_unconstrained"] = paths;
    warnings.push_back(
        "paths that can grant without constraining 'tee': store a new version that names the TEE");
  }
  // A version stored before the store-time lint (issue 12): its problems, as PUT would name them.
  const auto lint = p->Lint();
  if (!lint.empty()) {
    Json problems = Json::array();
    for (const auto& pr : lint) problems.push_back({{"path", pr.path}, {"message", pr.message}});
    out["lint"] = std::move(problems);
    warnings.push_back("conditions that can never hold as written (see 'lint'): store a corrected version");
  }
  if (!warnings.empty()) out["warnings"] = std::move(warnings);
}

Result<void> CheckName(std::string_view what, std::string_view name) {
  if (!keystore::IsValidName(name)) {
    return BadRequest(std::string(what) + " name must match [a-z0-9][a-z0-9._-]{0,62}",
                      "invalid_name");
  }
  return Ok();
}

Result<Json> ParseBodyObject(std::string_view body, std::size_t limit) {
  if (body.empty()) return Json::object();
  auto j = ParseJson(body, limit);
  if (!j) return j.error();
  if (!j->is_object()) return BadRequest("request body must be a JSON object", "malformed_json");
  return j;
}

Json KeyToJson(const keystore::KeyInfo& k) {
  Json versions = Json::array();
  for (const auto& v : k.versions) {
    versions.push_back({{"version", v.version},
                        {"state", keystore::VersionStateName(v.state)},
                        {"origin", v.origin},
                        {"length", v.length},
                        {"created_at", FormatRfc3339(v.created_at)}});
  }
  return {{"tenant", k.tenant},
          {"name", k.name},
          {"policy", k.policy},
          // The pinned policy version, or null when the key follows the newest.
          {"policy_version", k.policy_version ? Json(*k.policy_version) : Json(nullptr)},
          {"created_at", FormatRfc3339(k.created_at)},
          {"versions", versions}};
}

Json TokenToJson(const keystore::TokenInfo& t) {
  Json j = {{"id", t.id},
            {"role", keystore::RoleName(t.role)},
            {"tenant", t.tenant ? Json(*t.tenant) : Json(nullptr)},
            {"created_at", FormatRfc3339(t.created_at)},
            {"expires_at", t.expires_at ? Json(FormatRfc3339(*t.expires_at)) : Json(nullptr)}};
  return j;
}

}  // namespace skr::server
