// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the body of POST /v1/tenants/{t}/keys/{k}/release, the one request an
// unauthenticated caller sends with content. It runs what Broker::DoRelease
// (server/broker/broker.cpp) does with the body, built from the same public APIs, with no keystore
// and no network: ParseJson with the broker's limit, the {nonce, tee-pubkey, evidence} checks,
// the evidence digest for the audit record, ParsePublicJwk and the RFC 7638 thumbprint, evidence
// dispatch through an attestation::Registry holding the `sample` verifier and the `tpm` verifier
// (an AK CA and one enrolled AK configured), the binding check (JCS + SHA-384), the AK tenant
// check, a fixed policy and, when it allows, the JWE to the tee-pubkey. The nonce is taken as
// valid (the keystore's single-use check is not an input parser).
//
// Harness stand-in for a genuine attester: evidence {"type": "sample", "x-fuzz-payload": {...}}
// is replaced by {"type": "sample", "jws": ES256(payload)} signed with the configured attester
// key, and a payload "report_data" of "bind" by the binding digest of the request's nonce and
// tee-pubkey. Without it the fuzzer could never produce a valid signature and would stop at the
// signature check; with it, the steps after the binding check are fuzzed too.
//
// Invariants beyond "no crash / no sanitizer report":
//   - each step fails only with the codes the broker maps to 4xx (kInvalidArgument,
//     kMalformedEvidence, kVerificationFailed); never kInternal for client input;
//   - a verified evidence's bound data has its binding form's size;
//   - a release that passes every check yields a five-part compact JWE.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "attestation/binding.h"
#include "attestation/registry.h"
#include "attestation/sample/sample_verifier.h"
#include "attestation/tpm/tpm_verifier.h"
#include "common/clock.h"
#include "common/encoding.h"
#include "common/jose.h"
#include "common/x509.h"
#include "policy/policy.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/tpm_fuzz_fixture.h"

