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

Result<std::optional<std::string>> AuditLog::ReplayCollateral(std::string_view sha256) {
  std::lock_guard<std::mutex> guard(impl_->read_mu);
  sqlite3* db = impl_->read_db.get();
  SKR_TRY(auto stmt, internal::Prepare(db, "SELECT bytes FROM replay_collateral WHERE sha256 = ?1",
                                       ErrorCode::kUnavailable));
  internal::BindText(stmt.get(), 1, sha256);
  const int rc = sqlite3_step(stmt.get());
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) {
    return internal::SqliteError(db, "reading kept collateral", ErrorCode::kUnavailable);
  }
  const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt.get(), 0));
  const int n = sqlite3_column_bytes(stmt.get(), 0);
  return std::optional<std::string>(std::string(data == nullptr ? "" : data,
                                                static_cast<std::size_t>(n < 0 ? 0 : n)));
}

Result<std::int64_t> AuditLog::PruneReplayBundles(std::int64_t before) {
  std::int64_t deleted = 0;
  SKR_TRY_VOID(impl_->WithWriter([&](sqlite3* db) -> Result<void> {
    SKR_TRY(auto stmt, internal::Prepare(db,
                                         "DELETE FROM replay_bundles WHERE seq IN"
                                         " (SELECT seq FROM audit_records WHERE time < ?1)",
                                         ErrorCode::kUnavailable));
    sqlite3_bind_int64(stmt.get(), 1, before);
    if (sqlite3_step(stmt.get()) != SQLITE_DONE) {
      return internal::SqliteError(db, "pruning replay bundles", ErrorCode::kUnavailable);
    }
    deleted = sqlite3_changes64(db);
    // Collateral no release named since `before` (last_time is kept to the hour).
    SKR_TRY(auto kept, internal::Prepare(db, "DELETE FROM replay_collateral WHERE last_time < ?1",
                                         ErrorCode::kUnavailable));
    sqlite3_bind_int64(kept.get(), 1, before - 3600);
    if (sqlite3_step(kept.get()) != SQLITE_DONE) {
      return internal::SqliteError(db, "pruning kept collateral", ErrorCode::kUnavailable);
    }
    return Ok();
  }));
  return deleted;
}

}  // namespace skr::audit
