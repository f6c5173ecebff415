// SPDX-License-Identifier: Apache-2.0
// SQLite keystore (DESIGN.md section 5; secrets handling per CONVENTIONS.md section 4).
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
#include "keystore/sqlite_util.h"

namespace skr::keystore {

using db::Stmt;
using db::Txn;

namespace {

constexpr std::size_t kDekSize = 32;
constexpr std::size_t kMasterKeySize = 32;
constexpr std::size_t kMaxMaterial = 1024;
constexpr std::size_t kMaxPolicyDocument = 1u << 20;
constexpr std::size_t kMaxTokenSecret = 256;
constexpr std::size_t kTokenSecretBytes = 32;
constexpr std::size_t kTokenIdBytes = 8;  // 16 hex characters
constexpr std::string_view kDekAad = "skr-dek-v1";
constexpr std::string_view kDekMetaName = "dek";
constexpr std::string_view kTokenPrefix = "skr_";

Result<void> CheckName(std::string_view name, const char* what) {
  if (IsValidName(name)) return Ok();
  // The offending name is not echoed: it is client input of arbitrary bytes.
  return Error(ErrorCode::kInvalidArgument,
               std::string("invalid ") + what + " name (expected [a-z0-9][a-z0-9._-]{0,62})",
               "invalid_name");
}

Error TenantNotFound() {
  return Error(ErrorCode::kNotFound, "tenant not found", "tenant_not_found");
}
Error KeyNotFound() { return Error(ErrorCode::kNotFound, "key not found", "key_not_found"); }
Error PolicyNotFound() {
  return Error(ErrorCode::kNotFound, "policy not found", "policy_not_found");
}
Error TokenNotFound() { return Error(ErrorCode::kNotFound, "token not found", "token_not_found"); }
Error SealedError() {
  return Error(ErrorCode::kSealed, "keystore is sealed (master key not loaded)", "sealed");
}

// AAD binding a ciphertext to its row (DESIGN.md section 5): "tenant|key|version". Names cannot
// contain '|', so the encoding is unambiguous.
std::string MaterialAad(std::string_view tenant, std::string_view key, int version) {
  std::string aad;
  aad.reserve(tenant.size() + key.size() + 16);
  aad.append(tenant).append("|").append(key).append("|").append(std::to_string(version));
  return aad;
}

Result<VersionState> ParseVersionState(std::string_view s) {
  if (s == "enabled") return VersionState::kEnabled;
  if (s == "disabled") return VersionState::kDisabled;
  if (s == "destroyed") return VersionState::kDestroyed;
  return Error(ErrorCode::kInternal, "unknown key version state in database");
}

Result<int> ToInt(std::int64_t v) {
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
    return Error(ErrorCode::kInternal, "integer out of range in database");
  }
  return static_cast<int>(v);
}

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
struct KeyStore::Impl {
  Impl(sqlite3* handle, const Clock& c) : db(handle), clock(c), stmts(handle) {}
  ~Impl() {
    stmts.Clear();
    sqlite3_close_v2(db);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  std::mutex mu;
  sqlite3* db;         // guarded by mu
  const Clock& clock;  // thread-safe by contract
  SecretBytes dek;        // guarded by mu; empty while sealed
  SecretBytes nonce_key;  // guarded by mu; HKDF of the master key (nonce_token.h)
  db::StmtCache stmts;    // guarded by mu; every statement on `db` comes from here

  std::int64_t Now() const { return clock.NowUnix(); }

  Result<bool> TenantExistsLocked(std::string_view tenant) {
    SKR_TRY(Stmt stmt, stmts.Prepare( "SELECT 1 FROM tenants WHERE name = ?1"));
    SKR_TRY_VOID(stmt.BindText(1, tenant));
    return stmt.Step();
  }

  Result<void> RequireTenantLocked(std::string_view tenant) {
    SKR_TRY(const bool exists, TenantExistsLocked(tenant));
    if (!exists) return TenantNotFound();
    return Ok();
  }

  Result<bool> PolicyExistsLocked(std::string_view tenant, std::string_view name) {
    SKR_TRY(Stmt stmt,
            stmts.Prepare( "SELECT 1 FROM policies WHERE tenant = ?1 AND name = ?2 LIMIT 1"));
    SKR_TRY_VOID(stmt.BindText(1, tenant));
    SKR_TRY_VOID(stmt.BindText(2, name));
    return stmt.Step();
  }

  Result<std::vector<KeyVersion>> LoadVersionsLocked(std::string_view tenant,
                                                     std::string_view key) {
    SKR_TRY(Stmt stmt, stmts.Prepare(
                                     "SELECT version, state, origin, length, created_at "
                                     "FROM key_versions WHERE tenant = ?1 AND key = ?2 "
                                     "ORDER BY version ASC"));
    SKR_TRY_VOID(stmt.BindText(1, tenant));
    SKR_TRY_VOID(stmt.BindText(2, key));
    std::vector<KeyVersion> out;
    while (true) {
      SKR_TRY(const bool row, stmt.Step());
      if (!row) break;
      KeyVersion v;
      SKR_TRY(v.version, ToInt(stmt.Int64(0)));
      SKR_TRY(v.state, ParseVersionState(stmt.Text(1)));
      v.origin = stmt.Text(2);
      v.length = static_cast<std::size_t>(stmt.Int64(3));
      v.created_at = stmt.Int64(4);
      out.push_back(std::move(v));
    }
    return out;
  }

  // The key with its versions, or nullopt when the key does not exist.
  Result<std::optional<KeyInfo>> FindKeyLocked(std::string_view tenant, std::string_view name) {
    SKR_TRY(Stmt stmt, stmts.Prepare(
                                     "SELECT policy, created_at, policy_version FROM keys "
                                     "WHERE tenant = ?1 AND name = ?2"));
    SKR_TRY_VOID(stmt.BindText(1, tenant));
    SKR_TRY_VOID(stmt.BindText(2, name));
    SKR_TRY(const bool row, stmt.Step());
    if (!row) return std::optional<KeyInfo>();
    KeyInfo info;
    info.tenant = std::string(tenant);
    info.name = std::string(name);
    info.policy = stmt.Text(0);
    info.created_at = stmt.Int64(1);
    if (!stmt.IsNull(2)) info.policy_version = static_cast<int>(stmt.Int64(2));
    stmt.Reset();
    SKR_TRY(info.versions, LoadVersionsLocked(tenant, name));
    return std::optional<KeyInfo>(std::move(info));
  }

  // kNotFound with "tenant_not_found" or "key_not_found", so callers can tell which is missing.
  Result<KeyInfo> RequireKeyLocked(std::string_view tenant, std::string_view name) {
    SKR_TRY(std::optional<KeyInfo> key, FindKeyLocked(tenant, name));
    if (key) return std::move(*key);
    SKR_TRY_VOID(RequireTenantLocked(tenant));
    return KeyNotFound();
  }

  // Encrypts and inserts one key version. Caller holds a write transaction.
  Result<void> InsertVersionLocked(std::string_view tenant, std::string_view key, int version,
                                   const SecretBytes& material, std::string_view origin,
                                   std::int64_t now) {
    const std::string aad = MaterialAad(tenant, key, version);
    SKR_TRY(const std::vector<std::uint8_t> ciphertext,
            AesGcmSeal(dek.Reveal(), material.Reveal(), AsBytes(aad)));
    SKR_TRY(Stmt stmt, stmts.Prepare(
                                     "INSERT INTO key_versions (tenant, key, version, state, "
                                     "origin, length, ciphertext, created_at) "
                                     "VALUES (?1, ?2, ?3, 'enabled', ?4, ?5, ?6, ?7)"));
    SKR_TRY_VOID(stmt.BindText(1, tenant));
    SKR_TRY_VOID(stmt.BindText(2, key));
    SKR_TRY_VOID(stmt.BindInt64(3, version));
    SKR_TRY_VOID(stmt.BindText(4, origin));
    SKR_TRY_VOID(stmt.BindInt64(5, static_cast<std::int64_t>(material.size())));
    SKR_TRY_VOID(stmt.BindBlob(6, ciphertext));  // SQLITE_STATIC: `ciphertext` outlives stmt
    SKR_TRY_VOID(stmt.BindInt64(7, now));
    return stmt.Run();
  }

  Result<TokenInfo> ReadTokenRow(const Stmt& stmt, int first_col) {
    // Columns: id, role, tenant, created_at, expires_at.
    TokenInfo info;
    info.id = stmt.Text(first_col);
    auto role = ParseRole(stmt.Text(first_col + 1));
    if (!role) return Error(ErrorCode::kInternal, "unknown token role in database");
    info.role = *role;
    if (!stmt.IsNull(first_col + 2)) info.tenant = stmt.Text(first_col + 2);
    info.created_at = stmt.Int64(first_col + 3);
    if (!stmt.IsNull(first_col + 4)) info.expires_at = stmt.Int64(first_col + 4);
    return info;
  }
};

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

// ---- Tenants ---------------------------------------------------------------------------------

Result<Tenant> KeyStore::CreateTenant(std::string_view name) {
  SKR_TRY_VOID(CheckName(name, "tenant"));
  std::lock_guard<std::mutex> lock(impl_->mu);
  Tenant t{std::string(name), impl_->Now()};
  SKR_TRY(Stmt stmt,
          impl_->stmts.Prepare( "INSERT INTO tenants (name, created_at) VALUES (?1, ?2)"));
  SKR_TRY_VOID(stmt.BindText(1, name));
  SKR_TRY_VOID(stmt.BindInt64(2, t.created_at));
  if (auto r = stmt.Run(); !r.has_value()) {
    if (r.error().code() == ErrorCode::kAlreadyExists) {
      return Error(ErrorCode::kAlreadyExists, "tenant already exists", "tenant_exists");
    }
    return r.error();
  }
  return t;
}

Result<std::vector<Tenant>> KeyStore::ListTenants() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  SKR_TRY(Stmt stmt,
          impl_->stmts.Prepare( "SELECT name, created_at FROM tenants ORDER BY name"));
  std::vector<Tenant> out;
  while (true) {
    SKR_TRY(const bool row, stmt.Step());
    if (!row) break;
    out.push_back(Tenant{stmt.Text(0), stmt.Int64(1)});
  }
  return out;
}

Result<bool> KeyStore::TenantExists(std::string_view name) {
  SKR_TRY_VOID(CheckName(name, "tenant"));
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->TenantExistsLocked(name);
}

Result<void> KeyStore::DeleteTenant(std::string_view name) {
  SKR_TRY_VOID(CheckName(name, "tenant"));
  std::lock_guard<std::mutex> lock(impl_->mu);
  SKR_TRY(Txn txn, Txn::Begin(impl_->db, Txn::Mode::kWrite));
  SKR_TRY_VOID(impl_->RequireTenantLocked(name));
  {
    SKR_TRY(Stmt stmt, impl_->stmts.Prepare(
                                     "SELECT 1 FROM key_versions WHERE tenant = ?1 "
                                     "AND state <> 'destroyed' LIMIT 1"));
    SKR_TRY_VOID(stmt.BindText(1, name));
    SKR_TRY(const bool live, stmt.Step());
    if (live) {
      return Error(ErrorCode::kFailedPrecondition,
                   "tenant still has key versions that are not destroyed", "tenant_has_keys");
    }
  }
  // ON DELETE CASCADE removes its policies, keys (all versions destroyed), and tokens.
  SKR_TRY(Stmt del, impl_->stmts.Prepare( "DELETE FROM tenants WHERE name = ?1"));
  SKR_TRY_VOID(del.BindText(1, name));
  SKR_TRY_VOID(del.Run());
  return txn.Commit();
}

// ---- Policies --------------------------------------------------------------------------------

Result<PolicyRecord> KeyStore::PutPolicy(std::string_view tenant, std::string_view name,
                                         std::string_view document) {
  SKR_TRY_VOID(CheckName(tenant, "tenant"));
  SKR_TRY_VOID(CheckName(name, "policy"));
  if (document.empty()) {
    return Error(ErrorCode::kInvalidArgument, "empty policy document", "invalid_policy");
  }
  if (document.size() > kMaxPolicyDocument) {
    return Error(ErrorCode::kPayloadTooLarge, "policy document too large", "policy_too_large");
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  SKR_TRY(Txn txn, Txn::Begin(impl_->db, Txn::Mode::kWrite));
  SKR_TRY_VOID(impl_->RequireTenantLocked(tenant));
  PolicyRecord rec;
  rec.tenant = std::string(tenant);
  rec.name = std::string(name);
  rec.document = std::string(document);
  rec.created_at = impl_->Now();
  {
    SKR_TRY(Stmt stmt, impl_->stmts.Prepare(
                                     "SELECT COALESCE(MAX(version), 0) FROM policies "
                                     "WHERE tenant = ?1 AND name = ?2"));
    SKR_TRY_VOID(stmt.BindText(1, tenant));
    SKR_TRY_VOID(stmt.BindText(2, name));
    SKR_TRY(const bool row, stmt.Step());
    if (!row) return Error(ErrorCode::kInternal, "MAX(version) returned no row");
    SKR_TRY(const int latest, ToInt(stmt.Int64(0)));
    if (latest == std::numeric_limits<int>::max()) {
      return Error(ErrorCode::kFailedPrecondition, "policy version limit reached");
    }
    rec.version = latest + 1;
  }
  {
    SKR_TRY(Stmt stmt, impl_->stmts.Prepare(
                                     "INSERT INTO policies (tenant, name, version, document, "
                                     "created_at) VALUES (?1, ?2, ?3, ?4, ?5)"));
    SKR_TRY_VOID(stmt.BindText(1, tenant));
    SKR_TRY_VOID(stmt.BindText(2, name));
    SKR_TRY_VOID(stmt.BindInt64(3, rec.version));
    SKR_TRY_VOID(stmt.BindText(4, document));
    SKR_TRY_VOID(stmt.BindInt64(5, rec.created_at));
    SKR_TRY_VOID(stmt.Run());
  }
  SKR_TRY_VOID(txn.Commit());
  return rec;
}

Result<PolicyRecord> KeyStore::GetPolicy(std::string_view tenant, std::string_view name,
                                         std::optional<int> version) {
  SKR_TRY_VOID(CheckName(tenant, "tenant"));
  SKR_TRY_VOID(CheckName(name, "policy"));
  std::lock_guard<std::mutex> lock(impl_->mu);
  SKR_TRY(Txn txn, Txn::Begin(impl_->db, Txn::Mode::kRead));
  SKR_TRY_VOID(impl_->RequireTenantLocked(tenant));
  SKR_TRY(Stmt stmt,
          impl_->stmts.Prepare( version.has_value()
                                       ? "SELECT version, document, created_at FROM policies "
                                         "WHERE tenant = ?1 AND name = ?2 AND version = ?3"
                                       : "SELECT version, document, created_at FROM policies "
                                         "WHERE tenant = ?1 AND name = ?2 "
                                         "ORDER BY version DESC LIMIT 1"));
  SKR_TRY_VOID(stmt.BindText(1, tenant));
  SKR_TRY_VOID(stmt.BindText(2, name));
  if (version.has_value()) SKR_TRY_VOID(stmt.BindInt64(3, *version));
  SKR_TRY(const bool row, stmt.Step());
  if (!row) {
    if (version.has_value()) {
      return Error(ErrorCode::kNotFound, "policy version not found", "policy_version_not_found");
    }
    return PolicyNotFound();
  }
  PolicyRecord rec;
  rec.tenant = std::string(tenant);
  rec.name = std::string(name);
  SKR_TRY(rec.version, ToInt(stmt.Int64(0)));
  rec.document = stmt.Text(1);
  rec.created_at = stmt.Int64(2);
  return rec;
}

Result<std::vector<PolicyRecord>> KeyStore::ListPolicies(std::string_view tenant) {
  SKR_TRY_VOID(CheckName(tenant, "tenant"));
  std::lock_guard<std::mutex> lock(impl_->mu);
  SKR_TRY(Txn txn, Txn::Begin(impl_->db, Txn::Mode::kRead));
  SKR_TRY_VOID(impl_->RequireTenantLocked(tenant));
  SKR_TRY(Stmt stmt, impl_->stmts.Prepare(
                                   "SELECT p.name, p.version, p.document, p.created_at "
                                   "FROM policies p WHERE p.tenant = ?1 AND p.version = "
                                   "(SELECT MAX(q.version) FROM policies q "
                                   " WHERE q.tenant = p.tenant AND q.name = p.name) "
                                   "ORDER BY p.name"));
  SKR_TRY_VOID(stmt.BindText(1, tenant));
  std::vector<PolicyRecord> out;
  while (true) {
    SKR_TRY(const bool row, stmt.Step());
    if (!row) break;
    PolicyRecord rec;
    rec.tenant = std::string(tenant);
    rec.name = stmt.Text(0);
    SKR_TRY(rec.version, ToInt(stmt.Int64(1)));
    rec.document = stmt.Text(2);
    rec.created_at = stmt.Int64(3);
    out.push_back(std::move(rec));
  }
  return out;
}

// ---- Keys ------------------------------------------------------------------------------------

namespace {
Result<void> CheckMaterial(const SecretBytes& material, std::string_view origin) {
  if (material.empty() || material.size() > kMaxMaterial) {
    return Error(ErrorCode::kInvalidArgument, "key material must be 1 to 1024 bytes",
                 "invalid_key_length");
  }
  if (origin != "generated" && origin != "imported") {
    return Error(ErrorCode::kInvalidArgument, "key origin must be \"generated\" or \"imported\"",
                 "invalid_origin");
  }
  return Ok();
}
}  // namespace

Result<KeyInfo> KeyStore::CreateKey(std::string_view tenant, std::string_view name,
                                    std::string_view policy, const SecretBytes& material,
                                    std::string_view origin) {
  SKR_TRY_VOID(CheckName(tenant, "tenant"));
  SKR_TRY_VOID(CheckName(name, "key"));
  SKR_TRY_VOID(CheckName(policy, "policy"));
  SKR_TRY_VOID(CheckMaterial(material, origin));
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->dek.empty()) return SealedError();
  SKR_TRY(Txn txn, Txn::Begin(impl_->db, Txn::Mode::kWrite));
  SKR_TRY_VOID(impl_->RequireTenantLocked(tenant));
  SKR_TRY(const bool policy_exists, impl_->PolicyExistsLocked(tenant, policy));
  if (!policy_exists) return PolicyNotFound();
  const std::int64_t now = impl_->Now();
  {
    SKR_TRY(Stmt stmt, impl_->stmts.Prepare(
                                     "INSERT INTO keys (tenant, name, policy, created_at) "
                                     "VALUES (?1, ?2, ?3, ?4)"));
    SKR_TRY_VOID(stmt.BindText(1, tenant));
    SKR_TRY_VOID(stmt.BindText(2, name));
    SKR_TRY_VOID(stmt.BindText(3, policy));
    SKR_TRY_VOID(stmt.BindInt64(4, now));
    if (auto r = stmt.Run(); !r.has_value()) {
      if (r.error().code() == ErrorCode::kAlreadyExists) {
        return Error(ErrorCode::kAlreadyExists, "key already exists", "key_exists");
      }
      return r.error();
    }
  }
  SKR_TRY_VOID(impl_->InsertVersionLocked(tenant, name, 1, material, origin, now));
  SKR_TRY(KeyInfo info, impl_->RequireKeyLocked(tenant, name));
  SKR_TRY_VOID(txn.Commit());
  return info;
}

Result<KeyInfo> KeyStore::RotateKey(std::string_view tenant, std::string_view name,
                                    const SecretBytes& material, std::string_view origin) {
  SKR_TRY_VOID(CheckName(tenant, "tenant"));
  SKR_TRY_VOID(CheckName(name, "key"));
  SKR_TRY_VOID(CheckMaterial(material, origin));
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->dek.empty()) return SealedError();
  SKR_TRY(Txn txn, Txn::Begin(impl_->db, Txn::Mode::kWrite));
  SKR_TRY(const KeyInfo before, impl_->RequireKeyLocked(tenant, name));
  // Version numbers are never reused, destroyed ones included (the AAD names the version).
  const int latest = before.versions.empty() ? 0 : before.versions.back().version;
  if (latest == std::numeric_limits<int>::max()) {
    return Error(ErrorCode::kFailedPrecondition, "key version limit reached");
  }
  SKR_TRY_VOID(
      impl_->InsertVersionLocked(tenant, name, latest + 1, material, origin, impl_->Now()));
  SKR_TRY(KeyInfo info, impl_->RequireKeyLocked(tenant, name));
  SKR_TRY_VOID(txn.Commit());
  return info;
}

