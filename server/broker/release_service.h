// SPDX-License-Identifier: Apache-2.0
// The release service (DESIGN.md section 2): challenges and releases, each outcome audited, and
// the verification / binding / policy steps shared with dry runs and replays (Decide).
// Thread-safe: every method may be called concurrently.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/json.h"
#include "common/result.h"
#include "policy/policy.h"
#include "server/broker/broker_context.h"
#include "server/broker/release_steps.h"
#include "server/broker/unknown_releases.h"

namespace skr::server {

class ReleaseService : private BrokerRefs {
 public:
  explicit ReleaseService(BrokerContext& ctx) : BrokerRefs(ctx) {}

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

  // The verification, binding and policy steps of a release (shared with replays and what-if
  // dry runs): the evidence verified, bound to `nonce` and `tee_pubkey`, its AK owned by
  // `tenant`, then the policy `policy_of` returns (stored in `pol`) evaluated on its claims.
  // `relied` gets what the verification relied on once the evidence verified. With `recorded`
  // (replay), the evidence is verified as at its time with the collateral kept
  // (Verifier::VerifyRecorded).
  Result<policy::Decision> Decide(const Json& evidence, const std::string& nonce,
                                  const Json& tee_pubkey, std::string_view tenant,
                                  const std::function<Result<keystore::PolicyRecord>()>& policy_of,
                                  keystore::PolicyRecord& pol, ReliedOn& relied,
                                  const attestation::RecordedState* recorded = nullptr);

  // Key metadata through the cache; kNotFound "key_not_found" for an unknown tenant or key.
  Result<keystore::KeyInfo> FindKey(std::string_view tenant, std::string_view key);
 private:
  // `replay` gets the replay bundle (evidence, tee-pubkey, nonce, policy digest) once the
  // request got that far.
  // `kept` gets the collateral bytes the bundle names by digest (hex SHA-256 -> bytes).
  Result<Json> DoRelease(audit::Record& rec, Json& replay,
                         std::vector<std::pair<std::string, std::string>>& kept,
                         std::string_view tenant, std::string_view key,
                         std::optional<int> version, std::string_view body);
  // The 403 for a policy denial: its detail names the failing claim only; `rec.reason` gets the
  // full reason with values (audit only).
  static Error PolicyDenial(audit::Record& rec, const keystore::PolicyRecord& pol,
                            const policy::Decision& decision);
  // {"sha256": [0, 7], ...}: the PCRs the key's current policy names (empty when none / unknown).
  Json PolicyPcrSelection(const std::string& tenant, const std::string& key);

  // True when the release names no existing key (so it is aggregated, not audited one by one).
  bool NamesUnknownKey(std::string_view tenant, std::string_view key);

  UnknownReleaseAggregator unknown_releases_{10000};
  std::function<std::optional<Error>()> release_gate_;
  ReleaseStats stats_;
};

}  // namespace skr::server
