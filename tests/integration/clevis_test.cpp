// SPDX-License-Identifier: Apache-2.0
// Boot-time disk unlock with real cryptsetup, real clevis and a real skrd (issue 5): a LUKS2
// image file (fast PBKDF) bound with the `skr` Clevis pin; unlock through an attested release.
// No device-mapper is needed: only LUKS header operations and --test-passphrase.
#include <catch2/catch.hpp>
#include <algorithm>
#include <chrono>
#include <filesystem>

#include "common/encoding.h"
#include "tests/integration/skrd_fixture.h"

using skr::Json;
using skr::test::RunCommand;
using skr::test::Skrd;

namespace {

bool HaveTools() {
  for (const char* tool : {"/usr/bin/clevis", "/usr/bin/jose", "/usr/sbin/cryptsetup"}) {
    if (!std::filesystem::exists(tool)) return false;
  }
  return true;
}

#define SKR_REQUIRE_CLEVIS()                                                             \
  if (!HaveTools()) {                                                                    \
    const char* ci_ = std::getenv("CI");                                                 \
    if (ci_ != nullptr && std::string(ci_) == "true") FAIL("clevis/jose/cryptsetup missing"); \
    WARN("SKIPPED: clevis, jose or cryptsetup not installed (scripts/setup-deps)");     \
    return;                                                                              \
  }

struct Disk {
  Skrd& skrd;
  std::string image;
  std::map<std::string, std::string> env;

  explicit Disk(Skrd& s) : skrd(s), image(s.file("disk.img")) {
    // The pins and the clients are found on PATH, as clevis finds its pins.
    const std::string path = skr::test::SourceDir() + "/scripts/clevis:" +
                             skr::test::BinaryDir() + "/client:" + std::getenv("PATH");
    env = {{"PATH", path}};
    auto r = Sh("truncate -s 16M '" + image + "' && printf 'initial-pass' | cryptsetup luksFormat "
                "--type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --batch-mode '" +
                image + "' -");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  skr::test::CommandResult Sh(const std::string& script, const std::string& input = "") {
    return RunCommand({"/bin/bash", "-c", script}, input, env, 120);
  }
  bool Accepts(const std::string& pass) {
    return Sh("cryptsetup open --test-passphrase --key-file - '" + image + "'", pass).exit_code == 0;
  }
};

Json Policy(bool allow) {
  return {{"anyOf",
           {{{"authority", "skr:local"},
             {"allOf",
              {{{"claim", "tee"}, {"equals", "sample"}},
               {{"claim", "debug"}, {"equals", allow ? Json(false) : Json("never")}}}}}}}};
}

// The pin configuration both binding tests use (written to pin.json; admin token in a 0600 file).
void WritePinConfig(Skrd& skrd, const std::string& admin_token) {
  skr::test::WriteFile(skrd.file("admin.token"), admin_token, 0600);
  const Json cfg = {{"servers", {skrd.url()}},
                    {"cacert", skrd.file("tls/ca.crt")},
                    {"tenant", "acme"},
                    {"policy", "disk"},
                    {"key", "root-disk"},
                    {"token_file", skrd.file("admin.token")},
                    {"evidence", "sample"},
                    {"sample_key", skrd.file("dev/sample-attester.key")}};
  skr::test::WriteFile(skrd.file("pin.json"), skr::DumpJson(cfg), 0600);
}

}  // namespace

TEST_CASE("Clevis skr pin: bind a LUKS2 image, unlock through an attested release",
          "[integration][clevis]") {
  SKR_REQUIRE_CLEVIS();
  Skrd skrd;
  REQUIRE(skrd.Start());
  auto acme = skrd.SetUpTenant("acme", "disk", Policy(true), "unused",
                               skr::Base64Encode(skr::RandomBytes(32)));
  WritePinConfig(skrd, acme.admin_token);
  Disk disk(skrd);

  // The pin on its own: plaintext in, compact JWE out, and back through an attested release.
  auto enc = disk.Sh("clevis encrypt skr \"$(cat '" + skrd.file("pin.json") + "')\"", "secret data");
  INFO(enc.err);
  REQUIRE(enc.exit_code == 0);
  CHECK(std::count(enc.out.begin(), enc.out.end(), '.') == 4);
  auto round = disk.Sh("clevis decrypt", enc.out);
  INFO(round.err);
  CHECK(round.exit_code == 0);
  CHECK(round.out == "secret data");

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
    CHECK(audit.json["entries"].size() == 2);  // the pin round trip above, then this unlock
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
  SECTION("wrong CA: refused, exit code 4, disk stays locked") {
    REQUIRE(RunCommand({skr::test::SourceDir() + "/scripts/dev-pki", skrd.file("other")}).exit_code == 0);
    auto open = disk.Sh(agent + "--retries 0 --url " + skrd.url() + " --cacert '" +
                        skrd.file("other/tls/ca.crt") + "'; echo rc=$?");
    CHECK(open.out.find("rc=4") != std::string::npos);
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
  Disk disk(skrd);
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
  const std::string path = skr::test::SourceDir() + "/scripts/clevis:" + skr::test::BinaryDir() +
                           "/client:" + std::getenv("PATH");
  const std::string src = skr::test::SourceDir() + "/scripts/initramfs";

  SECTION("initramfs-tools hook") {
    // hook-functions stand-in that records what the hook copies.
    skr::test::WriteFile(tmp.file("hook-functions"),
                         "copy_exec() { echo \"exec $1\" >> \"$LIST\"; }\n"
                         "copy_file() { echo \"file $2\" >> \"$LIST\"; }\n"
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
        "inst_simple() { echo \"file $1\"; }\n"
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
    for (const char* want : {"bin skr-agent", "bin clevis-decrypt-skr", "bin jose", "clevis network",
                             "etc-skr/ca.crt", "libdir libtss2-tcti-device.so*", "modules -o tpm_crb tpm_tis"}) {
      INFO(want);
      CHECK(r.out.find(want) != std::string::npos);
    }
    CHECK(skr::test::ReadFileOrFail(tmp.file("dr/etc/cmdline.d/99clevis-pin-skr.conf")) ==
          "rd.neednet=1\n");
  }
}
