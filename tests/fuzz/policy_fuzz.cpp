// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for release policies (policy/policy.h): Policy::ParseText, the store-time
// validation, and Evaluate on a fixed claims set under the local and a token authority. Policy
// text comes from tenant admins (authenticated, but a tenant must not be able to hurt skrd or
// other tenants) and is re-parsed on every release. Invariants beyond "no crash / no sanitizer
// report":
//   - ParseText fails only with kInvalidArgument or kPayloadTooLarge; ValidateForStore only with
//     kInvalidArgument reason policy_tee_unconstrained or policy_lint;
//   - a denial's reason is non-empty, at most kMaxReasonLength bytes and valid UTF-8, and the
//     trace serializes;
//   - Evaluate is deterministic, and the parsed document re-parses to the same decision.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "policy/policy.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using skr::ErrorCode;
using skr::fuzz::Require;
namespace policy = skr::policy;

constexpr std::size_t kMaxInput = 64 * 1024;

// Claims of every JSON type a verifier produces, named as the real verifiers name them.
const skr::Claims& FixedClaims() {
  static const skr::Claims claims = [] {
    skr::Claims c;
    c["tee"] = "sample";
    c["debug"] = false;
    c["report_data"] = std::string(128, 'a');
    c["sample.svn"] = 3;
    c["sample.ratio"] = 0.5;
    c["sample.big"] = std::uint64_t{18446744073709551615ULL};
    c["sample.negative"] = std::int64_t{-9223372036854775807LL - 1};
    c["sample.list"] = skr::Json::array({1, "two", true, skr::Json::array({3})});
    c["sample.null"] = nullptr;
    c["sample.text"] = "caf\xc3\xa9 \xe2\x82\xac";  // multi-byte UTF-8, for reason shortening
    c["snp.policy.debug"] = false;
    c["snp.vmpl"] = 0;
    c["snp.reported_tcb.microcode"] = 115;
    c["snp.measurement"] = std::string(96, 'b');
    c["tpm.pcr.sha256.7"] = std::string(64, 'c');
    c["azure.vm_configuration.secure_boot"] = true;
    return c;
  }();
  return claims;
}

// Structural UTF-8 check (RFC 3629 section 4): lead byte, then the right number of continuation
// bytes; no overlong two-byte forms, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    if (b < 0x80) {
      extra = 0;
    } else if (b >= 0xC2 && b <= 0xDF) {
      extra = 1;
    } else if ((b & 0xF0) == 0xE0) {
      extra = 2;
    } else if (b >= 0xF0 && b <= 0xF4) {
      extra = 3;
    } else {
      return false;
    }
    if (extra > s.size() - i - 1) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

void CheckDecision(const policy::Decision& d) {
  if (!d.allowed) Require(!d.reason.empty());
  Require(d.reason.size() <= policy::kMaxReasonLength);
  Require(IsValidUtf8(d.reason));
  Require(!skr::DumpJson(d.TraceJson()).empty());
}

bool SameDecision(const policy::Decision& a, const policy::Decision& b) {
  return a.allowed == b.allowed && a.reason == b.reason && a.trace.size() == b.trace.size();
}

std::vector<skr::fuzz::Seed> MakeSeeds() {
  const char* kPolicies[][2] = {
      {"sample",
       R"({"anyOf":[{"authority":"skr:local","allOf":[{"claim":"tee","equals":"sample"},)"
       R"({"claim":"debug","equals":false},{"claim":"sample.svn","greaterOrEquals":2}]}]})"},
      {"azure-case",
       R"({"version":"1.0.0","AnyOf":[{"Authority":"https://sharedeus.eus.attest.azure.net/",)"
       R"("AllOf":[{"Claim":"x-ms-attestation-type","Equals":"sevsnpvm"}]}]})"},
      {"operators",
       R"({"allOf":[{"claim":"tee","in":["sample","tpm"]},{"claim":"sample.ratio","less":1},)"
       R"({"claim":"sample.big","greater":1e18},{"claim":"sample.null","exists":true},)"
       R"({"claim":"sample.list","equals":[1,"two",true,[3]]},)"
       R"({"anyOf":[{"claim":"sample.text","notEquals":"x"},)"
       R"({"claim":"missing","lessOrEquals":0}]}]})"},
      {"nested",
       R"({"anyOf":[{"allOf":[{"anyOf":[{"allOf":[{"claim":"tee","equals":"tpm"},)"
       R"({"claim":"tpm.pcr.sha256.7","equals":"cc"}]}]}]},{"claim":"snp.vmpl","equals":0}]})"},
  };
  std::vector<skr::fuzz::Seed> seeds;
  for (const auto& [name, text] : kPolicies) seeds.push_back({name, skr::fuzz::Bytes(text)});
  return seeds;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  skr::fuzz::WriteSeeds("policy", MakeSeeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > kMaxInput) return 0;
  auto parsed = policy::Policy::ParseText(skr::fuzz::AsText(data, size));
  if (!parsed) {
    Require(parsed.error().code() == ErrorCode::kInvalidArgument ||
            parsed.error().code() == ErrorCode::kPayloadTooLarge);
    return 0;
  }
  skr::fuzz::RequireError(parsed->ValidateForStore(), ErrorCode::kInvalidArgument,
                          {"policy_tee_unconstrained", "policy_lint"});

  const auto& claims = FixedClaims();
  for (std::string_view authority :
       {std::string_view("skr:local"), std::string_view("https://Attest.Example.com:443/x/")}) {
    const policy::Decision first = parsed->Evaluate(claims, authority);
    CheckDecision(first);
    Require(SameDecision(first, parsed->Evaluate(claims, authority)));
    auto reparsed = policy::Policy::Parse(parsed->document());
    Require(reparsed.has_value());
    Require(SameDecision(first, reparsed->Evaluate(claims, authority)));
  }
  return 0;
}
