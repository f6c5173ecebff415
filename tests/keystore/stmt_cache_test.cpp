// SPDX-License-Identifier: Apache-2.0
// The keystore's prepared-statement cache (keystore/sqlite_util.h, issue 10): a statement is
// prepared once per connection and SQL text, comes back reset with its bindings cleared (so a
// reused statement never sees the previous caller's values or buffers), and nested use of the
// same SQL gets a second statement. A real SQLite database (in memory).
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <cstdint>
#include <vector>

#include "keystore/sqlite_util.h"

namespace db = skr::keystore::db;

namespace {

db::DbPtr OpenMemory() {
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(":memory:", &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) ==
          SQLITE_OK);
  db::DbPtr handle(raw);
  REQUIRE(db::Exec(raw, "CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)").has_value());
  return handle;
}

}  // namespace

TEST_CASE("StmtCache: one prepared statement per SQL text, reused after each use",
          "[keystore][stmt_cache]") {
  db::DbPtr conn = OpenMemory();
  db::StmtCache cache(conn.get());
  const char* insert = "INSERT INTO t (k, v) VALUES (?1, ?2)";
  sqlite3_stmt* first_handle = nullptr;
  for (int k = 1; k <= 3; ++k) {
    auto stmt = cache.Prepare(insert);
    REQUIRE(stmt.has_value());
    if (first_handle == nullptr) first_handle = sqlite3_next_stmt(conn.get(), nullptr);
    const std::vector<std::uint8_t> v(4, static_cast<std::uint8_t>(k));
    REQUIRE(stmt->BindInt64(1, k).has_value());
    REQUIRE(stmt->BindBlob(2, v).has_value());
    REQUIRE(stmt->Run().has_value());
    CHECK(cache.idle() == 0);  // checked out
  }
  CHECK(cache.idle() == 1);
  // Still the one statement the first call prepared: no other exists on the connection.
  CHECK(sqlite3_next_stmt(conn.get(), nullptr) == first_handle);
  CHECK(sqlite3_next_stmt(conn.get(), first_handle) == nullptr);

  SECTION("a reused statement starts with no bindings (NULL), not the previous caller's") {
    auto stmt = cache.Prepare(insert);
    REQUIRE(stmt.has_value());
    REQUIRE(stmt->BindInt64(1, 10).has_value());
    REQUIRE(stmt->Run().has_value());  // ?2 unbound -> NULL
    auto check = cache.Prepare("SELECT v IS NULL FROM t WHERE k = ?1");
    REQUIRE(check.has_value());
    REQUIRE(check->BindInt64(1, 10).has_value());
    REQUIRE(check->Step().value());
    CHECK(check->Int64(0) == 1);
  }
  SECTION("a statement dropped mid-read is reset: the next use reads from the start") {
    const char* select = "SELECT k FROM t ORDER BY k";
    {
      auto stmt = cache.Prepare(select);
      REQUIRE(stmt.has_value());
      REQUIRE(stmt->Step().value());
      CHECK(stmt->Int64(0) == 1);
      REQUIRE(stmt->Step().value());
      CHECK(stmt->Int64(0) == 2);
    }
    auto again = cache.Prepare(select);
    REQUIRE(again.has_value());
    REQUIRE(again->Step().value());
    CHECK(again->Int64(0) == 1);
  }
  SECTION("nested use of the same SQL gets a second statement; one is kept afterwards") {
    const char* select = "SELECT v FROM t WHERE k = ?1";
    {
      auto outer = cache.Prepare(select);
      auto inner = cache.Prepare(select);
      REQUIRE(outer.has_value());
      REQUIRE(inner.has_value());
      REQUIRE(outer->BindInt64(1, 1).has_value());
      REQUIRE(inner->BindInt64(1, 2).has_value());
      REQUIRE(outer->Step().value());
      REQUIRE(inner->Step().value());
      CHECK(outer->Blob(0) == std::vector<std::uint8_t>(4, 1));
      CHECK(inner->Blob(0) == std::vector<std::uint8_t>(4, 2));
    }
    CHECK(cache.idle() == 2);  // the insert and one select
  }
  SECTION("a failed prepare is reported and caches nothing") {
    auto bad = cache.Prepare("SELECT nope FROM missing");
    REQUIRE_FALSE(bad.has_value());
    CHECK(cache.idle() == 1);
  }
  cache.Clear();
  CHECK(cache.idle() == 0);
  CHECK(sqlite3_next_stmt(conn.get(), nullptr) == nullptr);  // all finalized
}
