// SPDX-License-Identifier: Apache-2.0
#include "server/broker/broker.h"

#include <algorithm>
#include <charconv>
#include <functional>
#include <map>
#include <set>

#include "attestation/binding.h"
#include "attestation/snp/cert_chain.h"
#include "attestation/snp/snp_verifier.h"
#include "attestation/tpm/credential.h"
#include "attestation/tpm/tpm_verifier.h"
#include "common/x509.h"
#include "server/broker/snp_collateral.h"
#include "common/encoding.h"
#include "common/jose.h"
#include "common/ossl.h"
#include "policy/policy.h"
#include "server/broker/admin_helpers.h"
#include "server/broker/release_steps.h"

namespace skr::server {
namespace {

using keystore::Role;

constexpr std::size_t kMaxKeyBytes = 1024;
constexpr std::int64_t kDefaultTokenTtlSeconds = 90LL * 86400;

Result<SecretBytes> MaterialFromBody(const Json& body, bool require) {
  auto gen = body.find("generate");
  auto mat = body.find("material");
  if (gen != body.end() && mat != body.end()) {
    return BadRequest("give either 'generate' or 'material', not both");
  }
  if (mat != body.end()) {
    if (!mat->is_string()) return BadRequest("'material' must be a base64 string");
    auto bytes = Base64Decode(mat->get_ref<const std::string&>());
    if (!bytes) return BadRequest("'material' is not valid base64");
    SecretBytes out = SecretBytes::CopyFrom(*bytes);
    OPENSSL_cleanse(bytes->data(), bytes->size());
    if (out.empty() || out.size() > kMaxKeyBytes) {
      return BadRequest("key material must be 1..1024 bytes");
    }
    return out;
  }
  std::int64_t n = 32;
  if (gen != body.end()) {
    if (!gen->is_object()) return BadRequest("'generate' must be an object");
    auto b = gen->find("bytes");
    if (b != gen->end()) {
      if (!b->is_number_integer()) return BadRequest("'generate.bytes' must be an integer");
      n = b->get<std::int64_t>();
    }
  } else if (require) {
    return BadRequest("give 'generate' or 'material'");
  }
  if (n < 16 || n > static_cast<std::int64_t>(kMaxKeyBytes)) {
    return BadRequest("'generate.bytes' must be between 16 and 1024");
  }
  return RandomSecret(static_cast<std::size_t>(n));
}

}  // namespace

std::string Clip(std::string_view s, std::size_t max) { return PrintableAscii(s, max); }

std::string EvidenceDigest(const Json& evidence) {
  return HexEncode(Sha256(DumpJson(evidence)));
}

Result<void> CheckAkTenant(const attestation::VerifiedEvidence& ev, std::string_view tenant) {
  auto owner = ev.claims.find("tpm.ak.tenant");
  if (owner == ev.claims.end()) return Ok();
  if (!owner->second.is_string() || owner->second.get_ref<const std::string&>() != tenant) {
    return Error(ErrorCode::kVerificationFailed, "the TPM AK is enrolled for another tenant",
                 "tpm_ak_not_enrolled");
  }
  return Ok();
}

Broker::Broker(keystore::KeyStore& keys, audit::AuditLog& audit,
               const attestation::Registry& verifiers, const Clock& clock, BrokerOptions options)
    : keys_(keys), audit_(audit), verifiers_(verifiers), clock_(clock), options_(options) {}

// ---------------------------------------------------------------- challenge and release ---

Result<keystore::KeyInfo> Broker::FindKey(std::string_view tenant, std::string_view key) {
  if (auto hit = key_cache_.Find(tenant, key)) return std::move(*hit);
  const std::uint64_t generation = key_cache_.generation();
  auto info = keys_.GetKey(tenant, key);
  if (!info) {
    // One answer for "no such tenant" and "no such key", so an unauthenticated caller cannot
    // enumerate tenants.
    if (info.error().code() == ErrorCode::kNotFound) {
      return Error(ErrorCode::kNotFound, "no such tenant or key", "key_not_found");
    }
    return info.error();
  }
  key_cache_.PutIfCurrent(*info, generation);
  return info;
}

bool Broker::NamesUnknownKey(std::string_view tenant, std::string_view key) {
  if (!keystore::IsValidName(tenant) || !keystore::IsValidName(key)) return true;
  auto info = FindKey(tenant, key);
  return !info && info.error().code() == ErrorCode::kNotFound;
}

void Broker::FlushUnknownReleases() {
  for (auto& rec : unknown_releases_.Drain()) (void)audit_.Append(std::move(rec));
}

Json Broker::PolicyPcrSelection(const std::string& tenant, const std::string& key) {
  Json out = Json::object();
  auto info = FindKey(tenant, key);
  if (!info) return out;  // unknown key: no hint (the release will answer 404)
  auto pol = keys_.GetPolicy(tenant, info->policy, info->policy_version);
  if (!pol) return out;
  auto doc = ParseJson(pol->document);
  if (!doc) return out;
  std::map<std::string, std::set<unsigned>> banks;
  // Every leaf {"claim": "tpm.pcr.<bank>.<index>", ...} anywhere in the document.
  std::function<void(const Json&)> walk = [&](const Json& j) {
    if (j.is_object()) {
      if (auto c = j.find("claim"); c != j.end() && c->is_string()) {
        const std::string& path = c->get_ref<const std::string&>();
        constexpr std::string_view kPrefix = "tpm.pcr.";
        if (path.rfind(kPrefix, 0) == 0) {
          const auto dot = path.find('.', kPrefix.size());
          unsigned index = 0;
          if (dot != std::string::npos) {
            auto [p, ec] = std::from_chars(path.data() + dot + 1, path.data() + path.size(), index);
            const std::string bank = path.substr(kPrefix.size(), dot - kPrefix.size());
            if (ec == std::errc() && p == path.data() + path.size() && index <= 23 &&
                attestation::tpm::BankAlg(bank) != TPM2_ALG_ERROR) {
              banks[bank].insert(index);
            }
          }
        }
      }
      for (const auto& [k, v] : j.items()) walk(v);
    } else if (j.is_array()) {
      for (const auto& v : j) walk(v);
    }
  };
  walk(*doc);
  for (const auto& [bank, idx] : banks) out[bank] = Json(std::vector<unsigned>(idx.begin(), idx.end()));
  return out;
}

Result<Json> Broker::Challenge(std::string_view body) {
  auto req = ParseBodyObject(body, 4096);
  if (!req) return req.error();
  if (auto t = req->find("tenant"); t != req->end()) {
    if (!t->is_string()) return BadRequest("'tenant' must be a string");
    SKR_TRY_VOID(CheckName("tenant", t->get_ref<const std::string&>()));
  }
  std::optional<std::string> key;
  if (auto k = req->find("key"); k != req->end()) {
    if (!k->is_string()) return BadRequest("'key' must be a string");
    SKR_TRY_VOID(CheckName("key", k->get_ref<const std::string&>()));
    if (!req->contains("tenant")) return BadRequest("'key' needs 'tenant'");
    key = k->get<std::string>();
  }
  // A stateless token (keystore/nonce_token.h): issuing it writes nothing.
  const std::int64_t expires = clock_.NowUnix() + options_.nonce_ttl_seconds;
  SKR_TRY(const std::string nonce, keys_.IssueNonce(expires));
  stats_.challenges.fetch_add(1, std::memory_order_relaxed);
  Json out{{"nonce", nonce}, {"expires_at", FormatRfc3339(expires)}};
  if (key) {
    // Which PCRs the key's policy reads, so a TPM attester quotes exactly those.
    Json pcrs = PolicyPcrSelection(req->at("tenant").get<std::string>(), *key);
    if (!pcrs.empty()) out["tpm_pcrs"] = std::move(pcrs);
  }
  return out;
}

Result<policy::Decision> Broker::Decide(
    const Json& evidence, const std::string& nonce, const Json& tee_pubkey,
    std::string_view tenant, const std::function<Result<keystore::PolicyRecord>()>& policy_of,
    keystore::PolicyRecord& pol, ReliedOn& relied, const attestation::RecordedState* recorded) {
  // Evidence: verify to a pinned / configured root, then the binding.
  SKR_TRY(attestation::VerifiedEvidence ev, recorded != nullptr
                                                ? verifiers_.VerifyRecorded(evidence, *recorded)
                                                : verifiers_.Verify(evidence));
  relied.collateral = std::move(ev.collateral);
  relied.bytes = std::move(ev.collateral_bytes);
  // The digest covers the JWK exactly as the attester sent it (KBS RCAR hashes its own JSON).
  SKR_TRY_VOID(attestation::CheckBinding(ev, nonce, tee_pubkey));
  SKR_TRY_VOID(CheckAkTenant(ev, tenant));
  // Policy.
  SKR_TRY(pol, policy_of());
  SKR_TRY(std::shared_ptr<const policy::Policy> policy, policy_cache_.Get(pol));
  policy::Decision decision = policy->Evaluate(ev.claims, ev.authority);
  relied.claims = std::move(ev.claims);
  return decision;
}

Result<Json> Broker::DoRelease(audit::Record& rec, Json& replay,
                               std::vector<std::pair<std::string, std::string>>& kept,
                               std::string_view tenant, std::string_view key,
                               std::optional<int> version, std::string_view body) {
  SKR_TRY_VOID(CheckName("tenant", tenant));
  SKR_TRY_VOID(CheckName("key", key));
  if (version && *version <= 0) return BadRequest("version must be a positive integer");
  // The key must exist before anything else is done for this request (or a nonce spent on it).
  SKR_TRY(keystore::KeyInfo info, FindKey(tenant, key));
  rec.policy_name = info.policy;

  // Parse the request: {"nonce", "tee-pubkey", "evidence"}.
  SKR_TRY(Json req, ParseBodyObject(body, options_.max_json_bytes));
  auto nonce_it = req.find("nonce");
  auto pub_it = req.find("tee-pubkey");
  auto ev_it = req.find("evidence");
  if (nonce_it == req.end() || !nonce_it->is_string() || nonce_it->get_ref<const std::string&>().empty() ||
      nonce_it->get_ref<const std::string&>().size() > 128) {
    return BadRequest("'nonce' must be the string returned by /v1/challenge");
  }
  if (pub_it == req.end() || !pub_it->is_object()) return BadRequest("'tee-pubkey' must be a JWK object");
  if (ev_it == req.end() || !ev_it->is_object()) return BadRequest("'evidence' must be an object");
  const std::string nonce = nonce_it->get<std::string>();
  if (auto t = ev_it->find("type"); t != ev_it->end() && t->is_string()) {
    const auto& s = t->get_ref<const std::string&>();
    rec.evidence_type = Clip(s, 32);
  }
  rec.evidence_sha256 = EvidenceDigest(*ev_it);

  auto jwk = ParsePublicJwk(*pub_it);
  if (!jwk) {
    return Error(ErrorCode::kInvalidArgument, Clip(jwk.error().message()), "invalid_tee_pubkey");
  }
  if (auto tp = JwkThumbprint(jwk->members); tp) rec.tee_pubkey_thumbprint = *tp;
  if (options_.keep_replay_bundles) {
    // What the decision is made on, kept beside the record for offline replay (bound to its leaf
    // by replay_sha256; the evidence also by evidence_sha256).
    replay = Json{{"evidence", *ev_it}, {"tee-pubkey", *pub_it}, {"nonce", nonce}};
  }

  // Freshness: consume the nonce (durably, single use).
  SKR_TRY_VOID(keys_.ConsumeNonce(nonce));

  keystore::PolicyRecord pol;
  ReliedOn relied;
  auto decided = Decide(
      *ev_it, nonce, *pub_it, tenant,
      [&] { return keys_.GetPolicy(tenant, info.policy, info.policy_version); }, pol,
      relied);
  if (replay.is_object() && relied.collateral.is_object() && !relied.collateral.empty()) {
    replay["collateral"] = std::move(relied.collateral);
  }
  if (replay.is_object() && !relied.bytes.empty()) {
    // The collateral bytes themselves, by digest (kept once per digest beside the bundle).
    Json names = Json::object();
    for (auto& [name, bytes] : relied.bytes) {
      std::string digest = HexEncode(Sha256(bytes));
      names[name] = digest;
      kept.emplace_back(std::move(digest), std::move(bytes));
    }
    replay["collateral_bytes"] = std::move(names);
  }
  if (pol.version > 0) {
    rec.policy_version = pol.version;
    if (replay.is_object()) replay["policy_sha256"] = HexEncode(Sha256(pol.document));
  }
  if (!decided) return decided.error();
  policy::Decision decision = std::move(decided).value();
  rec.trace = decision.TraceJson();
  if (!decision.allowed) return PolicyDenial(rec, pol, decision);

  // Decrypt the key version and wrap it to the attested ephemeral key.
  auto material_r = keys_.GetKeyMaterial(tenant, key, version);
  if (!material_r) {
    if (material_r.error().code() == ErrorCode::kVerificationFailed) {
      // The stored ciphertext does not open under its own AAD: a row moved or tampered with.
      return Error(ErrorCode::kInternal, "stored key version fails its integrity check",
                   "key_integrity");
    }
    return material_r.error();
  }
  keystore::KeyMaterial material = std::move(material_r).value();
  rec.version = material.version;
  SKR_TRY(std::string jwe, JweEncrypt(*jwk, material.material.Reveal()));
  return Json{{"tenant", std::string(tenant)},
              {"key", std::string(key)},
              {"version", material.version},
              {"jwe", jwe}};
}

Error Broker::PolicyDenial(audit::Record& rec, const keystore::PolicyRecord& pol,
                           const policy::Decision& decision) {
  const std::string name = "policy " + pol.name + " v" + std::to_string(pol.version);
  // The audit record (and the admin dry run) get the expected and observed values; the
  // unauthenticated caller gets the failing claim's name only, so it cannot walk the policy
  // one leaf per nonce and read golden measurements, PCRs or VM ids (issue 9, item 5).
  rec.reason = Clip("policy_denied: " + name + " denied: " + decision.reason, 512);
  const std::string detail =
      decision.failing_claim.empty()
          ? name + " denied: no rule applies to this evidence"
          : name + " denied: the condition on claim '" + Clip(decision.failing_claim, 128) +
                "' does not hold";
  return Error(ErrorCode::kPolicyDenied, detail, "policy_denied");
}

Result<Json> Broker::Release(std::string_view tenant, std::string_view key,
                             std::optional<int> version, std::string_view body,
                             const std::string& request_id, const std::string& source) {
  audit::Record rec;
  rec.kind = "release";
  rec.action = "release";
  rec.actor = "attester";
  rec.tenant = keystore::IsValidName(tenant) ? std::string(tenant) : std::string();
  rec.key = keystore::IsValidName(key) ? std::string(key) : std::string();
  rec.request_id = request_id;
  rec.client_address = Clip(source, 64);
  if (version) rec.version = *version;
  if (release_gate_) {
    if (auto refused = release_gate_()) {
      // The log cannot be trusted to record this decision: nothing is released.
      stats_.errors.fetch_add(1, std::memory_order_relaxed);
      return *refused;
    }
  }

  Json replay;  // null unless the request got as far as its evidence
  std::vector<std::pair<std::string, std::string>> kept;
  auto result = DoRelease(rec, replay, kept, tenant, key, version, body);
  const std::string bundle = replay.is_object() ? DumpJson(replay) : std::string();
  if (!result) {
    const ErrorCode c = result.error().code();
    const bool is_error = c == ErrorCode::kInternal || c == ErrorCode::kUnavailable ||
                          c == ErrorCode::kSealed;
    rec.decision = is_error ? "error" : "denied";
    // A policy denial set the full reason (with values) itself; its Error holds only the name.
    if (rec.reason.empty()) {
      rec.reason = Clip(result.error().reason() + ": " + result.error().message(), 512);
    }
    (is_error ? stats_.errors : stats_.denied).fetch_add(1, std::memory_order_relaxed);
    const std::string& why = result.error().reason();
    if (why == "key_not_found" || why == "invalid_name") {
      // No such key: nothing to protect, and not worth an fsync each (a flood of bogus
      // releases must not amplify into audit writes). One record per source and interval.
      stats_.unknown_key.fetch_add(1, std::memory_order_relaxed);
      unknown_releases_.Note(source, why, clock_.NowUnix());
      return result.error();
    }
    // A denial is a denial whether or not its audit record lands; the failure is logged by
    // the audit layer. Nothing is released on this path.
    (void)audit_.Append(std::move(rec), bundle, std::move(kept));
    return result.error();
  }
  rec.decision = "granted";
  rec.reason = "policy satisfied";
  auto appended = audit_.Append(std::move(rec), bundle, std::move(kept));
  if (!appended) {
    // Fail closed (DESIGN.md section 6): no durable audit record, no release.
    stats_.errors.fetch_add(1, std::memory_order_relaxed);
    return Error(ErrorCode::kUnavailable, "audit log unavailable; nothing was released",
                 "audit_unavailable");
  }
  Json out = std::move(result).value();
  out["audit_seq"] = appended->seq;
  stats_.granted.fetch_add(1, std::memory_order_relaxed);
  return out;
}

void Broker::AuditRejectedRelease(std::string_view tenant, std::string_view key,
                                  const Error& error, const std::string& request_id,
                                  const std::string& source) {
  stats_.denied.fetch_add(1, std::memory_order_relaxed);
  if (NamesUnknownKey(tenant, key)) {
    stats_.unknown_key.fetch_add(1, std::memory_order_relaxed);
    unknown_releases_.Note(source, error.reason(), clock_.NowUnix());
    return;
  }
  audit::Record rec;
  rec.kind = "release";
  rec.action = "release";
  rec.actor = "attester";
  rec.tenant = keystore::IsValidName(tenant) ? std::string(tenant) : std::string();
  rec.key = keystore::IsValidName(key) ? std::string(key) : std::string();
  rec.request_id = request_id;
  rec.client_address = Clip(source, 64);
  rec.decision = "denied";
  rec.reason = Clip(error.reason() + ": " + error.message(), 512);
  (void)audit_.Append(std::move(rec));
}

// ------------------------------------------------------------------------------- admin ---

Result<Actor> Broker::Authenticate(std::string_view header) {
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() <= kBearer.size() || header.substr(0, kBearer.size()) != kBearer) {
    return Error(ErrorCode::kUnauthenticated, "missing bearer token", "unauthenticated");
  }
  std::string_view secret = header.substr(kBearer.size());
  if (secret.size() > 256) {
    return Error(ErrorCode::kUnauthenticated, "invalid token", "unauthenticated");
  }
  SKR_TRY(keystore::TokenInfo t, keys_.Authenticate(secret));
  Actor a;
  a.token = std::move(t);
  return a;
}

