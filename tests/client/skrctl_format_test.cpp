// SPDX-License-Identifier: Apache-2.0
#include "client/skrctl_format.h"

#include <catch2/catch.hpp>

namespace skr::client {

TEST_CASE("RenderTable: aligns columns and trims trailing spaces", "[client][unit]") {
  const std::string t = RenderTable({"NAME", "CREATED_AT"}, {{"acme", "2024-01-01"},
                                                             {"a-much-longer-name", "-"}});
  CHECK(t ==
        "NAME                CREATED_AT\n"
        "acme                2024-01-01\n"
        "a-much-longer-name  -\n");
}

TEST_CASE("RenderList: one row per array item, missing members as '-'", "[client][unit]") {
  const Json body = {{"tokens",
                      {{{"id", "t1"}, {"role", "admin"}, {"tenant", "acme"}},
                       {{"id", "t2"}, {"role", "operator"}, {"tenant", nullptr}}}},
                     {"next", nullptr}};
  CHECK(RenderList(body, "tokens", {"id", "role", "tenant"}) ==
        "ID  ROLE      TENANT\n"
        "t1  admin     acme\n"
        "t2  operator  -\n");
  CHECK(RenderList(Json::object(), "tokens", {"id"}) == "ID\n");
}

TEST_CASE("FlattenJson and FormatClaims: dot paths, sorted", "[client][unit]") {
  const Json claims = {{"tee", "sample"},
                       {"snp", {{"policy", {{"debug", false}}}, {"vmpl", 0}}},
                       {"list", {1, 2}}};
  CHECK(FormatClaims(claims) ==
        "list = [1,2]\n"
        "snp.policy.debug = false\n"
        "snp.vmpl = 0\n"
        "tee = sample\n");
}

TEST_CASE("FormatCreatedToken: prints id and the one-time token", "[client][unit]") {
  const Json body = {{"id", "tok_1"},       {"token", "s3cr3t"},    {"role", "admin"},
                     {"tenant", "acme"},     {"created_at", "now"},  {"expires_at", nullptr}};
  CHECK(FormatCreatedToken(body) ==
        "id: tok_1\ntoken: s3cr3t\nrole: admin\ntenant: acme\nexpires_at: -\n");
}

TEST_CASE("FormatKey and FormatKeyList: metadata only", "[client][unit]") {
  const Json key = {{"tenant", "acme"},
                    {"name", "disk"},
                    {"policy", "p"},
                    {"created_at", "t0"},
                    {"versions",
                     {{{"version", 1}, {"state", "disabled"}, {"origin", "imported"},
                       {"length", 32}, {"created_at", "t0"}},
                      {{"version", 2}, {"state", "enabled"}, {"origin", "generated"},
                       {"length", 32}, {"created_at", "t1"}}}}};
  const std::string k = FormatKey(key);
  CHECK(k.starts_with("key acme/disk  policy p (newest version)  created t0\n"));
  CHECK(k.find("2        enabled   generated  32      t1") != std::string::npos);
  const std::string l = FormatKeyList(Json{{"keys", {key}}});
  CHECK(l == "NAME  POLICY  VERSIONS  LATEST  CREATED_AT\ndisk  p       2         2       t0\n");
}

TEST_CASE("FormatAuditEntries: times are RFC 3339", "[client][unit]") {
  const Json body = {{"entries", Json::array({{{"seq", 1}, {"time", 1764300000}, {"kind", "admin"}}})},
                     {"next_from_seq", nullptr}};
  const std::string t = FormatAuditEntries(body);
  CHECK(t.find("2025-11-28T03:20:00Z") != std::string::npos);
  CHECK(t.find("1764300000") == std::string::npos);
}

TEST_CASE("FormatAuditEntries: shows the continuation point", "[client][unit]") {
  const Json body = {{"entries", {{{"seq", 1}, {"decision", "allow"}}}}, {"next_from_seq", 2}};
  const std::string t = FormatAuditEntries(body);
  CHECK(t.find("SEQ") == 0);
  CHECK(t.find("next_from_seq: 2\n") != std::string::npos);
  const Json last = {{"entries", Json::array()}, {"next_from_seq", nullptr}};
  CHECK(FormatAuditEntries(last).find("next_from_seq") == std::string::npos);
}

}  // namespace skr::client
