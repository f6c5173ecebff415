// SPDX-License-Identifier: Apache-2.0
// A full disk under the audit log (issue 11): the audit database on a small tmpfs the test mounts
// and fills. Releases get 503 and nothing is released while no record can be written; the
// failure is logged with SQLite's reason and counted; once space returns releases resume at once,
// the first record committed says how many decisions went unrecorded, and the log verifies.
// Needs mount(2) (root); skips with a message where mounting is impossible.
#include <sys/mount.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/integration/skrd_fixture.h"
#include "tests/support/process.h"

using skr::Json;
using skr::test::Skrd;

namespace {

const Json kPolicy = Json::parse(R"({"version":"1.0.0","anyOf":[{"authority":"skr:local","allOf":[
  {"claim":"tee","equals":"sample"},{"claim":"debug","equals":false}]}]})");
const std::string kMaterialB64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

// A size-limited tmpfs at `dir`, unmounted when the guard goes.
class TmpfsMount {
 public:
  TmpfsMount(std::string dir, const std::string& size) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    const std::string opts = "size=" + size + ",mode=0700";
    mounted_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", 0, opts.c_str()) == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

// Writes zeros to `path` until the filesystem is full.
void FillUp(const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  const std::vector<char> block(4096, 0);
  for (int i = 0; i < 1 << 20 && out; ++i) {
    out.write(block.data(), static_cast<std::streamsize>(block.size()));
    out.flush();
  }
}

skr::test::HttpResult Release(Skrd& skrd) {
  auto nonce = skrd.Post("/v1/challenge", Json::object());
  REQUIRE(nonce.status == 200);
  auto attester = skr::test::ReadFileOrFail(skrd.file("dev/sample-attester.key"));
  auto a = skr::test::MakeSampleAttestation(attester, nonce.json["nonce"], {{"debug", false}});
  return skrd.Post("/v1/tenants/acme/keys/root/release",
                   {{"nonce", nonce.json["nonce"]}, {"tee-pubkey", a.tee_pubkey}, {"evidence", a.evidence}});
}

}  // namespace

TEST_CASE("Disk full: releases get 503 and nothing is released; service resumes when space returns",
          "[integration][audit][faults]") {
  Skrd skrd;
  REQUIRE(skrd.Start());
  skrd.SetUpTenant("acme", "disk", kPolicy, "root", kMaterialB64);
  skrd.Stop();

  const std::string mnt = skrd.file("auditfs");
  TmpfsMount fs(mnt, "1m");
  if (!fs.mounted()) {
    const char* ci = std::getenv("CI");
    if (ci != nullptr && std::string(ci) == "true" && ::geteuid() == 0) {
      FAIL("cannot mount a tmpfs as root: " << fs.error());
    }
    WARN("SKIPPED: cannot mount a size-limited tmpfs here (" << fs.error()
                                                            << "); the disk-full test needs root");
    return;
  }
  // The audit log moves onto the small filesystem; the keystore stays where it was, so that the
  // audit write is what fails.
  std::filesystem::copy_file(skrd.file("data/audit.db"), mnt + "/audit.db");
  std::filesystem::remove(skrd.file("data/audit.db"));
  std::string toml = skr::test::ReadFileOrFail(skrd.config_path());
  toml.insert(toml.find("[storage]\n") + 10, "audit_path = \"" + mnt + "/audit.db\"\n");
  skr::test::WriteFile(skrd.config_path(), toml, 0644);
  REQUIRE(skrd.Start());
  REQUIRE(Release(skrd).status == 200);

  FillUp(mnt + "/filler");
  int refused = 0;
  for (int i = 0; i < 400 && refused < 3; ++i) {  // bounded: the WAL's spare room runs out first
    auto r = Release(skrd);
    INFO(r.body);
    if (r.status == 503) {
      CHECK(r.problem_type() == "urn:skr:problem:audit_unavailable");
      CHECK_FALSE(r.json.contains("jwe"));
      ++refused;
    } else {
      REQUIRE(r.status == 200);
    }
  }
  REQUIRE(refused == 3);
  CHECK_THAT(skrd.Log(), Catch::Contains("audit write failed"));
  auto metrics = skrd.Get("/metrics");
  CHECK_THAT(metrics.body, Catch::Contains("skr_audit_write_failures_total"));
  CHECK_THAT(metrics.body, !Catch::Contains("skr_audit_write_failures_total 0\n"));

  // Space returns: the very next release goes through and its record counts the lost ones.
  std::filesystem::remove(mnt + "/filler");
  auto back = Release(skrd);
  INFO(back.body);
  REQUIRE(back.status == 200);
  auto rec = skrd.Get("/v1/audit/entries?from_seq=" + std::to_string(back.json.at("audit_seq").get<std::int64_t>()) +
                          "&limit=1",
                      skrd.operator_token());
  REQUIRE(rec.status == 200);
  REQUIRE(rec.json.at("entries").size() == 1);
  CHECK(rec.json["entries"][0].value("unrecorded_failures", 0) >= refused);
  CHECK_THAT(skrd.Get("/metrics").body, Catch::Contains("skr_audit_unrecorded_failures 0\n"));

  // The log is whole: skrctl verifies it, and skrd accepts it at a restart.
  auto verify = skr::test::RunCommand(
      {skr::test::BinaryDir() + "/client/skrctl", "audit", "verify", "--verifier-key",
       skrd.audit_verifier_key()},
      "", {{"SKR_ADDR", skrd.url()}, {"SKR_CACERT", skrd.file("tls/ca.crt")}, {"SKR_TOKEN", skrd.operator_token()}});
  INFO(verify.out << verify.err);
  CHECK(verify.exit_code == 0);
  skrd.Stop();
  REQUIRE(skrd.Start());
  CHECK(Release(skrd).status == 200);
  skrd.Stop();
}
