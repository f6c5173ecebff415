// SPDX-License-Identifier: Apache-2.0
// Boot-time disk unlock with real cryptsetup, real clevis and a real skrd (issue 5): a LUKS2
// image file (fast PBKDF) bound with the `skr` Clevis pin; unlock through an attested release.
// No device-mapper is needed: only LUKS header operations and --test-passphrase.
#include <catch2/catch.hpp>
#include <algorithm>
#include <chrono>
#include <filesystem>

#include "common/encoding.h"
#include "tests/integration/clevis_fixture.h"
#include "tests/integration/skrd_fixture.h"

using skr::Json;
using skr::test::RunCommand;
using skr::test::Skrd;

using namespace skr::test::clevis;

TEST_CASE("Clevis skr pin: bind a LUKS2 image, unlock through an attested release",
          "[integration][clevis]") {
  SKR_REQUIRE_CLEVIS();
  Skrd skrd;
  REQUIRE(skrd.Start());
  auto acme = skrd.SetUpTenant("acme", "disk", Policy(true), "unused",
                               skr::Base64Encode(skr::RandomBytes(32)));
  WritePinConfig(skrd, acme.admin_token);
  Disk disk(skrd, skrd.file("agent.toml"));

  // The pin on its own: plaintext in, compact JWE out, and back through an attested release.
  auto enc = disk.Sh("clevis encrypt skr \"$(cat '" + skrd.file("pin.json") + "')\"", "secret data");
  INFO(enc.err);
  REQUIRE(enc.exit_code == 0);
  CHECK(std::count(enc.out.begin(), enc.out.end(), '.') == 4);
  // The bind released the new version once with this machine's evidence (a round trip).
  CHECK(enc.err.find("verified: this machine's evidence releases acme/root-disk version 1") !=
        std::string::npos);
  auto round = disk.Sh("clevis decrypt", enc.out);
  INFO(round.err);
  CHECK(round.exit_code == 0);
  CHECK(round.out == "secret data");
  // The binding's retries and timeout reach skr-agent (its first log line names them).
  CHECK(round.err.find("\"retries\":2") != std::string::npos);
  CHECK(round.err.find("\"timeout_s\":7.0") != std::string::npos);

  // clevis luks bind, unchanged: the existing passphrase comes from a key file.
  skr::test::WriteFile(skrd.file("initial.pass"), "initial-pass", 0600);
  auto bind = disk.Sh("clevis luks bind -y -d '" + disk.image + "' -k '" + skrd.file("initial.pass") +
                      "' skr \"$(cat '" + skrd.file("pin.json") + "')\"");
  INFO(bind.out << bind.err);
  REQUIRE(bind.exit_code == 0);
  // The admin token is in neither the LUKS token nor the JWE.
  auto dump = disk.Sh("cryptsetup luksDump --dump-json-metadata '" + disk.image + "'");
  CHECK(dump.out.find(acme.admin_token) == std::string::npos);

  SECTION("clevis luks pass recovers a passphrase cryptsetup accepts") {
    auto pass = disk.Sh("clevis luks pass -d '" + disk.image + "' -s 1");
    INFO(pass.err);
    REQUIRE(pass.exit_code == 0);
    CHECK(!pass.out.empty());
    CHECK(disk.Accepts(pass.out));
    CHECK(!disk.Accepts("wrong"));
    auto audit = skrd.Get("/v1/audit/entries?decision=granted", skrd.operator_token());
    // Each bind verified itself with a release (clevis encrypt, clevis luks bind), then the
    // round trip above and this unlock.
    CHECK(audit.json["entries"].size() == 4);
  }
  SECTION("policy changed to deny: unlock fails with exit code 1 and the denial is audited") {
    REQUIRE(skrd.Request("PUT", "/v1/tenants/acme/policies/disk", skr::DumpJson(Policy(false)),
                         acme.admin_token).status == 201);
    auto jwe = disk.Sh("cryptsetup token export --token-id 0 '" + disk.image +
                       "' | jose fmt -j- -Og jwe -o- | jose jwe fmt -i- -c");
    REQUIRE(jwe.exit_code == 0);
    auto dec = disk.Sh("clevis decrypt", jwe.out);
    CHECK(dec.exit_code == 1);
    CHECK(dec.out.empty());
    auto denied = skrd.Get("/v1/audit/entries?decision=denied", skrd.operator_token());
    CHECK(!denied.json["entries"].empty());
  }
  SECTION("server down: exit code 4") {
    skrd.Stop();
    auto jwe = disk.Sh("cryptsetup token export --token-id 0 '" + disk.image +
                       "' | jose fmt -j- -Og jwe -o- | jose jwe fmt -i- -c");
    REQUIRE(jwe.exit_code == 0);
    auto dec = disk.Sh("clevis decrypt", jwe.out);
    CHECK(dec.exit_code == 4);
    CHECK(dec.out.empty());
  }
}

