// SPDX-License-Identifier: Apache-2.0
// Minimal RAII over the SQLite C API for the audit store (private to skr::audit; the keystore
// has its own). Every failure becomes an Error carrying sqlite3_errmsg().
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace skr::audit::internal {

struct SqliteCloser {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct SqliteStmtFinalizer {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using SqliteDbPtr = std::unique_ptr<sqlite3, SqliteCloser>;
using SqliteStmtPtr = std::unique_ptr<sqlite3_stmt, SqliteStmtFinalizer>;

// "<what>: <sqlite message> (code N)" as an Error of `code`.
Error SqliteError(sqlite3* db, std::string_view what, ErrorCode code);

// Opens `path` with `flags`; sets the busy timeout. Errors: `code`.
Result<SqliteDbPtr> OpenDb(const std::string& path, int flags, int busy_timeout_ms, ErrorCode code);

// Runs one or more statements without results. Errors: `code`.
Result<void> Exec(sqlite3* db, const char* sql, ErrorCode code);

Result<SqliteStmtPtr> Prepare(sqlite3* db, std::string_view sql, ErrorCode code);

// Binds text by copy (audit records are not secret, SQLITE_TRANSIENT is fine).
int BindText(sqlite3_stmt* s, int index, std::string_view text);

std::string ColumnText(sqlite3_stmt* s, int index);

// PRAGMA returning a single integer (e.g. user_version).
Result<std::int64_t> QueryInt(sqlite3* db, const char* sql, ErrorCode code);

}  // namespace skr::audit::internal
