// SPDX-License-Identifier: Apache-2.0
// SQLite keystore (DESIGN.md section 5): tenants, keys and versions, versioned policies, API
// tokens (SHA-256 hash only), single-use nonces; key material encrypted at rest under a
// data-encryption key (DEK) that the master key wraps. Thread-safe: one connection behind a
// mutex; every public method may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "common/secret_bytes.h"
#include "keystore/master_key.h"

struct sqlite3;

namespace skr::keystore {

struct Tenant {
  std::string name;
  std::int64_t created_at = 0;
};

enum class VersionState { kEnabled, kDisabled, kDestroyed };
const char* VersionStateName(VersionState s);  // "enabled" | "disabled" | "destroyed"

struct KeyVersion {
  int version = 0;
  VersionState state = VersionState::kEnabled;
  std::string origin;  // "generated" | "imported"
  std::size_t length = 0;
  std::int64_t created_at = 0;
};

struct KeyInfo {
  std::string tenant;
  std::string name;
  std::string policy;  // policy name
  // The policy version releases use: pinned to this one, or (nullopt) the newest.
  std::optional<int> policy_version;
  std::int64_t created_at = 0;
  std::vector<KeyVersion> versions;  // ascending
};

struct KeyMaterial {
  int version = 0;
  SecretBytes material;
};

struct PolicyRecord {
  std::string tenant;
  std::string name;
  int version = 0;
  std::string document;  // JSON text as stored
  std::int64_t created_at = 0;
};

enum class Role { kOperator, kAdmin, kAuditor };
const char* RoleName(Role r);                       // "operator" | "admin" | "auditor"
std::optional<Role> ParseRole(std::string_view s);

struct TokenInfo {
  std::string id;                     // "tok_" + 16 hex
  Role role = Role::kOperator;
  std::optional<std::string> tenant;  // empty: all tenants (operator, global auditor)
  std::int64_t created_at = 0;
  std::optional<std::int64_t> expires_at;
};

struct NewToken {
  TokenInfo info;
  std::string secret;  // "skr_" + base64url(32 random bytes); shown once, never stored
};

// Names: [a-z0-9][a-z0-9._-]{0,62}.
bool IsValidName(std::string_view name);

class KeyStore {
 public:
  // Opens (creating if needed) the SQLite file and runs migrations (WAL, synchronous=FULL,
  // foreign_keys=ON, secure_delete=ON). Errors: kUnavailable.
  static Result<std::unique_ptr<KeyStore>> Open(const std::string& path, const Clock& clock);
  ~KeyStore();
  KeyStore(const KeyStore&) = delete;
  KeyStore& operator=(const KeyStore&) = delete;

  // True once a DEK exists (skrd init ran). Initialize creates a random DEK wrapped under the
  // master key; kAlreadyExists when one is there.
  bool IsInitialized();
  Result<void> Initialize(const SecretBytes& master_key);
  // Unwraps the DEK; afterwards sealed() is false. kSealed when the master key is wrong.
  Result<void> Unseal(const SecretBytes& master_key);
  bool sealed() const;

  // Tenants. kAlreadyExists, kNotFound, kInvalidArgument (bad name). DeleteTenant refuses
  // (kFailedPrecondition) while the tenant has keys with versions not destroyed.
  Result<Tenant> CreateTenant(std::string_view name);
  Result<std::vector<Tenant>> ListTenants();
  Result<bool> TenantExists(std::string_view name);
  Result<void> DeleteTenant(std::string_view name);

  // Policies: each Put adds version max+1 (documents are validated by the caller).
  Result<PolicyRecord> PutPolicy(std::string_view tenant, std::string_view name,
                                 std::string_view document);
  // Latest version when `version` is empty. kNotFound.
  Result<PolicyRecord> GetPolicy(std::string_view tenant, std::string_view name,
                                 std::optional<int> version = std::nullopt);
  Result<std::vector<PolicyRecord>> ListPolicies(std::string_view tenant);  // latest of each

  // Keys. Material is encrypted with AES-256-GCM under the DEK with
  // AAD = "tenant|key|version". kSealed when sealed; kAlreadyExists; kNotFound (tenant/policy).
  Result<KeyInfo> CreateKey(std::string_view tenant, std::string_view name,
                            std::string_view policy, const SecretBytes& material,
                            std::string_view origin);
  Result<KeyInfo> RotateKey(std::string_view tenant, std::string_view name,
                            const SecretBytes& material, std::string_view origin);
  Result<KeyInfo> GetKey(std::string_view tenant, std::string_view name);
  Result<std::vector<KeyInfo>> ListKeys(std::string_view tenant);
  // Names the key's policy; `version` pins it to that version (which must exist: kNotFound
  // reason "policy_version_not_found"), nullopt makes it follow the newest.
  Result<KeyInfo> SetKeyPolicy(std::string_view tenant, std::string_view name,
                               std::string_view policy, std::optional<int> version = std::nullopt);
  // enabled <-> disabled; destroyed is final (kGone). Destroy erases the ciphertext.
  Result<KeyInfo> SetVersionState(std::string_view tenant, std::string_view name, int version,
                                  VersionState state);
  // Decrypts a version (newest enabled when `version` is empty). kNotFound, kFailedPrecondition
  // (disabled, reason "key_version_disabled"), kGone (destroyed, reason
  // "key_version_destroyed"), kVerificationFailed (ciphertext does not decrypt, e.g. a row
  // copied to another tenant), kSealed.
  Result<KeyMaterial> GetKeyMaterial(std::string_view tenant, std::string_view name,
                                     std::optional<int> version = std::nullopt);