TEST_CASE("skr-agent output unlocks a LUKS2 image for a key an admin registered",
          "[integration][clevis]") {
  SKR_REQUIRE_CLEVIS();
  Skrd skrd;
  REQUIRE(skrd.Start());
  const std::string passphrase = "registered-disk-passphrase-0123456789";
  auto acme = skrd.SetUpTenant("acme", "disk", Policy(true), "root",
                               skr::Base64Encode(skr::AsBytes(passphrase)));
  (void)acme;
  Disk disk(skrd);
  skr::test::WriteFile(skrd.file("initial.pass"), "initial-pass", 0600);
  auto add = disk.Sh("cryptsetup luksAddKey --batch-mode --pbkdf pbkdf2 --pbkdf-force-iterations 1000 "
                     "--key-file '" + skrd.file("initial.pass") + "' '" + disk.image + "' -",
                     passphrase);
  INFO(add.err);
  REQUIRE(add.exit_code == 0);
  const std::string agent = "skr-agent fetch --tenant acme --key root --evidence sample "
                            "--sample-key '" + skrd.file("dev/sample-attester.key") + "' ";
  const std::string unlock = " | cryptsetup open --test-passphrase --key-file - '" + disk.image + "'";
  SECTION("one server") {
    auto open = disk.Sh(agent + "--url " + skrd.url() + " --cacert '" + skrd.file("tls/ca.crt") +
                        "'" + unlock);
    INFO(open.err);
    CHECK(open.exit_code == 0);
  }
  SECTION("first server down, second up: unlocked") {
    auto open = disk.Sh("set -o pipefail; " + agent + "--url https://127.0.0.1:1 --url " +
                        skrd.url() + " --cacert '" + skrd.file("tls/ca.crt") + "'" + unlock);
    INFO(open.err);
    CHECK(open.exit_code == 0);
  }
  SECTION("wrong CA: refused at once as a configuration error, exit code 2, disk stays locked") {
    REQUIRE(RunCommand({skr::test::SourceDir() + "/scripts/dev-pki", skrd.file("other")}).exit_code == 0);
    auto open = disk.Sh(agent + "--retries 3 --url " + skrd.url() + " --cacert '" +
                        skrd.file("other/tls/ca.crt") + "'; echo rc=$?");
    CHECK(open.out.find("rc=2") != std::string::npos);
  }
  SECTION("server down: exit code 4 within the deadline") {
    skrd.Stop();
    const auto t0 = std::chrono::steady_clock::now();
    auto open = disk.Sh(agent + "--deadline 3 --url " + skrd.url() + " --cacert '" +
                        skrd.file("tls/ca.crt") + "'; echo rc=$?");
    const auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(open.out.find("rc=4") != std::string::npos);
    CHECK(secs < 6.0);
  }
}

