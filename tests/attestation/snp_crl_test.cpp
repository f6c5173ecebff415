// SPDX-License-Identifier: Apache-2.0
// AMD CRLs in the sev-snp verifier: thisUpdate / nextUpdate, the crl_max_staleness limit judged
// at verification time against the injected clock, and swapping the CRL set while verifying.
// Real evidence (reports signed by the AMD-shaped test PKI) and real CRLs signed by its ARK/ASK.
#include <catch2/catch.hpp>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "attestation/snp/cert_chain.h"
#include "attestation/snp/snp_verifier.h"
#include "common/clock.h"
#include "common/encoding.h"
#include "common/x509.h"
#include "tests/support/amd_test_pki.h"
#include "tests/support/test_support.h"

namespace snp = skr::attestation::snp;
using skr::ErrorCode;
using skr::FakeClock;
using skr::Json;
using skr::test::AmdTestPki;
using skr::test::CodeOf;
using skr::test::ReasonOf;
using Issuer = skr::test::AmdTestPki::CrlIssuer;

namespace {

constexpr std::int64_t kDay = 86400;

std::array<std::uint8_t, 64> Chip() {
  std::array<std::uint8_t, 64> c{};
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = static_cast<std::uint8_t>(0x40 + i);
  return c;
}

const AmdTestPki& Pki() {
  static const AmdTestPki pki(Chip(), skr::test::AmdTestTcb{});
  return pki;
}

// The test PKI's certificates are valid from yesterday for ten years (real time).
std::int64_t Now() { return skr::SystemClock().NowUnix(); }

snp::AmdTrustStore TestStore() {
  auto certs = skr::ParseCertificatesPem(Pki().RootsPem());
  REQUIRE(certs.has_value());
  REQUIRE(certs->size() == 2);
  snp::AmdTrustStore store;
  REQUIRE(store
              .AddProduct(snp::AmdProductRoots{snp::Product::kMilan, std::move((*certs)[0]),
                                               std::move((*certs)[1]), nullptr})
              .has_value());
  return store;
}

Json Evidence() {
  skr::test::TestSnpReport rep;
  rep.chip_id = Chip();
  auto bytes = rep.Build();
  Pki().SignReport(bytes);
  return {{"type", "sev-snp"}, {"report", skr::Base64Encode(bytes)}, {"vcek", Pki().VcekPem()}};
}

std::vector<skr::X509CrlPtr> Crls(const std::string& pem) {
  auto crls = skr::ParseCrls(pem);
  REQUIRE(crls.has_value());
  return std::move(crls).value();
}

skr::Result<snp::CrlSet> MakeSet(const std::string& pem, std::int64_t now,
                                 std::int64_t max_staleness = 0) {
  return snp::CrlSet::Create(Crls(pem), TestStore(), now, max_staleness);
}

std::shared_ptr<const snp::CrlSet> SharedSet(const std::string& pem, std::int64_t now,
                                             std::int64_t max_staleness = 0) {
  auto set = MakeSet(pem, now, max_staleness);
  REQUIRE(set.has_value());
  return std::make_shared<const snp::CrlSet>(std::move(set).value());
}

// A sev-snp verifier over the test PKI with `crls`, judging time by `clock`.
std::unique_ptr<snp::SnpVerifier> Verifier(std::shared_ptr<const snp::CrlSet> crls,
                                           const skr::Clock& clock) {
  snp::SnpVerifierOptions opts;
  opts.trust = TestStore();
  opts.crls = std::move(crls);
  return std::make_unique<snp::SnpVerifier>(std::move(opts), clock);
}

}  // namespace

TEST_CASE("snp CRL: a fresh ARK CRL that lists no certificate of the chain lets evidence verify",
          "[attestation][snp][crl]") {
  const std::int64_t t0 = Now();
  FakeClock clock(t0);
  auto v = Verifier(SharedSet(Pki().CrlPem(Issuer::kArk, {77}, t0 - kDay, t0 + 6 * kDay), t0),
                    clock);
  auto r = v->Verify(Evidence());
  INFO((r ? "" : r.error().message()));
  CHECK(r.has_value());
}

TEST_CASE("snp CRL: revoked ASK or VCEK refuses the evidence", "[attestation][snp][crl]") {
  const std::int64_t t0 = Now();
  FakeClock clock(t0);
  SECTION("ARK CRL listing the ASK (AMD KDS shape)") {
    auto v = Verifier(SharedSet(Pki().CrlPem(Issuer::kArk, {AmdTestPki::kAskSerial}, t0 - kDay,
                                             t0 + 6 * kDay),
                                t0),
                      clock);
    auto r = v->Verify(Evidence());
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "cert_revoked");
  }
  SECTION("ASK CRL listing the VCEK") {
    auto v = Verifier(SharedSet(Pki().CrlPem(Issuer::kAsk, {AmdTestPki::kVcekSerial}, t0 - kDay,
                                             t0 + 6 * kDay),
                                t0),
                      clock);
    CHECK(ReasonOf(v->Verify(Evidence())) == "cert_revoked");
  }
  SECTION("a revocation counts even when the CRL is stale beyond the limit") {
    auto v = Verifier(SharedSet(Pki().CrlPem(Issuer::kArk, {AmdTestPki::kAskSerial}, t0 - 9 * kDay,
                                             t0 - 2 * kDay),
                                t0, /*max_staleness=*/kDay),
                      clock);
    CHECK(ReasonOf(v->Verify(Evidence())) == "cert_revoked");
  }
}

