// SPDX-License-Identifier: Apache-2.0
// TPM 2.0 evidence through a real skrd and a live software TPM (swtpm on loopback): AK enrolment
// with the EK certificate from swtpm_setup's local CA and a MakeCredential / ActivateCredential
// round trip (`skrctl tpm enroll`), then releases with `skr-agent --evidence tpm` producing fresh
// quotes through the TSS2 ESAPI. Attacks (PCR extended, other nonce, unenrolled AK, PCR list not
// matching the digest, truncated / oversized quote, another tenant's AK) are each refused with
// their own reason, nothing is released, and every attempt is audited.
#include <catch2/catch.hpp>
#include <openssl/pem.h>

#include <filesystem>
#include <memory>

#include "attestation/tpm/quote.h"
#include "client/tpm_attester.h"
#include "common/encoding.h"
#include "common/jose.h"
#include "tests/integration/skrd_fixture.h"
#include "tests/integration/swtpm_fixture.h"
#include "tests/support/tpm_test_evidence.h"

using skr::Json;
using skr::client::ParsePcrSpec;
using skr::client::TpmAkType;
using skr::client::TpmDevice;
using skr::test::RunCommand;
using skr::test::Skrd;
using skr::test::Swtpm;

namespace {

std::string ReadFileOrEmpty(const std::string& path) {
  return std::filesystem::exists(path) ? skr::test::ReadFileOrFail(path) : std::string();
}

std::string Bin(const std::string& rel) { return skr::test::BinaryDir() + "/" + rel; }

// A PCR value of the live TPM (sha256 bank), read through a quote over dummy data.
std::string ReadPcr(const Swtpm& tpm, unsigned index) {
  auto dev = TpmDevice::Open(tpm.tcti(), TpmAkType::kEccP256);
  REQUIRE(dev);
  std::vector<std::uint8_t> dummy(48, 0);
  auto q = (*dev)->Quote(ParsePcrSpec("sha256:" + std::to_string(index)).value(), dummy);
  REQUIRE(q);
  return q->pcrs["sha256"][std::to_string(index)].get<std::string>();
}

Json PcrPolicy(const std::string& pcr0, const std::string& pcr7) {
  return {{"version", "1.0.0"},
          {"anyOf",
           {{{"authority", "skr:local"},
             {"allOf",
              {{{"claim", "tee"}, {"equals", "tpm"}},
               {{"claim", "tpm.ak.trust"}, {"equals", "enrolled"}},
               {{"claim", "tpm.pcr.sha256.0"}, {"equals", pcr0}},
               {{"claim", "tpm.pcr.sha256.7"}, {"equals", pcr7}}}}}}}};
}

struct World {
  Swtpm tpm;
  std::unique_ptr<Skrd> skrd;
  std::string admin;
  std::string material_b64 = skr::Base64Encode(skr::RandomBytes(32));
  std::string ak_id;

  World() {
    REQUIRE(std::filesystem::exists("/usr/bin/swtpm"));  // scripts/setup-deps installs swtpm
    INFO(tpm.error());
    REQUIRE(tpm.Start());
    skr::test::SkrdOptions opts;
    opts.extra_toml = "\n[attestation.tpm]\nek_roots = \"" + tpm.ca_root() + "\"\n";
    skrd = std::make_unique<Skrd>(opts);
    REQUIRE(skrd->Start());
    admin = skrd->SetUpTenant("acme", "measured", PcrPolicy(ReadPcr(tpm, 0), ReadPcr(tpm, 7)), "disk",
                              material_b64)
                .admin_token;
  }

  std::map<std::string, std::string> CliEnv(const std::string& token) const {
    auto env = tpm.env();
    env["SKR_ADDR"] = skrd->url();
    env["SKR_CACERT"] = skrd->file("tls/ca.crt");
    env["SKR_TOKEN"] = token;
    return env;
  }

  // skrctl tpm enroll on "this machine" (the swtpm).
  skr::test::CommandResult Enroll(const std::string& name, const std::string& ak_type = "ecc") {
    return RunCommand({Bin("client/skrctl"), "--format", "json", "tpm", "enroll", "--tenant", "acme",
                       "--name", name, "--ak-type", ak_type, "--ek-chain", tpm.ca_issuer()},
                      "", CliEnv(admin), 60);
  }

