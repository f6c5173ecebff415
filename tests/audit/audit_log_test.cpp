// SPDX-License-Identifier: Apache-2.0
#include <sqlite3.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "audit/audit.h"
#include "common/encoding.h"
#include "common/jose.h"
#include "common/ossl.h"
#include "tests/support/test_support.h"

namespace skr::audit {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kNow = 1764300000;
const std::string kZeros(64, '0');

Record MakeRecord(const std::string& tenant, const std::string& decision, int i = 0) {
  Record r;
  r.kind = "release";
  r.action = "release";
  r.actor = "attester";
  r.tenant = tenant;
  r.key = "k" + std::to_string(i);
  r.version = 1;
  r.evidence_type = "sample";
  r.evidence_sha256 = HexEncode(Sha256("evidence " + std::to_string(i)));
  r.policy_name = "p";
  r.policy_version = 1;
  r.decision = decision;
  r.reason = decision == "granted" ? "" : "snp.policy.debug equals false";
  r.request_id = "req-" + std::to_string(i);
  r.trace = Json::array({{{"claim", "tee"}, {"result", decision == "granted"}}});
  return r;
}

// A raw second connection on the same file, as another process would have.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    REQUIRE(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  int Exec(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  }
  std::string Text(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    std::string out;
    if (sqlite3_step(s) == SQLITE_ROW) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));  // NOLINT
    }
    sqlite3_finalize(s);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

AuditOptions BusyTimeout(int ms) {
  AuditOptions o;
  o.busy_timeout_ms = ms;
  return o;
}

std::unique_ptr<AuditLog> OpenOrFail(const std::string& path, const Clock& clock,
                                     AuditOptions options = {}) {
  auto log = AuditLog::Open(path, clock, options);
  if (!log) FAIL(log.error().message());
  return std::move(*log);
}

TEST_CASE("AuditLog: appends form a hash chain from seq 1", "[audit][integration]") {
  test::TempDir dir;
  FakeClock clock(kNow);
  auto log = OpenOrFail(dir.file("audit.db"), clock);
  CHECK(log->Size().value() == 0);
  CHECK(log->VerifyAll().value() == 0);

  Record in = MakeRecord("acme", "granted", 1);
  in.seq = 99;  // owned by Append: ignored
  in.hash = "bogus";
  in.trace_sha256 = "bogus";
  auto r1 = log->Append(in);
  REQUIRE(r1.has_value());
  clock.Advance(5);
  auto r2 = log->Append(MakeRecord("acme", "denied", 2));
  REQUIRE(r2.has_value());
  Record no_trace = MakeRecord("other", "ok", 3);
  no_trace.kind = "admin";
  no_trace.action = "key.rotate";
  no_trace.trace = nullptr;
  no_trace.version.reset();
  no_trace.policy_version.reset();
  auto r3 = log->Append(no_trace);
  REQUIRE(r3.has_value());

  CHECK(r1->seq == 1);
  CHECK(r2->seq == 2);
  CHECK(r3->seq == 3);
  CHECK(r1->time == kNow);
  CHECK(r2->time == kNow + 5);
  CHECK(r1->prev_hash == kZeros);
  CHECK(r2->prev_hash == r1->hash);
  CHECK(r3->prev_hash == r2->hash);
  CHECK(r1->hash == ComputeRecordHash(*r1).value());
  CHECK(r1->trace_sha256 == HexEncode(Sha256(CanonicalizeJson(in.trace).value())));
  CHECK(r3->trace_sha256.empty());
  CHECK(log->Size().value() == 3);
  CHECK(log->VerifyAll().value() == 3);

  // What Entries returns is exactly what Append returned.
  auto all = log->Entries({});
  REQUIRE(all.has_value());
  REQUIRE(all->size() == 3);
  CHECK(RecordToJson((*all)[0]) == RecordToJson(*r1));
  CHECK(RecordToJson((*all)[2]) == RecordToJson(*r3));
  CHECK_FALSE((*all)[2].version.has_value());
  REQUIRE(VerifyChain(*all, kZeros).has_value());
}

