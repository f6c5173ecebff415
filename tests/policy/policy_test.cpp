// SPDX-License-Identifier: Apache-2.0
#include "policy/policy.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace skr::policy {
namespace {

using test::CodeOf;

constexpr const char* kMaa = "https://sharedeus.eus.attest.azure.net";

Policy MustParse(const Json& doc) {
  auto p = Policy::Parse(doc);
  if (!p.has_value()) FAIL("unexpected parse error: " << p.error().message());
  return *p;
}

Policy MustParseText(std::string_view text) {
  auto p = Policy::ParseText(text);
  if (!p.has_value()) FAIL("unexpected parse error: " << p.error().message());
  return *p;
}

// The message of a parse that must fail with kInvalidArgument.
std::string ParseErrorOf(const Json& doc) {
  auto p = Policy::Parse(doc);
  REQUIRE_FALSE(p.has_value());
  CHECK(p.error().code() == ErrorCode::kInvalidArgument);
  CHECK(p.error().reason() == "invalid_policy");
  return p.error().message();
}

// A policy with one skr:local rule holding one leaf.
Json OneLeaf(const Json& leaf) {
  return Json{
      {"version", "1.0.0"},
      {"anyOf", Json::array({Json{{"authority", "skr:local"}, {"allOf", Json::array({leaf})}}})}};
}

Json Leaf(const std::string& claim, const std::string& op, const Json& value) {
  return Json{{"claim", claim}, {op, value}};
}

// Evaluates a one-leaf policy under skr:local.
bool EvalLeaf(const Json& leaf, const Claims& claims) {
  const Policy p = MustParse(OneLeaf(leaf));
  return p.Evaluate(claims, "skr:local").allowed;
}

// The Azure confidential VM (AMD SEV-SNP) release policy, as published in the Azure
// confidential computing SKR policy examples (structure only).
constexpr const char* kAzureCvmPolicy = R"({
  "anyOf": [
    {
      "authority": "https://sharedeus.eus.attest.azure.net",
      "allOf": [
        {"claim": "x-ms-isolation-tee.x-ms-attestation-type", "equals": "sevsnpvm"},
        {"claim": "x-ms-isolation-tee.x-ms-compliance-status", "equals": "azure-compliant-cvm"}
      ]
    }
  ],
  "version": "1.0.0"
})";

Claims AzureCvmClaims() {
  Claims c;
  FlattenInto(c, "", Json::parse(R"({"x-ms-isolation-tee": {"x-ms-attestation-type": "sevsnpvm",
                              "x-ms-compliance-status": "azure-compliant-cvm"},
                              "x-ms-ver": "1.0"})"));
  return c;
}

Claims SnpClaims() {
  Claims c;
  c["tee"] = "sev-snp";
  c["snp.policy.debug"] = false;
  c["snp.measurement"] = "7a2b00";
  c["snp.reported_tcb.microcode"] = 211;
  c["snp.vmpl"] = 0;
  return c;
}

constexpr const char* kDesignPolicy = R"({"version": "1.0.0",
 "anyOf": [{"authority": "skr:local",
            "allOf": [{"claim": "tee", "equals": "sev-snp"},
                      {"claim": "snp.policy.debug", "equals": false},
                      {"claim": "snp.measurement", "in": ["9f1c00", "7a2b00"]},
                      {"claim": "snp.reported_tcb.microcode", "greaterOrEquals": 210}]}]})";

// ---------------------------------------------------------------------------------------------
// Azure-form policies

TEST_CASE("Policy: the Azure confidential VM policy parses and allows an Azure-compliant CVM",
          "[policy][unit]") {
  const Policy p = MustParseText(kAzureCvmPolicy);
  const Decision d = p.Evaluate(AzureCvmClaims(), kMaa);
  CHECK(d.allowed);
  CHECK(d.reason.empty());
  REQUIRE(d.trace.size() == 3);
  CHECK(d.trace[0].op == "authority");
  CHECK(d.trace[0].result);
  CHECK(d.trace[1].path == "anyOf[0].allOf[0]");
  CHECK(d.trace[1].claim == "x-ms-isolation-tee.x-ms-attestation-type");
  CHECK(d.trace[1].actual == "sevsnpvm");
  CHECK(d.trace[2].path == "anyOf[0].allOf[1]");
}

TEST_CASE("Policy: the Azure confidential VM policy denies a non-compliant CVM", "[policy][unit]") {
  const Policy p = MustParseText(kAzureCvmPolicy);
  Claims c = AzureCvmClaims();
  c["x-ms-isolation-tee.x-ms-compliance-status"] = "not-compliant";
  const Decision d = p.Evaluate(c, kMaa);
  CHECK_FALSE(d.allowed);
  CHECK(d.reason ==
        "x-ms-isolation-tee.x-ms-compliance-status equals \"azure-compliant-cvm\" "
        "(got \"not-compliant\")");
}

TEST_CASE("Policy: older Azure forms with capitalised names and no version parse",
          "[policy][unit]") {
  const char* text = GENERATE(
      R"({"AnyOf":[{"AllOf":[{"Claim":"x-ms-isolation-tee.x-ms-attestation-type",
          "Equals":"sevsnpvm"}],"Authority":"https://sharedeus.eus.attest.azure.net/"}]})",
      R"({"anyOf":[{"authority":"https://sharedeus.eus.attest.azure.net/","allOf":[
          {"claim":"x-ms-isolation-tee.x-ms-attestation-type","equals":"sevsnpvm"}]}],
          "version":"0.2"})",
      R"({"ANYOF":[{"AUTHORITY":"https://sharedeus.eus.attest.azure.net","anyof":[
          {"CLAIM":"x-ms-isolation-tee.x-ms-attestation-type","EQUALS":"sevsnpvm"}]}],
          "Version":"1.0.0"})");
  const Policy p = MustParseText(text);
  CHECK(p.Evaluate(AzureCvmClaims(), kMaa).allowed);
  Claims other = AzureCvmClaims();
  other["x-ms-isolation-tee.x-ms-attestation-type"] = "tdxvm";
  CHECK_FALSE(p.Evaluate(other, kMaa).allowed);
}

