// SPDX-License-Identifier: Apache-2.0
// The replay bundles kept beside release records (audit schema migration 4): what a release was
// decided on, outside the Merkle leaf and bound to it by the record's replay_sha256, for
// offline replay (`skrctl audit replay`). Read through the reader connection; pruned through the
// writer, taken from the group-commit leader role so that no batch is in flight meanwhile.
#include <sqlite3.h>

#include "audit/audit.h"
#include "audit/log_impl.h"

namespace skr::audit {

Result<std::optional<std::string>> AuditLog::ReplayBundle(std::int64_t seq) {
  std::lock_guard<std::mutex> guard(impl_->read_mu);
  sqlite3* db = impl_->read_db.get();
  SKR_TRY(auto stmt, internal::Prepare(db, "SELECT bundle FROM replay_bundles WHERE seq = ?1",
                                       ErrorCode::kUnavailable));
  sqlite3_bind_int64(stmt.get(), 1, seq);
  const int rc = sqlite3_step(stmt.get());
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) {
    return internal::SqliteError(db, "reading a replay bundle", ErrorCode::kUnavailable);
  }
  const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt.get(), 0));
  const int n = sqlite3_column_bytes(stmt.get(), 0);
  return std::optional<std::string>(std::string(data == nullptr ? "" : data,
                                                static_cast<std::size_t>(n < 0 ? 0 : n)));
}

Result<std::int64_t> AuditLog::PruneReplayBundles(std::int64_t before) {
  Impl& impl = *impl_;
  {
    std::unique_lock<std::mutex> lock(impl.mu);
    impl.cv.wait(lock, [&] { return !impl.leader_active; });
    impl.leader_active = true;  // no append writes while we hold the writer
  }
  auto release = [&impl] {
    std::lock_guard<std::mutex> lock(impl.mu);
    impl.leader_active = false;
    impl.cv.notify_all();
  };
  sqlite3* db = impl.write_db.get();
  auto stmt = internal::Prepare(db,
                                "DELETE FROM replay_bundles WHERE seq IN"
                                " (SELECT seq FROM audit_records WHERE time < ?1)",
                                ErrorCode::kUnavailable);
  if (!stmt) {
    release();
    return stmt.error();
  }
  sqlite3_bind_int64(stmt->get(), 1, before);
  const int rc = sqlite3_step(stmt->get());
  Result<std::int64_t> out = static_cast<std::int64_t>(sqlite3_changes(db));
  if (rc != SQLITE_DONE) out = internal::SqliteError(db, "pruning replay bundles", ErrorCode::kUnavailable);
  stmt->reset();
  release();
  return out;
}

}  // namespace skr::audit