Result<void> Broker::AuditIntent(const Actor& a, const std::string& rid, std::string action,
                                 std::string tenant, std::string key) {
  // Written before the change, so an admin change never happens unaudited (fail closed): if the
  // audit log cannot take this record, nothing is changed and the caller gets 503.
  audit::Record rec;
  rec.kind = "admin";
  rec.action = std::move(action);
  rec.actor = a.token.id;
  rec.tenant = std::move(tenant);
  rec.key = Clip(key, 128);
  rec.request_id = rid;
  rec.client_address = Clip(a.source, 64);
  rec.decision = "requested";
  const std::string action_name = rec.action;
  auto r = audit_.Append(std::move(rec));
  if (!r) {
    return Error(ErrorCode::kUnavailable, "audit log unavailable; nothing was changed",
                 "audit_unavailable");
  }
  a.intent_seq = r->seq;
  a.intent_action = action_name;
  return Ok();
}

Result<void> Broker::AuditAdmin(const Actor& a, std::string action, std::string tenant,
                                std::string key, std::optional<int> version,
                                const std::string& rid, const Result<void>& outcome,
                                std::string policy_sha256, std::string policy_name,
                                std::optional<int> policy_version) {
  // Every admin change ends here, whatever its outcome: cached key metadata is dropped, so the
  // next release reads what the change left (DESIGN.md: nothing that matters is only in memory).
  key_cache_.Clear();
  audit::Record rec;
  rec.kind = "admin";
  rec.action = std::move(action);
  rec.actor = a.token.id;
  rec.tenant = std::move(tenant);
  rec.key = std::move(key);
  rec.version = version;
  rec.request_id = rid;
  rec.client_address = Clip(a.source, 64);
  // The outcome names its "requested" record: the two records of one change are linked.
  if (a.intent_seq && a.intent_action == rec.action) rec.intent_seq = a.intent_seq;
  a.intent_seq.reset();
  a.intent_action.clear();
  rec.policy_sha256 = std::move(policy_sha256);
  rec.policy_name = std::move(policy_name);
  rec.policy_version = policy_version;
  rec.decision = outcome ? "ok" : "failed";
  rec.reason = outcome ? "" : Clip(outcome.error().reason() + ": " + outcome.error().message(), 512);
  auto r = audit_.Append(std::move(rec));
  if (!r) return r.error();
  return Ok();
}


