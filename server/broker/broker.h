// SPDX-License-Identifier: Apache-2.0
// Transport-free use cases of skrd (DESIGN.md sections 2 and 8): challenge, release, admin
// and audit. Composes keystore, attestation, policy and audit. Knows nothing about HTTP: the
// router in server/http maps paths to these calls and Errors to status codes.
// Thread-safe: every method may be called concurrently.
#pragma once

#include <atomic>
#include <functional>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attestation/registry.h"
#include "attestation/snp/amd_roots.h"
#include "audit/audit.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/ossl.h"
#include "common/result.h"
#include "keystore/keystore.h"
#include "policy/policy.h"
#include "server/broker/release_caches.h"
#include "server/broker/release_steps.h"
#include "server/broker/unknown_releases.h"

namespace skr::server {

class TdxCollateralStore;  // server/broker/tdx_collateral.h

struct BrokerOptions {
  int nonce_ttl_seconds = 120;
  std::size_t max_json_bytes = 256 * 1024;
  // AMD roots used to check VCEK/VLEK certificates before they enter the cache; null when
  // sev-snp is disabled.
  const attestation::snp::AmdTrustStore* snp_trust = nullptr;
  // The TDX collateral store (issue 13); null when tdx is disabled.
  TdxCollateralStore* tdx_collateral = nullptr;
  // TPM AK enrolment (issue 4): EK certificate authorities (null or empty: enrolment with an EK
  // is refused), whether an EK + ActivateCredential round trip is required, how long a
  // MakeCredential challenge stays valid.
  const std::vector<X509Ptr>* tpm_ek_roots = nullptr;
  bool tpm_require_ek = true;
  int tpm_enrollment_ttl_seconds = 300;
  // Keep each release's evidence, tee-pubkey, nonce and policy digest beside its audit record
  // for offline replay (audit.replay_retention_days > 0).
  bool keep_replay_bundles = true;
};

// The authenticated caller of an admin or auditor endpoint.
struct Actor {
  keystore::TokenInfo token;
  std::string source;  // the request's client address, for the audit records
  // Set by the broker while it handles the request: the seq of the "requested" record of the
  // admin change in progress, which its outcome record links to (Record::intent_seq).
  mutable std::optional<std::int64_t> intent_seq;
  mutable std::string intent_action;
};

struct Page {
  int limit = 100;
  std::string after;  // exclusive cursor (a name or id)
};

struct ReleaseStats {
  std::atomic<std::uint64_t> granted{0};
  std::atomic<std::uint64_t> denied{0};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> challenges{0};
  std::atomic<std::uint64_t> unknown_key{0};  // releases naming unknown tenants/keys (aggregated)
};

class Broker {
 public:
  Broker(keystore::KeyStore& keys, audit::AuditLog& audit, const attestation::Registry& verifiers,
         const Clock& clock, BrokerOptions options);

  bool sealed() const { return keys_.sealed(); }
  const ReleaseStats& stats() const { return stats_; }

  // POST /v1/challenge {} | {"tenant"} | {"tenant", "key"}; with a key whose policy reads
  // tpm.pcr.<bank>.<n> claims, the answer carries "tpm_pcrs": {"<bank>": [n, ...]}.
  Result<Json> Challenge(std::string_view body);
  // POST /v1/tenants/{t}/keys/{k}/release. Every outcome is audited; a granted release is
  // returned only after its audit record is durably committed (else kUnavailable). Releases
  // naming an unknown tenant or key are aggregated per `source` (FlushUnknownReleases).
  Result<Json> Release(std::string_view tenant, std::string_view key, std::optional<int> version,
                       std::string_view body, const std::string& request_id,
                       const std::string& source = "");
  // Audits a release attempt that was refused before reaching Release (e.g. body too large).
  void AuditRejectedRelease(std::string_view tenant, std::string_view key, const Error& error,
                            const std::string& request_id, const std::string& source = "");
  // Appends one audit record per source for the unknown-key releases noted since the last call
  // (call every audit.unknown_release_interval_seconds, and at shutdown).
  void FlushUnknownReleases();
  // Consulted before every release: an error (e.g. the audit log failed its integrity check,
  // 503 "audit_integrity") refuses the release before anything else is done. Set before serving.
  void SetReleaseGate(std::function<std::optional<Error>()> gate) { release_gate_ = std::move(gate); }

