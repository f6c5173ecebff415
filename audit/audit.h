// SPDX-License-Identifier: Apache-2.0
// Audit log (DESIGN.md section 6): one record per release decision and per admin change,
// hash-chained (each record holds the SHA-256 of the previous one), committed durably before a
// release response is sent. Concurrent appends share one transaction (group commit).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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
};

Json RecordToJson(const Record& r);  // every member, including prev_hash and hash
Result<Record> RecordFromJson(const Json& j);
// The hash a record must carry, from its content and prev_hash.
Result<std::string> ComputeRecordHash(const Record& r);
// Checks a contiguous run of records: each hash recomputes and links to the previous one.
// `prev_hash` is the hash before the first record (64 zeros when it is seq 1).
// Errors: kVerificationFailed naming the first bad seq.
Result<void> VerifyChain(const std::vector<Record>& records, const std::string& prev_hash);

struct Query {
  std::optional<std::string> tenant;
  std::int64_t from_seq = 1;
  int limit = 100;  // capped at 1000
  std::optional<std::string> decision;
};

struct AuditOptions {
  int busy_timeout_ms = 5000;  // how long to wait for a locked database before kUnavailable
};

class AuditLog {
 public:
  // Opens or creates the audit SQLite file (WAL, synchronous=FULL). Errors: kUnavailable.
  static Result<std::unique_ptr<AuditLog>> Open(const std::string& path, const Clock& clock,
                                                AuditOptions options = {});
  ~AuditLog();
  // Durably appends (fsync'ed commit) and returns the stored record (seq, time, hashes set).
  // kUnavailable when it cannot be written: the caller must not release anything then.
  Result<Record> Append(Record record);
  Result<std::vector<Record>> Entries(const Query& q);
  // Recomputes the whole chain from seq 1. kVerificationFailed on the first broken link.
  Result<std::int64_t> VerifyAll();
  Result<std::int64_t> Size();

 private:
  AuditLog();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace skr::audit
