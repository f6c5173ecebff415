// SPDX-License-Identifier: Apache-2.0
// Keystore: verification collateral (VCEK/VLEK cache, TDX collateral) and enrolled TPM AKs.
#include <cstring>
#include <utility>

#include "keystore/keystore_impl.h"

namespace skr::keystore {

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
