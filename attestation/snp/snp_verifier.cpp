// SPDX-License-Identifier: Apache-2.0
#include "attestation/snp/snp_verifier.h"

#include "attestation/snp/cert_table.h"
#include "attestation/snp/claims.h"
#include "attestation/snp/verify.h"
#include "common/encoding.h"
#include "common/x509.h"

namespace skr::attestation::snp {
namespace {

constexpr std::size_t kMaxReportB64 = 2048;
constexpr std::size_t kMaxCandidates = 8;

Error Malformed(const std::string& msg, const char* reason = "malformed_evidence") {
  return Error(ErrorCode::kMalformedEvidence, "sev-snp evidence: " + msg, reason);
}

// "a.b.c.d[.e]", built by appending (GCC 12 warns falsely on chained operator+, PR 105329).
std::string JoinSpl(std::initializer_list<unsigned> parts) {
  std::string s;
  for (unsigned v : parts) {
    if (!s.empty()) s.push_back('.');
    s.append(std::to_string(v));
  }
  return s;
}

std::string SplTuple(const VcekExtensions& ext) {
  if (ext.fmc_spl) return JoinSpl({ext.bl_spl, ext.tee_spl, ext.snp_spl, ext.ucode_spl, *ext.fmc_spl});
  return JoinSpl({ext.bl_spl, ext.tee_spl, ext.snp_spl, ext.ucode_spl});
}

std::string SplTuple(const TcbVersion& t, bool with_fmc) {
  if (with_fmc) return JoinSpl({t.bootloader, t.tee, t.snp, t.microcode, t.fmc});
  return JoinSpl({t.bootloader, t.tee, t.snp, t.microcode});
}

// The leaf certificates the evidence offers for the report's signer kind.
Result<std::vector<X509Ptr>> LeavesFromEvidence(const Json& evidence, Signer signer) {
  std::vector<X509Ptr> leaves;
  if (auto v = evidence.find("vcek"); v != evidence.end()) {
    if (!v->is_string() || v->get_ref<const std::string&>().size() > kMaxSnpEvidenceCertBytes) {
      return Malformed("'vcek' must be a PEM or base64 DER string");
    }
    auto cert = ParseCertificateAny(v->get_ref<const std::string&>());
    if (!cert) return Malformed("'vcek' is not a certificate", "snp_cert_malformed");
    leaves.push_back(std::move(cert).value());
  }
  if (auto c = evidence.find("cert_chain"); c != evidence.end()) {
    if (!c->is_string() || c->get_ref<const std::string&>().size() > kMaxSnpEvidenceCertBytes) {
      return Malformed("'cert_chain' must be a string");
    }
    const auto& text = c->get_ref<const std::string&>();
    if (text.find("-----BEGIN") != std::string::npos) {
      // A PEM bundle: its first certificate is the VCEK/VLEK (AMD KDS order leaf, ASK, ARK).
      auto certs = ParseCertificatesPem(text);
      if (!certs || certs->empty()) return Malformed("'cert_chain' PEM does not parse", "snp_cert_malformed");
      leaves.push_back(std::move((*certs)[0]));
    } else {
      auto blob = Base64Decode(text);
      if (!blob) return Malformed("'cert_chain' is not base64");
      SKR_TRY(std::vector<CertTableEntry> table, ParseCertTable(*blob));
      const CertKind want = signer == Signer::kVlek ? CertKind::kVlek : CertKind::kVcek;
      for (const auto& e : table) {
        if (e.kind != want) continue;
        std::string_view as_text(reinterpret_cast<const char*>(e.data.data()), e.data.size());  // NOLINT
        auto cert = as_text.find("-----BEGIN") != std::string_view::npos
                        ? ParseCertificatePem(as_text)
                        : ParseCertificateDer(e.data);
        if (!cert) return Malformed("certificate table entry does not parse", "snp_cert_malformed");
        leaves.push_back(std::move(cert).value());
      }
    }
  }
  return leaves;
}

}  // namespace

std::string CollateralKey(Signer signer, const VcekExtensions& ext) {
  // Several cloud providers may each hold a VLEK for the same TCB: the key ends with the
  // provider's cspId so one does not replace another.
  if (signer == Signer::kVlek) return "vlek:" + SplTuple(ext) + ":" + HexEncode(AsBytes(ext.csp_id.value_or("")));
  return "vcek:" + (ext.hw_id ? HexEncode(*ext.hw_id) : std::string()) + ":" + SplTuple(ext);
}

std::vector<std::string> CollateralKeysForReport(Signer signer,
                                                 std::span<const std::uint8_t> chip_id,
                                                 std::uint64_t reported_tcb) {
  std::vector<std::string> keys;
  // Milan/Genoa layout with a 64-byte hwID; Turin layout with an 8-byte hwID.
  const TcbVersion mg = DecodeTcb(reported_tcb, Product::kMilan);
  const TcbVersion tu = DecodeTcb(reported_tcb, Product::kTurin);
  if (signer == Signer::kVlek) {
    // Prefixes: the collateral source matches every provider's VLEK for this TCB.
    keys.push_back("vlek:" + SplTuple(mg, false) + ":");
    keys.push_back("vlek:" + SplTuple(tu, true) + ":");
    return keys;
  }
  keys.push_back("vcek:" + HexEncode(chip_id) + ":" + SplTuple(mg, false));
  if (chip_id.size() >= 8) {
    keys.push_back("vcek:" + HexEncode(chip_id.first(8)) + ":" + SplTuple(tu, true));
  }
  return keys;
}

std::shared_ptr<const CrlSet> SnpVerifier::crls() const {
  MutexLock lock(crl_mu_);
  return crls_;
}

void SnpVerifier::ReplaceCrls(std::shared_ptr<const CrlSet> crls) {
  MutexLock lock(crl_mu_);
  crls_.swap(crls);
  // The old set (now in `crls`) is released after the lock, outside the critical section.
}

Result<VerifiedEvidence> SnpVerifier::Verify(const Json& evidence) const {
  // ---- Parse ----
  for (auto it = evidence.begin(); it != evidence.end(); ++it) {
    const auto& k = it.key();
    if (k != "type" && k != "report" && k != "vcek" && k != "cert_chain") {
      return Malformed("unknown member in the evidence object");
    }
  }
  auto rep_it = evidence.find("report");
  if (rep_it == evidence.end() || !rep_it->is_string() ||
      rep_it->get_ref<const std::string&>().size() > kMaxReportB64) {
    return Malformed("'report' must be base64 of the 1184-byte ATTESTATION_REPORT");
  }
  auto report_bytes = Base64Decode(rep_it->get_ref<const std::string&>());
  if (!report_bytes) return Malformed("'report' is not valid base64");
  SKR_TRY(Report report, Report::Parse(*report_bytes));
  SKR_TRY_VOID(Validate(report));
  const Signer signer = report.signing_key() == SigningKey::kVlek ? Signer::kVlek : Signer::kVcek;

  SKR_TRY(std::vector<X509Ptr> leaves, LeavesFromEvidence(evidence, signer));
  if (leaves.empty() && options_.collateral != nullptr) {
    for (auto& der : options_.collateral->Candidates(signer, report.chip_id(), report.reported_tcb())) {
      if (leaves.size() == kMaxCandidates) break;
      if (auto cert = ParseCertificateDer(der); cert) leaves.push_back(std::move(cert).value());
    }
  }
  if (leaves.empty()) {
    return Error(ErrorCode::kVerificationFailed,
                 "no VCEK/VLEK in the evidence and none provisioned for this chip and TCB",
                 "snp_vcek_missing");
  }

  // ---- Verify: chain to the pinned roots (the product is decided here), then the report
  // signature; then Validate the report against that certificate. The first error of the
  // first offered certificate is reported when none succeeds.
  const std::int64_t now = clock_.NowUnix();
  // One snapshot of the CRL set for this whole verification (a SIGHUP reload may swap it).
  const std::shared_ptr<const CrlSet> crls = this->crls();
  std::optional<Error> first_error;
  for (auto& leaf : leaves) {
    auto endorsement = crls ? VerifyEndorsement(leaf.get(), signer, options_.trust, now, *crls)
                            : VerifyEndorsement(leaf.get(), signer, options_.trust, now);
    Result<void> ok = endorsement ? VerifyReportSignature(report, endorsement->key.get())
                                  : Result<void>(endorsement.error());
    if (ok) ok = ValidateAgainstEndorsement(report, *endorsement);
    if (!ok) {
      if (!first_error) first_error = ok.error();
      continue;
    }
    VerifiedEvidence out;
    out.type = "sev-snp";
    out.claims = ToClaims(report, endorsement->product,
                          endorsement->signer == Signer::kVlek ? "vlek" : "vcek");
    if (endorsement->ext.csp_id) out.claims["snp.csp_id"] = *endorsement->ext.csp_id;
    out.binding_form = BindingForm::kReportData64;
    const auto rd = report.report_data();
    out.bound_data.assign(rd.begin(), rd.end());
    return out;
  }
  return *first_error;
}

}  // namespace skr::attestation::snp