  // Bearer token -> actor. kUnauthenticated.
  Result<Actor> Authenticate(std::string_view authorization_header);

  // Tenants (operator).
  Result<Json> CreateTenant(const Actor& a, std::string_view body, const std::string& rid);
  Result<Json> ListTenants(const Actor& a, const Page& page);
  Result<void> DeleteTenant(const Actor& a, std::string_view tenant, const std::string& rid);
  // Tokens (operator; admin for its own tenant's admin/auditor tokens).
  Result<Json> CreateToken(const Actor& a, std::string_view body, const std::string& rid);
  Result<Json> ListTokens(const Actor& a, std::optional<std::string> tenant, const Page& page);
  Result<void> RevokeToken(const Actor& a, std::string_view id, const std::string& rid);
  // Policies (admin of the tenant, or operator).
  Result<Json> PutPolicy(const Actor& a, std::string_view tenant, std::string_view name,
                         std::string_view body, const std::string& rid);
  Result<Json> GetPolicy(const Actor& a, std::string_view tenant, std::string_view name,
                         std::optional<int> version);
  Result<Json> ListPolicies(const Actor& a, std::string_view tenant, const Page& page);
  // Dry run of the newest stored version, version N ("version") or an unsaved draft
  // ("document", linted as a PUT would be) on evidence or claims.
  Result<Json> EvaluatePolicy(const Actor& a, std::string_view tenant, std::string_view name,
                              std::string_view body);
  // Stores version N's document ({"to": N}) as a new version (audited policy.rollback).
  Result<Json> RollbackPolicy(const Actor& a, std::string_view tenant, std::string_view name,
                              std::string_view body, const std::string& rid);
  // Replays the evidence kept for the key's newest releases ({"document", "last"?}) against a
  // draft and lists which would now be denied and why (audited policy.what_if).
  Result<Json> PolicyWhatIf(const Actor& a, std::string_view tenant, std::string_view key,
                            std::string_view body, const std::string& rid);
  // GET /v1/claims (any token): the claim catalogue the policy lint uses.
  static Json ClaimCatalogue();
  // Keys (admin of the tenant, or operator). Metadata only: never material.
  Result<Json> CreateKey(const Actor& a, std::string_view tenant, std::string_view body,
                         const std::string& rid);
  Result<Json> ListKeys(const Actor& a, std::string_view tenant, const Page& page);
  Result<Json> GetKey(const Actor& a, std::string_view tenant, std::string_view key);
  Result<Json> RotateKey(const Actor& a, std::string_view tenant, std::string_view key,
                         std::string_view body, const std::string& rid);
  Result<Json> SetVersionState(const Actor& a, std::string_view tenant, std::string_view key,
                               int version, keystore::VersionState state, const std::string& rid);
  Result<Json> SetKeyPolicy(const Actor& a, std::string_view tenant, std::string_view key,
                            std::string_view body, const std::string& rid);
  // POST /v1/attestation/verify (admin or operator): verify only, no nonce, no binding.
  Result<Json> VerifyEvidence(const Actor& a, std::string_view body);
  // POST /v1/attestation/snp/certs (operator): verify a VCEK/VLEK to the trusted AMD roots and
  // cache it for reports that arrive without one. GET lists the cache.
  Result<Json> ImportSnpCert(const Actor& a, std::string_view body, const std::string& rid);
  Result<Json> ListSnpCerts(const Actor& a);
  // POST / GET /v1/attestation/tdx/collateral (operator; server/broker/tdx_admin.cpp).
  Result<Json> ImportTdxCollateral(const Actor& a, std::string_view body, const std::string& rid);
  Result<Json> GetTdxCollateral(const Actor& a);
  // TPM AK enrolment (admin of the tenant, or operator). Begin: POST /v1/tenants/{t}/tpm/enrollments
  // {"name", "ak_public" (base64 TPMT_PUBLIC), "ek_cert" (PEM / base64 DER), "ek_chain"?,
  // "ek_public"?} -> 201 with a MakeCredential challenge for the EK (state "pending"), or, when
  // the EK is not required and not given, the active AK. Activate: POST .../enrollments/{id}/activate
  // {"secret": base64 of what TPM2_ActivateCredential returned} -> the active AK.
  Result<Json> BeginTpmEnrollment(const Actor& a, std::string_view tenant, std::string_view body,
                                  const std::string& rid);
  Result<Json> ActivateTpmEnrollment(const Actor& a, std::string_view tenant, std::string_view id,
                                     std::string_view body, const std::string& rid);
  Result<Json> ListTpmAks(const Actor& a, std::string_view tenant);
  Result<void> DeleteTpmAk(const Actor& a, std::string_view tenant, std::string_view id,
                           const std::string& rid);
  // GET /v1/audit/entries (auditor of the tenant or all; operator).
  Result<Json> AuditEntries(const Actor& a, const audit::Query& query);
  // GET /v1/audit/replay?seq=S (auditor of the record's tenant, or operator): re-runs the
  // verification, binding and policy steps of release record S on the bundle kept beside it,
  // against the policy version it names, and compares the decision and trace with the record
  // (release_replay.cpp).
  Result<Json> ReplayRelease(const Actor& a, std::int64_t seq);

