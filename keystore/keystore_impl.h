// SPDX-License-Identifier: Apache-2.0
// The keystore's internals shared by its files (one per aggregate: keystore.cpp for opening,
// sealing and names; keystore_tenants.cpp tenants and policies; keystore_keys.cpp keys and
// versions; keystore_tokens.cpp API tokens and nonces; keystore_collateral.cpp collateral and TPM
// AKs). Not part of the keystore's interface: only keystore/*.cpp include it.
#pragma once

#include <sqlite3.h>

#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/encoding.h"
#include "common/ossl.h"
#include "keystore/keystore.h"
#include "keystore/sqlite_util.h"

namespace skr::keystore {

using db::Stmt;
using db::Txn;

// Limits and helpers of every aggregate.

inline constexpr std::size_t kDekSize = 32;
inline constexpr std::size_t kMasterKeySize = 32;
inline constexpr std::size_t kMaxMaterial = 1024;
inline constexpr std::size_t kMaxPolicyDocument = 1u << 20;
inline constexpr std::size_t kMaxTokenSecret = 256;
inline constexpr std::size_t kTokenSecretBytes = 32;
inline constexpr std::size_t kTokenIdBytes = 8;  // 16 hex characters
inline constexpr std::string_view kDekAad = "skr-dek-v1";
inline constexpr std::string_view kDekMetaName = "dek";
inline constexpr std::string_view kTokenPrefix = "skr_";

inline Result<void> CheckName(std::string_view name, const char* what) {
  if (IsValidName(name)) return Ok();
  // The offending name is not echoed: it is client input of arbitrary bytes.
  return Error(ErrorCode::kInvalidArgument,
               std::string("invalid ") + what + " name (expected [a-z0-9][a-z0-9._-]{0,62})",
               "invalid_name");
}

inline Error TenantNotFound() {
  return Error(ErrorCode::kNotFound, "tenant not found", "tenant_not_found");
}
inline Error KeyNotFound() { return Error(ErrorCode::kNotFound, "key not found", "key_not_found"); }
inline Error PolicyNotFound() {
  return Error(ErrorCode::kNotFound, "policy not found", "policy_not_found");
}
inline Error TokenNotFound() { return Error(ErrorCode::kNotFound, "token not found", "token_not_found"); }
inline Error SealedError() {
  return Error(ErrorCode::kSealed, "keystore is sealed (master key not loaded)", "sealed");
}

// AAD binding a ciphertext to its row (DESIGN.md section 5): "tenant|key|version". Names cannot
// contain '|', so the encoding is unambiguous.
inline std::string MaterialAad(std::string_view tenant, std::string_view key, int version) {
  std::string aad;
  aad.reserve(tenant.size() + key.size() + 16);
  aad.append(tenant).append("|").append(key).append("|").append(std::to_string(version));
  return aad;
}

inline Result<VersionState> ParseVersionState(std::string_view s) {
  if (s == "enabled") return VersionState::kEnabled;
  if (s == "disabled") return VersionState::kDisabled;
  if (s == "destroyed") return VersionState::kDestroyed;
  return Error(ErrorCode::kInternal, "unknown key version state in database");
}

inline Result<int> ToInt(std::int64_t v) {
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
    return Error(ErrorCode::kInternal, "integer out of range in database");
  }
  return static_cast<int>(v);
}

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

}  // namespace skr::keystore
