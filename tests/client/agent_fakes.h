// SPDX-License-Identifier: Apache-2.0
// Test doubles for the agent's fetch flow, shared by agent_test.cpp and
// agent_retry_after_test.cpp: a fake skrd behind the ApiClient interface, a connector that hands
// out clients for it, and a fake clock for RetryEnvironment (time moves only when the agent sleeps
// or a fake connection "costs" time).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "client/agent.h"
#include "client/api_client.h"
#include "common/encoding.h"
#include "common/jose.h"
#include "common/ossl.h"

namespace skr::client::fakes {

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

  Result<Json> Send(std::string_view method, const std::string& path, const Json* body) override {
    calls.push_back(std::string(method) + " " + path);
    set_last_retry_after(std::nullopt);  // as ApiClient::Send: per response
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
      if (release_error_status != 0 && release_errors_left != 0) {
        if (release_errors_left > 0) --release_errors_left;
        set_last_status(release_error_status);
        set_last_retry_after(release_retry_after);
        return ErrorFromResponse(release_error_status,
                                 DumpJson(Json{{"type", "urn:skr:problem:" + release_error_slug},
                                               {"detail", "injected"}}));
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
      return Json{
          {"tenant", "acme"}, {"key", "disk"}, {"version", 3}, {"jwe", *jwe}, {"audit_seq", 41}};
    }
    set_last_status(404);
    return Error(ErrorCode::kNotFound, "no route", "not_found");
  }

  EVP_PKEY* sample_key() { return sample_key_.get(); }
  std::vector<std::uint8_t> material() const { return material_; }

  bool deny = false;
  bool wrong_recipient = false;
  int release_error_status = 0;  // when set, release answers this status with the slug below
  std::string release_error_slug = "unavailable";
  int release_errors_left = -1;  // how many releases fail with the status above; -1: all
  std::optional<std::chrono::seconds> release_retry_after;  // sent with those failures
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

// Forwards to a FakeSkrd that outlives it (the connector hands out one client per attempt).
class ForwardingApi : public ApiClient {
 public:
  explicit ForwardingApi(FakeSkrd& target) : target_(target) {}
  Result<Json> Send(std::string_view method, const std::string& path, const Json* body) override {
    auto r = target_.Send(method, path, body);
    set_last_status(target_.last_status());
    set_last_retry_after(target_.last_retry_after());
    return r;
  }

 private:
  FakeSkrd& target_;
};

// A clock that only moves when the agent sleeps or when a fake connection "costs" time.
class FakeRetryEnv : public RetryEnvironment {
 public:
  std::chrono::steady_clock::time_point Now() override { return now; }
  void SleepFor(std::chrono::milliseconds d) override {
    sleeps.push_back(d);
    now += d;
  }
  double Jitter() override {
    ++jitter_draws;
    return jitter_source ? jitter_source() : jitter;
  }

  std::chrono::steady_clock::time_point now{};
  std::vector<std::chrono::milliseconds> sleeps;
  double jitter = 0.5;
  std::function<double()> jitter_source;  // when set, replaces `jitter`
  int jitter_draws = 0;
};

// URL -> FakeSkrd; URLs without a server are "down" (connect fails after `down_cost`).
class FakeConnector : public ServerConnector {
 public:
  explicit FakeConnector(FakeRetryEnv& env) : env_(env) {}
  Result<std::unique_ptr<ApiClient>> Connect(const std::string& url,
                                             std::chrono::milliseconds budget) override {
    connects.push_back(url);
    budgets.push_back(budget);
    auto it = servers.find(url);
    if (it == servers.end()) {
      env_.now += std::min(down_cost, budget);  // a connect timeout is bounded by the budget
      return Error(ErrorCode::kUnavailable, "connection refused", "unreachable");
    }
    return std::unique_ptr<ApiClient>(new ForwardingApi(*it->second));
  }

  std::map<std::string, FakeSkrd*> servers;
  std::vector<std::string> connects;
  std::vector<std::chrono::milliseconds> budgets;
  std::chrono::milliseconds down_cost{0};

 private:
  FakeRetryEnv& env_;
};

inline EvpPkeyPtr CopyPrivateKey(EVP_PKEY* key) {
  auto pem = PrivateKeyToPem(key);
  REQUIRE(pem.has_value());
  auto k = LoadPrivateKeyPem(*pem);
  REQUIRE(k.has_value());
  return std::move(k).value();
}

}  // namespace skr::client::fakes