  skr::test::CommandResult Fetch(const std::string& id, const std::string& out) {
    return RunCommand({Bin("client/skr-agent"), "fetch", "--url", skrd->url(), "--tenant", "acme", "--key",
                       "disk", "--evidence", "tpm", "--ak-id", id, "--cacert", skrd->file("tls/ca.crt"),
                       "--retries", "0", "--out", out},
                      "", tpm.env(), 60);
  }

  std::string Nonce() {
    auto r = skrd->Post("/v1/challenge", {{"tenant", "acme"}});
    REQUIRE(r.status == 200);
    return r.json["nonce"].get<std::string>();
  }

  // A release request with a fresh TPM quote; `bind_nonce` is what the quote is bound to.
  struct Attempt {
    skr::EvpPkeyPtr eph;
    Json body;
  };
  Attempt Make(const std::string& nonce, TpmAkType ak_type = TpmAkType::kEccP256,
               const std::string* bind_nonce = nullptr) {
    Attempt a;
    a.eph = skr::GenerateEcKey("P-384").value();
    Json jwk = skr::PublicJwkFromKey(a.eph.get(), "ECDH-ES+A256KW").value();
    auto digest = skr::BindingDigest(bind_nonce ? *bind_nonce : nonce, jwk).value();
    auto dev = TpmDevice::Open(tpm.tcti(), ak_type);
    REQUIRE(dev);
    auto q = (*dev)->Quote(ParsePcrSpec("sha256:0,7").value(), digest);
    REQUIRE(q);
    auto ak_public = (*dev)->AkPublic();
    REQUIRE(ak_public);
    a.body = {{"nonce", nonce},
              {"tee-pubkey", jwk},
              {"evidence",
               {{"type", "tpm"},
                {"quote", skr::Base64Encode(q->attest)},
                {"signature", skr::Base64Encode(q->signature)},
                {"pcrs", q->pcrs},
                {"ak_id", ak_id},
                {"ak_public", skr::Base64Encode(*ak_public)}}}};
    return a;
  }

  skr::test::HttpResult Release(const Json& body) {
    return skrd->Post("/v1/tenants/acme/keys/disk/release", body);
  }

  // The newest release audit record.
  Json LastRelease() {
    auto r = skrd->Get("/v1/audit/entries?tenant=acme&limit=1000", skrd->operator_token());
    REQUIRE(r.status == 200);
    Json last;
    for (const auto& e : r.json["entries"]) {
      if (e["kind"] == "release") last = e;
    }
    return last;
  }
  int Granted() {
    auto r = skrd->Get("/v1/audit/entries?tenant=acme&limit=1000&decision=granted", skrd->operator_token());
    REQUIRE(r.status == 200);
    return static_cast<int>(r.json["entries"].size());
  }
};

void ExpectRefused(World& w, const skr::test::HttpResult& r, unsigned status, const std::string& reason) {
  INFO(r.body);
  CHECK(r.status == status);
  CHECK(r.problem_type() == "urn:skr:problem:" + reason);
  CHECK_FALSE(r.json.contains("jwe"));
  const Json rec = w.LastRelease();
  CHECK(rec["decision"] != "granted");
  CHECK(rec["evidence_type"] == "tpm");
  CHECK(rec["reason"].get<std::string>().find(reason) != std::string::npos);
}

}  // namespace

