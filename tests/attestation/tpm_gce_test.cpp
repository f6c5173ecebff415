// SPDX-License-Identifier: Apache-2.0
// The `tpm` evidence type (attestation/tpm/tpm_verifier.h) on the two real Google Cloud Shielded
// VM attestations in ../shared/testdata/tpm/gce (PROVENANCE.md; expected values from
// verify/verify_azure_tpm.py), the enrolled-AK path with a fake directory, the AK attribute and
// name helpers, and KDFa / MakeCredential (attestation/tpm/credential.h) checked against an
// independent computation.
//
// The .pb files are go-tpm-tools `attest.Attestation` protobufs: field 1 ak_pub (TPMT_PUBLIC),
// field 2 repeated Quote {1 quote (TPMS_ATTEST), 2 raw_sig (TPMT_SIGNATURE), 3 pcrs (PCRs {1 hash
// (TPM_ALG_ID), 2 map<uint32, bytes> pcrs})}, field 6 ak_cert (DER). They are read with the small
// wire-format reader below (https://protobuf.dev/programming-guides/encoding/).
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "attestation/tpm/credential.h"
#include "attestation/tpm/quote.h"
#include "attestation/tpm/event_log.h"
#include "attestation/tpm/tpm_verifier.h"
#include "common/clock.h"
#include "common/encoding.h"
#include "common/ossl.h"
#include "common/x509.h"
#include "tests/support/claim_catalogue_check.h"
#include "tests/support/test_support.h"
#include "tests/support/tpm_test_evidence.h"

using skr::ErrorCode;
using skr::Json;
using skr::test::CodeOf;
using skr::test::ReasonOf;
namespace tpm = skr::attestation::tpm;
using Bytes = std::vector<std::uint8_t>;

namespace {

// ---- Protobuf wire format, bounds-checked --------------------------------------------------

constexpr std::uint8_t kWireVarint = 0;
constexpr std::uint8_t kWireI64 = 1;
constexpr std::uint8_t kWireLen = 2;
constexpr std::uint8_t kWireI32 = 5;

struct PbField {
  std::uint64_t number = 0;
  std::uint8_t wire = 0;
  std::uint64_t varint = 0;  // kWireVarint
  Bytes bytes;               // kWireLen, kWireI64, kWireI32
};

class PbReader {
 public:
  explicit PbReader(std::span<const std::uint8_t> in) : in_(in) {}
  bool done() const { return pos_ == in_.size(); }

  // The next field; nullopt on truncation, an over-long varint, field number 0 or a wire type
  // other than VARINT, I64, LEN and I32 (groups are not used by go-tpm-tools).
  std::optional<PbField> Next() {
    auto key = Varint();
    if (!key) return std::nullopt;
    PbField f;
    f.number = *key >> 3;
    f.wire = static_cast<std::uint8_t>(*key & 7);
    if (f.number == 0 || f.number > 0x1FFFFFFF) return std::nullopt;
    std::optional<std::span<const std::uint8_t>> body;
    switch (f.wire) {
      case kWireVarint: {
        auto v = Varint();
        if (!v) return std::nullopt;
        f.varint = *v;
        return f;
      }
      case kWireI64:
        body = Take(8);
        break;
      case kWireI32:
        body = Take(4);
        break;
      case kWireLen: {
        auto n = Varint();
        if (!n) return std::nullopt;
        body = Take(*n);
        break;
      }
      default:
        return std::nullopt;
    }
    if (!body) return std::nullopt;
    f.bytes.assign(body->begin(), body->end());
    return f;
  }

 private:
  std::size_t remaining() const { return in_.size() - pos_; }

  // Base-128, least significant group first, at most 10 bytes for 64 bits.
  std::optional<std::uint64_t> Varint() {
    std::uint64_t v = 0;
    for (unsigned i = 0; i < 10; ++i) {
      if (remaining() == 0) return std::nullopt;
      const std::uint8_t b = in_[pos_++];
      if (i == 9 && b > 1) return std::nullopt;  // would overflow 64 bits
      v |= static_cast<std::uint64_t>(b & 0x7F) << (7 * i);
      if ((b & 0x80) == 0) return v;
    }
    return std::nullopt;
  }

  std::optional<std::span<const std::uint8_t>> Take(std::uint64_t n) {
    if (n > remaining()) return std::nullopt;  // never pos_ + n
    auto out = in_.subspan(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return out;
  }

  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
};

// Every field of a message, or nullopt when any is malformed.
std::optional<std::vector<PbField>> ParsePb(std::span<const std::uint8_t> msg) {
  PbReader r(msg);
  std::vector<PbField> out;
  while (!r.done()) {
    auto f = r.Next();
    if (!f) return std::nullopt;
    out.push_back(std::move(*f));
  }
  return out;
}

struct GceQuote {
  Bytes quote;      // TPMS_ATTEST
  Bytes signature;  // TPMT_SIGNATURE
  TPM2_ALG_ID hash = TPM2_ALG_ERROR;
  std::map<unsigned, Bytes> pcrs;
  std::string bank() const { return tpm::BankName(hash); }
};

struct GceAttestation {
  Bytes ak_pub;   // TPMT_PUBLIC
  Bytes ak_cert;  // DER
  Bytes event_log;  // TCG crypto-agile measured-boot log (field 3)
  std::vector<GceQuote> quotes;
};

std::optional<GceQuote> ParseGceQuote(std::span<const std::uint8_t> msg) {
  auto fields = ParsePb(msg);
  if (!fields) return std::nullopt;
  GceQuote q;
  for (const auto& f : *fields) {
    if (f.number == 1 && f.wire == kWireLen) q.quote = f.bytes;
    if (f.number == 2 && f.wire == kWireLen) q.signature = f.bytes;
    if (f.number != 3 || f.wire != kWireLen) continue;
    auto pcrs = ParsePb(f.bytes);
    if (!pcrs) return std::nullopt;
    for (const auto& p : *pcrs) {
      if (p.number == 1 && p.wire == kWireVarint) {
        if (p.varint > 0xFFFF) return std::nullopt;
        q.hash = static_cast<TPM2_ALG_ID>(p.varint);
      }
      if (p.number != 2 || p.wire != kWireLen) continue;
      auto entry = ParsePb(p.bytes);
      if (!entry) return std::nullopt;
      std::uint64_t key = 0;  // proto3 leaves a default (0) key out of the map entry
      Bytes value;
      for (const auto& e : *entry) {
        if (e.number == 1 && e.wire == kWireVarint) key = e.varint;
        if (e.number == 2 && e.wire == kWireLen) value = e.bytes;
      }
      if (key > 23) return std::nullopt;
      q.pcrs[static_cast<unsigned>(key)] = value;
    }
  }
  if (q.quote.empty() || q.signature.empty()) return std::nullopt;
  return q;
}

std::optional<GceAttestation> ParseGce(std::span<const std::uint8_t> msg) {
  auto fields = ParsePb(msg);
  if (!fields) return std::nullopt;
  GceAttestation a;
  for (const auto& f : *fields) {
    if (f.wire != kWireLen) continue;
    if (f.number == 1) a.ak_pub = f.bytes;
    if (f.number == 6) a.ak_cert = f.bytes;
    if (f.number == 3) a.event_log = f.bytes;
    if (f.number == 2) {
      auto q = ParseGceQuote(f.bytes);
      if (!q) return std::nullopt;
      a.quotes.push_back(std::move(*q));
    }
  }
  return a;
}

// ---- Test data -----------------------------------------------------------------------------

constexpr std::int64_t k2025_06_01 = 1748736000;  // 2025-06-01T00:00:00Z
constexpr std::uint64_t kGceFirmware = 0x2016051100162800ULL;
constexpr const char* kGcePcr0Sha256 =
    "0f35c214608d93c7a6e68ae7359b4a8be5a0e99eea9107ece427c4dea4e439cf";
// SHA-256 of google_tpm_ek_intermediate_2.crt (DER).
constexpr const char* kGoogleCaSha256 =
    "5d8dbcf8c8053dd8ffad711b6219355032b7122c34cac0f90ccb49def69ec504";

Bytes ReadBytes(const std::filesystem::path& p) {
  const std::string s = skr::test::ReadFileOrFail(p);
  return Bytes(s.begin(), s.end());
}

Bytes Hex(const std::string& h) { return skr::HexDecode(h).value(); }

GceAttestation LoadGce(const std::filesystem::path& dir, const std::string& file) {
  const Bytes pb = ReadBytes(dir / "tpm" / "gce" / file);
  auto a = ParseGce(pb);
  REQUIRE(a.has_value());
  REQUIRE(!a->ak_pub.empty());
  REQUIRE(!a->ak_cert.empty());
  REQUIRE(a->quotes.size() == 3);
  return std::move(*a);
}

skr::X509Ptr GoogleCa(const std::filesystem::path& dir) {
  auto ca =
      skr::ParseCertificateDer(ReadBytes(dir / "tpm" / "gce" / "google_tpm_ek_intermediate_2.crt"));
  REQUIRE(ca.has_value());
  return std::move(ca).value();
}

Json PcrsJson(const std::string& bank, const std::map<unsigned, Bytes>& pcrs) {
  Json values = Json::object();
  for (const auto& [i, v] : pcrs) values[std::to_string(i)] = skr::HexEncode(v);
  Json out = Json::object();
  out[bank] = values;
  return out;
}

// The `tpm` evidence of one quote, with the AK certificate (base64 DER) and TPMT_PUBLIC.
Json Evidence(const GceAttestation& a, const GceQuote& q) {
  return Json{{"type", "tpm"},
              {"quote", skr::Base64Encode(q.quote)},
              {"signature", skr::Base64Encode(q.signature)},
              {"pcrs", PcrsJson(q.bank(), q.pcrs)},
              {"ak_cert", skr::Base64Encode(a.ak_cert)},
              {"ak_public", skr::Base64Encode(a.ak_pub)}};
}

tpm::TpmVerifier MakeVerifier(const skr::Clock& clock, std::vector<skr::X509Ptr> anchors,
                              const tpm::AkDirectory* enrolled = nullptr) {
  tpm::TpmVerifierOptions o;
  o.ak_anchors = std::move(anchors);
  o.clock = &clock;
  o.enrolled = enrolled;
  return tpm::TpmVerifier(std::move(o));
}

std::vector<skr::X509Ptr> One(skr::X509Ptr c) {
  std::vector<skr::X509Ptr> v;
  v.push_back(std::move(c));
  return v;
}

// The GCE AK's TPMT_PUBLIC, parsed.
TPMT_PUBLIC GcePublic(const GceAttestation& a) {
  auto p = tpm::ParsePublic(a.ak_pub);
  REQUIRE(p.has_value());
  return *p;
}

Bytes Marshal(const TPMT_PUBLIC& p) {
  auto b = tpm::MarshalPublic(p);
  REQUIRE(b.has_value());
  return *b;
}

std::string Pem(const Bytes& der, const char* label = "CERTIFICATE") {
  std::string b64 = skr::Base64Encode(der);
  std::string out = std::string("-----BEGIN ") + label + "-----\n";
  for (std::size_t i = 0; i < b64.size(); i += 64) out += b64.substr(i, 64) + "\n";
  return out + "-----END " + label + "-----\n";
}

class FakeAkDirectory final : public tpm::AkDirectory {
 public:
  std::map<std::string, tpm::EnrolledAk, std::less<>> aks;
  std::optional<skr::Error> fail;
  mutable int lookups = 0;

