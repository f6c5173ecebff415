// SPDX-License-Identifier: Apache-2.0
#include "audit/tree_store.h"

#include <cstring>
#include <limits>
#include <string>

namespace skr::audit {
namespace {

Error Unavailable(sqlite3* db, const std::string& what) {
  return Error(ErrorCode::kUnavailable,
               "audit log unavailable: Merkle tree " + what + ": " + sqlite3_errmsg(db),
               "audit_unavailable");
}

// SQLite integers are signed 64-bit; tree indexes never come near 2^63.
bool FitsSql(std::uint64_t v) {
  return v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
}

}  // namespace

Result<TreeStore> TreeStore::Open(sqlite3* db) {
  TreeStore s;
  s.db_ = db;
  SKR_TRY(s.insert_, internal::Prepare(db,
                                       "INSERT INTO merkle_nodes (level, idx, hash) "
                                       "VALUES (?1, ?2, ?3)",
                                       ErrorCode::kUnavailable));
  SKR_TRY(s.select_,
          internal::Prepare(db, "SELECT hash FROM merkle_nodes WHERE level = ?1 AND idx = ?2",
                            ErrorCode::kUnavailable));
  SKR_TRY(s.count_, internal::Prepare(db,
                                      "SELECT COALESCE(MAX(idx) + 1, 0) FROM merkle_nodes "
                                      "WHERE level = 0",
                                      ErrorCode::kUnavailable));
  return s;
}

Result<merkle::Hash> TreeStore::Node(int level, std::uint64_t index) {
  if (level < 0 || level > 63 || !FitsSql(index)) {
    return Error(ErrorCode::kInvalidArgument, "Merkle node out of range");
  }
  sqlite3_stmt* st = select_.get();
  sqlite3_reset(st);
  sqlite3_bind_int(st, 1, level);
  sqlite3_bind_int64(st, 2, static_cast<sqlite3_int64>(index));
  const int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    Error e = rc == SQLITE_DONE
                  ? Error(ErrorCode::kUnavailable,
                          "audit log unavailable: Merkle node (" + std::to_string(level) + ", " +
                              std::to_string(index) + ") is missing",
                          "audit_integrity")
                  : Unavailable(db_, "read");
    sqlite3_reset(st);
    return e;
  }
  merkle::Hash h{};
  const void* p = sqlite3_column_blob(st, 0);
  if (p == nullptr || sqlite3_column_bytes(st, 0) != static_cast<int>(h.size())) {
    sqlite3_reset(st);
    return Error(ErrorCode::kUnavailable, "audit log unavailable: a Merkle node is not 32 bytes",
                 "audit_integrity");
  }
  std::memcpy(h.data(), p, h.size());
  sqlite3_reset(st);
  return h;
}

Result<void> TreeStore::AppendLeaf(std::uint64_t index, const merkle::Hash& leaf_hash) {
  merkle::Hash node = leaf_hash;
  for (const auto& [level, idx] : merkle::NodesCompletedBy(index)) {
    if (level > 0) {
      // `node` is the right child (idx*2+1 at level-1); its left sibling is stored.
      SKR_TRY(const merkle::Hash left, Node(level - 1, idx * 2));
      node = merkle::NodeHash(left, node);
    }
    if (!FitsSql(idx)) return Error(ErrorCode::kInvalidArgument, "Merkle index out of range");
    sqlite3_stmt* st = insert_.get();
    sqlite3_reset(st);
    sqlite3_bind_int(st, 1, level);
    sqlite3_bind_int64(st, 2, static_cast<sqlite3_int64>(idx));
    sqlite3_bind_blob(st, 3, node.data(), static_cast<int>(node.size()), SQLITE_TRANSIENT);
    const int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return Unavailable(db_, "insert");
  }
  return Ok();
}

Result<std::uint64_t> TreeStore::LeafCount() {
  sqlite3_stmt* st = count_.get();
  sqlite3_reset(st);
  const int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    Error e = Unavailable(db_, "count");
    sqlite3_reset(st);
    return e;
  }
  const std::int64_t n = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return static_cast<std::uint64_t>(n < 0 ? 0 : n);
}

merkle::NodeReader TreeStore::Reader() {
  return [this](int level, std::uint64_t index) { return Node(level, index); };
}

}  // namespace skr::audit