TEST_CASE("Integration: TPM AK enrolment and release with skr-agent on a live swtpm, PCR extend denies",
          "[integration][tpm]") {
  World w;
  auto en = w.Enroll("vm1");
  INFO(en.out << en.err);
  REQUIRE(en.exit_code == 0);
  auto enrolled = skr::ParseJson(en.out);
  REQUIRE(enrolled);
  CHECK((*enrolled)["state"] == "active");
  CHECK((*enrolled)["name"] == "vm1");
  CHECK((*enrolled)["ek_sha256"].get<std::string>().size() == 64);
  const std::string id = (*enrolled)["id"].get<std::string>();

  // The challenge tells the attester which PCRs the key's policy reads.
  auto ch = w.skrd->Post("/v1/challenge", {{"tenant", "acme"}, {"key", "disk"}});
  REQUIRE(ch.status == 200);
  CHECK(ch.json["tpm_pcrs"] == Json{{"sha256", {0, 7}}});

  const std::string out = w.skrd->file("released.key");
  auto f = w.Fetch(id, out);
  INFO(f.err);
  REQUIRE(f.exit_code == 0);
  CHECK(skr::Base64Encode(skr::AsBytes(ReadFileOrEmpty(out))) == w.material_b64);
  const Json granted = w.LastRelease();
  CHECK(granted["decision"] == "granted");
  CHECK(granted["evidence_type"] == "tpm");
  // The release replays the same, and its bundle names the enrolled AK it relied on (issue 11).
  auto replay = w.skrd->Get("/v1/audit/replay?seq=" + std::to_string(granted["seq"].get<std::int64_t>()),
                            w.skrd->operator_token());
  INFO(replay.body);
  REQUIRE(replay.status == 200);
  CHECK(replay.json.at("same") == true);
  CHECK(replay.json.at("collateral").at("recorded").at("tpm_ak_id") == id);
  CHECK(replay.json.at("collateral").at("recorded").at("tpm_ak_public_sha256").get<std::string>().size() == 64);

  // Enrolment and activation were audited (intent + outcome each).
  auto audit = w.skrd->Get("/v1/audit/entries?tenant=acme&limit=1000", w.skrd->operator_token());
  int enroll_ok = 0, activate_ok = 0;
  for (const auto& e : audit.json["entries"]) {
    if (e["action"] == "tpm.enroll" && e["decision"] == "ok") ++enroll_ok;
    if (e["action"] == "tpm.activate" && e["decision"] == "ok") ++activate_ok;
  }
  CHECK(enroll_ok == 1);
  CHECK(activate_ok == 1);

  // Something measured into PCR 7 after enrolment: the policy no longer matches.
  auto ext = RunCommand({"tpm2_pcrextend", "7:sha256=" + std::string(64, 'a')}, "", w.tpm.env(), 30);
  REQUIRE(ext.exit_code == 0);
  const std::string out2 = w.skrd->file("denied.key");
  auto d = w.Fetch(id, out2);
  CHECK(d.exit_code == 1);
  CHECK(d.err.find("tpm.pcr.sha256.7") != std::string::npos);
  CHECK(ReadFileOrEmpty(out2).empty());
  const Json denied = w.LastRelease();
  CHECK(denied["decision"] == "denied");
  CHECK(denied["reason"].get<std::string>().find("tpm.pcr.sha256.7") != std::string::npos);

  // Re-enrolling the same machine name while active is refused; after delete it works again.
  auto again = w.Enroll("vm1");
  CHECK(again.exit_code == 1);
  CHECK(again.err.find("tpm_ak_exists") != std::string::npos);
  auto del = w.skrd->Request("DELETE", "/v1/tenants/acme/tpm/aks/" + id, "", w.admin);
  CHECK(del.status == 204);
  // A deleted AK no longer vouches for anything.
  auto gone = w.Fetch(id, w.skrd->file("gone.key"));
  CHECK(gone.exit_code == 3);
  CHECK(gone.err.find("tpm_ak_not_enrolled") != std::string::npos);
  // The grant still replays the same from the enrolment kept with it; verified today, the same
  // quote has no AK to vouch for it, and replay says so (issue 11).
  auto later = w.skrd->Get("/v1/audit/replay?seq=" + std::to_string(granted["seq"].get<std::int64_t>()),
                           w.skrd->operator_token());
  INFO(later.body);
  REQUIRE(later.status == 200);
  CHECK(later.json.at("same") == true);
  CHECK(later.json.at("replayed").at("decision") == "granted");
  CHECK(later.json.at("today").at("decision") == "denied");
  CHECK(later.json.at("today").at("reason").get<std::string>().find("tpm_ak_not_enrolled") == 0);
  CHECK(later.json.at("today").at("differences").dump().find("decision: replayed granted, today denied") !=
        std::string::npos);
}