TEST_CASE("Policy: the Azure SGX example with several authorities and greater parses",
          "[policy][unit]") {
  const Policy p = MustParseText(R"({
    "anyOf": [
      {"authority": "https://sharedeus2.eus2.attest.azure.net",
       "allOf": [{"claim": "x-ms-sgx-mrsigner", "equals": "9fa48b16"},
                 {"claim": "x-ms-sgx-svn", "greater": 1}]},
      {"authority": "https://sharedwus.wus.attest.azure.net",
       "allOf": [{"claim": "x-ms-sgx-mrsigner", "equals": "9fa48b16"},
                 {"claim": "x-ms-sgx-svn", "greater": 1}]}
    ],
    "version": "1.0.0"})");
  Claims c;
  c["x-ms-sgx-mrsigner"] = "9fa48b16";
  c["x-ms-sgx-svn"] = 2;
  CHECK(p.Evaluate(c, "https://sharedeus2.eus2.attest.azure.net").allowed);
  CHECK(p.Evaluate(c, "https://sharedwus.wus.attest.azure.net/").allowed);
  CHECK_FALSE(p.Evaluate(c, "https://evil.example").allowed);
  c["x-ms-sgx-svn"] = 1;
  const Decision d = p.Evaluate(c, "https://sharedwus.wus.attest.azure.net");
  CHECK_FALSE(d.allowed);
  // The first rule whose authority matched is the second one.
  CHECK(d.reason == "x-ms-sgx-svn greater 1 (got 1)");
}

TEST_CASE("Policy: the DESIGN.md example allows matching skr:local claims", "[policy][unit]") {
  const Policy p = MustParseText(kDesignPolicy);
  const Decision d = p.Evaluate(SnpClaims(), "skr:local");
  CHECK(d.allowed);
  REQUIRE(d.trace.size() == 5);
  for (const auto& e : d.trace) CHECK(e.result);
}

TEST_CASE("Policy: document() returns the parsed document", "[policy][unit]") {
  const Json doc = Json::parse(kDesignPolicy);
  const Policy p = MustParse(doc);
  CHECK(p.document() == doc);
}

// ---------------------------------------------------------------------------------------------
// Case-insensitive names

TEST_CASE("Policy: operator names are matched case-insensitively", "[policy][unit]") {
  Claims c;
  c["n"] = 5;
  const std::string op = GENERATE("equals", "EQUALS", "Equals", "eQuAlS");
  CHECK(EvalLeaf(Json{{"claim", "n"}, {op, 5}}, c));
  const std::string ge = GENERATE("greaterOrEquals", "GreaterOrEquals", "greaterorequals");
  CHECK(EvalLeaf(Json{{"claim", "n"}, {ge, 5}}, c));
  const std::string ne = GENERATE("notEquals", "NotEquals", "NOTEQUALS");
  CHECK(EvalLeaf(Json{{"claim", "n"}, {ne, 4}}, c));
}

TEST_CASE("Policy: trace and reason use canonical operator spelling", "[policy][unit]") {
  Claims c;
  c["n"] = 5;
  const Policy p = MustParse(OneLeaf(Json{{"Claim", "n"}, {"LESSOREQUALS", 4}}));
  const Decision d = p.Evaluate(c, "skr:local");
  CHECK_FALSE(d.allowed);
  REQUIRE(d.trace.size() == 2);
  CHECK(d.trace[1].op == "lessOrEquals");
  CHECK(d.reason == "n lessOrEquals 4 (got 5)");
}

// ---------------------------------------------------------------------------------------------
// Operators

struct OpCase {
  const char* name;
  const char* op;
  Json value;
  bool claim_present;
  Json claim;
  bool expected;
};