Result<Json> Broker::CreateTenant(const Actor& a, std::string_view body, const std::string& rid) {
  SKR_TRY_VOID(RequireOperator(a));
  SKR_TRY(Json req, ParseBodyObject(body, 4096));
  SKR_TRY(std::string name, GetString(req, "name"));
  SKR_TRY_VOID(CheckName("tenant", name));
  SKR_TRY_VOID(AuditIntent(a, rid, "tenant.create", name, ""));
  auto t = keys_.CreateTenant(name);
  SKR_TRY_VOID(AuditAdmin(a, "tenant.create", name, "", std::nullopt, rid, Outcome(t)));
  if (!t) return t.error();
  return Json{{"name", t->name}, {"created_at", FormatRfc3339(t->created_at)}};
}

Result<Json> Broker::ListTenants(const Actor& a, const Page& page) {
  SKR_TRY_VOID(RequireOperator(a));
  SKR_TRY(std::vector<keystore::Tenant> list, keys_.ListTenants());
  return Paginate<keystore::Tenant>(
      list, page, [](const keystore::Tenant& t) { return t.name; },
      [](const keystore::Tenant& t) {
        return Json{{"name", t.name}, {"created_at", FormatRfc3339(t.created_at)}};
      },
      "tenants");
}

Result<void> Broker::DeleteTenant(const Actor& a, std::string_view tenant, const std::string& rid) {
  SKR_TRY_VOID(RequireOperator(a));
  SKR_TRY_VOID(CheckName("tenant", tenant));
  SKR_TRY_VOID(AuditIntent(a, rid, "tenant.delete", std::string(tenant), ""));
  auto r = keys_.DeleteTenant(tenant);
  SKR_TRY_VOID(AuditAdmin(a, "tenant.delete", std::string(tenant), "", std::nullopt, rid, r));
  return r;
}