TEST_CASE("Integration: forged, mis-bound and malformed TPM evidence is refused and audited",
          "[integration][tpm]") {
  World w;
  auto en = w.Enroll("vm1");
  INFO(en.out << en.err);
  REQUIRE(en.exit_code == 0);
  w.ak_id = skr::ParseJson(en.out).value()["id"].get<std::string>();

  SECTION("a good quote is released (control)") {
    auto a = w.Make(w.Nonce());
    auto r = w.Release(a.body);
    INFO(r.body);
    CHECK(r.status == 200);
    CHECK(r.json.contains("jwe"));
  }
  SECTION("a quote over another nonce") {
    const std::string other = w.Nonce();
    auto a = w.Make(w.Nonce(), TpmAkType::kEccP256, &other);
    ExpectRefused(w, w.Release(a.body), 401, "binding_mismatch");
  }
  SECTION("a quote signed by an unenrolled AK, presented under the enrolled id") {
    auto a = w.Make(w.Nonce(), TpmAkType::kRsa2048);
    a.body["evidence"].erase("ak_public");
    ExpectRefused(w, w.Release(a.body), 401, "tpm_signature_invalid");
  }
  SECTION("an unenrolled AK's public area under the enrolled id") {
    auto a = w.Make(w.Nonce(), TpmAkType::kRsa2048);
    ExpectRefused(w, w.Release(a.body), 401, "tpm_ak_mismatch");
  }
  SECTION("an AK id nobody enrolled") {
    auto a = w.Make(w.Nonce());
    a.body["evidence"]["ak_id"] = "ak_000000000000000000000000";
    ExpectRefused(w, w.Release(a.body), 401, "tpm_ak_not_enrolled");
  }
  SECTION("PCR values that do not match the quoted digest") {
    auto a = w.Make(w.Nonce());
    a.body["evidence"]["pcrs"]["sha256"]["7"] = std::string(64, 'b');
    ExpectRefused(w, w.Release(a.body), 401, "tpm_pcr_mismatch");
  }
  SECTION("a PCR value the quote did not select") {
    auto a = w.Make(w.Nonce());
    a.body["evidence"]["pcrs"]["sha256"]["3"] = std::string(64, '0');
    ExpectRefused(w, w.Release(a.body), 401, "tpm_pcr_mismatch");
  }
  SECTION("a truncated quote") {
    auto a = w.Make(w.Nonce());
    auto bytes = skr::Base64Decode(a.body["evidence"]["quote"].get<std::string>()).value();
    bytes.pop_back();
    a.body["evidence"]["quote"] = skr::Base64Encode(bytes);
    ExpectRefused(w, w.Release(a.body), 400, "tpm_attest_malformed");
  }
  SECTION("an oversized quote") {
    auto a = w.Make(w.Nonce());
    a.body["evidence"]["quote"] = skr::Base64Encode(std::vector<std::uint8_t>(8192, 0x41));
    ExpectRefused(w, w.Release(a.body), 400, "tpm_attest_malformed");
  }
  SECTION("a truncated signature") {
    auto a = w.Make(w.Nonce());
    auto bytes = skr::Base64Decode(a.body["evidence"]["signature"].get<std::string>()).value();
    bytes.resize(bytes.size() / 2);
    a.body["evidence"]["signature"] = skr::Base64Encode(bytes);
    ExpectRefused(w, w.Release(a.body), 400, "tpm_signature_malformed");
  }
  SECTION("an AK enrolled by another tenant") {
    // Tenant "other" enrols the same TPM's AK under its own name; its id must not open acme's key.
    auto t = w.skrd->Post("/v1/tenants", {{"name", "other"}}, w.skrd->operator_token());
    REQUIRE(t.status == 201);
    auto tok = w.skrd->Post("/v1/tokens", {{"role", "admin"}, {"tenant", "other"}}, w.skrd->operator_token());
    REQUIRE(tok.status == 201);
    auto env = w.CliEnv(tok.json["token"].get<std::string>());
    auto other = RunCommand({Bin("client/skrctl"), "--format", "json", "tpm", "enroll", "--tenant", "other",
                             "--name", "vm9", "--ek-chain", w.tpm.ca_issuer()},
                            "", env, 60);
    INFO(other.err);
    REQUIRE(other.exit_code == 0);
    auto a = w.Make(w.Nonce());
    a.body["evidence"]["ak_id"] = skr::ParseJson(other.out).value()["id"].get<std::string>();
    ExpectRefused(w, w.Release(a.body), 401, "tpm_ak_not_enrolled");
    // Nor does it pass acme's policy dry run, or show its enrolment to acme's admin.
    auto eval = w.skrd->Post("/v1/tenants/acme/policies/measured/evaluate", {{"evidence", a.body["evidence"]}},
                             w.admin);
    CHECK(eval.status == 401);
    CHECK(eval.problem_type() == "urn:skr:problem:tpm_ak_not_enrolled");
    auto verify = w.skrd->Post("/v1/attestation/verify", {{"evidence", a.body["evidence"]}}, w.admin);
    CHECK(verify.status == 401);
  }
  // Only the control section released anything.
  CHECK(w.Granted() <= 1);
}

