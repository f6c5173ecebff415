// SPDX-License-Identifier: Apache-2.0
#include "keystore/schema.h"

#include <array>
#include <string>

#include "keystore/sqlite_util.h"

namespace skr::keystore::db {
namespace {

// Migration 1 (DESIGN.md section 5). Foreign keys and their ON DELETE behaviour:
// - policies, keys and tokens belong to a tenant and go with it (CASCADE); key versions go with
//   their key (CASCADE).
// - A tenant may only be deleted when none of its key versions still holds material: the
//   keystore checks this first (kFailedPrecondition) and the trigger
//   tenants_delete_requires_destroyed_keys enforces it for any other writer too.
// - A destroyed key version is final (trigger key_versions_destroyed_is_final) and holds no
//   ciphertext (CHECK).
// keys.policy names a policy (any version; the latest applies at release). SQLite cannot point
// a foreign key at a non-unique column pair, so the keystore checks it in code.
constexpr const char* kMigration1 = R"sql(
CREATE TABLE meta (
  name       TEXT PRIMARY KEY NOT NULL,
  value      BLOB NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE tenants (
  name       TEXT PRIMARY KEY NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE policies (
  tenant     TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
  name       TEXT NOT NULL,
  version    INTEGER NOT NULL CHECK (version >= 1),
  document   TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (tenant, name, version)
);

CREATE TABLE keys (
  tenant     TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
  name       TEXT NOT NULL,
  policy     TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (tenant, name)
);

CREATE TABLE key_versions (
  tenant     TEXT NOT NULL,
  key        TEXT NOT NULL,
  version    INTEGER NOT NULL CHECK (version >= 1),
  state      TEXT NOT NULL CHECK (state IN ('enabled', 'disabled', 'destroyed')),
  origin     TEXT NOT NULL CHECK (origin IN ('generated', 'imported')),
  length     INTEGER NOT NULL CHECK (length >= 1),
  ciphertext BLOB,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (tenant, key, version),
  FOREIGN KEY (tenant, key) REFERENCES keys(tenant, name) ON DELETE CASCADE,
  CHECK ((state = 'destroyed') = (ciphertext IS NULL))
);

CREATE TRIGGER key_versions_destroyed_is_final
BEFORE UPDATE ON key_versions
WHEN OLD.state = 'destroyed'
BEGIN
  SELECT RAISE(ABORT, 'destroyed key version is final');
END;

CREATE TRIGGER tenants_delete_requires_destroyed_keys
BEFORE DELETE ON tenants
WHEN EXISTS (SELECT 1 FROM key_versions WHERE tenant = OLD.name AND state <> 'destroyed')
BEGIN
  SELECT RAISE(ABORT, 'tenant still has key versions that are not destroyed');
END;

CREATE TABLE tokens (
  id         TEXT PRIMARY KEY NOT NULL,
  hash       BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
  role       TEXT NOT NULL CHECK (role IN ('operator', 'admin', 'auditor')),
  tenant     TEXT REFERENCES tenants(name) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked    INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
);
CREATE INDEX tokens_tenant ON tokens(tenant);

CREATE TABLE nonces (
  hash        BLOB PRIMARY KEY NOT NULL CHECK (length(hash) = 32),
  expires_at  INTEGER NOT NULL,
  consumed_at INTEGER
);
CREATE INDEX nonces_expires_at ON nonces(expires_at);
)sql";

// Migration 2: attestation collateral that admins provision (DESIGN.md section 3): AMD
// VCEK/VLEK certificates and CRLs today, Intel collateral later. Public data, stored as is;
// `lookup` is the verifier's key (e.g. chip_id hex + reported TCB for a VCEK).
constexpr const char* kMigration2 = R"sql(
CREATE TABLE collateral (
  kind       TEXT NOT NULL,
  lookup     TEXT NOT NULL,
  data       BLOB NOT NULL,
  info       TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (kind, lookup)
);
)sql";

// Migration 3: TPM attestation keys enrolled by tenant admins (issue 4). A row is `pending` from
// the MakeCredential challenge until the machine proves with ActivateCredential that the AK lives
// in the TPM of the certified EK (secret_hash = SHA-256 of the challenge secret, expires_at), then
// `active`. One enrolment per (tenant, machine name).
constexpr const char* kMigration3 = R"sql(
CREATE TABLE tpm_aks (
  id           TEXT PRIMARY KEY NOT NULL,
  tenant       TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  ak_public    BLOB NOT NULL,
  ak_name      TEXT NOT NULL,
  ek_sha256    TEXT NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('pending', 'active')),
  secret_hash  BLOB CHECK (secret_hash IS NULL OR length(secret_hash) = 32),
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER,
  activated_at INTEGER,
  UNIQUE (tenant, name)
);
)sql";

// Migration 4: a key may be pinned to one version of its policy (issue 12); NULL follows the
// newest version. The version must exist when pinned (checked in code, like keys.policy).
constexpr const char* kMigration4 = R"sql(
ALTER TABLE keys ADD COLUMN policy_version INTEGER CHECK (policy_version IS NULL OR policy_version >= 1);
)sql";

// Index i holds migration i+1. Append only; never edit a shipped migration.
constexpr std::array<const char*, 4> kMigrations = {kMigration1, kMigration2, kMigration3,
                                                    kMigration4};

Result<int> UserVersion(sqlite3* db) {
  SKR_TRY(Stmt stmt, Stmt::Prepare(db, "PRAGMA user_version"));
  SKR_TRY(const bool row, stmt.Step());
  if (!row) return Error(ErrorCode::kInternal, "PRAGMA user_version returned no row");
  return static_cast<int>(stmt.Int64(0));
}

}  // namespace

int LatestSchemaVersion() { return static_cast<int>(kMigrations.size()); }

Result<void> Migrate(sqlite3* db) {
  SKR_TRY(int current, UserVersion(db));
  if (current > LatestSchemaVersion()) {
    return Error(ErrorCode::kUnavailable,
                 "database schema version " + std::to_string(current) +
                     " is newer than this build supports (" +
                     std::to_string(LatestSchemaVersion()) + ")",
                 "schema_too_new");
  }
  while (current < LatestSchemaVersion()) {
    SKR_TRY(Txn txn, Txn::Begin(db, Txn::Mode::kWrite));
    // Re-read under the write lock: another process may have migrated meanwhile.
    SKR_TRY(const int locked, UserVersion(db));
    if (locked != current) {
      current = locked;
      continue;  // txn rolls back (nothing written)
    }
    SKR_TRY_VOID(Exec(db, kMigrations[static_cast<std::size_t>(current)]));
    const int next = current + 1;
    // PRAGMA takes no bound parameters; `next` is a small integer we computed.
    const std::string bump = "PRAGMA user_version = " + std::to_string(next);
    SKR_TRY_VOID(Exec(db, bump.c_str()));
    SKR_TRY_VOID(txn.Commit());
    current = next;
  }
  if (current > LatestSchemaVersion()) {
    return Error(ErrorCode::kUnavailable, "database schema is newer than this build supports",
                 "schema_too_new");
  }
  return Ok();
}

}  // namespace skr::keystore::db
