// SPDX-License-Identifier: Apache-2.0
// KeyStore TPM attestation-key enrolments (keystore/keystore.h: PutTpmAk, ActivateTpmAk,
// FindTpmAk, ListTpmAks, DeleteTpmAk; schema migration 3, table tpm_aks).
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/ossl.h"
#include "keystore/keystore.h"
#include "tests/support/test_support.h"

namespace skr::keystore {
namespace {

using test::CodeOf;
using test::ReasonOf;
using test::TempDir;

constexpr std::int64_t kT0 = 1'750'000'000;
constexpr std::int64_t kTtl = 600;

// A raw SQLite connection to the keystore file, to inspect rows and to rewind the schema.
class Raw {
 public:
  explicit Raw(const std::string& path) {
    REQUIRE(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~Raw() { sqlite3_close_v2(db_); }
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;

  void Exec(const std::string& sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    const std::string msg = err != nullptr ? err : "";
    sqlite3_free(err);
    INFO(sql << ": " << msg);
    REQUIRE(rc == SQLITE_OK);
  }
  // First column of the first row (0 when there is no row).
  std::int64_t Int(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    std::int64_t v = 0;
    if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
  }

 private:
  sqlite3* db_ = nullptr;
};

std::vector<std::uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

std::vector<std::uint8_t> HashOf(const std::vector<std::uint8_t>& secret) {
  const auto h = Sha256(secret);
  return {h.begin(), h.end()};
}

struct Fixture {
  TempDir dir;
  FakeClock clock{kT0};
  std::string path = dir.file("skr.db");
  std::unique_ptr<KeyStore> store;
  std::vector<std::uint8_t> secret = Bytes("the credential secret, 32 bytes!");

  Fixture() {
    auto opened = KeyStore::Open(path, clock);
    REQUIRE(opened.has_value());
    store = std::move(*opened);
    SecretBytes master = RandomSecret(32);
    REQUIRE(store->Initialize(master).has_value());
    REQUIRE(store->CreateTenant("acme").has_value());
    REQUIRE(store->CreateTenant("globex").has_value());
  }

  KeyStore::TpmAk Ak(const std::string& id, const std::string& tenant, const std::string& name,
                     const std::string& state = "pending") const {
    KeyStore::TpmAk ak;
    ak.id = id;
    ak.tenant = tenant;
    ak.name = name;
    ak.ak_public = Bytes("TPMT_PUBLIC of " + id);
    ak.ak_name = "000b" + std::string(64, 'a');
    ak.ek_sha256 = std::string(64, 'e');
    ak.state = state;
    ak.expires_at = state == "pending" ? clock.NowUnix() + kTtl : 0;
    return ak;
  }

  // A pending enrolment whose challenge secret is `secret`.
  KeyStore::TpmAk PutPending(const std::string& id, const std::string& tenant = "acme",
                             const std::string& name = "host1") {
    auto put = store->PutTpmAk(Ak(id, tenant, name), HashOf(secret));
    REQUIRE(put.has_value());
    return *put;
  }
};

}  // namespace

TEST_CASE("KeyStore::PutTpmAk: a pending enrolment activates with the right secret",
          "[keystore][tpm][integration]") {
  Fixture f;
  const auto pending = f.PutPending("ak_1");
  CHECK(pending.state == "pending");
  CHECK(pending.created_at == kT0);
  CHECK(pending.expires_at == kT0 + kTtl);
  CHECK(pending.activated_at == 0);

  auto found = f.store->FindTpmAk("ak_1");
  REQUIRE(found.has_value());
  CHECK(found->state == "pending");
  CHECK(found->ak_public == Bytes("TPMT_PUBLIC of ak_1"));
  CHECK(found->expires_at == kT0 + kTtl);

  f.clock.Advance(30);
  auto active = f.store->ActivateTpmAk("acme", "ak_1", f.secret);
  REQUIRE(active.has_value());
  CHECK(active->state == "active");
  CHECK(active->activated_at == kT0 + 30);
  CHECK(active->expires_at == 0);
  CHECK(active->tenant == "acme");
  CHECK(active->name == "host1");

  auto again = f.store->FindTpmAk("ak_1");
  REQUIRE(again.has_value());
  CHECK(again->state == "active");
  CHECK(again->activated_at == kT0 + 30);
  CHECK(again->expires_at == 0);
  CHECK(again->created_at == kT0);
  CHECK(again->ak_name == "000b" + std::string(64, 'a'));
  CHECK(again->ek_sha256 == std::string(64, 'e'));

  // The challenge hash is dropped once it has served.
  Raw raw(f.path);
  CHECK(raw.Int("SELECT COUNT(*) FROM tpm_aks WHERE id = 'ak_1' AND secret_hash IS NULL") == 1);

  SECTION("an active enrolment cannot be activated again") {
    auto r = f.store->ActivateTpmAk("acme", "ak_1", f.secret);
    CHECK(CodeOf(r) == ErrorCode::kNotFound);
    CHECK(ReasonOf(r) == "tpm_enrollment_not_found");
    CHECK(f.store->FindTpmAk("ak_1")->state == "active");
  }
}

TEST_CASE("KeyStore::ActivateTpmAk: a wrong secret burns the enrolment",
          "[keystore][tpm][integration]") {
  Fixture f;
  f.PutPending("ak_1");
  auto wrong = f.store->ActivateTpmAk("acme", "ak_1", Bytes("not the secret"));
  CHECK(CodeOf(wrong) == ErrorCode::kUnauthenticated);
  CHECK(ReasonOf(wrong) == "tpm_activation_failed");

  auto second = f.store->ActivateTpmAk("acme", "ak_1", f.secret);
  CHECK(CodeOf(second) == ErrorCode::kNotFound);
  CHECK(ReasonOf(second) == "tpm_enrollment_not_found");
  CHECK(CodeOf(f.store->FindTpmAk("ak_1")) == ErrorCode::kNotFound);

  SECTION("an empty secret is a wrong secret") {
    f.PutPending("ak_2");
    auto r = f.store->ActivateTpmAk("acme", "ak_2", {});
    CHECK(ReasonOf(r) == "tpm_activation_failed");
    CHECK(CodeOf(f.store->FindTpmAk("ak_2")) == ErrorCode::kNotFound);
  }
  SECTION("the secret hash itself is not the secret") {
    f.PutPending("ak_3");
    auto r = f.store->ActivateTpmAk("acme", "ak_3", HashOf(f.secret));
    CHECK(ReasonOf(r) == "tpm_activation_failed");
  }
}

TEST_CASE("KeyStore::ActivateTpmAk: an expired challenge fails and is removed",
          "[keystore][tpm][integration]") {
  Fixture f;
  SECTION("one second after expires_at") {
    f.PutPending("ak_1");
    f.clock.Advance(kTtl + 1);
    auto r = f.store->ActivateTpmAk("acme", "ak_1", f.secret);
    CHECK(CodeOf(r) == ErrorCode::kUnauthenticated);
    CHECK(ReasonOf(r) == "tpm_activation_failed");
    CHECK(CodeOf(f.store->FindTpmAk("ak_1")) == ErrorCode::kNotFound);
  }
  SECTION("exactly at expires_at it still activates") {
    f.PutPending("ak_1");
    f.clock.Advance(kTtl);
    CHECK(f.store->ActivateTpmAk("acme", "ak_1", f.secret).has_value());
  }
}

TEST_CASE("KeyStore::PutTpmAk: one enrolment per machine name", "[keystore][tpm][integration]") {
  Fixture f;
  SECTION("an active enrolment blocks a new one of the same name") {
    f.PutPending("ak_1");
    REQUIRE(f.store->ActivateTpmAk("acme", "ak_1", f.secret).has_value());
    auto pending = f.store->PutTpmAk(f.Ak("ak_2", "acme", "host1"), HashOf(f.secret));
    CHECK(CodeOf(pending) == ErrorCode::kAlreadyExists);
    CHECK(ReasonOf(pending) == "tpm_ak_exists");
    auto active = f.store->PutTpmAk(f.Ak("ak_3", "acme", "host1", "active"), {});
    CHECK(ReasonOf(active) == "tpm_ak_exists");
    // The active one is untouched and the refused ones were not stored.
    CHECK(f.store->FindTpmAk("ak_1")->state == "active");
    CHECK(CodeOf(f.store->FindTpmAk("ak_2")) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store->FindTpmAk("ak_3")) == ErrorCode::kNotFound);
    // After deleting it, the name is free again.
    REQUIRE(f.store->DeleteTpmAk("acme", "ak_1").has_value());
    CHECK(f.store->PutTpmAk(f.Ak("ak_4", "acme", "host1"), HashOf(f.secret)).has_value());
  }
  SECTION("a pending enrolment of the same name is replaced") {
    f.PutPending("ak_1");
    f.clock.Advance(10);
    const auto second = f.PutPending("ak_2");
    CHECK(second.created_at == kT0 + 10);
    CHECK(CodeOf(f.store->FindTpmAk("ak_1")) == ErrorCode::kNotFound);
    auto list = f.store->ListTpmAks("acme");
    REQUIRE(list.has_value());
    REQUIRE(list->size() == 1);
    CHECK((*list)[0].id == "ak_2");
    // The replaced challenge no longer activates anything; the new one does.
    CHECK(ReasonOf(f.store->ActivateTpmAk("acme", "ak_1", f.secret)) == "tpm_enrollment_not_found");
    CHECK(f.store->ActivateTpmAk("acme", "ak_2", f.secret).has_value());
  }
  SECTION("a pending enrolment is replaced by a directly active one") {
    f.PutPending("ak_1");
    auto active = f.store->PutTpmAk(f.Ak("ak_2", "acme", "host1", "active"), {});
    REQUIRE(active.has_value());
    CHECK(active->state == "active");
    CHECK(active->activated_at == kT0);
    CHECK(active->expires_at == 0);
    CHECK(CodeOf(f.store->FindTpmAk("ak_1")) == ErrorCode::kNotFound);
  }
  SECTION("the same machine name in another tenant is independent") {
    f.PutPending("ak_1", "acme", "host1");
    REQUIRE(f.store->ActivateTpmAk("acme", "ak_1", f.secret).has_value());
    f.PutPending("ak_2", "globex", "host1");
    CHECK(f.store->ActivateTpmAk("globex", "ak_2", f.secret).has_value());
  }
}

TEST_CASE("KeyStore::ActivateTpmAk: another tenant cannot activate (nor burn) an enrolment",
          "[keystore][tpm][integration]") {
  Fixture f;
  f.PutPending("ak_1", "acme");
  auto other = f.store->ActivateTpmAk("globex", "ak_1", f.secret);
  CHECK(CodeOf(other) == ErrorCode::kNotFound);
  CHECK(ReasonOf(other) == "tpm_enrollment_not_found");
  auto wrong_other = f.store->ActivateTpmAk("globex", "ak_1", Bytes("guess"));
  CHECK(CodeOf(wrong_other) == ErrorCode::kNotFound);
  CHECK(f.store->FindTpmAk("ak_1")->state == "pending");
  CHECK(f.store->ActivateTpmAk("acme", "ak_1", f.secret).has_value());
  CHECK(CodeOf(f.store->ActivateTpmAk("acme", "ak_unknown", f.secret)) == ErrorCode::kNotFound);
}

TEST_CASE("KeyStore: TPM AKs are listed, found and deleted per tenant",
          "[keystore][tpm][integration]") {
  Fixture f;
  f.PutPending("ak_b", "acme", "zeta");
  f.PutPending("ak_a", "acme", "alpha");
  REQUIRE(f.store->ActivateTpmAk("acme", "ak_a", f.secret).has_value());
  f.PutPending("ak_g", "globex", "alpha");

  auto acme = f.store->ListTpmAks("acme");
  REQUIRE(acme.has_value());
  REQUIRE(acme->size() == 2);
  CHECK((*acme)[0].id == "ak_a");  // ordered by machine name
  CHECK((*acme)[0].state == "active");
  CHECK((*acme)[1].id == "ak_b");
  CHECK((*acme)[1].state == "pending");
  auto globex = f.store->ListTpmAks("globex");
  REQUIRE(globex.has_value());
  REQUIRE(globex->size() == 1);
  CHECK((*globex)[0].id == "ak_g");

  CHECK(CodeOf(f.store->ListTpmAks("nobody")) == ErrorCode::kNotFound);
  CHECK(CodeOf(f.store->FindTpmAk("ak_none")) == ErrorCode::kNotFound);

  // Delete is scoped to the tenant.
  CHECK(CodeOf(f.store->DeleteTpmAk("globex", "ak_a")) == ErrorCode::kNotFound);
  CHECK(f.store->FindTpmAk("ak_a").has_value());
  REQUIRE(f.store->DeleteTpmAk("acme", "ak_a").has_value());
  CHECK(CodeOf(f.store->FindTpmAk("ak_a")) == ErrorCode::kNotFound);
  CHECK(CodeOf(f.store->DeleteTpmAk("acme", "ak_a")) == ErrorCode::kNotFound);
  // A pending one can be deleted too (cancelled enrolment).
  REQUIRE(f.store->DeleteTpmAk("acme", "ak_b").has_value());
  auto empty = f.store->ListTpmAks("acme");
  REQUIRE(empty.has_value());
  CHECK(empty->empty());
  CHECK(f.store->ListTpmAks("globex")->size() == 1);
}

TEST_CASE("KeyStore::DeleteTenant: cascades to the tenant's TPM AKs",
          "[keystore][tpm][integration]") {
  Fixture f;
  f.PutPending("ak_1", "acme", "host1");
  REQUIRE(f.store->ActivateTpmAk("acme", "ak_1", f.secret).has_value());
  f.PutPending("ak_2", "acme", "host2");
  f.PutPending("ak_3", "globex", "host1");
  REQUIRE(f.store->DeleteTenant("acme").has_value());
  CHECK(CodeOf(f.store->FindTpmAk("ak_1")) == ErrorCode::kNotFound);
  CHECK(CodeOf(f.store->FindTpmAk("ak_2")) == ErrorCode::kNotFound);
  CHECK(f.store->FindTpmAk("ak_3").has_value());
  Raw raw(f.path);
  CHECK(raw.Int("SELECT COUNT(*) FROM tpm_aks WHERE tenant = 'acme'") == 0);
  // A tenant re-created with the same name does not inherit anything.
  REQUIRE(f.store->CreateTenant("acme").has_value());
  CHECK(f.store->ListTpmAks("acme")->empty());
}

TEST_CASE("KeyStore::PutTpmAk: rejects bad input with specific codes",
          "[keystore][tpm][integration]") {
  Fixture f;
  const auto hash = HashOf(f.secret);
  auto put = [&](KeyStore::TpmAk ak, std::vector<std::uint8_t> h) {
    return f.store->PutTpmAk(ak, h);
  };
  SECTION("unknown tenant") {
    CHECK(CodeOf(put(f.Ak("ak_1", "nobody", "host1"), hash)) == ErrorCode::kNotFound);
  }
  SECTION("bad tenant or machine name") {
    CHECK(CodeOf(put(f.Ak("ak_1", "Acme", "host1"), hash)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(put(f.Ak("ak_1", "acme", "Host 1"), hash)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(put(f.Ak("ak_1", "acme", ""), hash)) == ErrorCode::kInvalidArgument);
  }
  SECTION("id empty or longer than 64") {
    CHECK(CodeOf(put(f.Ak("", "acme", "host1"), hash)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(put(f.Ak(std::string(65, 'a'), "acme", "host1"), hash)) ==
          ErrorCode::kInvalidArgument);
    CHECK(put(f.Ak(std::string(64, 'a'), "acme", "host1"), hash).has_value());
  }
  SECTION("public area empty or larger than 4096") {
    auto ak = f.Ak("ak_1", "acme", "host1");
    ak.ak_public.clear();
    CHECK(CodeOf(put(ak, hash)) == ErrorCode::kInvalidArgument);
    ak.ak_public.assign(4097, 0x01);
    CHECK(CodeOf(put(ak, hash)) == ErrorCode::kInvalidArgument);
    ak.ak_public.assign(4096, 0x01);
    CHECK(put(ak, hash).has_value());
  }
  SECTION("unknown state") {
    CHECK(CodeOf(put(f.Ak("ak_1", "acme", "host1", "revoked"), hash)) ==
          ErrorCode::kInvalidArgument);
  }
  SECTION("a pending enrolment needs a 32-byte secret hash") {
    CHECK(CodeOf(put(f.Ak("ak_1", "acme", "host1"), {})) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(put(f.Ak("ak_1", "acme", "host1"), std::vector<std::uint8_t>(31, 1))) ==
          ErrorCode::kInvalidArgument);
    CHECK(CodeOf(put(f.Ak("ak_1", "acme", "host1"), std::vector<std::uint8_t>(33, 1))) ==
          ErrorCode::kInvalidArgument);
  }
  Raw raw(f.path);
  const std::int64_t rows = raw.Int("SELECT COUNT(*) FROM tpm_aks");
  CHECK(rows <= 1);  // only the in-range boundary cases above stored a row
}

TEST_CASE("KeyStore::Open: migrates a version 2 database to the tpm_aks schema",
          "[keystore][tpm][integration]") {
  TempDir dir;
  FakeClock clock(kT0);
  const std::string path = dir.file("skr.db");
  SecretBytes master = RandomSecret(32);
  {
    auto store = KeyStore::Open(path, clock);
    REQUIRE(store.has_value());
    REQUIRE((*store)->Initialize(master).has_value());
    REQUIRE((*store)->CreateTenant("acme").has_value());
    REQUIRE((*store)->PutCollateral("vcek", "chip", Bytes("der"), "{}").has_value());
  }
  {
    // Rewind to schema 2: migrations are append-only, so a version 2 database is exactly this
    // one without migration 3's table and migration 4's column.
    Raw raw(path);
    REQUIRE(raw.Int("PRAGMA user_version") == 4);
    raw.Exec("DROP TABLE tpm_aks");
    raw.Exec("ALTER TABLE keys DROP COLUMN policy_version");
    raw.Exec("PRAGMA user_version = 2");
  }
  auto store = KeyStore::Open(path, clock);
  REQUIRE(store.has_value());
  {
    Raw raw(path);
    CHECK(raw.Int("PRAGMA user_version") == 4);  // migrations 3 and 4 both applied
    CHECK(raw.Int("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'tpm_aks'") ==
          1);
  }
  // Data written under version 2 is still there, and the new table works.
  CHECK((*store)->TenantExists("acme").value());
  CHECK((*store)->FindCollateral("vcek", "chip").has_value());
  CHECK((*store)->Unseal(master).has_value());
  KeyStore::TpmAk ak;
  ak.id = "ak_1";
  ak.tenant = "acme";
  ak.name = "host1";
  ak.ak_public = Bytes("pub");
  ak.ak_name = "000b";
  ak.state = "active";
  auto put = (*store)->PutTpmAk(ak, {});
  REQUIRE(put.has_value());
  CHECK(put->ek_sha256.empty());
  CHECK((*store)->FindTpmAk("ak_1")->state == "active");
  // Reopening an up-to-date database changes nothing.
  store->reset();
  auto reopened = KeyStore::Open(path, clock);
  REQUIRE(reopened.has_value());
  CHECK((*reopened)->FindTpmAk("ak_1").has_value());
}

TEST_CASE("KeyStore: the tpm_aks table refuses inconsistent rows", "[keystore][tpm][integration]") {
  Fixture f;
  f.PutPending("ak_1");
  Raw raw(f.path);
  char* err = nullptr;
  // A secret hash that is not 32 bytes, a state outside the two known ones, a duplicate name.
  const char* bad[] = {
      "UPDATE tpm_aks SET secret_hash = x'00' WHERE id = 'ak_1'",
      "UPDATE tpm_aks SET state = 'revoked' WHERE id = 'ak_1'",
      "INSERT INTO tpm_aks (id, tenant, name, ak_public, ak_name, ek_sha256, state, created_at) "
      "VALUES ('ak_2', 'acme', 'host1', x'01', '', '', 'active', 0)",
      "INSERT INTO tpm_aks (id, tenant, name, ak_public, ak_name, ek_sha256, state, created_at) "
      "VALUES ('ak_3', 'nobody', 'host9', x'01', '', '', 'active', 0)",
  };
  for (const char* sql : bad) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(f.path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    REQUIRE(sqlite3_exec(db, "PRAGMA foreign_keys = ON", nullptr, nullptr, nullptr) == SQLITE_OK);
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
    sqlite3_free(err);
    err = nullptr;
    sqlite3_close_v2(db);
    INFO(sql);
    CHECK(rc != SQLITE_OK);
  }
  CHECK(raw.Int("SELECT COUNT(*) FROM tpm_aks") == 1);
}

}  // namespace skr::keystore