TEST_CASE("Integration: TPM enrolment refuses a wrong activation secret, an untrusted EK and a non-AK",
          "[integration][tpm]") {
  World w;
  auto dev = TpmDevice::Open(w.tpm.tcti(), TpmAkType::kEccP256);
  REQUIRE(dev);
  const std::string ek_pem = (*dev)->EkCertificatePem().value();
  const std::string ak_b64 = skr::Base64Encode((*dev)->AkPublic().value());
  const std::string ek_pub_b64 = skr::Base64Encode((*dev)->EkPublic().value());
  dev->reset();
  const std::string issuer = ReadFileOrEmpty(w.tpm.ca_issuer());
  const std::string path = "/v1/tenants/acme/tpm/enrollments";

  SECTION("wrong secret: 401, the pending enrolment is burnt, the AK never becomes usable") {
    auto begun = w.skrd->Post(path, {{"name", "vm2"}, {"ak_public", ak_b64}, {"ek_cert", ek_pem}, {"ek_chain", issuer}},
                              w.admin);
    INFO(begun.body);
    REQUIRE(begun.status == 201);
    CHECK(begun.json["state"] == "pending");
    CHECK(begun.json.contains("credential_blob"));
    CHECK(begun.json.contains("encrypted_secret"));
    const std::string id = begun.json["id"].get<std::string>();
    auto bad = w.skrd->Post(path + "/" + id + "/activate",
                            {{"secret", skr::Base64Encode(skr::RandomBytes(32))}}, w.admin);
    CHECK(bad.status == 401);
    CHECK(bad.problem_type() == "urn:skr:problem:tpm_activation_failed");
    auto retry = w.skrd->Post(path + "/" + id + "/activate",
                              {{"secret", skr::Base64Encode(skr::RandomBytes(32))}}, w.admin);
    CHECK(retry.status == 404);
    w.ak_id = id;
    auto a = w.Make(w.Nonce());
    ExpectRefused(w, w.Release(a.body), 401, "tpm_ak_not_enrolled");
  }
  SECTION("the challenge can only be answered by this TPM's EK: a wrong EK public area is refused") {
    auto r = w.skrd->Post(path, {{"name", "vm3"}, {"ak_public", ak_b64}, {"ek_cert", ek_pem},
                                 {"ek_chain", issuer}, {"ek_public", ak_b64}},
                          w.admin);
    CHECK(r.status == 400);
    CHECK(r.problem_type() == "urn:skr:problem:tpm_ek_mismatch");
  }
  SECTION("an EK certificate that does not chain to the configured EK CA") {
    auto r = w.skrd->Post(path, {{"name", "vm4"}, {"ak_public", ak_b64}, {"ek_cert", ek_pem}}, w.admin);
    CHECK(r.status == 401);
    CHECK(r.problem_type() == "urn:skr:problem:tpm_ek_untrusted");
    // The refused attempt is in the audit log: intent, then the failure.
    auto audit = w.skrd->Get("/v1/audit/entries?tenant=acme&limit=1000", w.skrd->operator_token());
    std::vector<std::string> seen;
    for (const auto& e : audit.json["entries"]) {
      if (e["action"] == "tpm.enroll" && e["key"] == "vm4") seen.push_back(e["decision"].get<std::string>());
    }
    CHECK(seen == std::vector<std::string>{"requested", "failed"});
  }
  SECTION("an EK presented as the AK (a decryption key, not a restricted signing key)") {
    auto r = w.skrd->Post(path, {{"name", "vm5"}, {"ak_public", ek_pub_b64}, {"ek_cert", ek_pem}, {"ek_chain", issuer}},
                          w.admin);
    CHECK(r.status == 400);
    CHECK(r.problem_type() == "urn:skr:problem:tpm_ak_attributes");
  }
  SECTION("no EK certificate while the EK round trip is required") {
    auto r = w.skrd->Post(path, {{"name", "vm6"}, {"ak_public", ak_b64}}, w.admin);
    CHECK(r.status == 400);
    CHECK(r.problem_type() == "urn:skr:problem:tpm_ek_required");
  }
  SECTION("an admin of another tenant cannot enrol here") {
    auto t = w.skrd->Post("/v1/tenants", {{"name", "other"}}, w.skrd->operator_token());
    REQUIRE(t.status == 201);
    auto tok = w.skrd->Post("/v1/tokens", {{"role", "admin"}, {"tenant", "other"}}, w.skrd->operator_token());
    auto r = w.skrd->Post(path, {{"name", "vm7"}, {"ak_public", ak_b64}, {"ek_cert", ek_pem}, {"ek_chain", issuer}},
                          tok.json["token"].get<std::string>());
    CHECK(r.status == 403);
  }
  auto list = w.skrd->Get("/v1/tenants/acme/tpm/aks", w.admin);
  REQUIRE(list.status == 200);
  for (const auto& ak : list.json["aks"]) CHECK(ak["state"] != "active");
}

