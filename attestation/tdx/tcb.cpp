// SPDX-License-Identifier: Apache-2.0
#include "attestation/tdx/tcb.h"

#include <algorithm>
#include <cstdio>

namespace skr::attestation::tdx {
namespace {

Error Mismatch(const std::string& what, const char* reason) {
  return Error(ErrorCode::kVerificationFailed, "tdx: " + what, reason);
}

const IsvLevel* FirstAtOrBelow(const std::vector<IsvLevel>& levels, std::uint16_t svn) {
  for (const IsvLevel& l : levels) {
    if (l.isv_svn <= svn) return &l;
  }
  return nullptr;
}

// Applies an OutOfDate (or Revoked) QE or module status to the platform's.
std::string Converge(const std::string& platform, const std::string& other) {
  if (platform == "Revoked" || other == "Revoked") return "Revoked";
  if (other != "OutOfDate") return platform;
  if (platform == "UpToDate" || platform == "SWHardeningNeeded") return "OutOfDate";
  if (platform == "ConfigurationNeeded" || platform == "ConfigurationAndSWHardeningNeeded") {
    return "OutOfDateConfigurationNeeded";
  }
  return platform;
}

void AddAll(std::vector<std::string>& to, const std::vector<std::string>& from) {
  to.insert(to.end(), from.begin(), from.end());
}

bool ModuleMatches(const TdxModuleIdentity& m, const TdBody& body) {
  std::uint64_t seam_attributes = 0;
  for (int i = 7; i >= 0; --i) {
    seam_attributes = (seam_attributes << 8) | body.seam_attributes[static_cast<std::size_t>(i)];
  }
  return m.mrsigner == body.mrsignerseam &&
         (seam_attributes & m.attributes_mask) == (m.attributes & m.attributes_mask);
}

}  // namespace

Result<TcbResult> EvaluateTcb(const VerifiedQuote& v, const TcbInfo& tcb_info,
                              const QeIdentity& qe_identity) {
  const PckExtensions& pck = v.pck.ext;
  const TdBody& body = v.quote.body;
  const QeReport& qe = v.quote.qe_report;
  TcbResult out;

  // 1. The collateral is for this platform.
  if (tcb_info.fmspc != pck.fmspc || tcb_info.pce_id != pck.pce_id) {
    return Mismatch("the TCB Info is for another platform (FMSPC or PCE-ID differs from the "
                    "PCK certificate's)",
                    "tdx_collateral_mismatch");
  }

  // 2. The quoting enclave.
  bool attributes_ok = true;
  for (std::size_t i = 0; i < 16; ++i) {
    if ((qe.attributes[i] & qe_identity.attributes_mask[i]) !=
        (qe_identity.attributes[i] & qe_identity.attributes_mask[i])) {
      attributes_ok = false;
    }
  }
  if ((qe.misc_select & qe_identity.miscselect_mask) !=
          (qe_identity.miscselect & qe_identity.miscselect_mask) ||
      !attributes_ok || qe.mr_signer != qe_identity.mrsigner ||
      qe.isv_prod_id != qe_identity.isv_prod_id) {
    return Mismatch("the QE report is not the quoting enclave the QE Identity describes",
                    "tdx_qe_identity_mismatch");
  }
  const IsvLevel* qe_level = FirstAtOrBelow(qe_identity.levels, qe.isv_svn);
  out.qe_status = qe_level != nullptr ? qe_level->status : "Revoked";
  if (qe_level != nullptr) AddAll(out.advisory_ids, qe_level->advisory_ids);

  // 3. The TDX module.
  const std::uint8_t module_major = body.tee_tcb_svn[1];
  if (module_major == 0) {
    if (!ModuleMatches(tcb_info.module, body)) {
      return Mismatch("the TDX module's signer or attributes are not those of the TCB Info",
                      "tdx_module_mismatch");
    }
    out.module_status = "UpToDate";
  } else {
    char id[8];
    std::snprintf(id, sizeof(id), "TDX_%02X", module_major);
    const auto it = std::find_if(tcb_info.module_identities.begin(), tcb_info.module_identities.end(),
                                 [&](const TdxModuleIdentity& m) { return m.id == id; });
    if (it == tcb_info.module_identities.end() || !ModuleMatches(*it, body)) {
      return Mismatch(std::string("no matching TDX module identity ") + id + " in the TCB Info",
                      "tdx_module_mismatch");
    }
    const IsvLevel* level = FirstAtOrBelow(it->levels, body.tee_tcb_svn[0]);
    out.module_status = level != nullptr ? level->status : "Revoked";
    if (level != nullptr) AddAll(out.advisory_ids, level->advisory_ids);
  }

  // 4. The platform.
  const TcbLevel* platform = nullptr;
  for (const TcbLevel& level : tcb_info.levels) {
    bool ok = pck.pce_svn >= level.pce_svn;
    for (std::size_t i = 0; ok && i < 16; ++i) ok = pck.sgx_tcb_components[i] >= level.sgx_components[i];
    for (std::size_t i = module_major == 0 ? 0 : 2; ok && i < 16; ++i) {
      ok = body.tee_tcb_svn[i] >= level.tdx_components[i];
    }
    if (ok) {
      platform = &level;
      break;
    }
  }
  if (platform == nullptr) {
    return Mismatch("the platform's TCB is below every level of the TCB Info",
                    "tdx_tcb_not_supported");
  }
  out.platform_status = platform->status;
  out.tcb_date = platform->tcb_date;
  AddAll(out.advisory_ids, platform->advisory_ids);

  // 5. One status.
  out.status = Converge(Converge(out.platform_status, out.qe_status), out.module_status);
  std::sort(out.advisory_ids.begin(), out.advisory_ids.end());
  out.advisory_ids.erase(std::unique(out.advisory_ids.begin(), out.advisory_ids.end()),
                         out.advisory_ids.end());
  return out;
}

}  // namespace skr::attestation::tdx