TEST_CASE("skr-rekey: a disk's key is rotated, the old version disabled, all audited",
          "[integration][clevis]") {
  SKR_REQUIRE_CLEVIS();
  Skrd skrd;
  REQUIRE(skrd.Start());
  auto acme = skrd.SetUpTenant("acme", "disk", Policy(true), "unused",
                               skr::Base64Encode(skr::RandomBytes(32)));
  WritePinConfig(skrd, acme.admin_token);
  Disk disk(skrd, skrd.file("agent.toml"));
  skr::test::WriteFile(skrd.file("initial.pass"), "initial-pass", 0600);
  REQUIRE(disk.Sh("clevis luks bind -y -d '" + disk.image + "' -k '" + skrd.file("initial.pass") +
                  "' skr \"$(cat '" + skrd.file("pin.json") + "')\"").exit_code == 0);

  auto rekey = disk.Sh(skr::test::SourceDir() + "/scripts/skr-rekey -d '" + disk.image +
                       "' -s 1 -c '" + skrd.file("pin.json") + "'");
  INFO(rekey.out << rekey.err);
  REQUIRE(rekey.exit_code == 0);
  // Slot 1 is gone; the new slot unlocks through a release of version 2.
  CHECK(disk.Sh("clevis luks pass -d '" + disk.image + "' -s 1").exit_code != 0);
  auto pass = disk.Sh("clevis luks pass -d '" + disk.image + "' -s 2");
  REQUIRE(pass.exit_code == 0);
  CHECK(disk.Accepts(pass.out));
  auto key = skrd.Get("/v1/tenants/acme/keys/root-disk", acme.admin_token);
  REQUIRE(key.json["versions"].size() == 2);
  CHECK(key.json["versions"][0]["state"] == "disabled");
  CHECK(key.json["versions"][1]["state"] == "enabled");
  auto audit = skrd.Get("/v1/audit/entries?tenant=acme&limit=1000", skrd.operator_token());
  std::string actions;
  for (const auto& e : audit.json["entries"]) actions += e["action"].get<std::string>() + ",";
  CHECK(actions.find("key.rotate") != std::string::npos);
  CHECK(actions.find("key.disable") != std::string::npos);
}

TEST_CASE("initramfs: the dracut module and the initramfs-tools hook install what unlock needs",
          "[integration][clevis][initramfs]") {
  SKR_REQUIRE_CLEVIS();
  skr::test::TempDir tmp;
  std::filesystem::create_directories(tmp.file("etc-skr"));
  skr::test::WriteFile(tmp.file("etc-skr/ca.crt"), "CA", 0644);
  // The local agent config goes where skr-agent reads it in the initramfs.
  skr::test::WriteFile(tmp.file("etc-skr/agent.toml"), "servers = [\"https://kbs.example\"]\n",
                       0644);
  const std::string path = skr::test::SourceDir() + "/scripts/clevis:" + skr::test::BinaryDir() +
                           "/client:" + std::getenv("PATH");
  const std::string src = skr::test::SourceDir() + "/scripts/initramfs";

  SECTION("initramfs-tools hook") {
    // hook-functions stand-in that records what the hook copies.
    skr::test::WriteFile(tmp.file("hook-functions"),
                         "copy_exec() { echo \"exec $1\" >> \"$LIST\"; }\n"
                         "copy_file() { echo \"file $2 $3\" >> \"$LIST\"; }\n"
                         "manual_add_modules() { echo \"modules $*\" >> \"$LIST\"; }\n",
                         0644);
    auto r = RunCommand({"/bin/sh", src + "/initramfs-tools/clevis-skr"}, "",
                        {{"PATH", path},
                         {"SKR_HOOK_FUNCTIONS", tmp.file("hook-functions")},
                         {"SKR_CA_DIR", tmp.file("etc-skr")},
                         {"DESTDIR", tmp.file("dest")},
                         {"LIST", tmp.file("list")}});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const std::string list = skr::test::ReadFileOrFail(tmp.file("list"));
    for (const char* want : {"/skr-agent", "/clevis-decrypt-skr", "/jose", "etc-skr/ca.crt",
                             "etc-skr/agent.toml /etc/skr/agent.toml",
                             "/libtss2-tcti-device.so.0", "modules tpm_crb tpm_tis"}) {
      INFO(want);
      CHECK(list.find(want) != std::string::npos);
    }
    CHECK(skr::test::ReadFileOrFail(tmp.file("dest/conf/conf.d/clevis-skr")) == "IP=dhcp\n");
    auto pre = RunCommand({"/bin/sh", src + "/initramfs-tools/clevis-skr", "prereqs"});
    CHECK(pre.out == "clevis\n");
  }
  SECTION("dracut module") {
    const std::string script =
        "inst_multiple() { for f in \"$@\"; do echo \"bin $f\"; done; }\n"
        "inst_simple() { echo \"file $*\"; }\n"
        "inst_libdir_file() { echo \"libdir $*\"; }\n"
        "instmods() { echo \"modules $*\"; }\n"
        "require_binaries() { for b in \"$@\"; do command -v \"$b\" >/dev/null || return 1; done; }\n"
        "initdir=\"$DEST\"; hostonly_cmdline=yes\n"
        ". '" + src + "/dracut/60clevis-pin-skr/module-setup.sh'\n"
        "check && depends && installkernel && install\n";
    auto r = RunCommand({"/bin/bash", "-c", script}, "",
                        {{"PATH", path}, {"SKR_CA_DIR", tmp.file("etc-skr")}, {"DEST", tmp.file("dr")}});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    for (const std::string& want : std::vector<std::string>{
             "bin skr-agent", "bin clevis-decrypt-skr", "bin jose", "clevis network",
             "etc-skr/ca.crt", "file " + tmp.file("etc-skr/agent.toml") + " /etc/skr/agent.toml",
             "libdir libtss2-tcti-device.so*", "modules -o tpm_crb tpm_tis"}) {
      INFO(want);
      CHECK(r.out.find(want) != std::string::npos);
    }
    CHECK(skr::test::ReadFileOrFail(tmp.file("dr/etc/cmdline.d/99clevis-pin-skr.conf")) ==
          "rd.neednet=1\n");
  }
}

