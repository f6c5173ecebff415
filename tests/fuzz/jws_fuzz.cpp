// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for JWS compact verification (common/jose.h JwsVerify) and the `sample`
// evidence verifier built on it (attestation/sample/sample_verifier.h). The first input byte picks
// the mode; the rest is:
//   0: a compact JWS, verified with the fixed P-256 and P-384 attester keys;
//   1: a compact JWS, as {"type": "sample", "jws": ...} evidence to SampleVerifier (P-256 key);
//   2: a payload that the harness signs (ES256, the attester key) before SampleVerifier sees it,
//      so the payload checks after the signature are fuzzed too (what a holder of a genuine
//      attester could send).
// Invariants beyond "no crash / no sanitizer report":
//   - JwsVerify fails only with kMalformedEvidence malformed_jws or kVerificationFailed
//     signature_invalid; SampleVerifier only with kMalformedEvidence malformed_evidence or
//     kVerificationFailed evidence_signature_invalid;
//   - a verified JWS's payload is the base64url decoding of its middle part and its header an
//     object whose alg fits the key;
//   - verified sample evidence binds 64 bytes, reports them as report_data hex and has a boolean
//     debug claim.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "attestation/sample/sample_verifier.h"
#include "common/encoding.h"
#include "common/jose.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using skr::ErrorCode;
using skr::fuzz::Require;
using skr::fuzz::RequireError;
using skr::fuzz::TestKey;
namespace sample = skr::attestation::sample;

// JwsVerify's own cap is 64 KiB; a little above it reaches the size check.
constexpr std::size_t kMaxInput = 64 * 1024 + 16;

const sample::SampleVerifier& Verifier() {
  static const std::unique_ptr<sample::SampleVerifier> verifier = [] {
    auto v = sample::SampleVerifier::Create(skr::fuzz::PublicPem(TestKey::kAttesterP256));
    Require(v.has_value());
    return std::move(v).value();
  }();
  return *verifier;
}

void CheckJws(std::string_view compact, EVP_PKEY* key, std::string_view alg) {
  auto verified = skr::JwsVerify(compact, key);
  if (!verified) {
    const bool malformed = verified.error().code() == ErrorCode::kMalformedEvidence;
    RequireError(verified,
                 malformed ? ErrorCode::kMalformedEvidence : ErrorCode::kVerificationFailed,
                 {malformed ? "malformed_jws" : "signature_invalid"});
    return;
  }
  Require(verified->header.is_object() && verified->header.value("alg", "") == alg);
  const std::size_t dot1 = compact.find('.');
  const std::size_t dot2 = compact.find('.', dot1 + 1);
  auto payload = skr::Base64UrlDecode(compact.substr(dot1 + 1, dot2 - dot1 - 1));
  Require(payload.has_value() &&
          std::string(payload->begin(), payload->end()) == verified->payload);
}

void CheckSample(const skr::Json& evidence) {
  auto out = Verifier().Verify(evidence);
  if (!out) {
    const bool malformed = out.error().code() == ErrorCode::kMalformedEvidence;
    RequireError(out, malformed ? ErrorCode::kMalformedEvidence : ErrorCode::kVerificationFailed,
                 {malformed ? "malformed_evidence" : "evidence_signature_invalid"});
    return;
  }
  Require(out->bound_data.size() == 64);
  Require(out->binding_form == skr::attestation::BindingForm::kReportData64);
  Require(out->claims.at("report_data") == skr::HexEncode(out->bound_data));
  Require(out->claims.at("debug").is_boolean());
}

std::string Sign(TestKey key, std::string_view alg, std::string_view payload) {
  auto jws = skr::JwsSign(skr::fuzz::Key(key), alg, payload);
  Require(jws.has_value());
  return *jws;
}

std::vector<skr::fuzz::Seed> MakeSeeds() {
  const std::string payload = R"({"debug":false,"svn":2,"report_data":")" + std::string(128, '0') +
                              R"(","extra":[1,{"a":null}]})";
  auto with_mode = [](char mode, const std::string& rest) {
    return skr::fuzz::Bytes(std::string(1, mode) + rest);
  };
  return {
      {"jws-es256", with_mode(0, Sign(TestKey::kAttesterP256, "ES256", payload))},
      {"jws-es384", with_mode(0, Sign(TestKey::kAttesterP384, "ES384", payload))},
      {"sample-jws", with_mode(1, Sign(TestKey::kAttesterP256, "ES256", payload))},
      {"sample-payload", with_mode(2, payload)},
  };
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  skr::fuzz::WriteSeeds("jws", MakeSeeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0 || size > kMaxInput) return 0;
  const std::string_view rest = skr::fuzz::AsText(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      CheckJws(rest, skr::fuzz::Key(TestKey::kAttesterP256), "ES256");
      CheckJws(rest, skr::fuzz::Key(TestKey::kAttesterP384), "ES384");
      break;
    case 1:
      CheckSample(skr::Json{{"type", "sample"}, {"jws", std::string(rest)}});
      break;
    default:
      if (rest.size() > sample::kMaxJwsBytes / 2) return 0;  // fits a JWS after base64url
      CheckSample(
          skr::Json{{"type", "sample"}, {"jws", Sign(TestKey::kAttesterP256, "ES256", rest)}});
      break;
  }
  return 0;
}
