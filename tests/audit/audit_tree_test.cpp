// SPDX-License-Identifier: Apache-2.0
// The audit log's Merkle tree in SQLite (audit/tree_store.h, audit_tree.cpp; issue 11): every
// record is a leaf whose bytes anyone can recompute from the record (its JCS form), roots and
// proofs at every size verify, a log opened without a tree gets one, and tampering with the tree
// or the records underneath is detected. Real SQLite files.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "audit/audit.h"
#include "common/merkle.h"
#include "tests/support/test_support.h"

namespace skr::audit {
namespace {

constexpr std::int64_t kNow = 1764300000;

Record MakeRecord(const std::string& tenant, int i) {
  Record r;
  r.kind = "release";
  r.action = "release";
  r.actor = "attester";
  r.tenant = tenant;
  r.key = "k" + std::to_string(i % 3);
  r.version = 1;
  r.decision = i % 4 == 0 ? "denied" : "granted";
  r.reason = r.decision == "denied" ? "policy_denied: snp.policy.debug" : "policy satisfied";
  r.request_id = "req-" + std::to_string(i);
  r.trace = Json::array({{{"claim", "tee"}, {"result", true}}});
  return r;
}

std::unique_ptr<AuditLog> OpenOrFail(const std::string& path, const Clock& clock) {
  auto log = AuditLog::Open(path, clock);
  if (!log) FAIL(log.error().message());
  return std::move(*log);
}

int RawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  sqlite3_close_v2(db);
  return rc;
}

// Leaf hashes recomputed the way a third party would: from the records as listed, JCS, RFC 9162.
std::vector<merkle::Hash> LeavesFromEntries(AuditLog& log) {
  std::vector<merkle::Hash> out;
  Query q;
  q.limit = 1000;
  const std::vector<Record> records = log.Entries(q).value();
  for (const Record& r : records) out.push_back(merkle::LeafHash(LeafBytes(r).value()));
  return out;
}

merkle::Hash RootOf(const std::vector<merkle::Hash>& leaves, std::size_t n) {
  merkle::Frontier f;
  for (std::size_t i = 0; i < n; ++i) f.Push(leaves[i]);
  return f.Root();
}

}  // namespace

TEST_CASE("AuditLog tree: every record is a leaf; roots and proofs verify at every size",
          "[audit][merkle][integration]") {
  test::TempDir dir;
  FakeClock clock(kNow);
  auto log = OpenOrFail(dir.file("audit.db"), clock);
  CHECK(log->CurrentTree().value().size == 0);
  CHECK(log->CurrentTree().value().root == merkle::EmptyRoot());
  constexpr int kN = 40;
  for (int i = 1; i <= kN; ++i) {
    REQUIRE(log->Append(MakeRecord(i % 2 ? "acme" : "other", i)).has_value());
  }
  const auto leaves = LeavesFromEntries(*log);
  REQUIRE(leaves.size() == kN);
  const auto head = log->CurrentTree().value();
  CHECK(head.size == kN);
  CHECK(head.root == RootOf(leaves, kN));
  for (std::int64_t n = 1; n <= kN; ++n) {
    const merkle::Hash root = log->RootAt(n).value();
    REQUIRE(root == RootOf(leaves, static_cast<std::size_t>(n)));
    for (std::int64_t seq = 1; seq <= n; ++seq) {
      CHECK(log->LeafHashAt(seq).value() == leaves[static_cast<std::size_t>(seq - 1)]);
      const auto path = log->InclusionProof(seq, n).value();
      if (!merkle::VerifyInclusion(static_cast<std::uint64_t>(seq - 1), static_cast<std::uint64_t>(n),
                                   leaves[static_cast<std::size_t>(seq - 1)], path, root)) {
        FAIL("inclusion of seq " << seq << " in " << n);
      }
    }
    for (std::int64_t m = 0; m <= n; ++m) {
      const auto proof = log->ConsistencyProof(m, n).value();
      if (!merkle::VerifyConsistency(static_cast<std::uint64_t>(m), static_cast<std::uint64_t>(n),
                                     log->RootAt(m).value(), root, proof)) {
        FAIL("consistency " << m << " -> " << n);
      }
    }
  }
  // Ranges beyond the committed tree are refused.
  CHECK(test::ReasonOf(log->InclusionProof(kN + 1, kN)) == "invalid_proof_range");
  CHECK(test::ReasonOf(log->InclusionProof(1, kN + 1)) == "invalid_proof_range");
  CHECK(test::ReasonOf(log->InclusionProof(0, kN)) == "invalid_proof_range");
  CHECK(test::ReasonOf(log->ConsistencyProof(5, 4)) == "invalid_proof_range");
  CHECK(test::ReasonOf(log->ConsistencyProof(1, kN + 1)) == "invalid_proof_range");
  CHECK(test::ReasonOf(log->RootAt(kN + 1)) == "invalid_proof_range");
  CHECK(test::ReasonOf(log->LeafHashAt(kN + 1)) == "invalid_proof_range");
}