Result<Json> Broker::CreateToken(const Actor& a, std::string_view body, const std::string& rid) {
  SKR_TRY(Json req, ParseBodyObject(body, 4096));
  SKR_TRY(std::string role_s, GetString(req, "role"));
  auto role = keystore::ParseRole(role_s);
  if (!role) return BadRequest("role must be operator, admin or auditor");
  std::optional<std::string> tenant = GetOptionalString(req, "tenant");
  if (req.contains("tenant") && !tenant) return BadRequest("'tenant' must be a string");
  if (tenant) SKR_TRY_VOID(CheckName("tenant", *tenant));
  // Tokens expire: 90 days unless the request says otherwise (up to 10 years).
  std::int64_t ttl = kDefaultTokenTtlSeconds;
  if (req.contains("ttl_seconds")) {
    SKR_TRY(std::int64_t v, GetInt(req, "ttl_seconds"));
    if (v <= 0 || v > 10LL * 365 * 86400) return BadRequest("ttl_seconds out of range");
    ttl = v;
  }
  // An admin may mint admin/auditor tokens for its own tenant only.
  if (a.token.role != Role::kOperator) {
    if (a.token.role != Role::kAdmin || *role == Role::kOperator || !tenant ||
        !a.token.tenant || *tenant != *a.token.tenant) {
      return Error(ErrorCode::kPermissionDenied,
                   "only operators create operator tokens or tokens for other tenants",
                   "forbidden");
    }
  }
  if (*role == Role::kOperator && tenant) return BadRequest("operator tokens have no tenant");
  if (*role == Role::kAdmin && !tenant) return BadRequest("admin tokens need a tenant");
  // A token minted by an admin never outlives the admin's own token.
  if (a.token.role != Role::kOperator && a.token.expires_at) {
    const std::int64_t left = *a.token.expires_at - clock_.NowUnix();
    if (left <= 0) return Error(ErrorCode::kUnauthenticated, "token expired", "unauthenticated");
    ttl = std::min(ttl, left);
  }
  SKR_TRY_VOID(AuditIntent(a, rid, "token.create", tenant.value_or(""), ""));
  auto t = keys_.CreateToken(*role, tenant, ttl);
  SKR_TRY_VOID(AuditAdmin(a, "token.create", tenant.value_or(""), t ? t->info.id : "",
                          std::nullopt, rid, Outcome(t)));
  if (!t) return t.error();
  Json out = TokenToJson(t->info);
  out["token"] = t->secret;
  return out;
}

