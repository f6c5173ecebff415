// SPDX-License-Identifier: Apache-2.0
#include "config/config.h"

#include <stdlib.h>  // setenv/unsetenv (POSIX)

#include <catch2/catch.hpp>
#include <string>

#include "attestation/azure/azure_config.h"
#include "attestation/sample/sample_config.h"
#include "attestation/snp/snp_config.h"
#include "attestation/tdx/tdx_config.h"
#include "attestation/tpm/tpm_config.h"
#include "server/verifiers.h"
#include "tests/support/test_support.h"

namespace skr::config {
// ParseConfig / LoadConfig with the sections skrd parses (every TEE's, from the verifier table).
static Result<Config> Parse(std::string_view text, const std::string& dir,
                            const std::map<std::string, std::string>& env) {
  return ParseConfig(text, dir, env, server::ConfigSections());
}
[[maybe_unused]] static Result<Config> Load(const std::string& path) {
  return LoadConfig(path, server::ConfigSections());
}
namespace {

using Env = std::map<std::string, std::string>;

// DESIGN.md section 9, verbatim.
constexpr const char* kMinimal = R"([server]
listen = "127.0.0.1:8443"
tls_cert = "tls/server.crt"
tls_key = "tls/server.key"

[storage]
path = "data/skr.db"

[master_key]
provider = "file"
path = "data/master.key"

[attestation.sample]
enabled = true
public_key = "dev/sample-attester.pub.pem"

[release]
nonce_ttl_seconds = 120
)";

// kMinimal with the line starting with `prefix` replaced by `line` (removed when empty).
std::string WithLine(const std::string& prefix, const std::string& line) {
  std::string text = kMinimal;
  const auto pos = text.find("\n" + prefix);
  REQUIRE(pos != std::string::npos);
  const auto end = text.find('\n', pos + 1);
  text.replace(pos + 1, end - pos, line.empty() ? "" : line + "\n");
  return text;
}

std::string MessageOf(const Result<Config>& r) {
  REQUIRE_FALSE(r.has_value());
  return r.error().message();
}

TEST_CASE("ParseConfig: the minimal config of DESIGN.md parses with resolved paths",
          "[config][unit]") {
  auto cfg = skr::config::Parse(kMinimal, "/etc/skr", {});
  REQUIRE(cfg.has_value());
  CHECK(cfg->config_dir == "/etc/skr");
  CHECK(cfg->server.listen == "127.0.0.1:8443");
  CHECK(cfg->server.host == "127.0.0.1");
  CHECK(cfg->server.port == 8443);
  CHECK(cfg->server.tls_cert == "/etc/skr/tls/server.crt");
  CHECK(cfg->server.tls_key == "/etc/skr/tls/server.key");
  CHECK(cfg->storage.path == "/etc/skr/data/skr.db");
  CHECK(cfg->storage.audit_path == "/etc/skr/data/audit.db");
  CHECK(cfg->master_key.provider == "file");
  CHECK(cfg->master_key.path == "/etc/skr/data/master.key");
  CHECK(cfg->Get<skr::attestation::sample::SampleConfig>().enabled);
  CHECK(cfg->Get<skr::attestation::sample::SampleConfig>().public_key == "/etc/skr/dev/sample-attester.pub.pem");
  CHECK(cfg->release.nonce_ttl_seconds == 120);
  // Defaults for everything the file leaves out.
  CHECK(cfg->server.body_limit_bytes == 256 * 1024);
  CHECK(cfg->server.header_limit_bytes == 8 * 1024);
  CHECK(cfg->server.read_timeout_seconds == 10);
  CHECK(cfg->server.write_timeout_seconds == 10);
  CHECK(cfg->server.threads == 0);
  CHECK(cfg->server.max_connections == 1024);
  CHECK(cfg->server.handshake_timeout_seconds == 5);
  CHECK(cfg->server.max_connections_per_address == 64);
  CHECK(cfg->server.challenge_rate_per_second == 20);
  CHECK(cfg->server.queue_limit == 512);
  CHECK(cfg->audit.unknown_release_interval_seconds == 60);
  CHECK(cfg->audit.busy_timeout_ms == 5000);
  // The audit signing key sits beside the master key unless configured (issue 11).
  CHECK(cfg->audit.signing_key == "/etc/skr/data/audit-signing.key");
  CHECK(cfg->audit.checkpoint_interval_seconds == 60);
  CHECK(cfg->audit.max_batch == 512);
  CHECK(cfg->audit.replay_retention_days == 90);
}

TEST_CASE("ParseConfig: audit signing key and checkpoint interval", "[config][unit]") {
  auto cfg = skr::config::Parse(std::string(kMinimal) +
                             "[audit]\nsigning_key = \"keys/audit.key\"\n"
                             "checkpoint_interval_seconds = 5\nmax_batch = 1\n",
                         "/etc/skr", {});
  REQUIRE(cfg.has_value());
  CHECK(cfg->audit.signing_key == "/etc/skr/keys/audit.key");
  CHECK(cfg->audit.checkpoint_interval_seconds == 5);
  CHECK(cfg->audit.max_batch == 1);
  for (const char* bad : {"0", "86401", "-1"}) {
    auto c = skr::config::Parse(std::string(kMinimal) + "[audit]\ncheckpoint_interval_seconds = " + bad + "\n",
                         "/etc/skr", {});
    CHECK(test::CodeOf(c) == ErrorCode::kInvalidArgument);
  }
  for (const char* bad : {"0", "513"}) {
    auto c = skr::config::Parse(std::string(kMinimal) + "[audit]\nmax_batch = " + bad + "\n", "/etc/skr", {});
    CHECK(test::CodeOf(c) == ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("ParseConfig: every key is read from the file", "[config][unit]") {
  const std::string text = R"(
[server]
listen = "[::1]:9443"
tls_cert = "/abs/cert.pem"
tls_key = "../k/key.pem"
body_limit_bytes = 1000
header_limit_bytes = 2000
read_timeout_seconds = 3
write_timeout_seconds = 4
threads = 6
max_connections = 50
[storage]
path = "/var/lib/skr/skr.db"
audit_path = "logs/audit.sqlite"
[master_key]
provider = "file"
path = "mk"
[attestation]
sample = { enabled = false }
[release]
nonce_ttl_seconds = 86400
[audit]
busy_timeout_ms = 250
)";
  auto cfg = skr::config::Parse(text, "/etc/skr/", {});
  REQUIRE(cfg.has_value());
  CHECK(cfg->config_dir == "/etc/skr");
  CHECK(cfg->server.host == "::1");
  CHECK(cfg->server.port == 9443);
  CHECK(cfg->server.tls_cert == "/abs/cert.pem");
  CHECK(cfg->server.tls_key == "/etc/k/key.pem");
  CHECK(cfg->server.body_limit_bytes == 1000);
  CHECK(cfg->server.header_limit_bytes == 2000);
  CHECK(cfg->server.read_timeout_seconds == 3);
  CHECK(cfg->server.write_timeout_seconds == 4);
  CHECK(cfg->server.threads == 6);
  CHECK(cfg->server.max_connections == 50);
  CHECK(cfg->storage.path == "/var/lib/skr/skr.db");
  CHECK(cfg->storage.audit_path == "/etc/skr/logs/audit.sqlite");
  CHECK(cfg->master_key.path == "/etc/skr/mk");
  CHECK_FALSE(cfg->Get<skr::attestation::sample::SampleConfig>().enabled);
  CHECK(cfg->Get<skr::attestation::sample::SampleConfig>().public_key.empty());  // not required when disabled
  CHECK(cfg->release.nonce_ttl_seconds == 86400);
  CHECK(cfg->audit.busy_timeout_ms == 250);
}

TEST_CASE("ParseConfig: accepted listen forms", "[config][unit]") {
  struct Case {
    const char* listen;
    const char* host;
    std::uint16_t port;
  };
  const Case c =
      GENERATE(Case{"0.0.0.0:1", "0.0.0.0", 1}, Case{"localhost:65535", "localhost", 65535},
               Case{"[::]:443", "::", 443}, Case{"[fe80::1]:8443", "fe80::1", 8443},
               Case{"skr.example.com:8443", "skr.example.com", 8443});
  auto cfg =
      skr::config::Parse(WithLine("listen", std::string("listen = \"") + c.listen + "\""), "/d", {});
  REQUIRE(cfg.has_value());
  CHECK(cfg->server.host == c.host);
  CHECK(cfg->server.port == c.port);
}

TEST_CASE("ParseConfig: SKR_* environment overrides win over the file", "[config][unit]") {
  const Env env = {{"SKR_SERVER_LISTEN", "[::1]:10443"},
                   {"SKR_SERVER_THREADS", "8"},
                   {"SKR_SERVER_BODY_LIMIT_BYTES", "4096"},
                   {"SKR_STORAGE_PATH", "/var/lib/skr/skr.db"},
                   {"SKR_ATTESTATION_SAMPLE_ENABLED", "0"},
                   {"SKR_ATTESTATION_SAMPLE_PUBLIC_KEY", "other.pem"},
                   {"SKR_RELEASE_NONCE_TTL_SECONDS", "300"},
                   {"SKR_AUDIT_BUSY_TIMEOUT_MS", "100"},
                   // Client variables and unrelated SKR_ names are not config keys: ignored.
                   {"SKR_ADDR", "https://x"},
                   {"SKR_TOKEN", "secret"},
                   {"SKR_CACERT", "/ca.pem"},
                   {"SKR_SERVER_LISEN", "ignored"}};
  auto cfg = skr::config::Parse(kMinimal, "/etc/skr", env);
  REQUIRE(cfg.has_value());
  CHECK(cfg->server.host == "::1");
  CHECK(cfg->server.port == 10443);
  CHECK(cfg->server.threads == 8);
  CHECK(cfg->server.body_limit_bytes == 4096);
  CHECK(cfg->storage.path == "/var/lib/skr/skr.db");
  CHECK(cfg->storage.audit_path == "/var/lib/skr/audit.db");
  CHECK_FALSE(cfg->Get<skr::attestation::sample::SampleConfig>().enabled);
  CHECK(cfg->Get<skr::attestation::sample::SampleConfig>().public_key == "/etc/skr/other.pem");
  CHECK(cfg->release.nonce_ttl_seconds == 300);
  CHECK(cfg->audit.busy_timeout_ms == 100);

  SECTION("boolean spellings") {
    const auto [text, expected] =
        GENERATE(std::make_pair("true", true), std::make_pair("1", true),
                 std::make_pair("FALSE", false), std::make_pair("0", false));
    auto c = skr::config::Parse(kMinimal, "/d", {{"SKR_ATTESTATION_SAMPLE_ENABLED", text}});
    REQUIRE(c.has_value());
    CHECK(c->Get<skr::attestation::sample::SampleConfig>().enabled == expected);
  }
  SECTION("an override can supply a key the file lacks") {
    auto c = skr::config::Parse(WithLine("tls_key", ""), "/d", {{"SKR_SERVER_TLS_KEY", "/k.pem"}});
    REQUIRE(c.has_value());
    CHECK(c->server.tls_key == "/k.pem");
  }
}

TEST_CASE("ParseConfig: bad environment values name the key and the variable", "[config][unit]") {
  const auto [var, value, key] = GENERATE(
      std::make_tuple("SKR_SERVER_THREADS", "abc", "server.threads"),
      std::make_tuple("SKR_SERVER_THREADS", "4x", "server.threads"),
      std::make_tuple("SKR_SERVER_THREADS", "", "server.threads"),
      std::make_tuple("SKR_SERVER_THREADS", "99999999999", "server.threads"),
      std::make_tuple("SKR_SERVER_BODY_LIMIT_BYTES", "-1", "server.body_limit_bytes"),
      std::make_tuple("SKR_ATTESTATION_SAMPLE_ENABLED", "yes", "attestation.sample.enabled"),
      std::make_tuple("SKR_RELEASE_NONCE_TTL_SECONDS", "0", "release.nonce_ttl_seconds"),
      std::make_tuple("SKR_SERVER_LISTEN", "nope", "server.listen"));
  auto cfg = skr::config::Parse(kMinimal, "/d", {{var, value}});
  CHECK(test::CodeOf(cfg) == ErrorCode::kInvalidArgument);
  const std::string msg = MessageOf(cfg);
  CHECK_THAT(msg, Catch::StartsWith(std::string(key) + ":"));
}

TEST_CASE("ParseConfig: invalid values are rejected naming the key", "[config][unit]") {
  const auto [prefix, line, key] = GENERATE(
      std::make_tuple("listen", "listen = \"localhost\"", "server.listen"),
      std::make_tuple("listen", "listen = \"127.0.0.1:-1\"", "server.listen"),
      std::make_tuple("listen", "listen = \"127.0.0.1:65536\"", "server.listen"),
      std::make_tuple("listen", "listen = \"127.0.0.1:http\"", "server.listen"),
      std::make_tuple("listen", "listen = \"127.0.0.1:\"", "server.listen"),
      std::make_tuple("listen", "listen = \":8443\"", "server.listen"),
      std::make_tuple("listen", "listen = \"::1:8443\"", "server.listen"),
      std::make_tuple("listen", "listen = \"[::1]8443\"", "server.listen"),
      std::make_tuple("listen", "listen = \"[::1:8443\"", "server.listen"),
      std::make_tuple("listen", "listen = \"[127.0.0.1]:8443\"", "server.listen"),
      std::make_tuple("listen", "listen = \"a b:8443\"", "server.listen"),
      std::make_tuple("listen", "listen = \"\"", "server.listen"),
      std::make_tuple("nonce_ttl", "nonce_ttl_seconds = 0", "release.nonce_ttl_seconds"),
      std::make_tuple("nonce_ttl", "nonce_ttl_seconds = 86401", "release.nonce_ttl_seconds"),
      std::make_tuple("nonce_ttl", "nonce_ttl_seconds = -5", "release.nonce_ttl_seconds"),
      std::make_tuple("tls_cert", "tls_cert = \"c\"\nqueue_limit = 0", "server.queue_limit"),
      std::make_tuple("tls_cert", "tls_cert = \"c\"\nhandshake_timeout_seconds = 0",
                      "server.handshake_timeout_seconds"),
      std::make_tuple("tls_cert", "tls_cert = \"c\"\nchallenge_rate_per_second = 0",
                      "server.challenge_rate_per_second"),
      std::make_tuple("provider", "provider = \"pkcs11\"", "master_key.provider"),
      std::make_tuple("tls_cert", "tls_cert = \"c\"\nbody_limit_bytes = 0",
                      "server.body_limit_bytes"),
      std::make_tuple("tls_cert", "tls_cert = \"c\"\nheader_limit_bytes = 0",
                      "server.header_limit_bytes"),
      std::make_tuple("tls_cert", "tls_cert = \"c\"\nbody_limit_bytes = -1",
                      "server.body_limit_bytes"),
      std::make_tuple("tls_cert", "tls_cert = \"c\"\nthreads = -1", "server.threads"),
      std::make_tuple("tls_cert", "tls_cert = \"c\"\nthreads = 5000000000", "server.threads"),
      std::make_tuple("tls_cert", "tls_cert = \"c\"\nread_timeout_seconds = 0",
                      "server.read_timeout_seconds"),
      std::make_tuple("tls_cert", "tls_cert = \"c\"\nwrite_timeout_seconds = 0",
                      "server.write_timeout_seconds"),
      std::make_tuple("tls_cert", "tls_cert = \"c\"\nmax_connections = 0",
                      "server.max_connections"),
      std::make_tuple("path = \"data/skr.db\"",
                      "path = \"data/skr.db\"\naudit_path = \"data/skr.db\"",
                      "storage.audit_path"));
  auto cfg = skr::config::Parse(WithLine(prefix, line), "/d", {});
  CHECK(test::CodeOf(cfg) == ErrorCode::kInvalidArgument);
  CHECK_THAT(MessageOf(cfg), Catch::StartsWith(std::string(key) + ":"));
}

TEST_CASE("ParseConfig: audit.busy_timeout_ms must be positive", "[config][unit]") {
  auto cfg = skr::config::Parse(std::string(kMinimal) + "[audit]\nbusy_timeout_ms = 0\n", "/d", {});
  CHECK(test::CodeOf(cfg) == ErrorCode::kInvalidArgument);
  CHECK_THAT(MessageOf(cfg), Catch::StartsWith("audit.busy_timeout_ms:"));
}

TEST_CASE("ParseConfig: wrong TOML types name the key and the expected type", "[config][unit]") {
  const auto [prefix, line, expected] = GENERATE(
      std::make_tuple("tls_cert", "tls_cert = \"c\"\nthreads = \"4\"",
                      "server.threads: expected an integer"),
      std::make_tuple("nonce_ttl", "nonce_ttl_seconds = 1.5",
                      "release.nonce_ttl_seconds: expected an integer"),
      std::make_tuple("listen", "listen = 8443", "server.listen: expected a string"),
      std::make_tuple("listen", "listen = [\"a:1\"]", "server.listen: expected a string"),
      std::make_tuple("enabled", "enabled = \"yes\"",
                      "attestation.sample.enabled: expected a boolean"),
      std::make_tuple("enabled", "enabled = 1", "attestation.sample.enabled: expected a boolean"),
      std::make_tuple("provider", "provider = false", "master_key.provider: expected a string"));
  auto cfg = skr::config::Parse(WithLine(prefix, line), "/d", {});
  CHECK(test::CodeOf(cfg) == ErrorCode::kInvalidArgument);
  CHECK_THAT(MessageOf(cfg), Catch::StartsWith(expected));
}

TEST_CASE("ParseConfig: a section given as a value is a type error", "[config][unit]") {
  auto cfg = skr::config::Parse("release = 5\n", "/d", {});
  CHECK(test::CodeOf(cfg) == ErrorCode::kInvalidArgument);
  CHECK_THAT(MessageOf(cfg), Catch::StartsWith("release: expected a table"));
}

TEST_CASE("ParseConfig: unknown keys in the file are errors", "[config][unit]") {
  const auto [text, key] =
      GENERATE(std::make_pair(std::string(kMinimal) + "[server2]\nx = 1\n", "server2"),
               std::make_pair(std::string(kMinimal) + "[attestation.sample.extra]\nx = 1\n",
                              "attestation.sample.extra"),
               std::make_pair(std::string(kMinimal) + "top = 1\n", "release.top"),
               std::make_pair("top = 1\n" + std::string(kMinimal), "top"),
               std::make_pair(std::string(kMinimal) + "[audit]\nsigner = \"k\"\n",
                              "audit.signer"));
  auto cfg = skr::config::Parse(text, "/d", {});
  CHECK(test::CodeOf(cfg) == ErrorCode::kInvalidArgument);
  CHECK(MessageOf(cfg) == "unknown key '" + std::string(key) + "'");

  SECTION("a misspelt key") {
    auto c = skr::config::Parse(WithLine("listen", "lisen = \"127.0.0.1:8443\""), "/d", {});
    CHECK(test::CodeOf(c) == ErrorCode::kInvalidArgument);
    CHECK(MessageOf(c) == "unknown key 'server.lisen'");
  }
}

TEST_CASE("ParseConfig: missing required keys are named", "[config][unit]") {
  const auto [prefix, key] = GENERATE(
      std::make_pair("tls_cert", "server.tls_cert"), std::make_pair("tls_key", "server.tls_key"),
      std::make_pair("path = \"data/skr.db\"", "storage.path"),
      std::make_pair("path = \"data/master.key\"", "master_key.path"),
      std::make_pair("public_key", "attestation.sample.public_key"));
  auto cfg = skr::config::Parse(WithLine(prefix, ""), "/d", {});
  CHECK(test::CodeOf(cfg) == ErrorCode::kInvalidArgument);
  CHECK(MessageOf(cfg) == std::string(key) + ": is required");
}

TEST_CASE("ParseConfig: a missing listen falls back to the default", "[config][unit]") {
  auto cfg = skr::config::Parse(WithLine("listen", ""), "/d", {});
  REQUIRE(cfg.has_value());
  CHECK(cfg->server.port == 8443);
}

TEST_CASE("ParseConfig: TOML syntax errors report the line", "[config][unit]") {
  const std::string text = "[server]\nlisten = \"127.0.0.1:8443\"\ntls_cert = \n";
  auto cfg = skr::config::Parse(text, "/d", {});
  CHECK(test::CodeOf(cfg) == ErrorCode::kInvalidArgument);
  const std::string msg = MessageOf(cfg);
  CHECK_THAT(msg, Catch::Contains("line 3"));
  CHECK_THAT(msg, Catch::StartsWith("config syntax error"));

  SECTION("duplicate key") {
    auto c = skr::config::Parse("[server]\nthreads = 1\nthreads = 2\n", "/d", {});
    CHECK(test::CodeOf(c) == ErrorCode::kInvalidArgument);
    CHECK_THAT(MessageOf(c), Catch::Contains("line 3"));
  }
}

TEST_CASE("ParseConfig: a relative config_dir is made absolute", "[config][unit]") {
  auto cfg = skr::config::Parse(kMinimal, "conf", {});
  REQUIRE(cfg.has_value());
  const auto expected = (std::filesystem::current_path() / "conf").lexically_normal();
  CHECK(cfg->config_dir == expected.string());
  CHECK(cfg->storage.path == (expected / "data/skr.db").string());
}

TEST_CASE("LoadConfig: reads a file and resolves paths against its directory",
          "[config][integration]") {
  test::TempDir dir;
  test::WriteFile(dir.path() / "skrd.toml", kMinimal);
  auto cfg = skr::config::Load(dir.file("skrd.toml"));
  REQUIRE(cfg.has_value());
  CHECK(cfg->config_dir == dir.path().string());
  CHECK(cfg->storage.path == (dir.path() / "data" / "skr.db").string());
  CHECK(cfg->storage.audit_path == (dir.path() / "data" / "audit.db").string());

  SECTION("the process environment overrides the file") {
    REQUIRE(::setenv("SKR_RELEASE_NONCE_TTL_SECONDS", "42", 1) == 0);
    auto c = skr::config::Load(dir.file("skrd.toml"));
    ::unsetenv("SKR_RELEASE_NONCE_TTL_SECONDS");
    REQUIRE(c.has_value());
    CHECK(c->release.nonce_ttl_seconds == 42);
  }
  SECTION("errors keep the key name and add the path") {
    test::WriteFile(dir.path() / "bad.toml", std::string(kMinimal) + "bogus = 1\n");
    auto c = skr::config::Load(dir.file("bad.toml"));
    CHECK(test::CodeOf(c) == ErrorCode::kInvalidArgument);
    CHECK_THAT(MessageOf(c), Catch::Contains("unknown key 'release.bogus'"));
    CHECK_THAT(MessageOf(c), Catch::Contains("bad.toml"));
  }
}

TEST_CASE("LoadConfig: a missing file is kNotFound naming the path", "[config][integration]") {
  test::TempDir dir;
  const std::string path = dir.file("nope.toml");
  auto cfg = skr::config::Load(path);
  CHECK(test::CodeOf(cfg) == ErrorCode::kNotFound);
  CHECK_THAT(MessageOf(cfg), Catch::Contains(path));
}

TEST_CASE("LoadConfig: a directory is not a config file", "[config][integration]") {
  test::TempDir dir;
  CHECK(test::CodeOf(skr::config::Load(dir.path().string())) == ErrorCode::kInvalidArgument);
}

TEST_CASE("SkrEnvironment: collects SKR_* variables only", "[config][unit]") {
  REQUIRE(::setenv("SKR_H4_CONFIG_TEST", "a=b", 1) == 0);
  REQUIRE(::setenv("H4_NOT_SKR", "x", 1) == 0);
  const auto env = SkrEnvironment();
  ::unsetenv("SKR_H4_CONFIG_TEST");
  ::unsetenv("H4_NOT_SKR");
  REQUIRE(env.count("SKR_H4_CONFIG_TEST") == 1);
  CHECK(env.at("SKR_H4_CONFIG_TEST") == "a=b");
  CHECK(env.count("H4_NOT_SKR") == 0);
  for (const auto& [k, v] : env) CHECK(k.rfind("SKR_", 0) == 0);
}

}  // namespace
}  // namespace skr::config

TEST_CASE("ParseConfig: port 0 asks for an ephemeral port", "[config]") {
  const std::string toml =
      "[server]\nlisten = \"127.0.0.1:0\"\ntls_cert = \"c\"\ntls_key = \"k\"\n"
      "[storage]\npath = \"db\"\n[master_key]\npath = \"mk\"\n";
  auto cfg = skr::config::Parse(toml, "/etc/skr", {});
  REQUIRE(cfg.has_value());
  CHECK(cfg->server.port == 0);
  CHECK(cfg->server.host == "127.0.0.1");
}

TEST_CASE("ParseConfig: the [attestation.snp] section", "[config]") {
  const std::string base =
      "[server]\nlisten = \"127.0.0.1:8443\"\ntls_cert = \"c\"\ntls_key = \"k\"\n"
      "[storage]\npath = \"db\"\n[master_key]\npath = \"mk\"\n";
  auto def = skr::config::Parse(base, "/etc/skr", {});
  REQUIRE(def.has_value());
  CHECK(def->Get<skr::attestation::snp::SnpConfig>().enabled);
  CHECK(def->Get<skr::attestation::snp::SnpConfig>().extra_roots.empty());
  auto set = skr::config::Parse(
      base + "[attestation.snp]\nextra_roots = \"test-amd.pem\"\nextra_roots_product = \"Genoa\"\n"
             "crl_file = \"amd.crl\"\n",
      "/etc/skr", {{"SKR_ATTESTATION_SNP_ENABLED", "false"}});
  REQUIRE(set.has_value());
  CHECK(!set->Get<skr::attestation::snp::SnpConfig>().enabled);
  CHECK(set->Get<skr::attestation::snp::SnpConfig>().extra_roots == "/etc/skr/test-amd.pem");
  CHECK(set->Get<skr::attestation::snp::SnpConfig>().crl_file == "/etc/skr/amd.crl");
  auto bad = skr::config::Parse(
      base + "[attestation.snp]\nextra_roots = \"x.pem\"\nextra_roots_product = \"Rome\"\n",
      "/etc/skr", {});
  REQUIRE(!bad.has_value());
  CHECK(bad.error().message().rfind("attestation.snp.extra_roots_product", 0) == 0);
}

TEST_CASE("ParseConfig: the [attestation.tpm] section", "[config]") {
  const std::string base =
      "[server]\nlisten = \"127.0.0.1:8443\"\ntls_cert = \"c\"\ntls_key = \"k\"\n"
      "[storage]\npath = \"db\"\n[master_key]\npath = \"mk\"\n";
  auto def = skr::config::Parse(base, "/etc/skr", {});
  REQUIRE(def.has_value());
  CHECK(def->Get<skr::attestation::tpm::TpmConfig>().enabled);
  CHECK(def->Get<skr::attestation::tpm::TpmConfig>().require_ek);
  CHECK(def->Get<skr::attestation::tpm::TpmConfig>().enrollment_ttl_seconds == 300);
  CHECK(def->Get<skr::attestation::tpm::TpmConfig>().ak_roots.empty());
  CHECK(def->Get<skr::attestation::tpm::TpmConfig>().ek_roots.empty());
  auto set = skr::config::Parse(
      base + "[attestation.tpm]\nak_roots = \"google-vtpm-ca.crt\"\nek_roots = \"/etc/tpm/ek-cas.pem\"\n"
             "require_ek = false\nenrollment_ttl_seconds = 60\n",
      "/etc/skr", {{"SKR_ATTESTATION_TPM_ENABLED", "false"}});
  REQUIRE(set.has_value());
  CHECK(!set->Get<skr::attestation::tpm::TpmConfig>().enabled);
  CHECK(!set->Get<skr::attestation::tpm::TpmConfig>().require_ek);
  CHECK(set->Get<skr::attestation::tpm::TpmConfig>().ak_roots == "/etc/skr/google-vtpm-ca.crt");
  CHECK(set->Get<skr::attestation::tpm::TpmConfig>().ek_roots == "/etc/tpm/ek-cas.pem");
  CHECK(set->Get<skr::attestation::tpm::TpmConfig>().enrollment_ttl_seconds == 60);
  for (const char* ttl : {"0", "9", "86401"}) {
    auto bad = skr::config::Parse(base + "[attestation.tpm]\nenrollment_ttl_seconds = " + ttl + "\n",
                                        "/etc/skr", {});
    REQUIRE(!bad.has_value());
    CHECK(bad.error().message().rfind("attestation.tpm.enrollment_ttl_seconds", 0) == 0);
  }
  auto unknown = skr::config::Parse(base + "[attestation.tpm]\nak_root = \"x\"\n", "/etc/skr", {});
  CHECK(!unknown.has_value());
}

namespace skr::config {
namespace {

const std::string kBase =
    "[server]\nlisten = \"127.0.0.1:8443\"\ntls_cert = \"c\"\ntls_key = \"k\"\n"
    "[storage]\npath = \"db\"\n[master_key]\npath = \"mk\"\n";
// Two 48-byte values as lowercase hex (96 characters each).
const std::string kDigestA(96, 'a');
const std::string kDigestB = std::string(94, '0') + "9f";

}  // namespace

TEST_CASE("ParseConfig: attestation.snp.crl_max_staleness_seconds", "[config]") {
  auto def = skr::config::Parse(kBase, "/etc/skr", {});
  REQUIRE(def.has_value());
  CHECK(def->Get<skr::attestation::snp::SnpConfig>().crl_max_staleness_seconds == 0);  // 0: warn only
  auto set = skr::config::Parse(kBase + "[attestation.snp]\ncrl_max_staleness_seconds = 86400\n",
                         "/etc/skr", {});
  REQUIRE(set.has_value());
  CHECK(set->Get<skr::attestation::snp::SnpConfig>().crl_max_staleness_seconds == 86400);
  auto env = skr::config::Parse(kBase, "/etc/skr",
                         {{"SKR_ATTESTATION_SNP_CRL_MAX_STALENESS_SECONDS", "3600"}});
  REQUIRE(env.has_value());
  CHECK(env->Get<skr::attestation::snp::SnpConfig>().crl_max_staleness_seconds == 3600);
  auto negative =
      skr::config::Parse(kBase + "[attestation.snp]\ncrl_max_staleness_seconds = -1\n", "/etc/skr", {});
  CHECK_THAT(MessageOf(negative), Catch::StartsWith("attestation.snp.crl_max_staleness_seconds:"));
}

TEST_CASE("ParseConfig: [attestation.azure] lists are unset by default", "[config]") {
  auto def = skr::config::Parse(kBase, "/etc/skr", {});
  REQUIRE(def.has_value());
  // Unset: skrd substitutes the built-in paravisor identities (config does not know them).
  CHECK_FALSE(def->Get<skr::attestation::azure::AzureConfig>().trusted_id_key_digests.has_value());
  CHECK(def->Get<skr::attestation::azure::AzureConfig>().trusted_measurements.empty());
  CHECK_FALSE(def->Get<skr::attestation::azure::AzureConfig>().trusted_mrtds.has_value());
}

TEST_CASE("ParseConfig: [attestation.azure] lists from the file and the environment",
          "[config]") {
  SECTION("file") {
    auto cfg = skr::config::Parse(kBase + "[attestation.azure]\ntrusted_id_key_digests = [\"" + kDigestA +
                               "\", \"" + kDigestB + "\"]\ntrusted_measurements = [\"" + kDigestB +
                               "\"]\n",
                           "/etc/skr", {});
    REQUIRE(cfg.has_value());
    REQUIRE(cfg->Get<skr::attestation::azure::AzureConfig>().trusted_id_key_digests.has_value());
    CHECK(*cfg->Get<skr::attestation::azure::AzureConfig>().trusted_id_key_digests ==
          std::vector<std::string>{kDigestA, kDigestB});
    CHECK(cfg->Get<skr::attestation::azure::AzureConfig>().trusted_measurements == std::vector<std::string>{kDigestB});
  }
  SECTION("an explicitly empty list stays empty (not the defaults)") {
    auto cfg = skr::config::Parse(kBase + "[attestation.azure]\ntrusted_id_key_digests = []\n",
                           "/etc/skr", {});
    REQUIRE(cfg.has_value());
    REQUIRE(cfg->Get<skr::attestation::azure::AzureConfig>().trusted_id_key_digests.has_value());
    CHECK(cfg->Get<skr::attestation::azure::AzureConfig>().trusted_id_key_digests->empty());
  }
  SECTION("environment: a comma-separated list wins over the file") {
    auto cfg = skr::config::Parse(
        kBase + "[attestation.azure]\ntrusted_id_key_digests = [\"" + kDigestA + "\"]\n", "/etc/skr",
        {{"SKR_ATTESTATION_AZURE_TRUSTED_ID_KEY_DIGESTS", kDigestB + ", " + kDigestA},
         {"SKR_ATTESTATION_AZURE_TRUSTED_MEASUREMENTS", kDigestA}});
    REQUIRE(cfg.has_value());
    CHECK(*cfg->Get<skr::attestation::azure::AzureConfig>().trusted_id_key_digests ==
          std::vector<std::string>{kDigestB, kDigestA});
    CHECK(cfg->Get<skr::attestation::azure::AzureConfig>().trusted_measurements == std::vector<std::string>{kDigestA});
  }
  SECTION("trusted_mrtds from the file, and from the environment") {
    auto cfg = skr::config::Parse(kBase + "[attestation.azure]\ntrusted_mrtds = [\"" + kDigestA + "\"]\n",
                           "/etc/skr", {});
    REQUIRE(cfg.has_value());
    CHECK(*cfg->Get<skr::attestation::azure::AzureConfig>().trusted_mrtds == std::vector<std::string>{kDigestA});
    auto env = skr::config::Parse(kBase, "/etc/skr", {{"SKR_ATTESTATION_AZURE_TRUSTED_MRTDS", kDigestB}});
    REQUIRE(env.has_value());
    CHECK(*env->Get<skr::attestation::azure::AzureConfig>().trusted_mrtds == std::vector<std::string>{kDigestB});
  }
  SECTION("environment: an empty value is an empty list") {
    auto cfg = skr::config::Parse(kBase, "/etc/skr", {{"SKR_ATTESTATION_AZURE_TRUSTED_ID_KEY_DIGESTS", ""}});
    REQUIRE(cfg.has_value());
    REQUIRE(cfg->Get<skr::attestation::azure::AzureConfig>().trusted_id_key_digests.has_value());
    CHECK(cfg->Get<skr::attestation::azure::AzureConfig>().trusted_id_key_digests->empty());
  }
}

TEST_CASE("ParseConfig: [attestation.azure] refuses entries that are not 96 lowercase hex",
          "[config]") {
  const std::string bad = GENERATE(std::string(96, 'A'),           // uppercase
                                   std::string(95, 'a'),           // too short
                                   std::string(98, 'a'),           // too long
                                   std::string(95, 'a') + "g",     // not hex
                                   std::string(""));               // empty entry
  SECTION("file, trusted_id_key_digests") {
    auto cfg = skr::config::Parse(kBase + "[attestation.azure]\ntrusted_id_key_digests = [\"" + kDigestA +
                               "\", \"" + bad + "\"]\n",
                           "/etc/skr", {});
    CHECK(test::CodeOf(cfg) == ErrorCode::kInvalidArgument);
    CHECK_THAT(MessageOf(cfg), Catch::StartsWith("attestation.azure.trusted_id_key_digests:"));
  }
  SECTION("file, trusted_measurements") {
    auto cfg = skr::config::Parse(kBase + "[attestation.azure]\ntrusted_measurements = [\"" + bad + "\"]\n",
                           "/etc/skr", {});
    CHECK_THAT(MessageOf(cfg), Catch::StartsWith("attestation.azure.trusted_measurements:"));
  }
  SECTION("file, trusted_mrtds") {
    auto cfg = skr::config::Parse(kBase + "[attestation.azure]\ntrusted_mrtds = [\"" + bad + "\"]\n",
                           "/etc/skr", {});
    CHECK_THAT(MessageOf(cfg), Catch::StartsWith("attestation.azure.trusted_mrtds:"));
  }
  SECTION("environment") {
    auto cfg = skr::config::Parse(kBase, "/etc/skr",
                           {{"SKR_ATTESTATION_AZURE_TRUSTED_ID_KEY_DIGESTS", kDigestA + "," + bad}});
    const std::string msg = MessageOf(cfg);
    CHECK_THAT(msg, Catch::StartsWith("attestation.azure.trusted_id_key_digests:"));
    CHECK_THAT(msg, Catch::Contains("SKR_ATTESTATION_AZURE_TRUSTED_ID_KEY_DIGESTS"));
  }
}

TEST_CASE("ParseConfig: [attestation.azure] lists must be arrays of strings", "[config]") {
  for (const std::string& value : {"\"" + kDigestA + "\"", std::string("[1, 2]"),
                                  "[\"" + kDigestA + "\", 3]"}) {
    auto cfg = skr::config::Parse(kBase + "[attestation.azure]\ntrusted_id_key_digests = " + value + "\n",
                           "/etc/skr", {});
    INFO(value);
    CHECK_THAT(MessageOf(cfg), Catch::StartsWith("attestation.azure.trusted_id_key_digests:"));
    CHECK_THAT(MessageOf(cfg), Catch::Contains("array of strings"));
  }
}

}  // namespace skr::config
