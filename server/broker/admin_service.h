// SPDX-License-Identifier: Apache-2.0
// The admin service (DESIGN.md sections 5 and 8): tenants, tokens, policies, keys, dry-run
// verification, TEE trust material (SEV-SNP certificates, TDX collateral) and TPM AK
// enrolment. Every call is authorized by Authorize (authorize.h) and every change is audited
// before (intent, fail closed) and after (outcome); each change drops the key-metadata cache.
// Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/json.h"
#include "common/result.h"
#include "server/broker/audit_queries.h"
#include "server/broker/broker_context.h"
#include "server/broker/release_service.h"

namespace skr::server {

class AdminService : private BrokerRefs {
 public:
  AdminService(BrokerContext& ctx, ReleaseService& release, AuditQueryService& queries)
      : BrokerRefs(ctx), release_(release), queries_(queries) {}

  // Tenants (operator).
  Result<Json> CreateTenant(const Actor& a, std::string_view body, const std::string& rid);
  Result<Json> ListTenants(const Actor& a, const Page& page);
  Result<void> DeleteTenant(const Actor& a, std::string_view tenant, const std::string& rid);
  // Tokens (operator; admin for its own tenant's admin/auditor tokens).
  Result<Json> CreateToken(const Actor& a, std::string_view body, const std::string& rid);
  Result<Json> ListTokens(const Actor& a, std::optional<std::string> tenant, const Page& page);
  Result<void> RevokeToken(const Actor& a, std::string_view id, const std::string& rid);
  // Policies (admin of the tenant, or operator).
  Result<Json> PutPolicy(const Actor& a, std::string_view tenant, std::string_view name,
                         std::string_view body, const std::string& rid);
  Result<Json> GetPolicy(const Actor& a, std::string_view tenant, std::string_view name,
                         std::optional<int> version);
  Result<Json> ListPolicies(const Actor& a, std::string_view tenant, const Page& page);
  // Dry run of the newest stored version, version N ("version") or an unsaved draft
  // ("document", linted as a PUT would be) on evidence or claims.
  Result<Json> EvaluatePolicy(const Actor& a, std::string_view tenant, std::string_view name,
                              std::string_view body);
  // Stores version N's document ({"to": N}) as a new version (audited policy.rollback).
  Result<Json> RollbackPolicy(const Actor& a, std::string_view tenant, std::string_view name,
                              std::string_view body, const std::string& rid);
  // Replays the evidence kept for the key's newest releases ({"document", "last"?}) against a
  // draft and lists which would now be denied and why (audited policy.what_if).
  Result<Json> PolicyWhatIf(const Actor& a, std::string_view tenant, std::string_view key,
                            std::string_view body, const std::string& rid);
  // GET /v1/claims (any token): the claim catalogue the policy lint uses.
  static Json ClaimCatalogue();
  // Keys (admin of the tenant, or operator). Metadata only: never material.
  Result<Json> CreateKey(const Actor& a, std::string_view tenant, std::string_view body,
                         const std::string& rid);
  Result<Json> ListKeys(const Actor& a, std::string_view tenant, const Page& page);
  Result<Json> GetKey(const Actor& a, std::string_view tenant, std::string_view key);
  Result<Json> RotateKey(const Actor& a, std::string_view tenant, std::string_view key,
                         std::string_view body, const std::string& rid);
  Result<Json> SetVersionState(const Actor& a, std::string_view tenant, std::string_view key,
                               int version, keystore::VersionState state, const std::string& rid);
  Result<Json> SetKeyPolicy(const Actor& a, std::string_view tenant, std::string_view key,
                            std::string_view body, const std::string& rid);
  // POST /v1/attestation/verify (admin or operator): verify only, no nonce, no binding.
  Result<Json> VerifyEvidence(const Actor& a, std::string_view body);
  // POST /v1/attestation/snp/certs (operator): verify a VCEK/VLEK to the trusted AMD roots and
  // cache it for reports that arrive without one. GET lists the cache.
  Result<Json> ImportSnpCert(const Actor& a, std::string_view body, const std::string& rid);
  Result<Json> ListSnpCerts(const Actor& a);
  // POST / GET /v1/attestation/tdx/collateral (operator; server/broker/tdx_admin.cpp).
  Result<Json> ImportTdxCollateral(const Actor& a, std::string_view body, const std::string& rid);
  Result<Json> GetTdxCollateral(const Actor& a);
  // TPM AK enrolment (admin of the tenant, or operator). Begin: POST /v1/tenants/{t}/tpm/enrollments
  // {"name", "ak_public" (base64 TPMT_PUBLIC), "ek_cert" (PEM / base64 DER), "ek_chain"?,
  // "ek_public"?} -> 201 with a MakeCredential challenge for the EK (state "pending"), or, when
  // the EK is not required and not given, the active AK. Activate: POST .../enrollments/{id}/activate
  // {"secret": base64 of what TPM2_ActivateCredential returned} -> the active AK.
  Result<Json> BeginTpmEnrollment(const Actor& a, std::string_view tenant, std::string_view body,
                                  const std::string& rid);
  Result<Json> ActivateTpmEnrollment(const Actor& a, std::string_view tenant, std::string_view id,
                                     std::string_view body, const std::string& rid);
  Result<Json> ListTpmAks(const Actor& a, std::string_view tenant);
  Result<void> DeleteTpmAk(const Actor& a, std::string_view tenant, std::string_view id,
                           const std::string& rid);
 private:
  Result<void> AuditIntent(const Actor& a, const std::string& rid, std::string action,
                           std::string tenant, std::string key);
  Result<void> AuditAdmin(const Actor& a, std::string action, std::string tenant,
                          std::string key, std::optional<int> version, const std::string& rid,
                          const Result<void>& outcome, std::string policy_sha256 = "",
                          std::string policy_name = "",
                          std::optional<int> policy_version = std::nullopt);
  // BeginTpmEnrollment after authorization and its intent record: checks and the stored row.
  Result<Json> DoBeginTpmEnrollment(std::string_view tenant, const std::string& name, const Json& req);

  ReleaseService& release_;
  AuditQueryService& queries_;
};

}  // namespace skr::server
