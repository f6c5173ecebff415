// SPDX-License-Identifier: Apache-2.0
#include "attestation/tdx/tdx_verifier.h"

#include <algorithm>
#include <utility>

#include "attestation/tdx/intel_root.h"
#include "common/encoding.h"
#include "common/ossl.h"

namespace skr::attestation::tdx {
namespace {

Error Missing(const std::string& what) {
  return Error(ErrorCode::kUnavailable, "tdx: " + what, "tdx_collateral_missing");
}

Error CrlUntrusted(const std::string& what) {
  return Error(ErrorCode::kVerificationFailed, "tdx collateral: " + what, "tdx_crl_untrusted");
}

Result<X509CrlPtr> OneCrl(const std::string& text, const char* what) {
  auto crls = ParseCrls(text);
  if (!crls || crls->size() != 1) {
    return Error(ErrorCode::kInvalidArgument, std::string("tdx collateral: ") + what +
                                                  " is not one DER or PEM CRL",
                 "tdx_collateral_malformed");
  }
  return std::move(crls->front());
}

std::int64_t CrlNextUpdate(X509_CRL* crl) {
  auto t = GetCrlTimes(crl);
  return t && t->next_update ? *t->next_update : 0;
}

}  // namespace

Result<std::shared_ptr<const TdxCollateralSet>> TdxCollateralSet::Build(
    TdxCollateralTexts texts, std::span<X509* const> roots) {
  auto set = std::make_shared<TdxCollateralSet>();
  if (texts.tcb_infos.empty() || texts.tcb_infos.size() > 64) {
    return Error(ErrorCode::kInvalidArgument, "tdx collateral: 1 to 64 TCB Info bodies",
                 "tdx_collateral_malformed");
  }
  for (const std::string& body : texts.tcb_infos) {
    SKR_TRY(TcbInfo info, ParseTcbInfo(body));
    SKR_TRY_VOID(VerifyCollateralSignature(info.signed_body, texts.tcb_signing_chain, roots,
                                           info.issue_date));
    for (const TcbInfo& other : set->tcb_infos_) {
      if (other.fmspc == info.fmspc) {
        return Error(ErrorCode::kInvalidArgument,
                     "tdx collateral: two TCB Info bodies for FMSPC " + HexEncode(info.fmspc),
                     "tdx_collateral_malformed");
      }
    }
    set->tcb_infos_.push_back(std::move(info));
  }
  SKR_TRY(set->qe_identity_, ParseQeIdentity(texts.qe_identity));
  SKR_TRY_VOID(VerifyCollateralSignature(set->qe_identity_.signed_body, texts.tcb_signing_chain,
                                         roots, set->qe_identity_.issue_date));
  if (texts.pck_crls.empty() || texts.pck_crls.size() > 4) {
    return Error(ErrorCode::kInvalidArgument, "tdx collateral: 1 to 4 PCK CA CRLs",
                 "tdx_collateral_malformed");
  }
  std::int64_t next = INT64_MAX;
  for (const std::string& text : texts.pck_crls) {
    SKR_TRY(X509CrlPtr crl, OneCrl(text, "a PCK CRL"));
    next = std::min(next, CrlNextUpdate(crl.get()));
    set->pck_crls_.push_back(std::move(crl));
  }
  SKR_TRY(set->root_crl_, OneCrl(texts.root_ca_crl, "the root CA CRL"));
  // The root CA CRL must be signed by a trusted root now.
  bool root_signed = false;
  for (X509* root : roots) {
    EvpPkeyPtr key(X509_get_pubkey(root));
    if (key && X509_CRL_verify(set->root_crl_.get(), key.get()) == 1) root_signed = true;
  }
  if (!root_signed) return CrlUntrusted("the root CA CRL is not signed by a trusted root");
  set->crls_next_update_ = std::min(next, CrlNextUpdate(set->root_crl_.get()));
  set->texts_ = std::move(texts);
  return std::shared_ptr<const TdxCollateralSet>(std::move(set));
}

const TcbInfo* TdxCollateralSet::FindTcbInfo(const std::array<std::uint8_t, 6>& fmspc) const {
  for (const TcbInfo& t : tcb_infos_) {
    if (t.fmspc == fmspc) return &t;
  }
  return nullptr;
}

const std::string& TdxCollateralSet::TcbInfoText(const TcbInfo& tcb) const {
  return texts_.tcb_infos[static_cast<std::size_t>(&tcb - tcb_infos_.data())];
}

std::int64_t TdxCollateralSet::NextUpdate(const TcbInfo& tcb) const {
  return std::min({tcb.next_update, qe_identity_.next_update, crls_next_update_});
}

Result<void> TdxCollateralSet::CheckPck(const VerifiedPck& pck, X509* root) const {
  X509* ca = pck.intermediate.get();
  if (ca == nullptr) return CrlUntrusted("the PCK chain has no CA certificate");
  X509_CRL* ca_crl = nullptr;
  for (const X509CrlPtr& crl : pck_crls_) {
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(ca)) == 0) {
      ca_crl = crl.get();
    }
  }
  if (ca_crl == nullptr) {
    char name[256];
    X509_NAME_oneline(X509_get_subject_name(ca), name, sizeof(name));
    return Missing(std::string("no CRL imported for the PCK CA '") + name +
                   "' that issued this PCK certificate (import its CRL with the collateral)");
  }
  const auto check = [](X509* cert, X509_CRL* crl, X509* issuer) -> Result<void> {
    auto r = CheckNotRevoked(cert, crl, issuer);
    if (r) return r;
    if (r.error().reason() == "cert_revoked") {
      return Error(ErrorCode::kVerificationFailed, "tdx: " + r.error().message(),
                   "tdx_pck_revoked");
    }
    return CrlUntrusted(r.error().message());
  };
  SKR_TRY_VOID(check(pck.leaf.get(), ca_crl, ca));
  return check(ca, root_crl_.get(), root);
}

