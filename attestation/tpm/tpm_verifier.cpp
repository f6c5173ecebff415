// SPDX-License-Identifier: Apache-2.0
#include "attestation/tpm/tpm_verifier.h"

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <tss2/tss2_mu.h>

#include <charconv>
#include <optional>

#include "attestation/tpm/ak_checks.h"
#include "attestation/tpm/event_log.h"

#include "common/byte_reader.h"
#include "common/encoding.h"
#include "common/x509.h"

namespace skr::attestation::tpm {
namespace {

Error Malformed(const std::string& msg, const char* reason = "malformed_evidence") {
  return Error(ErrorCode::kMalformedEvidence, "tpm evidence: " + msg, reason);
}
std::string Clip(std::string_view s) { return PrintableAscii(s, 64); }
Error Failed(const std::string& msg, const char* reason) {
  return Error(ErrorCode::kVerificationFailed, "tpm evidence: " + msg, reason);
}

// A base64 member holding at most `max_bytes` bytes.
Result<std::vector<std::uint8_t>> Base64Member(const Json& evidence, const char* name,
                                               std::size_t max_bytes, const char* reason) {
  auto it = evidence.find(name);
  if (it == evidence.end()) return Malformed(std::string("'") + name + "' is required");
  if (!it->is_string()) return Malformed(std::string("'") + name + "' must be a base64 string");
  auto bytes = Base64DecodeAtMost(it->get_ref<const std::string&>(), max_bytes);
  if (!bytes) {
    return Malformed(std::string("'") + name + (bytes.error().reason() == "too_large" ? "' is too large" : "' is not base64"),
                     reason);
  }
  if (bytes->empty()) return Malformed(std::string("'") + name + "' is empty", reason);
  return std::move(bytes).value();
}

// TPMA_OBJECT bits an AK must have / must not have (Part 2, 8.3).
constexpr TPMA_OBJECT kAkRequired = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_RESTRICTED |
                                    TPMA_OBJECT_SIGN_ENCRYPT;

// ---- Google Cloud instance identity in GCE AK certificates ----
// Extension 1.3.6.1.4.1.11129.2.1.21 holds (DER, X.690):
//   SEQUENCE { zone UTF8String, projectNumber INTEGER, projectId UTF8String,
//              instanceId INTEGER, instanceName UTF8String,
//              securityProperties [0] EXPLICIT SEQUENCE {
//                securityVersion [0] EXPLICIT INTEGER OPTIONAL,
//                isProduction [1] EXPLICIT BOOLEAN OPTIONAL, ... } OPTIONAL }
// (the layout go-tpm-tools' server package decodes). It names the project and instance the AK
// belongs to: without it a policy could not tell one GCE customer's VMs from another's.
struct Tlv {
  std::uint8_t tag = 0;
  std::span<const std::uint8_t> value;
};
Result<Tlv> ReadTlv(ByteReader& r) {
  auto bad = [] { return Malformed("GCE instance info extension is not valid DER", "cert_malformed"); };
  auto tag = r.U8();
  auto len0 = r.U8();
  if (!tag || !len0) return bad();
  std::size_t len = *len0;
  if (len & 0x80) {
    const std::size_t n = len & 0x7f;
    if (n == 0 || n > 2) return bad();
    len = 0;
    for (std::size_t i = 0; i < n; ++i) {
      auto b = r.U8();
      if (!b) return bad();
      len = (len << 8) | *b;
    }
  }
  auto value = r.Take(len);
  if (!value) return bad();
  return Tlv{*tag, *value};
}
// A non-negative DER INTEGER of at most 8 significant bytes.
Result<std::uint64_t> DerUint(const Tlv& t) {
  if (t.tag != 0x02 || t.value.empty() || t.value.size() > 9 || (t.value[0] & 0x80) != 0 ||
      (t.value.size() == 9 && t.value[0] != 0)) {
    return Malformed("GCE instance info: bad INTEGER", "cert_malformed");
  }
  std::uint64_t v = 0;
  for (std::uint8_t b : t.value) v = (v << 8) | b;
  return v;
}
Result<std::string> DerUtf8(const Tlv& t) {
  if (t.tag != 0x0c || t.value.size() > 256) return Malformed("GCE instance info: bad UTF8String", "cert_malformed");
  return PrintableAscii(std::string(t.value.begin(), t.value.end()), 256);
}

Result<void> AddGceInstanceClaims(X509* leaf, Claims& claims) {
  ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.4.1.11129.2.1.21", 1);
  if (oid == nullptr) return Error(ErrorCode::kInternal, "OBJ_txt2obj");
  const int at = X509_get_ext_by_OBJ(leaf, oid, -1);
  ASN1_OBJECT_free(oid);
  if (at < 0) return {};  // not a GCE AK certificate
  const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(X509_get_ext(leaf, at));
  ByteReader outer(std::span<const std::uint8_t>(ASN1_STRING_get0_data(data),
                                                 static_cast<std::size_t>(ASN1_STRING_length(data))));
  SKR_TRY(Tlv seq, ReadTlv(outer));
  if (seq.tag != 0x30 || outer.remaining() != 0) return Malformed("GCE instance info is not one SEQUENCE", "cert_malformed");
  ByteReader r(seq.value);
  SKR_TRY(Tlv zone, ReadTlv(r));
  SKR_TRY(Tlv project_number, ReadTlv(r));
  SKR_TRY(Tlv project_id, ReadTlv(r));
  SKR_TRY(Tlv instance_id, ReadTlv(r));
  SKR_TRY(Tlv instance_name, ReadTlv(r));
  SKR_TRY(claims["tpm.gce.zone"], DerUtf8(zone));
  SKR_TRY(claims["tpm.gce.project_number"], DerUint(project_number));
  SKR_TRY(claims["tpm.gce.project_id"], DerUtf8(project_id));
  SKR_TRY(claims["tpm.gce.instance_id"], DerUint(instance_id));
  SKR_TRY(claims["tpm.gce.instance_name"], DerUtf8(instance_name));
  if (r.remaining() > 0) {
    SKR_TRY(Tlv props, ReadTlv(r));
    if (props.tag == 0xa0) {
      ByteReader p(props.value);
      SKR_TRY(Tlv inner, ReadTlv(p));
      ByteReader q(inner.value);
      while (inner.tag == 0x30 && q.remaining() > 0) {
        SKR_TRY(Tlv field, ReadTlv(q));
        ByteReader f(field.value);
        SKR_TRY(Tlv v, ReadTlv(f));
        if (field.tag == 0xa0) {
          SKR_TRY(claims["tpm.gce.security_version"], DerUint(v));
        } else if (field.tag == 0xa1 && v.tag == 0x01 && v.value.size() == 1) {
          claims["tpm.gce.is_production"] = v.value[0] != 0;
        }
      }
    }
  }
  return {};
}

}  // namespace

Result<void> CheckAkAttributes(const TPMT_PUBLIC& pub) {
  if (pub.type != TPM2_ALG_RSA && pub.type != TPM2_ALG_ECC) {
    return Error(ErrorCode::kVerificationFailed, "tpm: the AK is neither RSA nor ECC", "tpm_ak_attributes");
  }
  if ((pub.objectAttributes & kAkRequired) != kAkRequired ||
      (pub.objectAttributes & TPMA_OBJECT_DECRYPT) != 0) {
    return Error(ErrorCode::kVerificationFailed,
                 "tpm: the AK is not a restricted signing key generated in its TPM (needs fixedTPM, "
                 "fixedParent, sensitiveDataOrigin, restricted, sign; not decrypt)",
                 "tpm_ak_attributes");
  }
  // Key strength at the TPMT_PUBLIC level (issue 9, item 7): RSA 2048..4096 bits with the default
  // or a sane exponent (Part 2, 12.2.3.5), ECC on NIST P-256 / P-384 (12.2.3.6).
  if (pub.type == TPM2_ALG_RSA) {
    const TPMS_RSA_PARMS& rsa = pub.parameters.rsaDetail;
    const UINT32 e = rsa.exponent;
    if (rsa.keyBits < kMinAkRsaBits || rsa.keyBits > kMaxAkRsaBits ||
        (e != 0 && ((e & 1u) == 0 || e <= 0x10000u))) {
      return Error(ErrorCode::kVerificationFailed,
                   "tpm: the AK is an RSA key below 2048 bits or with a weak exponent",
                   "tpm_ak_weak");
    }
  } else if (pub.parameters.eccDetail.curveID != TPM2_ECC_NIST_P256 &&
             pub.parameters.eccDetail.curveID != TPM2_ECC_NIST_P384) {
    return Error(ErrorCode::kVerificationFailed, "tpm: the AK is not on NIST P-256 or P-384",
                 "tpm_ak_weak");
  }
  return {};
}

Result<PcrValues> ParsePcrsJson(const Json& pcrs) {
  auto bad = [](const std::string& m) { return Malformed("'pcrs' " + m, "tpm_pcrs_malformed"); };
  if (!pcrs.is_object() || pcrs.empty()) return bad("must be an object of banks");
  if (pcrs.size() > kMaxPcrBanks) return bad("has too many banks");
  PcrValues out;
  for (auto bank = pcrs.begin(); bank != pcrs.end(); ++bank) {
    const TPM2_ALG_ID alg = BankAlg(bank.key());
    if (alg == TPM2_ALG_ERROR) return bad("names an unknown bank '" + Clip(bank.key()) + "'");
    if (!bank->is_object() || bank->size() > kMaxPcrIndex + 1) {
      return bad("bank '" + bank.key() + "' must map at most 24 PCR indexes to hex values");
    }
    auto& values = out[bank.key()];
    for (auto pcr = bank->begin(); pcr != bank->end(); ++pcr) {
      const std::string& k = pcr.key();
      unsigned index = 0;
      auto [ptr, ec] = std::from_chars(k.data(), k.data() + k.size(), index);
      if (k.empty() || k.size() > 2 || ec != std::errc() || ptr != k.data() + k.size() ||
          index > kMaxPcrIndex || (k.size() == 2 && k[0] == '0')) {
        return bad("index '" + Clip(k) + "' is not 0..23");
      }
      if (!pcr->is_string() || pcr->get_ref<const std::string&>().size() != 2 * DigestSize(alg)) {
        return bad("value " + bank.key() + ":" + k + " must be hex of the bank's digest size");
      }
      auto v = HexDecode(pcr->get_ref<const std::string&>());
      if (!v) return bad("value " + bank.key() + ":" + k + " is not hex");
      values[index] = std::move(v).value();
    }
  }
  return out;
}

Result<Quote> VerifyQuoteWithAk(const TpmQuoteInput& in, EVP_PKEY* ak, Claims& claims) {
  SKR_TRY(Quote q, Quote::Parse(in.attest));
  SKR_TRY(TPMT_SIGNATURE sig, ParseSignature(in.signature));
  SKR_TRY_VOID(VerifyQuoteSignature(in.attest, sig, ak));
  // Part 3, 18.4: pcrDigest is computed with the hash of the signing scheme.
  SKR_TRY_VOID(VerifyPcrDigest(q, in.pcrs, SignatureHash(sig)));
  AddQuoteClaims(claims, q, in.pcrs);
  SKR_TRY_VOID(AddAkClaims(claims, ak));
  return q;
}

namespace {

// The enrolment a release relied on, from the bytes kept with its replay bundle
// ("tpm_ak_enrolment" = {"id", "tenant", "name"}, "tpm_ak_public" = TPMT_PUBLIC).
Result<EnrolledAk> KeptEnrolment(const std::string& enrolment, const std::string* ak_public) {
  auto doc = ParseJson(enrolment, 4096, 4);
  if (!doc || !doc->is_object() || !(*doc)["id"].is_string() || !(*doc)["tenant"].is_string() ||
      !(*doc)["name"].is_string() || ak_public == nullptr) {
    return Failed("the kept AK enrolment does not parse", "tpm_ak_not_enrolled");
  }
  EnrolledAk ak;
  ak.id = (*doc)["id"].get<std::string>();
  ak.tenant = (*doc)["tenant"].get<std::string>();
  ak.name = (*doc)["name"].get<std::string>();
  ak.ak_public.assign(ak_public->begin(), ak_public->end());
  return ak;
}

}  // namespace

TpmVerifier::TpmVerifier(TpmVerifierOptions options) : options_(std::move(options)) {}

Result<VerifiedEvidence> TpmVerifier::Verify(const Json& evidence) const {
  return VerifyImpl(evidence, nullptr);
}

Result<VerifiedEvidence> TpmVerifier::VerifyRecorded(const Json& evidence,
                                                     const RecordedState& state) const {
  return VerifyImpl(evidence, &state);
}

Result<VerifiedEvidence> TpmVerifier::VerifyImpl(const Json& evidence,
                                                 const RecordedState* state) const {
  // ---- Parse ----
  if (!evidence.is_object()) return Malformed("not an object");
  for (auto it = evidence.begin(); it != evidence.end(); ++it) {
    const auto& k = it.key();
    if (k != "type" && k != "quote" && k != "signature" && k != "pcrs" && k != "ak_cert" &&
        k != "ak_public" && k != "ak_id" && k != "event_log") {
      return Malformed("unknown member '" + Clip(k) + "'");
    }
  }
  const bool has_cert = evidence.contains("ak_cert");
  const bool has_id = evidence.contains("ak_id");
  if (has_cert == has_id) return Malformed("exactly one of 'ak_cert' and 'ak_id' is required");
  TpmQuoteInput in;
  SKR_TRY(in.attest, Base64Member(evidence, "quote", kMaxTpmStructBytes, "tpm_attest_malformed"));
  SKR_TRY(in.signature, Base64Member(evidence, "signature", kMaxTpmStructBytes, "tpm_signature_malformed"));
  auto pcrs = evidence.find("pcrs");
  if (pcrs == evidence.end()) return Malformed("'pcrs' is required");
  SKR_TRY(in.pcrs, ParsePcrsJson(*pcrs));
  std::optional<TPMT_PUBLIC> ak_public;
  std::vector<std::uint8_t> ak_public_bytes;
  if (evidence.contains("ak_public")) {
    SKR_TRY(ak_public_bytes, Base64Member(evidence, "ak_public", kMaxTpmStructBytes, "tpm_public_malformed"));
    SKR_TRY(TPMT_PUBLIC p, ParsePublic(ak_public_bytes));
    ak_public = p;
  }

  // ---- Trust in the AK ----
  AkTrust trust;
  EvpPkeyPtr ak;
  Claims gce_claims;
  if (has_cert) {
    const Json& c = evidence.at("ak_cert");
    if (!c.is_string() || c.get_ref<const std::string&>().size() > kMaxAkCertPemBytes) {
      return Malformed("'ak_cert' must be PEM or base64 DER of at most 32 KiB");
    }
    const auto& text = c.get_ref<const std::string&>();
    std::vector<X509Ptr> certs;
    if (text.find("-----BEGIN") != std::string::npos) {
      SKR_TRY(certs, ParseCertificatesPem(text));
    } else {
      SKR_TRY(X509Ptr one, ParseCertificateAny(text));
      certs.push_back(std::move(one));
    }
    std::vector<X509*> intermediates, anchors;
    for (std::size_t i = 1; i < certs.size(); ++i) intermediates.push_back(certs[i].get());
    X509Ptr kept_ca;  // replay: the CA the release's chain ended at, as kept
    if (const std::string* ca = state != nullptr ? state->Find("tpm_ak_ca") : nullptr) {
      auto parsed = ParseCertificateDer(AsBytes(*ca));
      if (!parsed) return Malformed("the kept AK certificate authority does not parse", "cert_malformed");
      kept_ca = std::move(parsed).value();
      anchors.push_back(kept_ca.get());
    } else {
      for (const auto& a : options_.ak_anchors) anchors.push_back(a.get());
    }
    if (anchors.empty()) {
      return Failed("no AK certificate authority is configured ([attestation.tpm] ak_roots)",
                    "cert_chain_untrusted");
    }
    const std::int64_t now = state != nullptr ? state->time : options_.clock->NowUnix();
    SKR_TRY(std::size_t anchor, VerifyChainToAnchors(certs[0].get(), intermediates, anchors, now));
    // Issue 9, item 7: the leaf is an AK certificate (end entity, digitalSignature) for a key of
    // acceptable strength, whether or not the client also sends the TPMT_PUBLIC.
    SKR_TRY_VOID(CheckAkCertificateProfile(certs[0].get()));
    EVP_PKEY* cert_key = X509_get0_pubkey(certs[0].get());
    if (cert_key == nullptr) return Malformed("AK certificate key does not decode", "cert_malformed");
    SKR_TRY_VOID(CheckAkKeyStrength(cert_key, "tpm_ak_weak"));
    if (ak_public) {
      SKR_TRY_VOID(CheckAkAttributes(*ak_public));
      SKR_TRY(EvpPkeyPtr from_public, AkFromTpmtPublic(*ak_public));
      if (EVP_PKEY_eq(from_public.get(), cert_key) != 1) {
        return Failed("'ak_public' is not the key of the AK certificate", "tpm_ak_mismatch");
      }
    }
    EVP_PKEY_up_ref(cert_key);
    ak.reset(cert_key);
    trust.trust = "certificate";
    const auto ca = CertificateSha256(anchors[anchor]);
    const auto leaf = CertificateSha256(certs[0].get());
    trust.ca_sha256.assign(ca.begin(), ca.end());
    trust.cert_sha256.assign(leaf.begin(), leaf.end());
    SKR_TRY(trust.ca_der, CertificateDer(anchors[anchor]));
    SKR_TRY_VOID(AddGceInstanceClaims(certs[0].get(), gce_claims));
  } else {
    const Json& id = evidence.at("ak_id");
    if (!id.is_string() || id.get_ref<const std::string&>().empty() ||
        id.get_ref<const std::string&>().size() > 64) {
      return Malformed("'ak_id' must be an enrolment id string");
    }
    const std::string* kept = state != nullptr ? state->Find("tpm_ak_enrolment") : nullptr;
    if (kept == nullptr && options_.enrolled == nullptr) {
      return Failed("AK enrolment is not available here", "tpm_ak_not_enrolled");
    }
    // Replay: the enrolment the release relied on, as kept (it may be deleted since).
    auto found = kept != nullptr ? KeptEnrolment(*kept, state->Find("tpm_ak_public"))
                                 : options_.enrolled->FindActiveAk(id.get_ref<const std::string&>());
    if (found && found->id != id.get_ref<const std::string&>()) {
      return Failed("the kept enrolment is not AK '" + Clip(id.get_ref<const std::string&>()) + "'",
                    "tpm_ak_not_enrolled");
    }
    if (!found) {
      if (found.error().code() == ErrorCode::kNotFound) {
        return Failed("no enrolled AK has id '" + Clip(id.get_ref<const std::string&>()) + "'",
                      "tpm_ak_not_enrolled");
      }
      return found.error();
    }
    trust.trust = "enrolled";
    trust.enrolled = std::move(found).value();
    if (ak_public && ak_public_bytes != trust.enrolled.ak_public) {
      return Failed("'ak_public' is not the enrolled AK", "tpm_ak_mismatch");
    }
    SKR_TRY(TPMT_PUBLIC stored, ParsePublic(trust.enrolled.ak_public));
    // Checked at enrolment too; cheap to re-check against a tampered row.
    SKR_TRY_VOID(CheckAkAttributes(stored));
    SKR_TRY(ak, AkFromTpmtPublic(stored));
  }

  // ---- The quote ----
  VerifiedEvidence out;
  out.type = "tpm";
  SKR_TRY(Quote q, VerifyQuoteWithAk(in, ak.get(), out.claims));
  if (trust.trust == "certificate" && !ak_public) {
    // No TPMT_PUBLIC to read restricted / sign from: derive them from the quote's qualifiedSigner
    // and the certified key (ak_checks.h says what this does and does not prove).
    SKR_TRY(TPMT_SIGNATURE sig, ParseSignature(in.signature));
    SKR_TRY_VOID(CheckCertifiedAkTemplate(q, sig, ak.get()));
  }
  // Optional measured-boot log: replayed against the quoted (now verified) PCR values.
  if (evidence.contains("event_log")) {
    SKR_TRY(std::vector<std::uint8_t> log, Base64Member(evidence, "event_log", kMaxEventLogBytes,
                                                        "tpm_event_log_malformed"));
    SKR_TRY(EventLogReplay replay, ReplayEventLog(log));
    SKR_TRY_VOID(CheckEventLog(replay, in.pcrs, out.claims));
  }

  // ---- Claims ----
  out.claims["tpm.ak.trust"] = trust.trust;
  if (trust.trust == "certificate") {
    out.claims.merge(gce_claims);
    out.claims["tpm.ak.ca_sha256"] = HexEncode(trust.ca_sha256);
    out.claims["tpm.ak.cert_sha256"] = HexEncode(trust.cert_sha256);
    out.collateral = Json{{"tpm_ak_trust", "certificate"},
                          {"tpm_ak_ca_sha256", HexEncode(trust.ca_sha256)},
                          {"tpm_ak_cert_sha256", HexEncode(trust.cert_sha256)}};
    out.collateral_bytes.emplace_back("tpm_ak_ca",
                                      std::string(trust.ca_der.begin(), trust.ca_der.end()));
  } else {
    out.claims["tpm.ak.id"] = trust.enrolled.id;
    out.claims["tpm.ak.tenant"] = trust.enrolled.tenant;
    out.claims["tpm.ak.name"] = trust.enrolled.name;
    // The enrolled AK the quote was verified with (an audit replay compares it).
    out.collateral = Json{{"tpm_ak_trust", "enrolled"},
                          {"tpm_ak_id", trust.enrolled.id},
                          {"tpm_ak_public_sha256", HexEncode(Sha256(trust.enrolled.ak_public))}};
    out.collateral_bytes.emplace_back(
        "tpm_ak_enrolment", Json{{"id", trust.enrolled.id},
                                 {"tenant", trust.enrolled.tenant},
                                 {"name", trust.enrolled.name}}.dump());
    out.collateral_bytes.emplace_back(
        "tpm_ak_public",
        std::string(trust.enrolled.ak_public.begin(), trust.enrolled.ak_public.end()));
  }
  out.claims["tee"] = "tpm";
  // No `debug` claim: a TPM has no debug mode, so a policy `debug equals false` must not hold for
  // `tpm` evidence by accident (DESIGN.md section 3; issue 9, item 4).
  out.claims["report_data"] = HexEncode(q.extra_data);
  out.binding_form = BindingForm::kExact48;
  out.bound_data = q.extra_data;
  return out;
}

}  // namespace skr::attestation::tpm
