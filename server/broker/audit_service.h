// SPDX-License-Identifier: Apache-2.0
// The auditor-facing side of the audit log (DESIGN.md section 6, issue 11): signed checkpoints
// of the Merkle tree (on an interval, on demand, at shutdown), inclusion and consistency proofs,
// and the start-up / tamper check against the last signed checkpoint. Transport-free, like
// Broker; thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "audit/audit.h"
#include "audit/checkpoint.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/result.h"
#include "server/broker/broker.h"

namespace skr::server {

class AuditService {
 public:
  // `checkpoint_file` keeps the latest checkpoint outside the database (beside the signing
  // key), so that a log rolled back together with its checkpoints table is still caught.
  AuditService(audit::AuditLog& log, const audit::CheckpointSigner& signer, const Clock& clock,
               std::string checkpoint_file);

  // The start-up / tamper check: the latest checkpoint (from the database or the file, the
  // larger tree) carries a valid signature by this log's key, the stored tree has at least its
  // size, and the stored tree's root at that size is its root. On failure the log is marked
  // damaged (IntegrityFailure) and the error says which seq first differs.
  Result<void> CheckIntegrity();
  // Set while the log is damaged: releases are refused with it (503 "audit_integrity").
  std::optional<Error> IntegrityFailure() const;

  // Signs and stores a checkpoint of the current tree unless the latest one already covers it;
  // returns the latest. While the log is damaged nothing is signed: the latest stored checkpoint
  // is returned (or the integrity error when there is none). Errors: kUnavailable.
  Result<audit::AuditLog::StoredCheckpoint> Checkpoint();

  // GET /v1/audit/checkpoint: a fresh checkpoint (signed on demand when the tree grew).
  Result<Json> GetCheckpoint(const Actor& a);
  // GET /v1/audit/proof/inclusion?seq=S&tree_size=N (N defaults to the latest checkpoint's size).
  // A tenant-scoped auditor gets proofs for its own tenant's records only.
  Result<Json> GetInclusionProof(const Actor& a, std::int64_t seq,
                                 std::optional<std::int64_t> tree_size);
  // GET /v1/audit/proof/consistency?from=M&to=N (hashes only: any auditor).
  Result<Json> GetConsistencyProof(const Actor& a, std::int64_t from, std::int64_t to);

  // A release receipt (`?receipt=1`): a signed checkpoint that includes record `seq`, the
  // record's leaf bytes (base64) and its inclusion proof, so a VM owner can later prove that its
  // key release was logged. Signs a new checkpoint when the latest does not cover `seq`.
  Result<Json> Receipt(std::int64_t seq);

  const std::string& verifier_key() const { return signer_.verifier_key(); }

  // `skrd audit-seal` (offline, audit_seal.cpp): acknowledges the damage the start-up check
  // finds so that releases can resume, without hiding it. Records edited in place (their bytes no
  // longer give their stored leaf) are listed as acknowledged, records added while skrd was
  // stopped are accepted; an audit.seal record saying so (with `reason`) is appended and a
  // checkpoint is signed over it and stored with the seal. The damaged records keep failing
  // `skrctl audit verify` against the signed roots (the damage stays provable). Refused
  // (kFailedPrecondition "audit_unsealable") when the log cannot continue: pages corrupt, records
  // missing, stored tree nodes altered, or a signed checkpoint no longer matching the tree.
  // Returns {"sealed": false} for a sound log.
  Result<Json> Seal(const std::string& reason);

  // Called after the shutdown checkpoint: records (beside the checkpoint file) the tree size
  // skrd stopped at. At the next start CheckIntegrity refuses a log that grew or shrank while
  // skrd was stopped (records appended or cut by something else), then removes the marker, so
  // that after a crash (no marker) records committed after the last checkpoint are accepted.
  Result<void> MarkStopped(std::int64_t tree_size);
  std::string stopped_file() const { return checkpoint_file_ + ".stopped"; }

 private:
  void MarkDamaged(Error e);
  static Result<void> SaveFile(const std::string& path, const std::string& content);
  Result<void> CheckIntegrityOnce();  // CheckIntegrity's steps
  // The records acknowledged by valid seals; a seal that does not verify marks the log damaged.
  Result<std::set<std::int64_t>> AcknowledgedDamage();
  // Why `seal` is not a valid seal of this log ("" when it is).
  std::string SealProblem(const audit::AuditLog::Seal& seal);
  // The stopped-marker part of CheckIntegrity (`size` = records in the log now).
  Result<void> CheckStopped(std::int64_t size);

  audit::AuditLog& log_;
  const audit::CheckpointSigner& signer_;
  const Clock& clock_;
  const std::string checkpoint_file_;
  std::mutex sign_mu_;  // one checkpoint signed at a time
  mutable std::mutex mu_;
  std::optional<Error> damaged_;  // guarded by mu_
};

}  // namespace skr::server