TEST_CASE("snp CRL: a stale CRL without crl_max_staleness is only reported, not refused",
          "[attestation][snp][crl]") {
  const std::int64_t t0 = Now();
  FakeClock clock(t0);
  auto set = SharedSet(Pki().CrlPem(Issuer::kArk, {}, t0 - 10 * kDay, t0 - 3 * kDay), t0);
  REQUIRE(set->crls().size() == 1);
  const snp::AmdCrl& crl = set->crls()[0];
  CHECK(crl.product == snp::Product::kMilan);
  CHECK(crl.issuer == "ARK-Milan");
  CHECK(crl.this_update == t0 - 10 * kDay);
  CHECK(crl.next_update == t0 - 3 * kDay);
  CHECK(snp::CrlSet::Stale(crl, t0) == 3 * kDay);
  CHECK(snp::CrlSet::Stale(crl, t0 - 4 * kDay) == 0);
  auto v = Verifier(set, clock);
  CHECK(v->Verify(Evidence()).has_value());
  clock.Advance(365 * kDay);  // still only a warning
  CHECK(v->Verify(Evidence()).has_value());
}

TEST_CASE("snp CRL: stale by more than crl_max_staleness is refused at verification time",
          "[attestation][snp][crl]") {
  const std::int64_t t0 = Now();
  FakeClock clock(t0);
  // Fresh when loaded: nextUpdate in 2 days, at most 1 day of staleness tolerated.
  auto v = Verifier(SharedSet(Pki().CrlPem(Issuer::kArk, {77}, t0 - kDay, t0 + 2 * kDay), t0,
                              /*max_staleness=*/kDay),
                    clock);
  REQUIRE(v->Verify(Evidence()).has_value());

  clock.Set(t0 + 3 * kDay);  // exactly max_staleness past nextUpdate: still accepted
  CHECK(v->Verify(Evidence()).has_value());

  clock.Set(t0 + 3 * kDay + 1);  // one second more: refused
  auto r = v->Verify(Evidence());
  CHECK(CodeOf(r) == ErrorCode::kUnavailable);
  CHECK(ReasonOf(r) == "snp_crl_stale");
  REQUIRE_FALSE(r.has_value());
  CHECK_THAT(r.error().message(), Catch::Contains("crl_max_staleness_seconds"));
  CHECK_THAT(r.error().message(), Catch::Contains("ARK-Milan"));
}

TEST_CASE("snp CRL: a CRL whose thisUpdate is in the future is refused at load and at use",
          "[attestation][snp][crl]") {
  const std::int64_t t0 = Now();
  SECTION("at load: a configuration error") {
    auto set = MakeSet(Pki().CrlPem(Issuer::kArk, {}, t0 + 3600, t0 + 7 * kDay), t0);
    CHECK(CodeOf(set) == ErrorCode::kInvalidArgument);
    CHECK(ReasonOf(set) == "snp_crl_not_yet_valid");
  }
  SECTION("at use: the clock is before thisUpdate (set back after loading)") {
    FakeClock clock(t0);
    auto v = Verifier(SharedSet(Pki().CrlPem(Issuer::kArk, {}, t0 - 60, t0 + 7 * kDay), t0), clock);
    REQUIRE(v->Verify(Evidence()).has_value());
    clock.Set(t0 - 3600);
    auto r = v->Verify(Evidence());
    CHECK(CodeOf(r) == ErrorCode::kUnavailable);
    CHECK(ReasonOf(r) == "snp_crl_not_yet_valid");
  }
}

TEST_CASE("snp CRL: CrlSet refuses CRLs it cannot attribute or judge", "[attestation][snp][crl]") {
  const std::int64_t t0 = Now();
  SECTION("signed by an unrelated AMD-shaped PKI") {
    AmdTestPki rogue(Chip(), skr::test::AmdTestTcb{});  // same names, other keys
    auto set = MakeSet(rogue.CrlPem(Issuer::kArk, {}, t0 - kDay, t0 + kDay), t0);
    CHECK(CodeOf(set) == ErrorCode::kInvalidArgument);
    CHECK(ReasonOf(set) == "crl_untrusted");
  }
  SECTION("two CRLs from the same issuer") {
    auto set = MakeSet(Pki().CrlPem(Issuer::kArk, {}, t0 - kDay, t0 + kDay) +
                           Pki().CrlPem(Issuer::kArk, {5}, t0 - 60, t0 + kDay),
                       t0);
    CHECK(ReasonOf(set) == "crl_duplicate");
  }
  SECTION("an ARK CRL and an ASK CRL are both kept") {
    auto set = MakeSet(Pki().CrlPem(Issuer::kArk, {}, t0 - kDay, t0 + kDay) +
                           Pki().CrlPem(Issuer::kAsk, {}, t0 - kDay, t0 + kDay),
                       t0);
    REQUIRE(set.has_value());
    CHECK(set->crls().size() == 2);
  }
  SECTION("no nextUpdate") {
    auto set = MakeSet(Pki().CrlPem(Issuer::kArk, {}, t0 - kDay, std::nullopt), t0);
    CHECK(ReasonOf(set) == "crl_malformed");
  }
  SECTION("nextUpdate before thisUpdate") {
    auto set = MakeSet(Pki().CrlPem(Issuer::kArk, {}, t0 - kDay, t0 - 2 * kDay), t0);
    CHECK(ReasonOf(set) == "crl_malformed");
  }
  SECTION("ParseCrls: a PEM bundle with a certificate in it is refused") {
    auto crls = skr::ParseCrls(Pki().CrlPem(Issuer::kArk, {}, t0 - kDay, t0 + kDay) + Pki().VcekPem());
    CHECK(ReasonOf(crls) == "crl_malformed");
  }
}

