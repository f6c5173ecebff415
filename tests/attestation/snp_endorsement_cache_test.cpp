// SPDX-License-Identifier: Apache-2.0
// The sev-snp verifier's endorsement cache (attestation/snp/endorsement_cache.h, issue 10): a
// VCEK verified once is not parsed again for the next report, but everything that depends on
// time or on the report is still checked on every hit, and nothing about a failure is kept.
// Real reports signed by the AMD-shaped test PKI (tests/support/amd_test_pki.h).
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "attestation/snp/endorsement_cache.h"
#include "attestation/snp/snp_verifier.h"
#include "common/clock.h"
#include "common/encoding.h"
#include "common/x509.h"
#include "tests/support/amd_test_pki.h"
#include "tests/support/test_support.h"

namespace snp = skr::attestation::snp;
using skr::FakeClock;
using skr::Json;
using skr::test::AmdTestPki;
using skr::test::ReasonOf;

namespace {

constexpr std::int64_t kDay = 86400;

std::array<std::uint8_t, 64> Chip() {
  std::array<std::uint8_t, 64> c{};
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = static_cast<std::uint8_t>(0x21 + i);
  return c;
}

const AmdTestPki& Pki() {
  static const AmdTestPki pki(Chip(), skr::test::AmdTestTcb{});
  return pki;
}

snp::AmdTrustStore Store(const AmdTestPki& pki) {
  auto certs = skr::ParseCertificatesPem(pki.RootsPem());
  REQUIRE(certs.has_value());
  REQUIRE(certs->size() == 2);
  snp::AmdTrustStore store;
  REQUIRE(store
              .AddProduct(snp::AmdProductRoots{snp::Product::kMilan, std::move((*certs)[0]),
                                               std::move((*certs)[1]), nullptr})
              .has_value());
  return store;
}

std::unique_ptr<snp::SnpVerifier> Verifier(const skr::Clock& clock) {
  snp::SnpVerifierOptions opts;
  opts.trust = Store(Pki());
  return std::make_unique<snp::SnpVerifier>(std::move(opts), clock);
}

// A report with report_data[0] = `tag`, signed by the test VCEK (unless `tamper`).
Json Evidence(std::uint8_t tag, bool tamper = false, const std::string& vcek = Pki().VcekPem()) {
  skr::test::TestSnpReport rep;
  rep.chip_id = Chip();
  rep.report_data[0] = tag;
  auto bytes = rep.Build();
  Pki().SignReport(bytes);
  if (tamper) bytes[0x50] ^= 1;  // REPORT_DATA, inside the signed part
  return {{"type", "sev-snp"}, {"report", skr::Base64Encode(bytes)}, {"vcek", vcek}};
}

std::int64_t Now() { return skr::SystemClock().NowUnix(); }

}  // namespace

TEST_CASE("snp endorsement cache: a second report of the same VCEK is verified from the cache",
          "[attestation][snp][cache]") {
  FakeClock clock(Now());
  auto v = Verifier(clock);
  CHECK(v->cached_endorsements() == 0);
  auto first = v->Verify(Evidence(1));
  REQUIRE(first.has_value());
  CHECK(v->cached_endorsements() == 1);
  auto second = v->Verify(Evidence(2));
  REQUIRE(second.has_value());
  CHECK(v->cached_endorsements() == 1);
  // Same claims from the cached endorsement as from the full check, but this report's data.
  Json a = first->claims;
  Json b = second->claims;
  CHECK(a.at("snp.product") == b.at("snp.product"));
  CHECK(a.at("snp.signer") == "vcek");
  CHECK(b.at("snp.signer") == "vcek");
  CHECK(second->bound_data.at(0) == 2);
  CHECK(first->bound_data.at(0) == 1);
}

TEST_CASE("snp endorsement cache: a hit still checks the report signature and the time",
          "[attestation][snp][cache]") {
  FakeClock clock(Now());
  auto v = Verifier(clock);
  REQUIRE(v->Verify(Evidence(1)).has_value());
  REQUIRE(v->cached_endorsements() == 1);

  SECTION("a tampered report signed under the cached VCEK is refused") {
    CHECK(ReasonOf(v->Verify(Evidence(3, /*tamper=*/true))) == "snp_signature_invalid");
  }
  SECTION("once the VCEK has expired the cached endorsement no longer counts") {
    clock.Advance(11 * 365 * kDay);  // the test PKI's certificates are valid for ten years
    CHECK(ReasonOf(v->Verify(Evidence(4))) == "cert_expired");
    clock.Set(Now());
    CHECK(v->Verify(Evidence(5)).has_value());
  }
  SECTION("before the chain's notBefore (clock set back) it does not count either") {
    clock.Set(Now() - 30 * kDay);  // valid from yesterday
    CHECK(ReasonOf(v->Verify(Evidence(6))) == "cert_not_yet_valid");
  }
}

TEST_CASE("snp endorsement cache: failures are not cached", "[attestation][snp][cache]") {
  FakeClock clock(Now());
  auto v = Verifier(clock);
  // A VCEK from an AMD-shaped PKI that is not in the trust store.
  AmdTestPki rogue(Chip(), skr::test::AmdTestTcb{});
  skr::test::TestSnpReport rep;
  rep.chip_id = Chip();
  auto bytes = rep.Build();
  rogue.SignReport(bytes);
  const Json ev = {{"type", "sev-snp"}, {"report", skr::Base64Encode(bytes)}, {"vcek", rogue.VcekPem()}};
  CHECK(ReasonOf(v->Verify(ev)) == "snp_chain_untrusted");
  CHECK(ReasonOf(v->Verify(ev)) == "snp_chain_untrusted");
  CHECK(v->cached_endorsements() == 0);
  // A malformed offer is refused even when the same evidence also offers the good, cached VCEK.
  REQUIRE(v->Verify(Evidence(7)).has_value());
  Json bad = Evidence(8);
  bad["cert_chain"] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  CHECK(ReasonOf(v->Verify(bad)) == "snp_cert_malformed");
}

TEST_CASE("snp endorsement cache: bounded, oldest entry evicted first", "[attestation][snp][cache]") {
  auto make = [] {
    auto cert = skr::ParseCertificatePem(Pki().VcekPem());
    REQUIRE(cert.has_value());
    auto key = skr::P384PublicKey::FromEvpPkey(X509_get0_pubkey(cert->get()));
    REQUIRE(key.has_value());
    return std::make_shared<const snp::CachedEndorsement>(snp::CachedEndorsement{
        {}, std::move(key).value(), std::move(cert).value(), 0, {}, {}});
  };
  snp::EndorsementCache cache(2);
  snp::OfferDigest d1{}, d2{}, d3{};
  d1[0] = 1;
  d2[0] = 2;
  d3[0] = 3;
  cache.Insert(d1, make());
  cache.Insert(d2, make());
  CHECK(cache.size() == 2);
  auto replaced = make();
  cache.Insert(d2, replaced);  // same digest: replaced in place, nothing evicted
  CHECK(cache.size() == 2);
  CHECK(cache.Find(d2) == replaced);
  CHECK(cache.Find(d1) != nullptr);
  cache.Insert(d3, make());  // full: d1, the oldest, goes
  CHECK(cache.size() == 2);
  CHECK(cache.Find(d1) == nullptr);
  CHECK(cache.Find(d2) != nullptr);
  CHECK(cache.Find(d3) != nullptr);

  snp::EndorsementCache off(0);  // capacity 0 keeps nothing
  off.Insert(d1, make());
  CHECK(off.size() == 0);
}
