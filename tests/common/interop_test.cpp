// SPDX-License-Identifier: Apache-2.0
// Interop with an independent JOSE implementation: Debian's python3-jwcrypto, driven through
// the scripts in tests/interop/ (found via SKR_SOURCE_DIR).
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/encoding.h"
#include "common/jose.h"
#include "common/json.h"
#include "common/ossl.h"
#include "tests/support/test_support.h"

using skr::EvpPkeyPtr;
using skr::Json;

namespace {

// The system interpreter: python3-jwcrypto is a Debian package, not in any pyenv.
constexpr const char* kPython = "/usr/bin/python3";

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// fork + execv (no shell, so no quoting issues); stdout through a pipe, stderr to a file.
RunResult Run(const std::vector<std::string>& args, const std::string& stderr_path) {
  RunResult result;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));  // NOLINT
    argv.push_back(nullptr);
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    const int err_fd = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (err_fd >= 0) ::dup2(err_fd, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) {
    result.out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::error_code ec;
  if (std::filesystem::exists(stderr_path, ec)) result.err = skr::test::ReadFileOrFail(stderr_path);
  while (!result.out.empty() && (result.out.back() == '\n' || result.out.back() == '\r')) {
    result.out.pop_back();
  }
  return result;
}

bool JwcryptoAvailable() {
  if (::access(kPython, X_OK) != 0) return false;
  skr::test::TempDir dir;
  return Run({kPython, "-c", "import jwcrypto.jwe, jwcrypto.jws"}, dir.file("err")).exit_code == 0;
}

std::string Script(const std::string& name) {
  return skr::test::SourceDir() + "/tests/interop/" + name;
}

EVP_PKEY* InteropKey(const std::string& name) {
  static std::map<std::string, EvpPkeyPtr> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second.get();
  auto key = name.rfind("RSA", 0) == 0 ? skr::GenerateRsaKey(3072) : skr::GenerateEcKey(name);
  REQUIRE(key.has_value());
  EVP_PKEY* raw = key->get();
  cache.emplace(name, std::move(key).value());
  return raw;
}

std::string EncAlg(const std::string& name) {
  return name.rfind("RSA", 0) == 0 ? "RSA-OAEP-256" : "ECDH-ES+A256KW";
}

}  // namespace

// Without jwcrypto the interop tests cannot run: a failure in CI, a warning elsewhere.
#define SKR_REQUIRE_JWCRYPTO()                                                                 \
  do {                                                                                         \
    static const bool available_ = JwcryptoAvailable();                                        \
    if (!available_) {                                                                         \
      const char* ci_ = std::getenv("CI");                                                     \
      if (ci_ != nullptr && std::string(ci_) == "true") {                                      \
        FAIL(                                                                                  \
            "/usr/bin/python3 cannot import jwcrypto and CI=true (apt install "                \
            "python3-jwcrypto)");                                                              \
      }                                                                                        \
      WARN("SKIPPED: /usr/bin/python3 cannot import jwcrypto (apt install python3-jwcrypto)"); \
      return;                                                                                  \
    }                                                                                          \
  } while (0)

TEST_CASE("Interop: jwcrypto decrypts JWEs made by JweEncrypt", "[common][interop]") {
  SKR_REQUIRE_JWCRYPTO();
  const std::string name = GENERATE("RSA-3072", "P-256", "P-384", "P-521");
  INFO(name);
  EVP_PKEY* key = InteropKey(name);
  const std::string alg = EncAlg(name);
  auto pub = skr::PublicJwkFromKey(key, alg);
  REQUIRE(pub.has_value());
  auto recipient = skr::ParsePublicJwk(*pub);
  REQUIRE(recipient.has_value());
  const std::vector<std::uint8_t> plaintext = skr::RandomBytes(32);
  auto jwe = skr::JweEncrypt(*recipient, plaintext);
  REQUIRE(jwe.has_value());
  auto priv = skr::PrivateJwkFromKey(key, alg);
  REQUIRE(priv.has_value());

  skr::test::TempDir dir;
  skr::test::WriteFile(dir.path() / "msg.jwe", *jwe);
  skr::test::WriteFile(dir.path() / "key.jwk", priv->dump());
  const RunResult r =
      Run({kPython, Script("jwe_decrypt.py"), dir.file("msg.jwe"), dir.file("key.jwk")},
          dir.file("stderr"));
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == skr::HexEncode(plaintext));
}