  skr::Result<tpm::EnrolledAk> FindActiveAk(std::string_view id) const override {
    ++lookups;
    if (fail) return *fail;
    auto it = aks.find(id);
    if (it == aks.end()) return skr::Error(ErrorCode::kNotFound, "no such AK");
    return it->second;
  }
};

// Reasons a mutated quote may be refused with, by its ErrorCode.
bool RefusedQuote(const skr::Result<skr::attestation::VerifiedEvidence>& r) {
  if (r.has_value()) return false;
  const std::string reason = r.error().reason();
  if (r.error().code() == ErrorCode::kVerificationFailed) return reason == "tpm_signature_invalid";
  if (r.error().code() == ErrorCode::kMalformedEvidence) {
    return reason == "tpm_attest_malformed" || reason == "tpm_attest_type";
  }
  return false;
}

}  // namespace

// ---- The protobuf reader itself --------------------------------------------------------------

TEST_CASE("GCE test reader: protobuf wire format is bounds-checked", "[attestation][tpm][unit]") {
  SECTION("well-formed fields") {
    // 1: varint 300; 2: LEN "ab"; 3: I32; 4: I64
    const Bytes msg = {0x08, 0xAC, 0x02, 0x12, 0x02, 'a', 'b', 0x1D, 1, 2, 3,
                       4,    0x21, 1,    2,    3,    4,   5,   6,    7, 8};
    auto f = ParsePb(msg);
    REQUIRE(f.has_value());
    REQUIRE(f->size() == 4);
    CHECK((*f)[0].varint == 300);
    CHECK((*f)[1].bytes == Bytes{'a', 'b'});
    CHECK((*f)[2].bytes.size() == 4);
    CHECK((*f)[3].bytes.size() == 8);
  }
  SECTION("truncation anywhere is rejected") {
    const Bytes msg = {0x08, 0xAC, 0x02, 0x12, 0x02, 'a', 'b', 0x1D, 1, 2, 3, 4};
    for (std::size_t n = 1; n < msg.size(); ++n) {
      if (n == 3 || n == 7) continue;  // field boundaries: a shorter valid message
      INFO("length " << n);
      CHECK_FALSE(ParsePb(std::span<const std::uint8_t>(msg.data(), n)).has_value());
    }
  }
  SECTION("a length beyond the end, an over-long varint, field 0, groups") {
    CHECK_FALSE(ParsePb(Bytes{0x12, 0x05, 'a'}).has_value());
    CHECK_FALSE(ParsePb(Bytes{0x12, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01})
                    .has_value());
    CHECK_FALSE(
        ParsePb(Bytes{0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})
            .has_value());
    CHECK_FALSE(ParsePb(Bytes{0x00, 0x01}).has_value());
    CHECK_FALSE(ParsePb(Bytes{0x0B, 0x0C}).has_value());
  }
}

// ---- Real GCE attestations through TpmVerifier --------------------------------------------

TEST_CASE("TpmVerifier: real GCE vTPM quotes verify through the Google AK CA",
          "[attestation][tpm][gce]") {
  SKR_REQUIRE_TESTDATA(dir);
  const std::string file = GENERATE(as<std::string>{}, "gce_cos85_attestation_nonce9009.pb",
                                    "gce_cos85_attestation_nononce.pb");
  const bool with_nonce = file.find("nonce9009") != std::string::npos;
  const GceAttestation a = LoadGce(dir, file);
  skr::FakeClock clock(k2025_06_01);
  const auto verifier = MakeVerifier(clock, One(GoogleCa(dir)));
  CHECK(verifier.type() == "tpm");

  std::vector<std::string> banks;
  for (const auto& q : a.quotes) {
    INFO(file << " bank " << q.bank());
    banks.push_back(q.bank());
    CHECK(q.pcrs.size() == 24);
    auto r = verifier.Verify(Evidence(a, q));
    INFO((r.has_value() ? std::string() : r.error().message()));
    REQUIRE(r.has_value());
    const auto& c = r->claims;
    skr::test::CheckClaimsCatalogued(c, "tpm");
    CHECK(r->type == "tpm");
    CHECK(c.at("tpm.firmware_version").get<std::uint64_t>() == kGceFirmware);
    CHECK(c.at("tpm.extra_data") == (with_nonce ? "9009" : ""));
    CHECK(c.at("report_data") == (with_nonce ? "9009" : ""));
    CHECK(r->binding_form == skr::attestation::BindingForm::kExact48);
    CHECK(r->bound_data == (with_nonce ? Bytes{0x90, 0x09} : Bytes{}));
    CHECK(c.at("tpm.ak.trust") == "certificate");
    CHECK(c.at("tpm.ak.ca_sha256") == kGoogleCaSha256);
    const auto leaf_sha = skr::Sha256(a.ak_cert);
    CHECK(c.at("tpm.ak.cert_sha256") == skr::HexEncode(leaf_sha));
    CHECK(c.at("tpm.ak.type") == "rsa");
    CHECK(c.at("tpm.ak.bits") == 2048);
    CHECK(c.at("tee") == "tpm");
    // A TPM has no debug mode: no `debug` claim, so `debug equals false` cannot hold by accident.
    CHECK(c.count("debug") == 0);
    // Without ak_public the AK's restricted + sign attributes come from the quote's
    // qualifiedSigner: the QN of GCE's AK template as an endorsement-hierarchy primary
    // (attestation/tpm/ak_checks.h).
    Json no_public = Evidence(a, q);
    no_public.erase("ak_public");
    auto r2 = verifier.Verify(no_public);
    INFO((r2.has_value() ? std::string() : r2.error().message()));
    CHECK(r2.has_value());
    // Every selected PCR of the quote's bank is a claim, with the supplied value.
    for (const auto& [i, v] : q.pcrs) {
      const std::string key = "tpm.pcr." + q.bank() + "." + std::to_string(i);
      REQUIRE(c.count(key) == 1);
      CHECK(c.at(key) == skr::HexEncode(v));
    }
    if (q.bank() == "sha256") CHECK(c.at("tpm.pcr.sha256.0") == kGcePcr0Sha256);
    CHECK(c.count("tpm.ak.id") == 0);
    // The instance identity from the AK certificate's Google extension (1.3.6.1.4.1.11129.2.1.21).
    CHECK(c.at("tpm.gce.zone") == "us-central1-a");
    CHECK(c.at("tpm.gce.project_id") == "google.com:wuale-gcp-testing");
    CHECK(c.at("tpm.gce.project_number") == 117478743145ULL);
    CHECK(c.at("tpm.gce.instance_id") == 6797026933021542085ULL);
    CHECK(c.at("tpm.gce.instance_name") == "cos-test");
    CHECK(c.at("tpm.gce.security_version") == 0);
    CHECK(c.at("tpm.gce.is_production") == true);
  }
  CHECK(banks == std::vector<std::string>{"sha1", "sha256", "sha384"});
}

TEST_CASE("TpmVerifier: GCE AK certificate as PEM, with and without the intermediate",
          "[attestation][tpm][gce]") {
  SKR_REQUIRE_TESTDATA(dir);
  const GceAttestation a = LoadGce(dir, "gce_cos85_attestation_nonce9009.pb");
  const Bytes ca_der = ReadBytes(dir / "tpm" / "gce" / "google_tpm_ek_intermediate_2.crt");
  skr::FakeClock clock(k2025_06_01);
  Json ev = Evidence(a, a.quotes[1]);
  SECTION("leaf PEM, anchor configured") {
    ev["ak_cert"] = Pem(a.ak_cert);
    CHECK(MakeVerifier(clock, One(GoogleCa(dir))).Verify(ev).has_value());
  }
  SECTION("leaf + intermediate PEM, intermediate as anchor") {
    ev["ak_cert"] = Pem(a.ak_cert) + Pem(ca_der);
    auto r = MakeVerifier(clock, One(GoogleCa(dir))).Verify(ev);
    REQUIRE(r.has_value());
    CHECK(r->claims.at("tpm.ak.ca_sha256") == kGoogleCaSha256);
  }
  SECTION("without ak_public the certificate alone names the AK") {
    ev.erase("ak_public");
    CHECK(MakeVerifier(clock, One(GoogleCa(dir))).Verify(ev).has_value());
  }
  SECTION("an intermediate sent by the client is not an anchor") {
    ev["ak_cert"] = Pem(a.ak_cert) + Pem(ca_der);
    auto r = MakeVerifier(clock, {}).Verify(ev);
    CHECK(ReasonOf(r) == "cert_chain_untrusted");
  }
}

TEST_CASE("TpmVerifier: GCE AK certificate trust failures", "[attestation][tpm][gce]") {
  SKR_REQUIRE_TESTDATA(dir);
  const GceAttestation a = LoadGce(dir, "gce_cos85_attestation_nonce9009.pb");
  skr::FakeClock clock(k2025_06_01);
  const Json ev = Evidence(a, a.quotes[1]);
  SECTION("no anchors configured") {
    auto r = MakeVerifier(clock, {}).Verify(ev);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "cert_chain_untrusted");
  }
  SECTION("an unrelated anchor (AMD ARK/ASK Milan)") {
    auto amd = skr::ParseCertificatesPem(
        skr::test::ReadFileOrFail(dir / "snp" / "certs" / "ask_ark_milan.pem"));
    REQUIRE(amd.has_value());
    auto r = MakeVerifier(clock, std::move(amd).value()).Verify(ev);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "cert_chain_untrusted");
  }
  SECTION("the AK certificate itself as the anchor") {
    auto leaf = skr::ParseCertificateDer(a.ak_cert);
    REQUIRE(leaf.has_value());
    auto r = MakeVerifier(clock, One(std::move(leaf).value())).Verify(ev);
    CHECK(ReasonOf(r) == "cert_chain_untrusted");
  }
  SECTION("after the AK certificate expired (2051-08-24)") {
    clock.Set(2'577'000'000);  // 2051-08-30
    auto r = MakeVerifier(clock, One(GoogleCa(dir))).Verify(ev);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "cert_expired");
  }
  SECTION("before the AK certificate was issued (2021-08-31)") {
    clock.Set(1'609'459'200);  // 2021-01-01
    auto r = MakeVerifier(clock, One(GoogleCa(dir))).Verify(ev);
    CHECK(ReasonOf(r) == "cert_not_yet_valid");
  }
  SECTION("ak_cert that is no certificate") {
    Json bad = ev;
    bad["ak_cert"] = skr::Base64Encode(Bytes{1, 2, 3});
    auto r = MakeVerifier(clock, One(GoogleCa(dir))).Verify(bad);
    CHECK(CodeOf(r) == ErrorCode::kMalformedEvidence);
    CHECK(ReasonOf(r) == "cert_malformed");
    bad["ak_cert"] = 7;
    CHECK(CodeOf(MakeVerifier(clock, One(GoogleCa(dir))).Verify(bad)) ==
          ErrorCode::kMalformedEvidence);
    bad["ak_cert"] = std::string(skr::attestation::tpm::kMaxAkCertPemBytes + 1, 'A');
    CHECK(CodeOf(MakeVerifier(clock, One(GoogleCa(dir))).Verify(bad)) ==
          ErrorCode::kMalformedEvidence);
  }
}