TEST_CASE("AuditLog tree: concurrent appends build one tree", "[audit][merkle][integration]") {
  test::TempDir dir;
  FakeClock clock(kNow);
  auto log = OpenOrFail(dir.file("audit.db"), clock);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) (void)log->Append(MakeRecord("acme", t * 100 + i));
    });
  }
  for (auto& th : threads) th.join();
  REQUIRE(log->VerifyAll().value() == 200);
  const auto leaves = LeavesFromEntries(*log);
  CHECK(log->CurrentTree().value().root == RootOf(leaves, leaves.size()));
}

TEST_CASE("AuditLog tree: a log opened without its tree gets one", "[audit][merkle][integration]") {
  test::TempDir dir;
  const std::string path = dir.file("audit.db");
  FakeClock clock(kNow);
  merkle::Hash root{};
  {
    auto log = OpenOrFail(path, clock);
    for (int i = 1; i <= 13; ++i) REQUIRE(log->Append(MakeRecord("acme", i)).has_value());
    root = log->CurrentTree().value().root;
  }
  // As a log written before the tree existed (schema 2): no nodes.
  REQUIRE(RawExec(path, "DROP TRIGGER merkle_nodes_no_delete") == SQLITE_OK);
  REQUIRE(RawExec(path, "DELETE FROM merkle_nodes") == SQLITE_OK);
  auto log = OpenOrFail(path, clock);
  CHECK(log->CurrentTree().value().size == 13);
  CHECK(log->CurrentTree().value().root == root);
  CHECK(log->VerifyAll().value() == 13);
  REQUIRE(log->Append(MakeRecord("acme", 14)).has_value());
  CHECK(log->VerifyAll().value() == 14);
}

TEST_CASE("AuditLog tree: tampering with the stored tree is detected", "[audit][merkle][integration]") {
  test::TempDir dir;
  const std::string path = dir.file("audit.db");
  FakeClock clock(kNow);
  auto log = OpenOrFail(path, clock);
  for (int i = 1; i <= 9; ++i) REQUIRE(log->Append(MakeRecord("acme", i)).has_value());
  REQUIRE(log->VerifyAll().value() == 9);
  // Append-only at the SQL level...
  CHECK(RawExec(path, "UPDATE merkle_nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 0") !=
        SQLITE_OK);
  CHECK(RawExec(path, "DELETE FROM merkle_nodes WHERE level = 0 AND idx = 3") != SQLITE_OK);
  // ...and whoever drops the triggers is caught by VerifyAll.
  REQUIRE(RawExec(path, "DROP TRIGGER merkle_nodes_no_update") == SQLITE_OK);
  REQUIRE(RawExec(path, "DROP TRIGGER merkle_nodes_no_delete") == SQLITE_OK);
  std::string expect;
  SECTION("an inner node replaced") {
    REQUIRE(RawExec(path, "UPDATE merkle_nodes SET hash = zeroblob(32) WHERE level = 2 AND idx = 0") ==
            SQLITE_OK);
    expect = "seq 4: its Merkle node at level 2";
  }
  SECTION("a leaf replaced") {
    REQUIRE(RawExec(path, "UPDATE merkle_nodes SET hash = zeroblob(32) WHERE level = 0 AND idx = 4") ==
            SQLITE_OK);
    expect = "seq 5";
  }
  SECTION("a leaf removed") {
    REQUIRE(RawExec(path, "DELETE FROM merkle_nodes WHERE level = 0 AND idx = 8") == SQLITE_OK);
    expect = "seq 9";
  }
  auto v = log->VerifyAll();
  REQUIRE(test::CodeOf(v) == ErrorCode::kVerificationFailed);
  CHECK_THAT(v.error().message(), Catch::Contains(expect));
}

}  // namespace skr::audit

namespace skr::audit {

TEST_CASE("AuditLog: QuickCheck passes on a sound file and fails on a damaged page",
          "[audit][integration]") {
  test::TempDir dir;
  const std::string path = dir.file("audit.db");
  FakeClock clock(kNow);
  {
    auto log = OpenOrFail(path, clock);
    for (int i = 1; i <= 300; ++i) REQUIRE(log->Append(MakeRecord("acme", i)).has_value());
    CHECK(log->QuickCheck().has_value());
  }
  // Fold the WAL into the file, then overwrite b-tree page headers with garbage.
  REQUIRE(RawExec(path, "PRAGMA wal_checkpoint(TRUNCATE)") == SQLITE_OK);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    REQUIRE(f.good());
    const std::string junk(12, '\x5a');
    for (int page = 3; page <= 6; ++page) {  // 1-based pages of 4096 bytes; page 1 is the schema
      f.seekp(4096 * (page - 1));
      f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
    }
  }
  auto log = AuditLog::Open(path, clock);
  if (!log) {
    // Damage SQLite already refuses at open is caught as well (skrd then fails to start).
    CHECK(log.error().code() == ErrorCode::kUnavailable);
    return;
  }
  auto q = (*log)->QuickCheck();
  CHECK(test::ReasonOf(q) == "audit_file_corrupt");
}

}  // namespace skr::audit