TdxVerifier::TdxVerifier(TdxVerifierOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {
  roots_.push_back(IntelSgxRootCa());
  for (const X509Ptr& r : options_.extra_roots) roots_.push_back(r.get());
}

namespace {

// {"quote": base64} -> the quote's bytes (at most 64 KiB).
Result<std::vector<std::uint8_t>> QuoteBytes(const Json& evidence) {
  auto quote_it = evidence.find("quote");
  if (quote_it == evidence.end() || !quote_it->is_string()) {
    return Error(ErrorCode::kMalformedEvidence, "tdx evidence needs \"quote\" (base64)",
                 "tdx_quote_malformed");
  }
  auto bytes = Base64DecodeAtMost(quote_it->get<std::string>(), kMaxTdxEvidenceQuoteBytes);
  if (!bytes) {
    return Error(ErrorCode::kMalformedEvidence,
                 "tdx evidence: \"quote\" is not base64 of at most 64 KiB", "tdx_quote_malformed");
  }
  return std::move(bytes).value();
}

}  // namespace

Result<VerifiedEvidence> TdxVerifier::Verify(const Json& evidence) const {
  SKR_TRY(std::vector<std::uint8_t> bytes, QuoteBytes(evidence));
  return VerifyQuoteBytes(bytes, nullptr);
}

Result<VerifiedEvidence> TdxVerifier::VerifyRecorded(const Json& evidence,
                                                     const RecordedState& state) const {
  SKR_TRY(std::vector<std::uint8_t> bytes, QuoteBytes(evidence));
  return VerifyQuoteBytes(bytes, &state);
}

Result<VerifiedEvidence> TdxVerifier::VerifyQuoteBytes(std::span<const std::uint8_t> quote,
                                                       const RecordedState* state) const {
  const std::string* tcb = state != nullptr ? state->Find("tdx_tcb_info") : nullptr;
  if (tcb == nullptr) {
    std::shared_ptr<const TdxCollateralSet> set;
    if (options_.collateral != nullptr) set = options_.collateral->Current();
    return VerifyWith(quote, state != nullptr ? state->time : clock_.NowUnix(), set.get());
  }
  TdxCollateralTexts texts;
  texts.tcb_infos.push_back(*tcb);
  for (const char* name : {"tdx_qe_identity", "tdx_tcb_signing_chain", "tdx_root_ca_crl"}) {
    if (state->Find(name) == nullptr) return Missing(std::string("the replay bundle lacks ") + name);
  }
  texts.qe_identity = *state->Find("tdx_qe_identity");
  texts.tcb_signing_chain = *state->Find("tdx_tcb_signing_chain");
  texts.root_ca_crl = *state->Find("tdx_root_ca_crl");
  for (int i = 0; i < 4; ++i) {
    if (const std::string* crl = state->Find("tdx_pck_crl." + std::to_string(i))) {
      texts.pck_crls.push_back(*crl);
    }
  }
  SKR_TRY(std::shared_ptr<const TdxCollateralSet> set, TdxCollateralSet::Build(texts, roots_));
  return VerifyWith(quote, state->time, set.get());
}

Result<VerifiedEvidence> TdxVerifier::VerifyWith(std::span<const std::uint8_t> quote,
                                                 std::int64_t now,
                                                 const TdxCollateralSet* set) const {
  SKR_TRY(VerifiedQuote v, VerifyQuote(quote, roots_, now));

  if (set == nullptr) {
    return Missing("no TDX collateral imported (skrctl tdx import-collateral)");
  }
  const TcbInfo* tcb = set->FindTcbInfo(v.pck.ext.fmspc);
  if (tcb == nullptr) {
    return Missing("no TCB Info imported for FMSPC " + HexEncode(v.pck.ext.fmspc));
  }
  const std::int64_t next_update = set->NextUpdate(*tcb);
  if (now > next_update + options_.collateral_grace_seconds) {
    return Error(ErrorCode::kUnavailable,
                 "tdx: the collateral for FMSPC " + HexEncode(v.pck.ext.fmspc) +
                     " is past its nextUpdate " + FormatRfc3339(next_update) +
                     " beyond the grace period: import fresh collateral",
                 "tdx_collateral_stale");
  }
  // The root the chain reached: the last root whose CRL the set carries is checked with it.
  X509* root = roots_.front();
  for (X509* r : roots_) {
    if (IssuerNameMatches(v.pck.intermediate.get(), r)) root = r;
  }
  SKR_TRY_VOID(set->CheckPck(v.pck, root));
  SKR_TRY(TcbResult status, EvaluateTcb(v, *tcb, set->qe_identity()));

  VerifiedEvidence out;
  out.type = "tdx";
  out.claims = QuoteClaims(v);
  out.claims["tdx.tcb_status"] = status.status;
  out.claims["tdx.advisory_ids"] = status.advisory_ids;
  out.claims["tdx.tcb_date"] = FormatRfc3339(status.tcb_date);
  out.binding_form = BindingForm::kReportData64;
  out.bound_data.assign(v.quote.body.report_data.begin(), v.quote.body.report_data.end());
  out.collateral = {{"fmspc", HexEncode(v.pck.ext.fmspc)},
                    {"tcb_info_issue_date", FormatRfc3339(tcb->issue_date)},
                    {"tcb_evaluation_data_number", tcb->tcb_evaluation_data_number},
                    {"qe_identity_issue_date", FormatRfc3339(set->qe_identity().issue_date)},
                    {"next_update", FormatRfc3339(next_update)},
                    {"pck_sha256", HexEncode(CertificateSha256(v.pck.leaf.get()))},
                    {"tcb_status", status.status}};
  const TdxCollateralTexts& texts = set->texts();
  out.collateral_bytes.emplace_back("tdx_tcb_info", set->TcbInfoText(*tcb));
  out.collateral_bytes.emplace_back("tdx_qe_identity", texts.qe_identity);
  out.collateral_bytes.emplace_back("tdx_tcb_signing_chain", texts.tcb_signing_chain);
  for (std::size_t i = 0; i < texts.pck_crls.size(); ++i) {
    out.collateral_bytes.emplace_back("tdx_pck_crl." + std::to_string(i), texts.pck_crls[i]);
  }
  out.collateral_bytes.emplace_back("tdx_root_ca_crl", texts.root_ca_crl);
  return out;
}

}  // namespace skr::attestation::tdx
