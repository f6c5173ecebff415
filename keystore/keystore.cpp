// SPDX-License-Identifier: Apache-2.0
// SQLite keystore (DESIGN.md section 5; secrets handling per CONVENTIONS.md section 4): opening,
// initializing, sealing and unsealing, names. The aggregates are in keystore_*.cpp.
#include "keystore/keystore.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include "common/encoding.h"
#include "common/ossl.h"
#include "keystore/nonce_token.h"
#include "keystore/schema.h"
#include "keystore/keystore_impl.h"
#include "keystore/sqlite_util.h"

namespace skr::keystore {
namespace {

// The SQLite file holds the wrapped DEK and token hashes: create it owner-only before SQLite
// does (SQLite gives the -wal and -shm files the database file's permissions).
Result<void> PrecreateOwnerOnly(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Error(ErrorCode::kUnavailable,
                 "cannot create database file " + path + ": " + std::strerror(errno),
                 "storage_unavailable");
  }
  ::close(fd);
  return Ok();
}

}  // namespace


const char* VersionStateName(VersionState s) {
  switch (s) {
    case VersionState::kEnabled:
      return "enabled";
    case VersionState::kDisabled:
      return "disabled";
    case VersionState::kDestroyed:
      return "destroyed";
  }
  return "unknown";
}

const char* RoleName(Role r) {
  switch (r) {
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
    case Role::kAuditor:
      return "auditor";
  }
  return "unknown";
}

