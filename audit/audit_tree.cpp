// SPDX-License-Identifier: Apache-2.0
// AuditLog's Merkle tree queries (issue 11): heads, roots at past sizes, inclusion and
// consistency proofs, all read from merkle_nodes through the reader connection. Nodes are written
// in the same transaction as the records they cover, so every node of a tree no larger than the
// committed size is present; a missing one is an integrity failure, not a race.
#include <mutex>
#include <string>

#include "audit/audit.h"
#include "audit/log_impl.h"

namespace skr::audit {
namespace {

Error BadRange(const std::string& what) {
  return Error(ErrorCode::kInvalidArgument, what, "invalid_proof_range");
}

Result<std::int64_t> CommittedSize(sqlite3* db) {
  auto n = internal::QueryInt(db, "SELECT COALESCE(MAX(seq), 0) FROM audit_records",
                              ErrorCode::kUnavailable);
  if (!n) {
    return Error(ErrorCode::kUnavailable, "audit log unavailable: " + n.error().message(),
                 "audit_unavailable");
  }
  return n;
}

}  // namespace

Result<void> AuditLog::QuickCheck() {
  std::lock_guard<std::mutex> guard(impl_->read_mu);
  sqlite3* db = impl_->read_db.get();
  SKR_TRY(auto stmt, internal::Prepare(db, "PRAGMA quick_check(1)", ErrorCode::kUnavailable));
  const int rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_ROW) {
    return Error(ErrorCode::kUnavailable,
                 std::string("audit log unavailable: quick_check: ") + sqlite3_errmsg(db),
                 "audit_unavailable");
  }
  const std::string verdict = internal::ColumnText(stmt.get(), 0);
  if (verdict != "ok") {
    return Error(ErrorCode::kVerificationFailed, "audit file is corrupt: " + verdict,
                 "audit_file_corrupt");
  }
  return Ok();
}

Result<AuditLog::TreeHead> AuditLog::CurrentTree() {
  std::lock_guard<std::mutex> guard(impl_->read_mu);
  SKR_TRY(const std::int64_t size, CommittedSize(impl_->read_db.get()));
  SKR_TRY(const merkle::Hash root,
          merkle::RootHash(impl_->read_tree->Reader(), static_cast<std::uint64_t>(size)));
  return TreeHead{size, root};
}

Result<merkle::Hash> AuditLog::RootAt(std::int64_t size) {
  std::lock_guard<std::mutex> guard(impl_->read_mu);
  SKR_TRY(const std::int64_t committed, CommittedSize(impl_->read_db.get()));
  if (size < 0 || size > committed) {
    return BadRange("tree size " + std::to_string(size) + " is not in 0.." +
                    std::to_string(committed));
  }
  return merkle::RootHash(impl_->read_tree->Reader(), static_cast<std::uint64_t>(size));
}

Result<std::vector<merkle::Hash>> AuditLog::InclusionProof(std::int64_t seq,
                                                           std::int64_t tree_size) {
  std::lock_guard<std::mutex> guard(impl_->read_mu);
  SKR_TRY(const std::int64_t committed, CommittedSize(impl_->read_db.get()));
  if (tree_size < 1 || tree_size > committed) {
    return BadRange("tree_size " + std::to_string(tree_size) + " is not in 1.." +
                    std::to_string(committed));
  }
  if (seq < 1 || seq > tree_size) {
    return BadRange("seq " + std::to_string(seq) + " is not in 1.." + std::to_string(tree_size));
  }
  return merkle::InclusionProof(impl_->read_tree->Reader(), static_cast<std::uint64_t>(seq - 1),
                                static_cast<std::uint64_t>(tree_size));
}

Result<std::vector<merkle::Hash>> AuditLog::ConsistencyProof(std::int64_t from, std::int64_t to) {
  std::lock_guard<std::mutex> guard(impl_->read_mu);
  SKR_TRY(const std::int64_t committed, CommittedSize(impl_->read_db.get()));
  if (to < 0 || to > committed) {
    return BadRange("to " + std::to_string(to) + " is not in 0.." + std::to_string(committed));
  }
  if (from < 0 || from > to) {
    return BadRange("from " + std::to_string(from) + " is not in 0.." + std::to_string(to));
  }
  return merkle::ConsistencyProof(impl_->read_tree->Reader(), static_cast<std::uint64_t>(from),
                                  static_cast<std::uint64_t>(to));
}

Result<merkle::Hash> AuditLog::LeafHashAt(std::int64_t seq) {
  std::lock_guard<std::mutex> guard(impl_->read_mu);
  SKR_TRY(const std::int64_t committed, CommittedSize(impl_->read_db.get()));
  if (seq < 1 || seq > committed) {
    return BadRange("seq " + std::to_string(seq) + " is not in 1.." + std::to_string(committed));
  }
  return impl_->read_tree->Reader()(0, static_cast<std::uint64_t>(seq - 1));
}

}  // namespace skr::audit