namespace {

using skr::ErrorCode;
using skr::Json;
using skr::fuzz::Require;
using skr::fuzz::TestKey;
namespace attestation = skr::attestation;
namespace tpm = skr::attestation::tpm;

// BrokerOptions::max_json_bytes; DoRelease's nonce length limit.
constexpr std::size_t kMaxBody = 256 * 1024;
constexpr std::size_t kMaxNonce = 128;
constexpr char kTenant[] = "t";
constexpr char kEnrolledAkId[] = "ak-1";

class OneAkDirectory final : public tpm::AkDirectory {
 public:
  skr::Result<tpm::EnrolledAk> FindActiveAk(std::string_view id) const override {
    if (id != kEnrolledAkId) return skr::Error(ErrorCode::kNotFound, "no such AK");
    return tpm::EnrolledAk{kEnrolledAkId, kTenant, "machine-1", skr::fuzz::AkPublic()};
  }
};

const attestation::Registry& Verifiers() {
  static const skr::SystemClock clock;
  static const OneAkDirectory directory;
  static const attestation::Registry registry = [] {
    attestation::Registry r;
    auto sample =
        attestation::sample::SampleVerifier::Create(skr::fuzz::PublicPem(TestKey::kAttesterP256));
    Require(sample.has_value());
    r.Register(std::move(sample).value());
    tpm::TpmVerifierOptions options;
    X509_up_ref(skr::fuzz::TestAkCa());
    options.ak_anchors.emplace_back(skr::fuzz::TestAkCa());
    options.clock = &clock;
    options.enrolled = &directory;
    r.Register(std::make_unique<tpm::TpmVerifier>(std::move(options)));
    return r;
  }();
  return registry;
}

const skr::policy::Policy& ReleasePolicy() {
  static const skr::policy::Policy policy = [] {
    auto p = skr::policy::Policy::ParseText(
        R"({"anyOf":[{"authority":"skr:local","allOf":[{"claim":"tee","equals":"sample"},)"
        R"({"claim":"debug","equals":false},{"claim":"sample.svn","greaterOrEquals":2}]},)"
        R"({"authority":"skr:local","allOf":[{"claim":"tee","equals":"tpm"},)"
        R"({"claim":"tpm.ak.trust","in":["enrolled","certificate"]}]}]})");
    Require(p.has_value());
    return std::move(p).value();
  }();
  return policy;
}

// A step's failure must be one the broker answers with 4xx.
template <typename T>
bool Failed(const skr::Result<T>& r) {
  if (r) return false;
  const ErrorCode c = r.error().code();
  Require(c == ErrorCode::kInvalidArgument || c == ErrorCode::kMalformedEvidence ||
          c == ErrorCode::kVerificationFailed);
  return true;
}

std::string BindingHex(std::string_view nonce, const Json& tee_pubkey, std::size_t size) {
  auto digest = skr::BindingDigest(nonce, tee_pubkey);
  Require(digest.has_value());
  std::vector<std::uint8_t> bytes(digest->begin(), digest->end());
  bytes.resize(size, 0);  // DESIGN.md section 2: REPORT_DATA = digest || 16 zero bytes
  return skr::HexEncode(bytes);
}

// The harness stand-in for a genuine sample attester (see the file comment).
void SignSamplePayload(Json& evidence, std::string_view nonce, const Json& tee_pubkey) {
  auto payload_it = evidence.find("x-fuzz-payload");
  auto type_it = evidence.find("type");
  if (payload_it == evidence.end() || !payload_it->is_object() || type_it == evidence.end() ||
      *type_it != "sample") {
    return;
  }
  Json payload = *payload_it;
  if (auto rd = payload.find("report_data"); rd != payload.end() && *rd == "bind") {
    *rd = BindingHex(nonce, tee_pubkey, 64);
  }
  const std::string text = skr::DumpJson(payload);
  if (text.size() > attestation::sample::kMaxJwsBytes / 2) return;
  auto jws = skr::JwsSign(skr::fuzz::Key(TestKey::kAttesterP256), "ES256", text);
  Require(jws.has_value());
  evidence.erase("x-fuzz-payload");
  evidence["jws"] = *jws;
}

// True when the request would be granted.
bool Release(std::string_view body) {
  // ParseBodyObject: an empty body is {}, anything else one JSON object within the limit.
  Json req = Json::object();
  if (!body.empty()) {
    auto parsed = skr::ParseJson(body, kMaxBody);
    if (!parsed) {
      Require(parsed.error().code() == ErrorCode::kInvalidArgument ||
              parsed.error().code() == ErrorCode::kPayloadTooLarge);
      return false;
    }
    req = std::move(parsed).value();
  }
  if (!req.is_object()) return false;
  auto nonce_it = req.find("nonce");
  auto pub_it = req.find("tee-pubkey");
  auto ev_it = req.find("evidence");
  if (nonce_it == req.end() || !nonce_it->is_string() ||
      nonce_it->get_ref<const std::string&>().empty() ||
      nonce_it->get_ref<const std::string&>().size() > kMaxNonce) {
    return false;
  }
  if (pub_it == req.end() || !pub_it->is_object()) return false;
  if (ev_it == req.end() || !ev_it->is_object()) return false;
  const std::string nonce = nonce_it->get<std::string>();
  // The audit record's evidence digest and type (DumpJson never throws on bad UTF-8).
  Require(skr::HexEncode(skr::Sha256(skr::DumpJson(*ev_it))).size() == 64);
  if (auto t = ev_it->find("type"); t != ev_it->end() && t->is_string()) {
    Require(skr::PrintableAscii(t->get_ref<const std::string&>(), 32).size() <= 32 + 3);  // "..."
  }

  auto jwk = skr::ParsePublicJwk(*pub_it);
  if (Failed(jwk)) return false;
  auto thumbprint = skr::JwkThumbprint(jwk->members);
  Require(thumbprint.has_value());

  Json evidence = *ev_it;
  SignSamplePayload(evidence, nonce, *pub_it);
  auto verified = Verifiers().Verify(evidence);
  if (Failed(verified)) return false;
  if (verified->binding_form == attestation::BindingForm::kReportData64) {
    Require(verified->bound_data.size() == 64);
  }
  if (Failed(attestation::CheckBinding(*verified, nonce, *pub_it))) return false;
  // Broker's CheckAkTenant: an enrolled AK vouches only for its own tenant.
  if (auto owner = verified->claims.find("tpm.ak.tenant"); owner != verified->claims.end()) {
    if (owner->second != kTenant) return false;
  }
  const skr::policy::Decision decision =
      ReleasePolicy().Evaluate(verified->claims, verified->authority);
  Require(!skr::DumpJson(decision.TraceJson()).empty());
  if (!decision.allowed) return false;
  const std::uint8_t material[32] = {0x42};
  auto jwe = skr::JweEncrypt(*jwk, material);
  Require(jwe.has_value() && std::count(jwe->begin(), jwe->end(), '.') == 4);
  return true;
}

// Valid requests: every step passes for each of them.
std::vector<skr::fuzz::Seed> MakeSeeds() {
  auto ec = skr::GenerateEcKey("P-256");
  Require(ec.has_value());
  auto jwk = skr::PublicJwkFromKey(ec->get(), "ECDH-ES+A256KW");
  Require(jwk.has_value());
  const std::string nonce = "n0nce-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  auto request = [&](const Json& evidence) {
    return skr::fuzz::Bytes(
        skr::DumpJson(Json{{"nonce", nonce}, {"tee-pubkey", *jwk}, {"evidence", evidence}}));
  };
  const Json payload = {{"debug", false}, {"svn", 2}, {"report_data", BindingHex(nonce, *jwk, 64)}};
  auto jws = skr::JwsSign(skr::fuzz::Key(TestKey::kAttesterP256), "ES256", skr::DumpJson(payload));
  Require(jws.has_value());

  auto digest = skr::BindingDigest(nonce, *jwk);
  Require(digest.has_value());
  Json tpm_enrolled = skr::fuzz::TpmQuoteEvidence(*digest);
  tpm_enrolled["ak_id"] = kEnrolledAkId;
  Json tpm_certified = skr::fuzz::TpmQuoteEvidence(*digest);
  auto der = skr::CertificateDer(skr::fuzz::MakeAkCertificate(std::nullopt).get());
  Require(der.has_value());
  tpm_certified["ak_cert"] = skr::Base64Encode(*der);

  return {
      {"sample", request(Json{{"type", "sample"}, {"jws", *jws}})},
      {"sample-harness-signed",
       request(Json{{"type", "sample"},
                    {"x-fuzz-payload", {{"debug", false}, {"svn", 7}, {"report_data", "bind"}}}})},
      {"tpm-enrolled", request(tpm_enrolled)},
      {"tpm-certified", request(tpm_certified)},
  };
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  // The harness must reach the end of the release path: every seed is granted.
  for (const auto& seed : MakeSeeds()) {
    if (!Release(skr::fuzz::AsText(seed.bytes.data(), seed.bytes.size()))) {
      std::fprintf(stderr, "release_request harness: seed %s is not granted\n", seed.name.c_str());
      std::abort();
    }
  }
  skr::fuzz::WriteSeeds("release_request", MakeSeeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > kMaxBody + 1) return 0;
  Release(skr::fuzz::AsText(data, size));
  return 0;
}