std::optional<Role> ParseRole(std::string_view s) {
  if (s == "operator") return Role::kOperator;
  if (s == "admin") return Role::kAdmin;
  if (s == "auditor") return Role::kAuditor;
  return std::nullopt;
}

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name[0])) return false;
  for (char c : name.substr(1)) {
    if (!alnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

// All members are guarded by `mu`; every *Locked helper expects the caller to hold it.
KeyStore::KeyStore(sqlite3* db, const Clock& clock) : impl_(std::make_unique<Impl>(db, clock)) {}

KeyStore::~KeyStore() = default;

Result<std::unique_ptr<KeyStore>> KeyStore::Open(const std::string& path, const Clock& clock) {
  if (path.empty()) {
    return Error(ErrorCode::kUnavailable, "empty database path", "storage_unavailable");
  }
  SKR_TRY_VOID(PrecreateOwnerOnly(path));

  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  db::DbPtr handle(raw);  // sqlite3_open_v2 allocates a handle even on most failures
  if (rc != SQLITE_OK) {
    Error base = db::SqliteError(raw, rc, "open");
    return Error(ErrorCode::kUnavailable, "cannot open database " + path + ": " + base.message(),
                 "storage_unavailable");
  }
  sqlite3* h = handle.get();
  auto setup = [h]() -> Result<void> {
    if (int erc = sqlite3_extended_result_codes(h, 1); erc != SQLITE_OK) {
      return db::SqliteError(h, erc, "extended_result_codes");
    }
    // Defensive mode: no writable_schema or other ways to corrupt the file through SQL.
    if (int drc = sqlite3_db_config(h, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr); drc != SQLITE_OK) {
      return db::SqliteError(h, drc, "db_config(DEFENSIVE)");
    }
    // busy_timeout first: the following PRAGMAs may need a lock another process holds.
    SKR_TRY_VOID(db::Exec(h, "PRAGMA busy_timeout = 5000"));
    {
      SKR_TRY(Stmt stmt, Stmt::Prepare(h, "PRAGMA journal_mode = WAL"));
      SKR_TRY(const bool row, stmt.Step());
      if (!row || stmt.Text(0) != "wal") {
        return Error(ErrorCode::kUnavailable, "database does not support WAL journal mode");
      }
    }
    SKR_TRY_VOID(db::Exec(h, "PRAGMA synchronous = FULL"));
    SKR_TRY_VOID(db::Exec(h, "PRAGMA foreign_keys = ON"));
    SKR_TRY_VOID(db::Exec(h, "PRAGMA secure_delete = ON"));
    {
      // foreign_keys silently stays off when SQLite was built without it; refuse that build.
      SKR_TRY(Stmt stmt, Stmt::Prepare(h, "PRAGMA foreign_keys"));
      SKR_TRY(const bool row, stmt.Step());
      if (!row || stmt.Int64(0) != 1) {
        return Error(ErrorCode::kUnavailable, "SQLite foreign key enforcement is unavailable");
      }
    }
    return db::Migrate(h);
  };
  if (auto r = setup(); !r.has_value()) {
    // Open promises kUnavailable for every failure.
    return Error(ErrorCode::kUnavailable,
                 "cannot open database " + path + ": " + r.error().message(),
                 "storage_unavailable");
  }

  return std::unique_ptr<KeyStore>(new KeyStore(handle.release(), clock));
}

bool KeyStore::IsInitialized() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto stmt = impl_->stmts.Prepare( "SELECT 1 FROM meta WHERE name = ?1");
  if (!stmt.has_value()) return false;
  if (!stmt->BindText(1, kDekMetaName).has_value()) return false;
  auto row = stmt->Step();
  return row.has_value() && *row;
}

Result<void> KeyStore::Initialize(const SecretBytes& master_key) {
  if (master_key.size() != kMasterKeySize) {
    return Error(ErrorCode::kInvalidArgument, "master key must be 32 bytes", "bad_master_key");
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  SKR_TRY(Txn txn, Txn::Begin(impl_->db, Txn::Mode::kWrite));
  {
    SKR_TRY(Stmt stmt, impl_->stmts.Prepare( "SELECT 1 FROM meta WHERE name = ?1"));
    SKR_TRY_VOID(stmt.BindText(1, kDekMetaName));
    SKR_TRY(const bool exists, stmt.Step());
    if (exists) {
      return Error(ErrorCode::kAlreadyExists, "keystore is already initialized",
                   "already_initialized");
    }
  }
  SecretBytes dek = RandomSecret(kDekSize);
  SKR_TRY(const std::vector<std::uint8_t> wrapped,
          AesGcmSeal(master_key.Reveal(), dek.Reveal(), AsBytes(kDekAad)));
  {
    SKR_TRY(Stmt stmt, impl_->stmts.Prepare(
                                     "INSERT INTO meta (name, value, created_at) "
                                     "VALUES (?1, ?2, ?3)"));
    SKR_TRY_VOID(stmt.BindText(1, kDekMetaName));
    SKR_TRY_VOID(stmt.BindBlob(2, wrapped));
    SKR_TRY_VOID(stmt.BindInt64(3, impl_->Now()));
    SKR_TRY_VOID(stmt.Run());
  }
  SKR_TRY(SecretBytes nonce_key, DeriveNonceKey(master_key));
  SKR_TRY_VOID(txn.Commit());
  impl_->dek = std::move(dek);
  impl_->nonce_key = std::move(nonce_key);
  return Ok();
}

Result<void> KeyStore::Unseal(const SecretBytes& master_key) {
  if (master_key.size() != kMasterKeySize) {
    return Error(ErrorCode::kSealed, "master key must be 32 bytes", "bad_master_key");
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  SKR_TRY(Stmt stmt, impl_->stmts.Prepare( "SELECT value FROM meta WHERE name = ?1"));
  SKR_TRY_VOID(stmt.BindText(1, kDekMetaName));
  SKR_TRY(const bool row, stmt.Step());
  if (!row) {
    return Error(ErrorCode::kSealed, "keystore is not initialized (run skrd init)",
                 "not_initialized");
  }
  SecretBytes wrapped = stmt.SecretBlob(0);
  stmt.Reset();
  auto dek = AesGcmOpen(master_key.Reveal(), wrapped.Reveal(), AsBytes(kDekAad));
  if (!dek.has_value() || dek->size() != kDekSize) {
    return Error(ErrorCode::kSealed, "master key does not unwrap the data-encryption key",
                 "wrong_master_key");
  }
  SKR_TRY(SecretBytes nonce_key, DeriveNonceKey(master_key));
  impl_->dek = std::move(*dek);
  impl_->nonce_key = std::move(nonce_key);
  return Ok();
}

bool KeyStore::sealed() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->dek.empty();
}

Result<void> KeyStore::Ping() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto check = [&]() -> Result<void> {
    SKR_TRY(Stmt stmt, impl_->stmts.Prepare( "SELECT COUNT(*) FROM meta"));
    SKR_TRY(const bool row, stmt.Step());
    if (!row) return Error(ErrorCode::kUnavailable, "storage ping returned no row");
    return Ok();
  };
  auto r = check();
  if (r.has_value()) return r;
  return Error(ErrorCode::kUnavailable, r.error().message(), "storage_unavailable");
}

}  // namespace skr::keystore
