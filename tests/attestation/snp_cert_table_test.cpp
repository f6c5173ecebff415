// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "attestation/snp/cert_table.h"
#include "common/encoding.h"
#include "tests/support/test_support.h"

using skr::attestation::snp::CertKind;
using skr::attestation::snp::ParseCertTable;

namespace {

void PutU32(std::vector<std::uint8_t>& v, std::size_t at, std::uint32_t x) {
  for (int i = 0; i < 4; ++i) v[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(x >> (8 * i));
}

// Builds a table with the VCEK GUID (RFC byte order, or mixed-endian) and one payload.
std::vector<std::uint8_t> Table(const std::string& payload, bool mixed = false) {
  auto guid = skr::HexDecode("63da758de6644564adc5f4b93be8accd").value();
  if (mixed) {
    std::swap(guid[0], guid[3]);
    std::swap(guid[1], guid[2]);
    std::swap(guid[4], guid[5]);
    std::swap(guid[6], guid[7]);
  }
  std::vector<std::uint8_t> t(48, 0);
  std::copy(guid.begin(), guid.end(), t.begin());
  PutU32(t, 16, 48);
  PutU32(t, 20, static_cast<std::uint32_t>(payload.size()));
  t.insert(t.end(), payload.begin(), payload.end());
  return t;
}

}  // namespace

TEST_CASE("ParseCertTable: finds the VCEK in either GUID byte order", "[attestation][snp]") {
  for (bool mixed : {false, true}) {
    auto entries = ParseCertTable(Table("DERBYTES", mixed));
    REQUIRE(entries.has_value());
    REQUIRE(entries->size() == 1);
    CHECK((*entries)[0].kind == CertKind::kVcek);
    CHECK(std::string((*entries)[0].data.begin(), (*entries)[0].data.end()) == "DERBYTES");
  }
}

TEST_CASE("ParseCertTable: rejects malformed tables", "[attestation][snp]") {
  auto t = Table("DERBYTES");
  SECTION("no terminator") {
    t.resize(24);
    CHECK(skr::test::ReasonOf(ParseCertTable(t)) == "snp_cert_table");
  }
  SECTION("entry outside the blob") {
    PutU32(t, 20, 1000);
    CHECK(skr::test::ReasonOf(ParseCertTable(t)) == "snp_cert_table");
  }
  SECTION("offset overflow") {
    PutU32(t, 16, 0xFFFFFFF0u);
    PutU32(t, 20, 0x20u);
    CHECK(skr::test::ReasonOf(ParseCertTable(t)) == "snp_cert_table");
  }
  SECTION("zero length") {
    PutU32(t, 20, 0);
    CHECK(skr::test::ReasonOf(ParseCertTable(t)) == "snp_cert_table");
  }
  SECTION("truncation at every length") {
    for (std::size_t n = 0; n < 48; ++n) {
      std::vector<std::uint8_t> cut(t.begin(), t.begin() + static_cast<long>(n));
      CHECK(skr::test::CodeOf(ParseCertTable(cut)) == skr::ErrorCode::kMalformedEvidence);
    }
  }
  SECTION("too large") {
    std::vector<std::uint8_t> big(70000, 0);
    CHECK(skr::test::ReasonOf(ParseCertTable(big)) == "snp_cert_table");
  }
}
