// SPDX-License-Identifier: Apache-2.0
// skr-agent's SEV-SNP collection against a directory laid out like configfs-tsm, with a
// "kernel" thread that answers inblob writes the way the sev_guest provider does.
#include <sys/stat.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "client/snp_attester.h"
#include "common/encoding.h"
#include "tests/client/fake_tsm.h"
#include "tests/support/test_support.h"

using skr::client::CollectSnpViaConfigfsTsm;
using skr::test::FakeTsm;
namespace fs = std::filesystem;

namespace {

std::array<std::uint8_t, 64> Rd() {
  std::array<std::uint8_t, 64> rd{};
  for (std::size_t i = 0; i < 48; ++i) rd[i] = static_cast<std::uint8_t>(i + 1);
  return rd;
}

}  // namespace

TEST_CASE("configfs-tsm: writes inblob, reads outblob and auxblob", "[client][snp]") {
  FakeTsm tsm;
  tsm.Start();
  auto rd = Rd();
  auto out = CollectSnpViaConfigfsTsm(tsm.report_dir, rd, 0, tsm.entry);
  REQUIRE(out.has_value());
  CHECK(out->report.size() == 1184);
  CHECK(std::equal(rd.begin(), rd.end(), out->report.begin() + 0x50));
  CHECK(std::string(out->auxblob.begin(), out->auxblob.end()) == "CERT-TABLE");
  CHECK(skr::test::ReadFileOrFail(tsm.Path("inblob")) == std::string(rd.begin(), rd.end()));
}

TEST_CASE("configfs-tsm: VMPL goes to privlevel", "[client][snp]") {
  FakeTsm tsm;
  tsm.generation_step = 2;  // privlevel write + inblob write
  tsm.Start();
  auto out = CollectSnpViaConfigfsTsm(tsm.report_dir, Rd(), 2, tsm.entry);
  REQUIRE(out.has_value());
  CHECK(skr::test::ReadFileOrFail(tsm.Path("privlevel")) == "2");
}

TEST_CASE("configfs-tsm: rejects a concurrent writer and a report without our data",
          "[client][snp]") {
  SECTION("generation moved by someone else") {
    FakeTsm tsm;
    tsm.generation_step = 3;
    tsm.Start();
    auto out = CollectSnpViaConfigfsTsm(tsm.report_dir, Rd(), 0, tsm.entry);
    CHECK(skr::test::ReasonOf(out) == "tsm_failed");
  }
  SECTION("REPORT_DATA not echoed") {
    FakeTsm tsm;
    tsm.make_outblob = [](const std::string&) {  // a provider that ignores inblob
      std::string report(1184, '\0');
      report[0] = 2;
      return report;
    };
    tsm.Start();
    auto out = CollectSnpViaConfigfsTsm(tsm.report_dir, Rd(), 0, tsm.entry);
    CHECK(skr::test::ReasonOf(out) == "tsm_failed");
  }
  SECTION("short outblob") {
    FakeTsm tsm;
    tsm.Put("inblob", std::string(64, 'x'));  // kernel thread not started: we answer by hand
    tsm.Put("outblob", "short");
    tsm.Put("inblob", "");
    auto out = CollectSnpViaConfigfsTsm(tsm.report_dir, Rd(), 0, tsm.entry);
    CHECK(skr::test::ReasonOf(out) == "tsm_failed");
  }
}

TEST_CASE("configfs-tsm: absent interface falls back, then reports unavailable",
          "[client][snp]") {
  skr::test::TempDir tmp;
  auto out = CollectSnpViaConfigfsTsm(tmp.file("no-such-dir"), Rd(), 0);
  CHECK(skr::test::ReasonOf(out) == "tsm_unavailable");
  skr::client::SnpAttesterOptions o;
  o.tsm_report_dir = tmp.file("no-such-dir");
  o.sev_guest_device = tmp.file("no-sev-guest");
  skr::client::SnpAttester att(o);
  std::array<std::uint8_t, 48> digest{};
  auto ev = att.Collect(digest);
  CHECK(skr::test::ReasonOf(ev) == "evidence_unavailable");
  CHECK(skr::test::CodeOf(ev) == skr::ErrorCode::kMalformedEvidence);
}

TEST_CASE("configfs-tsm: an entry the agent creates is removed afterwards", "[client][snp]") {
  skr::test::TempDir tmp;
  fs::create_directories(tmp.file("report"));
  // A plain directory is not configfs: nothing answers, so collection fails, and the entry
  // it created must not be left behind.
  auto out = CollectSnpViaConfigfsTsm(tmp.file("report"), Rd(), 0);
  CHECK(!out.has_value());
  CHECK(fs::is_empty(tmp.file("report")));
}