 private:
  // `replay` gets the replay bundle (evidence, tee-pubkey, nonce, policy digest) once the
  // request got that far.
  // `kept` gets the collateral bytes the bundle names by digest (hex SHA-256 -> bytes).
  Result<Json> DoRelease(audit::Record& rec, Json& replay,
                         std::vector<std::pair<std::string, std::string>>& kept,
                         std::string_view tenant, std::string_view key,
                         std::optional<int> version, std::string_view body);
  // The verification, binding and policy steps of a release (shared with ReplayRelease): the
  // evidence verified, bound to `nonce` and `tee_pubkey`, its AK owned by `tenant`, then the
  // policy `policy_of` returns (stored in `pol`) evaluated on its claims. `relied` gets what
  // the verification relied on once the evidence verified. With `recorded` (replay), the
  // evidence is verified as at its time with the collateral kept (Verifier::VerifyRecorded).
  Result<policy::Decision> Decide(const Json& evidence, const std::string& nonce,
                                  const Json& tee_pubkey, std::string_view tenant,
                                  const std::function<Result<keystore::PolicyRecord>()>& policy_of,
                                  keystore::PolicyRecord& pol, ReliedOn& relied,
                                  const attestation::RecordedState* recorded = nullptr);
  // The 403 for a policy denial: its detail names the failing claim only; `rec.reason` gets the
  // full reason with values (audit only).
  static Error PolicyDenial(audit::Record& rec, const keystore::PolicyRecord& pol,
                            const policy::Decision& decision);
  Result<void> AuditIntent(const Actor& a, const std::string& rid, std::string action,
                           std::string tenant, std::string key);
  Result<void> AuditAdmin(const Actor& a, std::string action, std::string tenant,
                          std::string key, std::optional<int> version, const std::string& rid,
                          const Result<void>& outcome, std::string policy_sha256 = "",
                          std::string policy_name = "",
                          std::optional<int> policy_version = std::nullopt);
  // A release record's replay bundle, checked against the record (replay_sha256,
  // evidence_sha256), and the collateral bytes it names (each checked against its digest).
  // Errors: replay_evidence_missing (404), replay_evidence_altered (409), kUnavailable.
  struct ReplayInputs {
    Json bundle;
    attestation::RecordedState recorded;
    Json notes = Json::array();
  };
  Result<ReplayInputs> LoadReplayInputs(const audit::Record& rec);

  // BeginTpmEnrollment after authorization and its intent record: checks and the stored row.
  Result<Json> DoBeginTpmEnrollment(std::string_view tenant, const std::string& name, const Json& req);
  // {"sha256": [0, 7], ...}: the PCRs the key's current policy names (empty when none / unknown).
  Json PolicyPcrSelection(const std::string& tenant, const std::string& key);

  // Key metadata through the cache; kNotFound "key_not_found" for an unknown tenant or key.
  Result<keystore::KeyInfo> FindKey(std::string_view tenant, std::string_view key);
  // True when the release names no existing key (so it is aggregated, not audited one by one).
  bool NamesUnknownKey(std::string_view tenant, std::string_view key);

  KeyInfoCache key_cache_{std::chrono::seconds(5), 10000};
  PolicyCache policy_cache_{10000};
  UnknownReleaseAggregator unknown_releases_{10000};

  keystore::KeyStore& keys_;
  audit::AuditLog& audit_;
  const attestation::Registry& verifiers_;
  const Clock& clock_;
  std::function<std::optional<Error>()> release_gate_;
  BrokerOptions options_;
  ReleaseStats stats_;
};

}  // namespace skr::server