TEST_CASE("TpmVerifier: every flipped GCE quote byte is refused", "[attestation][tpm][gce]") {
  SKR_REQUIRE_TESTDATA(dir);
  const GceAttestation a = LoadGce(dir, "gce_cos85_attestation_nonce9009.pb");
  skr::FakeClock clock(k2025_06_01);
  const auto verifier = MakeVerifier(clock, One(GoogleCa(dir)));
  const GceQuote& q = a.quotes[1];
  for (std::size_t i = 0; i < q.quote.size(); ++i) {
    GceQuote m = q;
    m.quote[i] ^= 0x01;
    auto r = verifier.Verify(Evidence(a, m));
    INFO("offset " << i << ": " << (r.has_value() ? "accepted" : r.error().reason()));
    CHECK(RefusedQuote(r));
  }
}

TEST_CASE("TpmVerifier: malformed GCE quote and signature members", "[attestation][tpm][gce]") {
  SKR_REQUIRE_TESTDATA(dir);
  const GceAttestation a = LoadGce(dir, "gce_cos85_attestation_nonce9009.pb");
  skr::FakeClock clock(k2025_06_01);
  const auto verifier = MakeVerifier(clock, One(GoogleCa(dir)));
  const GceQuote& q = a.quotes[1];
  auto with_quote = [&](const Bytes& quote) {
    Json ev = Evidence(a, q);
    ev["quote"] = skr::Base64Encode(quote);
    return verifier.Verify(ev);
  };
  auto expect_attest_malformed = [](const skr::Result<skr::attestation::VerifiedEvidence>& r) {
    CHECK(CodeOf(r) == ErrorCode::kMalformedEvidence);
    CHECK(ReasonOf(r) == "tpm_attest_malformed");
  };
  SECTION("truncated by one byte, and to every shorter length") {
    expect_attest_malformed(with_quote(Bytes(q.quote.begin(), q.quote.end() - 1)));
    for (std::size_t n = 1; n < q.quote.size(); n += 7) {
      INFO("length " << n);
      expect_attest_malformed(
          with_quote(Bytes(q.quote.begin(), q.quote.begin() + static_cast<long>(n))));
    }
  }
  SECTION("a trailing byte") {
    Bytes longer = q.quote;
    longer.push_back(0);
    expect_attest_malformed(with_quote(longer));
  }
  SECTION("larger than 4 KiB") {
    Bytes big = q.quote;
    big.resize(tpm::kMaxTpmStructBytes + 1, 0);
    expect_attest_malformed(with_quote(big));
    big.resize(64 * 1024, 0);
    expect_attest_malformed(with_quote(big));
  }
  SECTION("empty or not base64") {
    Json ev = Evidence(a, q);
    ev["quote"] = "";
    expect_attest_malformed(verifier.Verify(ev));
    ev["quote"] = "!!not base64!!";
    expect_attest_malformed(verifier.Verify(ev));
    ev["quote"] = 5;
    CHECK(CodeOf(verifier.Verify(ev)) == ErrorCode::kMalformedEvidence);
  }
  SECTION("signature of another quote") {
    Json ev = Evidence(a, q);
    ev["signature"] = skr::Base64Encode(a.quotes[2].signature);
    auto r = verifier.Verify(ev);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "tpm_signature_invalid");
  }
  SECTION("signature with a flipped bit") {
    GceQuote m = q;
    m.signature.back() ^= 0x80;
    auto r = verifier.Verify(Evidence(a, m));
    CHECK(ReasonOf(r) == "tpm_signature_invalid");
  }
  SECTION("signature truncated or with a trailing byte") {
    GceQuote m = q;
    m.signature.pop_back();
    auto r = verifier.Verify(Evidence(a, m));
    CHECK(CodeOf(r) == ErrorCode::kMalformedEvidence);
    CHECK(ReasonOf(r) == "tpm_signature_malformed");
    m.signature = q.signature;
    m.signature.push_back(0);
    CHECK(ReasonOf(verifier.Verify(Evidence(a, m))) == "tpm_signature_malformed");
  }
  SECTION("signature missing") {
    Json ev = Evidence(a, q);
    ev.erase("signature");
    CHECK(CodeOf(verifier.Verify(ev)) == ErrorCode::kMalformedEvidence);
  }
}

