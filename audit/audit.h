// SPDX-License-Identifier: Apache-2.0
// Audit log (DESIGN.md section 6): one record per release decision and per admin change,
// hash-chained (each record holds the SHA-256 of the previous one), committed durably before a
// release response is sent. Concurrent appends share one transaction (group commit).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/merkle.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/result.h"

namespace skr::audit {

struct Record {
  std::int64_t seq = 0;   // assigned by Append, 1-based, gap-free
  std::int64_t time = 0;  // assigned by Append (unix seconds)
  std::string kind;       // "release" | "admin"
  std::string action;     // "release", "tenant.create", "key.rotate", "token.create", ...
  std::string actor;      // token id, or "attester" for releases; never a token secret
  std::string tenant;
  std::string key;
  std::optional<int> version;
  std::string evidence_type;
  std::string evidence_sha256;        // hex SHA-256 of the evidence JSON as received
  std::string tee_pubkey_thumbprint;  // RFC 7638
  std::string policy_name;
  std::optional<int> policy_version;
  std::string decision;  // "granted" | "denied" | "error" (release); "ok" | "failed" (admin)
  std::string reason;    // why (error reason slug / failing condition), never secrets
  std::string request_id;
  Json trace;                // policy trace (array) or null
  std::string trace_sha256;  // hex SHA-256 of JCS(trace), "" when no trace
  std::string prev_hash;     // hex; 64 zeros for seq 1
  std::string hash;          // hex SHA-256(prev_hash bytes || JCS(record without "hash"))

  // Optional members (issue 11). Each is written only when set, so the leaf bytes of records
  // made before they existed do not change.
  std::string client_address;  // the request's source address ("" = not recorded)
  std::optional<std::int64_t> intent_seq;  // admin outcome: seq of its "requested" record
  std::string policy_sha256;   // policy.put: hex SHA-256 of the stored policy document
  std::string replay_sha256;   // release: hex SHA-256 of the replay bundle kept beside the log
  // Set by Append on the first record committed after appends failed: how many records could
  // not be written since the last successful commit (their decisions were not recorded).
  std::int64_t unrecorded_failures = 0;
};

Json RecordToJson(const Record& r);  // every member, including prev_hash and hash
Result<Record> RecordFromJson(const Json& j);
// The hash a record must carry, from its content and prev_hash.
Result<std::string> ComputeRecordHash(const Record& r);
// Checks a contiguous run of records: each hash recomputes and links to the previous one.
// `prev_hash` is the hash before the first record (64 zeros when it is seq 1).
// Errors: kVerificationFailed naming the first bad seq.
Result<void> VerifyChain(const std::vector<Record>& records, const std::string& prev_hash);
// The record's Merkle leaf bytes: JCS (RFC 8785) of RecordToJson(r).
Result<std::string> LeafBytes(const Record& r);

struct Query {
  std::optional<std::string> tenant;
  std::int64_t from_seq = 1;
  int limit = 100;  // capped at 1000
  std::optional<std::string> decision;
  std::optional<std::string> key;
  std::optional<std::string> action;
  std::optional<std::string> actor;
  std::optional<std::int64_t> since;  // time >= since (unix seconds)
  std::optional<std::int64_t> until;  // time < until (unix seconds)
  bool newest_first = false;  // the `limit` newest matches, in descending seq order
};

struct AuditOptions {
  int busy_timeout_ms = 5000;  // how long to wait for a locked database before kUnavailable
  // Largest number of records one commit may carry (group commit); 1 = one commit per record.
  std::size_t max_batch = 512;
  // Hold an exclusive lock file (`<path>.lock`, flock) for the log's lifetime, so that a second
  // process cannot append to the same file (the Merkle tree needs one writer). Open fails with
  // kUnavailable "audit_locked" when another process holds it.
  bool exclusive = false;
  // Called (on the appending thread) when a commit fails, with the error (SQLite's reason in
  // its message) and the number of records that were not written.
  std::function<void(const Error&, std::size_t records)> on_failure;
};

// Group-commit counters since Open (for metrics and tests).
struct AppendStats {
  std::int64_t records = 0;    // records committed
  std::int64_t commits = 0;    // transactions committed (records / commits = mean batch)
  std::int64_t max_batch = 0;  // largest batch committed in one transaction
  std::int64_t failed = 0;     // records that failed with kUnavailable
  std::int64_t failed_commits = 0;  // transactions that failed
  std::int64_t unrecorded = 0;  // failed records not yet reported in a committed record
  std::int64_t queued = 0;     // appends waiting now, not counting the batch being written
  std::int64_t writing = 0;    // records in the batch being written now
};

// Thread-safe: any number of threads may Append / read concurrently. Appends are group-committed:
// the first waiting caller writes everyone's queued records in one transaction. Records are
// assigned seq/time/prev_hash/hash/trace_sha256 by Append (the caller's values are ignored).
// The object must outlive every call in flight.
class AuditLog {
 public:
  // Opens or creates the audit SQLite file (WAL, synchronous=FULL), applies schema migrations
  // and loads the chain head. Errors: kUnavailable (cannot open/lock/migrate, or a schema newer
  // than this build), kInvalidArgument (negative busy timeout).
  static Result<std::unique_ptr<AuditLog>> Open(const std::string& path, const Clock& clock,
                                                AuditOptions options = {});
  ~AuditLog();
  // Durably appends (fsync'ed commit) and returns the stored record (seq, time, hashes set).
  // kUnavailable when it cannot be written: the caller must not release anything then.
  // kInvalidArgument when the record cannot be canonicalized (invalid UTF-8, non-finite number).
  // `replay_bundle`, when given, is stored beside the record in the same transaction (outside
  // the leaf) and bound to it by Record::replay_sha256 = hex SHA-256(bundle).
  // `collateral` (hex SHA-256 -> bytes) is what the bundle names by digest and does not carry
  // itself (certificates, CRLs, enrolled AKs: few distinct values shared by many releases), kept
  // once per digest in the same transaction (ReplayCollateral).
  Result<Record> Append(Record record, std::string replay_bundle = {},
                        std::vector<std::pair<std::string, std::string>> collateral = {});
  // The replay bundle stored with record `seq` (nullopt: none kept, or pruned).
  // Errors: kUnavailable.
  Result<std::optional<std::string>> ReplayBundle(std::int64_t seq);
  // Collateral bytes kept under `sha256` (hex) by Append (nullopt: none, or pruned). The caller
  // checks the digest of what it gets. Errors: kUnavailable.
  Result<std::optional<std::string>> ReplayCollateral(std::string_view sha256);
  // Deletes the replay bundles of records older than `before` (unix seconds), and kept
  // collateral no release has named since then; the records and the tree stay. Returns the number
  // of bundles deleted. Serialized with appends. Errors: kUnavailable.
  Result<std::int64_t> PruneReplayBundles(std::int64_t before);
  // Records with seq >= from_seq matching the filters, in seq order, at most min(limit, 1000).
  // Errors: kInvalidArgument (from_seq < 1, limit < 1), kUnavailable, kInternal (corrupt row).
  Result<std::vector<Record>> Entries(const Query& q);
  // Recomputes the whole chain from seq 1 and returns the number of records.
  // kVerificationFailed on the first broken link, missing seq, or when a record this process
  // committed was removed or rewritten since. Records in `acknowledged` (damage an operator
  // sealed, see Seals) are not recomputed: their stored leaf and hash stand in for them, so
  // everything around them is still checked.
  Result<std::int64_t> VerifyAll(const std::set<std::int64_t>& acknowledged = {});
  // The records whose stored bytes no longer give their stored leaf or hash (edited in place),
  // for `skrd audit-seal`. Errors: kUnavailable.
  Result<std::vector<std::int64_t>> DamagedRecords();

