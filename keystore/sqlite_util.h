// SPDX-License-Identifier: Apache-2.0
// Private SQLite helpers for the keystore (not part of the public API): RAII prepared
// statements, RAII transactions and the mapping of SQLite result codes to skr::Error.
// None of these are thread-safe by themselves: callers hold the KeyStore mutex.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/secret_bytes.h"

namespace skr::keystore::db {

// Maps a SQLite result code to an Error. Busy/locked, I/O, full, cantopen, corrupt and similar
// storage failures -> kUnavailable; PRIMARY KEY / UNIQUE violations -> kAlreadyExists; other
// constraint violations -> kFailedPrecondition; anything else (misuse, bad SQL) -> kInternal.
// The message names `what` and SQLite's own text (never bound values).
Error SqliteError(sqlite3* db, int rc, std::string_view what);

struct StmtFinalize {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

struct DbClose {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbClose>;

class StmtCache;

// One prepared statement. Bind indexes are 1-based, column indexes 0-based (as in SQLite).
class Stmt {
 public:
  static Result<Stmt> Prepare(sqlite3* db, std::string_view sql);

  Stmt(Stmt&&) noexcept = default;
  Stmt& operator=(Stmt&&) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  // A statement from a StmtCache is reset (bindings cleared) and handed back to it.
  ~Stmt();

  Result<void> BindText(int idx, std::string_view text);  // SQLite copies (not secret)
  Result<void> BindInt64(int idx, std::int64_t value);
  Result<void> BindNull(int idx);
  // Binds with SQLITE_STATIC (CONVENTIONS.md section 4): SQLite makes no internal copy, so
  // `data` must stay alive until the statement is reset or destroyed.
  Result<void> BindBlob(int idx, std::span<const std::uint8_t> data);

  // true: a row is available; false: done.
  Result<bool> Step();
  // Steps once and expects SQLITE_DONE (INSERT / UPDATE / DELETE).
  Result<void> Run();

  bool IsNull(int col) const;
  std::int64_t Int64(int col) const;
  std::string Text(int col) const;
  std::vector<std::uint8_t> Blob(int col) const;
  // Copies a blob column straight into a SecretBytes (no intermediate buffer).
  SecretBytes SecretBlob(int col) const;

  // sqlite3_reset + sqlite3_clear_bindings: drops references to bound buffers.
  void Reset();

 private:
  friend class StmtCache;
  Stmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Result<void> CheckBind(int rc, int idx);
  void GiveBack() noexcept;
  sqlite3* db_;
  StmtPtr stmt_;
  StmtCache* home_ = nullptr;  // set for a cached statement
  std::string sql_;            // its key in home_
};

// Prepared statements kept for reuse on one connection (preparing is a measurable part of a
// release: issue 10). Not thread-safe by itself: callers hold the connection's mutex for as long
// as a Stmt from it lives. Must outlive those Stmts; destroy it before closing the connection.
class StmtCache {
 public:
  explicit StmtCache(sqlite3* db) : db_(db) {}
  StmtCache(const StmtCache&) = delete;
  StmtCache& operator=(const StmtCache&) = delete;
  // An idle statement for `sql`, or a newly prepared one; it returns here when destroyed.
  Result<Stmt> Prepare(std::string_view sql);
  std::size_t idle() const { return idle_.size(); }
  // Finalizes the idle statements (before the connection is closed).
  void Clear() { idle_.clear(); }

 private:
  friend class Stmt;
  void Return(std::string sql, StmtPtr stmt) noexcept;
  sqlite3* db_;
  std::map<std::string, StmtPtr, std::less<>> idle_;
};

// Runs parameterless SQL (schema, PRAGMAs, BEGIN/COMMIT). Never use it with secrets.
Result<void> Exec(sqlite3* db, const char* sql);

// A transaction rolled back on destruction unless committed. Write transactions use
// BEGIN IMMEDIATE so that they take the write lock up front (no deadlocking lock upgrade).
class Txn {
 public:
  enum class Mode { kRead, kWrite };
  static Result<Txn> Begin(sqlite3* db, Mode mode);

  Txn(Txn&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  Txn& operator=(Txn&&) = delete;
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  ~Txn();

  Result<void> Commit();

 private:
  explicit Txn(sqlite3* db) : db_(db) {}
  sqlite3* db_;  // null once committed or moved from
};

}  // namespace skr::keystore::db