TEST_CASE("Integration: measured boot: an event log replayed against the live swtpm's PCR 7 proves secure boot",
          "[integration][tpm][eventlog]") {
  World w;
  auto en = w.Enroll("vm1");
  INFO(en.out << en.err);
  REQUIRE(en.exit_code == 0);
  const std::string id = skr::ParseJson(en.out).value()["id"].get<std::string>();
  // A new version of the key's policy: secure boot on, as proven by the replayed log.
  const Json policy = {{"version", "1.0.0"},
                       {"anyOf",
                        {{{"authority", "skr:local"},
                          {"allOf",
                           {{{"claim", "tee"}, {"equals", "tpm"}},
                            {{"claim", "tpm.pcr.sha256.7"}, {"exists", true}},
                            {{"claim", "tpm.secure_boot.enabled"}, {"equals", true}}}}}}}};
  auto put = w.skrd->Request("PUT", "/v1/tenants/acme/policies/measured", skr::DumpJson(policy), w.admin);
  REQUIRE(put.status == 201);

  // "Firmware": measure the SecureBoot variable into PCR 7 and keep the log of it.
  const auto log = skr::test::MakeSecureBootEventLog(1);
  const std::string log_file = w.skrd->file("binary_bios_measurements");
  skr::test::WriteFile(log_file, std::string(log.log.begin(), log.log.end()), 0644);
  auto ext = RunCommand({"tpm2_pcrextend", "7:sha256=" + skr::HexEncode(log.pcr7_event_digest)}, "", w.tpm.env(), 30);
  REQUIRE(ext.exit_code == 0);
  CHECK(ReadPcr(w.tpm, 7) == skr::HexEncode(log.pcr7));

  // skr-agent takes an event log other than securityfs only from its local config (issue 9
  // item 6: a LUKS header could otherwise name any file to be read and sent).
  skr::test::WriteFile(w.skrd->file("agent.toml"), "event_log = \"" + log_file + "\"\n", 0644);
  auto env = w.tpm.env();
  env["SKR_AGENT_CONFIG"] = w.skrd->file("agent.toml");
  auto fetch = [&](const std::string& event_log) {
    return RunCommand({Bin("client/skr-agent"), "fetch", "--url", w.skrd->url(), "--tenant", "acme", "--key",
                       "disk", "--evidence", "tpm", "--ak-id", id, "--event-log", event_log, "--cacert",
                       w.skrd->file("tls/ca.crt"), "--retries", "0", "--out", w.skrd->file("k.bin")},
                      "", env, 60);
  };
  auto ok = fetch(log_file);
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(w.LastRelease()["decision"] == "granted");

  // Without the log nothing proves secure boot: the claim is missing, the policy denies.
  auto none = fetch("none");
  CHECK(none.exit_code == 1);
  CHECK(none.err.find("tpm.secure_boot.enabled") != std::string::npos);

  // Something else measured into PCR 7 afterwards: the log no longer replays to the quote.
  REQUIRE(RunCommand({"tpm2_pcrextend", "7:sha256=" + std::string(64, 'c')}, "", w.tpm.env(), 30).exit_code == 0);
  auto stale = fetch(log_file);
  CHECK(stale.exit_code == 3);
  CHECK(stale.err.find("tpm_event_log_mismatch") != std::string::npos);
  CHECK(w.LastRelease()["decision"] != "granted");
}

