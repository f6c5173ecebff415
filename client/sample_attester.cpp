// SPDX-License-Identifier: Apache-2.0
#include "client/sample_attester.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>

#include <array>
#include <string_view>
#include <utility>

#include "common/encoding.h"
#include "common/jose.h"

namespace skr::client {
namespace {

// ES256 for P-256, ES384 for P-384 (RFC 7518 section 3.4); nothing else is accepted by skrd's
// sample verifier.
Result<std::string> AlgForKey(EVP_PKEY* key) {
  if (key == nullptr || EVP_PKEY_is_a(key, "EC") != 1) {
    return Error(ErrorCode::kInvalidArgument, "the sample attester key must be an EC key");
  }
  char group[64] = {0};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                     &len) != 1) {
    return OpenSslError("EVP_PKEY_get_utf8_string_param(group)", ErrorCode::kInvalidArgument);
  }
  const std::string_view name(group, len);
  if (name == "prime256v1" || name == "P-256" || name == "secp256r1") return std::string("ES256");
  if (name == "secp384r1" || name == "P-384") return std::string("ES384");
  return Error(ErrorCode::kInvalidArgument,
               "the sample attester key must be on P-256 or P-384 (got " + std::string(name) + ")");
}

}  // namespace

Json DefaultSampleClaims() { return Json{{"debug", false}}; }

Result<Json> BuildSampleEvidence(EVP_PKEY* sample_key, const Json& claims,
                                 std::span<const std::uint8_t, 48> digest) {
  if (!claims.is_object()) {
    return Error(ErrorCode::kInvalidArgument, "sample claims must be a JSON object");
  }
  SKR_TRY(std::string alg, AlgForKey(sample_key));
  // DESIGN.md section 2: REPORT_DATA (64 bytes) = binding digest (48) || 16 zero bytes.
  std::array<std::uint8_t, 64> report_data{};
  for (std::size_t i = 0; i < digest.size(); ++i) report_data[i] = digest[i];
  Json payload = claims;
  payload["report_data"] = HexEncode(report_data);
  SKR_TRY(std::string jws, JwsSign(sample_key, alg, DumpJson(payload)));
  return Json{{"type", "sample"}, {"jws", std::move(jws)}};
}

Result<Json> LoadSampleClaims(const std::string& path) {
  auto text = ReadFile(path, 1u << 20);
  if (!text) {
    return Error(ErrorCode::kInvalidArgument, "cannot read claims file " + path, "bad_claims");
  }
  auto parsed = ParseJson(*text);
  if (!parsed || !parsed->is_object()) {
    return Error(ErrorCode::kInvalidArgument, "claims file " + path + " is not a JSON object",
                 "bad_claims");
  }
  return std::move(parsed).value();
}

Result<SampleAttester> SampleAttester::Load(const std::string& key_file,
                                            const std::string& claims_file) {
  auto pem = ReadFile(key_file, 1u << 20);
  if (!pem) {
    return Error(ErrorCode::kInvalidArgument, "cannot read sample key file " + key_file,
                 "bad_sample_key");
  }
  auto key = LoadPrivateKeyPem(*pem);
  OPENSSL_cleanse(pem->data(), pem->size());
  if (!key) {
    return Error(ErrorCode::kInvalidArgument, "no PEM private key in " + key_file,
                 "bad_sample_key");
  }
  SKR_TRY_VOID(AlgForKey(key->get()));
  Json claims = DefaultSampleClaims();
  if (!claims_file.empty()) {
    SKR_TRY(claims, LoadSampleClaims(claims_file));
  }
  return SampleAttester(std::move(key).value(), std::move(claims));
}

Result<Json> SampleAttester::Collect(std::span<const std::uint8_t, 48> digest) {
  return BuildSampleEvidence(key_.get(), claims_, digest);
}

}  // namespace skr::client
