// SPDX-License-Identifier: Apache-2.0
// skr-agent's TPM evidence options: PCR selections from the command line and from the challenge
// hint, TCTI resolution, and the error when no TPM is reachable. (Quotes from a live swtpm are
// tested in tests/integration/tpm_release_test.cpp.)
#include <catch2/catch.hpp>

#include <cstdlib>

#include "client/tpm_attester.h"
#include "tests/support/test_support.h"

using skr::ErrorCode;
using skr::Json;
using namespace skr::client;

TEST_CASE("Unit: PCR selections parse from the command line syntax", "[client][tpm][unit]") {
  auto one = ParsePcrSpec("sha256:0,1,7");
  REQUIRE(one);
  REQUIRE(one->size() == 1);
  CHECK((*one)[0].bank == "sha256");
  CHECK((*one)[0].indexes == std::vector<unsigned>{0, 1, 7});

  auto ranges = ParsePcrSpec("sha256:7,0-3+sha1:0");
  REQUIRE(ranges);
  REQUIRE(ranges->size() == 2);
  CHECK((*ranges)[0].indexes == std::vector<unsigned>{0, 1, 2, 3, 7});  // sorted, deduplicated
  CHECK((*ranges)[1].bank == "sha1");

  for (const char* bad : {"", "sha256", "sha256:", "sha256:24", "sha256:3-1", "md5:0", "sha256:0+sha256:1",
                          "sha256:a", "sha256:0,,1", "sha256:-1"}) {
    INFO(bad);
    CHECK(skr::test::CodeOf(ParsePcrSpec(bad)) == ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("Unit: the challenge's tpm_pcrs hint becomes the quote selection", "[client][tpm][unit]") {
  auto sel = PcrSelectionFromJson(Json{{"sha256", {7, 0, 7}}});
  REQUIRE(sel);
  REQUIRE(sel->size() == 1);
  CHECK((*sel)[0].indexes == std::vector<unsigned>{0, 7});
  for (const Json& bad : {Json::array(), Json::object(), Json{{"sha256", Json::array()}}, Json{{"sha256", {24}}},
                          Json{{"md5", {0}}}, Json{{"sha256", {-1}}}, Json{{"sha256", "0"}}}) {
    INFO(bad.dump());
    CHECK(skr::test::CodeOf(PcrSelectionFromJson(bad)) == ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("Unit: the TCTI comes from the flag, then TPM2TOOLS_TCTI, then the kernel resource manager",
          "[client][tpm][unit]") {
  const char* saved = std::getenv("TPM2TOOLS_TCTI");
  const std::string keep = saved ? saved : "";
  ::unsetenv("TPM2TOOLS_TCTI");
  CHECK(ResolveTcti("") == "device:/dev/tpmrm0");
  ::setenv("TPM2TOOLS_TCTI", "swtpm:host=127.0.0.1,port=1", 1);
  CHECK(ResolveTcti("") == "swtpm:host=127.0.0.1,port=1");
  CHECK(ResolveTcti("mssim:port=2321") == "mssim:port=2321");
  if (saved) {
    ::setenv("TPM2TOOLS_TCTI", keep.c_str(), 1);
  } else {
    ::unsetenv("TPM2TOOLS_TCTI");
  }
  CHECK(ParseTpmAkType("ecc").value() == TpmAkType::kEccP256);
  CHECK(ParseTpmAkType("rsa").value() == TpmAkType::kRsa2048);
  CHECK(skr::test::CodeOf(ParseTpmAkType("dsa")) == ErrorCode::kInvalidArgument);
}

TEST_CASE("Unit: no reachable TPM is a clear 'unavailable' error, and evidence needs an AK id",
          "[client][tpm][unit]") {
  // Port 1 on loopback: nothing listens there.
  auto dev = TpmDevice::Open("swtpm:host=127.0.0.1,port=1", TpmAkType::kEccP256);
  REQUIRE_FALSE(dev);
  CHECK(dev.error().code() == ErrorCode::kUnavailable);
  CHECK(dev.error().reason() == "tpm_unavailable");

  TpmAttester no_id(TpmAttesterOptions{});
  std::array<std::uint8_t, 48> digest{};
  CHECK(skr::test::CodeOf(no_id.Collect(digest)) == ErrorCode::kInvalidArgument);
}