Result<KeyInfo> KeyStore::GetKey(std::string_view tenant, std::string_view name) {
  SKR_TRY_VOID(CheckName(tenant, "tenant"));
  SKR_TRY_VOID(CheckName(name, "key"));
  std::lock_guard<std::mutex> lock(impl_->mu);
  SKR_TRY(Txn txn, Txn::Begin(impl_->db, Txn::Mode::kRead));
  return impl_->RequireKeyLocked(tenant, name);
}

Result<std::vector<KeyInfo>> KeyStore::ListKeys(std::string_view tenant) {
  SKR_TRY_VOID(CheckName(tenant, "tenant"));
  std::lock_guard<std::mutex> lock(impl_->mu);
  SKR_TRY(Txn txn, Txn::Begin(impl_->db, Txn::Mode::kRead));
  SKR_TRY_VOID(impl_->RequireTenantLocked(tenant));
  std::vector<KeyInfo> out;
  {
    SKR_TRY(Stmt stmt, impl_->stmts.Prepare(
                                     "SELECT name, policy, created_at, policy_version FROM keys "
                                     "WHERE tenant = ?1 ORDER BY name"));
    SKR_TRY_VOID(stmt.BindText(1, tenant));
    while (true) {
      SKR_TRY(const bool row, stmt.Step());
      if (!row) break;
      KeyInfo info;
      info.tenant = std::string(tenant);
      info.name = stmt.Text(0);
      info.policy = stmt.Text(1);
      info.created_at = stmt.Int64(2);
      if (!stmt.IsNull(3)) info.policy_version = static_cast<int>(stmt.Int64(3));
      out.push_back(std::move(info));
    }
  }
  for (KeyInfo& info : out) {
    SKR_TRY(info.versions, impl_->LoadVersionsLocked(tenant, info.name));
  }
  return out;
}