TEST_CASE("TpmVerifier: GCE PCR values must match the quote's selection and digest",
          "[attestation][tpm][gce]") {
  SKR_REQUIRE_TESTDATA(dir);
  const GceAttestation a = LoadGce(dir, "gce_cos85_attestation_nononce.pb");
  skr::FakeClock clock(k2025_06_01);
  const auto verifier = MakeVerifier(clock, One(GoogleCa(dir)));
  for (const auto& q : a.quotes) {
    INFO("bank " << q.bank());
    SECTION("a changed PCR value, bank " + q.bank()) {
      for (unsigned index : {0u, 7u, 23u}) {
        INFO("PCR " << index);
        GceQuote m = q;
        m.pcrs[index][0] ^= 0x01;
        auto r = verifier.Verify(Evidence(a, m));
        CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
        CHECK(ReasonOf(r) == "tpm_pcr_mismatch");
      }
    }
    SECTION("a selected PCR left out, bank " + q.bank()) {
      GceQuote m = q;
      m.pcrs.erase(7);
      auto r = verifier.Verify(Evidence(a, m));
      CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
      CHECK(ReasonOf(r) == "tpm_pcr_missing");
    }
    SECTION("the PCRs under another bank name, bank " + q.bank()) {
      // Every index 0..23 is selected, so an unselected value can only be in another bank.
      Json ev = Evidence(a, q);
      const std::string other = q.bank() == "sha256" ? "sha1" : "sha256";
      const std::size_t size = tpm::DigestSize(tpm::BankAlg(other));
      ev["pcrs"][other] = Json{{"0", std::string(2 * size, 'a')}};
      auto r = verifier.Verify(ev);
      CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
      CHECK(ReasonOf(r) == "tpm_pcr_mismatch");
    }
    SECTION("no PCRs at all, bank " + q.bank()) {
      Json ev = Evidence(a, q);
      ev["pcrs"] = Json::object();
      auto r = verifier.Verify(ev);
      CHECK(CodeOf(r) == ErrorCode::kMalformedEvidence);
      CHECK(ReasonOf(r) == "tpm_pcrs_malformed");
    }
  }
}

TEST_CASE("TpmVerifier: ak_public must be the certified AK and an AK", "[attestation][tpm][gce]") {
  SKR_REQUIRE_TESTDATA(dir);
  const GceAttestation a = LoadGce(dir, "gce_cos85_attestation_nonce9009.pb");
  skr::FakeClock clock(k2025_06_01);
  const auto verifier = MakeVerifier(clock, One(GoogleCa(dir)));
  Json ev = Evidence(a, a.quotes[1]);
  TPMT_PUBLIC pub = GcePublic(a);
  SECTION("another key") {
    pub.unique.rsa.buffer[17] ^= 0x01;
    ev["ak_public"] = skr::Base64Encode(Marshal(pub));
    auto r = verifier.Verify(ev);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "tpm_ak_mismatch");
  }
  SECTION("the same key, claimed as a decryption key") {
    pub.objectAttributes |= TPMA_OBJECT_DECRYPT;
    ev["ak_public"] = skr::Base64Encode(Marshal(pub));
    auto r = verifier.Verify(ev);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "tpm_ak_attributes");
  }
  SECTION("not a TPMT_PUBLIC") {
    ev["ak_public"] = skr::Base64Encode(Bytes{0x00, 0x01, 0x02});
    auto r = verifier.Verify(ev);
    CHECK(CodeOf(r) == ErrorCode::kMalformedEvidence);
    CHECK(ReasonOf(r) == "tpm_public_malformed");
  }
}

TEST_CASE("TpmVerifier: evidence members are checked", "[attestation][tpm][gce]") {
  SKR_REQUIRE_TESTDATA(dir);
  const GceAttestation a = LoadGce(dir, "gce_cos85_attestation_nonce9009.pb");
  skr::FakeClock clock(k2025_06_01);
  FakeAkDirectory directory;
  const auto verifier = MakeVerifier(clock, One(GoogleCa(dir)), &directory);
  Json ev = Evidence(a, a.quotes[1]);
  SECTION("both ak_cert and ak_id") {
    ev["ak_id"] = "ak_x";
    auto r = verifier.Verify(ev);
    CHECK(CodeOf(r) == ErrorCode::kMalformedEvidence);
    CHECK(ReasonOf(r) == "malformed_evidence");
  }
  SECTION("neither ak_cert nor ak_id") {
    ev.erase("ak_cert");
    CHECK(CodeOf(verifier.Verify(ev)) == ErrorCode::kMalformedEvidence);
  }
  SECTION("an unknown member") {
    ev["nonce"] = "x";
    auto r = verifier.Verify(ev);
    CHECK(CodeOf(r) == ErrorCode::kMalformedEvidence);
    CHECK(ReasonOf(r) == "malformed_evidence");
  }
  SECTION("pcrs missing or not an object") {
    ev.erase("pcrs");
    CHECK(CodeOf(verifier.Verify(ev)) == ErrorCode::kMalformedEvidence);
    ev["pcrs"] = Json::array();
    CHECK(ReasonOf(verifier.Verify(ev)) == "tpm_pcrs_malformed");
  }
  SECTION("not an object") {
    CHECK(CodeOf(verifier.Verify(Json::array())) == ErrorCode::kMalformedEvidence);
    CHECK(CodeOf(verifier.Verify(Json("tpm"))) == ErrorCode::kMalformedEvidence);
  }
  CHECK(directory.lookups == 0);
}

// ---- ParsePcrsJson ---------------------------------------------------------------------------

TEST_CASE("ParsePcrsJson: accepts banks of hex digests", "[attestation][tpm][unit]") {
  const std::string h32(64, 'a'), h20(40, '0'), h48(96, 'F');
  auto r = tpm::ParsePcrsJson(Json{
      {"sha256", {{"0", h32}, {"23", h32}}}, {"sha1", {{"7", h20}}}, {"sha384", {{"10", h48}}}});
  REQUIRE(r.has_value());
  CHECK(r->at("sha256").size() == 2);
  CHECK(r->at("sha256").at(23) == Bytes(32, 0xAA));
  CHECK(r->at("sha1").at(7) == Bytes(20, 0x00));
  CHECK(r->at("sha384").at(10) == Bytes(48, 0xFF));
  CHECK(tpm::ParsePcrsJson(Json{{"sha512", {{"1", std::string(128, '1')}}}}).has_value());
  CHECK(tpm::ParsePcrsJson(Json{{"sha256", Json::object()}}).has_value());
}

TEST_CASE("ParsePcrsJson: rejects malformed PCR maps", "[attestation][tpm][unit]") {
  const std::string h32(64, 'a');
  const Json bad = GENERATE_COPY(
      Json::array(), Json::object(), Json("sha256"), Json{{"md5", {{"0", h32}}}},  // unknown bank
      Json{{"SHA256", {{"0", h32}}}},   // bank names are lower case
      Json{{"sha256", Json::array()}},  // bank not an object
      Json{{"sha256", {{"24", h32}}}},  // index out of range
      Json{{"sha256", {{"07", h32}}}},  // leading zero
      Json{{"sha256", {{"00", h32}}}}, Json{{"sha256", {{"-1", h32}}}},
      Json{{"sha256", {{"+1", h32}}}}, Json{{"sha256", {{" 1", h32}}}},
      Json{{"sha256", {{"1 ", h32}}}}, Json{{"sha256", {{"", h32}}}},
      Json{{"sha256", {{"100", h32}}}}, Json{{"sha256", {{"0x1", h32}}}},
      Json{{"sha256", {{"0", std::string(62, 'a')}}}},  // wrong hex length for the bank
      Json{{"sha256", {{"0", std::string(66, 'a')}}}},
      Json{{"sha1", {{"0", h32}}}},                     // sha256 size in the sha1 bank
      Json{{"sha256", {{"0", std::string(64, 'g')}}}},  // not hex
      Json{{"sha256", {{"0", 5}}}},                     // not a string
      Json{{"sha256", {{"0", nullptr}}}});
  INFO(bad.dump());
  auto r = tpm::ParsePcrsJson(bad);
  CHECK(CodeOf(r) == ErrorCode::kMalformedEvidence);
  CHECK(ReasonOf(r) == "tpm_pcrs_malformed");
}

TEST_CASE("ParsePcrsJson: at most five banks and 24 PCRs a bank", "[attestation][tpm][unit]") {
  Json bank = Json::object();
  for (unsigned i = 0; i <= tpm::kMaxPcrIndex; ++i) bank[std::to_string(i)] = std::string(64, '0');
  CHECK(tpm::ParsePcrsJson(Json{{"sha256", bank}}).has_value());
  Json six =
      Json{{"sha1", Json::object()},   {"sha256", Json::object()},  {"sha384", Json::object()},
           {"sha512", Json::object()}, {"sm3_256", Json::object()}, {"sha3_256", Json::object()}};
  CHECK(ReasonOf(tpm::ParsePcrsJson(six)) == "tpm_pcrs_malformed");
}

// ---- Enrolled AKs ----------------------------------------------------------------------------

