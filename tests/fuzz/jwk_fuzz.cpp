// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for ParsePublicJwk (common/jose.h): the `tee-pubkey` JWK that any caller of
// POST .../release sends before anything is authenticated. The input is JSON text, parsed with
// the release endpoint's limits. Invariants beyond "no crash / no sanitizer report":
//   - ParseJson fails only with kInvalidArgument or kPayloadTooLarge;
//   - ParsePublicJwk fails only with kInvalidArgument reason invalid_tee_pubkey;
//   - an accepted JWK is RSA + RSA-OAEP-256 or EC (P-256/384/521) + ECDH-ES+A256KW, its members
//     are exactly the public ones, and re-exporting the imported key gives the same RFC 7638
//     thumbprint (base64url is canonical, so one key has one thumbprint);
//   - the binding digest over it and a JWE to it always succeed.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/jose.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using skr::ErrorCode;
using skr::fuzz::Require;
using skr::fuzz::RequireError;

// The release endpoint's body limit (BrokerOptions::max_json_bytes) and ParseJson's default depth.
constexpr std::size_t kMaxInput = 256 * 1024;

std::vector<skr::fuzz::Seed> MakeSeeds() {
  std::vector<skr::fuzz::Seed> seeds;
  auto add = [&](std::string name, EVP_PKEY* key, std::string_view alg) {
    auto jwk = skr::PublicJwkFromKey(key, alg);
    Require(jwk.has_value());
    seeds.push_back({std::move(name), skr::fuzz::Bytes(skr::DumpJson(*jwk))});
  };
  for (std::string_view crv : {"P-256", "P-384", "P-521"}) {
    auto key = skr::GenerateEcKey(crv);
    Require(key.has_value());
    add("ec-" + std::string(crv), key->get(), "ECDH-ES+A256KW");
  }
  auto rsa = skr::GenerateRsaKey(3072);
  Require(rsa.has_value());
  add("rsa-3072", rsa->get(), "RSA-OAEP-256");
  seeds.push_back(
      {"ec-optional-members",
       skr::fuzz::Bytes(R"({"kty":"EC","alg":"ECDH-ES+A256KW","crv":"P-256","kid":"k1",)"
                        R"("use":"enc","key_ops":["deriveKey"],)"
                        R"("x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",)"
                        R"("y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})")});
  return seeds;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  skr::fuzz::WriteSeeds("jwk", MakeSeeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > kMaxInput) return 0;
  auto json = skr::ParseJson(skr::fuzz::AsText(data, size), kMaxInput);
  if (!json) {
    Require(json.error().code() == ErrorCode::kInvalidArgument ||
            json.error().code() == ErrorCode::kPayloadTooLarge);
    return 0;
  }
  auto jwk = skr::ParsePublicJwk(*json);
  RequireError(jwk, ErrorCode::kInvalidArgument, {"invalid_tee_pubkey"});
  if (!jwk) return 0;

  Require(jwk->key != nullptr);
  if (jwk->kty == "RSA") {
    Require(jwk->alg == "RSA-OAEP-256" && jwk->crv.empty() && jwk->members.size() == 4);
    Require(EVP_PKEY_is_a(jwk->key.get(), "RSA") == 1);
  } else {
    Require(jwk->kty == "EC" && jwk->alg == "ECDH-ES+A256KW" && jwk->members.size() == 5);
    Require(jwk->crv == "P-256" || jwk->crv == "P-384" || jwk->crv == "P-521");
    Require(EVP_PKEY_is_a(jwk->key.get(), "EC") == 1);
  }
  for (const char* private_member : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) {
    Require(!jwk->members.contains(private_member));
  }

  auto thumbprint = skr::JwkThumbprint(jwk->members);
  Require(thumbprint.has_value() && thumbprint->size() == 43);  // base64url of 32 bytes
  auto exported = skr::PublicJwkFromKey(jwk->key.get(), jwk->alg);
  Require(exported.has_value());
  auto exported_thumbprint = skr::JwkThumbprint(*exported);
  Require(exported_thumbprint.has_value() && *exported_thumbprint == *thumbprint);

  Require(skr::BindingDigest("nonce", *json).has_value());
  const std::uint8_t material[32] = {1, 2, 3};
  auto jwe = skr::JweEncrypt(*jwk, material);
  Require(jwe.has_value() && std::count(jwe->begin(), jwe->end(), '.') == 4);
  return 0;
}