Result<KeyInfo> KeyStore::SetKeyPolicy(std::string_view tenant, std::string_view name,
                                       std::string_view policy, std::optional<int> version) {
  SKR_TRY_VOID(CheckName(tenant, "tenant"));
  SKR_TRY_VOID(CheckName(name, "key"));
  SKR_TRY_VOID(CheckName(policy, "policy"));
  std::lock_guard<std::mutex> lock(impl_->mu);
  SKR_TRY(Txn txn, Txn::Begin(impl_->db, Txn::Mode::kWrite));
  SKR_TRY_VOID(impl_->RequireKeyLocked(tenant, name));
  SKR_TRY(const bool policy_exists, impl_->PolicyExistsLocked(tenant, policy));
  if (!policy_exists) return PolicyNotFound();
  if (version) {
    SKR_TRY(Stmt check, impl_->stmts.Prepare("SELECT 1 FROM policies WHERE tenant = ?1 AND name = ?2"
                                              " AND version = ?3"));
    SKR_TRY_VOID(check.BindText(1, tenant));
    SKR_TRY_VOID(check.BindText(2, policy));
    SKR_TRY_VOID(check.BindInt64(3, *version));
    SKR_TRY(const bool found, check.Step());
    check.Reset();
    if (!found) {
      return Error(ErrorCode::kNotFound,
                   "policy " + std::string(policy) + " has no version " + std::to_string(*version),
                   "policy_version_not_found");
    }
  }
  {
    SKR_TRY(Stmt stmt, impl_->stmts.Prepare("UPDATE keys SET policy = ?3, policy_version = ?4"
                                            " WHERE tenant = ?1 AND name = ?2"));
    SKR_TRY_VOID(stmt.BindText(1, tenant));
    SKR_TRY_VOID(stmt.BindText(2, name));
    SKR_TRY_VOID(stmt.BindText(3, policy));
    if (version) {
      SKR_TRY_VOID(stmt.BindInt64(4, *version));
    } else {
      SKR_TRY_VOID(stmt.BindNull(4));
    }
    SKR_TRY_VOID(stmt.Run());
  }
  SKR_TRY(KeyInfo info, impl_->RequireKeyLocked(tenant, name));
  SKR_TRY_VOID(txn.Commit());
  return info;
}