TEST_CASE("Interop: JweDecrypt opens JWEs made by jwcrypto", "[common][interop]") {
  SKR_REQUIRE_JWCRYPTO();
  const std::string name = GENERATE("RSA-3072", "P-256", "P-384", "P-521");
  INFO(name);
  EVP_PKEY* key = InteropKey(name);
  auto pub = skr::PublicJwkFromKey(key, EncAlg(name));
  REQUIRE(pub.has_value());
  const std::vector<std::uint8_t> plaintext = skr::RandomBytes(48);

  skr::test::TempDir dir;
  skr::test::WriteFile(dir.path() / "pub.jwk", pub->dump());
  const RunResult r =
      Run({kPython, Script("jwe_encrypt.py"), dir.file("pub.jwk"), skr::HexEncode(plaintext)},
          dir.file("stderr"));
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);

  auto opened = skr::JweDecrypt(r.out, key);
  INFO("jwe: " << r.out);
  REQUIRE(opened.has_value());
  CHECK(std::vector<std::uint8_t>(opened->Reveal().begin(), opened->Reveal().end()) == plaintext);

  // jwcrypto put its own RFC 7638 thumbprint into "kid": it must equal ours.
  const auto header_bytes = skr::Base64UrlDecode(r.out.substr(0, r.out.find('.')));
  REQUIRE(header_bytes.has_value());
  auto header = skr::ParseJson(std::string(header_bytes->begin(), header_bytes->end()));
  REQUIRE(header.has_value());
  CHECK((*header)["kid"] == skr::JwkThumbprint(*pub).value());
}

TEST_CASE("Interop: JWS ES256/ES384 both ways with jwcrypto", "[common][interop]") {
  SKR_REQUIRE_JWCRYPTO();
  const auto [alg, curve] =
      GENERATE(std::make_pair("ES384", "P-384"), std::make_pair("ES256", "P-256"));
  INFO(alg);
  EVP_PKEY* key = InteropKey(curve);
  auto pub = skr::PublicJwkFromKey(key, alg);
  REQUIRE(pub.has_value());
  auto priv = skr::PrivateJwkFromKey(key, alg);
  REQUIRE(priv.has_value());
  skr::test::TempDir dir;
  skr::test::WriteFile(dir.path() / "pub.jwk", pub->dump());
  skr::test::WriteFile(dir.path() / "priv.jwk", priv->dump());
  const std::string payload = R"({"report_data":"0011","nonce":"n","caf)"
                              "\xc3\xa9"
                              R"(":true})";

  SECTION("jwcrypto verifies a JWS made by JwsSign") {
    auto jws = skr::JwsSign(key, alg, payload);
    REQUIRE(jws.has_value());
    skr::test::WriteFile(dir.path() / "msg.jws", *jws);
    const RunResult r =
        Run({kPython, Script("jws_tool.py"), "verify", dir.file("pub.jwk"), dir.file("msg.jws")},
            dir.file("stderr"));
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out == skr::HexEncode(skr::AsBytes(payload)));

    SECTION("and rejects it once tampered") {
      std::string bad = *jws;
      bad[bad.rfind('.') + 5] = bad[bad.rfind('.') + 5] == 'A' ? 'B' : 'A';
      skr::test::WriteFile(dir.path() / "bad.jws", bad);
      const RunResult rb =
          Run({kPython, Script("jws_tool.py"), "verify", dir.file("pub.jwk"), dir.file("bad.jws")},
              dir.file("stderr"));
      CHECK(rb.exit_code != 0);
    }
  }
  SECTION("JwsVerify accepts a JWS made by jwcrypto") {
    const RunResult r = Run({kPython, Script("jws_tool.py"), "sign", dir.file("priv.jwk"), alg,
                             skr::HexEncode(skr::AsBytes(payload))},
                            dir.file("stderr"));
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    auto verified = skr::JwsVerify(r.out, key);
    INFO("jws: " << r.out);
    REQUIRE(verified.has_value());
    CHECK(verified->payload == payload);
    CHECK(verified->header["alg"] == alg);
  }
}
