// SPDX-License-Identifier: Apache-2.0
#include "keystore/keystore.h"
#include "keystore/nonce_token.h"
#include "keystore/schema.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/encoding.h"
#include "common/ossl.h"
#include "tests/support/test_support.h"

namespace skr::keystore {
namespace {

using test::CodeOf;
using test::ReasonOf;
using test::TempDir;

constexpr std::int64_t kT0 = 1'700'000'000;

// A second, raw SQLite connection to the keystore file, used to inspect or tamper with rows
// the way an attacker with file access could.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    REQUIRE(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  void Exec(const std::string& sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    const std::string msg = err != nullptr ? err : "";
    sqlite3_free(err);
    INFO(sql << ": " << msg);
    REQUIRE(rc == SQLITE_OK);
  }
  int TryExec(const std::string& sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    sqlite3_free(err);
    return rc;
  }
  // First column of the first row as int64 (0 when there is no row).
  std::int64_t Int(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    std::int64_t v = 0;
    if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
  }
  std::string Text(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    std::string v;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != nullptr) {
      v = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    return v;
  }
  std::vector<std::uint8_t> Blob(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    std::vector<std::uint8_t> v;
    if (sqlite3_step(s) == SQLITE_ROW) {
      const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(s, 0));
      const int n = sqlite3_column_bytes(s, 0);
      if (p != nullptr) v.assign(p, p + n);
    }
    sqlite3_finalize(s);
    return v;
  }

 private:
  sqlite3* db_ = nullptr;
};

SecretBytes Material(const std::string& text) { return SecretBytes::CopyFrom(AsBytes(text)); }

std::string Str(const SecretBytes& s) { return std::string(s.Reveal().begin(), s.Reveal().end()); }

bool Contains(const std::string& haystack, std::span<const std::uint8_t> needle) {
  const std::string n(needle.begin(), needle.end());
  return haystack.find(n) != std::string::npos;
}

std::string ReadIfExists(const std::string& path) {
  if (!std::filesystem::exists(path)) return {};
  return test::ReadFileOrFail(path);
}

// A temp dir, a fake clock, a master key and an opened + initialized store.
struct Fixture {
  TempDir dir;
  FakeClock clock{kT0};
  std::string path = dir.file("skr.db");
  SecretBytes master = RandomSecret(32);
  std::unique_ptr<KeyStore> store;

  Fixture() {
    auto opened = KeyStore::Open(path, clock);
    REQUIRE(opened.has_value());
    store = std::move(*opened);
    REQUIRE(store->Initialize(master).has_value());
  }
  void Reopen() {
    store.reset();
    auto opened = KeyStore::Open(path, clock);
    REQUIRE(opened.has_value());
    store = std::move(*opened);
  }
  // Tenant `t` with policy `p` (one version).
  void TenantWithPolicy(const std::string& t, const std::string& p = "p") {
    REQUIRE(store->CreateTenant(t).has_value());
    REQUIRE(store->PutPolicy(t, p, R"({"version":"1.0.0","anyOf":[]})").has_value());
  }
};

// ---- Open, migrations, sealing ---------------------------------------------------------------

TEST_CASE("KeyStore::Open: migrations are idempotent across reopen", "[keystore][integration]") {
  TempDir dir;
  FakeClock clock(kT0);
  const std::string path = dir.file("skr.db");
  {
    auto store = KeyStore::Open(path, clock);
    REQUIRE(store.has_value());
    REQUIRE((*store)->CreateTenant("acme").has_value());
    CHECK((*store)->Ping().has_value());
  }
  for (int i = 0; i < 3; ++i) {
    auto store = KeyStore::Open(path, clock);
    REQUIRE(store.has_value());
    auto tenants = (*store)->ListTenants();
    REQUIRE(tenants.has_value());
    REQUIRE(tenants->size() == 1);
    CHECK((*tenants)[0].name == "acme");
    CHECK((*tenants)[0].created_at == kT0);
  }
  RawDb raw(path);
  CHECK(raw.Int("PRAGMA user_version") == db::LatestSchemaVersion());
  CHECK(raw.Text("PRAGMA journal_mode") == "wal");
  CHECK(raw.Int("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                "('meta','tenants','policies','keys','key_versions','tokens','nonces')") == 7);

  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0077) == 0);  // the database file is owner-only
}

TEST_CASE("KeyStore::Open: an unusable path is kUnavailable", "[keystore][integration]") {
  TempDir dir;
  FakeClock clock(kT0);
  SECTION("missing directory") {
    CHECK(CodeOf(KeyStore::Open(dir.file("no/such/dir/skr.db"), clock)) == ErrorCode::kUnavailable);
  }
  SECTION("empty path") { CHECK(CodeOf(KeyStore::Open("", clock)) == ErrorCode::kUnavailable); }
  SECTION("not a database") {
    test::WriteFile(dir.file("junk.db"), std::string(8192, 'x'), 0600);
    CHECK(CodeOf(KeyStore::Open(dir.file("junk.db"), clock)) == ErrorCode::kUnavailable);
  }
}

TEST_CASE("KeyStore::Open: refuses a schema newer than this build", "[keystore][integration]") {
  TempDir dir;
  FakeClock clock(kT0);
  const std::string path = dir.file("skr.db");
  { REQUIRE(KeyStore::Open(path, clock).has_value()); }
  {
    RawDb raw(path);
    raw.Exec("PRAGMA user_version = 99");
  }
  auto store = KeyStore::Open(path, clock);
  CHECK(CodeOf(store) == ErrorCode::kUnavailable);
}

