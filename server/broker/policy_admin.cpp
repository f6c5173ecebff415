// SPDX-License-Identifier: Apache-2.0
// The policy admin service (DESIGN.md sections 4 and 8; issue 12): storing policies (linted),
// reading them, dry runs of stored versions and drafts, rollback, the key's policy and pinned
// version, what-if replays of a draft over a key's recent releases, and the claim catalogue.
#include <string>
#include <utility>

#include "common/encoding.h"
#include "common/ossl.h"
#include "policy/claim_catalogue.h"
#include "server/broker/admin_helpers.h"
#include "server/broker/admin_service.h"
#include "server/broker/release_steps.h"

namespace skr::server {

using keystore::Role;

namespace {

// Member `name` of a request as an integer in [1, max]; nullopt when absent or null.
Result<std::optional<int>> OptionalCount(const Json& req, const char* name, std::int64_t max,
                                         const std::string& message) {
  auto v = req.find(name);
  if (v == req.end() || v->is_null()) return std::optional<int>();
  if (!v->is_number_integer() || v->get<std::int64_t>() < 1 || v->get<std::int64_t>() > max) {
    return BadRequest(message);
  }
  return std::optional<int>(static_cast<int>(v->get<std::int64_t>()));
}

}  // namespace

Result<Json> AdminService::PutPolicy(const Actor& a, std::string_view tenant, std::string_view name,
                               std::string_view body, const std::string& rid) {
  SKR_TRY_VOID(CheckName("tenant", tenant));
  SKR_TRY_VOID(CheckName("policy", name));
  SKR_TRY_VOID(Authorize(a, Permission::kAdminTenant, tenant));
  SKR_TRY(Json doc, ParseJson(body, 64 * 1024));
  SKR_TRY_VOID(ParsePolicyForStore(doc));
  SKR_TRY_VOID(AuditIntent(a, rid, "policy.put", std::string(tenant), std::string(name)));
  const std::string stored = DumpJson(doc);
  auto rec = keys_.PutPolicy(tenant, name, stored);
  // The digest of the document exactly as stored (GET .../policies/{p}?version=N returns it),
  // so an auditor can tie the record to the policy text.
  SKR_TRY_VOID(AuditAdmin(a, "policy.put", std::string(tenant), std::string(name),
                          rec ? std::optional<int>(rec->version) : std::nullopt, rid, Outcome(rec),
                          rec ? HexEncode(Sha256(stored)) : std::string()));
  if (!rec) return rec.error();
  return Json{{"name", rec->name}, {"version", rec->version}};
}

Result<Json> AdminService::GetPolicy(const Actor& a, std::string_view tenant, std::string_view name,
                               std::optional<int> version) {
  SKR_TRY_VOID(CheckName("tenant", tenant));
  SKR_TRY_VOID(CheckName("policy", name));
  SKR_TRY_VOID(Authorize(a, Permission::kReadTenant, tenant));
  SKR_TRY(keystore::PolicyRecord rec, keys_.GetPolicy(tenant, name, version));
  auto doc = ParseJson(rec.document);
  Json out = {{"name", rec.name},
              {"version", rec.version},
              {"created_at", FormatRfc3339(rec.created_at)},
              {"policy", doc ? *doc : Json(nullptr)},
              // What the policy.put audit record's policy_sha256 names.
              {"document_sha256", HexEncode(Sha256(rec.document))}};
  AddPolicyWarnings(out, rec.document);
  return out;
}

Result<Json> AdminService::ListPolicies(const Actor& a, std::string_view tenant, const Page& page) {
  SKR_TRY_VOID(CheckName("tenant", tenant));
  SKR_TRY_VOID(Authorize(a, Permission::kReadTenant, tenant));
  SKR_TRY(std::vector<keystore::PolicyRecord> list, keys_.ListPolicies(tenant));
  return Paginate<keystore::PolicyRecord>(
      list, page, [](const keystore::PolicyRecord& p) { return p.name; },
      [](const keystore::PolicyRecord& p) {
        return Json{{"name", p.name},
                    {"version", p.version},
                    {"created_at", FormatRfc3339(p.created_at)}};
      },
      "policies");
}

Result<Json> AdminService::EvaluatePolicy(const Actor& a, std::string_view tenant,
                                    std::string_view name, std::string_view body) {
  SKR_TRY_VOID(CheckName("tenant", tenant));
  SKR_TRY_VOID(CheckName("policy", name));
  SKR_TRY_VOID(Authorize(a, Permission::kAdminTenant, tenant));
  SKR_TRY(Json req, ParseBodyObject(body, options_.max_json_bytes));
  // The stored newest version, or an unsaved draft ("document"), which must be storable.
  keystore::PolicyRecord rec;
  std::optional<policy::Policy> policy;
  if (auto draft = req.find("document"); draft != req.end()) {
    SKR_TRY(policy::Policy p, ParsePolicyForStore(*draft));
    policy = std::move(p);
    rec.name = std::string(name);
    rec.document = DumpJson(*draft);
  } else {
    SKR_TRY(const std::optional<int> version,
            OptionalCount(req, "version", 1000000000, "'version' must be a positive integer"));
    SKR_TRY(rec, keys_.GetPolicy(tenant, name, version));
    auto p = policy::Policy::ParseText(rec.document);
    if (!p) return Error(ErrorCode::kInternal, "stored policy does not parse");
    policy = std::move(p).value();
  }
  Claims claims;
  std::string authority = "skr:local";
  if (auto ev = req.find("evidence"); ev != req.end()) {
    SKR_TRY(attestation::VerifiedEvidence v, verifiers_.Verify(*ev));
    SKR_TRY_VOID(CheckAkTenant(v, tenant));
    claims = std::move(v.claims);
    authority = v.authority;
  } else if (auto c = req.find("claims"); c != req.end() && c->is_object()) {
    FlattenInto(claims, "", *c);
    if (auto au = req.find("authority"); au != req.end() && au->is_string()) {
      authority = au->get<std::string>();
    }
  } else {
    return BadRequest("give 'evidence' or 'claims'");
  }
  policy::Decision d = policy->Evaluate(claims, authority);
  Json out = {{"decision", d.allowed ? "allow" : "deny"},
              {"reason", d.Detail()},
              {"failing_claim", d.failing_claim},
              {"policy", {{"name", rec.name}, {"version", rec.version}}},
              {"trace", d.TraceJson()},
              {"claims", ClaimsToJson(claims)}};
  if (req.contains("document")) out["policy"]["version"] = nullptr;  // a draft has none
  AddPolicyWarnings(out, rec.document);
  return out;
}

Result<Json> AdminService::SetKeyPolicy(const Actor& a, std::string_view tenant, std::string_view key,
                                  std::string_view body, const std::string& rid) {
  SKR_TRY_VOID(CheckName("tenant", tenant));
  SKR_TRY_VOID(CheckName("key", key));
  SKR_TRY_VOID(Authorize(a, Permission::kAdminTenant, tenant));
  SKR_TRY(Json req, ParseBodyObject(body, 4096));
  SKR_TRY(std::string pol, GetString(req, "policy"));
  SKR_TRY_VOID(CheckName("policy", pol));
  // "version": N pins the key to that version; absent (or null), it follows the newest.
  SKR_TRY(const std::optional<int> version,
          OptionalCount(req, "version", 1000000000,
                        "'version' must be a positive integer (or null to follow the newest)"));
  SKR_TRY_VOID(AuditIntent(a, rid, "key.set_policy", std::string(tenant), std::string(key)));
  auto info = keys_.SetKeyPolicy(tenant, key, pol, version);
  SKR_TRY_VOID(AuditAdmin(a, "key.set_policy", std::string(tenant), std::string(key),
                          std::nullopt, rid, Outcome(info), "", pol, version));
  if (!info) return info.error();
  return KeyToJson(*info);
}

Result<Json> AdminService::RollbackPolicy(const Actor& a, std::string_view tenant, std::string_view name,
                                    std::string_view body, const std::string& rid) {
  SKR_TRY_VOID(CheckName("tenant", tenant));
  SKR_TRY_VOID(CheckName("policy", name));
  SKR_TRY_VOID(Authorize(a, Permission::kAdminTenant, tenant));
  SKR_TRY(Json req, ParseBodyObject(body, 4096));
  SKR_TRY(const std::optional<int> to,
          OptionalCount(req, "to", 1000000000, "'to' must be the version number to roll back to"));
  if (!to) return BadRequest("'to' must be the version number to roll back to");
  const int target = *to;
  SKR_TRY(keystore::PolicyRecord old, keys_.GetPolicy(tenant, name, target));
  // The old document becomes the newest version only if it could be stored today (a version
  // stored before the lint may hold conditions that never match: refused with its problems).
  auto doc = ParseJson(old.document);
  if (!doc) return Error(ErrorCode::kInternal, "stored policy does not parse");
  SKR_TRY_VOID(ParsePolicyForStore(*doc));
  SKR_TRY_VOID(AuditIntent(a, rid, "policy.rollback", std::string(tenant), std::string(name)));
  auto rec = keys_.PutPolicy(tenant, name, old.document);
  SKR_TRY_VOID(AuditAdmin(a, "policy.rollback", std::string(tenant), std::string(name),
                          rec ? std::optional<int>(rec->version) : std::nullopt, rid, Outcome(rec),
                          rec ? HexEncode(Sha256(old.document)) : std::string(), std::string(name),
                          target));
  if (!rec) return rec.error();
  return Json{{"name", rec->name}, {"version", rec->version}, {"rolled_back_to", target}};
}

namespace {

// A short, stable name for the VM whose release a record is, from its verified claims: the
// enrolled machine name, the GCE instance, the SNP chip, else the evidence key.
std::string VmName(const Claims& claims) {
  for (const char* claim : {"tpm.ak.name", "tpm.gce.instance_name", "snp.chip_id", "tpm.ak.sha256"}) {
    auto it = claims.find(claim);
    if (it == claims.end() || !it->second.is_string()) continue;
    std::string v = it->second.get<std::string>();
    if (v.size() > 16 && std::string_view(claim).find("name") == std::string_view::npos) v = v.substr(0, 16) + "..";
    return std::string(claim) + "=" + v;
  }
  return "";
}

}  // namespace

Result<Json> AdminService::PolicyWhatIf(const Actor& a, std::string_view tenant, std::string_view key,
                                  std::string_view body, const std::string& rid) {
  SKR_TRY_VOID(CheckName("tenant", tenant));
  SKR_TRY_VOID(CheckName("key", key));
  SKR_TRY_VOID(Authorize(a, Permission::kAdminTenant, tenant));
  SKR_TRY(Json req, ParseBodyObject(body, options_.max_json_bytes));
  auto draft = req.find("document");
  if (draft == req.end() || !draft->is_object()) return BadRequest("give the draft policy as 'document'");
  SKR_TRY_VOID(ParsePolicyForStore(*draft));
  SKR_TRY(const std::optional<int> last_n,
          OptionalCount(req, "last", 1000, "'last' must be between 1 and 1000"));
  const std::int64_t last = last_n.value_or(100);
  SKR_TRY(keystore::KeyInfo info, release_.FindKey(tenant, key));
  keystore::PolicyRecord draft_rec;
  draft_rec.tenant = std::string(tenant);
  draft_rec.name = info.policy;
  draft_rec.version = 0;  // a draft: never a stored version
  draft_rec.document = DumpJson(*draft);

  audit::Query q;
  q.tenant = std::string(tenant);
  q.key = std::string(key);
  q.action = "release";
  q.newest_first = true;
  q.limit = static_cast<int>(last);
  SKR_TRY(const std::vector<audit::Record> records, audit_.Entries(q));
  // Reading other VMs' kept evidence is recorded like any admin action.
  SKR_TRY_VOID(AuditAdmin(a, "policy.what_if", std::string(tenant), std::string(key), std::nullopt,
                          rid, Ok(), HexEncode(Sha256(draft_rec.document)), info.policy));

  Json would_deny = Json::array();
  Json not_replayed = Json::array();
  std::int64_t checked = 0, would_grant = 0;
  for (const audit::Record& rec : records) {
    if (rec.kind != "release") continue;
    auto in = queries_.LoadReplayInputs(rec);
    if (!in) {
      not_replayed.push_back({{"audit_seq", rec.seq}, {"reason", in.error().reason()}});
      continue;
    }
    const Json& b = in->bundle;
    keystore::PolicyRecord pol;
    ReliedOn relied;
    // Verified as at the release with the collateral it relied on, so that only the policy
    // differs from the recorded decision.
    auto decided = release_.Decide(b["evidence"], b["nonce"].get<std::string>(), b["tee-pubkey"], tenant,
                          [&]() -> Result<keystore::PolicyRecord> { return draft_rec; }, pol, relied,
                          &in->recorded);
    if (!decided) {
      not_replayed.push_back({{"audit_seq", rec.seq},
                              {"reason", decided.error().reason() + ": " + Clip(decided.error().message())}});
      continue;
    }
    ++checked;
    if (decided->allowed) {
      ++would_grant;
      continue;
    }
    would_deny.push_back({{"audit_seq", rec.seq},
                          {"time", FormatRfc3339(rec.time)},
                          {"recorded", rec.decision},
                          {"vm", VmName(relied.claims)},
                          {"client_address", rec.client_address},
                          {"reason", decided->Detail()},
                          {"failing_claim", decided->failing_claim}});
  }
  return Json{{"key", std::string(key)},
              {"policy", info.policy},
              {"checked", checked},
              {"would_grant", would_grant},
              {"would_deny", std::move(would_deny)},
              {"not_replayed", std::move(not_replayed)},
              {"note", "each release's kept evidence verified as at its time, with the collateral kept "
                       "with it, then the draft evaluated on its claims"}};
}

Json AdminService::ClaimCatalogue() { return policy::ClaimCatalogueJson(); }

}  // namespace skr::server
