// SPDX-License-Identifier: Apache-2.0
// The `tdx` verifier with imported collateral (issue 13), on an Intel-shaped test PKI
// (tests/support/intel_test_pki.h) trusted as an extra root: TCB status and claims, revoked PCK,
// stale or missing collateral, collateral signed by someone else, replay with kept collateral.
#include <catch2/catch.hpp>

#include <ctime>
#include <set>

#include "attestation/tdx/tdx_verifier.h"
#include "common/clock.h"
#include "common/encoding.h"
#include "common/x509.h"
#include "tests/support/claim_catalogue_check.h"
#include "tests/support/intel_test_pki.h"
#include "tests/support/test_support.h"

namespace skr::attestation::tdx {
namespace {

class FixedSource final : public TdxCollateralSource {
 public:
  std::shared_ptr<const TdxCollateralSet> set;
  std::shared_ptr<const TdxCollateralSet> Current() const override { return set; }
};

struct World {
  test::IntelTestPki pki;
  FakeClock clock{0};
  FixedSource source;
  std::unique_ptr<TdxVerifier> verifier;
  std::int64_t t0 = 0;

  World() {
    t0 = std::time(nullptr);
    clock.Set(t0);
    TdxVerifierOptions opts;
    auto roots = ParseCertificatesPem(pki.RootPem());
    REQUIRE(roots.has_value());
    opts.extra_roots = std::move(roots).value();
    opts.collateral = &source;
    opts.collateral_grace_seconds = 3600;
    verifier = std::make_unique<TdxVerifier>(std::move(opts), clock);
  }
  TdxCollateralTexts Texts(std::vector<test::TestTcbLevel> levels = {}, long revoked = 0) const {
    TdxCollateralTexts t;
    t.tcb_infos = {pki.TcbInfoBody(t0 - 60, t0 + 86400, std::move(levels))};
    t.qe_identity = pki.QeIdentityBody(t0 - 60, t0 + 86400);
    t.tcb_signing_chain = pki.TcbSigningChainPem();
    t.pck_crls = {pki.PckCrlPem(revoked ? std::vector<long>{revoked} : std::vector<long>{},
                                t0 - 60, t0 + 86400)};
    t.root_ca_crl = pki.RootCrlPem({}, t0 - 60, t0 + 86400);
    return t;
  }
  void Import(TdxCollateralTexts t) {
    auto set = TdxCollateralSet::Build(std::move(t), verifier->roots());
    INFO((set ? "" : set.error().message()));
    REQUIRE(set.has_value());
    source.set = *set;
  }
  Json Evidence(const test::TestTdQuote& q = {}) const {
    return {{"type", "tdx"}, {"quote", Base64Encode(pki.Quote(q))}};
  }
};

}  // namespace

TEST_CASE("TDX verifier: a test-PKI quote with current collateral gives claims and UpToDate",
          "[tdx][verifier]") {
  World w;
  w.Import(w.Texts());
  test::TestTdQuote q;
  q.report_data[0] = 0x42;
  q.mrtd.fill(0xAA);
  auto v = w.verifier->Verify(w.Evidence(q));
  INFO((v ? "" : v.error().message()));
  REQUIRE(v.has_value());
  CHECK(v->type == "tdx");
  CHECK(v->claims.at("tee") == "tdx");
  CHECK(v->claims.at("debug") == false);
  CHECK(v->claims.at("tdx.tcb_status") == "UpToDate");
  CHECK(v->claims.at("tdx.mrtd") == std::string(96, 'a'));
  CHECK(v->claims.at("tdx.fmspc") == "112233000000");
  CHECK(v->bound_data.size() == 64);
  CHECK(v->bound_data[0] == 0x42);
  CHECK(v->collateral.at("tcb_status") == "UpToDate");
  // Every claim is in the policy claim catalogue with its type (what `skrctl claims` shows).
  test::CheckClaimsCatalogued(v->claims, "tdx");
  // Everything the decision relied on is kept for the audit replay.
  std::set<std::string> names;
  for (const auto& [name, bytes] : v->collateral_bytes) names.insert(name);
  CHECK(names == std::set<std::string>{"tdx_tcb_info", "tdx_qe_identity", "tdx_tcb_signing_chain",
                                       "tdx_pck_crl.0", "tdx_root_ca_crl"});

  SECTION("a debug TD says so") {
    q.debug = true;
    auto d = w.verifier->Verify(w.Evidence(q));
    REQUIRE(d.has_value());
    CHECK(d->claims.at("debug") == true);
    CHECK(d->claims.at("tdx.td_attributes.debug") == true);
  }
  SECTION("replay as at the release with the kept collateral, after it went stale") {
    RecordedState state;
    state.time = w.t0;
    for (const auto& [name, bytes] : v->collateral_bytes) state.collateral[name] = bytes;
    w.clock.Set(w.t0 + 10 * 86400);
    CHECK(test::ReasonOf(w.verifier->Verify(w.Evidence(q))) == "tdx_collateral_stale");
    auto replay = w.verifier->VerifyRecorded(w.Evidence(q), state);
    INFO((replay ? "" : replay.error().message()));
    REQUIRE(replay.has_value());
    CHECK(replay->claims.at("tdx.tcb_status") == "UpToDate");
  }
}

TEST_CASE("TDX verifier: statuses and refusals from the collateral", "[tdx][verifier]") {
  World w;
  SECTION("no collateral imported") {
    CHECK(test::ReasonOf(w.verifier->Verify(w.Evidence())) == "tdx_collateral_missing");
  }
  SECTION("an OutOfDate platform level, with its advisories") {
    test::TestTcbLevel newer = test::IntelTestPki::MatchingLevel();
    newer.pce_svn = 13;  // the PCK has 11
    test::TestTcbLevel ours = test::IntelTestPki::MatchingLevel();
    ours.status = "OutOfDate";
    ours.advisory_ids = {"INTEL-SA-00999"};
    w.Import(w.Texts({newer, ours}));
    auto v = w.verifier->Verify(w.Evidence());
    REQUIRE(v.has_value());
    CHECK(v->claims.at("tdx.tcb_status") == "OutOfDate");
    CHECK(v->claims.at("tdx.advisory_ids") == Json::array({"INTEL-SA-00999"}));
  }
  SECTION("a revoked PCK certificate") {
    w.Import(w.Texts({}, test::IntelTestPki::kPckSerial));
    CHECK(test::ReasonOf(w.verifier->Verify(w.Evidence())) == "tdx_pck_revoked");
  }
  SECTION("collateral past nextUpdate beyond the grace") {
    w.Import(w.Texts());
    w.clock.Set(w.t0 + 86400 + 3600 + 10);
    CHECK(test::ReasonOf(w.verifier->Verify(w.Evidence())) == "tdx_collateral_stale");
    w.clock.Set(w.t0 + 86400 + 1800);  // inside the grace
    CHECK(w.verifier->Verify(w.Evidence()).has_value());
  }
  SECTION("a TDX module below every level: not supported") {
    test::TestTdQuote q;
    q.tee_tcb_svn = {0x03, 0x00, 0x04};
    w.Import(w.Texts());
    CHECK(test::ReasonOf(w.verifier->Verify(w.Evidence(q))) == "tdx_tcb_not_supported");
  }
  SECTION("collateral signed by another TCB signing key is refused at import") {
    test::IntelTestPki other;
    auto t = w.Texts();
    t.tcb_infos = {other.TcbInfoBody(w.t0 - 60, w.t0 + 86400)};
    CHECK(test::ReasonOf(TdxCollateralSet::Build(t, w.verifier->roots())) ==
          "tdx_collateral_untrusted");
  }
  SECTION("a root CA CRL from someone else is refused at import") {
    test::IntelTestPki other;
    auto t = w.Texts();
    t.root_ca_crl = other.RootCrlPem({}, w.t0 - 60, w.t0 + 86400);
    CHECK(test::ReasonOf(TdxCollateralSet::Build(t, w.verifier->roots())) == "tdx_crl_untrusted");
  }
  SECTION("the pinned Intel root alone does not trust the test PKI") {
    TdxVerifierOptions opts;
    TdxVerifier pinned_only(std::move(opts), w.clock);
    CHECK(test::ReasonOf(pinned_only.Verify(w.Evidence())) == "tdx_pck_chain_untrusted");
  }
  SECTION("evidence without a quote, or not base64") {
    CHECK(test::ReasonOf(w.verifier->Verify(Json{{"type", "tdx"}})) == "tdx_quote_malformed");
    CHECK(test::ReasonOf(w.verifier->Verify(Json{{"type", "tdx"}, {"quote", "%%%"}})) ==
          "tdx_quote_malformed");
  }
}

}  // namespace skr::attestation::tdx