Result<Json> Broker::ListTokens(const Actor& a, std::optional<std::string> tenant,
                                const Page& page) {
  if (a.token.role != Role::kOperator) {
    if (a.token.role != Role::kAdmin) {
      return Error(ErrorCode::kPermissionDenied, "admin or operator role required", "forbidden");
    }
    tenant = a.token.tenant;  // admins see their own tenant's tokens only
  }
  SKR_TRY(std::vector<keystore::TokenInfo> list, keys_.ListTokens(tenant));
  return Paginate<keystore::TokenInfo>(
      list, page, [](const keystore::TokenInfo& t) { return t.id; }, TokenToJson, "tokens");
}

Result<void> Broker::RevokeToken(const Actor& a, std::string_view id, const std::string& rid) {
  auto t = keys_.GetToken(id);
  if (!t) return t.error();
  if (a.token.role != Role::kOperator &&
      (a.token.role != Role::kAdmin || !t->tenant || t->tenant != a.token.tenant)) {
    return Error(ErrorCode::kPermissionDenied, "cannot revoke this token", "forbidden");
  }
  // Recorded under the token's tenant, so that tenant's auditors see the revocation.
  const std::string tenant = t->tenant.value_or("");
  SKR_TRY_VOID(AuditIntent(a, rid, "token.revoke", tenant, std::string(id)));
  auto r = keys_.RevokeToken(id);
  SKR_TRY_VOID(AuditAdmin(a, "token.revoke", tenant, std::string(id), std::nullopt, rid, r));
  return r;
}

Result<Json> Broker::CreateKey(const Actor& a, std::string_view tenant, std::string_view body,
                               const std::string& rid) {
  SKR_TRY_VOID(CheckName("tenant", tenant));
  SKR_TRY_VOID(RequireTenantAdmin(a, tenant));
  SKR_TRY(Json req, ParseBodyObject(body, 64 * 1024));
  SKR_TRY(std::string name, GetString(req, "name"));
  SKR_TRY(std::string pol, GetString(req, "policy"));
  SKR_TRY_VOID(CheckName("key", name));
  SKR_TRY_VOID(CheckName("policy", pol));
  const bool imported = req.contains("material");
  SKR_TRY(SecretBytes material, MaterialFromBody(req, false));
  if (auto m = req.find("material"); m != req.end() && m->is_string()) {
    // Wipe the base64 copy of imported material held by the parsed request.
    auto& s = m->get_ref<std::string&>();
    OPENSSL_cleanse(s.data(), s.size());
  }
  SKR_TRY_VOID(AuditIntent(a, rid, imported ? "key.import" : "key.create", std::string(tenant), name));
  auto info = keys_.CreateKey(tenant, name, pol, material, imported ? "imported" : "generated");
  SKR_TRY_VOID(AuditAdmin(a, imported ? "key.import" : "key.create", std::string(tenant), name,
                          info ? std::optional<int>(1) : std::nullopt, rid, Outcome(info)));
  if (!info) return info.error();
  return KeyToJson(*info);
}

Result<Json> Broker::ListKeys(const Actor& a, std::string_view tenant, const Page& page) {
  SKR_TRY_VOID(CheckName("tenant", tenant));
  SKR_TRY_VOID(RequireTenantReader(a, tenant));
  SKR_TRY(std::vector<keystore::KeyInfo> list, keys_.ListKeys(tenant));
  return Paginate<keystore::KeyInfo>(
      list, page, [](const keystore::KeyInfo& k) { return k.name; }, KeyToJson, "keys");
}

Result<Json> Broker::GetKey(const Actor& a, std::string_view tenant, std::string_view key) {
  SKR_TRY_VOID(CheckName("tenant", tenant));
  SKR_TRY_VOID(CheckName("key", key));
  SKR_TRY_VOID(RequireTenantReader(a, tenant));
  SKR_TRY(keystore::KeyInfo info, keys_.GetKey(tenant, key));
  return KeyToJson(info);
}

