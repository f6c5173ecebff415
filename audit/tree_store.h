// SPDX-License-Identifier: Apache-2.0
// The audit log's Merkle tree in SQLite (issue 11): table merkle_nodes holds the hash of every
// complete subtree (level 0 = leaf hashes; level L, index i covers leaves [i 2^L, (i+1) 2^L)),
// written in the same transaction as the records they hash, append-only like them. A proof or a
// root then reads at most 2 log2(n) rows. Not thread-safe: callers serialize use of a connection.
#pragma once

#include <sqlite3.h>

#include <cstdint>

#include "common/merkle.h"
#include "audit/sqlite_util.h"
#include "common/result.h"

namespace skr::audit {

class TreeStore {
 public:
  // Prepares the statements on `db` (which must outlive this). Errors: kUnavailable.
  static Result<TreeStore> Open(sqlite3* db);

  // Adds leaf `index` (its hash) and the parent nodes it completes; the left siblings are read
  // from the table, so the leaves before `index` must be there. Call inside the write
  // transaction that stores the record. Errors: kUnavailable.
  Result<void> AppendLeaf(std::uint64_t index, const merkle::Hash& leaf_hash);
  // Number of leaves stored (the next index). Errors: kUnavailable.
  Result<std::uint64_t> LeafCount();
  // Reads nodes through this store's statements (valid while the store lives).
  merkle::NodeReader Reader();

 private:
  TreeStore() = default;
  Result<merkle::Hash> Node(int level, std::uint64_t index);
  sqlite3* db_ = nullptr;
  internal::SqliteStmtPtr insert_;
  internal::SqliteStmtPtr select_;
  internal::SqliteStmtPtr count_;
};

}  // namespace skr::audit
