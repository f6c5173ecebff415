// SPDX-License-Identifier: Apache-2.0
// Keystore: keys and key versions, material encrypted at rest under the DEK (DESIGN.md section 5).
#include <cstring>
#include <utility>

#include "keystore/keystore_impl.h"

namespace skr::keystore {

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

}  // namespace skr::keystore
