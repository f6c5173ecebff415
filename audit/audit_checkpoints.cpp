// SPDX-License-Identifier: Apache-2.0
// AuditLog's signed checkpoints (issue 11): stored in the log's own file (table checkpoints),
// written through the writer connection under the same exclusivity as a group commit.
#include <cstring>
#include <exception>
#include <mutex>
#include <string>

#include "audit/audit.h"
#include "audit/log_impl.h"

namespace skr::audit {
namespace {

using internal::Prepare;

Error Unavailable(std::string_view detail) {
  return Error(ErrorCode::kUnavailable, "audit log unavailable: " + std::string(detail),
               "audit_unavailable");
}

}  // namespace

Result<void> AuditLog::StoreCheckpoint(const StoredCheckpoint& cp) {
  // Through the writer, the way a group-commit leader holds it, so the connection is never shared.
  return impl_->WithWriter([&](sqlite3* db) -> Result<void> {
    SKR_TRY(auto stmt, Prepare(db,
                               "INSERT OR IGNORE INTO checkpoints (tree_size, root_hash, note, created_at)"
                               " VALUES (?1, ?2, ?3, ?4)",
                               ErrorCode::kUnavailable));
    sqlite3_bind_int64(stmt.get(), 1, cp.tree_size);
    sqlite3_bind_blob(stmt.get(), 2, cp.root.data(), static_cast<int>(cp.root.size()),
                      SQLITE_TRANSIENT);
    internal::BindText(stmt.get(), 3, cp.note);
    sqlite3_bind_int64(stmt.get(), 4, cp.created_at);
    if (sqlite3_step(stmt.get()) != SQLITE_DONE) {
      return Unavailable(std::string("storing a checkpoint: ") + sqlite3_errmsg(db));
    }
    return Ok();
  });
}

Result<std::optional<AuditLog::StoredCheckpoint>> AuditLog::LatestCheckpoint() {
  std::lock_guard<std::mutex> guard(impl_->read_mu);
  sqlite3* db = impl_->read_db.get();
  SKR_TRY(auto stmt, Prepare(db,
                             "SELECT tree_size, root_hash, note, created_at FROM checkpoints "
                             "ORDER BY tree_size DESC LIMIT 1",
                             ErrorCode::kUnavailable));
  const int rc = sqlite3_step(stmt.get());
  if (rc == SQLITE_DONE) return std::optional<StoredCheckpoint>();
  if (rc != SQLITE_ROW) return Unavailable(std::string("reading checkpoints: ") + sqlite3_errmsg(db));
  StoredCheckpoint cp;
  cp.tree_size = sqlite3_column_int64(stmt.get(), 0);
  if (sqlite3_column_bytes(stmt.get(), 1) != static_cast<int>(cp.root.size())) {
    return Error(ErrorCode::kUnavailable, "a stored checkpoint's root is not 32 bytes",
                 "audit_integrity");
  }
  std::memcpy(cp.root.data(), sqlite3_column_blob(stmt.get(), 1), cp.root.size());
  cp.note = internal::ColumnText(stmt.get(), 2);
  cp.created_at = sqlite3_column_int64(stmt.get(), 3);
  return std::optional<StoredCheckpoint>(std::move(cp));
}

}  // namespace skr::audit
