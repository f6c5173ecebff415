// SPDX-License-Identifier: Apache-2.0
// skrctl and skr-agent (cpprestsdk) against a real skrd over loopback TLS.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "common/encoding.h"
#include "tests/integration/skrd_fixture.h"

using skr::Json;
using skr::test::RunCommand;
using skr::test::Skrd;

namespace {

struct Cli {
  Skrd& skrd;
  std::string token;
  skr::test::CommandResult Ctl(std::vector<std::string> args, const std::string& input = "") {
    std::vector<std::string> argv = {skr::test::BinaryDir() + "/client/skrctl"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, input,
                      {{"SKR_ADDR", skrd.url()}, {"SKR_CACERT", skrd.file("tls/ca.crt")},
                       {"SKR_TOKEN", token}});
  }
  skr::test::CommandResult Agent(const std::string& claims_file, const std::string& out,
                                 std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {skr::test::BinaryDir() + "/client/skr-agent", "fetch",
                                     "--url", skrd.url(), "--tenant", "acme", "--key", "disk",
                                     "--evidence", "sample", "--sample-key",
                                     skrd.file("dev/sample-attester.key"), "--sample-claims",
                                     claims_file, "--cacert", skrd.file("tls/ca.crt")};
    if (!out.empty()) {
      argv.push_back("--out");
      argv.push_back(out);
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv, "", {{"SKR_TOKEN", ""}});
  }
};

}  // namespace

TEST_CASE("Clients: skrctl administers and skr-agent fetches a key", "[integration][client]") {
  Skrd skrd;
  REQUIRE(skrd.Start());
  Cli cli{skrd, skrd.operator_token()};

  REQUIRE(cli.Ctl({"tenant", "create", "acme"}).exit_code == 0);
  auto tok = cli.Ctl({"--format", "json", "token", "create", "--role", "admin", "--tenant", "acme"});
  REQUIRE(tok.exit_code == 0);
  cli.token = skr::ParseJson(tok.out).value()["token"].get<std::string>();

  skr::test::WriteFile(skrd.file("policy.json"),
                       R"({"anyOf":[{"authority":"skr:local","allOf":[
                           {"claim":"tee","equals":"sample"},{"claim":"debug","equals":false}]}]})");
  auto put = cli.Ctl({"policy", "put", "--tenant", "acme", "disk", "--file", skrd.file("policy.json")});
  INFO(put.err);
  REQUIRE(put.exit_code == 0);

  // Imported material comes from stdin, never from the command line.
  const std::string material(32, '\x5a');
  auto imp = cli.Ctl({"key", "import", "--tenant", "acme", "disk", "--policy", "disk",
                      "--material-file", "-"},
                     material);
  INFO(imp.err);
  REQUIRE(imp.exit_code == 0);
  auto list = cli.Ctl({"--format", "json", "key", "list", "--tenant", "acme"});
  REQUIRE(list.exit_code == 0);
  CHECK(list.out.find("disk") != std::string::npos);
  CHECK(list.out.find(skr::Base64Encode(skr::AsBytes(material))) == std::string::npos);

  skr::test::WriteFile(skrd.file("good.json"), R"({"debug": false})");
  skr::test::WriteFile(skrd.file("bad.json"), R"({"debug": true})");

  SECTION("to stdout") {
    auto r = cli.Agent(skrd.file("good.json"), "");
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == material);
    CHECK(r.err.find(skr::Base64Encode(skr::AsBytes(material))) == std::string::npos);
  }
  SECTION("to a 0600 file") {
    auto r = cli.Agent(skrd.file("good.json"), skrd.file("out.key"));
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(skr::test::ReadFileOrFail(skrd.file("out.key")) == material);
    struct stat st {};
    REQUIRE(::stat(skrd.file("out.key").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }
  SECTION("denied by policy: exit code 1, no key") {
    auto r = cli.Agent(skrd.file("bad.json"), "");
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
  }
  SECTION("rotate, disable, audit") {
    CHECK(cli.Ctl({"key", "rotate", "--tenant", "acme", "disk"}).exit_code == 0);
    CHECK(cli.Ctl({"key", "disable", "--tenant", "acme", "disk", "--version", "2"}).exit_code == 0);
    auto r = cli.Agent(skrd.file("good.json"), "");
    CHECK(r.exit_code == 0);
    CHECK(r.out == material);  // version 1, the newest enabled one
    Cli auditor{skrd, skrd.operator_token()};
    auto entries = auditor.Ctl({"--format", "json", "audit", "entries", "--tenant", "acme"});
    REQUIRE(entries.exit_code == 0);
    auto j = skr::ParseJson(entries.out).value();
    CHECK(j["entries"].size() >= 5);
  }
  SECTION("wrong CA is refused") {
    auto other = RunCommand({skr::test::SourceDir() + "/scripts/dev-pki", skrd.file("other-pki")});
    REQUIRE(other.exit_code == 0);
    auto r = RunCommand({skr::test::BinaryDir() + "/client/skr-agent", "fetch", "--retries", "0", "--url", skrd.url(),
                         "--tenant", "acme", "--key", "disk", "--evidence", "sample",
                         "--sample-key", skrd.file("dev/sample-attester.key"), "--sample-claims",
                         skrd.file("good.json"), "--cacert", skrd.file("other-pki/tls/ca.crt")});
    CHECK(r.exit_code == 2);  // a configuration error: not retried (issue 12)
    CHECK(r.out.empty());
  }
  SECTION("usage error: exit code 2") {
    auto r = RunCommand({skr::test::BinaryDir() + "/client/skr-agent", "fetch", "--url", skrd.url()});
    CHECK(r.exit_code == 2);
  }
  SECTION("skrctl without a token") {
    Cli anon{skrd, ""};
    auto r = anon.Ctl({"tenant", "list"});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("401") != std::string::npos);
  }
}