TEST_CASE("AuditLog: Append rejects records that cannot be canonicalized", "[audit][integration]") {
  test::TempDir dir;
  FakeClock clock(kNow);
  auto log = OpenOrFail(dir.file("audit.db"), clock);
  Record r = MakeRecord("acme", "granted");
  SECTION("invalid UTF-8") { r.reason = std::string("bad \xC3\x28 byte"); }
  SECTION("invalid UTF-8 inside the trace") { r.trace = Json::array({std::string("\xFF")}); }
  CHECK(test::CodeOf(log->Append(r)) == ErrorCode::kInvalidArgument);
  CHECK(log->Size().value() == 0);
  CHECK(log->Append(MakeRecord("acme", "granted")).value().seq == 1);
}

TEST_CASE("AuditLog: VerifyAll detects a record edited in the file", "[audit][integration]") {
  test::TempDir dir;
  const std::string path = dir.file("audit.db");
  FakeClock clock(kNow);
  auto log = OpenOrFail(path, clock);
  for (int i = 1; i <= 4; ++i) REQUIRE(log->Append(MakeRecord("acme", "denied", i)).has_value());
  REQUIRE(log->VerifyAll().value() == 4);

  RawDb raw(path);
  // The table is append-only at the SQL level...
  CHECK(raw.Exec("UPDATE audit_records SET decision = 'granted' WHERE seq = 2") != SQLITE_OK);
  CHECK(raw.Exec("DELETE FROM audit_records WHERE seq = 2") != SQLITE_OK);
  // ...but whoever owns the file can drop the triggers; the hash chain still catches it.
  REQUIRE(raw.Exec("DROP TRIGGER audit_records_no_update") == SQLITE_OK);
  REQUIRE(raw.Exec("DROP TRIGGER audit_records_no_delete") == SQLITE_OK);

  std::string expect = "seq 2";
  SECTION("json edited (denied -> granted)") {
    std::string json = raw.Text("SELECT json FROM audit_records WHERE seq = 2");
    const auto pos = json.find("\"denied\"");
    REQUIRE(pos != std::string::npos);
    json.replace(pos, 8, "\"granted\"");
    REQUIRE(ParseJson(json).has_value());  // still well-formed: only the hash gives it away
    REQUIRE(raw.Exec("UPDATE audit_records SET json = '" + json + "' WHERE seq = 2") == SQLITE_OK);
  }
  SECTION("hash column edited") {
    REQUIRE(raw.Exec("UPDATE audit_records SET hash = '" + std::string(64, 'f') +
                     "' WHERE seq = 2") == SQLITE_OK);
  }
  SECTION("record deleted") {
    REQUIRE(raw.Exec("DELETE FROM audit_records WHERE seq = 2") == SQLITE_OK);
  }
  SECTION("last records truncated") {
    REQUIRE(raw.Exec("DELETE FROM audit_records WHERE seq >= 3") == SQLITE_OK);
    expect = "seq 3";
  }
  auto v = log->VerifyAll();
  REQUIRE(test::CodeOf(v) == ErrorCode::kVerificationFailed);
  CHECK_THAT(v.error().message(), Catch::Contains(expect));
  // A log whose head was removed or rewritten underneath refuses to extend it.
  if (expect == "seq 3") {
    CHECK(test::CodeOf(log->Append(MakeRecord("acme", "granted"))) == ErrorCode::kUnavailable);
  }
}

TEST_CASE("AuditLog: concurrent appends get contiguous seqs and one valid chain",
          "[audit][integration]") {
  test::TempDir dir;
  FakeClock clock(kNow);
  auto log = OpenOrFail(dir.file("audit.db"), clock);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 50;
  std::vector<std::vector<std::int64_t>> seqs(kThreads);
  std::vector<int> failures(kThreads, 0);
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          auto r = log->Append(MakeRecord("t" + std::to_string(t), "granted", i));
          if (r) {
            seqs[static_cast<std::size_t>(t)].push_back(r->seq);
          } else {
            ++failures[static_cast<std::size_t>(t)];
          }
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  std::vector<std::int64_t> all;
  for (int t = 0; t < kThreads; ++t) {
    CHECK(failures[static_cast<std::size_t>(t)] == 0);
    const auto& s = seqs[static_cast<std::size_t>(t)];
    CHECK(std::is_sorted(s.begin(), s.end()));  // one caller's appends stay in order
    all.insert(all.end(), s.begin(), s.end());
  }
  std::sort(all.begin(), all.end());
  REQUIRE(all.size() == kThreads * kPerThread);
  for (std::size_t i = 0; i < all.size(); ++i) CHECK(all[i] == static_cast<std::int64_t>(i + 1));
  CHECK(log->VerifyAll().value() == kThreads * kPerThread);
  CHECK(log->Size().value() == kThreads * kPerThread);

  const AppendStats stats = log->Stats();
  CHECK(stats.records == kThreads * kPerThread);
  CHECK(stats.failed == 0);
  CHECK(stats.queued == 0);
  CHECK(stats.writing == 0);
  CHECK(stats.commits >= 1);
  CHECK(stats.commits <= stats.records);
  // Batching itself is pinned down deterministically by the next test case.
}

