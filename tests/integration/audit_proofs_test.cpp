// SPDX-License-Identifier: Apache-2.0
// The verifiable audit log through a real skrd (issue 11): `skrd init` prints the verifier key,
// GET /v1/audit/checkpoint returns a C2SP signed note that verifies with it (here and with an
// independent Python verifier), entries carry their Merkle leaf bytes, inclusion and consistency
// proofs verify against signed roots, a tenant's auditor proves only its own records, and a log
// truncated or rewritten while skrd was down keeps releases refused (503 audit_integrity).
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "audit/checkpoint.h"
#include "common/merkle.h"
#include "common/encoding.h"
#include "tests/integration/skrd_fixture.h"
#include "tests/support/process.h"

using skr::Json;
using skr::test::HttpResult;
using skr::test::Skrd;
namespace merkle = skr::merkle;

namespace {

const Json kPolicy = Json::parse(R"({"version":"1.0.0","anyOf":[{"authority":"skr:local","allOf":[
  {"claim":"tee","equals":"sample"},{"claim":"debug","equals":false}]}]})");
const std::string kMaterialB64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

merkle::Hash HashFromB64(const Json& v) {
  auto bytes = skr::Base64Decode(v.get<std::string>()).value();
  REQUIRE(bytes.size() == 32);
  merkle::Hash h{};
  std::copy(bytes.begin(), bytes.end(), h.begin());
  return h;
}

std::vector<merkle::Hash> Hashes(const Json& arr) {
  std::vector<merkle::Hash> out;
  for (const auto& v : arr) out.push_back(HashFromB64(v));
  return out;
}

// Leaf hashes of every entry, recomputed from the leaf bytes the API returned.
std::vector<merkle::Hash> Leaves(Skrd& skrd) {
  auto r = skrd.Get("/v1/audit/entries?limit=1000", skrd.operator_token());
  REQUIRE(r.status == 200);
  std::vector<merkle::Hash> out;
  for (const auto& e : r.json["entries"]) {
    REQUIRE(e.contains("leaf"));
    auto bytes = skr::Base64Decode(e["leaf"].get<std::string>()).value();
    // The leaf bytes are the record itself, canonical: they parse back to the entry's members.
    const Json leaf = skr::ParseJson(std::string(bytes.begin(), bytes.end())).value();
    CHECK(leaf.at("seq") == e.at("seq"));
    CHECK(leaf.at("hash") == e.at("hash"));
    out.push_back(merkle::LeafHash(bytes));
  }
  return out;
}

skr::audit::Checkpoint Checkpoint(Skrd& skrd, const std::string& token) {
  auto r = skrd.Get("/v1/audit/checkpoint", token);
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.json.at("verifier_key") == skrd.audit_verifier_key());
  auto cp = skr::audit::VerifyCheckpoint(r.json.at("checkpoint").get<std::string>(),
                                         skrd.audit_verifier_key());
  REQUIRE(cp.has_value());
  CHECK(cp->tree_size == r.json.at("tree_size").get<std::int64_t>());
  CHECK(skr::Base64Encode(cp->root) == r.json.at("root_hash"));
  return std::move(cp).value();
}

