// SPDX-License-Identifier: Apache-2.0
// AuditLog's state, shared by its sources (audit.cpp: appends and the record chain;
// audit_tree.cpp: the Merkle tree's heads and proofs). Not part of the public API.
#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "audit/internal.h"
#include "audit/sqlite_util.h"
#include "audit/tree_store.h"

namespace skr::audit {

namespace internal {
// A record parsed back from its row (seq, hash, json columns), cross-checked against the row's
// own columns; errors carry `code` (audit.cpp).
Result<Record> RowToRecord(sqlite3_stmt* stmt, int seq_col, int hash_col, int json_col,
                           ErrorCode code);
}  // namespace internal

struct Head {
  std::int64_t seq = 0;
  std::string hash = internal::GenesisHash();
};

struct Pending {
  Record record;
  std::string bundle;  // replay bundle stored beside the record ("" = none)
  std::vector<std::pair<std::string, std::string>> collateral;  // hex SHA-256 -> bytes
  std::optional<Result<Record>> result;  // set by the leader that wrote it, under mu
};

// An flock()ed `<path>.lock`, released (closed) with the log.
struct LockFd {
  int fd = -1;
  LockFd() = default;
  LockFd(const LockFd&) = delete;
  LockFd& operator=(const LockFd&) = delete;
  ~LockFd();
};

struct AuditLog::Impl {
  const Clock* clock = nullptr;
  AuditOptions options;
  LockFd lock;  // held when options.exclusive

  // Writer connection and statements: used only by Open and by the current leader (the
  // leader_active flag is the exclusive right to touch them).
  internal::SqliteDbPtr write_db;
  internal::SqliteStmtPtr insert_stmt;
  internal::SqliteStmtPtr head_stmt;  // kHeadSql
  internal::SqliteStmtPtr bundle_stmt;  // INSERT INTO replay_bundles
  internal::SqliteStmtPtr collateral_stmt;  // upsert INTO replay_collateral
  std::optional<TreeStore> write_tree;

  // Reader connection for Entries/VerifyAll/Size/proofs. In WAL mode readers never wait for the
  // writer, so audit queries do not stall behind a commit.
  std::mutex read_mu;
  internal::SqliteDbPtr read_db;       // guarded by read_mu
  std::optional<TreeStore> read_tree;  // guarded by read_mu

  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<Pending*> queue;  // guarded by mu
  bool leader_active = false;  // guarded by mu
  Head head;                   // guarded by mu; changes only after a successful COMMIT
  AppendStats stats;           // guarded by mu

  // Writes `batch` in one transaction on top of `head`. On success returns the stored records
  // and the new head; on any failure everything is rolled back and nothing is returned.
  // Runs `f` on the writer connection with the group-commit leader role held (no batch in
  // flight meanwhile); exceptions become kUnavailable.
  Result<void> WithWriter(const std::function<Result<void>(sqlite3*)>& f);

  // `unrecorded` is the number of records whose commits failed since the last successful one: the
  // first record of the batch carries it (Record::unrecorded_failures).
  Result<std::vector<Record>> CommitBatch(const std::vector<Pending*>& batch, const Head& expect,
                                          std::int64_t unrecorded);
};

}  // namespace skr::audit
