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
    CHECK(r.exit_code == 4);
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