TEST_CASE("KeyStore: Initialize, Unseal and a wrong master key", "[keystore][integration]") {
  TempDir dir;
  FakeClock clock(kT0);
  const std::string path = dir.file("skr.db");
  SecretBytes master = RandomSecret(32);
  {
    auto opened = KeyStore::Open(path, clock);
    REQUIRE(opened.has_value());
    KeyStore& ks = **opened;
    CHECK_FALSE(ks.IsInitialized());
    CHECK(ks.sealed());
    auto unseal = ks.Unseal(master);
    CHECK(CodeOf(unseal) == ErrorCode::kSealed);
    CHECK(ReasonOf(unseal) == "not_initialized");
    CHECK(CodeOf(ks.Initialize(RandomSecret(16))) == ErrorCode::kInvalidArgument);

    REQUIRE(ks.Initialize(master).has_value());
    CHECK(ks.IsInitialized());
    CHECK_FALSE(ks.sealed());
    CHECK(CodeOf(ks.Initialize(master)) == ErrorCode::kAlreadyExists);
    CHECK(CodeOf(ks.Initialize(RandomSecret(32))) == ErrorCode::kAlreadyExists);

    REQUIRE(ks.CreateTenant("t").has_value());
    REQUIRE(ks.PutPolicy("t", "p", "{}").has_value());
    REQUIRE(ks.CreateKey("t", "k", "p", Material("secret-one"), "imported").has_value());
  }
  auto opened = KeyStore::Open(path, clock);
  REQUIRE(opened.has_value());
  KeyStore& ks = **opened;
  CHECK(ks.IsInitialized());
  CHECK(ks.sealed());

  // Metadata stays readable while sealed; material does not.
  CHECK(ks.GetKey("t", "k").has_value());
  CHECK(CodeOf(ks.GetKeyMaterial("t", "k")) == ErrorCode::kSealed);
  CHECK(CodeOf(ks.CreateKey("t", "k2", "p", Material("x"), "imported")) == ErrorCode::kSealed);
  CHECK(CodeOf(ks.RotateKey("t", "k", Material("x"), "imported")) == ErrorCode::kSealed);

  SECTION("wrong master key") {
    auto r = ks.Unseal(RandomSecret(32));
    REQUIRE(CodeOf(r) == ErrorCode::kSealed);
    CHECK(r.error().message() == "master key does not unwrap the data-encryption key");
    CHECK(ks.sealed());
    CHECK(CodeOf(ks.Unseal(RandomSecret(31))) == ErrorCode::kSealed);
    CHECK(ks.sealed());
  }
  SECTION("right master key") {
    REQUIRE(ks.Unseal(master).has_value());
    CHECK_FALSE(ks.sealed());
    auto m = ks.GetKeyMaterial("t", "k");
    REQUIRE(m.has_value());
    CHECK(Str(m->material) == "secret-one");
  }
}

// ---- Tenants ---------------------------------------------------------------------------------

TEST_CASE("IsValidName: accepts [a-z0-9][a-z0-9._-]{0,62} only", "[keystore][unit]") {
  CHECK(IsValidName("a"));
  CHECK(IsValidName("0"));
  CHECK(IsValidName("acme-prod_1.v2"));
  CHECK(IsValidName(std::string(63, 'a')));
  CHECK_FALSE(IsValidName(""));
  CHECK_FALSE(IsValidName(std::string(64, 'a')));
  CHECK_FALSE(IsValidName("-a"));
  CHECK_FALSE(IsValidName(".a"));
  CHECK_FALSE(IsValidName("_a"));
  CHECK_FALSE(IsValidName("Acme"));
  CHECK_FALSE(IsValidName("a b"));
  CHECK_FALSE(IsValidName("a/b"));
  CHECK_FALSE(IsValidName("a|b"));
  CHECK_FALSE(IsValidName(std::string("a\0b", 3)));
  CHECK_FALSE(IsValidName("caf\xc3\xa9"));
}

TEST_CASE("KeyStore: role and state names round trip", "[keystore][unit]") {
  for (Role r : {Role::kOperator, Role::kAdmin, Role::kAuditor}) {
    auto parsed = ParseRole(RoleName(r));
    REQUIRE(parsed.has_value());
    CHECK(*parsed == r);
  }
  CHECK_FALSE(ParseRole("root").has_value());
  CHECK_FALSE(ParseRole("Operator").has_value());
  CHECK(std::string(VersionStateName(VersionState::kEnabled)) == "enabled");
  CHECK(std::string(VersionStateName(VersionState::kDisabled)) == "disabled");
  CHECK(std::string(VersionStateName(VersionState::kDestroyed)) == "destroyed");
}