  // ---- Seals (audit/seals.cpp): damage an operator acknowledged with `skrd audit-seal` ----
  struct Seal {
    std::int64_t seal_seq = 0;                // the audit.seal record
    std::vector<std::int64_t> acknowledged;   // records whose damage it acknowledges
    std::string note;                         // checkpoint signed at tree size seal_seq
    std::int64_t created_at = 0;
  };
  // Stores a seal (serialized with appends). Errors: kUnavailable.
  Result<void> StoreSeal(const Seal& seal);
  // Every seal, oldest first. Errors: kUnavailable; kUnavailable "audit_integrity" for a row
  // that does not parse.
  Result<std::vector<Seal>> Seals();
  // Number of records. Errors: kUnavailable.
  Result<std::int64_t> Size();
  // SQLite's PRAGMA quick_check on the file (page and index structure). kVerificationFailed
  // "audit_file_corrupt" with SQLite's first complaint when it is not "ok"; kUnavailable.
  Result<void> QuickCheck();
  AppendStats Stats() const;

  // ---- The Merkle tree over the records (DESIGN.md section 6; audit_tree.cpp) ----
  // Record seq S is leaf S - 1; its leaf bytes are the record's JCS form (LeafBytes).
  struct TreeHead {
    std::int64_t size = 0;  // committed records
    merkle::Hash root{};    // RFC 9162 MTH of the first `size` leaves
  };
  // The committed tree now. Errors: kUnavailable; kUnavailable "audit_integrity" when a node is
  // missing or malformed.
  Result<TreeHead> CurrentTree();
  // Root of the first `size` leaves (0 <= size <= committed size, else kInvalidArgument
  // "invalid_proof_range").
  Result<merkle::Hash> RootAt(std::int64_t size);
  // RFC 9162 inclusion proof of record `seq` in the tree of `tree_size` records
  // (1 <= seq <= tree_size <= committed size, else kInvalidArgument "invalid_proof_range").
  Result<std::vector<merkle::Hash>> InclusionProof(std::int64_t seq, std::int64_t tree_size);
  // RFC 9162 consistency proof between tree sizes `from` <= `to` <= committed size.
  Result<std::vector<merkle::Hash>> ConsistencyProof(std::int64_t from, std::int64_t to);
  // The stored leaf hash of record `seq`.
  Result<merkle::Hash> LeafHashAt(std::int64_t seq);

  // ---- Signed checkpoints (audit/checkpoint.h), kept in the log's file ----
  struct StoredCheckpoint {
    std::int64_t tree_size = 0;
    merkle::Hash root{};
    std::string note;  // the signed note text
    std::int64_t created_at = 0;
  };
  // Stores a checkpoint (the first one stored for a tree size is kept). Serialized with appends.
  // Errors: kUnavailable.
  Result<void> StoreCheckpoint(const StoredCheckpoint& checkpoint);
  // The checkpoint of the largest tree size stored, if any. Errors: kUnavailable.
  Result<std::optional<StoredCheckpoint>> LatestCheckpoint();

 private:
  AuditLog();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace skr::audit
