// SPDX-License-Identifier: Apache-2.0
#include "attestation/snp/snp_verifier.h"

#include "attestation/snp/cert_table.h"
#include "attestation/snp/endorsement_cache.h"
#include "attestation/snp/claims.h"
#include "attestation/snp/verify.h"
#include "common/encoding.h"
#include "common/ossl.h"
#include "common/x509.h"

#include <optional>
#include <utility>

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

// A certificate the evidence offers for the report's signer kind, as offered (parsed only on a
// miss of the endorsement cache).
struct Offer {
  enum class Form : std::uint8_t { kAnyText = 1, kPemBundleFirst = 2, kPem = 3, kDer = 4 };
  Form form;
  std::string bytes;
};

OfferDigest DigestOf(const Offer& o) {
  std::string tagged;
  tagged.reserve(o.bytes.size() + 1);
  tagged.push_back(static_cast<char>(o.form));
  tagged.append(o.bytes);
  return Sha256(tagged);
}

Result<X509Ptr> ParseOffer(const Offer& o) {
  switch (o.form) {
    case Offer::Form::kAnyText: {
      auto cert = ParseCertificateAny(o.bytes);
      if (!cert) return Malformed("'vcek' is not a certificate", "snp_cert_malformed");
      return cert;
    }
    case Offer::Form::kPemBundleFirst: {
      // A PEM bundle: its first certificate is the VCEK/VLEK (AMD KDS order leaf, ASK, ARK).
      auto certs = ParseCertificatesPem(o.bytes);
      if (!certs || certs->empty()) {
        return Malformed("'cert_chain' PEM does not parse", "snp_cert_malformed");
      }
      return std::move((*certs)[0]);
    }
    case Offer::Form::kPem:
    case Offer::Form::kDer: {
      auto cert = o.form == Offer::Form::kPem ? ParseCertificatePem(o.bytes)
                                              : ParseCertificateDer(AsBytes(o.bytes));
      if (!cert) return Malformed("certificate table entry does not parse", "snp_cert_malformed");
      return cert;
    }
  }
  return Malformed("certificate form unknown");
}

// The certificates the evidence offers for the report's signer kind ('vcek', then 'cert_chain').
Result<std::vector<Offer>> OffersFromEvidence(const Json& evidence, Signer signer) {
  std::vector<Offer> offers;
  if (auto v = evidence.find("vcek"); v != evidence.end()) {
    if (!v->is_string() || v->get_ref<const std::string&>().size() > kMaxSnpEvidenceCertBytes) {
      return Malformed("'vcek' must be a PEM or base64 DER string");
    }
    offers.push_back({Offer::Form::kAnyText, v->get_ref<const std::string&>()});
  }
  if (auto c = evidence.find("cert_chain"); c != evidence.end()) {
    if (!c->is_string() || c->get_ref<const std::string&>().size() > kMaxSnpEvidenceCertBytes) {
      return Malformed("'cert_chain' must be a string");
    }
    const auto& text = c->get_ref<const std::string&>();
    if (text.find("-----BEGIN") != std::string::npos) {
      offers.push_back({Offer::Form::kPemBundleFirst, text});
    } else {
      auto blob = Base64Decode(text);
      if (!blob) return Malformed("'cert_chain' is not base64");
      SKR_TRY(std::vector<CertTableEntry> table, ParseCertTable(*blob));
      const CertKind want = signer == Signer::kVlek ? CertKind::kVlek : CertKind::kVcek;
      for (const auto& e : table) {
        if (e.kind != want) continue;
        std::string bytes(reinterpret_cast<const char*>(e.data.data()), e.data.size());  // NOLINT
        const bool pem = bytes.find("-----BEGIN") != std::string::npos;
        offers.push_back({pem ? Offer::Form::kPem : Offer::Form::kDer, std::move(bytes)});
      }
    }
  }
  return offers;
}

// One leaf to try: an endorsement found in the cache, or a parsed certificate to verify.
struct Candidate {
  OfferDigest digest{};
  std::shared_ptr<const CachedEndorsement> cached;
  X509Ptr parsed;  // null when `cached` is set
  X509* leaf() const { return cached ? cached->leaf.get() : parsed.get(); }
};