TEST_CASE("Integration: the Clevis skr pin unlocks with TPM evidence from a live swtpm",
          "[integration][tpm][clevis]") {
  for (const char* tool : {"/usr/bin/clevis", "/usr/bin/jose"}) REQUIRE(std::filesystem::exists(tool));
  World w;
  auto en = w.Enroll("vm1");
  INFO(en.out << en.err);
  REQUIRE(en.exit_code == 0);
  const std::string id = skr::ParseJson(en.out).value()["id"].get<std::string>();
  skr::test::WriteFile(w.skrd->file("admin.token"), w.admin, 0600);
  const Json cfg = {{"servers", {w.skrd->url()}}, {"cacert", w.skrd->file("tls/ca.crt")},
                    {"tenant", "acme"},           {"policy", "measured"},
                    {"key", "tpm-disk"},          {"token_file", w.skrd->file("admin.token")},
                    {"evidence", "tpm"},          {"ak_id", id},
                    {"event_log", "none"}};
  skr::test::WriteFile(w.skrd->file("pin.json"), skr::DumpJson(cfg), 0600);
  // The pins and the clients are found on PATH, as clevis finds its pins.
  // The swtpm TCTI comes from the environment: a JWE header may only name device:/dev/... TCTIs.
  std::map<std::string, std::string> env = {
      {"PATH", skr::test::SourceDir() + "/scripts/clevis:" + skr::test::BinaryDir() + "/client:" +
                   std::getenv("PATH")},
      {"TPM2TOOLS_TCTI", w.tpm.tcti()},
      {"SKR_AGENT_CONFIG", ""},
      {"SKR_CA_DIR", w.skrd->file("tls")}};  // stands in for /etc/skr
  auto sh = [&](const std::string& script, const std::string& input) {
    return RunCommand({"/bin/bash", "-c", script}, input, env, 120);
  };
  auto enc = sh("clevis encrypt skr \"$(cat '" + w.skrd->file("pin.json") + "')\"", "disk passphrase");
  INFO(enc.err);
  REQUIRE(enc.exit_code == 0);
  // The bind released the key once with the swtpm's quote (the round trip).
  CHECK(enc.err.find("verified: this machine's evidence releases acme/tpm-disk version 1") !=
        std::string::npos);
  // The JWE header records how to attest: evidence tpm with the AK id (no secrets).
  auto hdr = sh("jose jwe fmt -i- -c | cut -d. -f1 | jose b64 dec -i- -O-", enc.out);
  CHECK(hdr.out.find("\"ak_id\":\"" + id + "\"") != std::string::npos);
  CHECK(hdr.out.find(w.admin) == std::string::npos);

  auto dec = sh("clevis decrypt", enc.out);
  INFO(dec.err);
  CHECK(dec.exit_code == 0);
  CHECK(dec.out == "disk passphrase");

  // A changed boot (PCR 7) and the disk stays locked: skr-agent's exit code 1 (denied).
  REQUIRE(RunCommand({"tpm2_pcrextend", "7:sha256=" + std::string(64, 'd')}, "", w.tpm.env(), 30).exit_code == 0);
  auto locked = sh("clevis decrypt", enc.out);
  CHECK(locked.exit_code == 1);
  CHECK(locked.out.empty());

  // Without an AK id the pin refuses to bind for tpm evidence.
  Json bad = cfg;
  bad.erase("ak_id");
  skr::test::WriteFile(w.skrd->file("bad.json"), skr::DumpJson(bad), 0600);
  auto refused = sh("clevis encrypt skr \"$(cat '" + w.skrd->file("bad.json") + "')\"", "x");
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("ak_id") != std::string::npos);
}