TEST_CASE("TpmVerifier: an enrolled AK verifies the GCE quotes without a certificate",
          "[attestation][tpm][gce]") {
  SKR_REQUIRE_TESTDATA(dir);
  const GceAttestation a = LoadGce(dir, "gce_cos85_attestation_nonce9009.pb");
  skr::FakeClock clock(k2025_06_01);
  FakeAkDirectory directory;
  directory.aks["ak_x"] = tpm::EnrolledAk{"ak_x", "acme", "host1", a.ak_pub};
  // No certificate anchors: only enrolled AKs.
  const auto verifier = MakeVerifier(clock, {}, &directory);
  Json ev = Evidence(a, a.quotes[1]);
  ev.erase("ak_cert");
  ev["ak_id"] = "ak_x";

  SECTION("with and without ak_public") {
    auto r = verifier.Verify(ev);
    INFO((r.has_value() ? std::string() : r.error().message()));
    REQUIRE(r.has_value());
    CHECK(r->claims.at("tpm.ak.trust") == "enrolled");
    CHECK(r->claims.at("tpm.ak.id") == "ak_x");
    CHECK(r->claims.at("tpm.ak.tenant") == "acme");
    CHECK(r->claims.at("tpm.ak.name") == "host1");
    CHECK(r->claims.count("tpm.ak.ca_sha256") == 0);
    CHECK(r->claims.at("tpm.extra_data") == "9009");
    CHECK(r->binding_form == skr::attestation::BindingForm::kExact48);
    ev.erase("ak_public");
    CHECK(verifier.Verify(ev).has_value());
  }
  SECTION("the same AK key is named the same way by certificate and enrolment") {
    auto enrolled = verifier.Verify(ev);
    auto certified = MakeVerifier(clock, One(GoogleCa(dir))).Verify(Evidence(a, a.quotes[1]));
    REQUIRE(enrolled.has_value());
    REQUIRE(certified.has_value());
    CHECK(enrolled->claims.at("tpm.ak.sha256") == certified->claims.at("tpm.ak.sha256"));
  }
  SECTION("unknown id") {
    ev["ak_id"] = "ak_y";
    auto r = verifier.Verify(ev);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "tpm_ak_not_enrolled");
  }
  SECTION("a storage failure passes through") {
    directory.fail = skr::Error(ErrorCode::kUnavailable, "db down", "storage_unavailable");
    auto r = verifier.Verify(ev);
    CHECK(CodeOf(r) == ErrorCode::kUnavailable);
    CHECK(ReasonOf(r) == "storage_unavailable");
  }
  SECTION("no directory configured") {
    auto r = MakeVerifier(clock, {}).Verify(ev);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "tpm_ak_not_enrolled");
  }
  SECTION("ak_public that is not the enrolled one") {
    TPMT_PUBLIC pub = GcePublic(a);
    pub.unique.rsa.buffer[17] ^= 0x01;
    ev["ak_public"] = skr::Base64Encode(Marshal(pub));
    auto r = verifier.Verify(ev);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "tpm_ak_mismatch");
  }
  SECTION("an enrolment holding another key refuses the quote") {
    TPMT_PUBLIC pub = GcePublic(a);
    pub.unique.rsa.buffer[17] ^= 0x01;
    directory.aks["ak_x"].ak_public = Marshal(pub);
    ev.erase("ak_public");
    auto r = verifier.Verify(ev);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "tpm_signature_invalid");
  }
  SECTION("ak_id of the wrong type or length") {
    const Json bad_id = GENERATE(Json(""), Json(7), Json(nullptr), Json(std::string(65, 'a')));
    ev["ak_id"] = bad_id;
    CHECK(CodeOf(verifier.Verify(ev)) == ErrorCode::kMalformedEvidence);
    CHECK(directory.lookups == 0);
  }
  SECTION("a changed PCR value") {
    GceQuote m = a.quotes[1];
    m.pcrs[4][31] ^= 0x01;
    Json bad = Evidence(a, m);
    bad.erase("ak_cert");
    bad["ak_id"] = "ak_x";
    CHECK(ReasonOf(verifier.Verify(bad)) == "tpm_pcr_mismatch");
  }
}

// ---- CheckAkAttributes, ObjectName, MarshalPublic -------------------------------------------

namespace {

constexpr TPMA_OBJECT kAkAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                      TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                                      TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;

// A hand-made RSA-2048 restricted signing key (RSASSA-SHA256), as tpm2_createak makes one.
TPMT_PUBLIC RsaAk() {
  TPMT_PUBLIC p;
  std::memset(&p, 0, sizeof(p));
  p.type = TPM2_ALG_RSA;
  p.nameAlg = TPM2_ALG_SHA256;
  p.objectAttributes = kAkAttributes;
  p.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
  p.parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSASSA;
  p.parameters.rsaDetail.scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
  p.parameters.rsaDetail.keyBits = 2048;
  p.unique.rsa.size = 256;
  for (int i = 0; i < 256; ++i) p.unique.rsa.buffer[i] = static_cast<BYTE>(0x80 + i);
  return p;
}

TPMT_PUBLIC EccAk() {
  TPMT_PUBLIC p;
  std::memset(&p, 0, sizeof(p));
  p.type = TPM2_ALG_ECC;
  p.nameAlg = TPM2_ALG_SHA256;
  p.objectAttributes = kAkAttributes;
  p.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
  p.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
  p.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
  p.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
  p.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  p.unique.ecc.x.size = 32;
  p.unique.ecc.y.size = 32;
  return p;
}

}  // namespace

TEST_CASE("CheckAkAttributes: only restricted signing keys generated in the TPM",
          "[attestation][tpm][unit]") {
  CHECK(tpm::CheckAkAttributes(RsaAk()).has_value());
  CHECK(tpm::CheckAkAttributes(EccAk()).has_value());
  auto refused = [](const TPMT_PUBLIC& p) {
    auto r = tpm::CheckAkAttributes(p);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "tpm_ak_attributes");
  };
  SECTION("userWithAuth and adminWithPolicy do not matter") {
    TPMT_PUBLIC p = RsaAk();
    p.objectAttributes &= ~TPMA_OBJECT_USERWITHAUTH;
    p.objectAttributes |= TPMA_OBJECT_ADMINWITHPOLICY;
    CHECK(tpm::CheckAkAttributes(p).has_value());
  }
  SECTION("missing restricted") {
    TPMT_PUBLIC p = RsaAk();
    p.objectAttributes &= ~TPMA_OBJECT_RESTRICTED;
    refused(p);
  }
  SECTION("decrypt set") {
    TPMT_PUBLIC p = RsaAk();
    p.objectAttributes |= TPMA_OBJECT_DECRYPT;
    refused(p);
  }
  SECTION("not a signing key") {
    TPMT_PUBLIC p = EccAk();
    p.objectAttributes &= ~TPMA_OBJECT_SIGN_ENCRYPT;
    refused(p);
  }
  SECTION("missing fixedTPM, fixedParent or sensitiveDataOrigin") {
    const TPMA_OBJECT bit =
        GENERATE(TPMA_OBJECT_FIXEDTPM, TPMA_OBJECT_FIXEDPARENT, TPMA_OBJECT_SENSITIVEDATAORIGIN);
    TPMT_PUBLIC p = RsaAk();
    p.objectAttributes &= ~bit;
    refused(p);
  }
  SECTION("a KEYEDHASH or SYMCIPHER object, even with AK attributes") {
    TPMT_PUBLIC p = RsaAk();
    p.type = GENERATE(TPM2_ALG_KEYEDHASH, TPM2_ALG_SYMCIPHER);
    refused(p);
  }
}

TEST_CASE("ObjectName: nameAlg || H(TPMT_PUBLIC)", "[attestation][tpm][unit]") {
  SECTION("the GCE AK") {
    SKR_REQUIRE_TESTDATA(dir);
    const GceAttestation a = LoadGce(dir, "gce_cos85_attestation_nonce9009.pb");
    const TPMT_PUBLIC pub = GcePublic(a);
    CHECK(tpm::CheckAkAttributes(pub).has_value());
    // Unmarshal + marshal gives the exact bytes back, so the name is over what the TPM hashed.
    CHECK(Marshal(pub) == a.ak_pub);
    auto name = tpm::ObjectName(pub);
    REQUIRE(name.has_value());
    Bytes expected = {0x00, 0x0b};
    const auto h = skr::Sha256(a.ak_pub);
    expected.insert(expected.end(), h.begin(), h.end());
    CHECK(*name == expected);
    CHECK(skr::HexEncode(*name) ==
          "000bf175bdb57297b2b289973f819863d6c9d09c236725676914f4248c9a2404c2a4");
  }
  SECTION("SHA-384 and SHA-512 name algorithms") {
    TPMT_PUBLIC p = RsaAk();
    p.nameAlg = TPM2_ALG_SHA384;
    auto name = tpm::ObjectName(p);
    REQUIRE(name.has_value());
    REQUIRE(name->size() == 50);
    CHECK((*name)[0] == 0x00);
    CHECK((*name)[1] == 0x0c);
    const auto h = skr::Sha384(Marshal(p));
    CHECK(Bytes(name->begin() + 2, name->end()) == Bytes(h.begin(), h.end()));
    p.nameAlg = TPM2_ALG_SHA512;
    name = tpm::ObjectName(p);
    REQUIRE(name.has_value());
    CHECK(name->size() == 66);
  }
  SECTION("unsupported name algorithms") {
    TPMT_PUBLIC p = RsaAk();
    p.nameAlg = GENERATE(TPM2_ALG_SHA1, TPM2_ALG_NULL, TPM2_ALG_SM3_256);
    auto name = tpm::ObjectName(p);
    CHECK(CodeOf(name) == ErrorCode::kMalformedEvidence);
    CHECK(ReasonOf(name) == "tpm_public_malformed");
  }
  SECTION("the name changes with any attribute") {
    TPMT_PUBLIC p = RsaAk();
    auto before = tpm::ObjectName(p);
    p.objectAttributes |= TPMA_OBJECT_NODA;
    auto after = tpm::ObjectName(p);
    REQUIRE(before.has_value());
    REQUIRE(after.has_value());
    CHECK(*before != *after);
  }
}

