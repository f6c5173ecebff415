// SPDX-License-Identifier: Apache-2.0
// Issue 9, items 3-5, through a real skrd over loopback TLS with a real SQLite file: policies
// must name the TEE they trust, debug is denied unless allowed explicitly, and a denial tells the
// unauthenticated caller the failing claim's name only (values go to the audit record).
#include <catch2/catch.hpp>

#include "common/clock.h"
#include "keystore/keystore.h"
#include "tests/integration/skrd_fixture.h"
#include "tests/support/process.h"
#include "tests/support/test_support.h"

using skr::Json;
using skr::test::HttpResult;
using skr::test::MakeSampleAttestation;
using skr::test::Skrd;

namespace {

// Golden values an attacker would like to read out of the policy.
const std::string kGoldenImage = "golden-image-7f3a9c";
const std::string kGoldenVm = "vm-unique-0b5e11";

const Json kPolicy = Json::parse(R"({"version":"1.0.0","anyOf":[{"authority":"skr:local","allOf":[
  {"claim":"tee","equals":"sample"},
  {"claim":"sample.image","equals":"golden-image-7f3a9c"},
  {"claim":"sample.vm_id","in":["vm-unique-0b5e11"]}]}]})");
const std::string kMaterialB64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

struct World {
  Skrd skrd;
  std::string attester_pem;
  std::string admin;
  World() {
    REQUIRE(skrd.Start());
    attester_pem = skr::test::ReadFileOrFail(skrd.file("dev/sample-attester.key"));
    admin = skrd.SetUpTenant("acme", "disk", kPolicy, "root", kMaterialB64).admin_token;
  }
  HttpResult Release(const Json& claims) {
    auto c = skrd.Post("/v1/challenge", Json::object());
    REQUIRE(c.status == 200);
    const std::string nonce = c.json["nonce"].get<std::string>();
    auto a = MakeSampleAttestation(attester_pem, nonce, claims);
    return skrd.Post("/v1/tenants/acme/keys/root/release",
                     {{"nonce", nonce}, {"tee-pubkey", a.tee_pubkey}, {"evidence", a.evidence}});
  }
  Json LastAudit() {
    auto r = skrd.Get("/v1/audit/entries?limit=1000", skrd.operator_token());
    REQUIRE(r.status == 200);
    REQUIRE(!r.json["entries"].empty());
    return r.json["entries"].back();
  }
};

}  // namespace

TEST_CASE("Release: a policy denial does not reveal expected or observed values",
          "[integration][safe_defaults][attack]") {
  // The walk: one leaf per fresh nonce, reading golden values out of the 403 detail.
  World w;
  auto r = w.Release({{"debug", false}, {"image", "evil-image"}, {"vm_id", "evil-vm"}});
  INFO(r.body);
  CHECK(r.status == 403);
  CHECK(r.problem_type() == "urn:skr:problem:policy_denied");
  CHECK_FALSE(r.json.contains("jwe"));
  const std::string detail = r.detail();
  CHECK(detail.find("sample.image") != std::string::npos);
  CHECK(detail.find("disk") != std::string::npos);
  CHECK(r.body.find(kGoldenImage) == std::string::npos);
  CHECK(r.body.find("evil-image") == std::string::npos);

  // The second leaf: still only its name.
  auto r2 = w.Release({{"debug", false}, {"image", kGoldenImage}, {"vm_id", "evil-vm"}});
  CHECK(r2.status == 403);
  CHECK(r2.detail().find("sample.vm_id") != std::string::npos);
  CHECK(r2.body.find(kGoldenVm) == std::string::npos);
  CHECK(r2.body.find("evil-vm") == std::string::npos);

  // The audit record keeps both values for the tenant's auditors.
  const Json last = w.LastAudit();
  CHECK(last["decision"] == "denied");
  const std::string reason = last["reason"].get<std::string>();
  CHECK(reason.find(kGoldenVm) != std::string::npos);
  CHECK(reason.find("evil-vm") != std::string::npos);
}

