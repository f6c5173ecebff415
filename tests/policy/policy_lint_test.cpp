// SPDX-License-Identifier: Apache-2.0
// Policy lint at store time (issue 12): the mistakes that would deny every VM without a word are
// refused with their JSON paths; policies that can match pass.
#include <catch2/catch.hpp>

#include "policy/claim_catalogue.h"
#include "policy/policy.h"

using skr::Json;
using skr::policy::Policy;

namespace {

Policy ParseOrFail(const std::string& text) {
  auto p = Policy::ParseText(text);
  if (!p) FAIL(p.error().message());
  return std::move(p).value();
}

// "path: message" for each problem.
std::vector<std::string> Problems(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& p : ParseOrFail(text).Lint()) out.push_back(p.path + ": " + p.message);
  return out;
}

const std::string kMeasurement(96, 'a');

}  // namespace

TEST_CASE("Policy lint: a policy that can match has no problems", "[policy][lint]") {
  const std::string ok = R"({"anyOf": [
    {"allOf": [{"claim": "tee", "equals": "sev-snp"},
               {"claim": "snp.measurement", "in": [")" + kMeasurement + R"("]},
               {"claim": "snp.reported_tcb.microcode", "greaterOrEquals": 210},
               {"claim": "snp.policy.debug", "equals": false},
               {"claim": "snp.product", "equals": "Milan"},
               {"claim": "snp.vmpl", "lessOrEquals": 0}]},
    {"allOf": [{"claim": "tee", "in": ["tpm", "az-snp-vtpm"]},
               {"claim": "tpm.pcr.sha256.7", "equals": ")" + std::string(64, '0') + R"("},
               {"claim": "snp.vmpl", "exists": false}]},
    {"allOf": [{"claim": "tee", "equals": "sample"}, {"claim": "sample.anything.at.all", "equals": 4}]},
    {"authority": "https://issuer.example", "allOf": [{"claim": "x-ms-whatever", "equals": "A"}]}]})";
  CHECK(Problems(ok).empty());
  CHECK(ParseOrFail(ok).ValidateForStore().has_value());
}

TEST_CASE("Policy lint: each mistake is named with its JSON path", "[policy][lint]") {
  auto one = [](const std::string& leaves) {
    auto p = Problems(R"({"allOf": [{"claim": "tee", "equals": "sev-snp"}, )" + leaves + "]}");
    REQUIRE(p.size() == 1);
    return p[0];
  };
  SECTION("a misspelt claim, with the nearest name") {
    CHECK(one(R"({"claim": "snp.measurment", "equals": ")" + kMeasurement + R"("})") ==
          "allOf[1].claim: no verifier produces the claim 'snp.measurment' for tee sev-snp "
          "(did you mean 'snp.measurement'?)");
  }
  SECTION("uppercase hex") {
    std::string upper(96, 'A');
    CHECK_THAT(one(R"({"claim": "snp.measurement", "equals": ")" + upper + R"("})"),
               Catch::StartsWith("allOf[1].equals: 'snp.measurement' is lowercase hex"));
  }
  SECTION("hex of the wrong length, inside an in list") {
    CHECK(one(R"({"claim": "snp.measurement", "in": [")" + kMeasurement + R"(", "abcd"]})") ==
          "allOf[1].in[1]: 'snp.measurement' is 48 bytes (96 hex digits), the value has 4 digits");
  }
  SECTION("a number written as a string") {
    CHECK(one(R"({"claim": "snp.vmpl", "equals": "0"})") ==
          "allOf[1].equals: string value can never match 'snp.vmpl', an integer: write 0 without quotes");
  }
  SECTION("a bool written as a string") {
    CHECK_THAT(one(R"({"claim": "snp.policy.debug", "equals": "false"})"),
               Catch::StartsWith("allOf[1].equals: string value can never match 'snp.policy.debug', a bool"));
  }
  SECTION("a numeric comparison on a string claim") {
    CHECK(one(R"({"claim": "snp.current_version", "greaterOrEquals": 1})") ==
          "allOf[1].greaterOrEquals: 'snp.current_version' is a string: 'greaterOrEquals' compares "
          "numbers and can never hold");
  }
  SECTION("a value outside a closed set") {
    CHECK(one(R"({"claim": "snp.product", "equals": "milan"})") ==
          "allOf[1].equals: 'snp.product' is never 'milan': it is one of Milan,Genoa,Turin");
  }
  SECTION("a claim of another TEE than the path allows") {
    CHECK(one(R"({"claim": "tpm.pcr.sha256.7", "equals": ")" + std::string(64, '0') + R"("})") ==
          "allOf[1].claim: 'tpm.pcr.sha256.7' is produced only for tee az-snp-vtpm, tpm, "
          "az-tdx-vtpm, and this path allows tee sev-snp");
  }
  SECTION("a PCR index out of range is no claim") {
    CHECK_THAT(Problems(R"({"allOf": [{"claim": "tee", "equals": "tpm"},
                                       {"claim": "tpm.pcr.sha256.24", "exists": true}]})")
                   .at(0),
               Catch::StartsWith("allOf[1].claim: no verifier produces the claim 'tpm.pcr.sha256.24'"));
  }
}

