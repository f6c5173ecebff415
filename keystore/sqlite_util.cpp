// SPDX-License-Identifier: Apache-2.0
#include "keystore/sqlite_util.h"

#include <climits>
#include <utility>

namespace skr::keystore::db {

Error SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string msg = "storage error (" + std::string(what) + "): ";
  // sqlite3_errmsg describes the most recent failure on this connection; callers hold the
  // keystore mutex, so it belongs to this call. Fall back to the generic text for `rc`.
  const char* detail =
      (db != nullptr && sqlite3_errcode(db) == rc) ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  msg += detail != nullptr ? detail : "unknown";
  switch (rc) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
      return Error(ErrorCode::kAlreadyExists, std::move(msg), "already_exists");
    default:
      break;
  }
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      return Error(ErrorCode::kFailedPrecondition, std::move(msg), "constraint_violation");
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_NOLFS:
    case SQLITE_AUTH:
    case SQLITE_NOMEM:
      return Error(ErrorCode::kUnavailable, std::move(msg), "storage_unavailable");
    default:
      return Error(ErrorCode::kInternal, std::move(msg), "storage_error");
  }
}

Result<Stmt> Stmt::Prepare(sqlite3* db, std::string_view sql) {
  if (sql.size() > static_cast<std::size_t>(INT_MAX)) {
    return Error(ErrorCode::kInternal, "SQL text too long");
  }
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
  StmtPtr owned(raw);  // finalize even on error (raw is null then, which is harmless)
  if (rc != SQLITE_OK) return SqliteError(db, rc, "prepare");
  if (!owned) return Error(ErrorCode::kInternal, "empty SQL statement");
  return Stmt(db, owned.release());
}

Stmt& Stmt::operator=(Stmt&& other) noexcept {
  if (this != &other) {
    GiveBack();
    db_ = other.db_;
    stmt_ = std::move(other.stmt_);
    home_ = std::exchange(other.home_, nullptr);
    sql_ = std::move(other.sql_);
  }
  return *this;
}

Stmt::~Stmt() { GiveBack(); }

void Stmt::GiveBack() noexcept {
  if (home_ == nullptr || !stmt_) return;
  (void)sqlite3_reset(stmt_.get());  // ends any read, drops references to bound buffers
  (void)sqlite3_clear_bindings(stmt_.get());
  home_->Return(std::move(sql_), std::move(stmt_));
  home_ = nullptr;
}

Result<Stmt> StmtCache::Prepare(std::string_view sql) {
  if (auto it = idle_.find(sql); it != idle_.end()) {
    Stmt stmt(db_, it->second.release());
    stmt.sql_ = it->first;
    idle_.erase(it);
    stmt.home_ = this;
    return stmt;
  }
  SKR_TRY(Stmt stmt, Stmt::Prepare(db_, sql));
  stmt.sql_ = std::string(sql);
  stmt.home_ = this;
  return stmt;
}

void StmtCache::Return(std::string sql, StmtPtr stmt) noexcept {
  try {
    // A second statement for the same SQL (nested use) is finalized instead of kept.
    idle_.try_emplace(std::move(sql), std::move(stmt));
  } catch (...) {
    // Out of memory: `stmt` is finalized by its deleter.
  }
}

Result<void> Stmt::CheckBind(int rc, int idx) {
  if (rc == SQLITE_OK) return Ok();
  return SqliteError(db_, rc, "bind parameter " + std::to_string(idx));
}

Result<void> Stmt::BindText(int idx, std::string_view text) {
  if (text.size() > static_cast<std::size_t>(INT_MAX)) {
    return Error(ErrorCode::kInvalidArgument, "text value too long");
  }
  // A null data pointer would bind SQL NULL; an empty string_view may carry one.
  const char* data = text.data() != nullptr ? text.data() : "";
  return CheckBind(
      sqlite3_bind_text(stmt_.get(), idx, data, static_cast<int>(text.size()), SQLITE_TRANSIENT),
      idx);
}

Result<void> Stmt::BindInt64(int idx, std::int64_t value) {
  return CheckBind(sqlite3_bind_int64(stmt_.get(), idx, static_cast<sqlite3_int64>(value)), idx);
}

Result<void> Stmt::BindNull(int idx) { return CheckBind(sqlite3_bind_null(stmt_.get(), idx), idx); }

Result<void> Stmt::BindBlob(int idx, std::span<const std::uint8_t> data) {
  if (data.size() > static_cast<std::size_t>(INT_MAX)) {
    return Error(ErrorCode::kInvalidArgument, "blob value too long");
  }
  if (data.empty()) return CheckBind(sqlite3_bind_zeroblob(stmt_.get(), idx, 0), idx);
  return CheckBind(sqlite3_bind_blob(stmt_.get(), idx, data.data(), static_cast<int>(data.size()),
                                     SQLITE_STATIC),
                   idx);
}

Result<bool> Stmt::Step() {
  const int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, rc, "step");
}

Result<void> Stmt::Run() {
  SKR_TRY(const bool row, Step());
  if (row) return Error(ErrorCode::kInternal, "statement returned a row where none was expected");
  return Ok();
}

bool Stmt::IsNull(int col) const { return sqlite3_column_type(stmt_.get(), col) == SQLITE_NULL; }

std::int64_t Stmt::Int64(int col) const {
  return static_cast<std::int64_t>(sqlite3_column_int64(stmt_.get(), col));
}

std::string Stmt::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_.get(), col);
  const int n = sqlite3_column_bytes(stmt_.get(), col);  // after column_text, as SQLite asks
  if (p == nullptr || n <= 0) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));  // NOLINT
}

std::vector<std::uint8_t> Stmt::Blob(int col) const {
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_.get(), col));
  const int n = sqlite3_column_bytes(stmt_.get(), col);
  if (p == nullptr || n <= 0) return {};
  return std::vector<std::uint8_t>(p, p + n);
}

SecretBytes Stmt::SecretBlob(int col) const {
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_.get(), col));
  const int n = sqlite3_column_bytes(stmt_.get(), col);
  if (p == nullptr || n <= 0) return SecretBytes();
  return SecretBytes::CopyFrom(std::span<const std::uint8_t>(p, static_cast<std::size_t>(n)));
}

void Stmt::Reset() {
  // The return value of sqlite3_reset repeats the last step's error, already reported.
  (void)sqlite3_reset(stmt_.get());
  (void)sqlite3_clear_bindings(stmt_.get());
}

Result<void> Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  sqlite3_free(err);  // SqliteError reads sqlite3_errmsg instead
  if (rc != SQLITE_OK) return SqliteError(db, rc, "exec");
  return Ok();
}

Result<Txn> Txn::Begin(sqlite3* db, Mode mode) {
  SKR_TRY_VOID(Exec(db, mode == Mode::kWrite ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED"));
  return Txn(db);
}

Result<void> Txn::Commit() {
  if (db_ == nullptr) return Error(ErrorCode::kInternal, "transaction already finished");
  SKR_TRY_VOID(Exec(db_, "COMMIT"));  // on failure the destructor rolls back
  db_ = nullptr;
  return Ok();
}

Txn::~Txn() {
  // SQLite may already have rolled back by itself (e.g. after SQLITE_FULL or an I/O error);
  // only roll back a transaction that is still open.
  if (db_ != nullptr && sqlite3_get_autocommit(db_) == 0) {
    (void)sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

}  // namespace skr::keystore::db