TEST_CASE("Release: sample evidence reporting debug is denied unless the policy allows it",
          "[integration][safe_defaults][attack]") {
  World w;
  const Json good = {{"image", kGoldenImage}, {"vm_id", kGoldenVm}};
  SECTION("debug true") {
    Json claims = good;
    claims["debug"] = true;
    auto r = w.Release(claims);
    CHECK(r.status == 403);
    CHECK(r.detail().find("'sample.debug'") != std::string::npos);
    CHECK_FALSE(r.json.contains("jwe"));
    CHECK(w.LastAudit()["decision"] == "denied");
  }
  SECTION("debug not said (counts as on)") {
    auto r = w.Release(good);
    CHECK(r.status == 403);
    CHECK_FALSE(r.json.contains("jwe"));
  }
  SECTION("debug false is released") {
    Json claims = good;
    claims["debug"] = false;
    auto r = w.Release(claims);
    INFO(r.body);
    CHECK(r.status == 200);
    CHECK(r.json.contains("jwe"));
  }
  SECTION("a policy version that allows debug explicitly releases to a debug VM") {
    Json allows = kPolicy;
    allows["anyOf"][0]["allOf"].push_back({{"claim", "debug"}, {"equals", true}});
    auto put = w.skrd.Request("PUT", "/v1/tenants/acme/policies/disk", allows.dump(), w.admin);
    REQUIRE(put.status == 201);
    Json claims = good;
    claims["debug"] = true;
    auto r = w.Release(claims);
    INFO(r.body);
    CHECK(r.status == 200);
  }
}

TEST_CASE("Policies: storing a policy that does not constrain tee is refused",
          "[integration][safe_defaults]") {
  World w;
  const Json no_tee = Json::parse(R"({"anyOf":[{"authority":"skr:local","allOf":[
    {"claim":"sample.image","equals":"golden-image-7f3a9c"}]}]})");
  auto put = w.skrd.Request("PUT", "/v1/tenants/acme/policies/loose", no_tee.dump(), w.admin);
  INFO(put.body);
  CHECK(put.status == 400);
  CHECK(put.problem_type() == "urn:skr:problem:policy_tee_unconstrained");
  CHECK(put.detail().find("anyOf[0]") != std::string::npos);
  CHECK(w.skrd.Get("/v1/tenants/acme/policies/loose", w.admin).status == 404);

  // The dry run of a draft applies the same rule.
  auto dry = w.skrd.Post("/v1/tenants/acme/policies/loose/evaluate",
                         {{"document", no_tee}, {"claims", {{"tee", "sample"}}}}, w.admin);
  CHECK(dry.status == 400);
  CHECK(dry.problem_type() == "urn:skr:problem:policy_tee_unconstrained");

  // An Azure-published (MAA authority) policy stores unchanged.
  const Json maa = Json::parse(R"({"version":"1.0.0","anyOf":[{"authority":
    "https://sharedeus.eus.attest.azure.net","allOf":[
    {"claim":"x-ms-attestation-type","equals":"sevsnpvm"},
    {"claim":"x-ms-compliance-status","equals":"azure-compliant-cvm"}]}]})");
  CHECK(w.skrd.Request("PUT", "/v1/tenants/acme/policies/maa", maa.dump(), w.admin).status == 201);
}

TEST_CASE("Policies: a policy stored before the tee rule keeps working and is flagged",
          "[integration][safe_defaults]") {
  World w;
  {
    // Written straight into the keystore, as an older skrd stored it.
    skr::SystemClock clock;
    auto ks = skr::keystore::KeyStore::Open(w.skrd.file("data/skr.db"), clock);
    REQUIRE(ks.has_value());
    auto rec = (*ks)->PutPolicy(
        "acme", "disk",
        R"({"anyOf":[{"authority":"skr:local","allOf":[{"claim":"sample.image","equals":"golden-image-7f3a9c"}]}]})");
    REQUIRE(rec.has_value());
    CHECK(rec->version == 2);
  }
  auto get = w.skrd.Get("/v1/tenants/acme/policies/disk", w.admin);
  INFO(get.body);
  REQUIRE(get.status == 200);
  CHECK(get.json["version"] == 2);
  CHECK(get.json["tee_unconstrained"] == Json::array({"anyOf[0]"}));
  // Still evaluates (and still denies debug).
  auto r = w.Release({{"debug", false}, {"image", kGoldenImage}});
  CHECK(r.status == 200);
  auto dbg = w.Release({{"debug", true}, {"image", kGoldenImage}});
  CHECK(dbg.status == 403);

  // skrd check-config lists it (and warns on stderr).
  auto cc = skr::test::RunCommand(
      {skr::test::BinaryDir() + "/server/skrd", "check-config", "--config", w.skrd.config_path()});
  INFO(cc.out << cc.err);
  CHECK(cc.exit_code == 0);
  auto report = Json::parse(cc.out);
  REQUIRE(report["policies_without_tee"].size() == 1);
  CHECK(report["policies_without_tee"][0]["tenant"] == "acme");
  CHECK(report["policies_without_tee"][0]["policy"] == "disk");
  CHECK(report["policies_without_tee"][0]["version"] == 2);
  CHECK(report["policies_without_tee"][0]["tee_unconstrained"] == Json::array({"anyOf[0]"}));
  CHECK(cc.err.find("acme/disk v2") != std::string::npos);
}
