// SPDX-License-Identifier: Apache-2.0
#include "audit/sqlite_util.h"

#include <fcntl.h>
#include <unistd.h>

namespace skr::audit::internal {

Error SqliteError(sqlite3* db, std::string_view what, ErrorCode code) {
  std::string msg(what);
  if (db != nullptr) {
    msg += ": ";
    msg += sqlite3_errmsg(db);
    msg += " (code " + std::to_string(sqlite3_extended_errcode(db)) + ")";
  }
  return Error(code, std::move(msg));
}

Result<SqliteDbPtr> OpenDb(const std::string& path, int flags, int busy_timeout_ms,
                           ErrorCode code) {
  if ((flags & SQLITE_OPEN_CREATE) != 0) {
    // Create the file owner-only before SQLite does (umask would decide otherwise); the WAL and
    // shared-memory files inherit its mode. The log holds no secrets, but its integrity matters.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) ::close(fd);
  }
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  // sqlite3_open_v2 hands out a handle even on failure (for the message); own it either way.
  SqliteDbPtr db(raw);
  if (rc != SQLITE_OK) return SqliteError(db.get(), "cannot open '" + path + "'", code);
  sqlite3_extended_result_codes(db.get(), 1);
  if (sqlite3_busy_timeout(db.get(), busy_timeout_ms) != SQLITE_OK) {
    return SqliteError(db.get(), "sqlite3_busy_timeout", code);
  }
  return db;
}

Result<void> Exec(sqlite3* db, const char* sql, ErrorCode code) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return Error(
        code, std::string(sql).substr(0, 40) + ": " + msg + " (code " + std::to_string(rc) + ")");
  }
  return Ok();
}

Result<SqliteStmtPtr> Prepare(sqlite3* db, std::string_view sql, ErrorCode code) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
  SqliteStmtPtr stmt(raw);
  if (rc != SQLITE_OK) return SqliteError(db, "prepare", code);
  return stmt;
}

int BindText(sqlite3_stmt* s, int index, std::string_view text) {
  return sqlite3_bind_text64(s, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

std::string ColumnText(sqlite3_stmt* s, int index) {
  const unsigned char* p = sqlite3_column_text(s, index);
  const int n = sqlite3_column_bytes(s, index);
  if (p == nullptr || n <= 0) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));  // NOLINT
}

Result<std::int64_t> QueryInt(sqlite3* db, const char* sql, ErrorCode code) {
  SKR_TRY(auto stmt, Prepare(db, sql, code));
  const int rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_ROW) return SqliteError(db, sql, code);
  return static_cast<std::int64_t>(sqlite3_column_int64(stmt.get(), 0));
}

}  // namespace skr::audit::internal