Result<Json> Broker::RotateKey(const Actor& a, std::string_view tenant, std::string_view key,
                               std::string_view body, const std::string& rid) {
  SKR_TRY_VOID(CheckName("tenant", tenant));
  SKR_TRY_VOID(CheckName("key", key));
  SKR_TRY_VOID(RequireTenantAdmin(a, tenant));
  SKR_TRY(Json req, ParseBodyObject(body, 64 * 1024));
  const bool imported = req.contains("material");
  SKR_TRY(SecretBytes material, MaterialFromBody(req, false));
  if (auto m = req.find("material"); m != req.end() && m->is_string()) {
    auto& s = m->get_ref<std::string&>();
    OPENSSL_cleanse(s.data(), s.size());
  }
  SKR_TRY_VOID(AuditIntent(a, rid, "key.rotate", std::string(tenant), std::string(key)));
  auto info = keys_.RotateKey(tenant, key, material, imported ? "imported" : "generated");
  std::optional<int> v;
  if (info && !info->versions.empty()) v = info->versions.back().version;
  SKR_TRY_VOID(AuditAdmin(a, "key.rotate", std::string(tenant), std::string(key), v, rid,
                          Outcome(info)));
  if (!info) return info.error();
  return KeyToJson(*info);
}

Result<Json> Broker::SetVersionState(const Actor& a, std::string_view tenant,
                                     std::string_view key, int version,
                                     keystore::VersionState state, const std::string& rid) {
  SKR_TRY_VOID(CheckName("tenant", tenant));
  SKR_TRY_VOID(CheckName("key", key));
  SKR_TRY_VOID(RequireTenantAdmin(a, tenant));
  const char* action = state == keystore::VersionState::kEnabled    ? "key.enable"
                       : state == keystore::VersionState::kDisabled ? "key.disable"
                                                                    : "key.destroy";
  SKR_TRY_VOID(AuditIntent(a, rid, action, std::string(tenant), std::string(key)));
  auto info = keys_.SetVersionState(tenant, key, version, state);
  SKR_TRY_VOID(AuditAdmin(a, action, std::string(tenant), std::string(key), version, rid,
                          Outcome(info)));
  if (!info) return info.error();
  return KeyToJson(*info);
}

Result<Json> Broker::VerifyEvidence(const Actor& a, std::string_view body) {
  if (a.token.role == Role::kAuditor) {
    return Error(ErrorCode::kPermissionDenied, "admin or operator role required", "forbidden");
  }
  SKR_TRY(Json req, ParseBodyObject(body, options_.max_json_bytes));
  auto ev = req.find("evidence");
  if (ev == req.end()) return BadRequest("give 'evidence'");
  SKR_TRY(attestation::VerifiedEvidence v, verifiers_.Verify(*ev));
  // A tenant admin sees only its own tenant's enrolled AKs; operators see all.
  if (a.token.role != Role::kOperator) {
    SKR_TRY_VOID(CheckAkTenant(v, a.token.tenant.value_or("")));
  }
  return Json{{"type", v.type}, {"authority", v.authority}, {"claims", ClaimsToJson(v.claims)}};
}

Result<Json> Broker::ImportSnpCert(const Actor& a, std::string_view body,
                                   const std::string& rid) {
  namespace snp = attestation::snp;
  SKR_TRY_VOID(RequireOperator(a));
  if (options_.snp_trust == nullptr) {
    return Error(ErrorCode::kFailedPrecondition, "sev-snp attestation is disabled", "snp_disabled");
  }
  SKR_TRY(Json req, ParseBodyObject(body, 64 * 1024));
  SKR_TRY(std::string text, GetString(req, "cert"));
  auto cert = ParseCertificateAny(text);
  if (!cert) return BadRequest("'cert' is not a PEM or base64 DER certificate", "snp_cert_malformed");
  auto ext = snp::ParseVcekExtensions(cert->get());
  if (!ext) return Error(ErrorCode::kInvalidArgument, ext.error().message(), ext.error().reason());
  const snp::Signer signer = ext->hw_id ? snp::Signer::kVcek : snp::Signer::kVlek;
  // Only certificates that chain to a trusted AMD root enter the cache.
  auto endorsed = snp::VerifyEndorsement(cert->get(), signer, *options_.snp_trust, clock_.NowUnix());
  if (!endorsed) {
    (void)AuditAdmin(a, "snp.import_cert", "", "", std::nullopt, rid, endorsed.error());
    return endorsed.error();
  }
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert->get(), &der);
  if (len <= 0) return OpenSslError("i2d_X509");
  std::vector<std::uint8_t> der_bytes(der, der + len);
  OPENSSL_free(der);
  const std::string key = snp::CollateralKey(signer, *ext);
  Json info = {{"lookup", key},
               {"signer", signer == snp::Signer::kVcek ? "vcek" : "vlek"},
               {"product", snp::ProductName(endorsed->product)},
               {"product_name", ext->product_name},
               {"sha256", HexEncode(Sha256(der_bytes))}};
  SKR_TRY_VOID(AuditIntent(a, rid, "snp.import_cert", "", key));
  auto put = keys_.PutCollateral(kSnpCertKind, key, der_bytes, DumpJson(info));
  SKR_TRY_VOID(AuditAdmin(a, "snp.import_cert", "", key, std::nullopt, rid, put));
  if (!put) return put.error();
  return info;
}

Result<Json> Broker::ListSnpCerts(const Actor& a) {
  SKR_TRY_VOID(RequireOperator(a));
  SKR_TRY(std::vector<keystore::KeyStore::Collateral> list, keys_.ListCollateral(kSnpCertKind));
  Json arr = Json::array();
  for (const auto& c : list) {
    auto info = ParseJson(c.info);
    Json j = info ? *info : Json::object();
    j["created_at"] = FormatRfc3339(c.created_at);
    arr.push_back(j);
  }
  return Json{{"certs", arr}};
}