Result<KeyInfo> KeyStore::SetVersionState(std::string_view tenant, std::string_view name,
                                          int version, VersionState state) {
  SKR_TRY_VOID(CheckName(tenant, "tenant"));
  SKR_TRY_VOID(CheckName(name, "key"));
  std::lock_guard<std::mutex> lock(impl_->mu);
  SKR_TRY(Txn txn, Txn::Begin(impl_->db, Txn::Mode::kWrite));
  SKR_TRY(const KeyInfo before, impl_->RequireKeyLocked(tenant, name));
  const KeyVersion* current = nullptr;
  for (const KeyVersion& v : before.versions) {
    if (v.version == version) current = &v;
  }
  if (current == nullptr) {
    return Error(ErrorCode::kNotFound, "key version not found", "key_version_not_found");
  }
  if (current->state == VersionState::kDestroyed) {
    return Error(ErrorCode::kGone, "key version is destroyed", "key_version_destroyed");
  }
  if (current->state != state) {
    // Destroying drops the ciphertext; with secure_delete=ON SQLite overwrites the freed bytes.
    SKR_TRY(Stmt stmt,
            impl_->stmts.Prepare( state == VersionState::kDestroyed
                                         ? "UPDATE key_versions SET state = 'destroyed', "
                                           "ciphertext = NULL "
                                           "WHERE tenant = ?1 AND key = ?2 AND version = ?3"
                                         : "UPDATE key_versions SET state = ?4 "
                                           "WHERE tenant = ?1 AND key = ?2 AND version = ?3"));
    SKR_TRY_VOID(stmt.BindText(1, tenant));
    SKR_TRY_VOID(stmt.BindText(2, name));
    SKR_TRY_VOID(stmt.BindInt64(3, version));
    if (state != VersionState::kDestroyed) {
      SKR_TRY_VOID(stmt.BindText(4, VersionStateName(state)));
    }
    SKR_TRY_VOID(stmt.Run());
  }
  SKR_TRY(KeyInfo info, impl_->RequireKeyLocked(tenant, name));
  SKR_TRY_VOID(txn.Commit());
  return info;
}