// ---- A hostile LUKS header (issue 9 item 6) ----------------------------------------------------
// The LUKS2 token, and so the JWE protected header the pin reads, is plaintext the host can write.
// Nothing in it may make the pin or skr-agent run a command or read a file of the attacker's
// choosing; each refusal must come before skr-agent runs, and nothing is released.

namespace {

// What a hostile host can write: any protected header. The pin reads it before anything is
// decrypted, so the (unauthenticated) rest of the JWE does not matter.
Json HostileHeader(const Json& skr_cfg) {
  return {{"alg", "dir"}, {"enc", "A256GCM"}, {"clevis", {{"pin", "skr"}, {"skr", skr_cfg}}}};
}
std::string HostileJwe(const Json& skr_cfg) {
  return skr::Base64UrlEncode(skr::AsBytes(skr::DumpJson(HostileHeader(skr_cfg)))) +
         "..AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA";
}

// A live skrd with a key the attacker would like released, a marker file that a command injected
// through the header would create, and an skr-agent wrapper that records every invocation.
struct Hostile {
  Skrd skrd;
  std::string marker, invoked;
  std::map<std::string, std::string> env;

  Hostile() {
    REQUIRE(skrd.Start());
    skrd.SetUpTenant("acme", "disk", Policy(true), "root-disk",
                     skr::Base64Encode(skr::RandomBytes(32)));
    marker = skrd.file("pwned");
    invoked = skrd.file("agent-invoked");
    skr::test::WriteFile(skrd.file("agent-wrapper"),
                         "#!/bin/sh\n: > '" + invoked + "'\nexec '" + skr::test::BinaryDir() +
                             "/client/skr-agent' \"$@\"\n",
                         0755);
    env = {{"PATH", skr::test::SourceDir() + "/scripts/clevis:" + skr::test::BinaryDir() +
                        "/client:" + std::getenv("PATH")},
           {"SKR_AGENT", skrd.file("agent-wrapper")},
           {"SKR_AGENT_CONFIG", ""}};
  }
  // A header that is well formed apart from what a test changes: tpm evidence for acme/root-disk.
  Json Config() const {
    return {{"servers", {skrd.url()}}, {"cacert", skrd.file("tls/ca.crt")},
            {"tenant", "acme"},        {"key", "root-disk"},
            {"evidence", "tpm"},       {"ak_id", "ak_00112233445566778899aabb"},
            {"event_log", "none"}};
  }
  skr::test::CommandResult Decrypt(const Json& cfg) {
    return RunCommand({"clevis", "decrypt"}, HostileJwe(cfg), env, 60);
  }
  bool AgentRan() const { return std::filesystem::exists(invoked); }
  bool Pwned() const { return std::filesystem::exists(marker); }
  // Release decisions of any kind in the audit log (a release attempt that reached skrd).
  std::size_t Releases() {
    std::size_t n = 0;
    for (const char* d : {"granted", "denied"}) {
      auto a = skrd.Get(std::string("/v1/audit/entries?decision=") + d, skrd.operator_token());
      n += a.json["entries"].size();
    }
    return n;
  }
};

}  // namespace