// The checks of VerifyEndorsement that depend on time, for an endorsement verified earlier
// under the same CRL set: validity of the three certificates, usability of the CRLs covering
// the chain. Revocation itself cannot have changed (the set is immutable).
bool StillValid(const CachedEndorsement& c, std::uint64_t crl_generation, const CrlSet* crls,
                std::int64_t now) {
  if (c.crl_generation != crl_generation) return false;
  if (!CheckValidity(c.leaf.get(), now) || !CheckValidity(c.endorsement.intermediate, now) ||
      !CheckValidity(c.endorsement.ark, now)) {
    return false;
  }
  if (crls != nullptr) {
    for (const AmdCrl& crl : crls->crls()) {
      if ((crl.issuer_sha256 == c.ark_sha256 || crl.issuer_sha256 == c.intermediate_sha256) &&
          !crls->CheckUsable(crl, now)) {
        return false;
      }
    }
  }
  return true;
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

std::pair<std::shared_ptr<const CrlSet>, std::uint64_t> SnpVerifier::CrlSnapshot() const {
  MutexLock lock(crl_mu_);
  return {crls_, crl_generation_};
}

void SnpVerifier::ReplaceCrls(std::shared_ptr<const CrlSet> crls) {
  MutexLock lock(crl_mu_);
  crls_.swap(crls);
  ++crl_generation_;  // cached endorsements were checked against the old set
  // The old set (now in `crls`) is released after the lock, outside the critical section.
}

Result<VerifiedEvidence> SnpVerifier::Verify(const Json& evidence) const {
  // One snapshot of the CRL set for this whole verification (a SIGHUP reload may swap it).
  auto [crls, crl_generation] = CrlSnapshot();
  Context ctx;
  ctx.now = clock_.NowUnix();
  ctx.crls = std::move(crls);
  ctx.crl_generation = crl_generation;
  return VerifyWith(evidence, ctx);
}

Result<VerifiedEvidence> SnpVerifier::VerifyRecorded(const Json& evidence,
                                                     const RecordedState& state) const {
  Context ctx;
  ctx.now = state.time;
  ctx.replay = true;
  ctx.recorded_signer = state.Find("snp_signer");
  // The CRLs in force at the release ("snp_crl.N"), judged as at its time; none kept: none.
  std::vector<X509CrlPtr> kept;
  for (const auto& [name, der] : state.collateral) {
    if (name.rfind("snp_crl.", 0) != 0) continue;
    auto crl = ParseCrlDer(AsBytes(der));
    if (!crl) return Error(ErrorCode::kInvalidArgument, "kept CRL " + name + " does not parse", "crl_malformed");
    kept.push_back(std::move(crl).value());
  }
  if (!kept.empty()) {
    const auto live = crls();
    SKR_TRY(CrlSet set, CrlSet::Create(std::move(kept), options_.trust, state.time,
                                       live ? live->max_staleness_seconds() : 0));
    ctx.crls = std::make_shared<const CrlSet>(std::move(set));
  }
  return VerifyWith(evidence, ctx);
}

Result<VerifiedEvidence> SnpVerifier::VerifyWith(const Json& evidence, const Context& ctx) const {
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

  // Each offered certificate: a cached endorsement, or parsed now (a malformed offer is an
  // error even when another one would verify, as before the cache).
  SKR_TRY(std::vector<Offer> offers, OffersFromEvidence(evidence, signer));
  std::vector<Candidate> candidates;
  for (const Offer& o : offers) {
    Candidate c;
    c.digest = DigestOf(o);
    if (!ctx.replay) c.cached = cache_.Find(c.digest);
    if (!c.cached) {
      SKR_TRY(c.parsed, ParseOffer(o));
    }
    candidates.push_back(std::move(c));
  }
  if (candidates.empty() && ctx.recorded_signer != nullptr) {
    // Replay: the VCEK/VLEK the release took from the operator's cache, as kept.
    auto cert = ParseCertificateDer(AsBytes(*ctx.recorded_signer));
    if (!cert) return Malformed("the kept VCEK/VLEK does not parse", "snp_cert_malformed");
    Candidate c;
    c.parsed = std::move(cert).value();
    candidates.push_back(std::move(c));
  }
  if (candidates.empty() && options_.collateral != nullptr) {
    for (auto& der : options_.collateral->Candidates(signer, report.chip_id(), report.reported_tcb())) {
      if (candidates.size() == kMaxCandidates) break;
      Candidate c;
      std::string bytes(der.begin(), der.end());
      c.digest = DigestOf({Offer::Form::kDer, std::move(bytes)});
      if (!ctx.replay) c.cached = cache_.Find(c.digest);
      if (!c.cached) {
        auto cert = ParseCertificateDer(der);
        if (!cert) continue;
        c.parsed = std::move(cert).value();
      }
      candidates.push_back(std::move(c));
    }
  }
  if (candidates.empty()) {
    return Error(ErrorCode::kVerificationFailed,
                 "no VCEK/VLEK in the evidence and none provisioned for this chip and TCB",
                 "snp_vcek_missing");
  }

  // ---- Verify: chain to the pinned roots (the product is decided here), then the report
  // signature; then Validate the report against that certificate. The first error of the
  // first offered certificate is reported when none succeeds.
  const std::int64_t now = ctx.now;
  const std::shared_ptr<const CrlSet>& crls = ctx.crls;
  const std::uint64_t crl_generation = ctx.crl_generation;
  std::optional<Error> first_error;
  for (auto& cand : candidates) {
    std::shared_ptr<const CachedEndorsement> endorsed = cand.cached;
    if (endorsed && !StillValid(*endorsed, crl_generation, crls.get(), now)) endorsed = nullptr;
    if (!endorsed) {
      // The full check (a miss, or a hit that no longer holds: the error is reported as the
      // full check words it).
      auto e = crls ? VerifyEndorsement(cand.leaf(), signer, options_.trust, now, *crls)
                    : VerifyEndorsement(cand.leaf(), signer, options_.trust, now);
      Result<P384PublicKey> key = e ? P384PublicKey::FromEvpPkey(e->key.get())
                                    : Result<P384PublicKey>(e.error());
      if (!key) {
        if (!first_error) first_error = key.error();
        continue;
      }
      auto entry = std::make_shared<CachedEndorsement>(CachedEndorsement{
          std::move(e).value(), std::move(key).value(), nullptr, crl_generation, {}, {}});
      if (cand.parsed) {
        entry->leaf = std::move(cand.parsed);
      } else {
        X509_up_ref(cand.cached->leaf.get());  // shared with the stale entry it replaces
        entry->leaf.reset(cand.cached->leaf.get());
      }
      entry->ark_sha256 = CertificateSha256(entry->endorsement.ark);
      entry->intermediate_sha256 = CertificateSha256(entry->endorsement.intermediate);
      if (!ctx.replay) cache_.Insert(cand.digest, entry);
      endorsed = std::move(entry);
    }
    Result<void> ok = VerifyReportSignature(report, endorsed->key);
    if (ok) ok = ValidateAgainstEndorsement(report, endorsed->endorsement);
    if (!ok) {
      if (!first_error) first_error = ok.error();
      continue;
    }
    const VerifiedEndorsement& en = endorsed->endorsement;
    VerifiedEvidence out;
    out.type = "sev-snp";
    out.claims = ToClaims(report, en.product, en.signer == Signer::kVlek ? "vlek" : "vcek");
    if (en.ext.csp_id) out.claims["snp.csp_id"] = *en.ext.csp_id;
    // The certificates it verified with (digests of their DER), and whether the VCEK/VLEK came
    // with the evidence or from the operator's cache: an audit replay compares them.
    out.collateral = Json{
        {"snp_signer_sha256", HexEncode(CertificateSha256(endorsed->leaf.get()))},
        {"snp_signer_source", offers.empty() ? "cache" : "evidence"},
        {"snp_intermediate_sha256", HexEncode(endorsed->intermediate_sha256)},
        {"snp_ark_sha256", HexEncode(endorsed->ark_sha256)},
        {"snp_crls", crls != nullptr}};
    // The bytes a replay needs that the evidence does not carry.
    if (offers.empty()) {
      SKR_TRY(std::vector<std::uint8_t> der, CertificateDer(endorsed->leaf.get()));
      out.collateral_bytes.emplace_back("snp_signer", std::string(der.begin(), der.end()));
    }
    if (crls != nullptr) {
      for (std::size_t i = 0; i < crls->crls().size(); ++i) {
        out.collateral_bytes.emplace_back("snp_crl." + std::to_string(i), crls->crls()[i].der);
      }
    }
    out.binding_form = BindingForm::kReportData64;
    const auto rd = report.report_data();
    out.bound_data.assign(rd.begin(), rd.end());
    return out;
  }
  return *first_error;
}

}  // namespace skr::attestation::snp