  // API tokens; only SHA-256(secret) is stored. ttl_seconds <= 0: no expiry.
  Result<NewToken> CreateToken(Role role, std::optional<std::string> tenant,
                               std::int64_t ttl_seconds);
  // kUnauthenticated for unknown, revoked or expired tokens.
  Result<TokenInfo> Authenticate(std::string_view secret);
  Result<std::vector<TokenInfo>> ListTokens(std::optional<std::string> tenant);
  Result<TokenInfo> GetToken(std::string_view id);
  Result<void> RevokeToken(std::string_view id);

  // Stateless challenge nonces (keystore/nonce_token.h): IssueNonce writes nothing. ConsumeNonce
  // checks the token's MAC and expiry and then durably records it as used (SHA-256 of the token
  // and its expiry); exactly one of concurrent consumers, in this process or another one on the
  // same database, succeeds. kBadNonce with reason "nonce_unknown" (malformed, forged, another
  // master key's), "nonce_expired" or "nonce_reused"; kSealed while sealed.
  Result<std::string> IssueNonce(std::int64_t expires_at);
  Result<void> ConsumeNonce(std::string_view nonce);
  // Deletes consumed-nonce records that expired before `before`. Returns the number removed.
  Result<int> PurgeNonces(std::int64_t before);

  // Attestation collateral (public data: VCEK/VLEK certificates, CRLs). Put replaces an
  // existing (kind, lookup) entry. Find returns kNotFound.
  struct Collateral {
    std::string kind;
    std::string lookup;
    std::vector<std::uint8_t> data;
    std::string info;  // JSON text describing it (product, signer, TCB, ...)
    std::int64_t created_at = 0;
  };
  Result<void> PutCollateral(std::string_view kind, std::string_view lookup,
                             std::span<const std::uint8_t> data, std::string_view info);
  Result<Collateral> FindCollateral(std::string_view kind, std::string_view lookup);
  Result<std::vector<Collateral>> ListCollateral(std::string_view kind);

  // TPM attestation keys enrolled per tenant (DESIGN.md section 3, `tpm` evidence).
  struct TpmAk {
    std::string id;
    std::string tenant;
    std::string name;                     // machine name, unique per tenant
    std::vector<std::uint8_t> ak_public;  // marshalled TPMT_PUBLIC
    std::string ak_name;                  // hex TPM name of the AK
    std::string ek_sha256;                // hex SHA-256 of the EK certificate ("" without EK)
    std::string state;                    // "pending" | "active"
    std::int64_t created_at = 0;
    std::int64_t expires_at = 0;          // pending only (0 otherwise)
    std::int64_t activated_at = 0;        // active only
  };
  // Stores a new enrolment. `ak.state` "active" (no activation needed) or "pending" with the
  // SHA-256 of the credential secret and ak.expires_at. A pending enrolment of the same
  // (tenant, name) is replaced. Errors: kNotFound (tenant), kAlreadyExists reason
  // tpm_ak_exists (an active enrolment has that name), kInvalidArgument.
  Result<TpmAk> PutTpmAk(const TpmAk& ak, std::span<const std::uint8_t> secret_hash);
  // Completes a pending enrolment when SHA-256(secret) equals the stored hash (constant time) and
  // it has not expired. Any failed attempt deletes the pending row (one try per challenge).
  // Errors: kNotFound reason tpm_enrollment_not_found, kUnauthenticated reason
  // tpm_activation_failed (wrong secret, or expired).
  Result<TpmAk> ActivateTpmAk(std::string_view tenant, std::string_view id,
                              std::span<const std::uint8_t> secret);
  // Any state. Errors: kNotFound.
  Result<TpmAk> FindTpmAk(std::string_view id);
  Result<std::vector<TpmAk>> ListTpmAks(std::string_view tenant);
  // Errors: kNotFound.
  Result<void> DeleteTpmAk(std::string_view tenant, std::string_view id);

  // For health checks: a trivial read. kUnavailable on failure.
  Result<void> Ping();

 private:
  KeyStore(sqlite3* db, const Clock& clock);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace skr::keystore