TEST_CASE("Clevis skr pin: a header with a cmd: TCTI is refused before anything runs",
          "[integration][clevis][hostile]") {
  SKR_REQUIRE_CLEVIS();
  Hostile h;
  Json cfg = h.Config();
  cfg["tcti"] = "cmd:touch " + h.marker;

  SECTION("clevis decrypt of the JWE") {
    auto r = h.Decrypt(cfg);
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("'tcti'") != std::string::npos);
    CHECK(!h.AgentRan());
  }
  SECTION("clevis luks pass of a crafted LUKS2 token") {
    Disk disk(h.skrd);
    disk.env = h.env;
    skr::test::WriteFile(h.skrd.file("initial.pass"), "initial-pass", 0600);
    REQUIRE(disk.Sh("cryptsetup luksAddKey --batch-mode --pbkdf pbkdf2 "
                    "--pbkdf-force-iterations 1000 --key-slot 1 --key-file '" +
                        h.skrd.file("initial.pass") + "' '" + disk.image + "' -",
                    "slot-one-pass")
                .exit_code == 0);
    const Json token = {{"type", "clevis"},
                        {"keyslots", {"1"}},
                        {"jwe",
                         {{"protected", skr::Base64UrlEncode(skr::AsBytes(
                                            skr::DumpJson(HostileHeader(cfg))))},
                          {"iv", "AAAAAAAAAAAAAAAA"},
                          {"ciphertext", "AAAA"},
                          {"tag", "AAAAAAAAAAAAAAAAAAAAAA"}}}};
    auto imp = disk.Sh("cryptsetup token import --token-id 0 '" + disk.image + "'",
                       skr::DumpJson(token));
    INFO(imp.err);
    REQUIRE(imp.exit_code == 0);
    auto r = disk.Sh("clevis luks pass -d '" + disk.image + "' -s 1");
    INFO(r.out << r.err);
    CHECK(r.exit_code != 0);
    CHECK(r.out.empty());
    CHECK(!h.AgentRan());
  }
  SECTION("skr-agent itself refuses it: the pin is not the only gate") {
    auto r = RunCommand({skr::test::BinaryDir() + "/client/skr-agent", "fetch", "--url",
                         h.skrd.url(),
                         "--cacert", h.skrd.file("tls/ca.crt"), "--tenant", "acme", "--key",
                         "root-disk", "--evidence", "tpm", "--ak-id", "ak_00112233445566778899aabb",
                         "--event-log", "none", "--tcti", cfg["tcti"].get<std::string>(),
                         "--retries", "0", "--out", h.skrd.file("k.bin")},
                        "", {{"SKR_AGENT_CONFIG", ""}}, 60);
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("untrusted_tcti") != std::string::npos);
    CHECK(!std::filesystem::exists(h.skrd.file("k.bin")));
  }
  CHECK(!h.Pwned());
  CHECK(h.Releases() == 0);
}