TEST_CASE("Policy: each operator on true, false, missing and type-mismatched claims",
          "[policy][unit]") {
  const std::vector<OpCase> cases = {
      // equals
      {"equals string true", "equals", "a", true, "a", true},
      {"equals string false", "equals", "a", true, "b", false},
      {"equals string is case-sensitive", "equals", "a", true, "A", false},
      {"equals missing", "equals", "a", false, nullptr, false},
      {"equals type mismatch", "equals", "1", true, 1, false},
      {"equals bool true", "equals", false, true, false, true},
      {"equals bool false", "equals", false, true, true, false},
      {"equals bool vs number", "equals", false, true, 0, false},
      {"equals array true", "equals", Json::array({1, "x"}), true, Json::array({1, "x"}), true},
      {"equals array order", "equals", Json::array({1, 2}), true, Json::array({2, 1}), false},
      {"equals null claim", "equals", "a", true, nullptr, false},
      // notEquals
      {"notEquals true", "notEquals", "a", true, "b", true},
      {"notEquals false", "notEquals", "a", true, "a", false},
      {"notEquals missing", "notEquals", "a", false, nullptr, false},
      {"notEquals type mismatch", "notEquals", "1", true, 1, false},
      {"notEquals number", "notEquals", 1, true, 2.5, true},
      {"notEquals number equal across types", "notEquals", 1, true, 1.0, false},
      // less
      {"less true", "less", 5, true, 4, true},
      {"less equal", "less", 5, true, 5, false},
      {"less false", "less", 5, true, 6, false},
      {"less missing", "less", 5, false, nullptr, false},
      {"less string claim", "less", 5, true, "4", false},
      {"less bool claim", "less", 5, true, false, false},
      // lessOrEquals
      {"lessOrEquals true", "lessOrEquals", 5, true, 5, true},
      {"lessOrEquals below", "lessOrEquals", 5, true, -3, true},
      {"lessOrEquals false", "lessOrEquals", 5, true, 6, false},
      {"lessOrEquals missing", "lessOrEquals", 5, false, nullptr, false},
      {"lessOrEquals type mismatch", "lessOrEquals", 5, true, Json::array({1}), false},
      // greater
      {"greater true", "greater", 5, true, 6, true},
      {"greater equal", "greater", 5, true, 5, false},
      {"greater false", "greater", 5, true, 4, false},
      {"greater missing", "greater", 5, false, nullptr, false},
      {"greater string claim", "greater", 5, true, "6", false},
      // greaterOrEquals
      {"greaterOrEquals true", "greaterOrEquals", 210, true, 210, true},
      {"greaterOrEquals above", "greaterOrEquals", 210, true, 211.5, true},
      {"greaterOrEquals false", "greaterOrEquals", 210, true, 209, false},
      {"greaterOrEquals missing", "greaterOrEquals", 210, false, nullptr, false},
      {"greaterOrEquals type mismatch", "greaterOrEquals", 210, true, "210", false},
      // exists
      {"exists true present", "exists", true, true, "x", true},
      {"exists true missing", "exists", true, false, nullptr, false},
      {"exists false missing", "exists", false, false, nullptr, true},
      {"exists false present", "exists", false, true, 0, false},
      {"exists true null claim counts as present", "exists", true, true, nullptr, true},
      // in
      {"in true", "in", Json::array({"a", "b"}), true, "b", true},
      {"in false", "in", Json::array({"a", "b"}), true, "c", false},
      {"in missing", "in", Json::array({"a", "b"}), false, nullptr, false},
      {"in type mismatch", "in", Json::array({"1", "2"}), true, 1, false},
      {"in numbers across types", "in", Json::array({1.0, 7}), true, 1, true},
      {"in mixed list", "in", Json::array({"a", 3, true}), true, true, true},
  };
  for (const auto& tc : cases) {
    INFO(tc.name);
    Claims claims;
    claims["other"] = "unrelated";
    if (tc.claim_present) claims["c"] = tc.claim;
    const Policy p = MustParse(OneLeaf(Leaf("c", tc.op, tc.value)));
    const Decision d = p.Evaluate(claims, "skr:local");
    CHECK(d.allowed == tc.expected);
    REQUIRE(d.trace.size() == 2);
    CHECK(d.trace[1].result == tc.expected);
    CHECK(d.trace[1].claim == "c");
    CHECK(d.trace[1].expected == tc.value);
    if (tc.claim_present) {
      CHECK(d.trace[1].actual == tc.claim);
    } else {
      CHECK(d.trace[1].actual.is_null());
    }
  }
}

TEST_CASE("Policy: numbers compare numerically across integer, unsigned and float",
          "[policy][unit]") {
  Claims c;
  SECTION("integer claim equals float value") {
    c["c"] = 1;
    CHECK(EvalLeaf(Leaf("c", "equals", 1.0), c));
    CHECK_FALSE(EvalLeaf(Leaf("c", "equals", 1.5), c));
  }
  SECTION("float claim equals unsigned value") {
    c["c"] = 210.0;
    CHECK(EvalLeaf(Leaf("c", "equals", std::uint64_t{210}), c));
    CHECK(EvalLeaf(Leaf("c", "greaterOrEquals", std::uint64_t{210}), c));
  }
  SECTION("negative signed against unsigned") {
    c["c"] = std::int64_t{-1};
    CHECK(EvalLeaf(Leaf("c", "less", std::uint64_t{0}), c));
    CHECK_FALSE(EvalLeaf(Leaf("c", "equals", std::numeric_limits<std::uint64_t>::max()), c));
    CHECK(EvalLeaf(Leaf("c", "notEquals", std::numeric_limits<std::uint64_t>::max()), c));
  }
  SECTION("large unsigned against signed") {
    c["c"] = std::numeric_limits<std::uint64_t>::max();
    CHECK(EvalLeaf(Leaf("c", "greater", std::numeric_limits<std::int64_t>::max()), c));
    CHECK_FALSE(EvalLeaf(Leaf("c", "less", std::int64_t{-5}), c));
  }
  SECTION("64-bit integers are not rounded through double") {
    const std::uint64_t two53 = std::uint64_t{1} << 53;
    c["c"] = two53 + 1;
    CHECK_FALSE(EvalLeaf(Leaf("c", "equals", static_cast<double>(two53)), c));
    CHECK(EvalLeaf(Leaf("c", "greater", static_cast<double>(two53)), c));
    CHECK(EvalLeaf(Leaf("c", "equals", std::int64_t{1} << 53 | 1), c));
  }
  SECTION("numbers parsed from text") {
    const Policy p = MustParseText(
        R"({"anyOf":[{"authority":"skr:local","allOf":[{"claim":"c","equals":2.0},
            {"claim":"d","lessOrEquals":-0.5},{"claim":"e","in":[3.0, 4]}]}]})");
    c["c"] = 2;
    c["d"] = -1;
    c["e"] = std::uint64_t{3};
    CHECK(p.Evaluate(c, "skr:local").allowed);
  }
  SECTION("numbers nested in arrays compare numerically") {
    c["c"] = Json::array({1, 2});
    CHECK(EvalLeaf(Leaf("c", "equals", Json::array({1.0, 2.0})), c));
  }
}

// ---------------------------------------------------------------------------------------------
// Nested groups