TEST_CASE("KeyStore: tenants create, list, exist and delete", "[keystore][integration]") {
  Fixture f;
  KeyStore& ks = *f.store;
  auto b = ks.CreateTenant("beta");
  REQUIRE(b.has_value());
  CHECK(b->name == "beta");
  CHECK(b->created_at == kT0);
  f.clock.Advance(5);
  REQUIRE(ks.CreateTenant("alpha").has_value());

  auto list = ks.ListTenants();
  REQUIRE(list.has_value());
  REQUIRE(list->size() == 2);
  CHECK((*list)[0].name == "alpha");
  CHECK((*list)[0].created_at == kT0 + 5);
  CHECK((*list)[1].name == "beta");

  CHECK(ks.TenantExists("alpha").value());
  CHECK_FALSE(ks.TenantExists("gamma").value());

  SECTION("duplicate is kAlreadyExists and changes nothing") {
    f.clock.Advance(100);
    auto dup = ks.CreateTenant("alpha");
    CHECK(CodeOf(dup) == ErrorCode::kAlreadyExists);
    CHECK(ReasonOf(dup) == "tenant_exists");
    auto again = ks.ListTenants();
    REQUIRE(again.has_value());
    CHECK(again->size() == 2);
    CHECK((*again)[0].created_at == kT0 + 5);
  }
  SECTION("bad names are kInvalidArgument") {
    const std::string bad =
        GENERATE(std::string(""), std::string("Alpha"), std::string("-x"), std::string("a/b"),
                 std::string("../etc"), std::string(64, 'a'), std::string("a b"));
    CHECK(CodeOf(ks.CreateTenant(bad)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(ks.TenantExists(bad)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(ks.DeleteTenant(bad)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(ks.ListKeys(bad)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(ks.ListPolicies(bad)) == ErrorCode::kInvalidArgument);
  }
  SECTION("delete") {
    REQUIRE(ks.DeleteTenant("beta").has_value());
    CHECK_FALSE(ks.TenantExists("beta").value());
    auto missing = ks.DeleteTenant("beta");
    CHECK(CodeOf(missing) == ErrorCode::kNotFound);
    CHECK(ReasonOf(missing) == "tenant_not_found");
  }
}

TEST_CASE("KeyStore::DeleteTenant: refused while key material exists, then cascades",
          "[keystore][integration]") {
  Fixture f;
  KeyStore& ks = *f.store;
  f.TenantWithPolicy("t");
  REQUIRE(ks.CreateKey("t", "k", "p", Material("aaaa"), "generated").has_value());
  REQUIRE(ks.RotateKey("t", "k", Material("bbbb"), "generated").has_value());
  REQUIRE(ks.CreateToken(Role::kAdmin, std::string("t"), 0).has_value());
  REQUIRE(ks.CreateToken(Role::kOperator, std::nullopt, 0).has_value());

  auto refused = ks.DeleteTenant("t");
  CHECK(CodeOf(refused) == ErrorCode::kFailedPrecondition);
  CHECK(ReasonOf(refused) == "tenant_has_keys");

  // A disabled version still holds material.
  REQUIRE(ks.SetVersionState("t", "k", 1, VersionState::kDestroyed).has_value());
  REQUIRE(ks.SetVersionState("t", "k", 2, VersionState::kDisabled).has_value());
  CHECK(CodeOf(ks.DeleteTenant("t")) == ErrorCode::kFailedPrecondition);
  CHECK(ks.TenantExists("t").value());

  REQUIRE(ks.SetVersionState("t", "k", 2, VersionState::kDestroyed).has_value());
  REQUIRE(ks.DeleteTenant("t").has_value());

  RawDb raw(f.path);
  CHECK(raw.Int("SELECT COUNT(*) FROM keys") == 0);
  CHECK(raw.Int("SELECT COUNT(*) FROM key_versions") == 0);
  CHECK(raw.Int("SELECT COUNT(*) FROM policies") == 0);
  CHECK(raw.Int("SELECT COUNT(*) FROM tokens WHERE tenant IS NOT NULL") == 0);
  CHECK(raw.Int("SELECT COUNT(*) FROM tokens WHERE role = 'operator'") == 1);

  // The name can be reused, starting empty.
  REQUIRE(ks.CreateTenant("t").has_value());
  CHECK(ks.ListKeys("t")->empty());
  CHECK(ks.ListPolicies("t")->empty());
}

TEST_CASE("KeyStore: the database refuses to drop live key material behind our back",
          "[keystore][integration]") {
  Fixture f;
  f.TenantWithPolicy("t");
  REQUIRE(f.store->CreateKey("t", "k", "p", Material("live"), "imported").has_value());
  REQUIRE(f.store->SetVersionState("t", "k", 1, VersionState::kDestroyed).has_value());
  REQUIRE(f.store->RotateKey("t", "k", Material("live2"), "imported").has_value());
  RawDb raw(f.path);
  // Triggers: a tenant with live versions cannot be deleted; a destroyed version is final.
  CHECK(raw.TryExec("DELETE FROM tenants WHERE name = 't'") == SQLITE_CONSTRAINT);
  CHECK(raw.TryExec("UPDATE key_versions SET state = 'enabled' WHERE version = 1") ==
        SQLITE_CONSTRAINT);
  CHECK(f.store->TenantExists("t").value());
}

// ---- Policies --------------------------------------------------------------------------------

TEST_CASE("KeyStore: policies are versioned", "[keystore][integration]") {
  Fixture f;
  KeyStore& ks = *f.store;
  REQUIRE(ks.CreateTenant("t").has_value());

  auto v1 = ks.PutPolicy("t", "release", "doc-1");
  REQUIRE(v1.has_value());
  CHECK(v1->version == 1);
  CHECK(v1->tenant == "t");
  CHECK(v1->created_at == kT0);
  f.clock.Advance(10);
  auto v2 = ks.PutPolicy("t", "release", "doc-2");
  REQUIRE(v2.has_value());
  CHECK(v2->version == 2);
  REQUIRE(ks.PutPolicy("t", "other", "doc-x").has_value());

  auto latest = ks.GetPolicy("t", "release");
  REQUIRE(latest.has_value());
  CHECK(latest->version == 2);
  CHECK(latest->document == "doc-2");
  CHECK(latest->created_at == kT0 + 10);

  auto first = ks.GetPolicy("t", "release", 1);
  REQUIRE(first.has_value());
  CHECK(first->document == "doc-1");

  auto list = ks.ListPolicies("t");
  REQUIRE(list.has_value());
  REQUIRE(list->size() == 2);
  CHECK((*list)[0].name == "other");
  CHECK((*list)[0].version == 1);
  CHECK((*list)[1].name == "release");
  CHECK((*list)[1].version == 2);
  CHECK((*list)[1].document == "doc-2");

  // Another tenant's policies are separate.
  REQUIRE(ks.CreateTenant("u").has_value());
  auto u1 = ks.PutPolicy("u", "release", "u-doc");
  REQUIRE(u1.has_value());
  CHECK(u1->version == 1);

  CHECK(CodeOf(ks.GetPolicy("t", "release", 3)) == ErrorCode::kNotFound);
  CHECK(CodeOf(ks.GetPolicy("t", "release", 0)) == ErrorCode::kNotFound);
  auto missing = ks.GetPolicy("t", "nope");
  CHECK(CodeOf(missing) == ErrorCode::kNotFound);
  CHECK(ReasonOf(missing) == "policy_not_found");
  auto no_tenant = ks.GetPolicy("zz", "release");
  CHECK(CodeOf(no_tenant) == ErrorCode::kNotFound);
  CHECK(ReasonOf(no_tenant) == "tenant_not_found");
  CHECK(CodeOf(ks.PutPolicy("zz", "release", "d")) == ErrorCode::kNotFound);
  CHECK(CodeOf(ks.ListPolicies("zz")) == ErrorCode::kNotFound);
  CHECK(CodeOf(ks.PutPolicy("t", "Bad", "d")) == ErrorCode::kInvalidArgument);
  CHECK(CodeOf(ks.PutPolicy("t", "release", "")) == ErrorCode::kInvalidArgument);
  CHECK(CodeOf(ks.PutPolicy("t", "release", std::string((1u << 20) + 1, ' '))) ==
        ErrorCode::kPayloadTooLarge);
  CHECK(ks.GetPolicy("t", "release")->version == 2);  // failed puts added nothing
}

// ---- Keys ------------------------------------------------------------------------------------

TEST_CASE("KeyStore: key create, rotate, list, get, disable, enable, destroy",
          "[keystore][integration]") {
  Fixture f;
  KeyStore& ks = *f.store;
  f.TenantWithPolicy("t");
  REQUIRE(ks.PutPolicy("t", "strict", "{}").has_value());

  auto created = ks.CreateKey("t", "k", "p", Material("version-one"), "generated");
  REQUIRE(created.has_value());
  CHECK(created->tenant == "t");
  CHECK(created->name == "k");
  CHECK(created->policy == "p");
  CHECK(created->created_at == kT0);
  REQUIRE(created->versions.size() == 1);
  CHECK(created->versions[0].version == 1);
  CHECK(created->versions[0].state == VersionState::kEnabled);
  CHECK(created->versions[0].origin == "generated");
  CHECK(created->versions[0].length == 11);

  f.clock.Advance(60);
  auto rotated = ks.RotateKey("t", "k", Material("version-two!"), "imported");
  REQUIRE(rotated.has_value());
  REQUIRE(rotated->versions.size() == 2);
  CHECK(rotated->versions[1].version == 2);
  CHECK(rotated->versions[1].origin == "imported");
  CHECK(rotated->versions[1].length == 12);
  CHECK(rotated->versions[1].created_at == kT0 + 60);

  REQUIRE(ks.CreateKey("t", "a-key", "strict", Material("zz"), "imported").has_value());
  auto keys = ks.ListKeys("t");
  REQUIRE(keys.has_value());
  REQUIRE(keys->size() == 2);
  CHECK((*keys)[0].name == "a-key");
  CHECK((*keys)[0].policy == "strict");
  CHECK((*keys)[1].name == "k");
  CHECK((*keys)[1].versions.size() == 2);

  // Newest enabled by default, explicit versions on request.
  CHECK(Str(ks.GetKeyMaterial("t", "k")->material) == "version-two!");
  CHECK(ks.GetKeyMaterial("t", "k")->version == 2);
  CHECK(Str(ks.GetKeyMaterial("t", "k", 1)->material) == "version-one");

  SECTION("disable and enable") {
    auto disabled = ks.SetVersionState("t", "k", 2, VersionState::kDisabled);
    REQUIRE(disabled.has_value());
    CHECK(disabled->versions[1].state == VersionState::kDisabled);
    auto fallback = ks.GetKeyMaterial("t", "k");
    REQUIRE(fallback.has_value());
    CHECK(fallback->version == 1);
    auto explicit_disabled = ks.GetKeyMaterial("t", "k", 2);
    CHECK(CodeOf(explicit_disabled) == ErrorCode::kFailedPrecondition);
    CHECK(ReasonOf(explicit_disabled) == "key_version_disabled");

    REQUIRE(ks.SetVersionState("t", "k", 1, VersionState::kDisabled).has_value());
    auto none = ks.GetKeyMaterial("t", "k");
    REQUIRE(CodeOf(none) == ErrorCode::kFailedPrecondition);
    CHECK(none.error().message() == "no enabled key version");

    // Disabling twice is a no-op; enabling restores.
    REQUIRE(ks.SetVersionState("t", "k", 1, VersionState::kDisabled).has_value());
    REQUIRE(ks.SetVersionState("t", "k", 2, VersionState::kEnabled).has_value());
    CHECK(ks.GetKeyMaterial("t", "k")->version == 2);
  }
  SECTION("destroy is final and erases the ciphertext") {
    auto destroyed = ks.SetVersionState("t", "k", 2, VersionState::kDestroyed);
    REQUIRE(destroyed.has_value());
    CHECK(destroyed->versions[1].state == VersionState::kDestroyed);
    CHECK(destroyed->versions[1].length == 12);  // metadata is kept

    auto gone = ks.GetKeyMaterial("t", "k", 2);
    CHECK(CodeOf(gone) == ErrorCode::kGone);
    CHECK(ReasonOf(gone) == "key_version_destroyed");
    CHECK(ks.GetKeyMaterial("t", "k")->version == 1);

    const VersionState next =
        GENERATE(VersionState::kEnabled, VersionState::kDisabled, VersionState::kDestroyed);
    CHECK(CodeOf(ks.SetVersionState("t", "k", 2, next)) == ErrorCode::kGone);

    RawDb raw(f.path);
    CHECK(raw.Int("SELECT COUNT(*) FROM key_versions WHERE key = 'k' AND version = 2 "
                  "AND ciphertext IS NULL AND state = 'destroyed'") == 1);

    // Version numbers are not reused after a destroy.
    auto r3 = ks.RotateKey("t", "k", Material("three"), "generated");
    REQUIRE(r3.has_value());
    CHECK(r3->versions.back().version == 3);
    CHECK(Str(ks.GetKeyMaterial("t", "k")->material) == "three");
  }
  SECTION("policy change") {
    auto changed = ks.SetKeyPolicy("t", "k", "strict");
    REQUIRE(changed.has_value());
    CHECK(changed->policy == "strict");
    CHECK(ks.GetKey("t", "k")->policy == "strict");
    auto missing = ks.SetKeyPolicy("t", "k", "nope");
    CHECK(CodeOf(missing) == ErrorCode::kNotFound);
    CHECK(ReasonOf(missing) == "policy_not_found");
    CHECK(CodeOf(ks.SetKeyPolicy("t", "nokey", "p")) == ErrorCode::kNotFound);
  }
  SECTION("not found cases carry a reason") {
    auto no_version = ks.GetKeyMaterial("t", "k", 9);
    CHECK(CodeOf(no_version) == ErrorCode::kNotFound);
    CHECK(ReasonOf(no_version) == "key_version_not_found");
    auto no_key = ks.GetKeyMaterial("t", "nokey");
    CHECK(CodeOf(no_key) == ErrorCode::kNotFound);
    CHECK(ReasonOf(no_key) == "key_not_found");
    auto no_tenant = ks.GetKeyMaterial("nobody", "k");
    CHECK(CodeOf(no_tenant) == ErrorCode::kNotFound);
    CHECK(ReasonOf(no_tenant) == "tenant_not_found");
    CHECK(ReasonOf(ks.GetKey("t", "nokey")) == "key_not_found");
    CHECK(ReasonOf(ks.GetKey("nobody", "k")) == "tenant_not_found");
    CHECK(ReasonOf(ks.RotateKey("t", "nokey", Material("x"), "generated")) == "key_not_found");
    CHECK(CodeOf(ks.SetVersionState("t", "k", 7, VersionState::kDisabled)) == ErrorCode::kNotFound);
    CHECK(CodeOf(ks.SetVersionState("t", "nokey", 1, VersionState::kDisabled)) ==
          ErrorCode::kNotFound);
    CHECK(CodeOf(ks.ListKeys("nobody")) == ErrorCode::kNotFound);
  }
}

TEST_CASE("KeyStore::CreateKey: rejects bad input with specific codes", "[keystore][integration]") {
  Fixture f;
  KeyStore& ks = *f.store;
  f.TenantWithPolicy("t");
  REQUIRE(ks.CreateKey("t", "k", "p", Material("x"), "generated").has_value());

  SECTION("duplicate key name") {
    auto dup = ks.CreateKey("t", "k", "p", Material("y"), "generated");
    CHECK(CodeOf(dup) == ErrorCode::kAlreadyExists);
    CHECK(ReasonOf(dup) == "key_exists");
    CHECK(Str(ks.GetKeyMaterial("t", "k")->material) == "x");  // no silent takeover
    CHECK(ks.GetKey("t", "k")->versions.size() == 1);
  }
  SECTION("unknown tenant or policy") {
    auto no_tenant = ks.CreateKey("nobody", "k", "p", Material("y"), "generated");
    CHECK(CodeOf(no_tenant) == ErrorCode::kNotFound);
    CHECK(ReasonOf(no_tenant) == "tenant_not_found");
    auto no_policy = ks.CreateKey("t", "k2", "nope", Material("y"), "generated");
    CHECK(CodeOf(no_policy) == ErrorCode::kNotFound);
    CHECK(ReasonOf(no_policy) == "policy_not_found");
    CHECK(CodeOf(ks.GetKey("t", "k2")) == ErrorCode::kNotFound);  // nothing half-created
  }
  SECTION("material length") {
    const std::size_t n = GENERATE(0u, 1025u, 4096u);
    SecretBytes m(n);
    CHECK(CodeOf(ks.CreateKey("t", "k3", "p", m, "generated")) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(ks.RotateKey("t", "k", m, "generated")) == ErrorCode::kInvalidArgument);
  }
  SECTION("material length bounds accepted") {
    SecretBytes one = RandomSecret(1);
    SecretBytes max = RandomSecret(1024);
    REQUIRE(ks.CreateKey("t", "one", "p", one, "generated").has_value());
    REQUIRE(ks.CreateKey("t", "max", "p", max, "generated").has_value());
    auto got = ks.GetKeyMaterial("t", "max");
    REQUIRE(got.has_value());
    CHECK(got->material.size() == 1024);
    CHECK(std::equal(max.Reveal().begin(), max.Reveal().end(), got->material.Reveal().begin()));
  }
  SECTION("origin") {
    CHECK(CodeOf(ks.CreateKey("t", "k4", "p", Material("y"), "stolen")) ==
          ErrorCode::kInvalidArgument);
    CHECK(CodeOf(ks.RotateKey("t", "k", Material("y"), "")) == ErrorCode::kInvalidArgument);
  }
  SECTION("names") {
    CHECK(CodeOf(ks.CreateKey("T", "k5", "p", Material("y"), "generated")) ==
          ErrorCode::kInvalidArgument);
    CHECK(CodeOf(ks.CreateKey("t", "k/5", "p", Material("y"), "generated")) ==
          ErrorCode::kInvalidArgument);
    CHECK(CodeOf(ks.CreateKey("t", "k5", "p p", Material("y"), "generated")) ==
          ErrorCode::kInvalidArgument);
    CHECK(CodeOf(ks.GetKeyMaterial("t", "K")) == ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("KeyStore: a ciphertext copied to another tenant, key or version does not decrypt",
          "[keystore][integration]") {
  Fixture f;
  KeyStore& ks = *f.store;
  f.TenantWithPolicy("a");
  f.TenantWithPolicy("b");
  REQUIRE(ks.CreateKey("a", "k", "p", Material("tenant-a-secret"), "imported").has_value());
  REQUIRE(ks.RotateKey("a", "k", Material("tenant-a-second"), "imported").has_value());
  REQUIRE(ks.CreateKey("a", "other", "p", Material("other-secret-x"), "imported").has_value());
  REQUIRE(ks.CreateKey("b", "k", "p", Material("tenant-b-secret"), "imported").has_value());

  RawDb raw(f.path);
  std::string target_tenant;
  std::string target_key;
  int target_version = 1;
  SECTION("into another tenant's key of the same name and version") {
    target_tenant = "b";
    target_key = "k";
  }
  SECTION("into another key of the same tenant") {
    target_tenant = "a";
    target_key = "other";
  }
  SECTION("into another version of the same key") {
    target_tenant = "a";
    target_key = "k";
    target_version = 2;
  }
  raw.Exec(
      "UPDATE key_versions SET ciphertext = (SELECT ciphertext FROM key_versions "
      "WHERE tenant = 'a' AND key = 'k' AND version = 1) WHERE tenant = '" +
      target_tenant + "' AND key = '" + target_key +
      "' AND version = " + std::to_string(target_version));

  auto stolen = ks.GetKeyMaterial(target_tenant, target_key, target_version);
  CHECK(CodeOf(stolen) == ErrorCode::kVerificationFailed);
  CHECK(ks.GetKeyMaterial("a", "k", 1).has_value());  // the original still decrypts
}

TEST_CASE("KeyStore: a tampered ciphertext does not decrypt", "[keystore][integration]") {
  Fixture f;
  f.TenantWithPolicy("t");
  REQUIRE(f.store->CreateKey("t", "k", "p", Material("payload"), "imported").has_value());
  RawDb raw(f.path);
  // Flip the last byte (part of the GCM tag).
  raw.Exec(
      "UPDATE key_versions SET ciphertext = CAST(substr(ciphertext, 1, length(ciphertext) - 1) "
      "|| CASE WHEN substr(ciphertext, -1, 1) = x'00' THEN x'01' ELSE x'00' END AS BLOB)");
  CHECK(CodeOf(f.store->GetKeyMaterial("t", "k")) == ErrorCode::kVerificationFailed);
}

TEST_CASE("KeyStore: no plaintext key material, master key or token secret on disk",
          "[keystore][integration]") {
  Fixture f;
  KeyStore& ks = *f.store;
  f.TenantWithPolicy("t");
  // Random material: its bytes occur nowhere by chance.
  SecretBytes m1 = RandomSecret(64);
  SecretBytes m2 = RandomSecret(48);
  SecretBytes m1_copy = SecretBytes::CopyFrom(m1.Reveal());
  REQUIRE(ks.CreateKey("t", "k", "p", m1, "generated").has_value());
  REQUIRE(ks.RotateKey("t", "k", m2, "generated").has_value());
  REQUIRE(ks.SetVersionState("t", "k", 2, VersionState::kDestroyed).has_value());
  auto token = ks.CreateToken(Role::kOperator, std::nullopt, 0);
  REQUIRE(token.has_value());
  const std::string nonce = ks.IssueNonce(kT0 + 100).value();
  REQUIRE(ks.ConsumeNonce(nonce).has_value());

  auto scan = [&](const char* when) {
    const std::string db = ReadIfExists(f.path);
    const std::string wal = ReadIfExists(f.path + "-wal");
    INFO(when);
    REQUIRE_FALSE(db.empty());
    for (const std::string* bytes : {&db, &wal}) {
      CHECK_FALSE(Contains(*bytes, m1.Reveal()));
      CHECK_FALSE(Contains(*bytes, m1.Reveal().subspan(0, 16)));
      CHECK_FALSE(Contains(*bytes, m2.Reveal()));
      CHECK_FALSE(Contains(*bytes, m2.Reveal().subspan(16, 16)));
      CHECK_FALSE(Contains(*bytes, f.master.Reveal()));
      CHECK_FALSE(Contains(*bytes, AsBytes(token->secret)));
      CHECK_FALSE(Contains(*bytes, AsBytes(token->secret.substr(4, 20))));
      CHECK_FALSE(Contains(*bytes, AsBytes("nonce-in-the-clear")));
    }
  };
  scan("before checkpoint");
  {
    RawDb raw(f.path);
    raw.Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  scan("after checkpoint");
  f.store.reset();  // closing checkpoints and removes the WAL
  scan("after close");

  // Sanity check of the scanner: the material does decrypt after reopening.
  f.Reopen();
  REQUIRE(f.store->Unseal(f.master).has_value());
  auto got = f.store->GetKeyMaterial("t", "k", 1);
  REQUIRE(got.has_value());
  CHECK(
      std::equal(m1_copy.Reveal().begin(), m1_copy.Reveal().end(), got->material.Reveal().begin()));
}

// ---- Tokens ----------------------------------------------------------------------------------

TEST_CASE("KeyStore: tokens create, authenticate, expire and revoke", "[keystore][integration]") {
  Fixture f;
  KeyStore& ks = *f.store;
  REQUIRE(ks.CreateTenant("t").has_value());
  REQUIRE(ks.CreateTenant("u").has_value());

  auto op = ks.CreateToken(Role::kOperator, std::nullopt, 0);
  REQUIRE(op.has_value());
  CHECK(op->secret.rfind("skr_", 0) == 0);
  CHECK(op->secret.size() == 4 + 43);  // base64url of 32 bytes, unpadded
  CHECK(Base64UrlDecode(op->secret.substr(4)).has_value());
  CHECK(op->info.id.rfind("tok_", 0) == 0);
  CHECK(op->info.id.size() == 4 + 16);
  CHECK(HexDecode(op->info.id.substr(4)).has_value());
  CHECK(op->info.role == Role::kOperator);
  CHECK_FALSE(op->info.tenant.has_value());
  CHECK_FALSE(op->info.expires_at.has_value());
  CHECK(op->info.created_at == kT0);

  auto admin = ks.CreateToken(Role::kAdmin, std::string("t"), 60);
  REQUIRE(admin.has_value());
  CHECK(admin->info.expires_at == kT0 + 60);
  auto auditor_all = ks.CreateToken(Role::kAuditor, std::nullopt, -5);
  REQUIRE(auditor_all.has_value());
  CHECK_FALSE(auditor_all->info.expires_at.has_value());
  auto auditor_u = ks.CreateToken(Role::kAuditor, std::string("u"), 0);
  REQUIRE(auditor_u.has_value());
  CHECK(op->secret != admin->secret);
  CHECK(op->info.id != admin->info.id);

  // Only SHA-256(secret) is stored.
  {
    RawDb raw(f.path);
    const auto hash = Sha256(op->secret);
    CHECK(raw.Blob("SELECT hash FROM tokens WHERE id = '" + op->info.id + "'") ==
          std::vector<std::uint8_t>(hash.begin(), hash.end()));
  }

  auto who = ks.Authenticate(admin->secret);
  REQUIRE(who.has_value());
  CHECK(who->id == admin->info.id);
  CHECK(who->role == Role::kAdmin);
  CHECK(who->tenant == std::optional<std::string>("t"));
  CHECK(who->expires_at == kT0 + 60);

  SECTION("unknown or malformed secrets") {
    const std::string bad = GENERATE(std::string(""), std::string("skr_"), std::string("skr_AAAA"),
                                     std::string("Bearer x"), std::string(1000, 'a'));
    auto r = ks.Authenticate(bad);
    CHECK(CodeOf(r) == ErrorCode::kUnauthenticated);
    CHECK(ReasonOf(r) == "token_unknown");
    std::string flipped = admin->secret;
    flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
    CHECK(CodeOf(ks.Authenticate(flipped)) == ErrorCode::kUnauthenticated);
  }
  SECTION("expiry follows the clock") {
    f.clock.Advance(59);
    CHECK(ks.Authenticate(admin->secret).has_value());
    f.clock.Advance(1);
    auto expired = ks.Authenticate(admin->secret);
    CHECK(CodeOf(expired) == ErrorCode::kUnauthenticated);
    CHECK(ReasonOf(expired) == "token_expired");
    f.clock.Advance(100000);
    CHECK(ks.Authenticate(op->secret).has_value());  // no expiry
  }
  SECTION("revoke") {
    REQUIRE(ks.RevokeToken(admin->info.id).has_value());
    auto revoked = ks.Authenticate(admin->secret);
    CHECK(CodeOf(revoked) == ErrorCode::kUnauthenticated);
    CHECK(ReasonOf(revoked) == "token_revoked");
    CHECK(CodeOf(ks.GetToken(admin->info.id)) == ErrorCode::kNotFound);
    CHECK(CodeOf(ks.RevokeToken(admin->info.id)) == ErrorCode::kNotFound);
    CHECK(CodeOf(ks.RevokeToken("tok_0000000000000000")) == ErrorCode::kNotFound);
    CHECK(ks.Authenticate(op->secret).has_value());  // others unaffected
    CHECK(ks.ListTokens(std::string("t"))->empty());
  }
  SECTION("list and get") {
    auto all = ks.ListTokens(std::nullopt);
    REQUIRE(all.has_value());
    CHECK(all->size() == 4);
    auto for_t = ks.ListTokens(std::string("t"));
    REQUIRE(for_t.has_value());
    REQUIRE(for_t->size() == 1);
    CHECK((*for_t)[0].id == admin->info.id);
    auto got = ks.GetToken(auditor_u->info.id);
    REQUIRE(got.has_value());
    CHECK(got->role == Role::kAuditor);
    CHECK(got->tenant == std::optional<std::string>("u"));
    CHECK(CodeOf(ks.GetToken("tok_ffffffffffffffff")) == ErrorCode::kNotFound);
    CHECK(CodeOf(ks.ListTokens(std::string("Bad"))) == ErrorCode::kInvalidArgument);
  }
  SECTION("scope rules") {
    CHECK(CodeOf(ks.CreateToken(Role::kOperator, std::string("t"), 0)) ==
          ErrorCode::kInvalidArgument);
    CHECK(CodeOf(ks.CreateToken(Role::kAdmin, std::nullopt, 0)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(ks.CreateToken(Role::kAdmin, std::string("Bad/Name"), 0)) ==
          ErrorCode::kInvalidArgument);
    auto missing = ks.CreateToken(Role::kAdmin, std::string("nobody"), 0);
    CHECK(CodeOf(missing) == ErrorCode::kNotFound);
    CHECK(ReasonOf(missing) == "tenant_not_found");
    CHECK(CodeOf(ks.CreateToken(Role::kAuditor, std::string("nobody"), 0)) == ErrorCode::kNotFound);
    CHECK(ks.ListTokens(std::nullopt)->size() == 4);  // nothing added
  }
  SECTION("tokens survive a reopen") {
    f.Reopen();
    auto again = f.store->Authenticate(op->secret);
    REQUIRE(again.has_value());
    CHECK(again->id == op->info.id);
  }
}

// ---- Nonces ----------------------------------------------------------------------------------

TEST_CASE("KeyStore: nonce tokens are single use and expire", "[keystore][integration]") {
  Fixture f;
  KeyStore& ks = *f.store;

  auto unknown = ks.ConsumeNonce("never-issued");
  CHECK(CodeOf(unknown) == ErrorCode::kBadNonce);
  CHECK(ReasonOf(unknown) == "nonce_unknown");
  CHECK(unknown.error().message() == "unknown nonce");
  CHECK(ReasonOf(ks.ConsumeNonce("")) == "nonce_unknown");

  const std::string n1 = ks.IssueNonce(kT0 + 120).value();
  CHECK(n1.size() == skr::keystore::kNonceTokenChars);
  CHECK(n1 != ks.IssueNonce(kT0 + 120).value());  // 32 random bytes each
  REQUIRE(ks.ConsumeNonce(n1).has_value());
  auto reused = ks.ConsumeNonce(n1);
  CHECK(CodeOf(reused) == ErrorCode::kBadNonce);
  CHECK(ReasonOf(reused) == "nonce_reused");

  const std::string n2 = ks.IssueNonce(kT0 + 120).value();
  f.clock.Advance(119);
  const std::string n3 = ks.IssueNonce(kT0 + 120).value();
  f.clock.Advance(1);  // now == expires_at: expired
  auto expired = ks.ConsumeNonce(n2);
  CHECK(CodeOf(expired) == ErrorCode::kBadNonce);
  CHECK(ReasonOf(expired) == "nonce_expired");
  CHECK(ReasonOf(ks.ConsumeNonce(n3)) == "nonce_expired");

  // Consumption is durable: a restarted skrd (same database, same master key) refuses it.
  const std::string n4 = ks.IssueNonce(kT0 + 1000).value();
  REQUIRE(ks.ConsumeNonce(n4).has_value());
  f.Reopen();
  CHECK(CodeOf(f.store->ConsumeNonce(n4)) == ErrorCode::kSealed);  // no master key, no check
  REQUIRE(f.store->Unseal(f.master).has_value());
  CHECK(ReasonOf(f.store->ConsumeNonce(n4)) == "nonce_reused");
  CHECK(ReasonOf(f.store->ConsumeNonce(n2)) == "nonce_expired");
}

TEST_CASE("KeyStore::IssueNonce: issuing a challenge writes nothing", "[keystore][integration]") {
  Fixture f;
  RawDb raw(f.path);
  const auto size_before = std::filesystem::file_size(f.path);
  const auto wal_before = ReadIfExists(f.path + "-wal");
  for (int i = 0; i < 2000; ++i) REQUIRE(f.store->IssueNonce(kT0 + 120).has_value());
  CHECK(raw.Int("SELECT COUNT(*) FROM nonces") == 0);
  CHECK(std::filesystem::file_size(f.path) == size_before);
  CHECK(ReadIfExists(f.path + "-wal") == wal_before);  // not a page written for them
}

TEST_CASE("KeyStore::ConsumeNonce: forged, truncated, altered and foreign tokens are unknown",
          "[keystore][integration][attack]") {
  Fixture f;
  KeyStore& ks = *f.store;
  const std::string good = ks.IssueNonce(kT0 + 120).value();
  std::vector<std::uint8_t> bytes = skr::Base64Decode(good).value();
  REQUIRE(bytes.size() == skr::keystore::kNonceTokenBytes);

  SECTION("forged MAC") {
    bytes.back() ^= 0x01;
    CHECK(ReasonOf(ks.ConsumeNonce(skr::Base64Encode(bytes))) == "nonce_unknown");
  }
  SECTION("expiry moved forward (MAC no longer matches)") {
    bytes[8] ^= 0x01;
    CHECK(ReasonOf(ks.ConsumeNonce(skr::Base64Encode(bytes))) == "nonce_unknown");
  }
  SECTION("truncated") {
    CHECK(ReasonOf(ks.ConsumeNonce(good.substr(0, good.size() - 4))) == "nonce_unknown");
    bytes.pop_back();
    CHECK(ReasonOf(ks.ConsumeNonce(skr::Base64Encode(bytes))) == "nonce_unknown");
  }
  SECTION("another format version") {
    bytes[0] = 0x02;
    CHECK(ReasonOf(ks.ConsumeNonce(skr::Base64Encode(bytes))) == "nonce_unknown");
  }
  SECTION("another skrd's master key") {
    Fixture other;
    const std::string foreign = other.store->IssueNonce(kT0 + 120).value();
    CHECK(ReasonOf(ks.ConsumeNonce(foreign)) == "nonce_unknown");
    CHECK(other.store->ConsumeNonce(foreign).has_value());
  }
  SECTION("a second spelling of the same token is not a second nonce") {
    // 73 bytes end in one base64 group with 4 unused bits: set one of them.
    std::string alt = good;
    const std::string alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const std::size_t pos = good.size() - 3;  // the last data character before "=="
    alt[pos] = alphabet[alphabet.find(good[pos]) ^ 0x01];
    REQUIRE(alt != good);
    CHECK(ReasonOf(ks.ConsumeNonce(alt)) == "nonce_unknown");
  }
  // Nothing above was recorded; the genuine token still works once.
  RawDb raw(f.path);
  CHECK(raw.Int("SELECT COUNT(*) FROM nonces") == 0);
  CHECK(ks.ConsumeNonce(good).has_value());
}

TEST_CASE("KeyStore::ConsumeNonce: exactly one of 8 concurrent consumers wins",
          "[keystore][integration]") {
  Fixture f;
  // Half the threads use a second store (its own SQLite connection on the same file, as a
  // second skrd process would), so the guarantee is checked across connections too.
  auto second = KeyStore::Open(f.path, f.clock);
  REQUIRE(second.has_value());
  REQUIRE((*second)->Unseal(f.master).has_value());
  KeyStore* stores[2] = {f.store.get(), second->get()};

  constexpr int kThreads = 8;
  constexpr int kRounds = 20;
  for (int round = 0; round < kRounds; ++round) {
    const std::string nonce = stores[round % 2]->IssueNonce(kT0 + 120).value();
    std::atomic<int> ready{0};
    std::atomic<int> wins{0};
    std::atomic<int> reused{0};
    std::atomic<int> other{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        ready.fetch_add(1);
        while (ready.load() < kThreads) std::this_thread::yield();
        auto r = stores[i % 2]->ConsumeNonce(nonce);
        if (r.has_value()) {
          wins.fetch_add(1);
        } else if (r.error().reason() == "nonce_reused") {
          reused.fetch_add(1);
        } else {
          other.fetch_add(1);
        }
      });
    }
    for (auto& t : threads) t.join();
    INFO("round " << round);
    CHECK(wins.load() == 1);
    CHECK(reused.load() == kThreads - 1);
    CHECK(other.load() == 0);
  }
}

TEST_CASE("KeyStore::PurgeNonces: removes consumed-nonce records past their expiry",
          "[keystore][integration]") {
  Fixture f;
  KeyStore& ks = *f.store;
  const std::string a = ks.IssueNonce(kT0 + 100).value();
  const std::string b = ks.IssueNonce(kT0 + 200).value();
  const std::string c = ks.IssueNonce(kT0 + 250).value();
  const std::string d = ks.IssueNonce(kT0 + 300).value();
  for (const auto* n : {&a, &b, &c, &d}) REQUIRE(ks.ConsumeNonce(*n).has_value());

  auto purged = ks.PurgeNonces(kT0 + 250);
  REQUIRE(purged.has_value());
  CHECK(*purged == 2);  // a and b; c expires exactly at the cutoff and stays
  f.clock.Advance(260);
  // A purged record's token has expired, so it can never be replayed; a used token whose record
  // is still kept says "reused" even once expired.
  CHECK(ReasonOf(ks.ConsumeNonce(a)) == "nonce_expired");
  CHECK(ReasonOf(ks.ConsumeNonce(c)) == "nonce_reused");
  CHECK(ReasonOf(ks.ConsumeNonce(d)) == "nonce_reused");
  CHECK(*ks.PurgeNonces(kT0 + 250) == 0);
  CHECK(*ks.PurgeNonces(kT0 + 1000) == 2);
  RawDb raw(f.path);
  CHECK(raw.Int("SELECT COUNT(*) FROM nonces") == 0);
}

// ---- Concurrency smoke test ------------------------------------------------------------------

TEST_CASE("KeyStore: concurrent writers and readers on one store", "[keystore][integration]") {
  Fixture f;
  f.TenantWithPolicy("t");
  constexpr int kThreads = 4;
  constexpr int kKeysPerThread = 10;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < kKeysPerThread; ++j) {
        const std::string name = "k" + std::to_string(i) + "-" + std::to_string(j);
        const std::string value = "material-" + name;
        if (!f.store->CreateKey("t", name, "p", Material(value), "imported").has_value()) {
          failures.fetch_add(1);
          continue;
        }
        auto got = f.store->GetKeyMaterial("t", name);
        if (!got.has_value() || Str(got->material) != value) failures.fetch_add(1);
        if (!f.store->ListKeys("t").has_value()) failures.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures.load() == 0);
  CHECK(f.store->ListKeys("t")->size() == kThreads * kKeysPerThread);
}

}  // namespace
}  // namespace skr::keystore

TEST_CASE("KeyStore: attestation collateral is stored, replaced and listed",
          "[keystore][integration]") {
  skr::test::TempDir dir;
  skr::FakeClock clock(1'800'000'000);
  auto store = skr::keystore::KeyStore::Open(dir.file("c.db"), clock).value();
  const std::vector<std::uint8_t> a = {1, 2, 3};
  const std::vector<std::uint8_t> b = {4, 5};
  CHECK(skr::test::CodeOf(store->FindCollateral("snp-vcek", "x")) == skr::ErrorCode::kNotFound);
  REQUIRE(store->PutCollateral("snp-vcek", "x", a, "{}").has_value());
  REQUIRE(store->PutCollateral("snp-vcek", "y", a, "{}").has_value());
  REQUIRE(store->PutCollateral("snp-vcek", "x", b, "{\"v\":2}").has_value());
  auto found = store->FindCollateral("snp-vcek", "x");
  REQUIRE(found.has_value());
  CHECK(found->data == b);
  CHECK(found->info == "{\"v\":2}");
  CHECK(store->ListCollateral("snp-vcek")->size() == 2);
  CHECK(store->ListCollateral("other")->empty());
  CHECK(skr::test::CodeOf(store->PutCollateral("snp-vcek", "", a, "{}")) ==
        skr::ErrorCode::kInvalidArgument);
}
