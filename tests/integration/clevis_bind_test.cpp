// SPDX-License-Identifier: Apache-2.0
// `clevis encrypt skr` refuses a binding that would not unlock at boot (issue 12): it releases
// the new key version once with this machine's evidence and compares the bytes (opt out with
// "verify": false), refuses to bind to an existing key under another policy, and refuses a CA
// file the initramfs hooks would not copy. Real clevis, jose and skr-agent against a live skrd.
#include <catch2/catch.hpp>
#include <filesystem>

#include "common/encoding.h"
#include "tests/integration/clevis_fixture.h"
#include "tests/integration/skrd_fixture.h"

using skr::Json;
using skr::test::RunCommand;
using skr::test::Skrd;

using namespace skr::test::clevis;

namespace {

// Versions of acme/root-disk in skrd (0 when the key does not exist).
std::size_t Versions(Skrd& skrd, const std::string& token) {
  auto key = skrd.Get("/v1/tenants/acme/keys/root-disk", token);
  return key.status == 200 ? key.json["versions"].size() : 0;
}

std::size_t Releases(Skrd& skrd, const std::string& decision) {
  return skrd.Get("/v1/audit/entries?decision=" + decision, skrd.operator_token())
      .json["entries"]
      .size();
}

}  // namespace

TEST_CASE("Clevis skr pin: a policy that denies this machine fails the bind, unless verify is "
          "false",
          "[integration][clevis][bind]") {
  SKR_REQUIRE_CLEVIS();
  Skrd skrd;
  REQUIRE(skrd.Start());
  auto acme = skrd.SetUpTenant("acme", "disk", Policy(false), "unused",
                               skr::Base64Encode(skr::RandomBytes(32)));
  Json cfg = PinConfig(skrd, acme.admin_token);
  Disk disk(skrd, skrd.file("agent.toml"));

  auto enc = RunCommand({"clevis", "encrypt", "skr", skr::DumpJson(cfg)}, "data", disk.env, 120);
  INFO(enc.err);
  CHECK(enc.exit_code == 1);
  CHECK(enc.out.empty());  // no JWE: nothing can be bound
  CHECK(enc.err.find("policy 'disk' denies this machine's evidence") != std::string::npos);
  CHECK(enc.err.find("\"verify\": false") != std::string::npos);
  // skr-agent's own log of the denial is shown, with the request id.
  CHECK(enc.err.find("release denied by policy") != std::string::npos);
  CHECK(enc.err.find("request_id") != std::string::npos);
  CHECK(Releases(skrd, "denied") == 1);
  CHECK(Releases(skrd, "granted") == 0);

  SECTION("clevis luks bind adds no slot") {
    skr::test::WriteFile(skrd.file("initial.pass"), "initial-pass", 0600);
    auto bind = disk.Sh("clevis luks bind -y -d '" + disk.image + "' -k '" +
                        skrd.file("initial.pass") + "' skr '" + skr::DumpJson(cfg) + "'");
    CHECK(bind.exit_code != 0);
    CHECK(disk.Sh("cryptsetup token export --token-id 0 '" + disk.image + "'").exit_code != 0);
  }
  SECTION("verify false binds without the round trip; unlock is then denied") {
    cfg["verify"] = false;
    auto unverified =
        RunCommand({"clevis", "encrypt", "skr", skr::DumpJson(cfg)}, "data", disk.env, 120);
    INFO(unverified.err);
    REQUIRE(unverified.exit_code == 0);
    CHECK(unverified.err.find("verified") == std::string::npos);
    CHECK(Releases(skrd, "denied") == 1);  // no release attempt at bind
    auto dec = disk.Sh("clevis decrypt", unverified.out);
    CHECK(dec.exit_code == 1);
    CHECK(dec.out.empty());
  }
  SECTION("verify must be a boolean") {
    cfg["verify"] = "no";
    auto r = RunCommand({"clevis", "encrypt", "skr", skr::DumpJson(cfg)}, "data", disk.env, 60);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("'verify': expected true or false") != std::string::npos);
  }
}

