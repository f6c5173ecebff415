// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "attestation/binding.h"
#include "attestation/registry.h"
#include "attestation/sample/sample_verifier.h"
#include "common/encoding.h"
#include "common/jose.h"
#include "tests/support/claim_catalogue_check.h"
#include "tests/support/test_support.h"

using skr::ErrorCode;
using skr::Json;
using skr::test::CodeOf;
using skr::test::ReasonOf;
namespace att = skr::attestation;

namespace {

struct Fixture {
  skr::EvpPkeyPtr attester = skr::GenerateEcKey("P-384").value();
  att::Registry registry;
  Fixture() {
    auto v = att::sample::SampleVerifier::Create(skr::PublicKeyToPem(attester.get()).value());
    REQUIRE(v.has_value());
    registry.Register(std::move(v).value());
  }
  Json Evidence(const Json& payload, EVP_PKEY* signer = nullptr, const char* alg = "ES384") {
    return {{"type", "sample"},
            {"jws", skr::JwsSign(signer ? signer : attester.get(), alg, skr::DumpJson(payload)).value()}};
  }
};

std::string ReportData(const std::string& nonce, const Json& jwk) {
  auto d = skr::BindingDigest(nonce, jwk).value();
  std::vector<std::uint8_t> rd(d.begin(), d.end());
  rd.resize(64, 0);
  return skr::HexEncode(rd);
}

}  // namespace

TEST_CASE("SampleVerifier: verified payload becomes sample.* claims", "[attestation][sample]") {
  Fixture f;
  const std::string rd(128, 'a');
  auto v = f.registry.Verify(f.Evidence({{"report_data", rd}, {"svn", 4}, {"debug", false},
                                         {"nested", {{"x", "y"}}}}));
  REQUIRE(v.has_value());
  CHECK(v->claims.at("tee") == "sample");
  CHECK(v->claims.at("sample.svn") == 4);
  CHECK(v->claims.at("sample.nested.x") == "y");
  skr::test::CheckClaimsCatalogued(v->claims, "sample");
  CHECK(v->claims.at("debug") == false);
  CHECK(v->claims.at("report_data") == rd);
  CHECK(v->authority == "skr:local");
  CHECK(v->bound_data.size() == 64);
}

TEST_CASE("SampleVerifier: rejects bad evidence with specific errors", "[attestation][sample]") {
  Fixture f;
  const std::string rd(128, 'a');
  SECTION("signed by another key") {
    auto rogue = skr::GenerateEcKey("P-384").value();
    auto v = f.registry.Verify(f.Evidence({{"report_data", rd}}, rogue.get()));
    CHECK(CodeOf(v) == ErrorCode::kVerificationFailed);
  }
  SECTION("tampered payload") {
    Json ev = f.Evidence({{"report_data", rd}});
    std::string jws = ev["jws"];
    auto dot = jws.find('.');
    jws[dot + 3] = jws[dot + 3] == 'A' ? 'B' : 'A';
    ev["jws"] = jws;
    auto v = f.registry.Verify(ev);
    CHECK(v.has_value() == false);
  }
  SECTION("report_data missing or short") {
    CHECK(CodeOf(f.registry.Verify(f.Evidence({{"svn", 1}}))) == ErrorCode::kMalformedEvidence);
    CHECK(CodeOf(f.registry.Verify(f.Evidence({{"report_data", "abcd"}}))) ==
          ErrorCode::kMalformedEvidence);
  }
  SECTION("jws not a string, unknown member, payload not an object") {
    CHECK(CodeOf(f.registry.Verify({{"type", "sample"}, {"jws", 5}})) == ErrorCode::kMalformedEvidence);
    Json ev = f.Evidence({{"report_data", rd}});
    ev["extra"] = 1;
    CHECK(CodeOf(f.registry.Verify(ev)) == ErrorCode::kMalformedEvidence);
    Json arr = {{"type", "sample"},
                {"jws", skr::JwsSign(f.attester.get(), "ES384", "[1,2]").value()}};
    CHECK(CodeOf(f.registry.Verify(arr)) == ErrorCode::kMalformedEvidence);
  }
  SECTION("garbage jws") {
    CHECK(CodeOf(f.registry.Verify({{"type", "sample"}, {"jws", "a.b.c"}})).has_value());
    CHECK(CodeOf(f.registry.Verify({{"type", "sample"}, {"jws", std::string(70000, 'a')}})) ==
          ErrorCode::kMalformedEvidence);
  }
}

TEST_CASE("Registry: unknown or missing evidence type", "[attestation][registry]") {
  Fixture f;
  CHECK(ReasonOf(f.registry.Verify({{"type", "sev-snp"}})) == "unsupported_evidence_type");
  CHECK(CodeOf(f.registry.Verify({{"jws", "x"}})) == ErrorCode::kInvalidArgument);
  CHECK(CodeOf(f.registry.Verify(Json::array())) == ErrorCode::kInvalidArgument);
  CHECK(f.registry.Types() == std::vector<std::string>{"sample"});
}

TEST_CASE("CheckBinding: REPORT_DATA must be the KBS RCAR digest of nonce and key",
          "[attestation][binding]") {
  Fixture f;
  auto eph = skr::GenerateEcKey("P-256").value();
  Json jwk = skr::PublicJwkFromKey(eph.get(), "ECDH-ES+A256KW").value();
  auto v = f.registry.Verify(f.Evidence({{"report_data", ReportData("n1", jwk)}}));
  REQUIRE(v.has_value());
  CHECK(att::CheckBinding(*v, "n1", jwk).has_value());
  CHECK(ReasonOf(att::CheckBinding(*v, "n2", jwk)) == "binding_mismatch");
  auto other = skr::GenerateEcKey("P-256").value();
  Json jwk2 = skr::PublicJwkFromKey(other.get(), "ECDH-ES+A256KW").value();
  CHECK(CodeOf(att::CheckBinding(*v, "n1", jwk2)) == ErrorCode::kVerificationFailed);

  SECTION("TPM form: extraData is the bare 48-byte digest") {
    att::VerifiedEvidence tpm;
    tpm.binding_form = att::BindingForm::kExact48;
    auto d = skr::BindingDigest("n1", jwk).value();
    tpm.bound_data.assign(d.begin(), d.end());
    CHECK(att::CheckBinding(tpm, "n1", jwk).has_value());
    tpm.bound_data.resize(64, 0);
    CHECK(!att::CheckBinding(tpm, "n1", jwk).has_value());
  }
}

TEST_CASE("BindingDigest: the exact KBS RCAR byte construction", "[attestation][binding]") {
  // JCS sorts members: additional-evidence, nonce, tee-pubkey; and the JWK's own members.
  Json jwk = {{"kty", "EC"}, {"crv", "P-256"}, {"alg", "ECDH-ES+A256KW"}, {"x", "AAAA"}, {"y", "BBBB"}};
  const std::string expected_text =
      R"({"additional-evidence":"","nonce":"bm9uY2U=","tee-pubkey":{"alg":"ECDH-ES+A256KW","crv":"P-256","kty":"EC","x":"AAAA","y":"BBBB"}})";
  auto d = skr::BindingDigest("bm9uY2U=", jwk).value();
  auto want = skr::Sha384(expected_text);
  CHECK(std::vector<std::uint8_t>(d.begin(), d.end()) ==
        std::vector<std::uint8_t>(want.begin(), want.end()));
}
