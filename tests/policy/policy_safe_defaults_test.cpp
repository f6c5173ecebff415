// SPDX-License-Identifier: Apache-2.0
// Issue 9, items 3-5: safe policy defaults. A stored policy must say which TEE it trusts; debug
// and migration need an explicit allowing leaf; a denial names the failing claim without values.
#include <catch2/catch.hpp>
#include <string>

#include "policy/policy.h"
#include "tests/support/test_support.h"

namespace skr::policy {
namespace {

constexpr const char* kMaa = "https://sharedeus.eus.attest.azure.net";
const std::string kMeasurement(96, 'a');

Policy MustParse(const Json& doc) {
  auto p = Policy::Parse(doc);
  if (!p.has_value()) FAIL("unexpected parse error: " << p.error().message());
  return *p;
}

Json Leaf(const char* claim, const char* op, Json value) {
  return Json{{"claim", claim}, {op, std::move(value)}};
}

// Claims of an SNP guest launched from the tenant's image (the measurement the policy pins).
Claims SnpClaims(bool debug, bool migrate_ma) {
  Claims c;
  c["tee"] = "sev-snp";
  c["snp.measurement"] = kMeasurement;
  c["snp.policy.debug"] = debug;
  c["snp.policy.migrate_ma"] = migrate_ma;
  c["debug"] = debug;
  return c;
}

}  // namespace

TEST_CASE("Policy::ValidateForStore: every skr:local path that can grant must constrain tee",
          "[policy][safe_defaults]") {
  SECTION("a measurement-only policy is refused, naming the path") {
    const Policy p =
        MustParse({{"anyOf",
                    {{{"authority", "skr:local"},
                      {"allOf", {Leaf("snp.measurement", "equals", kMeasurement)}}}}}});
    auto r = p.ValidateForStore();
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code() == ErrorCode::kInvalidArgument);
    CHECK(r.error().reason() == "policy_tee_unconstrained");
    CHECK(r.error().message().find("anyOf[0]") != std::string::npos);
    CHECK(r.error().message().find("tee") != std::string::npos);
    CHECK(p.UnconstrainedTeePaths() == std::vector<std::string>{"anyOf[0]"});
  }
  SECTION("one branch of a nested anyOf without tee is refused") {
    const Policy p = MustParse(
        {{"anyOf",
          {{{"authority", "skr:local"},
            {"anyOf",
             {{{"allOf", {Leaf("tee", "equals", "sev-snp"), Leaf("snp.vmpl", "equals", 0)}}},
              Leaf("sample.debug", "equals", false)}}}}}});
    auto r = p.ValidateForStore();
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message().find("anyOf[0].anyOf[1]") != std::string::npos);
  }
  SECTION("notEquals does not constrain tee") {
    const Policy p = MustParse({{"allOf", {Leaf("tee", "notEquals", "sample")}}});
    CHECK_FALSE(p.ValidateForStore().has_value());
  }
  SECTION("a bare top-level leaf counts as skr:local") {
    const Policy p = MustParse({{"anyOf", {Leaf("snp.vmpl", "equals", 0)}}});
    CHECK_FALSE(p.ValidateForStore().has_value());
  }
  SECTION("tee equals / in on every path is accepted") {
    const Policy a = MustParse(
        {{"anyOf",
          {{{"authority", "skr:local"},
            {"allOf", {Leaf("tee", "equals", "sev-snp"), Leaf("snp.vmpl", "equals", 0)}}},
           {{"authority", "skr:local"},
            {"anyOf",
             {{{"allOf", {Leaf("tee", "in", {"tpm", "az-snp-vtpm"})}}},
              {{"allOf", {Leaf("tee", "equals", "sample"), Leaf("debug", "equals", false)}}}}}}}}});
    CHECK(a.ValidateForStore().has_value());
    CHECK(a.UnconstrainedTeePaths().empty());
    // A top-level allOf: one rule constraining tee constrains the whole grant.
    const Policy b = MustParse(
        {{"allOf",
          {Leaf("tee", "equals", "sev-snp"), Leaf("snp.measurement", "equals", kMeasurement)}}});
    CHECK(b.ValidateForStore().has_value());
  }
  SECTION("rules of another authority are judged by the issuer's claims and stay accepted") {
    // An Azure-published Key Vault release policy (MAA): no skr:local rule at all.
    const Policy p =
        MustParse({{"version", "1.0.0"},
                   {"anyOf",
                    {{{"authority", kMaa},
                      {"allOf",
                       {Leaf("x-ms-attestation-type", "equals", "sevsnpvm"),
                        Leaf("x-ms-compliance-status", "equals", "azure-compliant-cvm")}}}}}});
    CHECK(p.ValidateForStore().has_value());
  }
}