TEST_CASE("Clevis skr pin: a header naming /etc/shadow as the event log is refused",
          "[integration][clevis][hostile]") {
  SKR_REQUIRE_CLEVIS();
  Hostile h;
  Json cfg = h.Config();
  cfg["event_log"] = "/etc/shadow";
  cfg["tcti"] = "device:/dev/tpmrm0";
  SECTION("by the pin") {
    auto r = h.Decrypt(cfg);
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("'event_log'") != std::string::npos);
    CHECK(!h.AgentRan());
  }
  SECTION("by skr-agent") {
    auto r = RunCommand({skr::test::BinaryDir() + "/client/skr-agent", "fetch", "--url",
                         h.skrd.url(),
                         "--cacert", h.skrd.file("tls/ca.crt"), "--tenant", "acme", "--key",
                         "root-disk", "--evidence", "tpm", "--ak-id", "ak_00112233445566778899aabb",
                         "--event-log", "/etc/shadow", "--retries", "0", "--out",
                         h.skrd.file("k.bin")},
                        "", {{"SKR_AGENT_CONFIG", ""}}, 60);
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("untrusted_event_log") != std::string::npos);
  }
  CHECK(h.Releases() == 0);
}

TEST_CASE("Clevis skr pin: shell metacharacters in any header field are refused before skr-agent "
          "runs",
          "[integration][clevis][hostile]") {
  SKR_REQUIRE_CLEVIS();
  Hostile h;
  const std::string m = h.marker;
  const std::vector<std::string> payloads = {"$(touch " + m + ")", "`touch " + m + "`",
                                             ";touch " + m,         "|touch " + m,
                                             "\ntouch " + m,        "&&touch " + m};
  // Each field with a value that is valid before the payload is appended.
  const std::vector<std::pair<std::string, std::string>> fields = {
      {"servers", h.skrd.url()},
      {"cacert", h.skrd.file("tls/ca.crt")},
      {"tenant", "acme"},
      {"key", "root-disk"},
      {"evidence", "tpm"},
      {"ak_id", "ak_00112233445566778899aabb"},
      {"tcti", "device:/dev/tpmrm0"},
      {"ak_type", "ecc"},
      {"pcrs", "sha256:0-7"},
      {"event_log", "none"},
      {"sample_key", h.skrd.file("dev/sample-attester.key")},
      {"sample_claims", h.skrd.file("claims.json")},
      {"pin_sha256", std::string(43, 'A') + "="},
      {"version", "1"},
      {"deadline", "60"}};
  for (const auto& [field, valid] : fields) {
    for (const auto& payload : payloads) {
      Json cfg = h.Config();
      const std::string value = valid + payload;
      if (field == "servers" || field == "pin_sha256") {
        cfg[field] = Json::array({value});
      } else {
        cfg[field] = value;
      }
      auto r = h.Decrypt(cfg);
      INFO(field << " = " << value << "\n" << r.err);
      CHECK(r.exit_code == 2);
      CHECK(r.err.find("'" + field + "'") != std::string::npos);
      CHECK(!h.AgentRan());
      CHECK(!h.Pwned());
    }
  }
  CHECK(h.Releases() == 0);
}