TEST_CASE("Clevis skr pin: a machine that cannot produce the evidence binds with a warning",
          "[integration][clevis][bind]") {
  SKR_REQUIRE_CLEVIS();
  Skrd skrd;
  REQUIRE(skrd.Start());
  auto acme = skrd.SetUpTenant("acme", "disk", Policy(true), "unused",
                               skr::Base64Encode(skr::RandomBytes(32)));
  Json cfg = PinConfig(skrd, acme.admin_token);
  // This test machine is no SEV-SNP guest: skr-agent exits 3 (attestation unavailable).
  cfg["evidence"] = "sev-snp";
  cfg.erase("sample_key");
  Disk disk(skrd);
  auto enc = RunCommand({"clevis", "encrypt", "skr", skr::DumpJson(cfg)}, "data", disk.env, 120);
  INFO(enc.err);
  CHECK(enc.exit_code == 0);
  CHECK(std::count(enc.out.begin(), enc.out.end(), '.') == 4);
  CHECK(enc.err.find("cannot produce sev-snp evidence, so the binding was not verified") !=
        std::string::npos);
  CHECK(Versions(skrd, acme.admin_token) == 1);
  CHECK(Releases(skrd, "denied") + Releases(skrd, "granted") == 0);
}

TEST_CASE("Clevis skr pin: binding to an existing key under another policy is refused",
          "[integration][clevis][bind]") {
  SKR_REQUIRE_CLEVIS();
  Skrd skrd;
  REQUIRE(skrd.Start());
  auto acme = skrd.SetUpTenant("acme", "disk", Policy(true), "unused",
                               skr::Base64Encode(skr::RandomBytes(32)));
  REQUIRE(skrd.Request("PUT", "/v1/tenants/acme/policies/other", skr::DumpJson(Policy(true)),
                       acme.admin_token).status == 201);
  Json cfg = PinConfig(skrd, acme.admin_token);
  Disk disk(skrd, skrd.file("agent.toml"));
  REQUIRE(RunCommand({"clevis", "encrypt", "skr", skr::DumpJson(cfg)}, "data", disk.env, 120)
              .exit_code == 0);
  REQUIRE(Versions(skrd, acme.admin_token) == 1);

  cfg["policy"] = "other";
  auto r = RunCommand({"clevis", "encrypt", "skr", skr::DumpJson(cfg)}, "data", disk.env, 120);
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err.find("key 'root-disk' exists with policy 'disk', CONFIG names 'other'") !=
        std::string::npos);
  CHECK(r.err.find("skrctl key set-policy --tenant acme root-disk other") != std::string::npos);
  // Nothing changed in skrd: no new version, the key keeps its policy.
  CHECK(Versions(skrd, acme.admin_token) == 1);
  CHECK(skrd.Get("/v1/tenants/acme/keys/root-disk", acme.admin_token).json["policy"] == "disk");

  // The same policy: a new version of the key, verified.
  cfg["policy"] = "disk";
  auto again = RunCommand({"clevis", "encrypt", "skr", skr::DumpJson(cfg)}, "data", disk.env, 120);
  INFO(again.err);
  CHECK(again.exit_code == 0);
  CHECK(again.err.find("releases acme/root-disk version 2") != std::string::npos);
}

TEST_CASE("Clevis skr pin: a CA file the initramfs hooks would not copy is refused at bind",
          "[integration][clevis][bind]") {
  SKR_REQUIRE_CLEVIS();
  Skrd skrd;
  REQUIRE(skrd.Start());
  auto acme = skrd.SetUpTenant("acme", "disk", Policy(true), "unused",
                               skr::Base64Encode(skr::RandomBytes(32)));
  Json cfg = PinConfig(skrd, acme.admin_token);
  Disk disk(skrd, skrd.file("agent.toml"));
  std::filesystem::create_directories(skrd.file("tls/sub"));
  std::filesystem::copy_file(skrd.file("tls/ca.crt"), skrd.file("tls/sub/ca.crt"));
  std::filesystem::copy_file(skrd.file("tls/ca.crt"), skrd.file("tls/ca.der"));
  std::string why;
  SECTION("outside the CA folder (the default /etc/skr)") {
    disk.env.erase("SKR_CA_DIR");
    why = "directly in /etc/skr";
  }
  SECTION("in a subfolder") {
    cfg["cacert"] = skrd.file("tls/sub/ca.crt");
    why = "directly in " + skrd.file("tls");
  }
  SECTION("another suffix") {
    cfg["cacert"] = skrd.file("tls/ca.der");
    why = "a .crt or .pem file";
  }
  auto r = RunCommand({"clevis", "encrypt", "skr", skr::DumpJson(cfg)}, "data", disk.env, 60);
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err.find("'cacert'") != std::string::npos);
  CHECK(r.err.find(why) != std::string::npos);
  CHECK(r.err.find("initramfs hooks copy only those") != std::string::npos);
  CHECK(Versions(skrd, acme.admin_token) == 0);  // refused before anything reached skrd
}
