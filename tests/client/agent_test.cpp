// SPDX-License-Identifier: Apache-2.0
#include "client/agent.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/encoding.h"
#include "common/jose.h"
#include "common/ossl.h"
#include "tests/support/test_support.h"

namespace skr::client {
namespace {

// A fake skrd behind the ApiClient interface: issues nonces and, on release, checks what the
// real server checks (JWS signature, binding digest in report_data, tee-pubkey), then wraps
// `material_` to the tee-pubkey.
class FakeSkrd : public ApiClient {
 public:
  FakeSkrd() {
    auto key = GenerateEcKey("P-384");
    REQUIRE(key.has_value());
    sample_key_ = std::move(key).value();
    auto pem = PublicKeyToPem(sample_key_.get());
    REQUIRE(pem.has_value());
    auto pub = LoadPublicKeyPem(*pem);
    REQUIRE(pub.has_value());
    sample_pub_ = std::move(pub).value();
  }

  Result<Json> Send(std::string_view method, const std::string& path,
                    const Json* body) override {
    calls.push_back(std::string(method) + " " + path);
    if (method == "POST" && path == "/v1/challenge") {
      set_last_status(200);
      challenged_tenant = body != nullptr ? body->value("tenant", "") : "";
      nonce_ = Base64Encode(RandomBytes(32));
      return Json{{"nonce", nonce_}, {"expires_at", "2030-01-01T00:00:00Z"}};
    }
    if (method == "POST" && path.starts_with("/v1/tenants/acme/keys/disk/release")) {
      REQUIRE(body != nullptr);
      last_request = *body;
      if (deny) {
        set_last_status(403);
        return Error(ErrorCode::kPolicyDenied, "claim debug equals false: got true",
                     "policy_denied");
      }
      auto jws = JwsVerify((*body)["evidence"]["jws"].get<std::string>(), sample_pub_.get());
      REQUIRE(jws.has_value());
      auto claims = ParseJson(jws->payload);
      REQUIRE(claims.has_value());
      REQUIRE((*body)["nonce"] == nonce_);
      auto digest = BindingDigest(nonce_, (*body)["tee-pubkey"]);
      REQUIRE(digest.has_value());
      REQUIRE((*claims)["report_data"] == HexEncode(*digest) + std::string(32, '0'));
      Json target = (*body)["tee-pubkey"];
      if (wrong_recipient) {
        auto other = GenerateEcKey("P-384");
        REQUIRE(other.has_value());
        auto jwk = PublicJwkFromKey(other->get(), "ECDH-ES+A256KW");
        REQUIRE(jwk.has_value());
        target = *jwk;
      }
      auto recipient = ParsePublicJwk(target);
      REQUIRE(recipient.has_value());
      auto jwe = JweEncrypt(*recipient, material_);
      REQUIRE(jwe.has_value());
      set_last_status(200);
      return Json{{"tenant", "acme"}, {"key", "disk"}, {"version", 3}, {"jwe", *jwe},
                  {"audit_seq", 41}};
    }
    set_last_status(404);
    return Error(ErrorCode::kNotFound, "no route", "not_found");
  }

  EVP_PKEY* sample_key() { return sample_key_.get(); }
  std::vector<std::uint8_t> material() const { return material_; }

  bool deny = false;
  bool wrong_recipient = false;
  std::string challenged_tenant;
  Json last_request;
  std::vector<std::string> calls;