Result<KeyMaterial> KeyStore::GetKeyMaterial(std::string_view tenant, std::string_view name,
                                             std::optional<int> version) {
  SKR_TRY_VOID(CheckName(tenant, "tenant"));
  SKR_TRY_VOID(CheckName(name, "key"));
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->dek.empty()) return SealedError();
  SKR_TRY(Txn txn, Txn::Begin(impl_->db, Txn::Mode::kRead));
  {
    SKR_TRY(Stmt stmt,
            impl_->stmts.Prepare( "SELECT 1 FROM keys WHERE tenant = ?1 AND name = ?2"));
    SKR_TRY_VOID(stmt.BindText(1, tenant));
    SKR_TRY_VOID(stmt.BindText(2, name));
    SKR_TRY(const bool exists, stmt.Step());
    if (!exists) {
      SKR_TRY_VOID(impl_->RequireTenantLocked(tenant));
      return KeyNotFound();
    }
  }
  SKR_TRY(Stmt stmt,
          impl_->stmts.Prepare( version.has_value()
                                       ? "SELECT version, state, length, ciphertext "
                                         "FROM key_versions "
                                         "WHERE tenant = ?1 AND key = ?2 AND version = ?3"
                                       : "SELECT version, state, length, ciphertext "
                                         "FROM key_versions "
                                         "WHERE tenant = ?1 AND key = ?2 AND state = 'enabled' "
                                         "ORDER BY version DESC LIMIT 1"));
  SKR_TRY_VOID(stmt.BindText(1, tenant));
  SKR_TRY_VOID(stmt.BindText(2, name));
  if (version.has_value()) SKR_TRY_VOID(stmt.BindInt64(3, *version));
  SKR_TRY(const bool row, stmt.Step());
  if (!row) {
    if (version.has_value()) {
      return Error(ErrorCode::kNotFound, "key version not found", "key_version_not_found");
    }
    return Error(ErrorCode::kFailedPrecondition, "no enabled key version",
                 "no_enabled_key_version");
  }
  KeyMaterial out;
  SKR_TRY(out.version, ToInt(stmt.Int64(0)));
  SKR_TRY(const VersionState state, ParseVersionState(stmt.Text(1)));
  if (state == VersionState::kDisabled) {
    return Error(ErrorCode::kFailedPrecondition, "key version is disabled", "key_version_disabled");
  }
  if (state == VersionState::kDestroyed) {
    return Error(ErrorCode::kGone, "key version is destroyed", "key_version_destroyed");
  }
  const std::int64_t length = stmt.Int64(2);
  // Copy the ciphertext straight into a SecretBytes and let go of SQLite's buffer.
  SecretBytes ciphertext = stmt.SecretBlob(3);
  stmt.Reset();
  const std::string aad = MaterialAad(tenant, name, out.version);
  auto material = AesGcmOpen(impl_->dek.Reveal(), ciphertext.Reveal(), AsBytes(aad));
  if (!material.has_value() || static_cast<std::int64_t>(material->size()) != length) {
    // A ciphertext moved from another tenant/key/version fails the AAD check (DESIGN.md 5).
    return Error(ErrorCode::kVerificationFailed,
                 "stored key material does not decrypt for this tenant, key and version",
                 "key_material_corrupt");
  }
  out.material = std::move(*material);
  return out;
}

// ---- Tokens ----------------------------------------------------------------------------------

Result<NewToken> KeyStore::CreateToken(Role role, std::optional<std::string> tenant,
                                       std::int64_t ttl_seconds) {
  // Roles and scope (DESIGN.md section 5): operator is global, admin has exactly one tenant,
  // auditor one tenant or all.
  if (role == Role::kOperator && tenant.has_value()) {
    return Error(ErrorCode::kInvalidArgument, "operator tokens are not bound to a tenant",
                 "invalid_token_scope");
  }
  if (role == Role::kAdmin && !tenant.has_value()) {
    return Error(ErrorCode::kInvalidArgument, "admin tokens need a tenant", "invalid_token_scope");
  }
  if (tenant.has_value()) SKR_TRY_VOID(CheckName(*tenant, "tenant"));

  std::lock_guard<std::mutex> lock(impl_->mu);
  const std::int64_t now = impl_->Now();
  NewToken out;
  out.info.role = role;
  out.info.tenant = tenant;
  out.info.created_at = now;
  if (ttl_seconds > 0) {
    if (ttl_seconds > std::numeric_limits<std::int64_t>::max() - now) {
      return Error(ErrorCode::kInvalidArgument, "token ttl too large", "invalid_ttl");
    }
    out.info.expires_at = now + ttl_seconds;
  }
  SKR_TRY(Txn txn, Txn::Begin(impl_->db, Txn::Mode::kWrite));
  if (tenant.has_value()) SKR_TRY_VOID(impl_->RequireTenantLocked(*tenant));
  {
    SecretBytes random = RandomSecret(kTokenSecretBytes);
    out.secret = std::string(kTokenPrefix) + Base64UrlEncode(random.Reveal());
  }
  const std::array<std::uint8_t, 32> hash = Sha256(out.secret);
  // A 64-bit id collision is practically impossible; retry a few times rather than fail.
  for (int attempt = 0;; ++attempt) {
    out.info.id = "tok_" + HexEncode(RandomBytes(kTokenIdBytes));
    SKR_TRY(Stmt stmt, impl_->stmts.Prepare(
                                     "INSERT INTO tokens (id, hash, role, tenant, created_at, "
                                     "expires_at, revoked) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)"));
    SKR_TRY_VOID(stmt.BindText(1, out.info.id));
    SKR_TRY_VOID(stmt.BindBlob(2, hash));
    SKR_TRY_VOID(stmt.BindText(3, RoleName(role)));
    if (tenant.has_value()) {
      SKR_TRY_VOID(stmt.BindText(4, *tenant));
    } else {
      SKR_TRY_VOID(stmt.BindNull(4));
    }
    SKR_TRY_VOID(stmt.BindInt64(5, now));
    if (out.info.expires_at.has_value()) {
      SKR_TRY_VOID(stmt.BindInt64(6, *out.info.expires_at));
    } else {
      SKR_TRY_VOID(stmt.BindNull(6));
    }
    auto r = stmt.Run();
    if (r.has_value()) break;
    if (r.error().code() != ErrorCode::kAlreadyExists || attempt >= 3) return r.error();
  }
  SKR_TRY_VOID(txn.Commit());
  return out;
}