// ---- KDFa and MakeCredential ------------------------------------------------------------------

namespace {

Bytes HmacEvpMac(const char* digest, const Bytes& key, const Bytes& msg) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  REQUIRE(mac != nullptr);
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);
  REQUIRE(ctx != nullptr);
  // The key goes in as a parameter: EVP_MAC_init(ctx, NULL, 0, ...) would mean "keep the
  // previous key" and fail for the empty key that KDFa allows.
  std::uint8_t none = 0;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
                                        key.empty() ? &none : const_cast<std::uint8_t*>(key.data()),
                                        key.size()),
      OSSL_PARAM_construct_end()};
  Bytes out(EVP_MAX_MD_SIZE);
  std::size_t len = 0;
  const bool ok = EVP_MAC_init(ctx, nullptr, 0, params) == 1 &&
                  EVP_MAC_update(ctx, msg.data(), msg.size()) == 1 &&
                  EVP_MAC_final(ctx, out.data(), &len, out.size()) == 1;
  EVP_MAC_CTX_free(ctx);
  REQUIRE(ok);
  out.resize(len);
  return out;
}

void PutBe32(Bytes& b, std::uint32_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 24));
  b.push_back(static_cast<std::uint8_t>(v >> 16));
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}

// TCG TPM 2.0 Part 1, 11.4.10.2 KDFa, written out independently: for i = 1, 2, ...
// HMAC(key, [i]32 || label || 0x00 || contextU || contextV || [bits]32), concatenated and cut to
// bits / 8 bytes (bits a multiple of 8 here).
Bytes ReferenceKdfA(const char* digest, const Bytes& key, const std::string& label, const Bytes& u,
                    const Bytes& v, std::uint32_t bits) {
  Bytes out;
  for (std::uint32_t i = 1; out.size() < bits / 8; ++i) {
    Bytes msg;
    PutBe32(msg, i);
    msg.insert(msg.end(), label.begin(), label.end());
    msg.push_back(0x00);
    msg.insert(msg.end(), u.begin(), u.end());
    msg.insert(msg.end(), v.begin(), v.end());
    PutBe32(msg, bits);
    const Bytes block = HmacEvpMac(digest, key, msg);
    out.insert(out.end(), block.begin(), block.end());
  }
  out.resize(bits / 8);
  return out;
}

Bytes Reveal(const skr::SecretBytes& s) { return Bytes(s.Reveal().begin(), s.Reveal().end()); }

}  // namespace

TEST_CASE("KdfA: matches an independent SP 800-108 counter-mode HMAC", "[attestation][tpm][unit]") {
  const Bytes key = Hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  const Bytes u =
      Hex("000b"
          "aabbccdd");
  const Bytes v = Hex("0102");
  SECTION("512 bits of SHA-256 take counters 1 and 2") {
    auto k = tpm::KdfA(TPM2_ALG_SHA256, key, "STORAGE", u, v, 512);
    REQUIRE(k.has_value());
    const Bytes got = Reveal(*k);
    REQUIRE(got.size() == 64);
    CHECK(got == ReferenceKdfA("SHA256", key, "STORAGE", u, v, 512));
    // Written out by hand for counters 1 and 2.
    Bytes m1 = {0, 0, 0, 1, 'S', 'T', 'O', 'R', 'A', 'G', 'E', 0};
    m1.insert(m1.end(), u.begin(), u.end());
    m1.insert(m1.end(), v.begin(), v.end());
    PutBe32(m1, 512);
    Bytes m2 = m1;
    m2[3] = 2;
    const Bytes b1 = HmacEvpMac("SHA256", key, m1), b2 = HmacEvpMac("SHA256", key, m2);
    CHECK(Bytes(got.begin(), got.begin() + 32) == b1);
    CHECK(Bytes(got.begin() + 32, got.end()) == b2);
  }
  SECTION("the output length is part of the input, not only a cut") {
    auto k128 = tpm::KdfA(TPM2_ALG_SHA256, key, "STORAGE", u, {}, 128);
    auto k256 = tpm::KdfA(TPM2_ALG_SHA256, key, "STORAGE", u, {}, 256);
    REQUIRE(k128.has_value());
    REQUIRE(k256.has_value());
    CHECK(Reveal(*k128) == ReferenceKdfA("SHA256", key, "STORAGE", u, {}, 128));
    CHECK(Reveal(*k256) == ReferenceKdfA("SHA256", key, "STORAGE", u, {}, 256));
    const Bytes long_key = Reveal(*k256);
    CHECK(Bytes(long_key.begin(), long_key.begin() + 16) != Reveal(*k128));
  }
  SECTION("SHA-384 and SHA-512, part of a block") {
    auto k = tpm::KdfA(TPM2_ALG_SHA384, key, "INTEGRITY", {}, {}, 384);
    REQUIRE(k.has_value());
    CHECK(Reveal(*k) == ReferenceKdfA("SHA384", key, "INTEGRITY", {}, {}, 384));
    auto k2 = tpm::KdfA(TPM2_ALG_SHA512, key, "X", u, v, 8 * 70);
    REQUIRE(k2.has_value());
    CHECK(Reveal(*k2) == ReferenceKdfA("SHA512", key, "X", u, v, 8 * 70));
    auto k3 = tpm::KdfA(TPM2_ALG_SHA256, key, "X", u, v, 8);
    REQUIRE(k3.has_value());
    CHECK(Reveal(*k3) == ReferenceKdfA("SHA256", key, "X", u, v, 8));
  }
  SECTION("empty key, label and contexts") {
    auto k = tpm::KdfA(TPM2_ALG_SHA256, {}, "", {}, {}, 256);
    REQUIRE(k.has_value());
    CHECK(Reveal(*k) == ReferenceKdfA("SHA256", {}, "", {}, {}, 256));
  }
  SECTION("the largest output, 4096 bits") {
    auto k = tpm::KdfA(TPM2_ALG_SHA256, key, "STORAGE", u, v, 4096);
    REQUIRE(k.has_value());
    CHECK(Reveal(*k) == ReferenceKdfA("SHA256", key, "STORAGE", u, v, 4096));
  }
  SECTION("unsupported parameters") {
    CHECK(CodeOf(tpm::KdfA(TPM2_ALG_SHA256, key, "L", u, v, 0)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(tpm::KdfA(TPM2_ALG_SHA256, key, "L", u, v, 127)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(tpm::KdfA(TPM2_ALG_SHA256, key, "L", u, v, 4104)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(tpm::KdfA(TPM2_ALG_SHA1, key, "L", u, v, 128)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(tpm::KdfA(TPM2_ALG_NULL, key, "L", u, v, 128)) == ErrorCode::kInvalidArgument);
  }
}

namespace {

// A marshalled TPM2B (big-endian u16 size || bytes); the bytes, checking the whole span is used.
Bytes Tpm2bBody(std::span<const std::uint8_t> b) {
  REQUIRE(b.size() >= 2);
  const std::size_t n = (std::size_t{b[0]} << 8) | b[1];
  REQUIRE(n == b.size() - 2);
  return Bytes(b.begin() + 2, b.end());
}

// TPM2_ActivateCredential (Part 3, 12.5) done in software with the EK's private key: returns the
// credential, or nullopt when the outer HMAC does not verify for `name`.
std::optional<Bytes> ActivateInSoftware(EVP_PKEY* ek, const tpm::CredentialChallenge& ch,
                                        const Bytes& name) {
  const Bytes enc_seed = Tpm2bBody(ch.encrypted_secret);
  skr::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(ek, nullptr));
  REQUIRE(ctx);
  REQUIRE(EVP_PKEY_decrypt_init(ctx.get()) == 1);
  REQUIRE(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) == 1);
  REQUIRE(EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha256()) == 1);
  REQUIRE(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256()) == 1);
  static const char kLabel[] = "IDENTITY";  // with its NUL (Part 1, B.10.4)
  auto* label = static_cast<unsigned char*>(OPENSSL_memdup(kLabel, sizeof(kLabel)));
  REQUIRE(label != nullptr);
  REQUIRE(EVP_PKEY_CTX_set0_rsa_oaep_label(ctx.get(), label, static_cast<int>(sizeof(kLabel))) ==
          1);
  Bytes seed(512);
  std::size_t seed_len = seed.size();
  REQUIRE(EVP_PKEY_decrypt(ctx.get(), seed.data(), &seed_len, enc_seed.data(), enc_seed.size()) ==
          1);
  seed.resize(seed_len);
  REQUIRE(seed.size() == 32);

  // TPM2B_ID_OBJECT: TPM2B_DIGEST integrityHMAC || encIdentity (Part 1, 24.1).
  const Bytes blob = Tpm2bBody(ch.credential_blob);
  REQUIRE(blob.size() >= 2);
  const std::size_t mac_len = (std::size_t{blob[0]} << 8) | blob[1];
  REQUIRE(mac_len == 32);
  REQUIRE(blob.size() > 2 + mac_len);
  const Bytes integrity(blob.begin() + 2, blob.begin() + 2 + static_cast<long>(mac_len));
  const Bytes enc_identity(blob.begin() + 2 + static_cast<long>(mac_len), blob.end());

  const Bytes hmac_key = ReferenceKdfA("SHA256", seed, "INTEGRITY", {}, {}, 256);
  Bytes hmac_in = enc_identity;
  hmac_in.insert(hmac_in.end(), name.begin(), name.end());
  if (HmacEvpMac("SHA256", hmac_key, hmac_in) != integrity) return std::nullopt;

  const Bytes sym_key = ReferenceKdfA("SHA256", seed, "STORAGE", name, {}, 128);
  skr::EvpCipherCtxPtr c(EVP_CIPHER_CTX_new());
  const std::uint8_t iv[16] = {0};
  Bytes plain(enc_identity.size());
  int out_len = 0, fin_len = 0;
  REQUIRE(EVP_DecryptInit_ex(c.get(), EVP_aes_128_cfb128(), nullptr, sym_key.data(), iv) == 1);
  REQUIRE(EVP_DecryptUpdate(c.get(), plain.data(), &out_len, enc_identity.data(),
                            static_cast<int>(enc_identity.size())) == 1);
  REQUIRE(EVP_DecryptFinal_ex(c.get(), plain.data() + out_len, &fin_len) == 1);
  return Tpm2bBody(plain);
}

}  // namespace