TEST_CASE("Clevis skr pin: with a local agent.toml, the header's servers, CA and pins must be the "
          "local ones",
          "[integration][clevis][hostile]") {
  SKR_REQUIRE_CLEVIS();
  Hostile h;
  // The attacker's server and CA: a second dev PKI, a port nothing listens on.
  const std::string pki = skr::test::SourceDir() + "/scripts/dev-pki";
  REQUIRE(RunCommand({pki, h.skrd.file("evil")}).exit_code == 0);
  const std::string pin = std::string(43, 'B') + "=";
  skr::test::WriteFile(h.skrd.file("agent.toml"),
                       "servers = [\"" + h.skrd.url() + "\"]\ncacert = \"" +
                           h.skrd.file("tls/ca.crt") + "\"\npin_sha256 = [\"" + pin + "\"]\n",
                       0644);
  h.env["SKR_AGENT_CONFIG"] = h.skrd.file("agent.toml");
  Json cfg = h.Config();
  std::string reason;
  SECTION("a server that is not in the local list") {
    cfg["servers"] = {"https://127.0.0.1:1", h.skrd.url()};
    reason = "untrusted_url";
  }
  SECTION("another CA") {
    cfg["cacert"] = h.skrd.file("evil/tls/ca.crt");
    reason = "untrusted_cacert";
  }
  SECTION("another SPKI pin") {
    cfg["pin_sha256"] = {std::string(43, 'C') + "="};
    reason = "untrusted_pin";
  }
  SECTION("another tenant than the local file names") {
    skr::test::WriteFile(h.skrd.file("agent.toml"),
                         "servers = [\"" + h.skrd.url() + "\"]\ntenant = \"other\"\n", 0644);
    reason = "untrusted_tenant";
  }
  SECTION("sample evidence with a key file the local file does not name") {
    cfg["evidence"] = "sample";
    cfg["sample_key"] = h.skrd.file("dev/sample-attester.key");
    reason = "untrusted_sample_key";
  }
  auto r = h.Decrypt(cfg);
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(reason) != std::string::npos);
  CHECK(h.Releases() == 0);
}

TEST_CASE("Clevis skr pin: sample evidence from a header needs a local agent.toml",
          "[integration][clevis][hostile]") {
  SKR_REQUIRE_CLEVIS();
  Hostile h;
  Json cfg = h.Config();
  cfg["evidence"] = "sample";
  cfg["sample_key"] = h.skrd.file("dev/sample-attester.key");
  // Claims the attacker wants sent: any JSON file the agent can read.
  cfg["sample_claims"] = h.skrd.file("skrd.toml");
  auto r = h.Decrypt(cfg);
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("agent.toml") != std::string::npos);
  CHECK(!h.AgentRan());
  CHECK(h.Releases() == 0);
}

TEST_CASE("Clevis skr pin: bind refuses a config with a cmd: TCTI, a foreign event log or "
          "metacharacters",
          "[integration][clevis][hostile]") {
  SKR_REQUIRE_CLEVIS();
  Hostile h;
  skr::test::WriteFile(h.skrd.file("skrctl-invoked"), "", 0600);
  std::filesystem::remove(h.skrd.file("skrctl-invoked"));
  skr::test::WriteFile(h.skrd.file("skrctl-wrapper"),
                       "#!/bin/sh\n: > '" + h.skrd.file("skrctl-invoked") + "'\nexec '" +
                           skr::test::BinaryDir() + "/client/skrctl' \"$@\"\n",
                       0755);
  h.env["SKRCTL"] = h.skrd.file("skrctl-wrapper");
  h.env["SKR_TOKEN"] = "unused";
  Json cfg = h.Config();
  cfg["policy"] = "disk";
  std::string field;
  SECTION("cmd: TCTI") {
    cfg["tcti"] = "cmd:touch " + h.marker;
    field = "tcti";
  }
  SECTION("event log outside securityfs") {
    cfg["event_log"] = "/etc/shadow";
    field = "event_log";
  }
  SECTION("command substitution in the tenant") {
    cfg["tenant"] = "acme$(touch " + h.marker + ")";
    field = "tenant";
  }
  SECTION("newline in a server URL") {
    cfg["servers"] = {h.skrd.url() + "\nhttps://evil.example"};
    field = "servers";
  }
  SECTION("retries out of range") {
    cfg["retries"] = 5000;
    field = "retries";
  }
  SECTION("timeout as a string") {
    cfg["timeout"] = "10; touch " + h.marker;
    field = "timeout";
  }
  auto r = RunCommand({"clevis", "encrypt", "skr", skr::DumpJson(cfg)}, "data", h.env, 60);
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("'" + field + "'") != std::string::npos);
  CHECK(r.out.empty());
  CHECK(!std::filesystem::exists(h.skrd.file("skrctl-invoked")));
  CHECK(!h.Pwned());
}