TEST_CASE("Policy: nested anyOf/allOf groups evaluate with boolean semantics", "[policy][unit]") {
  const Policy p = MustParseText(R"({"allOf":[{"authority":"skr:local","allOf":[
      {"claim":"tee","equals":"sev-snp"},
      {"anyOf":[{"claim":"snp.measurement","equals":"aa"},
                {"AllOf":[{"claim":"snp.measurement","equals":"bb"},
                          {"claim":"snp.vmpl","equals":0}]}]}]}]})");
  Claims c;
  c["tee"] = "sev-snp";
  c["snp.vmpl"] = 0;
  SECTION("first alternative") {
    c["snp.measurement"] = "aa";
    CHECK(p.Evaluate(c, "skr:local").allowed);
  }
  SECTION("second alternative") {
    c["snp.measurement"] = "bb";
    CHECK(p.Evaluate(c, "skr:local").allowed);
  }
  SECTION("second alternative with wrong vmpl") {
    c["snp.measurement"] = "bb";
    c["snp.vmpl"] = 1;
    CHECK_FALSE(p.Evaluate(c, "skr:local").allowed);
  }
  SECTION("neither") {
    c["snp.measurement"] = "cc";
    const Decision d = p.Evaluate(c, "skr:local");
    CHECK_FALSE(d.allowed);
    // A false anyOf is explained by its first alternative.
    CHECK(d.reason == "snp.measurement equals \"aa\" (got \"cc\")");
    REQUIRE(d.trace.size() == 5);
    CHECK(d.trace[2].path == "allOf[0].allOf[1].anyOf[0]");
    CHECK(d.trace[3].path == "allOf[0].allOf[1].anyOf[1].AllOf[0]");
    CHECK(d.trace[4].path == "allOf[0].allOf[1].anyOf[1].AllOf[1]");
  }
}

TEST_CASE("Policy: top-level elements without authority apply to skr:local only",
          "[policy][unit]") {
  const Policy p = MustParseText(R"({"anyOf":[{"claim":"tee","equals":"sev-snp"},
      {"allOf":[{"claim":"tee","equals":"tdx"}]}]})");
  Claims c;
  c["tee"] = "sev-snp";
  const Decision local = p.Evaluate(c, "skr:local");
  CHECK(local.allowed);
  REQUIRE(local.trace.size() == 4);
  CHECK(local.trace[0].op == "authority");
  CHECK(local.trace[0].path == "anyOf[0]");
  CHECK(local.trace[0].expected == "skr:local");
  CHECK(local.trace[1].path == "anyOf[0]");
  CHECK(local.trace[1].authority == "skr:local");
  CHECK(local.trace[2].op == "authority");
  CHECK(local.trace[2].path == "anyOf[1]");
  CHECK(local.trace[3].path == "anyOf[1].allOf[0]");

  const Decision remote = p.Evaluate(c, kMaa);
  CHECK_FALSE(remote.allowed);
  CHECK(remote.reason == std::string("no rule for authority ") + kMaa);
}

// ---------------------------------------------------------------------------------------------
// Authorities

TEST_CASE("Policy: authority comparison trims trailing slashes and ignores URL host case",
          "[policy][unit]") {
  const Policy p = MustParseText(kAzureCvmPolicy);
  const Claims c = AzureCvmClaims();
  CHECK(p.Evaluate(c, "https://sharedeus.eus.attest.azure.net/").allowed);
  CHECK(p.Evaluate(c, "https://SharedEUS.eus.attest.AZURE.net").allowed);
  CHECK(p.Evaluate(c, "HTTPS://sharedeus.eus.attest.azure.net//").allowed);
  CHECK_FALSE(p.Evaluate(c, "http://sharedeus.eus.attest.azure.net").allowed);
  CHECK_FALSE(p.Evaluate(c, "https://sharedeus.eus.attest.azure.net.evil.example").allowed);
  CHECK_FALSE(p.Evaluate(c, "https://sharedeus.eus.attest.azure.net:8443").allowed);
  CHECK_FALSE(p.Evaluate(c, "skr:local").allowed);
}

TEST_CASE("Policy: authority paths stay case-sensitive and non-URL authorities compare exactly",
          "[policy][unit]") {
  const Policy p = MustParseText(R"({"anyOf":[
      {"authority":"https://issuer.example/Tenant/","allOf":[{"claim":"a","exists":true}]},
      {"authority":"skr:local","allOf":[{"claim":"a","exists":true}]}]})");
  Claims c;
  c["a"] = 1;
  CHECK(p.Evaluate(c, "https://ISSUER.example/Tenant").allowed);
  CHECK_FALSE(p.Evaluate(c, "https://issuer.example/tenant").allowed);
  CHECK(p.Evaluate(c, "skr:local").allowed);
  CHECK_FALSE(p.Evaluate(c, "SKR:LOCAL").allowed);
  CHECK_FALSE(p.Evaluate(c, "").allowed);
}

TEST_CASE("Policy: an authority mismatch denies with a named reason and traces the check",
          "[policy][unit]") {
  const Policy p = MustParseText(kDesignPolicy);
  const Decision d = p.Evaluate(SnpClaims(), "https://issuer.example");
  CHECK_FALSE(d.allowed);
  CHECK(d.reason == "no rule for authority https://issuer.example");
  REQUIRE(d.trace.size() == 5);
  CHECK(d.trace[0].op == "authority");
  CHECK(d.trace[0].claim.empty());
  CHECK(d.trace[0].expected == "skr:local");
  CHECK(d.trace[0].actual == "https://issuer.example");
  CHECK_FALSE(d.trace[0].result);
  // The leaves are still evaluated and traced with their own results.
  for (std::size_t i = 1; i < d.trace.size(); ++i) CHECK(d.trace[i].result);
}

