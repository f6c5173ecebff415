// SPDX-License-Identifier: Apache-2.0
// The TDX collateral store (issue 13): what an operator imported with `skrctl tdx
// import-collateral` (POST /v1/attestation/tdx/collateral), verified to the trusted Intel roots
// before it is stored, kept in the keystore's collateral table as one document (the verbatim
// PCS bodies, the TCB signing chain, the CRLs), rebuilt and re-verified at start, and served to
// the tdx verifier as an immutable snapshot. Never fetched at release time.
#pragma once

#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "attestation/tdx/tdx_verifier.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/thread_annotations.h"
#include "keystore/keystore.h"

namespace skr::server {

inline constexpr std::string_view kTdxCollateralKind = "tdx-collateral";

class TdxCollateralStore final : public attestation::tdx::TdxCollateralSource {
 public:
  TdxCollateralStore(keystore::KeyStore& keys, const Clock& clock) : keys_(keys), clock_(clock) {}
  // The roots collateral must chain to: the tdx verifier's (pinned Intel root and extra roots),
  // which must outlive the store. Set once, before Load and Import.
  void SetRoots(std::span<X509* const> roots) { roots_ = roots; }

  // Rebuilds the snapshot from the keystore (none stored: no snapshot). Errors: the store's, or
  // the set's verification errors (stored collateral that no longer verifies is not served).
  Result<void> Load();

  // Merges a request {"tcb_info": body or [bodies], "qe_identity": body, "tcb_signing_chain":
  // PEM, "pck_crls": [base64 DER or PEM], "root_ca_crl": base64 DER or PEM} into the collateral
  // in force: a TCB Info replaces the one of its FMSPC, the other members replace theirs (all are
  // required on the first import). Verifies the whole result, persists it, then serves it.
  // Returns the summary. Errors: kInvalidArgument "tdx_collateral_malformed",
  // kVerificationFailed "tdx_collateral_untrusted" / "tdx_crl_untrusted", the store's.
  Result<Json> Import(const Json& request);

  // {"tcb_infos": [{fmspc, issue_date, next_update, tcb_evaluation_data_number}], "qe_identity":
  // {...}, "crls_next_update", "next_update", "stale"} or {"imported": false}.
  Json Summary() const;
  // Prometheus lines: skr_tdx_collateral_imported, skr_tdx_collateral_next_update_timestamp,
  // skr_tdx_collateral_stale (1 when past its nextUpdate).
  std::string MetricsText() const;

  std::shared_ptr<const attestation::tdx::TdxCollateralSet> Current() const override
      SKR_EXCLUDES(mu_);

 private:
  keystore::KeyStore& keys_;
  std::span<X509* const> roots_;
  const Clock& clock_;
  std::mutex import_mu_;  // one import at a time (read-merge-write)
  mutable Mutex mu_;
  std::shared_ptr<const attestation::tdx::TdxCollateralSet> current_ SKR_GUARDED_BY(mu_);
};

}  // namespace skr::server