Result<TokenInfo> KeyStore::Authenticate(std::string_view secret) {
  const Error unknown(ErrorCode::kUnauthenticated, "invalid API token", "token_unknown");
  if (secret.size() <= kTokenPrefix.size() || secret.size() > kMaxTokenSecret ||
      secret.substr(0, kTokenPrefix.size()) != kTokenPrefix) {
    return unknown;
  }
  const std::array<std::uint8_t, 32> hash = Sha256(secret);
  std::lock_guard<std::mutex> lock(impl_->mu);
  SKR_TRY(Stmt stmt, impl_->stmts.Prepare(
                                   "SELECT hash, revoked, id, role, tenant, created_at, "
                                   "expires_at FROM tokens WHERE hash = ?1"));
  SKR_TRY_VOID(stmt.BindBlob(1, hash));
  SKR_TRY(const bool row, stmt.Step());
  if (!row) return unknown;
  // The lookup is by hash; compare again in constant time so that a match never depends on
  // how SQLite compared the keys.
  const std::vector<std::uint8_t> stored = stmt.Blob(0);
  if (!ConstantTimeEquals(stored, hash)) return unknown;
  if (stmt.Int64(1) != 0) {
    return Error(ErrorCode::kUnauthenticated, "API token revoked", "token_revoked");
  }
  SKR_TRY(TokenInfo info, impl_->ReadTokenRow(stmt, 2));
  if (info.expires_at.has_value() && *info.expires_at <= impl_->Now()) {
    return Error(ErrorCode::kUnauthenticated, "API token expired", "token_expired");
  }
  return info;
}

Result<std::vector<TokenInfo>> KeyStore::ListTokens(std::optional<std::string> tenant) {
  if (tenant.has_value()) SKR_TRY_VOID(CheckName(*tenant, "tenant"));
  std::lock_guard<std::mutex> lock(impl_->mu);
  // Revoked tokens are kept (their ids appear in audit records) but are no longer listed.
  SKR_TRY(Stmt stmt,
          impl_->stmts.Prepare( tenant.has_value()
                                       ? "SELECT id, role, tenant, created_at, expires_at "
                                         "FROM tokens WHERE revoked = 0 AND tenant = ?1 "
                                         "ORDER BY created_at, id"
                                       : "SELECT id, role, tenant, created_at, expires_at "
                                         "FROM tokens WHERE revoked = 0 "
                                         "ORDER BY created_at, id"));
  if (tenant.has_value()) SKR_TRY_VOID(stmt.BindText(1, *tenant));
  std::vector<TokenInfo> out;
  while (true) {
    SKR_TRY(const bool row, stmt.Step());
    if (!row) break;
    SKR_TRY(TokenInfo info, impl_->ReadTokenRow(stmt, 0));
    out.push_back(std::move(info));
  }
  return out;
}

Result<TokenInfo> KeyStore::GetToken(std::string_view id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  SKR_TRY(Stmt stmt, impl_->stmts.Prepare(
                                   "SELECT id, role, tenant, created_at, expires_at "
                                   "FROM tokens WHERE id = ?1 AND revoked = 0"));
  SKR_TRY_VOID(stmt.BindText(1, id));
  SKR_TRY(const bool row, stmt.Step());
  if (!row) return TokenNotFound();
  return impl_->ReadTokenRow(stmt, 0);
}

Result<void> KeyStore::RevokeToken(std::string_view id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  SKR_TRY(Stmt stmt,
          impl_->stmts.Prepare( "UPDATE tokens SET revoked = 1 WHERE id = ?1 AND revoked = 0"));
  SKR_TRY_VOID(stmt.BindText(1, id));
  SKR_TRY_VOID(stmt.Run());
  if (sqlite3_changes(impl_->db) != 1) return TokenNotFound();
  return Ok();
}

// ---- Nonces ----------------------------------------------------------------------------------

Result<std::string> KeyStore::IssueNonce(std::int64_t expires_at) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->nonce_key.empty()) return SealedError();
  return IssueNonceToken(impl_->nonce_key, expires_at);
}

Result<void> KeyStore::ConsumeNonce(std::string_view nonce) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->nonce_key.empty()) return SealedError();
  // Forged, truncated, altered or another master key's tokens stop here, before any write.
  SKR_TRY(const std::int64_t expires_at, OpenNonceToken(impl_->nonce_key, nonce));
  const std::int64_t now = impl_->Now();
  const std::array<std::uint8_t, 32> hash = Sha256(nonce);
  if (expires_at <= now) {
    // A token that was used and has since expired is still reported as reused while its
    // record is kept (the more telling reason; it does not depend on how late the replay is).
    SKR_TRY(Stmt stmt, impl_->stmts.Prepare( "SELECT 1 FROM nonces WHERE hash = ?1"));
    SKR_TRY_VOID(stmt.BindBlob(1, hash));
    SKR_TRY(const bool used, stmt.Step());
    if (used) return Error(ErrorCode::kBadNonce, "nonce already used", "nonce_reused");
    return Error(ErrorCode::kBadNonce, "nonce expired", "nonce_expired");
  }
  // The single-use record: one INSERT (an atomic, durable autocommit write) decides the winner;
  // the mutex serializes threads on this connection and SQLite's write lock serializes processes
  // sharing the file. The row lives until the token expires (PurgeNonces).
  SKR_TRY(Stmt stmt, impl_->stmts.Prepare(
                                   "INSERT INTO nonces (hash, expires_at, consumed_at) "
                                   "VALUES (?1, ?2, ?3)"));
  SKR_TRY_VOID(stmt.BindBlob(1, hash));
  SKR_TRY_VOID(stmt.BindInt64(2, expires_at));
  SKR_TRY_VOID(stmt.BindInt64(3, now));
  if (auto r = stmt.Run(); !r.has_value()) {
    if (r.error().code() == ErrorCode::kAlreadyExists) {
      return Error(ErrorCode::kBadNonce, "nonce already used", "nonce_reused");
    }
    return r.error();
  }
  return Ok();
}