TEST_CASE("Policy: a top-level allOf needs every rule's authority", "[policy][unit]") {
  const Policy p = MustParseText(R"({"allOf":[
      {"authority":"skr:local","allOf":[{"claim":"a","equals":1}]},
      {"authority":"https://issuer.example","allOf":[{"claim":"a","equals":1}]}]})");
  Claims c;
  c["a"] = 1;
  const Decision d = p.Evaluate(c, "skr:local");
  CHECK_FALSE(d.allowed);
  CHECK(d.reason == "rule allOf[1] requires authority https://issuer.example (got skr:local)");
}

TEST_CASE("Policy: a failing rule for another authority does not hide a matching one",
          "[policy][unit]") {
  const Policy p = MustParseText(R"({"anyOf":[
      {"authority":"https://issuer.example","allOf":[{"claim":"a","equals":2}]},
      {"authority":"skr:local","allOf":[{"claim":"a","equals":1},{"claim":"b","equals":3}]}]})");
  Claims c;
  c["a"] = 1;
  c["b"] = 4;
  const Decision d = p.Evaluate(c, "skr:local");
  CHECK_FALSE(d.allowed);
  CHECK(d.reason == "b equals 3 (got 4)");
  c["b"] = 3;
  CHECK(p.Evaluate(c, "skr:local").allowed);
}

// ---------------------------------------------------------------------------------------------
// Validation

TEST_CASE("Policy::Parse: rejects malformed documents naming the JSON path", "[policy][unit]") {
  SECTION("non-object document") {
    CHECK_THAT(ParseErrorOf(Json::array()), Catch::Contains("must be a JSON object"));
    CHECK_THAT(ParseErrorOf(Json("anyOf")), Catch::Contains("must be a JSON object"));
  }
  SECTION("no anyOf/allOf") {
    CHECK_THAT(ParseErrorOf(Json{{"version", "1.0.0"}}), Catch::Contains("anyOf/allOf"));
  }
  SECTION("both anyOf and allOf at the top") {
    const Json leaf = Leaf("a", "equals", 1);
    CHECK_THAT(ParseErrorOf(Json{{"anyOf", {leaf}}, {"allOf", {leaf}}}),
               Catch::Contains("exactly one of anyOf/allOf"));
  }
  SECTION("unknown top-level member") {
    CHECK(ParseErrorOf(Json{{"anyOf", {Leaf("a", "equals", 1)}}, {"extra", 1}}) ==
          "policy: unknown member 'extra'");
  }
  SECTION("version not a string") {
    CHECK_THAT(ParseErrorOf(Json{{"anyOf", {Leaf("a", "equals", 1)}}, {"version", 1}}),
               Catch::Contains("'version' must be a string"));
  }
  SECTION("top-level anyOf not an array") {
    CHECK(ParseErrorOf(Json{{"anyOf", Json::object()}}) == "anyOf: must be an array");
  }
  SECTION("empty top-level anyOf") {
    CHECK(ParseErrorOf(Json{{"anyOf", Json::array()}}) == "anyOf: must not be empty");
  }
  SECTION("empty allOf in a rule") {
    CHECK(ParseErrorOf(
              Json{{"anyOf", {Json{{"authority", "skr:local"}, {"allOf", Json::array()}}}}}) ==
          "anyOf[0].allOf: must not be empty");
  }
  SECTION("empty nested anyOf") {
    CHECK(ParseErrorOf(OneLeaf(Json{{"AnyOf", Json::array()}})) ==
          "anyOf[0].allOf[0].AnyOf: must not be empty");
  }
  SECTION("rule is not an object") {
    CHECK(ParseErrorOf(Json{{"anyOf", {"skr:local"}}}) == "anyOf[0]: rule must be a JSON object");
  }
  SECTION("condition is not an object") {
    CHECK(ParseErrorOf(OneLeaf(Json(42))) == "anyOf[0].allOf[0]: condition must be a JSON object");
  }
  SECTION("empty condition object") {
    CHECK(ParseErrorOf(OneLeaf(Json::object())) == "anyOf[0].allOf[0]: empty condition object");
  }
  SECTION("rule without a group") {
    CHECK(ParseErrorOf(
              Json{{"anyOf", {Json{{"authority", "skr:local"}, {"claim", "a"}, {"equals", 1}}}}}) ==
          "anyOf[0]: rule needs one of anyOf/allOf");
  }
  SECTION("rule with both groups") {
    const Json leaf = Leaf("a", "equals", 1);
    CHECK_THAT(
        ParseErrorOf(Json{
            {"anyOf", {Json{{"authority", "skr:local"}, {"allOf", {leaf}}, {"anyOf", {leaf}}}}}}),
        Catch::StartsWith("anyOf[0]: both") && Catch::Contains("exactly one of anyOf/allOf"));
  }
  SECTION("rule with an unknown member") {
    CHECK(ParseErrorOf(Json{{"anyOf",
                             {Json{{"authority", "skr:local"},
                                   {"allOf", {Leaf("a", "equals", 1)}},
                                   {"note", "x"}}}}}) == "anyOf[0]: unknown member 'note' in rule");
  }
  SECTION("authority not a non-empty string") {
    const Json bad_authority = GENERATE(Json(""), Json(1), Json(nullptr), Json::array());
    CHECK(ParseErrorOf(
              Json{{"anyOf",
                    {Json{{"authority", bad_authority}, {"allOf", {Leaf("a", "equals", 1)}}}}}}) ==
          "anyOf[0]: 'authority' must be a non-empty string");
  }
  SECTION("authority below the top level") {
    CHECK(ParseErrorOf(OneLeaf(Json{{"authority", "x"}, {"allOf", {Leaf("a", "equals", 1)}}})) ==
          "anyOf[0].allOf[0]: 'authority' is only allowed in top-level rules");
    CHECK(ParseErrorOf(OneLeaf(Json{{"authority", "x"}, {"claim", "a"}, {"equals", 1}})) ==
          "anyOf[0].allOf[0]: 'authority' is only allowed in top-level rules");
  }
  SECTION("nested group with an extra member") {
    CHECK(ParseErrorOf(OneLeaf(Json{{"allOf", {Leaf("a", "equals", 1)}}, {"claim", "a"}})) ==
          "anyOf[0].allOf[0]: unknown member 'claim' next to 'allOf'");
  }
  SECTION("members differing only in case") {
    CHECK_THAT(ParseErrorOf(OneLeaf(Json{{"claim", "a"}, {"Claim", "b"}, {"equals", 1}})),
               Catch::StartsWith("anyOf[0].allOf[0]: duplicate member"));
    CHECK_THAT(ParseErrorOf(
                   Json{{"anyOf", {Leaf("a", "equals", 1)}}, {"AnyOf", {Leaf("a", "equals", 1)}}}),
               Catch::StartsWith("policy: duplicate member"));
  }
}

