// SPDX-License-Identifier: Apache-2.0
// AuditLog's full walks (DESIGN.md section 6): VerifyAll recomputes every record's hash chain
// link and Merkle leaf and every stored node above it (the start-up check, issue 11), and
// DamagedRecords lists the records that no longer hash (for `skrd audit-seal`).
#include <sqlite3.h>

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "audit/log_impl.h"
#include "common/merkle.h"

namespace skr::audit {
namespace {

using internal::Prepare;
using internal::RowToRecord;

constexpr std::size_t kVerifyChunk = 1000;

Error Unavailable(std::string_view detail) {
  return Error(ErrorCode::kUnavailable, "audit log unavailable: " + std::string(detail),
               "audit_unavailable");
}

}  // namespace

Result<std::int64_t> AuditLog::VerifyAll(const std::set<std::int64_t>& acknowledged) {
  // Taken before the read: the head only moves after a commit, so every record it names is
  // visible to the SELECT below.
  Head committed_head;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    committed_head = impl_->head;
  }
  std::lock_guard<std::mutex> guard(impl_->read_mu);
  sqlite3* db = impl_->read_db.get();
  // One statement = one read transaction (a consistent WAL snapshot) for the whole walk.
  SKR_TRY(auto stmt, Prepare(db, "SELECT seq, hash, json FROM audit_records ORDER BY seq",
                             ErrorCode::kUnavailable));
  std::vector<Record> chunk;
  chunk.reserve(kVerifyChunk);
  std::string prev = internal::GenesisHash();
  std::int64_t count = 0;
  std::string hash_at_head;
  merkle::Frontier frontier;  // the root recomputed from the leaves, as they stream by
  auto flush = [&]() -> Result<void> {
    if (chunk.empty()) return Ok();
    SKR_TRY_VOID(VerifyChain(chunk, prev));
    prev = chunk.back().hash;
    chunk.clear();
    return Ok();
  };
  for (;;) {
    const int rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return Unavailable(std::string("reading records: ") + sqlite3_errmsg(db));
    const std::int64_t seq = sqlite3_column_int64(stmt.get(), 0);
    if (seq != count + 1) {
      return Error(ErrorCode::kVerificationFailed,
                   "audit chain broken at seq " + std::to_string(count + 1) + ": record missing",
                   "audit_chain_broken");
    }
    if (acknowledged.count(seq) != 0) {
      // Sealed damage: its stored leaf and hash stand in for it; the next record must still link
      // to that hash and every node above the leaf must still hash its children.
      SKR_TRY_VOID(flush());
      auto stored_leaf = impl_->read_tree->Reader()(0, static_cast<std::uint64_t>(seq - 1));
      if (!stored_leaf) {
        return Error(ErrorCode::kVerificationFailed,
                     "audit log broken at seq " + std::to_string(seq) + ": its Merkle leaf is missing",
                     "audit_chain_broken");
      }
      const std::vector<merkle::Hash> computed = frontier.Push(*stored_leaf);
      const auto names = merkle::NodesCompletedBy(static_cast<std::uint64_t>(seq - 1));
      for (std::size_t k = 1; k < names.size() && k < computed.size(); ++k) {
        auto node = impl_->read_tree->Reader()(names[k].first, names[k].second);
        if (!node || *node != computed[k]) {
          return Error(ErrorCode::kVerificationFailed,
                       "audit log broken at seq " + std::to_string(seq) + ": its Merkle node at level " +
                           std::to_string(k) + " is missing or does not hash the records",
                       "audit_chain_broken");
        }
      }
      prev = internal::ColumnText(stmt.get(), 1);
      ++count;
      if (count == committed_head.seq) hash_at_head = prev;
      continue;
    }
    auto record = RowToRecord(stmt.get(), 0, 1, 2, ErrorCode::kVerificationFailed);
    if (!record) {
      return Error(
          ErrorCode::kVerificationFailed,
          "audit chain broken at seq " + std::to_string(seq) + ": " + record.error().message(),
          "audit_chain_broken");
    }
    // The Merkle leaf stored for this record must be the hash of its JCS form, and every node it
    // completes the hash of its children.
    auto leaf_bytes = LeafBytes(*record);
    if (!leaf_bytes) {
      return Error(ErrorCode::kVerificationFailed,
                   "audit log broken at seq " + std::to_string(seq) + ": " +
                       leaf_bytes.error().message(),
                   "audit_chain_broken");
    }
    const auto index = static_cast<std::uint64_t>(seq - 1);
    const std::vector<merkle::Hash> computed = frontier.Push(merkle::LeafHash(*leaf_bytes));
    const auto names = merkle::NodesCompletedBy(index);
    for (std::size_t k = 0; k < names.size() && k < computed.size(); ++k) {
      auto stored = impl_->read_tree->Reader()(names[k].first, names[k].second);
      if (!stored || *stored != computed[k]) {
        return Error(ErrorCode::kVerificationFailed,
                     "audit log broken at seq " + std::to_string(seq) + ": its Merkle " +
                         (k == 0 ? std::string("leaf") : "node at level " + std::to_string(k)) +
                         " is missing or does not hash the records",
                     "audit_chain_broken");
      }
    }
    ++count;
    if (count == committed_head.seq) hash_at_head = record->hash;
    chunk.push_back(std::move(*record));
    if (chunk.size() == kVerifyChunk) SKR_TRY_VOID(flush());
  }
  SKR_TRY_VOID(flush());
  if (count < committed_head.seq) {
    return Error(ErrorCode::kVerificationFailed,
                 "audit chain broken at seq " + std::to_string(count + 1) + ": records up to seq " +
                     std::to_string(committed_head.seq) +
                     " were committed but are missing (log truncated)",
                 "audit_chain_broken");
  }
  // The stored inner nodes must give the same root as the leaves.
  auto stored_root = merkle::RootHash(impl_->read_tree->Reader(), static_cast<std::uint64_t>(count));
  if (!stored_root || *stored_root != frontier.Root()) {
    return Error(ErrorCode::kVerificationFailed,
                 "audit log broken: the stored Merkle tree of " + std::to_string(count) +
                     " records does not match the records",
                 "audit_chain_broken");
  }
  if (committed_head.seq > 0 && hash_at_head != committed_head.hash) {
    return Error(ErrorCode::kVerificationFailed,
                 "audit chain broken at seq " + std::to_string(committed_head.seq) +
                     ": differs from the record committed by this process (log rewritten)",
                 "audit_chain_broken");
  }
  return count;
}

Result<std::vector<std::int64_t>> AuditLog::DamagedRecords() {
  std::lock_guard<std::mutex> guard(impl_->read_mu);
  sqlite3* db = impl_->read_db.get();
  SKR_TRY(auto stmt, Prepare(db, "SELECT seq, hash, json FROM audit_records ORDER BY seq",
                             ErrorCode::kUnavailable));
  std::vector<std::int64_t> damaged;
  for (;;) {
    const int rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return Unavailable(std::string("reading records: ") + sqlite3_errmsg(db));
    const std::int64_t seq = sqlite3_column_int64(stmt.get(), 0);
    auto record = RowToRecord(stmt.get(), 0, 1, 2, ErrorCode::kVerificationFailed);
    bool bad = !record;
    if (!bad) {
      auto hash = ComputeRecordHash(*record);
      auto leaf = LeafBytes(*record);
      auto stored = impl_->read_tree->Reader()(0, static_cast<std::uint64_t>(seq < 1 ? 0 : seq - 1));
      bad = !hash || *hash != record->hash || !leaf || !stored ||
            merkle::LeafHash(*leaf) != *stored;
    }
    if (bad) damaged.push_back(seq);
  }
  return damaged;
}

}  // namespace skr::audit