TEST_CASE("Clients: a server certificate the CA does not vouch for is a configuration error",
          "[integration][client][tls]") {
  Skrd skrd;
  REQUIRE(skrd.Start());
  // skrd's own leaf certificate as "CA": a valid PEM that did not issue skrd's certificate.
  const std::string wrong_ca = skrd.file("tls/server.crt");
  const auto t0 = std::chrono::steady_clock::now();
  auto agent = RunCommand({skr::test::BinaryDir() + "/client/skr-agent", "fetch", "--url", skrd.url(),
                           "--tenant", "acme", "--key", "disk", "--evidence", "sample", "--sample-key",
                           skrd.file("dev/sample-attester.key"), "--cacert", wrong_ca, "--out",
                           skrd.file("k.bin"), "--retries", "5", "--deadline", "30"},
                          "", {{"SKR_TOKEN", ""}});
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  INFO(agent.err);
  CHECK(agent.exit_code == 2);  // not 4 after the deadline: no retry fixes a wrong CA
  CHECK(elapsed < std::chrono::seconds(5));
  CHECK_THAT(agent.err, Catch::Contains("tls_untrusted"));
  auto ctl = RunCommand({skr::test::BinaryDir() + "/client/skrctl", "--cacert", wrong_ca, "status"}, "",
                        {{"SKR_ADDR", skrd.url()}, {"SKR_TOKEN", ""}});
  CHECK(ctl.exit_code == 1);
  CHECK_THAT(ctl.err, Catch::Contains("hint: the server's certificate was not trusted: pass --cacert or set SKR_CACERT"));
}

TEST_CASE("Clients: skrctl explains itself: status, versions, typos, enums, durations, confirmation",
          "[integration][client]") {
  Skrd skrd;
  REQUIRE(skrd.Start());
  auto acme = skrd.SetUpTenant("acme", "disk",
                               Json::parse(R"({"anyOf":[{"allOf":[{"claim":"tee","equals":"sample"}]}]})"),
                               "root", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
  auto ctl = [&](std::vector<std::string> args, const std::string& token) {
    args.insert(args.begin(), skr::test::BinaryDir() + "/client/skrctl");
    return RunCommand(args, "", {{"SKR_ADDR", skrd.url() + ",https://127.0.0.1:1"},
                                 {"SKR_CACERT", skrd.file("tls/ca.crt")}, {"SKR_TOKEN", token}});
  };
  // status: server version, sealed, and who the token is (the comma list's first URL is used).
  auto st = ctl({"status"}, acme.admin_token);
  INFO(st.err);
  REQUIRE(st.exit_code == 0);
  CHECK_THAT(st.out, Catch::Contains("server: skrd 0.1.0"));
  CHECK_THAT(st.out, Catch::Contains("sealed: no"));
  CHECK_THAT(st.out, Catch::Contains("role admin, tenant acme, expires "));  // 90 days by default
  CHECK_THAT(ctl({"status"}, "").out, Catch::Contains("token: none given"));
  // --version on every binary.
  for (const char* bin : {"/client/skrctl", "/client/skr-agent", "/server/skrd"}) {
    auto v = RunCommand({skr::test::BinaryDir() + bin, "--version"}, "", {});
    CHECK(v.exit_code == 0);
    CHECK_THAT(v.out, Catch::Contains("0.1.0"));
  }
  // A typo'd subcommand gets the nearest one; an enum value outside its set lists the valid ones.
  auto typo = ctl({"key", "destory", "--tenant", "acme", "root", "--version", "1"}, acme.admin_token);
  CHECK(typo.exit_code == 2);
  CHECK_THAT(typo.err, Catch::Contains("did you mean 'key destroy'?"));
  auto bad_enum = ctl({"audit", "entries", "--decision", "deny"}, skrd.operator_token());
  CHECK(bad_enum.exit_code == 2);
  CHECK_THAT(bad_enum.err, Catch::Contains("granted"));
  // Durations: --ttl 24h is a day.
  auto tok = ctl({"--format", "json", "token", "create", "--role", "auditor", "--tenant", "acme", "--ttl", "24h"},
                 skrd.operator_token());
  REQUIRE(tok.exit_code == 0);
  CHECK(ctl({"token", "create", "--role", "auditor", "--ttl", "soon"}, skrd.operator_token()).exit_code == 2);
  // Destroying a key version asks (and without a terminal, needs --yes); nothing happens otherwise.
  auto no = ctl({"key", "destroy", "--tenant", "acme", "root", "--version", "1"}, acme.admin_token);
  CHECK(no.exit_code == 2);
  CHECK_THAT(no.err, Catch::Contains("pass --yes"));
  CHECK(skrd.Get("/v1/tenants/acme/keys/root", acme.admin_token).json["versions"][0]["state"] == "enabled");
  auto yes = ctl({"key", "destroy", "--tenant", "acme", "root", "--version", "1", "--yes"}, acme.admin_token);
  CHECK(yes.exit_code == 0);
  CHECK(skrd.Get("/v1/tenants/acme/keys/root", acme.admin_token).json["versions"][0]["state"] == "destroyed");
}