TEST_CASE("AuditLog: appends queued behind a busy writer share one commit",
          "[audit][integration]") {
  test::TempDir dir;
  const std::string path = dir.file("audit.db");
  FakeClock clock(kNow);
  auto log = OpenOrFail(path, clock, BusyTimeout(20000));
  RawDb raw(path);
  REQUIRE(raw.Exec("BEGIN EXCLUSIVE") == SQLITE_OK);

  constexpr int kFollowers = 7;
  std::vector<std::thread> threads;
  std::vector<std::int64_t> seqs(kFollowers + 1, 0);
  // The first caller becomes leader and waits for the lock with a batch of one.
  threads.emplace_back([&] { seqs[0] = log->Append(MakeRecord("a", "granted", 0)).value().seq; });
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (log->Stats().writing != 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  REQUIRE(log->Stats().writing == 1);
  for (int i = 1; i <= kFollowers; ++i) {
    threads.emplace_back([&, i] {
      seqs[static_cast<std::size_t>(i)] = log->Append(MakeRecord("a", "granted", i)).value().seq;
    });
  }
  deadline = std::chrono::steady_clock::now() + 10s;
  while (log->Stats().queued < kFollowers && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  CHECK(log->Stats().queued == kFollowers);
  REQUIRE(raw.Exec("COMMIT") == SQLITE_OK);
  for (auto& t : threads) t.join();

  const AppendStats stats = log->Stats();
  CHECK(stats.records == kFollowers + 1);
  CHECK(stats.commits == 2);
  CHECK(stats.max_batch == kFollowers);
  CHECK(seqs[0] == 1);
  std::sort(seqs.begin(), seqs.end());
  for (std::size_t i = 0; i < seqs.size(); ++i) CHECK(seqs[i] == static_cast<std::int64_t>(i + 1));
  CHECK(log->VerifyAll().value() == kFollowers + 1);
}

TEST_CASE("AuditLog: a locked database makes Append kUnavailable without advancing the chain",
          "[audit][integration]") {
  test::TempDir dir;
  const std::string path = dir.file("audit.db");
  FakeClock clock(kNow);
  auto log = OpenOrFail(path, clock, BusyTimeout(200));
  auto first = log->Append(MakeRecord("acme", "granted", 1));
  REQUIRE(first.has_value());

  {
    RawDb raw(path);
    REQUIRE(raw.Exec("BEGIN EXCLUSIVE") == SQLITE_OK);
    const auto start = std::chrono::steady_clock::now();
    auto failed = log->Append(MakeRecord("acme", "granted", 2));
    const auto waited = std::chrono::steady_clock::now() - start;
    REQUIRE(test::CodeOf(failed) == ErrorCode::kUnavailable);
    CHECK_THAT(failed.error().message(), Catch::StartsWith("audit log unavailable: "));
    CHECK(waited >= 150ms);  // it did wait for busy_timeout first
    CHECK(log->Stats().failed == 1);
    // Readers are not blocked by the writer in WAL mode.
    CHECK(log->Size().value() == 1);
    REQUIRE(raw.Exec("COMMIT") == SQLITE_OK);
  }

  auto next = log->Append(MakeRecord("acme", "granted", 3));
  REQUIRE(next.has_value());
  CHECK(next->seq == 2);
  CHECK(next->prev_hash == first->hash);
  CHECK(log->VerifyAll().value() == 2);
}

TEST_CASE("AuditLog: reopening keeps the chain head", "[audit][integration]") {
  test::TempDir dir;
  const std::string path = dir.file("audit.db");
  FakeClock clock(kNow);
  std::string last_hash;
  {
    auto log = OpenOrFail(path, clock);
    REQUIRE(log->Append(MakeRecord("acme", "granted", 1)).has_value());
    last_hash = log->Append(MakeRecord("acme", "denied", 2)).value().hash;
  }
  auto log = OpenOrFail(path, clock);
  CHECK(log->Size().value() == 2);
  auto r = log->Append(MakeRecord("acme", "granted", 3));
  REQUIRE(r.has_value());
  CHECK(r->seq == 3);
  CHECK(r->prev_hash == last_hash);
  CHECK(log->VerifyAll().value() == 3);
}

TEST_CASE("AuditLog: Entries filters by tenant, decision and from_seq", "[audit][integration]") {
  test::TempDir dir;
  FakeClock clock(kNow);
  auto log = OpenOrFail(dir.file("audit.db"), clock);
  // seq: 1 a/granted, 2 b/denied, 3 a/denied, 4 b/granted, 5 a/granted, 6 b/denied
  const char* tenants[] = {"a", "b", "a", "b", "a", "b"};
  const char* decisions[] = {"granted", "denied", "denied", "granted", "granted", "denied"};
  for (int i = 0; i < 6; ++i) {
    REQUIRE(log->Append(MakeRecord(tenants[i], decisions[i], i)).has_value());
  }
  auto seqs = [&](const Query& q) {
    std::vector<std::int64_t> out;
    auto r = log->Entries(q);
    REQUIRE(r.has_value());
    for (const Record& rec : *r) out.push_back(rec.seq);
    return out;
  };
  using V = std::vector<std::int64_t>;
  Query q;
  CHECK(seqs(q) == V{1, 2, 3, 4, 5, 6});
  q.tenant = "a";
  CHECK(seqs(q) == V{1, 3, 5});
  q.decision = "granted";
  CHECK(seqs(q) == V{1, 5});
  q.from_seq = 2;
  CHECK(seqs(q) == V{5});
  q = Query{};
  q.decision = "denied";
  CHECK(seqs(q) == V{2, 3, 6});
  q = Query{};
  q.from_seq = 3;
  q.limit = 2;
  CHECK(seqs(q) == V{3, 4});
  q = Query{};
  q.limit = 5000;  // capped at 1000, not an error
  CHECK(seqs(q).size() == 6);
  q = Query{};
  q.tenant = "nobody";
  CHECK(seqs(q).empty());
  q = Query{};
  q.from_seq = 7;
  CHECK(seqs(q).empty());

  SECTION("bad queries") {
    Query bad;
    SECTION("from_seq 0") { bad.from_seq = 0; }
    SECTION("limit 0") { bad.limit = 0; }
    SECTION("negative limit") { bad.limit = -1; }
    CHECK(test::CodeOf(log->Entries(bad)) == ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("AuditLog: Open fails with kUnavailable when the file cannot be used",
          "[audit][integration]") {
  test::TempDir dir;
  FakeClock clock(kNow);
  SECTION("missing directory") {
    CHECK(test::CodeOf(AuditLog::Open(dir.file("no/such/dir/audit.db"), clock)) ==
          ErrorCode::kUnavailable);
  }
  SECTION("not a database") {
    test::WriteFile(dir.path() / "junk.db", std::string(4096, 'x'));
    CHECK(test::CodeOf(AuditLog::Open(dir.file("junk.db"), clock)) == ErrorCode::kUnavailable);
  }
  SECTION("schema newer than this build") {
    const std::string path = dir.file("audit.db");
    { OpenOrFail(path, clock); }
    {
      RawDb raw(path);
      REQUIRE(raw.Exec("PRAGMA user_version = 99") == SQLITE_OK);
    }
    auto r = AuditLog::Open(path, clock);
    CHECK(test::CodeOf(r) == ErrorCode::kUnavailable);
  }
  SECTION("negative busy timeout") {
    CHECK(test::CodeOf(AuditLog::Open(dir.file("audit.db"), clock, BusyTimeout(-1))) ==
          ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("AuditLog: the file uses WAL and the numbered schema", "[audit][integration]") {
  test::TempDir dir;
  const std::string path = dir.file("audit.db");
  FakeClock clock(kNow);
  auto log = OpenOrFail(path, clock);
  RawDb raw(path);
  CHECK(raw.Text("PRAGMA journal_mode") == "wal");
  CHECK(raw.Text("PRAGMA user_version") == "6");
}

}  // namespace
}  // namespace skr::audit

namespace skr::audit {
namespace {

TEST_CASE("AuditLog: a failed write is reported to the hook and counted in the next record",
          "[audit][integration]") {
  test::TempDir dir;
  const std::string path = dir.file("audit.db");
  FakeClock clock(kNow);
  std::vector<std::string> reported;
  std::size_t reported_records = 0;
  AuditOptions opt;
  opt.busy_timeout_ms = 100;
  opt.on_failure = [&](const Error& e, std::size_t n) {
    reported.push_back(e.message());
    reported_records += n;
  };
  auto log = OpenOrFail(path, clock, opt);
  REQUIRE(log->Append(MakeRecord("acme", "granted", 1)).has_value());
  {
    RawDb raw(path);
    REQUIRE(raw.Exec("BEGIN EXCLUSIVE") == SQLITE_OK);
    CHECK(test::CodeOf(log->Append(MakeRecord("acme", "granted", 2))) == ErrorCode::kUnavailable);
    CHECK(test::CodeOf(log->Append(MakeRecord("acme", "denied", 3))) == ErrorCode::kUnavailable);
    REQUIRE(raw.Exec("COMMIT") == SQLITE_OK);
  }
  // The hook got SQLite's own reason each time.
  REQUIRE(reported.size() == 2);
  CHECK_THAT(reported[0], Catch::Contains("database is locked"));
  CHECK(reported_records == 2);
  AppendStats st = log->Stats();
  CHECK(st.failed == 2);
  CHECK(st.failed_commits == 2);
  CHECK(st.unrecorded == 2);

  // The next record committed says that two decisions went unrecorded; the one after does not.
  auto next = log->Append(MakeRecord("acme", "granted", 4));
  REQUIRE(next.has_value());
  CHECK(next->unrecorded_failures == 2);
  CHECK(RecordToJson(*next).at("unrecorded_failures") == 2);
  auto after = log->Append(MakeRecord("acme", "granted", 5));
  REQUIRE(after.has_value());
  CHECK(after->unrecorded_failures == 0);
  CHECK_FALSE(RecordToJson(*after).contains("unrecorded_failures"));
  CHECK(log->Stats().unrecorded == 0);
  CHECK(log->VerifyAll().value() == 3);
  // What was stored reads back the same (the member is part of the leaf and the hash).
  auto stored = log->Entries({});
  REQUIRE(stored.has_value());
  CHECK((*stored)[1].unrecorded_failures == 2);
}

TEST_CASE("AuditLog: an exclusive log refuses a second exclusive opener until it is closed",
          "[audit][integration]") {
  test::TempDir dir;
  const std::string path = dir.file("audit.db");
  FakeClock clock(kNow);
  AuditOptions opt;
  opt.exclusive = true;
  {
    auto first = OpenOrFail(path, clock, opt);
    auto second = AuditLog::Open(path, clock, opt);
    REQUIRE(test::CodeOf(second) == ErrorCode::kUnavailable);
    CHECK(second.error().reason() == "audit_locked");
    CHECK_THAT(second.error().message(), Catch::Contains(path + ".lock"));
    REQUIRE(first->Append(MakeRecord("acme", "granted", 1)).has_value());
  }
  auto again = OpenOrFail(path, clock, opt);
  CHECK(again->Size().value() == 1);
}

TEST_CASE("AuditLog: max_batch bounds the records per commit", "[audit][integration]") {
  test::TempDir dir;
  FakeClock clock(kNow);
  AuditOptions opt;
  SECTION("0 and more than 512 are refused") {
    opt.max_batch = 0;
    CHECK(test::CodeOf(AuditLog::Open(dir.file("a.db"), clock, opt)) == ErrorCode::kInvalidArgument);
    opt.max_batch = 513;
    CHECK(test::CodeOf(AuditLog::Open(dir.file("a.db"), clock, opt)) == ErrorCode::kInvalidArgument);
  }
  SECTION("1: one commit per record, whatever the concurrency") {
    opt.max_batch = 1;
    auto log = OpenOrFail(dir.file("audit.db"), clock, opt);
    std::vector<std::thread> threads;
    for (int i = 0; i < 16; ++i) {
      threads.emplace_back([&, i] { REQUIRE(log->Append(MakeRecord("a", "granted", i)).has_value()); });
    }
    for (auto& t : threads) t.join();
    const AppendStats st = log->Stats();
    CHECK(st.records == 16);
    CHECK(st.commits == 16);
    CHECK(st.max_batch == 1);
    CHECK(log->VerifyAll().value() == 16);
  }
}

TEST_CASE("AuditLog: DamagedRecords lists rewritten records; VerifyAll accepts them only when acknowledged",
          "[audit][integration]") {
  test::TempDir dir;
  const std::string path = dir.file("audit.db");
  FakeClock clock(kNow);
  auto log = OpenOrFail(path, clock);
  for (int i = 0; i < 9; ++i) REQUIRE(log->Append(MakeRecord("a", "granted", i)).has_value());
  CHECK(log->DamagedRecords().value().empty());
  {
    RawDb raw(path);
    REQUIRE(raw.Exec("DROP TRIGGER audit_records_no_update") == SQLITE_OK);
    REQUIRE(raw.Exec("UPDATE audit_records SET json = replace(json, 'req-', 'REQ-') WHERE seq IN (3, 7)") ==
            SQLITE_OK);
  }
  CHECK(log->DamagedRecords().value() == std::vector<std::int64_t>{3, 7});
  CHECK(test::CodeOf(log->VerifyAll()) == ErrorCode::kVerificationFailed);
  CHECK(test::CodeOf(log->VerifyAll({3})) == ErrorCode::kVerificationFailed);  // 7 still counts
  CHECK(log->VerifyAll({3, 7}).value() == 9);
  // Acknowledging does not excuse anything else: a stored leaf changed under record 5 is found.
  {
    RawDb raw(path);
    REQUIRE(raw.Exec("DROP TRIGGER merkle_nodes_no_update") == SQLITE_OK);
    REQUIRE(raw.Exec("UPDATE merkle_nodes SET hash = zeroblob(32) WHERE level = 0 AND idx = 4") == SQLITE_OK);
  }
  CHECK(test::CodeOf(log->VerifyAll({3, 7})) == ErrorCode::kVerificationFailed);
}

TEST_CASE("AuditLog: Entries filters by key, action, actor and time range", "[audit][integration]") {
  test::TempDir dir;
  FakeClock clock(kNow);
  auto log = OpenOrFail(dir.file("audit.db"), clock);
  // seq 1..6 at kNow, kNow+10, ..., kNow+50; keys k0,k1,k0,k1,k0,k1; seq 3 and 6 are admin.
  for (int i = 0; i < 6; ++i) {
    Record r = MakeRecord("a", "granted", i % 2);
    if (i % 3 == 2) {
      r.kind = "admin";
      r.action = "key.rotate";
      r.actor = "tok-" + std::to_string(i);
    }
    REQUIRE(log->Append(r).has_value());
    clock.Advance(10);
  }
  auto seqs = [&](const Query& q) {
    std::vector<std::int64_t> out;
    auto r = log->Entries(q);
    REQUIRE(r.has_value());
    for (const Record& rec : *r) out.push_back(rec.seq);
    return out;
  };
  using V = std::vector<std::int64_t>;
  Query q;
  q.key = "k0";
  CHECK(seqs(q) == V{1, 3, 5});
  q = Query{};
  q.action = "key.rotate";
  CHECK(seqs(q) == V{3, 6});
  q.actor = "tok-5";
  CHECK(seqs(q) == V{6});
  q = Query{};
  q.since = kNow + 10;
  q.until = kNow + 40;  // exclusive
  CHECK(seqs(q) == V{2, 3, 4});
  q.key = "k1";
  CHECK(seqs(q) == V{2, 4});
  q = Query{};
  q.key = "nope";
  CHECK(seqs(q).empty());
}

}  // namespace
}  // namespace skr::audit
