// SPDX-License-Identifier: Apache-2.0
// The TDX collateral endpoints (issue 13): operators import Intel PCS collateral; the store
// verifies it to the trusted Intel roots before anything is kept. Every import is audited.
#include "server/broker/admin_helpers.h"
#include "server/broker/admin_service.h"
#include "server/broker/tdx_collateral.h"

namespace skr::server {

Result<Json> AdminService::ImportTdxCollateral(const Actor& a, std::string_view body,
                                         const std::string& rid) {
  SKR_TRY_VOID(Authorize(a, Permission::kManageTrust));
  if (options_.tdx_collateral == nullptr) {
    return Error(ErrorCode::kFailedPrecondition, "tdx attestation is disabled", "tdx_disabled");
  }
  // PCS bodies are a few hundred KiB at most; CRLs are small.
  SKR_TRY(Json req, ParseBodyObject(body, 4u << 20));
  SKR_TRY_VOID(AuditIntent(a, rid, "tdx.import_collateral", "", ""));
  auto imported = options_.tdx_collateral->Import(req);
  Result<void> outcome = imported ? Result<void>{} : Result<void>(imported.error());
  SKR_TRY_VOID(AuditAdmin(a, "tdx.import_collateral", "", "", std::nullopt, rid, outcome));
  return imported;
}

Result<Json> AdminService::GetTdxCollateral(const Actor& a) {
  SKR_TRY_VOID(Authorize(a, Permission::kManageTrust));
  if (options_.tdx_collateral == nullptr) {
    return Error(ErrorCode::kFailedPrecondition, "tdx attestation is disabled", "tdx_disabled");
  }
  return options_.tdx_collateral->Summary();
}

}  // namespace skr::server
