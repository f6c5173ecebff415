// SPDX-License-Identifier: Apache-2.0
// The TCB status of a verified TDX quote against TCB Info v3 and QE Identity v2, as Intel's
// Quote Verification Library computes it (DCAP QVL, TDX quote verification; Intel PCS "TCB Info
// V3" and "Enclave Identity V2" data models):
//   1. TCB Info's FMSPC and PCE-ID must be the PCK certificate's.
//   2. QE Identity: MISCSELECT and ATTRIBUTES of the QE report under their masks, MRSIGNER and
//      ISVPRODID must match; the QE's TCB level is the first level with isvsvn <= the QE
//      report's ISVSVN (none: Revoked).
//   3. TDX module: with TEE_TCB_SVN[1] (the module's major version) 0, `tdxModule`'s MRSIGNER
//      and attributes (under the mask) must match MRSIGNERSEAM and SEAMATTRIBUTES; otherwise the
//      identity "TDX_%02X" of `tdxModuleIdentities` must, and its TCB level is the first with
//      isvsvn <= TEE_TCB_SVN[0].
//   4. Platform: the first TCB level whose 16 SGX components and PCESVN are all <= the PCK
//      certificate's and whose TDX components are all <= TEE_TCB_SVN (from index 2 when the
//      module's major version is not 0: those two bytes were judged in step 3).
//   5. The statuses converge: a Revoked anywhere is Revoked; an OutOfDate QE or module makes
//      UpToDate / SWHardeningNeeded OutOfDate and ConfigurationNeeded /
//      ConfigurationAndSWHardeningNeeded OutOfDateConfigurationNeeded. Advisory ids are the
//      union of the levels used.
// Errors: kVerificationFailed with reason "tdx_collateral_mismatch" (FMSPC / PCE-ID), or
// "tdx_qe_identity_mismatch", "tdx_module_mismatch", "tdx_tcb_not_supported" (no platform level).
#pragma once

#include <string>
#include <vector>

#include "attestation/tdx/collateral.h"
#include "attestation/tdx/verify.h"
#include "common/result.h"

namespace skr::attestation::tdx {

struct TcbResult {
  std::string status;
  std::vector<std::string> advisory_ids;  // sorted, unique
  std::string platform_status, qe_status, module_status;  // before convergence
  std::int64_t tcb_date = 0;              // the platform level's tcbDate
};

Result<TcbResult> EvaluateTcb(const VerifiedQuote& quote, const TcbInfo& tcb_info,
                              const QeIdentity& qe_identity);

}  // namespace skr::attestation::tdx