Result<Json> Broker::AuditEntries(const Actor& a, const audit::Query& query) {
  audit::Query q = query;
  switch (a.token.role) {
    case Role::kOperator:
      break;
    case Role::kAuditor:
      if (a.token.tenant) {
        if (q.tenant && *q.tenant != *a.token.tenant) {
          return Error(ErrorCode::kPermissionDenied, "auditor of another tenant", "forbidden");
        }
        q.tenant = a.token.tenant;
      }
      break;
    case Role::kAdmin:
      return Error(ErrorCode::kPermissionDenied, "auditor or operator role required", "forbidden");
  }
  q.limit = std::clamp(q.limit, 1, 1000);
  SKR_TRY(std::vector<audit::Record> recs, audit_.Entries(q));
  Json arr = Json::array();
  for (const auto& r : recs) {
    Json j = audit::RecordToJson(r);
    // The Merkle leaf bytes (DESIGN.md section 6): what the auditor hashes to check proofs.
    SKR_TRY(const std::string leaf, audit::LeafBytes(r));
    j["leaf"] = Base64Encode(AsBytes(leaf));
    arr.push_back(std::move(j));
  }
  Json next = nullptr;
  if (static_cast<int>(recs.size()) == q.limit && !recs.empty()) next = recs.back().seq + 1;
  return Json{{"entries", arr}, {"next_from_seq", next}};
}

// ---------------------------------------------------------------------- TPM AK enrolment ---

namespace {

Json TpmAkToJson(const keystore::KeyStore::TpmAk& ak) {
  Json j = {{"id", ak.id},           {"tenant", ak.tenant},       {"name", ak.name},
            {"state", ak.state},     {"ak_name", ak.ak_name},     {"ek_sha256", ak.ek_sha256},
            {"created_at", FormatRfc3339(ak.created_at)}};
  if (ak.state == "pending") j["expires_at"] = FormatRfc3339(ak.expires_at);
  if (ak.activated_at != 0) j["activated_at"] = FormatRfc3339(ak.activated_at);
  return j;
}

Result<std::vector<std::uint8_t>> Base64Field(const Json& req, const char* name, std::size_t max_bytes) {
  auto it = req.find(name);
  if (it == req.end() || !it->is_string()) return BadRequest(std::string("'") + name + "' must be a base64 string");
  auto bytes = Base64DecodeAtMost(it->get_ref<const std::string&>(), max_bytes);
  if (!bytes) {
    return BadRequest(std::string("'") + name + (bytes.error().reason() == "too_large" ? "' is too large" : "' is not base64"));
  }
  if (bytes->empty()) return BadRequest(std::string("'") + name + "' is not base64");
  return std::move(bytes).value();
}

}  // namespace

Result<Json> Broker::BeginTpmEnrollment(const Actor& a, std::string_view tenant, std::string_view body,
                                        const std::string& rid) {
  SKR_TRY_VOID(CheckName("tenant", tenant));
  SKR_TRY_VOID(RequireTenantAdmin(a, tenant));
  SKR_TRY(Json req, ParseBodyObject(body, 64 * 1024));
  SKR_TRY(std::string name, GetString(req, "name"));
  SKR_TRY_VOID(CheckName("machine", name));
  // Every enrolment attempt is audited: the intent first (no audit, no enrolment), then the
  // outcome, whether the EK, the AK or storage refused it.
  SKR_TRY_VOID(AuditIntent(a, rid, "tpm.enroll", std::string(tenant), name));
  auto result = DoBeginTpmEnrollment(tenant, name, req);
  SKR_TRY_VOID(AuditAdmin(a, "tpm.enroll", std::string(tenant), name, std::nullopt, rid, Outcome(result)));
  return result;
}