Result<int> KeyStore::PurgeNonces(std::int64_t before) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  SKR_TRY(Stmt stmt, impl_->stmts.Prepare( "DELETE FROM nonces WHERE expires_at < ?1"));
  SKR_TRY_VOID(stmt.BindInt64(1, before));
  SKR_TRY_VOID(stmt.Run());
  return sqlite3_changes(impl_->db);
}

Result<void> KeyStore::PutCollateral(std::string_view kind, std::string_view lookup,
                                     std::span<const std::uint8_t> data, std::string_view info) {
  if (kind.empty() || kind.size() > 32 || lookup.empty() || lookup.size() > 512) {
    return Error(ErrorCode::kInvalidArgument, "collateral kind/lookup out of range");
  }
  if (data.empty() || data.size() > (1u << 20)) {
    return Error(ErrorCode::kInvalidArgument, "collateral must be 1 byte..1 MiB");
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  SKR_TRY(Stmt stmt, impl_->stmts.Prepare(
                                   "INSERT OR REPLACE INTO collateral (kind, lookup, data, info, "
                                   "created_at) VALUES (?1, ?2, ?3, ?4, ?5)"));
  SKR_TRY_VOID(stmt.BindText(1, kind));
  SKR_TRY_VOID(stmt.BindText(2, lookup));
  SKR_TRY_VOID(stmt.BindBlob(3, data));
  SKR_TRY_VOID(stmt.BindText(4, info));
  SKR_TRY_VOID(stmt.BindInt64(5, impl_->clock.NowUnix()));
  return stmt.Run();
}

Result<KeyStore::Collateral> KeyStore::FindCollateral(std::string_view kind,
                                                      std::string_view lookup) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  SKR_TRY(Stmt stmt, impl_->stmts.Prepare(
                                   "SELECT data, info, created_at FROM collateral WHERE kind = ?1 "
                                   "AND lookup = ?2"));
  SKR_TRY_VOID(stmt.BindText(1, kind));
  SKR_TRY_VOID(stmt.BindText(2, lookup));
  SKR_TRY(const bool row, stmt.Step());
  if (!row) return Error(ErrorCode::kNotFound, "no such collateral", "collateral_not_found");
  Collateral c;
  c.kind = std::string(kind);
  c.lookup = std::string(lookup);
  c.data = stmt.Blob(0);
  c.info = stmt.Text(1);
  c.created_at = stmt.Int64(2);
  return c;
}

Result<std::vector<KeyStore::Collateral>> KeyStore::ListCollateral(std::string_view kind) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  SKR_TRY(Stmt stmt, impl_->stmts.Prepare(
                                   "SELECT lookup, data, info, created_at FROM collateral WHERE "
                                   "kind = ?1 ORDER BY lookup"));
  SKR_TRY_VOID(stmt.BindText(1, kind));
  std::vector<Collateral> out;
  while (true) {
    SKR_TRY(const bool row, stmt.Step());
    if (!row) break;
    Collateral c;
    c.kind = std::string(kind);
    c.lookup = stmt.Text(0);
    c.data = stmt.Blob(1);
    c.info = stmt.Text(2);
    c.created_at = stmt.Int64(3);
    out.push_back(std::move(c));
  }
  return out;
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

// ---- TPM attestation keys -------------------------------------------------------------------

namespace {
constexpr const char* kTpmAkColumns =
    "id, tenant, name, ak_public, ak_name, ek_sha256, state, created_at, "
    "COALESCE(expires_at, 0), COALESCE(activated_at, 0)";

KeyStore::TpmAk ReadTpmAk(Stmt& stmt) {
  KeyStore::TpmAk ak;
  ak.id = stmt.Text(0);
  ak.tenant = stmt.Text(1);
  ak.name = stmt.Text(2);
  ak.ak_public = stmt.Blob(3);
  ak.ak_name = stmt.Text(4);
  ak.ek_sha256 = stmt.Text(5);
  ak.state = stmt.Text(6);
  ak.created_at = stmt.Int64(7);
  ak.expires_at = stmt.Int64(8);
  ak.activated_at = stmt.Int64(9);
  return ak;
}
}  // namespace

