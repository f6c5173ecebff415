// SPDX-License-Identifier: Apache-2.0
// skr-agent's TDX attester (issue 13) over a stand-in configfs-tsm with the tdx_guest provider
// whose "quote generation" is the Intel-shaped test PKI.
#include <catch2/catch.hpp>

#include "client/tdx_attester.h"
#include "common/encoding.h"
#include "tests/client/fake_tsm.h"
#include "tests/support/intel_test_pki.h"
#include "tests/support/test_support.h"

namespace skr::client {
namespace {

const test::IntelTestPki& Pki() {
  static const test::IntelTestPki pki;
  return pki;
}

std::array<std::uint8_t, 48> Digest() {
  std::array<std::uint8_t, 48> d{};
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<std::uint8_t>(0x40 + i);
  return d;
}

// A quote generation service: a TD quote whose REPORTDATA is what was written to inblob.
std::string QuoteFor(const std::string& inblob) {
  test::TestTdQuote q;
  std::copy(inblob.begin(), inblob.end(), q.report_data.begin());
  const auto bytes = Pki().Quote(q);
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace

TEST_CASE("TDX attester: the quote from configfs-tsm carries digest || zeros", "[client][tdx]") {
  test::FakeTsm tsm("tdx_guest");
  tsm.make_outblob = QuoteFor;
  tsm.Start();
  TdxAttester attester({tsm.report_dir, tsm.entry});
  const auto digest = Digest();
  auto ev = attester.Collect(digest);
  INFO((ev ? "" : ev.error().message()));
  REQUIRE(ev.has_value());
  CHECK((*ev)["type"] == "tdx");
  auto quote = Base64Decode((*ev)["quote"].get<std::string>());
  REQUIRE(quote.has_value());
  // REPORTDATA sits at byte 48 + 520 of a v4 quote.
  CHECK(std::equal(digest.begin(), digest.end(), quote->begin() + 568));
  CHECK(std::all_of(quote->begin() + 568 + 48, quote->begin() + 568 + 64,
                    [](std::uint8_t b) { return b == 0; }));
}

TEST_CASE("TDX attester: another provider, a non-TDX outblob or no interface is named",
          "[client][tdx]") {
  const auto digest = Digest();
  SECTION("an SEV-SNP guest") {
    test::FakeTsm tsm("sev_guest");
    tsm.Start();
    auto ev = TdxAttester({tsm.report_dir, tsm.entry}).Collect(digest);
    CHECK(test::ReasonOf(ev) == "evidence_unavailable");
    CHECK(ev.error().message().find("provider is 'sev_guest', not tdx_guest") != std::string::npos);
  }
  SECTION("an outblob that is not a TDX quote") {
    test::FakeTsm tsm("tdx_guest");
    tsm.make_outblob = [](const std::string&) { return std::string(1184, '\x02'); };
    tsm.Start();
    auto ev = TdxAttester({tsm.report_dir, tsm.entry}).Collect(digest);
    CHECK(test::ReasonOf(ev) == "evidence_unavailable");
    CHECK(ev.error().message().find("not a TDX quote") != std::string::npos);
  }
  SECTION("a quote for other REPORTDATA") {
    test::FakeTsm tsm("tdx_guest");
    tsm.make_outblob = [](const std::string&) { return QuoteFor(std::string(64, 'z')); };
    tsm.Start();
    auto ev = TdxAttester({tsm.report_dir, tsm.entry}).Collect(digest);
    CHECK(ev.error().message().find("does not carry the requested REPORTDATA") != std::string::npos);
  }
  SECTION("no configfs-tsm") {
    test::TempDir tmp;
    auto ev = TdxAttester({tmp.file("none"), ""}).Collect(digest);
    CHECK(test::ReasonOf(ev) == "evidence_unavailable");
    CHECK(ev.error().message().find("configfs-tsm not available") != std::string::npos);
  }
}

}  // namespace skr::client
