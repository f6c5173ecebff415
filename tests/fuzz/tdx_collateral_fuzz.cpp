// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the Intel PCS collateral JSON an operator imports (attestation/tdx):
// TCB Info v3 and QE Identity v2 bodies, the split of a body into its signed text and signature,
// and the TCB status algorithm over what parsed. Seeds: ../shared/testdata/tdx/collateral/*.json.
// Invariants checked beyond "no crash / no sanitizer report":
//   - parsing fails only with kInvalidArgument "tdx_collateral_malformed";
//   - the signed text of a parsed body is a substring of the input (kept verbatim, never
//     re-serialised);
//   - EvaluateTcb over a parsed TCB Info (with a quote whose FMSPC, PCE-ID and TCB meet its first
//     level) or a parsed QE Identity (with a matching TCB Info) returns one of Intel's seven
//     statuses with sorted, unique advisory ids, or fails with a reason tcb.h documents.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "attestation/tdx/collateral.h"
#include "attestation/tdx/tcb.h"
#include "attestation/tdx/verify.h"
#include "fuzz_support.h"

namespace tdx = skr::attestation::tdx;
using skr::fuzz::Require;
using skr::fuzz::RequireError;

namespace {

void CheckOutcome(const skr::Result<tdx::TcbResult>& r) {
  if (!r) {
    RequireError(r, skr::ErrorCode::kVerificationFailed,
                 {"tdx_collateral_mismatch", "tdx_qe_identity_mismatch", "tdx_module_mismatch",
                  "tdx_tcb_not_supported"});
    return;
  }
  static const std::set<std::string> kStatuses = {
      "UpToDate",          "SWHardeningNeeded",          "ConfigurationNeeded",
      "ConfigurationAndSWHardeningNeeded", "OutOfDate", "OutOfDateConfigurationNeeded",
      "Revoked"};
  Require(kStatuses.count(r->status) == 1);
  Require(std::is_sorted(r->advisory_ids.begin(), r->advisory_ids.end()));
  Require(std::adjacent_find(r->advisory_ids.begin(), r->advisory_ids.end()) ==
          r->advisory_ids.end());
}

// A quote that meets `info`'s first level and `qe`'s first level exactly.
tdx::VerifiedQuote QuoteFor(const tdx::TcbInfo& info, const tdx::QeIdentity& qe) {
  tdx::VerifiedQuote v;
  v.pck.ext.fmspc = info.fmspc;
  v.pck.ext.pce_id = info.pce_id;
  if (!info.levels.empty()) {
    v.pck.ext.sgx_tcb_components = info.levels.front().sgx_components;
    v.pck.ext.pce_svn = info.levels.front().pce_svn;
    v.quote.body.tee_tcb_svn = info.levels.front().tdx_components;
  }
  if (!info.module_identities.empty()) {
    const auto& id = info.module_identities.front();
    std::copy(id.mrsigner.begin(), id.mrsigner.end(), v.quote.body.mrsignerseam.begin());
  } else {
    std::copy(info.module.mrsigner.begin(), info.module.mrsigner.end(),
              v.quote.body.mrsignerseam.begin());
  }
  v.quote.qe_report.misc_select = qe.miscselect;
  v.quote.qe_report.attributes = qe.attributes;
  v.quote.qe_report.mr_signer = qe.mrsigner;
  v.quote.qe_report.isv_prod_id = qe.isv_prod_id;
  if (!qe.levels.empty()) v.quote.qe_report.isv_svn = qe.levels.front().isv_svn;
  return v;
}

tdx::QeIdentity DefaultQe() {
  tdx::QeIdentity qe;
  qe.levels.push_back(tdx::IsvLevel{0, "UpToDate", 0, {}});
  return qe;
}

tdx::TcbInfo DefaultTcbInfo() {
  tdx::TcbInfo info;
  info.levels.push_back(tdx::TcbLevel{{}, 0, {}, "UpToDate", 0, {}});
  return info;
}

void CheckSigned(const tdx::SignedBody& body, std::string_view input) {
  Require(input.find(body.inner) != std::string_view::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  for (std::string_view key : {"tcbInfo", "enclaveIdentity"}) {
    auto split = tdx::SplitSignedBody(input, key);
    if (split) {
      CheckSigned(*split, input);
    } else {
      RequireError(split, skr::ErrorCode::kInvalidArgument, {"tdx_collateral_malformed"});
    }
  }
  auto info = tdx::ParseTcbInfo(input);
  if (info) {
    CheckSigned(info->signed_body, input);
    const tdx::QeIdentity qe = DefaultQe();
    CheckOutcome(tdx::EvaluateTcb(QuoteFor(*info, qe), *info, qe));
    // The same platform one SVN lower in every component: a lower level or none.
    tdx::VerifiedQuote lower = QuoteFor(*info, qe);
    for (auto& c : lower.pck.ext.sgx_tcb_components) c = c > 0 ? c - 1 : 0;
    CheckOutcome(tdx::EvaluateTcb(lower, *info, qe));
  } else {
    RequireError(info, skr::ErrorCode::kInvalidArgument, {"tdx_collateral_malformed"});
  }
  auto qe = tdx::ParseQeIdentity(input);
  if (qe) {
    CheckSigned(qe->signed_body, input);
    const tdx::TcbInfo tcb = DefaultTcbInfo();
    CheckOutcome(tdx::EvaluateTcb(QuoteFor(tcb, *qe), tcb, *qe));
  } else {
    RequireError(qe, skr::ErrorCode::kInvalidArgument, {"tdx_collateral_malformed"});
  }
  return 0;
}
