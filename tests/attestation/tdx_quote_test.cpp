// SPDX-License-Identifier: Apache-2.0
// Intel TDX quotes (issue 13): the real quotes of ../shared/testdata/tdx verify to the pinned
// Intel SGX Root CA with the values PROVENANCE.md lists; each tampered part is refused with its
// own reason; every truncation is a clear parse error.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "attestation/tdx/intel_root.h"
#include "attestation/tdx/quote.h"
#include "attestation/tdx/verify.h"
#include "common/encoding.h"
#include "common/ossl.h"
#include "common/x509.h"
#include "tests/support/claim_catalogue_check.h"
#include "tests/support/test_support.h"

namespace skr::attestation::tdx {
namespace {

constexpr std::int64_t kJune2026 = 1780272000;  // every PCK chain of the testdata is valid then

std::vector<std::uint8_t> Load(const std::filesystem::path& p) {
  const std::string s = test::ReadFileOrFail(p);
  return {s.begin(), s.end()};
}

Result<VerifiedQuote> Verify(std::span<const std::uint8_t> q, std::int64_t t = kJune2026) {
  X509* root = IntelSgxRootCa();
  return VerifyQuote(q, std::span<X509* const>(&root, 1), t);
}

struct Expected {
  const char* file;
  int version;
  const char* fmspc;
  const char* tee_tcb_svn;
  const char* td_attributes;
  const char* xfam;
  const char* mrtd;
  const char* report_data_prefix;  // the first 32 hex digits
  int qe_svn;
  std::size_t trailing;
  bool debug;
};

// From ../shared/testdata/PROVENANCE.md (tdx rows).
const Expected kQuotes[] = {
    {"quote_v4_spr_e4_gotdxguest.dat", 4, "50806f000000", "03000400000000000000000000000000",
     "0000004000000000", "e71a060000000000",
     "6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc00b8dcd404bc10d5e119d7215cbb",
     "6c62dec1b8191749a31dab490be532a3", 4, 39, false},
    {"quote_v5_gotdxguest.dat", 5, "90c06f000000", "0b010400000000000000000000000000",
     "0000001000000000", "e702060000000000",
     "7348651a34b2d2d3462822e3a750ec6110125f36757c78480bbfc69cc0d21fb001a1ced3ee19747dda8f750c3bc8f876",
     "945eaacf5abc1f719d8666a942fda03d", 7, 0, false},
    {"quote_v4_gce_cos113_gotdxguest.dat", 4, "00806f050000", "04010700000000000000000000000000",
     "0000001000000000", "e700060000000000",
     "dae67181d3d65e073ad8f95b7907d5e927bfe9761c9ff3e9b89734a45d8954dba41394c7717cb2735396c1d04231f94a",
     "00000000000000000000000000000000", 6, 3065, false},
    {"quote_v4_trustee_a.dat", 4, "50806f000000", "03000500000000000000000000000000",
     "0100001000000000", "e742060000000000",
     "705ee9381b8633a9fbe532b52345e8433343d2868959f57889d84ca377c395b689cac1599ccea1b7d420483a9ce5f031",
     "7c71fe2c86eff65a7cf8dbc22b327568", 4, 0, true},
    {"quote_v4_trustee_b.dat", 4, "00a06d080000", "05030200000000000000000000000000",
     "0000001000000000", "e702060000000000",
     "21e8dead92d6c69d7cbba79816686c03a48485c7df0c11f6f04792d5e1d378f6b8c46615ba6946adccac6becffbb1e88",
     "26cae1c77185617fb6a03fc29bf1f924", 7, 70, false},
    {"quote_v5_trustee.dat", 5, "90c06f000000", "05010200000000000000000000000000",
     "0000001000000000", "e742060000000000",
     "dfba221b48a22af8511542ee796603f37382800840dcd978703909bf8e64d4c8a1e9de86e7c9638bfcba422f3886400a",
     "6d6ab13b046cff606ac0074be13981b0", 6, 0, false},
};

// Offsets of the signature data parts (after the 4-byte length that follows the body).
struct Layout {
  std::size_t sig;  // quote signature
  std::size_t ak, cert_type, qe_report, qe_sig, auth_size, auth, pck_type, pck_size, pck, end;
};
Layout LayoutOf(const Quote& q, const std::vector<std::uint8_t>& bytes) {
  Layout l{};
  l.sig = q.signed_bytes.size() + 4;
  l.ak = l.sig + 64;
  l.cert_type = l.ak + 64;
  l.qe_report = l.cert_type + 6;
  l.qe_sig = l.qe_report + kQeReportSize;
  l.auth_size = l.qe_sig + 64;
  l.auth = l.auth_size + 2;
  l.pck_type = l.auth + q.qe_auth_data.size();
  l.pck_size = l.pck_type + 2;
  l.pck = l.pck_size + 4;
  // The chain may carry NUL padding the parser drops: the end is the declared length's.
  const std::size_t at = q.signed_bytes.size();
  const std::uint32_t sig_len = static_cast<std::uint32_t>(bytes[at]) | (bytes[at + 1] << 8) |
                                (bytes[at + 2] << 16) | (static_cast<std::uint32_t>(bytes[at + 3]) << 24);
  l.end = at + 4 + sig_len;
  return l;
}

}  // namespace

TEST_CASE("TDX: the pinned Intel SGX Root CA is the testdata's root", "[tdx]") {
  CHECK(HexEncode(CertificateSha256(IntelSgxRootCa())) == kIntelSgxRootCaSha256);
  SKR_REQUIRE_TESTDATA(testdata);
  auto pem = ParseCertificatePem(test::ReadFileOrFail(testdata / "tdx/collateral/intel_sgx_root_ca.pem"));
  REQUIRE(pem.has_value());
  CHECK(HexEncode(CertificateSha256(pem->get())) == kIntelSgxRootCaSha256);
  // ... and the last certificate of every PCK chain the quotes carry.
  for (const Expected& e : kQuotes) {
    INFO(e.file);
    auto q = ParseQuote(Load(testdata / "tdx" / e.file));
    REQUIRE(q.has_value());
    auto chain = ParseCertificatesPem(q->pck_chain_pem);
    REQUIRE(chain.has_value());
    CHECK(HexEncode(CertificateSha256(chain->back().get())) == kIntelSgxRootCaSha256);
  }
}

TEST_CASE("TDX: every real quote verifies with the values of PROVENANCE.md", "[tdx]") {
  SKR_REQUIRE_TESTDATA(testdata);
  for (const Expected& e : kQuotes) {
    INFO(e.file);
    const auto bytes = Load(testdata / "tdx" / e.file);
    auto v = Verify(bytes);
    INFO((v ? std::string() : v.error().message()));
    REQUIRE(v.has_value());
    CHECK(v->quote.version == e.version);
    CHECK(v->quote.trailing_bytes == e.trailing);
    CHECK(v->quote.body.td15 == (e.version == 5));  // both v5 quotes are TD 1.5 bodies
    const Claims c = QuoteClaims(*v);
    test::CheckClaimsCatalogued(c, "tdx");
    CHECK(c.at("tee") == "tdx");
    CHECK(c.at("tdx.fmspc") == e.fmspc);
    CHECK(c.at("tdx.tee_tcb_svn") == e.tee_tcb_svn);
    CHECK(c.at("tdx.td_attributes") == e.td_attributes);
    CHECK(c.at("tdx.xfam") == e.xfam);
    CHECK(c.at("tdx.mrtd") == e.mrtd);
    CHECK(c.at("report_data").get<std::string>().rfind(e.report_data_prefix, 0) == 0);
    CHECK(c.at("tdx.report_data") == c.at("report_data"));
    CHECK(c.at("tdx.qe_svn") == e.qe_svn);
    CHECK(c.at("debug") == e.debug);
    CHECK(c.at("tdx.td_attributes.debug") == e.debug);
    CHECK(c.at("tdx.pce_id") == "0000");
    CHECK(c.at("tdx.mrtd").get<std::string>().size() == 96);
    CHECK(c.count("tdx.rtmr3") == 1);
    CHECK(c.count("tdx.mrservicetd") == (e.version == 5 ? 1u : 0u));
  }
  // The GCE quote's REPORTDATA is the nonce file next to it.
  auto gce = Verify(Load(testdata / "tdx/quote_v4_gce_cos113_gotdxguest.dat"));
  REQUIRE(gce.has_value());
  const auto nonce = Load(testdata / "tdx/quote_v4_gce_cos113_nonce.dat");
  CHECK(std::vector<std::uint8_t>(gce->quote.body.report_data.begin(),
                                  gce->quote.body.report_data.end()) == nonce);
  // sept_ve_disable is bit 28 of TDATTRIBUTES: set in 0000001000000000.
  CHECK(QuoteClaims(*gce).at("tdx.td_attributes.sept_ve_disable") == true);
}

TEST_CASE("TDX: each tampered part of a quote is refused with its own reason", "[tdx]") {
  SKR_REQUIRE_TESTDATA(testdata);
  for (const char* file : {"quote_v4_trustee_a.dat", "quote_v5_trustee.dat"}) {
    INFO(file);
    const auto good = Load(testdata / "tdx" / file);
    auto parsed = ParseQuote(good);
    REQUIRE(parsed.has_value());
    const Layout l = LayoutOf(*parsed, good);
    REQUIRE(l.end == good.size());
    auto flip = [&](std::size_t at, std::uint8_t mask = 0x01) {
      auto bad = good;
      REQUIRE(at < bad.size());
      bad[at] ^= mask;
      return Verify(bad);
    };
    CHECK(test::ReasonOf(flip(10)) == "tdx_quote_signature");         // header, reserved bytes
    CHECK(test::ReasonOf(flip(12)) == "tdx_qe_vendor");               // QE vendor id
    CHECK(test::ReasonOf(flip(40)) == "tdx_quote_signature");         // user data
    CHECK(test::ReasonOf(flip(l.sig - 100)) == "tdx_quote_signature");  // body (REPORTDATA / MRSERVICETD)
    CHECK(test::ReasonOf(flip(l.sig - 4 - 200)) == "tdx_quote_signature");  // body (RTMRs)
    CHECK(test::ReasonOf(flip(l.sig + 5)) == "tdx_quote_signature");  // quote signature
    CHECK(test::ReasonOf(flip(l.ak + 5)) == "tdx_attestation_key_binding");  // attestation key
    CHECK(test::ReasonOf(flip(l.qe_report + 300)) == "tdx_qe_report_signature");  // QE report
    CHECK(test::ReasonOf(flip(l.qe_sig + 40)) == "tdx_qe_report_signature");  // its signature
    if (!parsed->qe_auth_data.empty()) {
      CHECK(test::ReasonOf(flip(l.auth)) == "tdx_attestation_key_binding");  // QE auth data
    }
    CHECK(test::ReasonOf(flip(l.cert_type)) == "tdx_quote_malformed");  // certification data type
    CHECK(test::ReasonOf(flip(l.pck_type)) == "tdx_quote_malformed");   // PCK certification type
    CHECK(test::ReasonOf(flip(l.pck_size)) == "tdx_quote_malformed");   // chain size
    // A byte inside the PCK leaf's base64 (its signature no longer verifies, or it no longer
    // parses): the chain is refused before any quote signature is trusted.
    const std::string reason = test::ReasonOf(flip(l.pck + 400, 0x02));
    CHECK((reason == "tdx_pck_chain_untrusted" || reason == "tdx_pck_malformed"));
    // Version, key type, TEE type.
    CHECK(test::ReasonOf(flip(0, 0x02)) == "tdx_quote_malformed");
    CHECK(test::ReasonOf(flip(2, 0x01)) == "tdx_quote_malformed");
    CHECK(test::ReasonOf(flip(4, 0x01)) == "tdx_quote_malformed");
  }
}

TEST_CASE("TDX: a quote truncated at any length is a parse error, never a crash", "[tdx]") {
  SKR_REQUIRE_TESTDATA(testdata);
  for (const char* file : {"quote_v4_spr_e4_gotdxguest.dat", "quote_v5_gotdxguest.dat"}) {
    INFO(file);
    const auto good = Load(testdata / "tdx" / file);
    auto parsed = ParseQuote(good);
    REQUIRE(parsed.has_value());
    const std::size_t end = LayoutOf(*parsed, good).end;
    std::size_t failures = 0;
    for (std::size_t n = 0; n < end; ++n) {
      auto r = ParseQuote(std::span<const std::uint8_t>(good.data(), n));
      if (!r && r.error().code() == ErrorCode::kMalformedEvidence &&
          r.error().reason() == "tdx_quote_malformed") {
        ++failures;
      }
    }
    CHECK(failures == end);
    // Cut only in the trailing bytes: the quote is whole.
    CHECK(ParseQuote(std::span<const std::uint8_t>(good.data(), end)).has_value());
  }
  CHECK(test::ReasonOf(ParseQuote(std::vector<std::uint8_t>(kMaxQuoteBytes + 1, 0))) ==
        "tdx_quote_malformed");
}

TEST_CASE("TDX: another root, or a time outside the PCK validity, is refused", "[tdx]") {
  SKR_REQUIRE_TESTDATA(testdata);
  const auto quote = Load(testdata / "tdx/quote_v4_trustee_b.dat");
  // The AMD Milan ARK stands in for "some other root".
  auto other = ParseCertificatesPem(test::ReadFileOrFail(testdata / "snp/certs/ask_ark_milan.pem"));
  REQUIRE(other.has_value());
  X509* root = other->back().get();
  CHECK(test::ReasonOf(VerifyQuote(quote, std::span<X509* const>(&root, 1), kJune2026)) ==
        "tdx_pck_chain_untrusted");
  CHECK(test::ReasonOf(Verify(quote, 2208988800)) == "tdx_pck_chain_untrusted");  // 2040
  CHECK(test::ReasonOf(Verify(quote, 1262304000)) == "tdx_pck_chain_untrusted");  // 2010
}

}  // namespace skr::attestation::tdx
