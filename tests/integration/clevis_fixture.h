// SPDX-License-Identifier: Apache-2.0
// What the Clevis pin tests share: a LUKS2 image file (fast PBKDF) with the pins and clients on
// PATH, the allowing / denying test policy, and the pin configuration the binding tests use.
#pragma once

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include "common/encoding.h"
#include "tests/integration/skrd_fixture.h"

namespace skr::test::clevis {

inline bool HaveTools() {
  for (const char* tool : {"/usr/bin/clevis", "/usr/bin/jose", "/usr/sbin/cryptsetup"}) {
    if (!std::filesystem::exists(tool)) return false;
  }
  return true;
}

#define SKR_REQUIRE_CLEVIS()                                                             \
  if (!skr::test::clevis::HaveTools()) {                                                 \
    const char* ci_ = std::getenv("CI");                                                 \
    if (ci_ != nullptr && std::string(ci_) == "true") FAIL("clevis/jose/cryptsetup missing"); \
    WARN("SKIPPED: clevis, jose or cryptsetup not installed (scripts/setup-deps)");     \
    return;                                                                              \
  }

struct Disk {
  Skrd& skrd;
  std::string image;
  std::map<std::string, std::string> env;

  // `agent_config`: the local /etc/skr/agent.toml stand-in (SKR_AGENT_CONFIG), or none. The
  // skrd fixture's CA folder stands in for /etc/skr (SKR_CA_DIR): the pin binds only a CA the
  // initramfs hooks copy.
  explicit Disk(Skrd& s, const std::string& agent_config = "")
      : skrd(s), image(s.file("disk.img")) {
    // The pins and the clients are found on PATH, as clevis finds its pins.
    const std::string path = SourceDir() + "/scripts/clevis:" + BinaryDir() + "/client:" +
                             std::getenv("PATH");
    env = {{"PATH", path}, {"SKR_AGENT_CONFIG", agent_config}, {"SKR_CA_DIR", s.file("tls")}};
    auto r = Sh("truncate -s 16M '" + image + "' && printf 'initial-pass' | cryptsetup luksFormat "
                "--type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --batch-mode '" +
                image + "' -");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  CommandResult Sh(const std::string& script, const std::string& input = "") {
    return RunCommand({"/bin/bash", "-c", script}, input, env, 120);
  }
  bool Accepts(const std::string& pass) {
    return Sh("cryptsetup open --test-passphrase --key-file - '" + image + "'", pass).exit_code == 0;
  }
};

inline Json Policy(bool allow) {
  return {{"anyOf",
           {{{"authority", "skr:local"},
             {"allOf",
              {{{"claim", "tee"}, {"equals", "sample"}},
               // The denying version asks for a claim the attester never sends.
               allow ? Json{{"claim", "debug"}, {"equals", false}}
                     : Json{{"claim", "sample.never_sent"}, {"exists", true}}}}}}}};
}

// The pin configuration the binding tests use (admin token in a 0600 file), and this machine's
// own agent.toml (what it trusts: the header may only repeat it).
inline Json PinConfig(Skrd& skrd, const std::string& admin_token) {
  WriteFile(skrd.file("admin.token"), admin_token, 0600);
  WriteFile(skrd.file("agent.toml"),
            "servers = [\"" + skrd.url() + "\"]\n"
            "cacert = \"" + skrd.file("tls/ca.crt") + "\"\n"
            "sample_key = \"" + skrd.file("dev/sample-attester.key") + "\"\n",
            0644);
  return {{"servers", {skrd.url()}},
          {"cacert", skrd.file("tls/ca.crt")},
          {"tenant", "acme"},
          {"policy", "disk"},
          {"key", "root-disk"},
          {"token_file", skrd.file("admin.token")},
          {"evidence", "sample"},
          {"sample_key", skrd.file("dev/sample-attester.key")},
          {"retries", 2},
          {"timeout", 7}};
}

// PinConfig written to pin.json.
inline void WritePinConfig(Skrd& skrd, const std::string& admin_token) {
  WriteFile(skrd.file("pin.json"), DumpJson(PinConfig(skrd, admin_token)), 0600);
}

}  // namespace skr::test::clevis