TEST_CASE("Integration: skrd check-config loads the TPM trust anchors and names a bad file",
          "[integration][tpm]") {
  SKR_REQUIRE_TESTDATA(testdata);
  skr::test::SkrdOptions opts;
  // Google's vTPM CA (DER) as AK root and a PEM bundle as EK roots: both load.
  opts.extra_toml = "\n[attestation.tpm]\nak_roots = \"" + (testdata / "tpm/gce/google_tpm_ek_intermediate_2.crt").string() +
                    "\"\nek_roots = \"" + (testdata / "snp/certs/ask_ark_milan.pem").string() + "\"\n";
  Skrd good(opts);
  REQUIRE(good.Start());
  auto ok = RunCommand({Bin("server/skrd"), "check-config", "--config", good.config_path()});
  INFO(ok.out << ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("\"tpm\"") != std::string::npos);
  good.Stop();

  // The same config with an AK root file that is not a certificate.
  std::string text = skr::test::ReadFileOrFail(good.config_path());
  const std::string gce = (testdata / "tpm/gce/google_tpm_ek_intermediate_2.crt").string();
  text.replace(text.find(gce), gce.size(), good.file("not-a-cert.pem"));
  skr::test::WriteFile(good.file("not-a-cert.pem"), "hello", 0644);
  skr::test::WriteFile(good.config_path(), text, 0644);
  auto r = RunCommand({Bin("server/skrd"), "check-config", "--config", good.config_path()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("attestation.tpm.ak_roots") != std::string::npos);
}

TEST_CASE("Integration: an AK enrolled through an ECC (NIST P-256) EK certified by the owner's CA",
          "[integration][tpm]") {
  Swtpm tpm;
  INFO(tpm.error());
  REQUIRE(tpm.Start());
  skr::test::TempDir ca;
  // The EK of template L-2, derived in the swtpm; swtpm_setup certifies only RSA and P-384 EKs, so
  // an owner CA (made here with the openssl CLI) certifies this one, as an enterprise CA would.
  std::string ek_pem;
  {
    auto dev = TpmDevice::Open(tpm.tcti(), TpmAkType::kEccP256, skr::client::TpmEkType::kEccP256);
    REQUIRE(dev);
    auto pub = skr::attestation::tpm::ParsePublic((*dev)->EkPublic().value());
    REQUIRE(pub);
    CHECK(pub->type == TPM2_ALG_ECC);
    auto key = skr::attestation::tpm::AkFromTpmtPublic(*pub);
    REQUIRE(key);
    skr::BioPtr bio(BIO_new(BIO_s_mem()));
    REQUIRE(PEM_write_bio_PUBKEY(bio.get(), key->get()) == 1);
    char* text = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &text);
    ek_pem.assign(text, static_cast<std::size_t>(len));
  }
  skr::test::WriteFile(ca.file("ek.pub.pem"), ek_pem, 0644);
  auto sh = [&](const std::string& cmd) {
    auto r = RunCommand({"/bin/sh", "-c", "cd '" + ca.path().string() + "' && " + cmd});
    INFO(cmd << "\n" << r.err);
    REQUIRE(r.exit_code == 0);
  };
  sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt "
     "-subj /CN=owner-ek-ca -days 30 -addext basicConstraints=critical,CA:TRUE "
     "-addext keyUsage=critical,keyCertSign 2>/dev/null");
  sh("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout csr.key -subj /CN=ek "
     "-out ek.csr 2>/dev/null");
  sh("openssl x509 -req -in ek.csr -CA ca.crt -CAkey ca.key -CAcreateserial -force_pubkey ek.pub.pem "
     "-days 30 -out ek.crt 2>/dev/null");

  skr::test::SkrdOptions opts;
  opts.extra_toml = "\n[attestation.tpm]\nek_roots = \"" + ca.file("ca.crt") + "\"\n";
  Skrd skrd(opts);
  REQUIRE(skrd.Start());
  const Json policy = {{"anyOf",
                        {{{"authority", "skr:local"},
                          {"allOf",
                           {{{"claim", "tee"}, {"equals", "tpm"}}, {{"claim", "tpm.ak.name"}, {"equals", "vm-ecc"}}}}}}}};
  const std::string material = skr::Base64Encode(skr::RandomBytes(32));
  auto admin = skrd.SetUpTenant("acme", "p", policy, "disk", material).admin_token;
  auto env = tpm.env();
  env["SKR_ADDR"] = skrd.url();
  env["SKR_CACERT"] = skrd.file("tls/ca.crt");
  env["SKR_TOKEN"] = admin;
  auto en = RunCommand({Bin("client/skrctl"), "--format", "json", "tpm", "enroll", "--tenant", "acme", "--name",
                        "vm-ecc", "--ek-type", "ecc", "--ek-cert", ca.file("ek.crt")},
                       "", env, 60);
  INFO(en.out << en.err);
  REQUIRE(en.exit_code == 0);
  const Json enrolled = skr::ParseJson(en.out).value();
  CHECK(enrolled["state"] == "active");

  const std::string out = skrd.file("k.bin");
  auto f = RunCommand({Bin("client/skr-agent"), "fetch", "--url", skrd.url(), "--tenant", "acme", "--key", "disk",
                       "--evidence", "tpm", "--ak-id", enrolled["id"].get<std::string>(), "--cacert",
                       skrd.file("tls/ca.crt"), "--retries", "0", "--out", out},
                      "", tpm.env(), 60);
  INFO(f.err);
  CHECK(f.exit_code == 0);
  CHECK(skr::Base64Encode(skr::AsBytes(ReadFileOrEmpty(out))) == material);

  // The RSA EK of the same TPM does not match the ECC EK certificate: refused before any challenge.
  auto rsa_ek = RunCommand({Bin("client/skrctl"), "--format", "json", "tpm", "enroll", "--tenant", "acme",
                            "--name", "vm-wrong", "--ek-type", "rsa", "--ek-cert", ca.file("ek.crt")},
                           "", env, 60);
  CHECK(rsa_ek.exit_code != 0);
}