Result<Json> Broker::DoBeginTpmEnrollment(std::string_view tenant, const std::string& name, const Json& req) {
  namespace tpm = attestation::tpm;
  for (auto it = req.begin(); it != req.end(); ++it) {
    const auto& k = it.key();
    if (k != "name" && k != "ak_public" && k != "ek_cert" && k != "ek_chain" && k != "ek_public") {
      return BadRequest("unknown member '" + Clip(k, 32) + "'");
    }
  }
  SKR_TRY(std::vector<std::uint8_t> ak_bytes, Base64Field(req, "ak_public", tpm::kMaxTpmStructBytes));
  auto ak_pub = tpm::ParsePublic(ak_bytes);
  if (!ak_pub) return Error(ErrorCode::kInvalidArgument, ak_pub.error().message(), ak_pub.error().reason());
  if (auto attrs = tpm::CheckAkAttributes(*ak_pub); !attrs) {
    return Error(ErrorCode::kInvalidArgument, attrs.error().message(), attrs.error().reason());
  }
  if (auto key = tpm::AkFromTpmtPublic(*ak_pub); !key) {
    return Error(ErrorCode::kInvalidArgument, key.error().message(), key.error().reason());
  }
  auto ak_name = tpm::ObjectName(*ak_pub);
  if (!ak_name) return Error(ErrorCode::kInvalidArgument, ak_name.error().message(), ak_name.error().reason());

  keystore::KeyStore::TpmAk rec;
  rec.id = "ak_" + HexEncode(RandomBytes(12));
  rec.tenant = std::string(tenant);
  rec.name = name;
  rec.ak_public = ak_bytes;
  rec.ak_name = HexEncode(*ak_name);
  Json response;

  auto ek_it = req.find("ek_cert");
  if (ek_it == req.end()) {
    if (options_.tpm_require_ek) {
      return BadRequest("'ek_cert' is required: AKs are enrolled by proving them resident in the TPM of a "
                        "certified EK (MakeCredential / ActivateCredential)",
                        "tpm_ek_required");
    }
    rec.state = "active";
    SKR_TRY(keystore::KeyStore::TpmAk put, keys_.PutTpmAk(rec, {}));
    return TpmAkToJson(put);
  }

  // ---- EK certificate: chain to a configured EK CA ----
  if (!ek_it->is_string() || ek_it->get_ref<const std::string&>().size() > 32 * 1024) {
    return BadRequest("'ek_cert' must be PEM or base64 DER of at most 32 KiB");
  }
  auto ek_cert = ParseCertificateAny(ek_it->get_ref<const std::string&>());
  if (!ek_cert) return BadRequest("'ek_cert' is not a certificate", "tpm_ek_malformed");
  std::vector<X509Ptr> chain;
  if (auto ch = req.find("ek_chain"); ch != req.end()) {
    if (!ch->is_string() || ch->get_ref<const std::string&>().size() > 64 * 1024) {
      return BadRequest("'ek_chain' must be a PEM bundle of at most 64 KiB");
    }
    auto parsed = ParseCertificatesPem(ch->get_ref<const std::string&>());
    if (!parsed) return BadRequest("'ek_chain' is not a PEM bundle of certificates", "tpm_ek_malformed");
    chain = std::move(parsed).value();
  }
  if (options_.tpm_ek_roots == nullptr || options_.tpm_ek_roots->empty()) {
    return Error(ErrorCode::kFailedPrecondition, "no EK certificate authority is configured ([attestation.tpm] ek_roots)",
                 "tpm_ek_untrusted");
  }
  std::vector<X509*> inter, anchors;
  for (const auto& c : chain) inter.push_back(c.get());
  for (const auto& r : *options_.tpm_ek_roots) anchors.push_back(r.get());
  auto chained = VerifyChainToAnchors(ek_cert->get(), inter, anchors, clock_.NowUnix());
  const auto ek_fp = CertificateSha256(ek_cert->get());
  rec.ek_sha256 = HexEncode(ek_fp);
  if (!chained) {
    return Error(ErrorCode::kVerificationFailed, "EK certificate: " + chained.error().message(), "tpm_ek_untrusted");
  }
  EVP_PKEY* ek_key = X509_get0_pubkey(ek_cert->get());
  tpm::EkParameters params;
  if (auto ep = req.find("ek_public"); ep != req.end()) {
    SKR_TRY(std::vector<std::uint8_t> ek_pub_bytes, Base64Field(req, "ek_public", tpm::kMaxTpmStructBytes));
    auto ek_pub = tpm::ParsePublic(ek_pub_bytes);
    if (!ek_pub) return Error(ErrorCode::kInvalidArgument, ek_pub.error().message(), ek_pub.error().reason());
    auto key = tpm::AkFromTpmtPublic(*ek_pub);
    if (!key || ek_key == nullptr || EVP_PKEY_eq(key->get(), ek_key) != 1) {
      return BadRequest("'ek_public' is not the key of 'ek_cert'", "tpm_ek_mismatch");
    }
    // The EK's nameAlg and symmetric definition shape the credential (Part 1, 24.4).
    const TPMT_SYM_DEF_OBJECT& sym = ek_pub->type == TPM2_ALG_RSA ? ek_pub->parameters.rsaDetail.symmetric
                                                                   : ek_pub->parameters.eccDetail.symmetric;
    params.name_alg = ek_pub->nameAlg;
    params.sym_alg = sym.algorithm;
    params.sym_bits = sym.keyBits.aes;
  }
  // ---- MakeCredential: only the TPM holding this EK and this AK can answer ----
  SecretBytes secret = RandomSecret(32);
  auto challenge = tpm::MakeCredential(ek_key, params, *ak_name, secret.Reveal());
  if (!challenge) return challenge.error();
  rec.state = "pending";
  rec.expires_at = clock_.NowUnix() + options_.tpm_enrollment_ttl_seconds;
  const auto secret_hash = Sha256(secret.Reveal());
  SKR_TRY(keystore::KeyStore::TpmAk put, keys_.PutTpmAk(rec, secret_hash));
  response = TpmAkToJson(put);
  response["credential_blob"] = Base64Encode(challenge->credential_blob);
  response["encrypted_secret"] = Base64Encode(challenge->encrypted_secret);
  return response;
}

Result<Json> Broker::ActivateTpmEnrollment(const Actor& a, std::string_view tenant, std::string_view id,
                                           std::string_view body, const std::string& rid) {
  SKR_TRY_VOID(CheckName("tenant", tenant));
  SKR_TRY_VOID(RequireTenantAdmin(a, tenant));
  if (id.empty() || id.size() > 64) return BadRequest("bad enrolment id");
  SKR_TRY(Json req, ParseBodyObject(body, 4096));
  auto s = Base64Field(req, "secret", 64);
  if (!s) return s.error();
  SecretBytes secret = SecretBytes::CopyFrom(*s);
  OPENSSL_cleanse(s->data(), s->size());
  SKR_TRY_VOID(AuditIntent(a, rid, "tpm.activate", std::string(tenant), std::string(id)));
  auto ak = keys_.ActivateTpmAk(tenant, id, secret.Reveal());
  SKR_TRY_VOID(AuditAdmin(a, "tpm.activate", std::string(tenant), std::string(id), std::nullopt, rid,
                          Outcome(ak)));
  if (!ak) return ak.error();
  return TpmAkToJson(*ak);
}

Result<Json> Broker::ListTpmAks(const Actor& a, std::string_view tenant) {
  SKR_TRY_VOID(CheckName("tenant", tenant));
  SKR_TRY_VOID(RequireTenantAdmin(a, tenant));
  SKR_TRY(std::vector<keystore::KeyStore::TpmAk> list, keys_.ListTpmAks(tenant));
  Json arr = Json::array();
  for (const auto& ak : list) arr.push_back(TpmAkToJson(ak));
  return Json{{"aks", arr}};
}

Result<void> Broker::DeleteTpmAk(const Actor& a, std::string_view tenant, std::string_view id,
                                 const std::string& rid) {
  SKR_TRY_VOID(CheckName("tenant", tenant));
  SKR_TRY_VOID(RequireTenantAdmin(a, tenant));
  if (id.empty() || id.size() > 64) return BadRequest("bad AK id");
  SKR_TRY_VOID(AuditIntent(a, rid, "tpm.delete_ak", std::string(tenant), std::string(id)));
  auto del = keys_.DeleteTpmAk(tenant, id);
  SKR_TRY_VOID(AuditAdmin(a, "tpm.delete_ak", std::string(tenant), std::string(id), std::nullopt, rid, del));
  return del;
}

}  // namespace skr::server
