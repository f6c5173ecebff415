// SPDX-License-Identifier: Apache-2.0
// The audit query service (DESIGN.md section 6): audit records for auditors and operators, and
// replays of release decisions on the bundles kept beside them (release_replay.cpp). The
// checkpoints and proofs are AuditService's (audit_service.h). Thread-safe.
#pragma once

#include <cstdint>

#include "audit/audit.h"
#include "common/json.h"
#include "common/result.h"
#include "server/broker/broker_context.h"
#include "server/broker/release_service.h"

namespace skr::server {

class AuditQueryService : private BrokerRefs {
 public:
  AuditQueryService(BrokerContext& ctx, ReleaseService& release)
      : BrokerRefs(ctx), release_(release) {}

  // GET /v1/audit/entries (auditor of the tenant or all; operator).
  Result<Json> AuditEntries(const Actor& a, const audit::Query& query);
  // GET /v1/audit/replay?seq=S (auditor of the record's tenant, or operator): re-runs the
  // verification, binding and policy steps of release record S on the bundle kept beside it,
  // against the policy version it names, and compares the decision and trace with the record
  // (release_replay.cpp).
  Result<Json> ReplayRelease(const Actor& a, std::int64_t seq);

  // A release record's replay bundle, checked against the record (replay_sha256,
  // evidence_sha256), and the collateral bytes it names (each checked against its digest).
  // Errors: replay_evidence_missing (404), replay_evidence_altered (409), kUnavailable.
  struct ReplayInputs {
    Json bundle;
    attestation::RecordedState recorded;
    Json notes = Json::array();
  };
  Result<ReplayInputs> LoadReplayInputs(const audit::Record& rec);

 private:
  ReleaseService& release_;
};

}  // namespace skr::server