TEST_CASE("snp CRL: ReplaceCrls swaps the set for later verifications",
          "[attestation][snp][crl]") {
  const std::int64_t t0 = Now();
  FakeClock clock(t0);
  auto clean = SharedSet(Pki().CrlPem(Issuer::kArk, {77}, t0 - kDay, t0 + kDay), t0);
  auto revoking = SharedSet(
      Pki().CrlPem(Issuer::kAsk, {AmdTestPki::kVcekSerial}, t0 - 60, t0 + kDay), t0);
  auto v = Verifier(clean, clock);
  REQUIRE(v->Verify(Evidence()).has_value());
  v->ReplaceCrls(revoking);
  CHECK(v->crls() == revoking);
  CHECK(ReasonOf(v->Verify(Evidence())) == "cert_revoked");
  v->ReplaceCrls(clean);
  CHECK(v->Verify(Evidence()).has_value());

  SECTION("concurrent verifications see one whole set or the other") {
    const Json ev = Evidence();
    std::atomic<bool> stop{false};
    std::atomic<int> odd{0};
    std::vector<std::thread> readers;
    for (int i = 0; i < 3; ++i) {
      readers.emplace_back([&] {
        while (!stop.load()) {
          auto r = v->Verify(ev);
          if (!r.has_value() && r.error().reason() != "cert_revoked") odd.fetch_add(1);
        }
      });
    }
    for (int i = 0; i < 200; ++i) v->ReplaceCrls(i % 2 == 0 ? revoking : clean);
    stop.store(true);
    for (auto& t : readers) t.join();
    CHECK(odd.load() == 0);
  }
}

TEST_CASE("snp CRL: a replay judges the CRLs kept with the release, as at its time",
          "[attestation][snp][crl][replay]") {
  const std::int64_t t0 = Now();
  FakeClock clock(t0);
  // At the release: a fresh ARK CRL that revokes nothing of the chain, max staleness one day.
  auto v = Verifier(SharedSet(Pki().CrlPem(Issuer::kArk, {77}, t0 - kDay, t0 + 6 * kDay), t0,
                              /*max_staleness=*/kDay),
                    clock);
  auto released = v->Verify(Evidence());
  REQUIRE(released.has_value());
  REQUIRE(released->collateral_bytes.size() == 1);
  CHECK(released->collateral_bytes[0].first == "snp_crl.0");
  skr::attestation::RecordedState state;
  state.time = t0;
  for (const auto& [name, bytes] : released->collateral_bytes) state.collateral.emplace(name, bytes);

  SECTION("a month later the CRL is stale: today refuses, the replay decides as then") {
    clock.Set(t0 + 30 * kDay);
    CHECK(ReasonOf(v->Verify(Evidence())) == "snp_crl_stale");
    auto replayed = v->VerifyRecorded(Evidence(), state);
    INFO((replayed ? "" : replayed.error().message()));
    CHECK(replayed.has_value());
  }
  SECTION("the ASK revoked since: today refuses, the replay (kept CRL) still grants") {
    v->ReplaceCrls(SharedSet(Pki().CrlPem(Issuer::kArk, {AmdTestPki::kAskSerial}, t0, t0 + 6 * kDay),
                             t0, kDay));
    CHECK(ReasonOf(v->Verify(Evidence())) == "cert_revoked");
    CHECK(v->VerifyRecorded(Evidence(), state).has_value());
  }
  SECTION("a kept CRL that revokes the ASK refuses the replay") {
    auto revoking = Verifier(SharedSet(Pki().CrlPem(Issuer::kArk, {AmdTestPki::kAskSerial}, t0 - kDay,
                                                    t0 + 6 * kDay),
                                       t0),
                             clock);
    auto crls = revoking->crls();
    REQUIRE(crls != nullptr);
    state.collateral["snp_crl.0"] = crls->crls()[0].der;
    CHECK(ReasonOf(v->VerifyRecorded(Evidence(), state)) == "cert_revoked");
  }
  SECTION("kept bytes that are no CRL are refused clearly") {
    state.collateral["snp_crl.0"] = "garbage";
    CHECK(ReasonOf(v->VerifyRecorded(Evidence(), state)) == "crl_malformed");
  }
}