TEST_CASE("Policy::Parse: rejects malformed leaves", "[policy][unit]") {
  SECTION("unknown operator") {
    const Json doc = Json::parse(R"({"anyOf":[{"authority":"skr:local","allOf":[
        {"claim":"a","equals":1},{"claim":"b","equals":2},{"claim":"c","equal":3}]}]})");
    CHECK(ParseErrorOf(doc) == "anyOf[0].allOf[2]: unknown operator 'equal'");
  }
  SECTION("Azure Policy operators we do not support") {
    const std::string op = GENERATE("like", "contains", "match", "notIn", "containsKey");
    CHECK(ParseErrorOf(OneLeaf(Leaf("a", op, "x"))) ==
          "anyOf[0].allOf[0]: unknown operator '" + op + "'");
  }
  SECTION("two operators") {
    CHECK_THAT(ParseErrorOf(OneLeaf(Json{{"claim", "a"}, {"equals", 1}, {"greater", 0}})),
               Catch::StartsWith("anyOf[0].allOf[0]: several operators") &&
                   Catch::Contains("exactly one is allowed"));
  }
  SECTION("the same operator twice in different case") {
    CHECK_THAT(ParseErrorOf(OneLeaf(Json{{"claim", "a"}, {"equals", 1}, {"Equals", 1}})),
               Catch::StartsWith("anyOf[0].allOf[0]: duplicate member"));
  }
  SECTION("no operator") {
    CHECK_THAT(ParseErrorOf(OneLeaf(Json{{"claim", "a"}})),
               Catch::StartsWith("anyOf[0].allOf[0]: no operator"));
  }
  SECTION("claim missing") {
    CHECK(ParseErrorOf(OneLeaf(Json{{"equals", 1}})) == "anyOf[0].allOf[0]: missing 'claim'");
  }
  SECTION("claim empty or not a string") {
    const Json bad_claim = GENERATE(Json(""), Json(3), Json(true), Json::array({"a"}));
    CHECK(ParseErrorOf(OneLeaf(Json{{"claim", bad_claim}, {"equals", 1}})) ==
          "anyOf[0].allOf[0]: 'claim' must be a non-empty string");
  }
  SECTION("in without an array") {
    const Json bad = GENERATE(Json("a"), Json(1), Json::object(), Json(nullptr));
    CHECK(ParseErrorOf(OneLeaf(Leaf("a", "in", bad))) ==
          "anyOf[0].allOf[0]: 'in' needs a non-empty array");
  }
  SECTION("in with an empty array") {
    CHECK(ParseErrorOf(OneLeaf(Leaf("a", "in", Json::array()))) ==
          "anyOf[0].allOf[0]: 'in' needs a non-empty array");
  }
  SECTION("in with an object or null element") {
    CHECK(ParseErrorOf(OneLeaf(Leaf("a", "in", Json::array({"x", Json::object()})))) ==
          "anyOf[0].allOf[0]: 'in' element 1 must be a string, number, bool or array");
    CHECK(ParseErrorOf(OneLeaf(Leaf("a", "in", Json::array({nullptr})))) ==
          "anyOf[0].allOf[0]: 'in' element 0 must be a string, number, bool or array");
  }
  SECTION("exists without a bool") {
    const Json bad = GENERATE(Json("true"), Json(1), Json(nullptr), Json::array({true}));
    CHECK(ParseErrorOf(OneLeaf(Leaf("a", "exists", bad))) ==
          "anyOf[0].allOf[0]: 'exists' needs a bool value");
  }
  SECTION("ordering operators without a number") {
    const std::string op = GENERATE("less", "lessOrEquals", "greater", "greaterOrEquals");
    const Json bad = GENERATE(Json("210"), Json(true), Json(nullptr), Json::array({1}));
    CHECK(ParseErrorOf(OneLeaf(Leaf("a", op, bad))) ==
          "anyOf[0].allOf[0]: '" + op + "' needs a number value");
  }
  SECTION("ordering operator with a non-finite number") {
    CHECK(ParseErrorOf(OneLeaf(Leaf("a", "less", std::numeric_limits<double>::infinity()))) ==
          "anyOf[0].allOf[0]: 'less' needs a number value");
  }
  SECTION("equals with null or an object") {
    const std::string op = GENERATE("equals", "notEquals");
    const Json bad = GENERATE(Json(nullptr), Json::object({{"a", 1}}));
    CHECK(ParseErrorOf(OneLeaf(Leaf("a", op, bad))) ==
          "anyOf[0].allOf[0]: '" + op + "' needs a string, number, bool or array value");
  }
}

// Builds a condition made of `groups` nested allOf groups around one leaf.
Json NestedGroups(int groups) {
  Json j = Leaf("a", "equals", 1);
  for (int i = 0; i < groups; ++i) j = Json{{"allOf", Json::array({j})}};
  return j;
}

