// SPDX-License-Identifier: Apache-2.0
// Keystore: API tokens (stored as hashes) and nonces (stateless tokens, consumed once).
#include <cstring>
#include <utility>

#include "keystore/nonce_token.h"
#include "keystore/keystore_impl.h"

namespace skr::keystore {

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

}  // namespace skr::keystore
