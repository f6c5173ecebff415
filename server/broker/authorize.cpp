// SPDX-License-Identifier: Apache-2.0
#include "server/broker/authorize.h"

namespace skr::server {

using keystore::Role;

namespace {

Error Forbidden(const char* why) { return Error(ErrorCode::kPermissionDenied, why, "forbidden"); }

bool AdminOf(const Actor& a, std::string_view tenant) {
  return a.token.role == Role::kAdmin && a.token.tenant && *a.token.tenant == tenant;
}

}  // namespace

Result<void> Authorize(const Actor& a, Permission p, std::optional<std::string_view> tenant) {
  if (a.token.role == Role::kOperator) return Ok();
  switch (p) {
    case Permission::kManageTenants:
    case Permission::kManageTrust:
      return Forbidden("operator role required");
    case Permission::kAdminTenant:
      if (tenant && AdminOf(a, *tenant)) return Ok();
      return Forbidden("admin role for this tenant required");
    case Permission::kReadTenant:
      if (a.token.role == Role::kAuditor) {
        if (!a.token.tenant || (tenant && *a.token.tenant == *tenant)) return Ok();
        return Forbidden("auditor of another tenant");
      }
      if (tenant && AdminOf(a, *tenant)) return Ok();
      return Forbidden("admin role for this tenant required");
    case Permission::kIssueTokens:
      if (a.token.role != Role::kAdmin) return Forbidden("admin or operator role required");
      if (tenant && AdminOf(a, *tenant)) return Ok();
      return Forbidden("only operators create operator tokens or tokens for other tenants");
    case Permission::kVerifyEvidence:
      if (a.token.role == Role::kAdmin) return Ok();
      return Forbidden("admin or operator role required");
    case Permission::kReadAudit:
      if (a.token.role != Role::kAuditor) return Forbidden("auditor or operator role required");
      if (!tenant || !a.token.tenant || *a.token.tenant == *tenant) return Ok();
      return Forbidden("auditor of another tenant");
  }
  return Forbidden("unknown permission");
}

std::optional<std::string> AuditScope(const Actor& a) {
  if (a.token.role == Role::kAuditor && a.token.tenant) return a.token.tenant;
  return std::nullopt;
}

}  // namespace skr::server