TEST_CASE("Policy::Evaluate: debug evidence with the pinned measurement is denied unless allowed",
          "[policy][safe_defaults][attack]") {
  // The measurement does not cover the guest policy: the host relaunches the tenant's image
  // with DEBUG=1 and the same measurement. A policy that forgot debug must not release.
  const Policy forgot = MustParse({{"anyOf",
                                    {{{"authority", "skr:local"},
                                      {"allOf",
                                       {Leaf("tee", "equals", "sev-snp"),
                                        Leaf("snp.measurement", "equals", kMeasurement)}}}}}});
  SECTION("debug on: denied, naming snp.policy.debug") {
    const Decision d = forgot.Evaluate(SnpClaims(true, false), kLocalAuthority);
    CHECK_FALSE(d.allowed);
    CHECK(d.failing_claim == "snp.policy.debug");
    CHECK(d.reason.find("snp.policy.debug") != std::string::npos);
    CHECK(d.reason.find("explicit") != std::string::npos);
    REQUIRE_FALSE(d.trace.empty());
    CHECK(d.trace.back().op == "explicitAllow");
    CHECK(d.trace.back().result == false);
  }
  SECTION("migration agent on: denied, naming snp.policy.migrate_ma") {
    const Decision d = forgot.Evaluate(SnpClaims(false, true), kLocalAuthority);
    CHECK_FALSE(d.allowed);
    CHECK(d.failing_claim == "snp.policy.migrate_ma");
  }
  SECTION("debug and migration off: allowed as before") {
    CHECK(forgot.Evaluate(SnpClaims(false, false), kLocalAuthority).allowed);
  }
  SECTION("an explicit leaf on the granting path allows debug") {
    const Policy allows = MustParse(
        {{"anyOf",
          {{{"authority", "skr:local"},
            {"allOf",
             {Leaf("tee", "equals", "sev-snp"), Leaf("snp.measurement", "equals", kMeasurement),
              Leaf("snp.policy.debug", "equals", true)}}}}}});
    CHECK(allows.Evaluate(SnpClaims(true, false), kLocalAuthority).allowed);
    // It allows debug, not migration.
    CHECK_FALSE(allows.Evaluate(SnpClaims(true, true), kLocalAuthority).allowed);
  }
  SECTION("an in-list that holds true is not an explicit allow") {
    const Policy either = MustParse(
        {{"anyOf",
          {{{"authority", "skr:local"},
            {"allOf",
             {Leaf("tee", "equals", "sev-snp"), Leaf("snp.measurement", "equals", kMeasurement),
              Leaf("snp.policy.debug", "in", {false, true})}}}}}});
    CHECK_FALSE(either.Evaluate(SnpClaims(true, false), kLocalAuthority).allowed);
    CHECK(either.Evaluate(SnpClaims(false, false), kLocalAuthority).allowed);
  }
  SECTION("an allowing leaf on another branch does not count") {
    const Policy other_branch = MustParse(
        {{"anyOf",
          {{{"authority", "skr:local"},
            {"allOf",
             {Leaf("tee", "equals", "sev-snp"), Leaf("snp.measurement", "equals", kMeasurement)}}},
           {{"authority", "skr:local"},
            {"allOf",
             {Leaf("tee", "equals", "sev-snp"),
              Leaf("snp.measurement", "equals", std::string(96, 'b')),
              Leaf("snp.policy.debug", "equals", true)}}}}}});
    CHECK_FALSE(other_branch.Evaluate(SnpClaims(true, false), kLocalAuthority).allowed);
  }
  SECTION("a sample payload reporting debug (or not saying) is gated the same way") {
    const Policy sample = MustParse(
        {{"allOf", {Leaf("tee", "equals", "sample"), Leaf("sample.name", "equals", "vm")}}});
    Claims c;
    c["tee"] = "sample";
    c["sample.name"] = "vm";
    c["debug"] = true;
    const Decision d = sample.Evaluate(c, kLocalAuthority);
    CHECK_FALSE(d.allowed);
    CHECK(d.failing_claim == "debug");
    c["debug"] = false;
    CHECK(sample.Evaluate(c, kLocalAuthority).allowed);
  }
  SECTION("a TDX debug TD is gated") {
    const Policy tdx = MustParse({{"allOf", {Leaf("tee", "equals", "tdx")}}});
    Claims c;
    c["tee"] = "tdx";
    c["tdx.td_attributes.debug"] = true;
    c["debug"] = true;
    const Decision d = tdx.Evaluate(c, kLocalAuthority);
    CHECK_FALSE(d.allowed);
    CHECK(d.failing_claim == "tdx.td_attributes.debug");
  }
}

TEST_CASE("Policy::Evaluate: a denial names the failing claim apart from its values",
          "[policy][safe_defaults]") {
  const Policy p = MustParse({{"anyOf",
                               {{{"authority", "skr:local"},
                                 {"allOf",
                                  {Leaf("tee", "equals", "sev-snp"),
                                   Leaf("snp.measurement", "equals", kMeasurement)}}}}}});
  Claims c = SnpClaims(false, false);
  c["snp.measurement"] = std::string(96, 'c');
  const Decision d = p.Evaluate(c, kLocalAuthority);
  CHECK_FALSE(d.allowed);
  CHECK(d.failing_claim == "snp.measurement");
  // The full reason (for the audit record and the admin dry run) still has the values.
  CHECK(d.reason.find(kMeasurement.substr(0, 20)) != std::string::npos);

  const Decision no_rule = p.Evaluate(c, kMaa);
  CHECK_FALSE(no_rule.allowed);
  CHECK(no_rule.failing_claim.empty());
}

}  // namespace skr::policy