TEST_CASE("MakeCredential: the EK holder with the right AK name recovers the credential",
          "[attestation][tpm][unit]") {
  auto ek = skr::GenerateRsaKey(2048);
  REQUIRE(ek.has_value());
  const TPMT_PUBLIC ak = RsaAk();
  auto name = tpm::ObjectName(ak);
  REQUIRE(name.has_value());
  const Bytes credential = Hex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");

  auto ch = tpm::MakeCredential(ek->get(), tpm::EkParameters{}, *name, credential);
  REQUIRE(ch.has_value());
  // TPM2B_ENCRYPTED_SECRET of an RSA-2048 EK: 2 + 256 bytes.
  CHECK(ch->encrypted_secret.size() == 258);
  auto recovered = ActivateInSoftware(ek->get(), *ch, *name);
  REQUIRE(recovered.has_value());
  CHECK(*recovered == credential);

  SECTION("another object name does not pass the integrity check") {
    Bytes other = *name;
    other.back() ^= 0x01;
    CHECK_FALSE(ActivateInSoftware(ek->get(), *ch, other).has_value());
  }
  SECTION("each challenge has a fresh seed") {
    auto again = tpm::MakeCredential(ek->get(), tpm::EkParameters{}, *name, credential);
    REQUIRE(again.has_value());
    CHECK(again->encrypted_secret != ch->encrypted_secret);
    CHECK(again->credential_blob != ch->credential_blob);
  }
  SECTION("a short credential") {
    auto one = tpm::MakeCredential(ek->get(), tpm::EkParameters{}, *name, Bytes{0x42});
    REQUIRE(one.has_value());
    auto r = ActivateInSoftware(ek->get(), *one, *name);
    REQUIRE(r.has_value());
    CHECK(*r == Bytes{0x42});
  }
}

TEST_CASE("MakeCredential: rejects unsupported EKs and bad arguments", "[attestation][tpm][unit]") {
  auto ek = skr::GenerateRsaKey(2048);
  REQUIRE(ek.has_value());
  auto name = tpm::ObjectName(RsaAk());
  REQUIRE(name.has_value());
  const Bytes credential(32, 0x5A);
  SECTION("an EC endorsement key off the NIST P-256 / P-384 curves, or no key") {
    auto ec = skr::GenerateEcKey("P-521");
    REQUIRE(ec.has_value());
    auto r = tpm::MakeCredential(ec->get(), tpm::EkParameters{}, *name, credential);
    CHECK(CodeOf(r) == ErrorCode::kInvalidArgument);
    CHECK(ReasonOf(r) == "tpm_ek_unsupported");
    CHECK(ReasonOf(tpm::MakeCredential(nullptr, tpm::EkParameters{}, *name, credential)) ==
          "tpm_ek_unsupported");
    // P-256 is supported: the ephemeral point (two 32-byte coordinates) is the encrypted secret.
    auto p256 = skr::GenerateEcKey("P-256");
    REQUIRE(p256.has_value());
    auto ok = tpm::MakeCredential(p256->get(), tpm::EkParameters{}, *name, credential);
    REQUIRE(ok.has_value());
    CHECK(ok->encrypted_secret.size() == 2 + 2 + 32 + 2 + 32);
  }
  SECTION("unsupported symmetric or name algorithms") {
    tpm::EkParameters p;
    p.sym_bits = 192;
    CHECK(ReasonOf(tpm::MakeCredential(ek->get(), p, *name, credential)) == "tpm_ek_unsupported");
    p = tpm::EkParameters{};
    p.sym_alg = TPM2_ALG_SM4;
    CHECK(ReasonOf(tpm::MakeCredential(ek->get(), p, *name, credential)) == "tpm_ek_unsupported");
    p = tpm::EkParameters{};
    p.name_alg = TPM2_ALG_SHA1;
    CHECK(ReasonOf(tpm::MakeCredential(ek->get(), p, *name, credential)) == "tpm_ek_unsupported");
  }
  SECTION("credential empty or longer than the nameAlg digest") {
    CHECK(CodeOf(tpm::MakeCredential(ek->get(), tpm::EkParameters{}, *name, Bytes{})) ==
          ErrorCode::kInvalidArgument);
    CHECK(CodeOf(tpm::MakeCredential(ek->get(), tpm::EkParameters{}, *name, Bytes(33, 1))) ==
          ErrorCode::kInvalidArgument);
  }
  SECTION("object name too short or too long") {
    CHECK(CodeOf(tpm::MakeCredential(ek->get(), tpm::EkParameters{}, Bytes{0x00}, credential)) ==
          ErrorCode::kInvalidArgument);
    CHECK(CodeOf(tpm::MakeCredential(ek->get(), tpm::EkParameters{},
                                     Bytes(sizeof(TPMU_NAME) + 1, 1), credential)) ==
          ErrorCode::kInvalidArgument);
  }
}

// ---- TCG measured-boot event log (PC Client PFP section 10) ---------------------------------

namespace {

using skr::test::MakeSecureBootEventLog;
using SmallLog = skr::test::SecureBootEventLog;
SmallLog MakeLog(std::uint8_t secure_boot, bool corrupt = false) { return MakeSecureBootEventLog(secure_boot, corrupt); }

}  // namespace

