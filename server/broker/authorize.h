// SPDX-License-Identifier: Apache-2.0
// Who may do what (DESIGN.md section 5 roles), in one place: every admin, auditor and TEE
// endpoint asks Authorize(actor, permission, tenant) before it reads or changes anything.
//   operator  everything (tenants, tokens of any role, TEE trust material, any tenant, all audit)
//   admin     its own tenant: policies, keys, TPM AKs, tokens (admin/auditor) of that tenant,
//             dry-run verification; no audit reads
//   auditor   audit records, proofs and replays of its tenant (tenant-scoped) or of all tenants
//             (global auditor), and the policy/key metadata those records name; no changes
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "keystore/keystore.h"

namespace skr::server {

// The authenticated caller of an admin or auditor endpoint.
struct Actor {
  keystore::TokenInfo token;
  std::string source;  // the request's client address, for the audit records
  // Set by the broker while it handles the request: the seq of the "requested" record of the
  // admin change in progress, which its outcome record links to (Record::intent_seq).
  mutable std::optional<std::int64_t> intent_seq;
  mutable std::string intent_action;
};

enum class Permission {
  kManageTenants,   // create, list, delete tenants: operators
  kManageTrust,     // TEE trust material (SEV-SNP certificates, TDX collateral): operators
  kAdminTenant,     // policies, keys, TPM AKs of `tenant`: its admins, operators
  kReadTenant,      // policy and key metadata of `tenant`: its admins, its or global auditors
  kIssueTokens,     // tokens of `tenant` (nullopt: operator tokens, global auditors): its
                    // admins, operators
  kVerifyEvidence,  // dry-run verification (no release): admins, operators
  kReadAudit,       // audit records, proofs, replays of `tenant` (nullopt: whatever the caller
                    // may see, see AuditScope): auditors, operators
};

// Errors: kPermissionDenied, reason "forbidden", saying what was missing.
Result<void> Authorize(const Actor& a, Permission p,
                       std::optional<std::string_view> tenant = std::nullopt);

// A stored optional tenant name as Authorize's argument.
inline std::optional<std::string_view> OptView(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  return std::string_view(*s);
}

// The tenant an actor's audit reads are confined to: a tenant-scoped auditor's own tenant;
// nullopt for operators and global auditors (all tenants).
std::optional<std::string> AuditScope(const Actor& a);

}  // namespace skr::server
