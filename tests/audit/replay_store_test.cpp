// SPDX-License-Identifier: Apache-2.0
// Replay bundles and the collateral bytes they name by digest (audit schema migrations 4 and 6),
// on a real SQLite file: stored in the record's transaction, kept once per digest, pruned with
// the bundles that name them and never while a kept bundle may still need them.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "audit/audit.h"
#include "common/encoding.h"
#include "common/ossl.h"
#include "tests/support/test_support.h"

namespace skr::audit {
namespace {

constexpr std::int64_t kNow = 1764300000;

Record Release(int i) {
  Record r;
  r.kind = "release";
  r.action = "release";
  r.actor = "attester";
  r.tenant = "acme";
  r.key = "disk";
  r.decision = "granted";
  r.reason = "policy satisfied";
  r.request_id = "req-" + std::to_string(i);
  return r;
}

std::int64_t CountRows(const std::string& path, const char* table) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  const std::string sql = std::string("SELECT count(*) FROM ") + table;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  const std::int64_t n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

}  // namespace

TEST_CASE("AuditLog: collateral bytes are kept once per digest beside the bundles that name them",
          "[audit][replay]") {
  test::TempDir dir;
  const std::string path = dir.file("audit.db");
  FakeClock clock(kNow);
  auto opened = AuditLog::Open(path, clock);
  REQUIRE(opened.has_value());
  AuditLog& log = **opened;

  const std::string vcek = "vcek DER bytes";
  const std::string crl = std::string("crl\0bytes", 9);  // binary-safe
  const std::string vcek_sha = HexEncode(Sha256(vcek));
  const std::string crl_sha = HexEncode(Sha256(crl));
  auto r1 = log.Append(Release(1), R"({"evidence":1})", {{vcek_sha, vcek}, {crl_sha, crl}});
  REQUIRE(r1.has_value());
  clock.Advance(10);
  auto r2 = log.Append(Release(2), R"({"evidence":2})", {{vcek_sha, vcek}});
  REQUIRE(r2.has_value());
  CHECK(CountRows(path, "replay_collateral") == 2);  // one row per digest
  CHECK(log.ReplayCollateral(vcek_sha).value() == vcek);
  CHECK(log.ReplayCollateral(crl_sha).value() == crl);
  CHECK_FALSE(log.ReplayCollateral(std::string(64, '0')).value().has_value());
  CHECK(log.VerifyAll().value() == 2);  // the leaves do not cover the kept bytes

  SECTION("pruning keeps what a kept bundle may name, and drops the rest with the bundles") {
    // A release a day later names only the VCEK.
    clock.Advance(86400);
    auto r3 = log.Append(Release(3), R"({"evidence":3})", {{vcek_sha, vcek}});
    REQUIRE(r3.has_value());
    // Retention ends just before r3: r1 and r2's bundles go, and the CRL only they named.
    CHECK(log.PruneReplayBundles(r3->time).value() == 2);
    CHECK_FALSE(log.ReplayBundle(r1->seq).value().has_value());
    CHECK(log.ReplayBundle(r3->seq).value().has_value());
    CHECK(log.ReplayCollateral(vcek_sha).value() == vcek);
    CHECK_FALSE(log.ReplayCollateral(crl_sha).value().has_value());
  }
  SECTION("kept bytes cannot be rewritten in SQL") {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    const std::string sql = "UPDATE replay_collateral SET bytes = x'00' WHERE sha256 = '" + vcek_sha + "'";
    CHECK(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK);
    CHECK(std::string(sqlite3_errmsg(db)).find("write-once") != std::string::npos);
    sqlite3_close(db);
    CHECK(log.ReplayCollateral(vcek_sha).value() == vcek);
  }
}

}  // namespace skr::audit