 private:
  EvpPkeyPtr sample_key_;
  EvpPkeyPtr sample_pub_;
  std::string nonce_;
  std::vector<std::uint8_t> material_ = RandomBytes(32);
};

class FailingEvidence : public EvidenceProvider {
 public:
  Result<Json> Collect(std::span<const std::uint8_t, 48>) override {
    return Error(ErrorCode::kUnavailable, "no TEE device");
  }
};

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("ParseKeyType: accepts the five names and maps them to algs", "[client][unit]") {
  struct Row {
    const char* text;
    KeyType type;
    const char* alg;
  };
  const Row row = GENERATE(Row{"ec-p256", KeyType::kEcP256, "ECDH-ES+A256KW"},
                           Row{"ec-p384", KeyType::kEcP384, "ECDH-ES+A256KW"},
                           Row{"ec-p521", KeyType::kEcP521, "ECDH-ES+A256KW"},
                           Row{"rsa-3072", KeyType::kRsa3072, "RSA-OAEP-256"},
                           Row{"rsa-4096", KeyType::kRsa4096, "RSA-OAEP-256"});
  auto t = ParseKeyType(row.text);
  REQUIRE(t.has_value());
  CHECK(*t == row.type);
  CHECK(KeyTypeName(*t) == row.text);
  CHECK(KeyTypeAlg(*t) == row.alg);
}

TEST_CASE("ParseKeyType: rejects unknown names", "[client][unit]") {
  const std::string bad = GENERATE("", "ec", "EC-P384", "p384", "rsa-2048", "rsa-1024",
                                   "ec-p384 ", "ed25519");
  auto t = ParseKeyType(bad);
  CHECK(test::CodeOf(t) == ErrorCode::kInvalidArgument);
  CHECK(test::ReasonOf(t) == "bad_key_type");
}

TEST_CASE("GenerateEphemeralKey: public JWK carries the alg and no private members",
          "[client][unit]") {
  const KeyType type = GENERATE(KeyType::kEcP256, KeyType::kEcP384, KeyType::kEcP521);
  auto k = GenerateEphemeralKey(type);
  REQUIRE(k.has_value());
  CHECK(k->public_jwk["kty"] == "EC");
  CHECK(k->public_jwk["alg"] == "ECDH-ES+A256KW");
  CHECK_FALSE(k->public_jwk.contains("d"));
  CHECK(ParsePublicJwk(k->public_jwk).has_value());
}

TEST_CASE("ExitCodeFor: maps error codes to agent exit codes", "[client][unit]") {
  CHECK(ExitCodeFor(Error(ErrorCode::kPolicyDenied, "")) == 1);
  CHECK(ExitCodeFor(Error(ErrorCode::kInvalidArgument, "")) == 2);
  CHECK(ExitCodeFor(Error(ErrorCode::kNotFound, "")) == 2);
  CHECK(ExitCodeFor(Error(ErrorCode::kGone, "")) == 2);
  CHECK(ExitCodeFor(Error(ErrorCode::kFailedPrecondition, "")) == 2);
  CHECK(ExitCodeFor(Error(ErrorCode::kVerificationFailed, "")) == 3);
  CHECK(ExitCodeFor(Error(ErrorCode::kBadNonce, "")) == 3);
  CHECK(ExitCodeFor(Error(ErrorCode::kMalformedEvidence, "")) == 3);
  CHECK(ExitCodeFor(Error(ErrorCode::kUnavailable, "", "unreachable")) == 4);
  CHECK(ExitCodeFor(Error(ErrorCode::kSealed, "")) == 4);
  CHECK(ExitCodeFor(Error(ErrorCode::kInternal, "")) == 4);
  CHECK(ExitCodeFor(Error(ErrorCode::kRateLimited, "")) == 4);
}

TEST_CASE("FetchKey: challenge, bind, release, unwrap", "[client][unit]") {
  FakeSkrd skrd;
  SampleAttester attester(
      [&] {
        auto pem = PrivateKeyToPem(skrd.sample_key());
        REQUIRE(pem.has_value());
        auto k = LoadPrivateKeyPem(*pem);
        REQUIRE(k.has_value());
        return std::move(k).value();
      }(),
      DefaultSampleClaims());
  FetchOptions opts;
  opts.tenant = "acme";
  opts.key = "disk";
  opts.evidence = &attester;

  SECTION("released with each EC key type") {
    opts.key_type = GENERATE(KeyType::kEcP256, KeyType::kEcP384, KeyType::kEcP521);
    auto r = FetchKey(opts, skrd);
    REQUIRE(r.has_value());
    const auto want = skrd.material();
    CHECK(std::vector<std::uint8_t>(r->key.Reveal().begin(), r->key.Reveal().end()) == want);
    CHECK(r->version == 3);
    CHECK(r->audit_seq == 41);
    CHECK(skrd.challenged_tenant == "acme");
    CHECK(skrd.last_request["tee-pubkey"]["alg"] == "ECDH-ES+A256KW");
    CHECK_FALSE(skrd.last_request["tee-pubkey"].contains("d"));
    CHECK(skrd.last_request["evidence"]["type"] == "sample");
  }
  SECTION("released with an RSA-3072 key") {
    opts.key_type = KeyType::kRsa3072;
    auto r = FetchKey(opts, skrd);
    REQUIRE(r.has_value());
    CHECK(r->key.size() == 32);
    CHECK(skrd.last_request["tee-pubkey"]["alg"] == "RSA-OAEP-256");
  }
  SECTION("version is passed as a query parameter") {
    opts.version = 2;
    auto r = FetchKey(opts, skrd);
    REQUIRE(r.has_value());
    REQUIRE(skrd.calls.size() == 2);
    CHECK(skrd.calls[1] == "POST /v1/tenants/acme/keys/disk/release?version=2");
  }
  SECTION("policy denial propagates as kPolicyDenied (exit 1)") {
    skrd.deny = true;
    auto r = FetchKey(opts, skrd);
    CHECK(test::CodeOf(r) == ErrorCode::kPolicyDenied);
    CHECK(ExitCodeFor(r.error()) == 1);
  }
  SECTION("a JWE addressed to another key is refused") {
    skrd.wrong_recipient = true;
    auto r = FetchKey(opts, skrd);
    CHECK(test::CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(test::ReasonOf(r) == "kid_mismatch");
  }
  SECTION("evidence that cannot be produced: exit 3") {
    FailingEvidence failing;
    opts.evidence = &failing;
    auto r = FetchKey(opts, skrd);
    CHECK(test::CodeOf(r) == ErrorCode::kMalformedEvidence);
    CHECK(test::ReasonOf(r) == "evidence_unavailable");
    CHECK(ExitCodeFor(r.error()) == 3);
    CHECK(skrd.calls.size() == 1);  // challenge only, no release attempt
  }
  SECTION("unknown key: kNotFound") {
    opts.key = "other";
    CHECK(test::CodeOf(FetchKey(opts, skrd)) == ErrorCode::kNotFound);
  }
  SECTION("missing evidence provider") {
    opts.evidence = nullptr;
    CHECK(test::CodeOf(FetchKey(opts, skrd)) == ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("WriteSecretFile: creates the output with mode 0600", "[client][unit]") {
  test::TempDir dir;
  const std::vector<std::uint8_t> data = {0x00, 0x01, 0xfe, 0xff, 0x0a};

  SECTION("new file, even under a permissive umask") {
    const mode_t old = ::umask(0);
    auto r = WriteSecretFile(dir.file("key.bin"), data);
    ::umask(old);
    REQUIRE(r.has_value());
    CHECK(ModeOf(dir.file("key.bin")) == 0600);
    CHECK(test::ReadFileOrFail(dir.file("key.bin")) == std::string("\x00\x01\xfe\xff\x0a", 5));
  }
  SECTION("existing world-readable file is narrowed and truncated") {
    test::WriteFile(dir.file("key.bin"), std::string(100, 'x'), 0644);
    REQUIRE(::chmod(dir.file("key.bin").c_str(), 0644) == 0);
    auto r = WriteSecretFile(dir.file("key.bin"), data);
    REQUIRE(r.has_value());
    CHECK(ModeOf(dir.file("key.bin")) == 0600);
    CHECK(test::ReadFileOrFail(dir.file("key.bin")).size() == data.size());
  }
  SECTION("missing directory") {
    CHECK(test::CodeOf(WriteSecretFile(dir.file("no/such/dir/key.bin"), data)) ==
          ErrorCode::kInvalidArgument);
  }
  SECTION("a symlink at the output path is refused") {
    test::WriteFile(dir.file("target"), "keep", 0644);
    std::filesystem::create_symlink(dir.file("target"), dir.file("link"));
    CHECK(test::CodeOf(WriteSecretFile(dir.file("link"), data)) == ErrorCode::kInvalidArgument);
    CHECK(test::ReadFileOrFail(dir.file("target")) == "keep");
  }
}

TEST_CASE("LogLine: one JSON object with level, msg and fields", "[client][unit]") {
  auto line = LogLine("info", "key released", Json{{"tenant", "acme"}, {"version", 3}});
  CHECK(line.find('\n') == std::string::npos);
  auto j = ParseJson(line);
  REQUIRE(j.has_value());
  CHECK((*j)["level"] == "info");
  CHECK((*j)["msg"] == "key released");
  CHECK((*j)["tenant"] == "acme");
  CHECK((*j)["version"] == 3);
}

}  // namespace skr::client