TEST_CASE("Policy lint: tee values and contradictions", "[policy][lint]") {
  auto p = Problems(R"({"anyOf": [{"allOf": [{"claim": "tee", "equals": "snp"}]},
                                  {"allOf": [{"claim": "tee", "equals": "tpm"},
                                             {"claim": "tee", "equals": "sev-snp"}]}]})");
  REQUIRE(p.size() == 2);
  CHECK(p[0] == "anyOf[0].allOf[0].equals: no verifier produces tee 'snp' (known: sev-snp, "
                "az-snp-vtpm, tpm, sample, tdx, az-tdx-vtpm)");
  CHECK(p[1] == "anyOf[1]: the conditions on 'tee' here allow no evidence type at once: this path "
                "never grants");
}

TEST_CASE("Policy lint: the top-level tee leaf narrows every skr:local rule", "[policy][lint]") {
  // A bare top-level leaf is an skr:local rule too, and a top-level allOf holds all of them.
  auto p = Problems(R"({"allOf": [{"claim": "tee", "equals": "tpm"},
                                  {"allOf": [{"claim": "snp.vmpl", "equals": 0}]}]})");
  REQUIRE(p.size() == 1);
  CHECK_THAT(p[0], Catch::StartsWith("allOf[1].allOf[0].claim: 'snp.vmpl' is produced only for tee sev-snp"));
}

TEST_CASE("Policy::ValidateForStore lists every problem and names the first", "[policy][lint]") {
  auto p = ParseOrFail(R"({"anyOf": [{"allOf": [{"claim": "tee", "equals": "sev-snp"},
                                                {"claim": "snp.vmpl", "equals": "0"},
                                                {"claim": "snp.measurment", "exists": true}]},
                                     {"claim": "snp.vmpl", "equals": 0}]})");
  auto r = p.ValidateForStore();
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().reason() == "policy_lint");
  REQUIRE(r.error().problems().size() == 3);  // two lint problems and the path without tee
  CHECK(r.error().problems()[0].path == "anyOf[0].allOf[1].equals");
  CHECK(r.error().problems()[1].path == "anyOf[0].allOf[2].claim");
  CHECK(r.error().problems()[2].path == "anyOf[1]");
  CHECK_THAT(r.error().message(), Catch::StartsWith("anyOf[0].allOf[1].equals: string value"));
  CHECK_THAT(r.error().message(), Catch::EndsWith("(and 2 more problems)"));
}

