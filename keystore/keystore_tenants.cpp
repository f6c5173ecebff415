// SPDX-License-Identifier: Apache-2.0
// Keystore: tenants and their versioned policies (DESIGN.md section 5).
#include <cstring>
#include <utility>

#include "keystore/keystore_impl.h"

namespace skr::keystore {

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

}  // namespace skr::keystore