TEST_CASE("Event log: the real GCE measured-boot log replays to the quoted PCRs of every bank",
          "[attestation][tpm][gce][eventlog]") {
  SKR_REQUIRE_TESTDATA(dir);
  const GceAttestation a = LoadGce(dir, "gce_cos85_attestation_nonce9009.pb");
  REQUIRE(a.event_log.size() > 1000);
  auto replay = tpm::ReplayEventLog(a.event_log);
  REQUIRE(replay.has_value());
  CHECK(replay->events == 44);
  CHECK(replay->secure_boot == std::optional<bool>(true));
  for (const std::string bank : {"sha1", "sha256", "sha384"}) REQUIRE(replay->replayed.count(bank) == 1);
  for (const auto& q : a.quotes) {
    INFO(q.bank());
    tpm::PcrValues quoted;
    for (const auto& [i, v] : q.pcrs) quoted[q.bank()][i] = v;
    skr::Claims claims;
    auto ok = tpm::CheckEventLog(*replay, quoted, claims);
    REQUIRE(ok.has_value());
    // The firmware, shim and grub extend PCRs 0-9; 10 (IMA) and the rest are not in this log.
    CHECK(claims.at("tpm.event_log.pcrs") == Json({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
    CHECK(claims.at("tpm.secure_boot.enabled") == true);
    CHECK(claims.at("tpm.event_log.events") == 44);
  }

  // Through the verifier: the log travels as `event_log` in the tpm evidence.
  skr::FakeClock clock(k2025_06_01);
  const auto verifier = MakeVerifier(clock, One(GoogleCa(dir)));
  Json ev = Evidence(a, a.quotes[1]);
  ev["event_log"] = skr::Base64Encode(a.event_log);
  auto r = verifier.Verify(ev);
  INFO((r ? std::string() : r.error().message()));
  REQUIRE(r.has_value());
  CHECK(r->claims.at("tpm.secure_boot.enabled") == true);
  skr::test::CheckClaimsCatalogued(r->claims, "tpm");

  SECTION("a log whose digest of a quoted PCR was altered is refused") {
    Bytes log = a.event_log;
    // The first TCG_PCR_EVENT2 starts right after the Spec ID event: pcrIndex, eventType, count,
    // then (alg, digest) pairs: SHA-1 at +12, SHA-256 at +34 (its digest at +36).
    const std::size_t first = 32 + static_cast<std::size_t>(log[28] | (log[29] << 8));
    REQUIRE(log[first + 34] == 0x0b);
    log[first + 36] ^= 0x01;
    ev["event_log"] = skr::Base64Encode(log);
    auto bad = verifier.Verify(ev);
    CHECK(ReasonOf(bad) == "tpm_event_log_mismatch");
  }
  SECTION("a truncated log is malformed") {
    Bytes log(a.event_log.begin(), a.event_log.end() - 5);
    ev["event_log"] = skr::Base64Encode(log);
    CHECK(ReasonOf(verifier.Verify(ev)) == "tpm_event_log_malformed");
  }
}

TEST_CASE("Event log: SecureBoot state is read only from a verified PCR 7", "[attestation][tpm][eventlog][unit]") {
  for (std::uint8_t sb : {std::uint8_t{0}, std::uint8_t{1}}) {
    const SmallLog l = MakeLog(sb);
    auto replay = tpm::ReplayEventLog(l.log);
    REQUIRE(replay.has_value());
    CHECK(replay->events == 1);
    CHECK(replay->replayed.at("sha256").at(7) == l.pcr7);
    skr::Claims claims;
    tpm::PcrValues quoted;
    quoted["sha256"][7] = l.pcr7;
    REQUIRE(tpm::CheckEventLog(*replay, quoted, claims).has_value());
    CHECK(claims.at("tpm.secure_boot.enabled") == (sb == 1));

    // PCR 7 not quoted: nothing about secure boot is claimed.
    skr::Claims none;
    tpm::PcrValues other;
    other["sha256"][0] = Bytes(32, 0);
    REQUIRE(tpm::CheckEventLog(*replay, other, none).has_value());
    CHECK(none.count("tpm.secure_boot.enabled") == 0);
    CHECK(none.at("tpm.event_log.pcrs") == Json::array());

    // Quoted PCR 7 differs from the replay.
    tpm::PcrValues wrong;
    wrong["sha256"][7] = Bytes(32, 0x11);
    skr::Claims c2;
    CHECK(ReasonOf(tpm::CheckEventLog(*replay, wrong, c2)) == "tpm_event_log_mismatch");
  }
  // The variable's data does not hash to its logged digest: replay still works, no claim.
  const SmallLog forged = MakeLog(1, true);
  auto replay = tpm::ReplayEventLog(forged.log);
  REQUIRE(replay.has_value());
  CHECK_FALSE(replay->secure_boot.has_value());
}

TEST_CASE("Event log: malformed logs are refused with tpm_event_log_malformed", "[attestation][tpm][eventlog][unit]") {
  const SmallLog l = MakeLog(1);
  CHECK(ReasonOf(tpm::ReplayEventLog({})) == "tpm_event_log_malformed");
  // Every truncation.
  for (std::size_t n = 1; n < l.log.size(); ++n) {
    INFO(n);
    auto r = tpm::ReplayEventLog(std::span<const std::uint8_t>(l.log.data(), n));
    // A cut exactly after the Spec ID event is a valid log with no events (but then no bank).
    CHECK(ReasonOf(r) == "tpm_event_log_malformed");
  }
  Bytes no_spec = l.log;
  no_spec[32] = 'X';
  CHECK(ReasonOf(tpm::ReplayEventLog(no_spec)) == "tpm_event_log_malformed");
  Bytes pcr24 = l.log;
  const std::size_t first = 32 + static_cast<std::size_t>(pcr24[28] | (pcr24[29] << 8));
  pcr24[first] = 24;
  CHECK(ReasonOf(tpm::ReplayEventLog(pcr24)) == "tpm_event_log_malformed");
  Bytes two_digests = l.log;
  two_digests[first + 8] = 2;  // digest count differs from the Spec ID event
  CHECK(ReasonOf(tpm::ReplayEventLog(two_digests)) == "tpm_event_log_malformed");
  Bytes huge(tpm::kMaxEventLogBytes + 1, 0);
  CHECK(ReasonOf(tpm::ReplayEventLog(huge)) == "tpm_event_log_malformed");
}

namespace {

// A TCG_PCR_EVENT2 record with one SHA-256 digest per listed algorithm entry.
Bytes Event2(std::uint32_t pcr, std::uint32_t type, const std::vector<Bytes>& sha256_digests, const Bytes& data) {
  Bytes out;
  auto put32 = [&](std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  };
  put32(pcr);
  put32(type);
  put32(static_cast<std::uint32_t>(sha256_digests.size()));
  for (const auto& d : sha256_digests) {
    out.push_back(0x0b);
    out.push_back(0x00);
    out.insert(out.end(), d.begin(), d.end());
  }
  put32(static_cast<std::uint32_t>(data.size()));
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

}  // namespace

TEST_CASE("Event log: secure boot is only read from the firmware's one SecureBoot measurement",
          "[attestation][tpm][eventlog][unit]") {
  const SmallLog base = MakeLog(1);
  const std::size_t spec_end = 32 + static_cast<std::size_t>(base.log[28] | (base.log[29] << 8));
  const Bytes header(base.log.begin(), base.log.begin() + static_cast<std::ptrdiff_t>(spec_end));
  const Bytes sb_event(base.log.begin() + static_cast<std::ptrdiff_t>(spec_end), base.log.end());
  const Bytes sep_data(4, 0);
  const auto sep_digest = skr::Sha256(sep_data);
  const Bytes separator = Event2(7, tpm::kEvSeparator, {Bytes(sep_digest.begin(), sep_digest.end())}, sep_data);

  SECTION("before the separator: read") {
    Bytes log = header;
    log.insert(log.end(), sb_event.begin(), sb_event.end());
    log.insert(log.end(), separator.begin(), separator.end());
    auto r = tpm::ReplayEventLog(log);
    REQUIRE(r.has_value());
    CHECK(r->secure_boot == std::optional<bool>(true));
  }
  SECTION("after the separator (an OS-time extend of PCR 7): not read") {
    Bytes log = header;
    log.insert(log.end(), separator.begin(), separator.end());
    log.insert(log.end(), sb_event.begin(), sb_event.end());
    auto r = tpm::ReplayEventLog(log);
    REQUIRE(r.has_value());
    CHECK_FALSE(r->secure_boot.has_value());
  }
  SECTION("two SecureBoot measurements: unknown") {
    const SmallLog off = MakeLog(0);
    Bytes log = header;
    log.insert(log.end(), off.log.begin() + static_cast<std::ptrdiff_t>(spec_end), off.log.end());
    log.insert(log.end(), sb_event.begin(), sb_event.end());
    auto r = tpm::ReplayEventLog(log);
    REQUIRE(r.has_value());
    CHECK_FALSE(r->secure_boot.has_value());
  }
  SECTION("a Spec ID event or an event naming one algorithm twice is malformed") {
    // Spec ID lists one algorithm; an event with count 1 cannot repeat it, so rewrite the Spec ID
    // event to list sha256 twice (two entries) and send the same digest twice.
    Bytes log = header;
    const std::size_t n_algs_at = 32 + 24;
    REQUIRE(log[n_algs_at] == 1);
    log[n_algs_at] = 2;
    const Bytes extra = {0x0b, 0x00, 0x20, 0x00};  // another (sha256, 32) entry
    log.insert(log.begin() + static_cast<std::ptrdiff_t>(n_algs_at + 4 + 4), extra.begin(), extra.end());
    log[28] = static_cast<std::uint8_t>(log[28] + 4);
    const Bytes var_digest = base.pcr7_event_digest;
    const Bytes var_data(sb_event.end() - 43, sb_event.end());  // the UEFI_VARIABLE_DATA (43 bytes)
    const Bytes twice = Event2(7, tpm::kEvEfiVariableDriverConfig, {var_digest, var_digest}, var_data);
    log.insert(log.end(), twice.begin(), twice.end());
    CHECK(ReasonOf(tpm::ReplayEventLog(log)) == "tpm_event_log_malformed");
  }
}