TEST_CASE("Claim catalogue: lookups, patterns and JSON", "[policy][lint]") {
  using namespace skr::policy;
  REQUIRE(FindClaim("snp.measurement") != nullptr);
  CHECK(FindClaim("snp.measurement")->hex_bytes == 48);
  CHECK(FindClaim("snp.measurement", kTeeTpm) == nullptr);
  CHECK(FindClaim("tpm.pcr.sha384.23") != nullptr);
  CHECK(FindClaim("tpm.pcr.sha384.07") == nullptr);
  CHECK(FindClaim("tpm.pcr.md5.7") == nullptr);
  CHECK(FindClaim("azure.vm_configuration.secure_boot") != nullptr);
  CHECK(FindClaim("azure.vm_configuration.a.b") == nullptr);
  CHECK(FindClaim("sample.a.b.c") != nullptr);
  CHECK(FindClaim("sample.") == nullptr);
  CHECK(NearestClaim("snp.measurment") == "snp.measurement");
  CHECK(NearestClaim("completely.different.name").empty());
  CHECK(NearestClaim("snp.measurment" + std::string(200, 'x')).empty());  // bounded work
  CHECK(TeeBit("sev-snp") == kTeeSevSnp);
  CHECK_FALSE(TeeBit("snp").has_value());
  const Json cat = ClaimCatalogueJson();
  REQUIRE(cat.is_array());
  CHECK(cat.size() == ClaimCatalogue().size());
  bool found = false;
  for (const auto& row : cat) {
    if (row["name"] == "snp.measurement") {
      found = true;
      CHECK(row["type"] == "hex");
      CHECK(row["hex_bytes"] == 48);
      CHECK(row["tee"] == Json::array({"sev-snp", "az-snp-vtpm"}));
    }
    if (row["name"] == "tee") CHECK(row["values"].size() == 6);
  }
  CHECK(found);
}

TEST_CASE("Policy denials name a type mismatch as such; the admin detail keeps hex whole",
          "[policy][lint]") {
  const std::string hex(96, 'b');
  auto p = ParseOrFail(R"({"allOf": [{"claim": "tee", "equals": "sev-snp"},
                                     {"claim": "snp.measurement", "equals": ")" + hex + R"("}]})");
  skr::Claims claims = {{"tee", "sev-snp"}, {"snp.measurement", std::string(96, 'c')}};
  auto d = p.Evaluate(claims, skr::policy::kLocalAuthority);
  REQUIRE_FALSE(d.allowed);
  CHECK(d.reason.find("..") != std::string::npos);  // bounded for audit records
  CHECK(d.Detail() == "snp.measurement equals \"" + hex + "\" (got \"" + std::string(96, 'c') + "\")");

  // A claim of another type (evaluated without the lint, e.g. a policy stored before it).
  auto q = ParseOrFail(R"({"allOf": [{"claim": "tee", "equals": "sample"},
                                     {"claim": "sample.svn", "greaterOrEquals": 4},
                                     {"claim": "sample.tier", "in": [1, 2]}]})");
  skr::Claims c2 = {{"tee", "sample"}, {"sample.svn", "4"}, {"sample.tier", 1}};
  auto d2 = q.Evaluate(c2, skr::policy::kLocalAuthority);
  REQUIRE_FALSE(d2.allowed);
  CHECK(d2.reason == "sample.svn greaterOrEquals 4 (got \"4\": type mismatch, the claim is a string, "
                     "the condition compares numbers)");
  c2["sample.svn"] = 5;
  c2["sample.tier"] = "1";
  auto d3 = q.Evaluate(c2, skr::policy::kLocalAuthority);
  REQUIRE_FALSE(d3.allowed);
  CHECK(d3.reason == "sample.tier in [1,2] (got \"1\": type mismatch, the claim is a string, the list holds no string)");
  c2["sample.tier"] = 3;  // same type, another value: no mismatch named
  CHECK(q.Evaluate(c2, skr::policy::kLocalAuthority).reason == "sample.tier in [1,2] (got 3)");
}
