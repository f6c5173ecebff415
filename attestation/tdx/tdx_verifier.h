// SPDX-License-Identifier: Apache-2.0
// The `tdx` evidence type (DESIGN.md sections 2-3): {"type": "tdx", "quote": base64(v4 or v5
// quote)}. Quote signatures and the PCK chain to the pinned Intel SGX Root CA (verify.h), the
// PCK and PCK CA not revoked by the imported CRLs, TCB Info and QE Identity from the imported
// collateral (verified when imported and again when a snapshot is built), the TCB status (tcb.h)
// and the claims. Collateral is never fetched: it arrives through TdxCollateralSource, which the
// server implements over its store. No I/O here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <span>
#include <vector>

#include "attestation/tdx/collateral.h"
#include "attestation/tdx/tcb.h"
#include "attestation/tdx/verify.h"
#include "attestation/verifier.h"
#include "common/clock.h"
#include "common/x509.h"

namespace skr::attestation::tdx {

// One consistent set of collateral. Built from the verbatim texts an operator imported; Build
// checks every signature (the TCB Info and QE Identity bodies with the TCB signing chain at
// their issue dates, each CRL by its issuer) against `roots`.
struct TdxCollateralTexts {
  std::vector<std::string> tcb_infos;  // PCS TCB Info bodies, one per FMSPC
  std::string qe_identity;             // PCS QE Identity body
  std::string tcb_signing_chain;       // PEM: TCB signing certificate (then the root)
  std::vector<std::string> pck_crls;   // DER (or PEM) CRLs of the PCK Platform / Processor CAs
  std::string root_ca_crl;             // DER (or PEM) CRL of the root CA
};

class TdxCollateralSet {
 public:
  // Errors: tdx_collateral_malformed, tdx_collateral_untrusted (collateral.h), and
  // "tdx_crl_untrusted" for a CRL that no trusted root / no PCK CA of `pck_cas` signed. PCK CAs
  // are only known from quotes; so a PCK CRL is checked against its issuer when a quote names
  // it (CheckPck), and here only for being a CRL.
  static Result<std::shared_ptr<const TdxCollateralSet>> Build(TdxCollateralTexts texts,
                                                               std::span<X509* const> roots);
  const TdxCollateralTexts& texts() const { return texts_; }
  const TcbInfo* FindTcbInfo(const std::array<std::uint8_t, 6>& fmspc) const;
  const QeIdentity& qe_identity() const { return qe_identity_; }
  const std::vector<TcbInfo>& tcb_infos() const { return tcb_infos_; }
  // The verbatim body of `tcb` (an entry FindTcbInfo returned).
  const std::string& TcbInfoText(const TcbInfo& tcb) const;
  // The PCK certificate and its CA checked against the CRLs: the CA's CRL (matched by issuer
  // name, signed by the CA) must exist and not list the PCK; the root CA CRL must not list the
  // CA. Errors: kUnavailable "tdx_collateral_missing" (no CRL for this CA), kVerificationFailed
  // "tdx_pck_revoked", "tdx_crl_untrusted".
  Result<void> CheckPck(const VerifiedPck& pck, X509* root) const;
  // The earliest nextUpdate of everything in the set, and of the parts a quote uses.
  std::int64_t NextUpdate(const TcbInfo& tcb) const;

 private:
  TdxCollateralTexts texts_;
  std::vector<TcbInfo> tcb_infos_;
  QeIdentity qe_identity_;
  std::vector<X509CrlPtr> pck_crls_;
  X509CrlPtr root_crl_;
  std::int64_t crls_next_update_ = 0;
};

class TdxCollateralSource {
 public:
  virtual ~TdxCollateralSource() = default;
  // The collateral in force; null when none was imported.
  virtual std::shared_ptr<const TdxCollateralSet> Current() const = 0;
};

struct TdxVerifierOptions {
  std::vector<X509Ptr> extra_roots;  // test / pre-production roots beside the pinned Intel root
  const TdxCollateralSource* collateral = nullptr;  // not owned
  // How long past nextUpdate collateral may still be used (seconds).
  std::int64_t collateral_grace_seconds = 86400;
};

inline constexpr std::size_t kMaxTdxEvidenceQuoteBytes = kMaxQuoteBytes;

// Thread-safety: Verify may be called concurrently.
class TdxVerifier final : public Verifier {
 public:
  TdxVerifier(TdxVerifierOptions options, const Clock& clock);
  std::string_view type() const override { return "tdx"; }
  // Errors: verify.h, tcb.h, TdxCollateralSet::CheckPck; kUnavailable "tdx_collateral_missing"
  // (no collateral, or none for this FMSPC), "tdx_collateral_stale" (past nextUpdate + grace);
  // kMalformedEvidence "tdx_quote_malformed" for a missing or non-base64 quote.
  Result<VerifiedEvidence> Verify(const Json& evidence) const override;
  // As at state.time with the collateral kept with the bundle ("tdx_tcb_info", "tdx_qe_identity",
  // "tdx_tcb_signing_chain", "tdx_pck_crl.N", "tdx_root_ca_crl"); without them, today's.
  Result<VerifiedEvidence> VerifyRecorded(const Json& evidence,
                                          const RecordedState& state) const override;
  // The same for a quote's bytes (what az-tdx-vtpm carries): now with the collateral in force,
  // or, with `state`, as Verify / VerifyRecorded would.
  Result<VerifiedEvidence> VerifyQuoteBytes(std::span<const std::uint8_t> quote,
                                            const RecordedState* state = nullptr) const;
  std::span<X509* const> roots() const { return roots_; }

 private:
  Result<VerifiedEvidence> VerifyWith(std::span<const std::uint8_t> quote, std::int64_t now,
                                      const TdxCollateralSet* set) const;
  TdxVerifierOptions options_;
  const Clock& clock_;
  std::vector<X509*> roots_;
};

}  // namespace skr::attestation::tdx
