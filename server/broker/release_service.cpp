// SPDX-License-Identifier: Apache-2.0
// The release service (DESIGN.md section 2): challenges, releases and the verification / binding /
// policy steps they share with dry runs and replays (Decide).
#include "server/broker/release_service.h"

#include <algorithm>
#include <charconv>
#include <functional>
#include <map>
#include <set>

#include "attestation/binding.h"
#include "attestation/tpm/tpm_verifier.h"
#include "common/encoding.h"
#include "common/jose.h"
#include "common/ossl.h"
#include "policy/policy.h"
#include "server/broker/admin_helpers.h"
#include "server/broker/release_steps.h"

namespace skr::server {

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


// ---------------------------------------------------------------- challenge and release ---

namespace {

// The audit record of a release attempt: names only when they are valid names (client input).
audit::Record ReleaseRecord(std::string_view tenant, std::string_view key,
                            const std::string& request_id, const std::string& source) {
  audit::Record rec;
  rec.kind = "release";
  rec.action = "release";
  rec.actor = "attester";
  rec.tenant = keystore::IsValidName(tenant) ? std::string(tenant) : std::string();
  rec.key = keystore::IsValidName(key) ? std::string(key) : std::string();
  rec.request_id = request_id;
  rec.client_address = Clip(source, 64);
  return rec;
}

}  // namespace

Result<keystore::KeyInfo> ReleaseService::FindKey(std::string_view tenant, std::string_view key) {
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

bool ReleaseService::NamesUnknownKey(std::string_view tenant, std::string_view key) {
  if (!keystore::IsValidName(tenant) || !keystore::IsValidName(key)) return true;
  auto info = FindKey(tenant, key);
  return !info && info.error().code() == ErrorCode::kNotFound;
}

void ReleaseService::FlushUnknownReleases() {
  for (auto& rec : unknown_releases_.Drain()) (void)audit_.Append(std::move(rec));
}

Json ReleaseService::PolicyPcrSelection(const std::string& tenant, const std::string& key) {
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

Result<Json> ReleaseService::Challenge(std::string_view body) {
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

Result<policy::Decision> ReleaseService::Decide(
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

Result<Json> ReleaseService::DoRelease(audit::Record& rec, Json& replay,
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

Error ReleaseService::PolicyDenial(audit::Record& rec, const keystore::PolicyRecord& pol,
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

Result<Json> ReleaseService::Release(std::string_view tenant, std::string_view key,
                             std::optional<int> version, std::string_view body,
                             const std::string& request_id, const std::string& source) {
  audit::Record rec = ReleaseRecord(tenant, key, request_id, source);
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

void ReleaseService::AuditRejectedRelease(std::string_view tenant, std::string_view key,
                                  const Error& error, const std::string& request_id,
                                  const std::string& source) {
  stats_.denied.fetch_add(1, std::memory_order_relaxed);
  if (NamesUnknownKey(tenant, key)) {
    stats_.unknown_key.fetch_add(1, std::memory_order_relaxed);
    unknown_releases_.Note(source, error.reason(), clock_.NowUnix());
    return;
  }
  audit::Record rec = ReleaseRecord(tenant, key, request_id, source);
  rec.decision = "denied";
  rec.reason = Clip(error.reason() + ": " + error.message(), 512);
  (void)audit_.Append(std::move(rec));
}

}  // namespace skr::server