// What an attacker with write access to audit.db (and none to the signing key) can append: a
// record that links to the last one by hash, so that the chain and the Merkle tree rebuilt from
// the rows are both sound. Only the stop marker beside the signing key tells it apart.
void AppendForgedRecord(sqlite3* db) {
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT json FROM audit_records ORDER BY seq DESC LIMIT 1", -1, &st,
                             nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  const std::string last_json = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  auto last = skr::audit::RecordFromJson(skr::ParseJson(last_json).value()).value();
  skr::audit::Record forged = last;
  forged.seq = last.seq + 1;
  forged.prev_hash = last.hash;
  forged.kind = "release";
  forged.action = "release";
  forged.decision = "granted";
  forged.request_id = "forged";
  forged.hash = skr::audit::ComputeRecordHash(forged).value();
  const std::string json = skr::audit::LeafBytes(forged).value();
  REQUIRE(sqlite3_prepare_v2(db,
                             "INSERT INTO audit_records (seq, time, tenant, decision, json, hash)"
                             " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                             -1, &st, nullptr) == SQLITE_OK);
  sqlite3_bind_int64(st, 1, forged.seq);
  sqlite3_bind_int64(st, 2, forged.time);
  sqlite3_bind_text(st, 3, forged.tenant.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 4, forged.decision.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 5, json.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 6, forged.hash.c_str(), -1, SQLITE_TRANSIENT);
  REQUIRE(sqlite3_step(st) == SQLITE_DONE);
  sqlite3_finalize(st);
}

// Records `a` and `b` trade places, each renumbered (row and JSON) so that it reads as the seq
// it now sits at: a reorder that no row-level check sees.
void SwapRecords(sqlite3* db, int a, int b) {
  const std::string sql =
      "DROP TRIGGER IF EXISTS audit_records_no_update;"
      "UPDATE audit_records SET seq = -seq WHERE seq IN (" + std::to_string(a) + ", " +
      std::to_string(b) + ");"
      "UPDATE audit_records SET seq = " + std::to_string(a + b) + " + seq, json = json_set(json, '$.seq', " +
      std::to_string(a + b) + " + seq) WHERE seq IN (-" + std::to_string(a) + ", -" + std::to_string(b) + ");";
  REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
}

}  // namespace

TEST_CASE("Audit log: signed checkpoints, leaves and proofs over the API",
          "[integration][audit][merkle]") {
  Skrd skrd;
  REQUIRE(skrd.Start());
  REQUIRE(skrd.audit_verifier_key().rfind("skr/", 0) == 0);
  const auto first = Checkpoint(skrd, skrd.operator_token());
  CHECK(first.tree_size >= 1);  // the init record at least
  {
    auto r = skrd.Get("/v1/audit/checkpoint", skrd.operator_token());
    auto py = skr::test::RunCommand({"python3", skr::test::SourceDir() + "/tests/audit/signed_note_verify.py",
                                     skrd.audit_verifier_key()},
                                    r.json.at("checkpoint").get<std::string>());
    INFO(py.err);
    CHECK(py.exit_code == 0);
  }
  auto acme = skrd.SetUpTenant("acme", "disk", kPolicy, "root", kMaterialB64);
  auto other = skrd.SetUpTenant("other", "disk", kPolicy, "root", kMaterialB64);
  const auto second = Checkpoint(skrd, skrd.operator_token());
  REQUIRE(second.tree_size > first.tree_size);

  const auto leaves = Leaves(skrd);
  REQUIRE(static_cast<std::int64_t>(leaves.size()) >= second.tree_size);
  merkle::Frontier f;
  for (std::int64_t i = 0; i < second.tree_size; ++i) f.Push(leaves[static_cast<std::size_t>(i)]);
  CHECK(f.Root() == second.root);

  // Inclusion of every record in the signed tree.
  for (std::int64_t seq = 1; seq <= second.tree_size; ++seq) {
    auto r = skrd.Get("/v1/audit/proof/inclusion?seq=" + std::to_string(seq) + "&tree_size=" +
                          std::to_string(second.tree_size),
                      skrd.operator_token());
    REQUIRE(r.status == 200);
    CHECK(r.json.at("leaf_index") == seq - 1);
    const merkle::Hash leaf = HashFromB64(r.json.at("leaf_hash"));
    CHECK(leaf == leaves[static_cast<std::size_t>(seq - 1)]);
    CHECK(merkle::VerifyInclusion(static_cast<std::uint64_t>(seq - 1),
                                  static_cast<std::uint64_t>(second.tree_size), leaf,
                                  Hashes(r.json.at("hashes")), second.root));
  }
  // Without tree_size: the latest checkpoint's size, and the checkpoint comes along.
  {
    auto r = skrd.Get("/v1/audit/proof/inclusion?seq=1", skrd.operator_token());
    REQUIRE(r.status == 200);
    auto cp = skr::audit::VerifyCheckpoint(r.json.at("checkpoint").get<std::string>(),
                                           skrd.audit_verifier_key());
    REQUIRE(cp.has_value());
    CHECK(r.json.at("tree_size") == cp->tree_size);
    CHECK(merkle::VerifyInclusion(0, static_cast<std::uint64_t>(cp->tree_size), leaves[0],
                                  Hashes(r.json.at("hashes")), cp->root));
  }
  // The earlier signed tree is a prefix of the later one.
  {
    auto r = skrd.Get("/v1/audit/proof/consistency?from=" + std::to_string(first.tree_size) +
                          "&to=" + std::to_string(second.tree_size),
                      skrd.operator_token());
    REQUIRE(r.status == 200);
    CHECK(merkle::VerifyConsistency(static_cast<std::uint64_t>(first.tree_size),
                                    static_cast<std::uint64_t>(second.tree_size), first.root,
                                    second.root, Hashes(r.json.at("hashes"))));
  }
  // Bad ranges are 400 with a reason; missing parameters too.
  CHECK(skrd.Get("/v1/audit/proof/inclusion?seq=0&tree_size=3", skrd.operator_token()).problem_type() ==
        "urn:skr:problem:invalid_proof_range");
  CHECK(skrd.Get("/v1/audit/proof/inclusion?seq=2&tree_size=999999", skrd.operator_token()).status ==
        400);
  CHECK(skrd.Get("/v1/audit/proof/consistency?from=5", skrd.operator_token()).status == 400);
  CHECK(skrd.Get("/v1/audit/proof/consistency?from=5&to=4", skrd.operator_token()).status == 400);
  CHECK(skrd.Post("/v1/audit/checkpoint", Json::object(), skrd.operator_token()).status == 405);

  SECTION("roles: a tenant's auditor proves its own records only; admins get nothing") {
    auto tok = skrd.Post("/v1/tokens", {{"role", "auditor"}, {"tenant", "acme"}}, skrd.operator_token());
    REQUIRE(tok.status == 201);
    const std::string auditor = tok.json.at("token").get<std::string>();
    auto mine = skrd.Get("/v1/audit/entries?limit=1000", auditor);
    REQUIRE(mine.status == 200);
    REQUIRE(!mine.json["entries"].empty());
    const std::int64_t my_seq = mine.json["entries"][0]["seq"];
    auto ok = skrd.Get("/v1/audit/proof/inclusion?seq=" + std::to_string(my_seq), auditor);
    CHECK(ok.status == 200);
    // Another tenant's record: not found for this auditor (hashes only ever, never contents).
    std::int64_t other_seq = 0;
    auto all = skrd.Get("/v1/audit/entries?tenant=other&limit=1", skrd.operator_token());
    REQUIRE(!all.json["entries"].empty());
    other_seq = all.json["entries"][0]["seq"];
    CHECK(skrd.Get("/v1/audit/proof/inclusion?seq=" + std::to_string(other_seq), auditor).status ==
          404);
    CHECK(Checkpoint(skrd, auditor).tree_size >= second.tree_size);
    CHECK(skrd.Get("/v1/audit/proof/consistency?from=1&to=2", auditor).status == 200);
    CHECK(skrd.Get("/v1/audit/checkpoint", acme.admin_token).status == 403);
    CHECK(skrd.Get("/v1/audit/checkpoint").status == 401);
  }
}

TEST_CASE("Audit log: a log truncated or rewritten while skrd was down keeps releases refused",
          "[integration][audit][merkle]") {
  Skrd skrd;
  REQUIRE(skrd.Start());
  skrd.SetUpTenant("acme", "disk", kPolicy, "root", kMaterialB64);
  const auto signed_cp = Checkpoint(skrd, skrd.operator_token());
  skrd.Stop();  // signs a checkpoint at shutdown, too

  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(skrd.file("data/audit.db").c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) ==
          SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "DROP TRIGGER audit_records_no_delete", nullptr, nullptr, nullptr) == SQLITE_OK);
  std::string expect;
  SECTION("the last records cut off (and the checkpoints table emptied)") {
    const std::string cut = "DELETE FROM audit_records WHERE seq > " + std::to_string(signed_cp.tree_size - 2);
    REQUIRE(sqlite3_exec(db, cut.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "DELETE FROM checkpoints", nullptr, nullptr, nullptr) == SQLITE_OK);
    expect = "log truncated";  // caught by the checkpoint kept beside the signing key
  }
  SECTION("a record edited in place") {
    REQUIRE(sqlite3_exec(db, "DROP TRIGGER audit_records_no_update", nullptr, nullptr, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "UPDATE audit_records SET json = replace(json, '\"ok\"', '\"failed\"') WHERE seq = 1",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    expect = "at seq 1";
  }
  SECTION("a record deleted from the middle") {
    REQUIRE(sqlite3_exec(db, "DELETE FROM audit_records WHERE seq = 3", nullptr, nullptr, nullptr) == SQLITE_OK);
    CHECK(sqlite3_changes(db) == 1);
    expect = "at seq 3";
  }
  SECTION("two records swapped (renumbered so each row still reads as its seq)") {
    SwapRecords(db, 2, 3);
    expect = "at seq 2";
  }
  SECTION("a well-formed record appended, chained to the last one") {
    AppendForgedRecord(db);
    expect = "were added while skrd was stopped";  // skrd stopped cleanly at the previous size
  }
  sqlite3_close_v2(db);

  REQUIRE(skrd.Start());
  auto nonce = skrd.Post("/v1/challenge", Json::object());
  REQUIRE(nonce.status == 200);
  auto attester = skr::test::ReadFileOrFail(skrd.file("dev/sample-attester.key"));
  auto a = skr::test::MakeSampleAttestation(attester, nonce.json["nonce"], {{"debug", false}});
  auto r = skrd.Post("/v1/tenants/acme/keys/root/release",
                     {{"nonce", nonce.json["nonce"]}, {"tee-pubkey", a.tee_pubkey}, {"evidence", a.evidence}});
  INFO(r.body);
  CHECK(r.status == 503);
  CHECK(r.problem_type() == "urn:skr:problem:audit_integrity");
  CHECK(!r.json.contains("jwe"));
  CHECK_THAT(skrd.Log(), Catch::Contains(expect));
  // Nothing new is signed over the damaged log; the last signed checkpoint is still served.
  auto cp = skrd.Get("/v1/audit/checkpoint", skrd.operator_token());
  if (expect == "log truncated") {
    CHECK(cp.status == 503);  // its checkpoints table was emptied too
    CHECK(cp.problem_type() == "urn:skr:problem:audit_integrity");
  } else {
    REQUIRE(cp.status == 200);
    CHECK(cp.json.at("tree_size").get<std::int64_t>() >= signed_cp.tree_size);
  }
}

TEST_CASE("Audit log: a database file cut short while skrd was down is refused",
          "[integration][audit][merkle]") {
  Skrd skrd;
  REQUIRE(skrd.Start());
  skrd.SetUpTenant("acme", "disk", kPolicy, "root", kMaterialB64);
  skrd.Stop();
  const std::string path = skrd.file("data/audit.db");
  const auto full = std::filesystem::file_size(path);
  REQUIRE(full > 8192);
  std::filesystem::resize_file(path, 8192);  // the first pages survive, the rest is gone
  // Either skrd does not start (the log cannot be opened) or it starts refusing releases.
  if (!skrd.Start()) {
    CHECK_THAT(skrd.Log(), Catch::Contains("audit"));
    return;
  }
  auto nonce = skrd.Post("/v1/challenge", Json::object());
  REQUIRE(nonce.status == 200);
  auto attester = skr::test::ReadFileOrFail(skrd.file("dev/sample-attester.key"));
  auto a = skr::test::MakeSampleAttestation(attester, nonce.json["nonce"], {{"debug", false}});
  auto r = skrd.Post("/v1/tenants/acme/keys/root/release",
                     {{"nonce", nonce.json["nonce"]}, {"tee-pubkey", a.tee_pubkey}, {"evidence", a.evidence}});
  INFO(r.body << skrd.Log());
  CHECK(r.status == 503);
  CHECK(!r.json.contains("jwe"));
}

namespace {

skr::test::CommandResult AuditVerify(Skrd& skrd, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {skr::test::BinaryDir() + "/client/skrctl", "audit", "verify"};
  argv.insert(argv.end(), args.begin(), args.end());
  return skr::test::RunCommand(argv, "",
                               {{"SKR_ADDR", skrd.url()}, {"SKR_CACERT", skrd.file("tls/ca.crt")},
                                {"SKR_TOKEN", skrd.operator_token()}});
}

}  // namespace

TEST_CASE("skrctl audit verify: recomputes the tree, resumes, and finds the first bad entry",
          "[integration][audit][merkle][client]") {
  Skrd skrd;
  REQUIRE(skrd.Start());
  const std::string key = skrd.audit_verifier_key();
  const std::string state = skrd.file("auditor-state.json");
  auto first = AuditVerify(skrd, {"--verifier-key", key, "--state", state});
  INFO(first.out << first.err);
  REQUIRE(first.exit_code == 0);
  CHECK_THAT(first.out, Catch::Contains("audit log verified"));
  REQUIRE(std::filesystem::exists(state));

  skrd.SetUpTenant("acme", "disk", kPolicy, "root", kMaterialB64);
  auto second = AuditVerify(skrd, {"--verifier-key", key, "--state", state, "--format", "json"});
  INFO(second.out << second.err);
  REQUIRE(second.exit_code == 0);
  const Json rep = skr::ParseJson(second.out).value();
  CHECK(rep.at("ok") == true);
  CHECK(rep.at("previous_size").get<std::int64_t>() >= 1);
  // Only the records after the saved checkpoint were read.
  CHECK(rep.at("entries_read").get<std::int64_t>() ==
        rep.at("tree_size").get<std::int64_t>() - rep.at("previous_size").get<std::int64_t>());

  SECTION("another log's verifier key: refused") {
    Skrd other;
    REQUIRE(other.Start());
    auto r = AuditVerify(skrd, {"--verifier-key", other.audit_verifier_key()});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("does not verify with the pinned key"));
  }
  SECTION("a record rewritten while skrd was down: the first bad seq is named") {
    const std::int64_t size = rep.at("tree_size").get<std::int64_t>();
    skrd.Stop();
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(skrd.file("data/audit.db").c_str(), &db, SQLITE_OPEN_READWRITE,
                            nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "DROP TRIGGER audit_records_no_update", nullptr, nullptr, nullptr) ==
            SQLITE_OK);
    // seq 4 rewritten, its request id changed (still a well-formed record).
    REQUIRE(sqlite3_exec(db,
                         "UPDATE audit_records SET json = replace(json, '\"request_id\":\"', "
                         "'\"request_id\":\"forged-') WHERE seq = 4",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    CHECK(sqlite3_changes(db) == 1);
    sqlite3_close_v2(db);
    REQUIRE(skrd.Start());
    // A fresh auditor (no state) recomputes everything against the last signed checkpoint.
    auto r = AuditVerify(skrd, {"--verifier-key", key, "--format", "json"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    const Json bad = skr::ParseJson(r.out).value();
    CHECK(bad.at("ok") == false);
    CHECK(bad.at("first_bad_seq") == 4);
    CHECK(bad.at("tree_size").get<std::int64_t>() >= size);
  }
  SECTION("a record deleted, two swapped, or one appended while skrd was down") {
    skrd.Stop();
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(skrd.file("data/audit.db").c_str(), &db, SQLITE_OPEN_READWRITE,
                            nullptr) == SQLITE_OK);
    std::int64_t bad_seq = 0;
    std::string says;
    const int variant = GENERATE(0, 1, 2);
    if (variant == 0) {
      REQUIRE(sqlite3_exec(db, "DROP TRIGGER audit_records_no_delete; DELETE FROM audit_records WHERE seq = 3",
                           nullptr, nullptr, nullptr) == SQLITE_OK);
      bad_seq = 3;
      says = "entry 3 is missing";
    } else if (variant == 1) {
      SwapRecords(db, 2, 3);
      bad_seq = 2;
      says = "first entry that differs from the signed log is seq 2";
    } else {
      AppendForgedRecord(db);
      says = "were added while skrd was stopped";
    }
    sqlite3_close_v2(db);
    REQUIRE(skrd.Start());
    auto r = AuditVerify(skrd, {"--verifier-key", key, "--format", "json"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    const Json bad = skr::ParseJson(r.out).value();
    CHECK(bad.at("ok") == false);
    CHECK_THAT(bad.at("detail").get<std::string>(), Catch::Contains(says));
    if (bad_seq != 0) CHECK(bad.at("first_bad_seq") == bad_seq);
  }
  SECTION("a log rolled back below the saved checkpoint") {
    skrd.Stop();
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(skrd.file("data/audit.db").c_str(), &db, SQLITE_OPEN_READWRITE,
                            nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db,
                         "DROP TRIGGER audit_records_no_delete; DROP TRIGGER merkle_nodes_no_delete;"
                         "DELETE FROM audit_records WHERE seq > 2; DELETE FROM checkpoints;"
                         "DELETE FROM merkle_nodes WHERE (level = 0 AND idx >= 2) OR (level = 1 AND idx >= 1)"
                         " OR level > 1",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close_v2(db);
    std::filesystem::remove(skrd.file("data/audit-signing.key.checkpoint"));
    std::filesystem::remove(skrd.file("data/audit-signing.key.checkpoint.stopped"));
    REQUIRE(skrd.Start());  // skrd itself has nothing left to compare with: only the auditor does
    auto r = AuditVerify(skrd, {"--verifier-key", key, "--state", state});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("the log shrank"));
  }
}

TEST_CASE("Release receipts: ?receipt=1 proves the release was logged", "[integration][audit][merkle]") {
  Skrd skrd;
  REQUIRE(skrd.Start());
  skrd.SetUpTenant("acme", "disk", kPolicy, "root", kMaterialB64);
  const std::string attester = skr::test::ReadFileOrFail(skrd.file("dev/sample-attester.key"));
  auto release = [&](const std::string& query) {
    auto nonce = skrd.Post("/v1/challenge", Json::object());
    REQUIRE(nonce.status == 200);
    auto a = skr::test::MakeSampleAttestation(attester, nonce.json["nonce"], {{"debug", false}});
    return skrd.Post("/v1/tenants/acme/keys/root/release" + query,
                     {{"nonce", nonce.json["nonce"]}, {"tee-pubkey", a.tee_pubkey}, {"evidence", a.evidence}});
  };
  auto plain = release("");
  REQUIRE(plain.status == 200);
  CHECK(!plain.json.contains("receipt"));

  auto r = release("?receipt=1");
  INFO(r.body);
  REQUIRE(r.status == 200);
  REQUIRE(r.json.contains("jwe"));
  REQUIRE(r.json.contains("receipt"));
  const Json& rc = r.json["receipt"];
  const std::int64_t seq = r.json.at("audit_seq");
  CHECK(rc.at("leaf_index") == seq - 1);
  CHECK(rc.at("verifier_key") == skrd.audit_verifier_key());
  // Checked by the VM owner with the pinned key only: the checkpoint, the record, the path.
  auto cp = skr::audit::VerifyCheckpoint(rc.at("checkpoint").get<std::string>(), skrd.audit_verifier_key());
  REQUIRE(cp.has_value());
  CHECK(cp->tree_size >= seq);
  CHECK(rc.at("tree_size") == cp->tree_size);
  const auto leaf = skr::Base64Decode(rc.at("leaf").get<std::string>()).value();
  const Json record = skr::ParseJson(std::string(leaf.begin(), leaf.end())).value();
  CHECK(record.at("seq") == seq);
  CHECK(record.at("decision") == "granted");
  CHECK(record.at("tenant") == "acme");
  CHECK(record.at("key") == "root");
  CHECK(merkle::VerifyInclusion(static_cast<std::uint64_t>(seq - 1),
                                static_cast<std::uint64_t>(cp->tree_size), merkle::LeafHash(leaf),
                                Hashes(rc.at("hashes")), cp->root));
  // A denied release gets no receipt (nothing was released); the denial is still logged.
  auto nonce = skrd.Post("/v1/challenge", Json::object());
  auto bad = skr::test::MakeSampleAttestation(attester, nonce.json["nonce"], {{"debug", true}});
  auto denied = skrd.Post("/v1/tenants/acme/keys/root/release?receipt=1",
                          {{"nonce", nonce.json["nonce"]}, {"tee-pubkey", bad.tee_pubkey}, {"evidence", bad.evidence}});
  CHECK(denied.status == 403);
  CHECK(!denied.json.contains("receipt"));
}