Result<KeyStore::TpmAk> KeyStore::PutTpmAk(const TpmAk& ak, std::span<const std::uint8_t> secret_hash) {
  SKR_TRY_VOID(CheckName(ak.tenant, "tenant"));
  SKR_TRY_VOID(CheckName(ak.name, "machine"));
  if (ak.id.empty() || ak.id.size() > 64 || ak.ak_public.empty() || ak.ak_public.size() > 4096) {
    return Error(ErrorCode::kInvalidArgument, "TPM AK id or public area out of range");
  }
  const bool pending = ak.state == "pending";
  if (!pending && ak.state != "active") return Error(ErrorCode::kInvalidArgument, "bad TPM AK state");
  if (pending && secret_hash.size() != 32) return Error(ErrorCode::kInvalidArgument, "pending AK needs a secret hash");
  std::lock_guard<std::mutex> lock(impl_->mu);
  SKR_TRY(Txn txn, Txn::Begin(impl_->db, Txn::Mode::kWrite));
  SKR_TRY_VOID(impl_->RequireTenantLocked(ak.tenant));
  {
    SKR_TRY(Stmt q, impl_->stmts.Prepare( "SELECT state FROM tpm_aks WHERE tenant = ?1 AND name = ?2"));
    SKR_TRY_VOID(q.BindText(1, ak.tenant));
    SKR_TRY_VOID(q.BindText(2, ak.name));
    SKR_TRY(const bool row, q.Step());
    if (row && q.Text(0) == "active") {
      return Error(ErrorCode::kAlreadyExists,
                   "machine '" + ak.name + "' already has an enrolled AK; delete it first", "tpm_ak_exists");
    }
  }
  {
    // A pending enrolment of this name is replaced; expired ones of any name are purged.
    SKR_TRY(Stmt del, impl_->stmts.Prepare(
                                    "DELETE FROM tpm_aks WHERE state = 'pending' AND "
                                    "((tenant = ?1 AND name = ?2) OR expires_at < ?3)"));
    SKR_TRY_VOID(del.BindText(1, ak.tenant));
    SKR_TRY_VOID(del.BindText(2, ak.name));
    SKR_TRY_VOID(del.BindInt64(3, impl_->Now()));
    SKR_TRY_VOID(del.Run());
  }
  TpmAk out = ak;
  out.created_at = impl_->Now();
  out.activated_at = pending ? 0 : out.created_at;
  if (!pending) out.expires_at = 0;
  SKR_TRY(Stmt ins, impl_->stmts.Prepare(
                                  "INSERT INTO tpm_aks (id, tenant, name, ak_public, ak_name, ek_sha256, state, "
                                  "secret_hash, created_at, expires_at, activated_at) VALUES "
                                  "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"));
  SKR_TRY_VOID(ins.BindText(1, out.id));
  SKR_TRY_VOID(ins.BindText(2, out.tenant));
  SKR_TRY_VOID(ins.BindText(3, out.name));
  SKR_TRY_VOID(ins.BindBlob(4, out.ak_public));
  SKR_TRY_VOID(ins.BindText(5, out.ak_name));
  SKR_TRY_VOID(ins.BindText(6, out.ek_sha256));
  SKR_TRY_VOID(ins.BindText(7, out.state));
  if (pending) {
    SKR_TRY_VOID(ins.BindBlob(8, secret_hash));
    SKR_TRY_VOID(ins.BindInt64(10, out.expires_at));
  } else {
    SKR_TRY_VOID(ins.BindNull(8));
    SKR_TRY_VOID(ins.BindNull(10));
  }
  SKR_TRY_VOID(ins.BindInt64(9, out.created_at));
  if (pending) {
    SKR_TRY_VOID(ins.BindNull(11));
  } else {
    SKR_TRY_VOID(ins.BindInt64(11, out.activated_at));
  }
  SKR_TRY_VOID(ins.Run());
  SKR_TRY_VOID(txn.Commit());
  return out;
}

Result<KeyStore::TpmAk> KeyStore::ActivateTpmAk(std::string_view tenant, std::string_view id,
                                                std::span<const std::uint8_t> secret) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  SKR_TRY(Txn txn, Txn::Begin(impl_->db, Txn::Mode::kWrite));
  SKR_TRY(Stmt q, impl_->stmts.Prepare( std::string("SELECT ") + kTpmAkColumns +
                                               ", secret_hash FROM tpm_aks WHERE id = ?1 AND tenant = ?2 "
                                               "AND state = 'pending'"));
  SKR_TRY_VOID(q.BindText(1, id));
  SKR_TRY_VOID(q.BindText(2, tenant));
  SKR_TRY(const bool row, q.Step());
  if (!row) return Error(ErrorCode::kNotFound, "no pending TPM enrolment with that id", "tpm_enrollment_not_found");
  TpmAk ak = ReadTpmAk(q);
  const std::vector<std::uint8_t> stored = q.Blob(10);
  const auto presented = Sha256(secret);
  const bool ok = stored.size() == presented.size() && ConstantTimeEquals(stored, presented) &&
                  impl_->Now() <= ak.expires_at;
  if (!ok) {
    // One attempt per challenge: a wrong guess burns the enrolment.
    SKR_TRY(Stmt del, impl_->stmts.Prepare( "DELETE FROM tpm_aks WHERE id = ?1 AND state = 'pending'"));
    SKR_TRY_VOID(del.BindText(1, id));
    SKR_TRY_VOID(del.Run());
    SKR_TRY_VOID(txn.Commit());
    return Error(ErrorCode::kUnauthenticated,
                 "TPM credential activation failed (wrong secret or expired challenge); enrol again",
                 "tpm_activation_failed");
  }
  ak.state = "active";
  ak.activated_at = impl_->Now();
  ak.expires_at = 0;
  SKR_TRY(Stmt up, impl_->stmts.Prepare(
                                 "UPDATE tpm_aks SET state = 'active', secret_hash = NULL, expires_at = NULL, "
                                 "activated_at = ?2 WHERE id = ?1"));
  SKR_TRY_VOID(up.BindText(1, id));
  SKR_TRY_VOID(up.BindInt64(2, ak.activated_at));
  SKR_TRY_VOID(up.Run());
  SKR_TRY_VOID(txn.Commit());
  return ak;
}

Result<KeyStore::TpmAk> KeyStore::FindTpmAk(std::string_view id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  SKR_TRY(Stmt q, impl_->stmts.Prepare( std::string("SELECT ") + kTpmAkColumns + " FROM tpm_aks WHERE id = ?1"));
  SKR_TRY_VOID(q.BindText(1, id));
  SKR_TRY(const bool row, q.Step());
  if (!row) return Error(ErrorCode::kNotFound, "no TPM AK with that id", "tpm_ak_not_found");
  return ReadTpmAk(q);
}

Result<std::vector<KeyStore::TpmAk>> KeyStore::ListTpmAks(std::string_view tenant) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  SKR_TRY_VOID(impl_->RequireTenantLocked(tenant));
  SKR_TRY(Stmt q, impl_->stmts.Prepare( std::string("SELECT ") + kTpmAkColumns +
                                               " FROM tpm_aks WHERE tenant = ?1 ORDER BY name"));
  SKR_TRY_VOID(q.BindText(1, tenant));
  std::vector<TpmAk> out;
  for (;;) {
    SKR_TRY(const bool row, q.Step());
    if (!row) break;
    out.push_back(ReadTpmAk(q));
  }
  return out;
}

Result<void> KeyStore::DeleteTpmAk(std::string_view tenant, std::string_view id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  SKR_TRY(Stmt del, impl_->stmts.Prepare( "DELETE FROM tpm_aks WHERE tenant = ?1 AND id = ?2"));
  SKR_TRY_VOID(del.BindText(1, tenant));
  SKR_TRY_VOID(del.BindText(2, id));
  SKR_TRY_VOID(del.Run());
  if (sqlite3_changes(impl_->db) == 0) return Error(ErrorCode::kNotFound, "no TPM AK with that id", "tpm_ak_not_found");
  return Ok();
}

}  // namespace skr::keystore