TEST_CASE("Policy::Parse: accepts 16 levels of nesting and rejects 17", "[policy][unit]") {
  Claims c;
  c["a"] = 1;
  SECTION("rule with authority") {
    // The top-level anyOf is level 1, the rule's allOf level 2, then 14 more groups = 16.
    const Json ok =
        Json{{"anyOf", {Json{{"authority", "skr:local"}, {"allOf", {NestedGroups(14)}}}}}};
    const Policy p = MustParse(ok);
    CHECK(p.Evaluate(c, "skr:local").allowed);
    CHECK(MustParseText(ok.dump()).Evaluate(c, "skr:local").allowed);

    const Json deep =
        Json{{"anyOf", {Json{{"authority", "skr:local"}, {"allOf", {NestedGroups(15)}}}}}};
    const std::string msg = ParseErrorOf(deep);
    CHECK_THAT(msg, Catch::Contains("nesting deeper than 16 levels"));
    CHECK_THAT(msg, Catch::StartsWith("anyOf[0].allOf[0].allOf[0]"));
    auto from_text = Policy::ParseText(deep.dump());
    CHECK(CodeOf(from_text) == ErrorCode::kInvalidArgument);
  }
  SECTION("bare top-level group") {
    CHECK(MustParse(Json{{"allOf", {NestedGroups(15)}}}).Evaluate(c, "skr:local").allowed);
    CHECK_THAT(ParseErrorOf(Json{{"allOf", {NestedGroups(16)}}}),
               Catch::Contains("nesting deeper than 16 levels"));
  }
  SECTION("very deep text is refused without recursion blow-up") {
    std::string text = R"({"anyOf":[)";
    for (int i = 0; i < 5000; ++i) text += R"({"allOf":[)";
    const auto r = Policy::ParseText(text);
    CHECK(CodeOf(r) == ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("Policy::ParseText: rejects malformed and oversized text", "[policy][unit]") {
  CHECK(CodeOf(Policy::ParseText("")) == ErrorCode::kInvalidArgument);
  CHECK(CodeOf(Policy::ParseText("{\"anyOf\": [")) == ErrorCode::kInvalidArgument);
  CHECK(CodeOf(Policy::ParseText("[1,2]")) == ErrorCode::kInvalidArgument);
  CHECK(CodeOf(Policy::ParseText(std::string((1u << 20) + 1, ' '))) == ErrorCode::kPayloadTooLarge);
}

// ---------------------------------------------------------------------------------------------
// Trace and reason

TEST_CASE("Policy: evaluation does not short-circuit and the trace is complete", "[policy][unit]") {
  const Policy p = MustParseText(R"({"anyOf":[
      {"authority":"skr:local","anyOf":[{"claim":"a","equals":1},{"claim":"b","equals":2},
                                        {"claim":"c","exists":true}]},
      {"authority":"https://issuer.example","allOf":[{"claim":"a","equals":1}]}]})");
  Claims c;
  c["a"] = 1;
  const Decision d = p.Evaluate(c, "skr:local");
  CHECK(d.allowed);
  CHECK(d.reason.empty());
  REQUIRE(d.trace.size() == 6);
  const std::vector<std::string> paths = {"anyOf[0]",          "anyOf[0].anyOf[0]",
                                          "anyOf[0].anyOf[1]", "anyOf[0].anyOf[2]",
                                          "anyOf[1]",          "anyOf[1].allOf[0]"};
  const std::vector<std::string> ops = {"authority", "equals",    "equals",
                                        "exists",    "authority", "equals"};
  const std::vector<bool> results = {true, true, false, false, false, true};
  for (std::size_t i = 0; i < d.trace.size(); ++i) {
    INFO("trace entry " << i);
    CHECK(d.trace[i].path == paths[i]);
    CHECK(d.trace[i].op == ops[i]);
    CHECK(d.trace[i].result == results[i]);
  }
  CHECK(d.trace[1].authority == "skr:local");
  CHECK(d.trace[5].authority == "https://issuer.example");
  CHECK(d.trace[2].actual.is_null());
  CHECK(d.trace[4].expected == "https://issuer.example");
  CHECK(d.trace[4].actual == "skr:local");
}

TEST_CASE("Decision::TraceJson: one object per entry with every field", "[policy][unit]") {
  const Policy p = MustParseText(kDesignPolicy);
  Claims c = SnpClaims();
  c.erase("snp.measurement");
  const Decision d = p.Evaluate(c, "skr:local");
  const Json j = d.TraceJson();
  REQUIRE(j.is_array());
  REQUIRE(j.size() == d.trace.size());
  for (const auto& e : j) {
    CHECK(e.size() == 7);
    for (const char* key : {"path", "authority", "claim", "op", "expected", "actual", "result"}) {
      CHECK(e.contains(key));
    }
  }
  CHECK(j[0] == Json{{"path", "anyOf[0]"},
                     {"authority", "skr:local"},
                     {"claim", ""},
                     {"op", "authority"},
                     {"expected", "skr:local"},
                     {"actual", "skr:local"},
                     {"result", true}});
  CHECK(j[3] == Json{{"path", "anyOf[0].allOf[2]"},
                     {"authority", "skr:local"},
                     {"claim", "snp.measurement"},
                     {"op", "in"},
                     {"expected", Json::array({"9f1c00", "7a2b00"})},
                     {"actual", nullptr},
                     {"result", false}});
  CHECK(Decision{}.TraceJson() == Json::array());
}

TEST_CASE("Policy: the reason names the first failing condition", "[policy][unit]") {
  const Policy p = MustParseText(kDesignPolicy);
  Claims c = SnpClaims();
  SECTION("bool mismatch") {
    c["snp.policy.debug"] = true;
    c["snp.reported_tcb.microcode"] = 1;  // also failing, but later
    CHECK(p.Evaluate(c, "skr:local").reason == "snp.policy.debug equals false (got true)");
  }
  SECTION("missing claim") {
    c.erase("snp.reported_tcb.microcode");
    CHECK(p.Evaluate(c, "skr:local").reason ==
          "snp.reported_tcb.microcode greaterOrEquals 210 (claim missing)");
  }
  SECTION("in with a short list") {
    c["snp.measurement"] = "ab12";
    CHECK(p.Evaluate(c, "skr:local").reason ==
          R"(snp.measurement in ["9f1c00","7a2b00"] (got "ab12"))");
  }
  SECTION("type mismatch shows the value seen and says it is a type mismatch") {
    c["snp.reported_tcb.microcode"] = "211";
    CHECK(p.Evaluate(c, "skr:local").reason ==
          R"(snp.reported_tcb.microcode greaterOrEquals 210 (got "211": type mismatch, the claim is a string, the condition compares numbers))");
  }
  SECTION("exists") {
    const Policy e = MustParse(OneLeaf(Leaf("snp.host_data", "exists", true)));
    CHECK(e.Evaluate(c, "skr:local").reason == "snp.host_data exists true (claim missing)");
    const Policy ne = MustParse(OneLeaf(Leaf("tee", "exists", false)));
    CHECK(ne.Evaluate(c, "skr:local").reason == R"(tee exists false (got "sev-snp"))");
  }
}

TEST_CASE("Policy: the reason follows the failing branch, not the first false leaf",
          "[policy][unit]") {
  // The anyOf passes (its second alternative), so the explanation is the last leaf.
  const Policy p = MustParseText(R"({"anyOf":[{"authority":"skr:local","allOf":[
      {"anyOf":[{"claim":"a","equals":1},{"claim":"a","equals":2}]},
      {"claim":"b","equals":true}]}]})");
  Claims c;
  c["a"] = 2;
  c["b"] = false;
  const Decision d = p.Evaluate(c, "skr:local");
  CHECK_FALSE(d.allowed);
  CHECK(d.reason == "b equals true (got false)");
  CHECK_FALSE(d.trace[1].result);  // a == 1 failed but did not decide
}

