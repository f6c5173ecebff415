// SPDX-License-Identifier: Apache-2.0
// skr-agent's checks of the options the Clevis pin fills from a LUKS header the host can write
// (issue 9 item 6): only the device TCTI, only the securityfs event log, names and ids of a fixed
// shape, and servers / CA / pins / tenant / key / evidence / sample files equal to the local
// /etc/skr/agent.toml when it exists.
#include "client/agent_inputs.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "client/agent.h"
#include "client/local_config.h"
#include "client/tpm_attester.h"
#include "tests/support/process.h"
#include "tests/support/test_support.h"

namespace skr::client {
namespace {

constexpr const char* kSecurityfsLog = "/sys/kernel/security/tpm0/binary_bios_measurements";

AgentInputs Valid() {
  AgentInputs in;
  in.urls = {"https://kbs1.example:8443"};
  in.cacert = "/etc/skr/ca.crt";
  in.tenant = "acme";
  in.key = "root-disk";
  in.evidence = "tpm";
  in.ak_id = "ak_00112233445566778899aabb";
  return in;
}

LocalAgentConfig Local() {
  LocalAgentConfig l;
  l.path = "/etc/skr/agent.toml";
  l.servers = {"https://kbs1.example:8443", "https://kbs2.example:8443"};
  l.cacert = "/etc/skr/ca.crt";
  l.pin_sha256 = {std::string(43, 'A') + "=", std::string(43, 'B') + "="};
  return l;
}

}  // namespace

TEST_CASE("ValidateDeviceTcti: a cmd: TCTI from the header is refused", "[client][unit][hostile]") {
  const std::string tcti = GENERATE(
      as<std::string>{}, "cmd:touch /tmp/pwned", "cmd:tpm2_send --tcti=device",
      "swtpm:host=10.0.0.1,port=2321", "mssim:host=evil.example", "libtss2-tcti-cmd.so.0:sh",
      "/tmp/evil.so:x", "device:/tmp/sock", "device:/dev/", "device:/dev/../tmp/x",
      "device:/dev/./tpm0", "device:/dev//tpm0", "device:/dev/tpm0;touch /tmp/x",
      "device:/dev/tpm0\ncmd:x", "device:/dev/tpm$(id)", "device", "", " device:/dev/tpm0");
  CAPTURE(tcti);
  auto r = ValidateDeviceTcti(tcti);
  CHECK(test::CodeOf(r) == ErrorCode::kPermissionDenied);
  CHECK(test::ReasonOf(r) == "untrusted_tcti");
}

TEST_CASE("ValidateDeviceTcti: the kernel device TCTI is accepted", "[client][unit]") {
  for (const char* tcti : {"device:/dev/tpmrm0", "device:/dev/tpm0", "device:/dev/tpmrm1",
                           "device:/dev/tpm/vtpm-0_a"}) {
    CAPTURE(tcti);
    CHECK(ValidateDeviceTcti(tcti).has_value());
  }
  CHECK(!ValidateDeviceTcti("device:/dev/" + std::string(200, 'a')).has_value());
}

TEST_CASE("ValidateEventLogOption: only none or the securityfs log", "[client][unit][hostile]") {
  CHECK(ValidateEventLogOption("none").has_value());
  CHECK(ValidateEventLogOption(kSecurityfsLog).has_value());
  CHECK(std::string(TpmAttesterOptions::kDefaultEventLog) == kSecurityfsLog);
  for (const char* path :
       {"/etc/shadow", "/root/.ssh/id_ed25519", "/sys/kernel/security/../../etc/shadow",
        "/sys/kernel/security/tpm0/binary_bios_measurements/../x", "None", ""}) {
    CAPTURE(path);
    auto r = ValidateEventLogOption(path);
    CHECK(test::CodeOf(r) == ErrorCode::kPermissionDenied);
    CHECK(test::ReasonOf(r) == "untrusted_event_log");
  }
}

TEST_CASE("ValidateAgentInputs: a header's TCTI and event log, without a local config",
          "[client][unit][hostile]") {
  AgentInputs in = Valid();
  SECTION("cmd: TCTI") {
    in.tcti = "cmd:touch /tmp/pwned";
    CHECK(test::ReasonOf(ValidateAgentInputs(in, nullptr)) == "untrusted_tcti");
  }
  SECTION("event log /etc/shadow") {
    in.event_log = "/etc/shadow";
    CHECK(test::ReasonOf(ValidateAgentInputs(in, nullptr)) == "untrusted_event_log");
  }
  SECTION("device TCTI, securityfs log, no TCTI: used as given") {
    in.tcti = "device:/dev/tpmrm0";
    in.event_log = kSecurityfsLog;
    auto r = ValidateAgentInputs(in, nullptr);
    REQUIRE(r.has_value());
    CHECK(r->tcti == "device:/dev/tpmrm0");
    CHECK(r->event_log == kSecurityfsLog);
    AgentInputs none = Valid();
    auto d = ValidateAgentInputs(none, nullptr);
    REQUIRE(d.has_value());
    CHECK(d->tcti.empty());  // ResolveTcti: $TPM2TOOLS_TCTI, else device:/dev/tpmrm0
    CHECK(d->event_log.empty());
  }
  SECTION("servers, CA and pins are used as bound") {
    in.urls = {"https://anywhere.example"};
    in.cacert = "/some/ca.pem";
    in.pins = {std::string(43, 'Z') + "="};
    auto r = ValidateAgentInputs(in, nullptr);
    REQUIRE(r.has_value());
    CHECK(r->urls == in.urls);
    CHECK(r->cacert == in.cacert);
    CHECK(r->pins == in.pins);
  }
}

TEST_CASE("ValidateAgentInputs: shell metacharacters in names and ids are refused",
          "[client][unit][hostile]") {
  const std::string payload = GENERATE(as<std::string>{}, "$(touch /tmp/p)", "`id`", ";id", "|id",
                                       "\nid", "&&id", " ", "A");
  CAPTURE(payload);
  AgentInputs in = Valid();
  SECTION("tenant") {
    in.tenant += payload;
    CHECK(test::ReasonOf(ValidateAgentInputs(in, nullptr)) == "bad_name");
  }
  SECTION("key") {
    in.key = payload + in.key;
    CHECK(test::ReasonOf(ValidateAgentInputs(in, nullptr)) == "bad_name");
  }
  SECTION("ak_id") {
    if (payload == "A") return;  // upper case is fine in an enrolment id
    in.ak_id += payload;
    CHECK(test::ReasonOf(ValidateAgentInputs(in, nullptr)) == "bad_ak_id");
  }
}

TEST_CASE("IsValidResourceName: the names skrd accepts", "[client][unit]") {
  CHECK(IsValidResourceName("a"));
  CHECK(IsValidResourceName("root-disk.v2_x"));
  CHECK(IsValidResourceName(std::string(63, 'a')));
  CHECK(!IsValidResourceName(std::string(64, 'a')));
  CHECK(!IsValidResourceName(""));
  CHECK(!IsValidResourceName("-a"));
  CHECK(!IsValidResourceName("Acme"));
  CHECK(!IsValidResourceName("a/b"));
}

TEST_CASE("ValidateAgentInputs: with a local config, the header may only repeat it",
          "[client][unit][hostile]") {
  const LocalAgentConfig local = Local();
  AgentInputs in = Valid();
  SECTION("matching values pass; CA and pins default to the local ones") {
    in.urls = {"https://kbs2.example:8443", "https://kbs1.example:8443"};
    in.cacert.clear();
    auto r = ValidateAgentInputs(in, &local);
    REQUIRE(r.has_value());
    CHECK(r->cacert == "/etc/skr/ca.crt");
    CHECK(r->pins == local.pin_sha256);
  }
  SECTION("a header pin that is one of the local ones narrows the set") {
    in.pins = {local.pin_sha256[1]};
    auto r = ValidateAgentInputs(in, &local);
    REQUIRE(r.has_value());
    CHECK(r->pins == in.pins);
  }
  SECTION("a server not in the local list") {
    in.urls = {"https://kbs1.example:8443", "https://evil.example"};
    auto r = ValidateAgentInputs(in, &local);
    CHECK(test::CodeOf(r) == ErrorCode::kPermissionDenied);
    CHECK(test::ReasonOf(r) == "untrusted_url");
  }
  SECTION("a look-alike URL") {
    in.urls = {"https://kbs1.example:8443/"};
    CHECK(test::ReasonOf(ValidateAgentInputs(in, &local)) == "untrusted_url");
  }
  SECTION("another CA file") {
    in.cacert = "/etc/ssl/certs/ca-certificates.crt";
    CHECK(test::ReasonOf(ValidateAgentInputs(in, &local)) == "untrusted_cacert");
  }
  SECTION("another pin") {
    in.pins = {std::string(43, 'C') + "="};
    CHECK(test::ReasonOf(ValidateAgentInputs(in, &local)) == "untrusted_pin");
  }
  SECTION("tenant, key and evidence named locally") {
    LocalAgentConfig l = local;
    l.tenant = "acme";
    l.key = "root-disk";
    l.evidence = "tpm";
    CHECK(ValidateAgentInputs(in, &l).has_value());
    AgentInputs t = in;
    t.tenant = "other";
    CHECK(test::ReasonOf(ValidateAgentInputs(t, &l)) == "untrusted_tenant");
    AgentInputs k = in;
    k.key = "other";
    CHECK(test::ReasonOf(ValidateAgentInputs(k, &l)) == "untrusted_key");
    AgentInputs e = in;
    e.evidence = "sample";
    CHECK(test::ReasonOf(ValidateAgentInputs(e, &l)) == "untrusted_evidence");
  }
  SECTION("sample attester files must be named locally") {
    in.evidence = "sample";
    in.sample_claims = "/etc/skr/secret.json";
    CHECK(test::ReasonOf(ValidateAgentInputs(in, &local)) == "untrusted_sample_claims");
    AgentInputs k = in;
    k.sample_claims.clear();
    k.sample_key = "/etc/shadow";
    CHECK(test::ReasonOf(ValidateAgentInputs(k, &local)) == "untrusted_sample_key");
    LocalAgentConfig l = local;
    l.sample_key = "/etc/skr/sample.key";
    k.sample_key.clear();
    auto r = ValidateAgentInputs(k, &l);
    REQUIRE(r.has_value());
    CHECK(r->sample_key == "/etc/skr/sample.key");
  }
  SECTION("a local TCTI and event log are allowed besides the fixed ones and are the defaults") {
    LocalAgentConfig l = local;
    l.tcti = "swtpm:host=127.0.0.1,port=2321";
    l.event_log = "/var/lib/skr/measurements.bin";
    auto d = ValidateAgentInputs(in, &l);
    REQUIRE(d.has_value());
    CHECK(d->tcti == *l.tcti);
    CHECK(d->event_log == *l.event_log);
    AgentInputs same = in;
    same.tcti = *l.tcti;
    same.event_log = "none";
    CHECK(ValidateAgentInputs(same, &l).has_value());
    AgentInputs other = in;
    other.tcti = "swtpm:host=127.0.0.1,port=2322";
    CHECK(test::ReasonOf(ValidateAgentInputs(other, &l)) == "untrusted_tcti");
    AgentInputs log = in;
    log.event_log = "/etc/shadow";
    CHECK(test::ReasonOf(ValidateAgentInputs(log, &l)) == "untrusted_event_log");
  }
}

TEST_CASE("ParseLocalAgentConfig: reads the keys of /etc/skr/agent.toml", "[client][unit]") {
  auto c = ParseLocalAgentConfig(
      "servers = [\"https://a.example:8443\", \"https://b.example\"]\n"
      "cacert = \"/etc/skr/ca.crt\"\n"
      "pin_sha256 = [\"" +
          std::string(43, 'A') +
          "=\"]\n"
          "tenant = \"acme\"\nkey = \"root-disk\"\nevidence = \"tpm\"\n"
          "tcti = \"device:/dev/tpmrm0\"\nevent_log = \"none\"\n"
          "sample_key = \"/k\"\nsample_claims = \"/c\"\n",
      "agent.toml");
  REQUIRE(c.has_value());
  CHECK(c->servers == std::vector<std::string>{"https://a.example:8443", "https://b.example"});
  CHECK(c->cacert == "/etc/skr/ca.crt");
  CHECK(c->pin_sha256.size() == 1);
  CHECK(c->tenant == "acme");
  CHECK(c->key == "root-disk");
  CHECK(c->evidence == "tpm");
  CHECK(c->tcti == "device:/dev/tpmrm0");
  CHECK(c->event_log == "none");
  CHECK(c->sample_key == "/k");
  CHECK(c->sample_claims == "/c");
  auto empty = ParseLocalAgentConfig("", "agent.toml");
  REQUIRE(empty.has_value());
  CHECK(empty->servers.empty());
  CHECK(!empty->cacert);
}

TEST_CASE("ParseLocalAgentConfig: a typo or a wrong type fails closed", "[client][unit]") {
  const std::string text =
      GENERATE(as<std::string>{}, "server = [\"https://a\"]\n", "servers = \"https://a\"\n",
               "servers = []\n", "servers = [1]\n", "cacert = 3\n", "cacert = \"\"\n",
               "[servers]\nx = 1\n", "servers = [\"https://a\"\n");
  CAPTURE(text);
  auto c = ParseLocalAgentConfig(text, "agent.toml");
  CHECK(test::CodeOf(c) == ErrorCode::kInvalidArgument);
  CHECK(test::ReasonOf(c) == "bad_local_config");
}

TEST_CASE("LoadLocalAgentConfig: missing file, oversized file, directory", "[client][unit]") {
  test::TempDir dir;
  auto missing = LoadLocalAgentConfig(dir.file("agent.toml"), true);
  REQUIRE(missing.has_value());
  CHECK(!missing->has_value());
  CHECK(test::ReasonOf(LoadLocalAgentConfig(dir.file("agent.toml"), false)) == "bad_local_config");
  test::WriteFile(dir.file("big.toml"), "# " + std::string(70 * 1024, 'x') + "\n", 0644);
  CHECK(test::ReasonOf(LoadLocalAgentConfig(dir.file("big.toml"), true)) == "bad_local_config");
  CHECK(test::ReasonOf(LoadLocalAgentConfig(dir.path().string(), true)) == "bad_local_config");
  test::WriteFile(dir.file("ok.toml"), "tenant = \"acme\"\n", 0644);
  auto ok = LoadLocalAgentConfig(dir.file("ok.toml"), false);
  REQUIRE(ok.has_value());
  REQUIRE(ok->has_value());
  CHECK((*ok)->tenant == "acme");
  CHECK((*ok)->path == dir.file("ok.toml"));
}

// The binary: the checks run before anything else (no network: the URL is a closed port, so
// without them the agent would fail later with exit 4 instead).
TEST_CASE(
    "skr-agent: a hostile TCTI, event log or local-config mismatch exits 2 before any "
    "request",
    "[client][hostile]") {
  const std::string agent = test::BinaryDir() + "/client/skr-agent";
  if (!std::filesystem::exists(agent)) {
    WARN("SKIPPED: " + agent + " not built");
    return;
  }
  test::TempDir dir;
  const std::string marker = dir.file("pwned");
  std::vector<std::string> argv = {agent,        "fetch", "--url",   "https://127.0.0.1:1",
                                   "--tenant",   "acme",  "--key",   "disk",
                                   "--evidence", "tpm",   "--ak-id", "ak_0011",
                                   "--retries",  "0",     "--out",   dir.file("k.bin")};
  std::map<std::string, std::string> env = {{"SKR_AGENT_CONFIG", ""}, {"TPM2TOOLS_TCTI", ""}};
  std::string reason;
  SECTION("--tcti cmd:") {
    argv.insert(argv.end(), {"--tcti", "cmd:touch " + marker});
    reason = "untrusted_tcti";
  }
  SECTION("--event-log /etc/shadow") {
    argv.insert(argv.end(), {"--event-log", "/etc/shadow"});
    reason = "untrusted_event_log";
  }
  SECTION("a URL the local config does not list") {
    test::WriteFile(dir.file("agent.toml"), "servers = [\"https://kbs.example\"]\n", 0644);
    env["SKR_AGENT_CONFIG"] = dir.file("agent.toml");
    reason = "untrusted_url";
  }
  SECTION("$SKR_AGENT_CONFIG names a file that is missing: fail closed") {
    env["SKR_AGENT_CONFIG"] = dir.file("absent.toml");
    reason = "bad_local_config";
  }
  auto r = test::RunCommand(argv, "", env, 60);
  INFO(r.err);
  CHECK(r.exit_code == kExitUsage);
  CHECK(r.err.find("\"reason\":\"" + reason + "\"") != std::string::npos);
  CHECK(r.err.find("requesting key release") == std::string::npos);
  CHECK(!std::filesystem::exists(marker));
  CHECK(!std::filesystem::exists(dir.file("k.bin")));
}

}  // namespace skr::client