TEST_CASE("Policy: long values in the reason are shortened", "[policy][unit]") {
  const std::string long_hex(96, 'a');  // a SHA-384 measurement in hex
  std::vector<std::string> measurements;
  for (int i = 0; i < 10; ++i) measurements.push_back(std::string(96, static_cast<char>('0' + i)));
  const Policy p = MustParse(OneLeaf(Leaf("snp.measurement", "in", measurements)));
  Claims c;
  c["snp.measurement"] = long_hex;
  const Decision d = p.Evaluate(c, "skr:local");
  CHECK_FALSE(d.allowed);
  CHECK(d.reason.size() <= kMaxReasonLength);
  CHECK_THAT(d.reason, Catch::StartsWith("snp.measurement in [\"0000"));
  CHECK_THAT(d.reason, Catch::Contains("..]"));
  CHECK_THAT(d.reason, Catch::Contains("(got \"aaaa"));
  CHECK_THAT(d.reason, Catch::EndsWith("..\")"));
  CHECK(d.reason.find(long_hex) == std::string::npos);
}

TEST_CASE("Policy: the reason stays short and valid UTF-8 for hostile values", "[policy][unit]") {
  std::string claim_name(500, 'c');
  std::string value;
  for (int i = 0; i < 300; ++i) value += "\xC3\xA9";  // U+00E9, two bytes each
  const Policy p = MustParse(OneLeaf(Leaf(claim_name, "equals", value)));
  Claims c;
  c[claim_name] = std::string(1000, '\x01');  // control characters expand when escaped
  const Decision d = p.Evaluate(c, "skr:local");
  CHECK_FALSE(d.allowed);
  CHECK(d.reason.size() <= kMaxReasonLength);
  // Valid UTF-8: the strict parser accepts it as a JSON string.
  CHECK_NOTHROW(Json::parse(Json(d.reason).dump()));
  CHECK_NOTHROW(Json(d.reason).dump());
  CHECK_THAT(d.reason, Catch::StartsWith(std::string(98, 'c') + ".. equals \"\xC3\xA9"));
  CHECK_THAT(d.reason, Catch::Contains("(got \"\\u0001\\u0001"));
  CHECK_THAT(d.reason, Catch::EndsWith("..\")"));

  const Decision remote = p.Evaluate(c, std::string(1000, 'x'));
  CHECK(remote.reason.size() <= kMaxReasonLength);
  CHECK_THAT(remote.reason, Catch::StartsWith("no rule for authority xxx"));
}

TEST_CASE("Policy: a default-constructed policy denies everything", "[policy][unit]") {
  const Policy p;
  const Decision d = p.Evaluate(SnpClaims(), "skr:local");
  CHECK_FALSE(d.allowed);
  CHECK(d.reason == "empty policy");
  CHECK(d.trace.empty());
}

TEST_CASE("Policy: a parsed policy is reusable and copies share the same rules", "[policy][unit]") {
  const Policy p = MustParseText(kDesignPolicy);
  const Policy copy = p;  // NOLINT(performance-unnecessary-copy-initialization)
  Claims bad = SnpClaims();
  bad["snp.policy.debug"] = true;
  CHECK(copy.Evaluate(SnpClaims(), "skr:local").allowed);
  CHECK_FALSE(p.Evaluate(bad, "skr:local").allowed);
  CHECK(p.Evaluate(SnpClaims(), "skr:local").allowed);
}

}  // namespace
}  // namespace skr::policy
