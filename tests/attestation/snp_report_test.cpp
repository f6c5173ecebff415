// SPDX-License-Identifier: Apache-2.0
#include <openssl/bn.h>
#include <openssl/ecdsa.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "attestation/snp/claims.h"
#include "attestation/snp/report.h"
#include "common/encoding.h"
#include "common/ossl.h"
#include "tests/attestation/snp_test_support.h"
#include "tests/support/test_support.h"

using skr::ErrorCode;
using skr::Json;
using skr::test::BuildSnpReport;
using skr::test::CodeOf;
using skr::test::kSnpReservedRanges;
using skr::test::ReasonOf;
using skr::test::SnpReportFields;
namespace snp = skr::attestation::snp;

namespace {

using Bytes = std::vector<std::uint8_t>;

std::string HexOffset(std::size_t offset) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%03zX", offset);
  return buf;
}

Bytes Le(std::uint64_t v, std::size_t width) {
  Bytes out(width);
  for (std::size_t i = 0; i < width; ++i) out[i] = static_cast<std::uint8_t>(v >> (8 * i));
  return out;
}

Bytes ToBytes(std::span<const std::uint8_t> s) { return Bytes(s.begin(), s.end()); }

Bytes Region(const Bytes& report, std::size_t offset, std::size_t size) {
  return Bytes(report.begin() + static_cast<std::ptrdiff_t>(offset),
               report.begin() + static_cast<std::ptrdiff_t>(offset + size));
}

Bytes ReadBytes(const std::filesystem::path& p) {
  const std::string s = skr::test::ReadFileOrFail(p);
  return Bytes(s.begin(), s.end());
}

// One field of the ATTESTATION_REPORT Structure table: where it is, in which versions, which of
// its bits may be flipped without making the report malformed, and how the Report exposes it
// (re-encoded to the report's little-endian byte form so it compares with the raw region).
struct FieldSpec {
  const char* name;
  std::size_t offset;
  std::size_t size;
  std::uint32_t min_version;
  std::uint32_t max_version;
  std::function<bool(std::size_t bit)> flippable;
  std::function<Bytes(const snp::Report&)> get;
};

bool AnyBit(std::size_t) { return true; }

std::vector<FieldSpec> Fields() {
  using R = snp::Report;
  auto opt8 = [](std::optional<std::uint8_t> v) { return v ? Bytes{*v} : Bytes{}; };
  auto opt64 = [](std::optional<std::uint64_t> v) { return v ? Le(*v, 8) : Bytes{}; };
  return {
      // VERSION (0x000) and SIGNATURE_ALGO (0x034) change validity: tested separately.
      {"GUEST_SVN", 0x004, 4, 2, 5, AnyBit, [](const R& r) { return Le(r.guest_svn(), 4); }},
      {"POLICY", 0x008, 8, 2, 5, [](std::size_t b) { return b != 17 && b < 26; },
       [](const R& r) { return Le(r.policy(), 8); }},
      {"FAMILY_ID", 0x010, 16, 2, 5, AnyBit, [](const R& r) { return ToBytes(r.family_id()); }},
      {"IMAGE_ID", 0x020, 16, 2, 5, AnyBit, [](const R& r) { return ToBytes(r.image_id()); }},
      {"VMPL", 0x030, 4, 2, 5, AnyBit, [](const R& r) { return Le(r.vmpl(), 4); }},
      {"CURRENT_TCB", 0x038, 8, 2, 5, AnyBit, [](const R& r) { return Le(r.current_tcb(), 8); }},
      {"PLATFORM_INFO", 0x040, 8, 2, 5, AnyBit,
       [](const R& r) { return Le(r.platform_info(), 8); }},
      // Bits 0, 1 and 2 (AUTHOR_KEY_EN, MASK_CHIP_KEY, SIGNING_KEY 0 -> 1); bits 3, 4 would give
      // a reserved SIGNING_KEY and 31:5 are reserved.
      {"KEY_INFO", 0x048, 4, 2, 5, [](std::size_t b) { return b <= 2; },
       [](const R& r) {
         return Le(std::uint64_t{r.author_key_en()} | std::uint64_t{r.mask_chip_key()} << 1 |
                       std::uint64_t{static_cast<std::uint8_t>(r.signing_key())} << 2,
                   4);
       }},
      {"REPORT_DATA", 0x050, 64, 2, 5, AnyBit, [](const R& r) { return ToBytes(r.report_data()); }},
      {"MEASUREMENT", 0x090, 48, 2, 5, AnyBit, [](const R& r) { return ToBytes(r.measurement()); }},
      {"HOST_DATA", 0x0C0, 32, 2, 5, AnyBit, [](const R& r) { return ToBytes(r.host_data()); }},
      {"ID_KEY_DIGEST", 0x0E0, 48, 2, 5, AnyBit,
       [](const R& r) { return ToBytes(r.id_key_digest()); }},
      {"AUTHOR_KEY_DIGEST", 0x110, 48, 2, 5, AnyBit,
       [](const R& r) { return ToBytes(r.author_key_digest()); }},
      {"REPORT_ID", 0x140, 32, 2, 5, AnyBit, [](const R& r) { return ToBytes(r.report_id()); }},
      {"REPORT_ID_MA", 0x160, 32, 2, 5, AnyBit,
       [](const R& r) { return ToBytes(r.report_id_ma()); }},
      {"REPORTED_TCB", 0x180, 8, 2, 5, AnyBit, [](const R& r) { return Le(r.reported_tcb(), 8); }},
      {"CPUID_FAM_ID", 0x188, 1, 3, 5, AnyBit, [=](const R& r) { return opt8(r.cpuid_fam_id()); }},
      {"CPUID_MOD_ID", 0x189, 1, 3, 5, AnyBit, [=](const R& r) { return opt8(r.cpuid_mod_id()); }},
      {"CPUID_STEP", 0x18A, 1, 3, 5, AnyBit, [=](const R& r) { return opt8(r.cpuid_step()); }},
      {"CHIP_ID", 0x1A0, 64, 2, 5, AnyBit, [](const R& r) { return ToBytes(r.chip_id()); }},
      {"COMMITTED_TCB", 0x1E0, 8, 2, 5, AnyBit,
       [](const R& r) { return Le(r.committed_tcb(), 8); }},
      {"CURRENT_BUILD", 0x1E8, 1, 2, 5, AnyBit,
       [](const R& r) { return Bytes{r.current_build()}; }},
      {"CURRENT_MINOR", 0x1E9, 1, 2, 5, AnyBit,
       [](const R& r) { return Bytes{r.current_minor()}; }},
      {"CURRENT_MAJOR", 0x1EA, 1, 2, 5, AnyBit,
       [](const R& r) { return Bytes{r.current_major()}; }},
      {"COMMITTED_BUILD", 0x1EC, 1, 2, 5, AnyBit,
       [](const R& r) { return Bytes{r.committed_build()}; }},
      {"COMMITTED_MINOR", 0x1ED, 1, 2, 5, AnyBit,
       [](const R& r) { return Bytes{r.committed_minor()}; }},
      {"COMMITTED_MAJOR", 0x1EE, 1, 2, 5, AnyBit,
       [](const R& r) { return Bytes{r.committed_major()}; }},
      {"LAUNCH_TCB", 0x1F0, 8, 2, 5, AnyBit, [](const R& r) { return Le(r.launch_tcb(), 8); }},
      {"LAUNCH_MIT_VECTOR", 0x1F8, 8, 5, 5, AnyBit,
       [=](const R& r) { return opt64(r.launch_mit_vector()); }},
      {"CURRENT_MIT_VECTOR", 0x200, 8, 5, 5, AnyBit,
       [=](const R& r) { return opt64(r.current_mit_vector()); }},
      {"SIGNATURE.R", 0x2A0, 72, 2, 5, AnyBit, [](const R& r) { return ToBytes(r.signature_r()); }},
      {"SIGNATURE.S", 0x2E8, 72, 2, 5, AnyBit, [](const R& r) { return ToBytes(r.signature_s()); }},
  };
}

std::map<std::string, Bytes> AllFields(const snp::Report& r, std::uint32_t version) {
  std::map<std::string, Bytes> out;
  for (const auto& f : Fields()) {
    if (version >= f.min_version && version <= f.max_version) out[f.name] = f.get(r);
  }
  return out;
}

SnpReportFields WithVersion(std::uint32_t version) {
  SnpReportFields f;
  f.version = version;
  return f;
}

// Expected values of the real reports, from testdata/PROVENANCE.md.
struct RealReport {
  const char* file;
  std::uint32_t version;
  std::uint64_t policy;
  std::uint32_t vmpl;
  int bootloader, tee, snp, microcode;
  const char* fw;
  const char* measurement;
  std::string report_data;
  snp::SigningKey signing_key;
  snp::Product cpuid_product;
};

const RealReport kRealReports[] = {
    {"milan_gosevguest_report.bin", 2, 0xb0000, 0, 2, 0, 5, 68, "1.49.3",
     "b07af9620f3b839b47996422ddec6058338951d984e31211"
     "5131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01",
     "0102030405000000000000000000000000000000000000000000000000000000"
     "0000000000000000000000000000000000000000000000000000000000000000",
     snp::SigningKey::kVcek, snp::Product::kUnknown},
    {"milan_trustee_report.bin", 2, 0x3001f, 0, 3, 0, 8, 115, "1.52.4",
     "a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f6"
     "3fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c",
     "ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e2"
     "0000000000000000000000000000000000000000000000000000000000000000",
     snp::SigningKey::kVcek, snp::Product::kUnknown},
    {"milan_trustee_vlek_report.bin", 3, 0x30000, 1, 4, 0, 24, 217, "1.55.29",
     "8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc"
     "94e740dbe92c93c4e8c9af857f5ceeb5a493df2a570d7bf0",
     "819770b7e6ea6df8dd8fd4dd146b073c0bf4f3ce5b0977ecac486e3a05ed1bd5"
     "4e2a7ac1f5d1ca02e7d7d5ef9f73b8574fd9359e3a480d741a4478e8a7bc27ca",
     snp::SigningKey::kVlek, snp::Product::kMilan},
    {"milan_virtee_report.bin", 2, 0x30000, 0, 3, 0, 8, 115, "1.52.4",
     "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb424"
     "64bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f",
     "d447b55d197491bfe15cf298f9de9986b7a7c4be2468b4f6e2d53b71d7c64581"
     "0b0f2cdfca0040433be063fc1a8293f0f3f8dae7b79fecb3d1cd82bd6a93ebfd",
     snp::SigningKey::kVcek, snp::Product::kUnknown},
    {"genoa_azure_report.bin", 3, 0x3001f, 0, 10, 0, 23, 84, "1.55.40",
     "f57dc09a507c6ecd82369bffb600f0003792f4d99bc26e98"
     "5ec0c266fc34faf3706faf814c9e61065768a6ff917c89ae",
     "b581f12e29a2d7d64e5e0b738d563879a78b51c644d0fa0cce02b48699f6bf5f"
     "0000000000000000000000000000000000000000000000000000000000000000",
     snp::SigningKey::kVcek, snp::Product::kGenoa},
    {"milan_azure_report.bin", 2, 0x3001f, 0, 3, 0, 8, 115, "1.52.4",
     "9ac48fcac8a2d88aeeff8d427ad4f2be0e3917c748a18bdf"
     "52cc317e7fe20308b459d5ef1a12e0c22944eb386d17c315",
     "b3fbad6514c83caeb0380882145e49f794229ef37c421b91fc47ff93556bafac"
     "0000000000000000000000000000000000000000000000000000000000000000",
     snp::SigningKey::kVcek, snp::Product::kUnknown},
};

}  // namespace

TEST_CASE("snp::Report::Parse: parses every real report in testdata", "[attestation][snp]") {
  SKR_REQUIRE_TESTDATA(dir);
  const auto snp_dir = dir / "snp";
  REQUIRE(std::filesystem::is_directory(snp_dir));
  int parsed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(snp_dir)) {
    const std::string name = entry.path().filename().string();
    if (name.size() < 11 || name.substr(name.size() - 11) != "_report.bin") continue;
    INFO(name);
    auto report = snp::Report::Parse(ReadBytes(entry.path()));
    REQUIRE(report.has_value());
    ++parsed;
  }
  CHECK(parsed >= 6);
}

TEST_CASE("snp::Report::Parse: real reports carry the fields in PROVENANCE.md",
          "[attestation][snp]") {
  SKR_REQUIRE_TESTDATA(dir);
  for (const auto& want : kRealReports) {
    INFO(want.file);
    const Bytes bytes = ReadBytes(dir / "snp" / want.file);
    auto report = snp::Report::Parse(bytes);
    REQUIRE(report.has_value());
    CHECK(report->version() == want.version);
    CHECK(report->policy() == want.policy);
    CHECK(report->vmpl() == want.vmpl);
    CHECK(report->signature_algo() == 1);
    // Every product in testdata uses the Milan/Genoa TCB_VERSION layout.
    const auto tcb = snp::DecodeTcb(report->reported_tcb(), snp::Product::kMilan);
    CHECK(int{tcb.bootloader} == want.bootloader);
    CHECK(int{tcb.tee} == want.tee);
    CHECK(int{tcb.snp} == want.snp);
    CHECK(int{tcb.microcode} == want.microcode);
    CHECK(std::to_string(report->current_major()) + "." + std::to_string(report->current_minor()) +
              "." + std::to_string(report->current_build()) ==
          want.fw);
    CHECK(skr::HexEncode(report->measurement()) == want.measurement);
    CHECK(skr::HexEncode(report->report_data()) == want.report_data);
    CHECK(report->signing_key() == want.signing_key);
    // POLICY.DEBUG is bit 19: set in go-sev-guest's sample (policy 0xb0000), clear elsewhere.
    const bool debug = std::string(want.file) == "milan_gosevguest_report.bin";
    CHECK(report->policy_fields().debug == debug);
    CHECK(snp::ToClaims(*report, snp::Product::kMilan, "vcek").at("debug") == debug);
    CHECK(report->ProductFromCpuid() == want.cpuid_product);
    CHECK(report->cpuid_fam_id().has_value() == (want.version >= 3));
    CHECK_FALSE(report->launch_mit_vector().has_value());
    CHECK(ToBytes(report->bytes()) == bytes);
    CHECK(ToBytes(report->signed_bytes()) == Region(bytes, 0, snp::kSignedSize));
  }
}

TEST_CASE("snp::ToClaims: claims of a real Genoa report", "[attestation][snp]") {
  SKR_REQUIRE_TESTDATA(dir);
  auto report = snp::Report::Parse(ReadBytes(dir / "snp" / "genoa_azure_report.bin"));
  REQUIRE(report.has_value());
  const auto c = snp::ToClaims(*report, snp::Product::kGenoa, "vcek");
  CHECK(c.at("tee") == "sev-snp");
  CHECK(c.at("debug") == false);
  CHECK(c.at("snp.version") == 3);
  CHECK(c.at("snp.policy") == 0x3001f);
  CHECK(c.at("snp.policy.abi_major") == 0);
  CHECK(c.at("snp.policy.abi_minor") == 0x1f);
  CHECK(c.at("snp.policy.smt") == true);
  CHECK(c.at("snp.measurement") ==
        "f57dc09a507c6ecd82369bffb600f0003792f4d99bc26e985ec0c266fc34faf3706faf814c9e61065768a6ff91"
        "7c89ae");
  CHECK(c.at("snp.reported_tcb.bootloader") == 10);
  CHECK(c.at("snp.reported_tcb.snp") == 23);
  CHECK(c.at("snp.reported_tcb.microcode") == 84);
  CHECK(c.count("snp.reported_tcb.fmc") == 0);
  CHECK(c.at("snp.current_version") == "1.55.40");
  CHECK(c.at("snp.committed_version") == "1.55.40");
  CHECK(c.at("snp.cpuid.family") == 0x19);
  CHECK(c.at("snp.cpuid.model") == 0x11);
  CHECK(c.at("snp.cpuid.stepping") == 1);
  CHECK(c.at("snp.product") == "Genoa");
  CHECK(c.at("snp.signer") == "vcek");
  CHECK(c.count("snp.launch_mit_vector") == 0);
}

TEST_CASE("snp::Report::Parse: builder reports round-trip for versions 2, 3 and 5",
          "[attestation][snp]") {
  const std::uint32_t version = GENERATE(2u, 3u, 5u);
  INFO("version " << version);
  const SnpReportFields f = WithVersion(version);
  const Bytes bytes = BuildSnpReport(f);
  auto r = snp::Report::Parse(bytes);
  REQUIRE(r.has_value());
  CHECK(r->version() == version);
  CHECK(r->guest_svn() == f.guest_svn);
  CHECK(r->policy() == f.policy);
  CHECK(ToBytes(r->family_id()) == Bytes(f.family_id.begin(), f.family_id.end()));
  CHECK(ToBytes(r->image_id()) == Bytes(f.image_id.begin(), f.image_id.end()));
  CHECK(r->vmpl() == f.vmpl);
  CHECK(r->signature_algo() == 1);
  CHECK(r->current_tcb() == f.current_tcb);
  CHECK(r->platform_info() == f.platform_info);
  CHECK(r->key_info() == f.key_info);
  CHECK(r->signing_key() == snp::SigningKey::kVcek);
  CHECK_FALSE(r->author_key_en());
  CHECK_FALSE(r->mask_chip_key());
  CHECK(ToBytes(r->report_data()) == Bytes(f.report_data.begin(), f.report_data.end()));
  CHECK(ToBytes(r->measurement()) == Bytes(f.measurement.begin(), f.measurement.end()));
  CHECK(ToBytes(r->host_data()) == Bytes(f.host_data.begin(), f.host_data.end()));
  CHECK(ToBytes(r->id_key_digest()) == Bytes(f.id_key_digest.begin(), f.id_key_digest.end()));
  CHECK(ToBytes(r->author_key_digest()) ==
        Bytes(f.author_key_digest.begin(), f.author_key_digest.end()));
  CHECK(ToBytes(r->report_id()) == Bytes(f.report_id.begin(), f.report_id.end()));
  CHECK(ToBytes(r->report_id_ma()) == Bytes(f.report_id_ma.begin(), f.report_id_ma.end()));
  CHECK(r->reported_tcb() == f.reported_tcb);
  if (version >= 3) {
    CHECK(r->cpuid_fam_id() == f.cpuid_fam_id);
    CHECK(r->cpuid_mod_id() == f.cpuid_mod_id);
    CHECK(r->cpuid_step() == f.cpuid_step);
    CHECK(r->ProductFromCpuid() == snp::Product::kMilan);
  } else {
    CHECK_FALSE(r->cpuid_fam_id().has_value());
    CHECK_FALSE(r->cpuid_mod_id().has_value());
    CHECK_FALSE(r->cpuid_step().has_value());
    CHECK(r->ProductFromCpuid() == snp::Product::kUnknown);
  }
  CHECK(ToBytes(r->chip_id()) == Bytes(f.chip_id.begin(), f.chip_id.end()));
  CHECK(r->committed_tcb() == f.committed_tcb);
  CHECK(r->current_build() == f.current_build);
  CHECK(r->current_minor() == f.current_minor);
  CHECK(r->current_major() == f.current_major);
  CHECK(r->committed_build() == f.committed_build);
  CHECK(r->committed_minor() == f.committed_minor);
  CHECK(r->committed_major() == f.committed_major);
  CHECK(r->launch_tcb() == f.launch_tcb);
  if (version >= 5) {
    CHECK(r->launch_mit_vector() == f.launch_mit_vector);
    CHECK(r->current_mit_vector() == f.current_mit_vector);
  } else {
    CHECK_FALSE(r->launch_mit_vector().has_value());
    CHECK_FALSE(r->current_mit_vector().has_value());
  }
  CHECK(ToBytes(r->signature_r()) == Bytes(f.signature_r.begin(), f.signature_r.end()));
  CHECK(ToBytes(r->signature_s()) == Bytes(f.signature_s.begin(), f.signature_s.end()));
  CHECK(r->signed_bytes().size() == 0x2A0);
  CHECK(ToBytes(r->signed_bytes()) == Region(bytes, 0, 0x2A0));
  CHECK(ToBytes(r->bytes()) == bytes);
}

TEST_CASE("snp::Report::Parse: the report owns a copy of its bytes", "[attestation][snp]") {
  Bytes bytes = BuildSnpReport();
  auto r = snp::Report::Parse(bytes);
  REQUIRE(r.has_value());
  const Bytes measurement = ToBytes(r->measurement());
  std::fill(bytes.begin(), bytes.end(), std::uint8_t{0xEE});
  bytes.clear();
  bytes.shrink_to_fit();
  CHECK(ToBytes(r->measurement()) == measurement);
  snp::Report moved = std::move(r).value();
  CHECK(ToBytes(moved.measurement()) == measurement);
  const snp::Report copy = moved;
  CHECK(ToBytes(copy.measurement()) == measurement);
  CHECK(copy.bytes().data() != moved.bytes().data());
}

TEST_CASE("snp::Report::Parse: rejects any size but 0x4A0", "[attestation][snp]") {
  const Bytes full = BuildSnpReport();
  for (std::size_t len = 0; len < snp::kReportSize; ++len) {
    const Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
    auto r = snp::Report::Parse(cut);
    if (ReasonOf(r) != "snp_report_size" || CodeOf(r) != ErrorCode::kMalformedEvidence) {
      FAIL("length " << len << " was not rejected as snp_report_size");
    }
  }
  Bytes longer = full;
  longer.push_back(0);
  CHECK(CodeOf(snp::Report::Parse(longer)) == ErrorCode::kMalformedEvidence);
  CHECK(ReasonOf(snp::Report::Parse(longer)) == "snp_report_size");
  longer.resize(2 * snp::kReportSize, 0);
  CHECK(ReasonOf(snp::Report::Parse(longer)) == "snp_report_size");
  CHECK(ReasonOf(snp::Report::Parse(std::span<const std::uint8_t>())) == "snp_report_size");
}

TEST_CASE("snp::Report::Parse: rejects unsupported versions", "[attestation][snp]") {
  const std::uint32_t version = GENERATE(0u, 1u, 4u, 6u, 0x100u, 0x02000000u, 0xFFFFFFFFu);
  INFO("version " << version);
  auto r = snp::Report::Parse(BuildSnpReport(WithVersion(version)));
  CHECK(CodeOf(r) == ErrorCode::kMalformedEvidence);
  CHECK(ReasonOf(r) == "snp_report_version");
}

TEST_CASE("snp::Report::Parse: rejects a SIGNATURE_ALGO other than ECDSA P-384",
          "[attestation][snp]") {
  SnpReportFields f;
  f.signature_algo = GENERATE(0u, 2u, 0x100u, 0xFFFFFFFFu);
  INFO("algo " << f.signature_algo);
  auto r = snp::Report::Parse(BuildSnpReport(f));
  CHECK(CodeOf(r) == ErrorCode::kMalformedEvidence);
  CHECK(ReasonOf(r) == "snp_signature_algo");
}

TEST_CASE("snp::Report::Parse: rejects a non-zero byte in every reserved range",
          "[attestation][snp]") {
  const std::uint32_t version = GENERATE(2u, 3u, 5u);
  const Bytes good = BuildSnpReport(WithVersion(version));
  REQUIRE(snp::Report::Parse(good).has_value());
  std::size_t checked = 0;
  for (const auto& range : kSnpReservedRanges) {
    if (!range.AppliesTo(version)) continue;
    for (std::size_t off = range.begin; off < range.end; ++off) {
      for (std::uint8_t value : {std::uint8_t{0x01}, std::uint8_t{0x80}}) {
        Bytes bad = good;
        bad[off] = value;
        auto r = snp::Report::Parse(bad);
        if (CodeOf(r) != ErrorCode::kMalformedEvidence || ReasonOf(r) != "snp_reserved_nonzero" ||
            r.error().message().find(HexOffset(off)) == std::string::npos) {
          FAIL("version " << version << ": byte " << HexOffset(off) << " = " << int{value}
                          << " not rejected as snp_reserved_nonzero naming the offset");
        }
        ++checked;
      }
    }
  }
  // v2: 4+24+1+1+168+368 bytes; v3: 21 instead of 24; v5: 152 instead of 168.
  const std::size_t expected_bytes = version == 2 ? 566 : version == 3 ? 563 : 547;
  CHECK(checked == 2 * expected_bytes);
}

TEST_CASE("snp::Report::Parse: every byte outside the fields is in the reserved table",
          "[attestation][snp]") {
  // Cross-check of the two tables: fields + reserved ranges + VERSION + SIGNATURE_ALGO tile the
  // report exactly once for each version.
  for (std::uint32_t version : {2u, 3u, 5u}) {
    std::vector<int> covered(snp::kReportSize, 0);
    auto mark = [&](std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e; ++i) ++covered[i];
    };
    mark(0x000, 0x004);  // VERSION
    mark(0x034, 0x038);  // SIGNATURE_ALGO
    for (const auto& f : Fields()) {
      if (version >= f.min_version && version <= f.max_version) mark(f.offset, f.offset + f.size);
    }
    for (const auto& r : kSnpReservedRanges) {
      if (r.AppliesTo(version)) mark(r.begin, r.end);
    }
    for (std::size_t i = 0; i < covered.size(); ++i) {
      if (covered[i] != 1)
        FAIL("version " << version << ": byte " << HexOffset(i) << " covered " << covered[i]
                        << " times");
    }
  }
}

TEST_CASE("snp::Report::Parse: rejects reserved bits in POLICY and the key-info word",
          "[attestation][snp]") {
  SECTION("POLICY bits 63:26 must be zero") {
    for (unsigned bit = 26; bit < 64; ++bit) {
      SnpReportFields f;
      f.policy |= std::uint64_t{1} << bit;
      auto r = snp::Report::Parse(BuildSnpReport(f));
      if (ReasonOf(r) != "snp_reserved_nonzero" || CodeOf(r) != ErrorCode::kMalformedEvidence) {
        FAIL("policy bit " << bit << " not rejected");
      }
    }
  }
  SECTION("POLICY bit 17 must be one") {
    SnpReportFields f;
    f.policy &= ~(std::uint64_t{1} << 17);
    auto r = snp::Report::Parse(BuildSnpReport(f));
    CHECK(CodeOf(r) == ErrorCode::kMalformedEvidence);
    CHECK(ReasonOf(r) == "snp_policy_reserved");
  }
  SECTION("word at 0x48 bits 31:5 must be zero") {
    for (unsigned bit = 5; bit < 32; ++bit) {
      SnpReportFields f;
      f.key_info = 1U << bit;
      auto r = snp::Report::Parse(BuildSnpReport(f));
      if (ReasonOf(r) != "snp_reserved_nonzero" || CodeOf(r) != ErrorCode::kMalformedEvidence) {
        FAIL("key info bit " << bit << " not rejected");
      }
    }
  }
  SECTION("SIGNING_KEY values 2 to 6 are reserved") {
    for (std::uint32_t key = 2; key <= 6; ++key) {
      SnpReportFields f;
      f.key_info = key << 2;
      auto r = snp::Report::Parse(BuildSnpReport(f));
      CHECK(CodeOf(r) == ErrorCode::kMalformedEvidence);
      CHECK(ReasonOf(r) == "snp_signing_key");
    }
  }
  SECTION("SIGNING_KEY 0, 1 and 7 and the two flags parse") {
    const std::pair<std::uint32_t, snp::SigningKey> keys[] = {
        {0, snp::SigningKey::kVcek}, {1, snp::SigningKey::kVlek}, {7, snp::SigningKey::kNone}};
    for (const auto& [value, key] : keys) {
      SnpReportFields f;
      f.key_info = value << 2 | 0x3;
      auto r = snp::Report::Parse(BuildSnpReport(f));
      REQUIRE(r.has_value());
      CHECK(r->signing_key() == key);
      CHECK(r->author_key_en());
      CHECK(r->mask_chip_key());
    }
  }
  SECTION("unknown PLATFORM_INFO bits are accepted (reported state, extended by new firmware)") {
    SnpReportFields f;
    f.platform_info = ~std::uint64_t{0};
    CHECK(snp::Report::Parse(BuildSnpReport(f)).has_value());
  }
}

TEST_CASE("snp::Report::Parse: one flipped bit in a field changes only that field",
          "[attestation][snp]") {
  const std::uint32_t version = GENERATE(2u, 3u, 5u);
  const Bytes good = BuildSnpReport(WithVersion(version));
  auto base = snp::Report::Parse(good);
  REQUIRE(base.has_value());
  const auto base_fields = AllFields(*base, version);
  std::size_t flips = 0;
  for (const auto& field : Fields()) {
    if (version < field.min_version || version > field.max_version) continue;
    // The accessor reads exactly the table's byte range.
    CHECK(field.get(*base) == Region(good, field.offset, field.size));
    for (std::size_t bit = 0; bit < 8 * field.size; ++bit) {
      Bytes bad = good;
      bad[field.offset + bit / 8] ^= static_cast<std::uint8_t>(1U << (bit % 8));
      auto r = snp::Report::Parse(bad);
      if (!field.flippable(bit)) {
        if (CodeOf(r) != ErrorCode::kMalformedEvidence) {
          FAIL(field.name << " bit " << bit << " should make the report malformed");
        }
        continue;
      }
      if (!r.has_value()) {
        FAIL(field.name << " bit " << bit << ": " << r.error().message());
      }
      ++flips;
      auto fields = AllFields(*r, version);
      for (const auto& [name, value] : fields) {
        const bool changed = value != base_fields.at(name);
        if (changed != (name == field.name)) {
          FAIL("flipping " << field.name << " bit " << bit << ": " << name
                           << (changed ? " changed" : " did not change"));
        }
      }
      if (fields.at(field.name) != Region(bad, field.offset, field.size)) {
        FAIL(field.name << " bit " << bit << ": accessor does not match the bytes");
      }
    }
  }
  CHECK(flips > 8 * 500);
}

TEST_CASE("snp::Report::ProductFromCpuid: maps CPUID family and model", "[attestation][snp]") {
  struct Case {
    std::uint8_t family, model;
    snp::Product product;
  };
  const Case cases[] = {
      {0x19, 0x00, snp::Product::kMilan},   {0x19, 0x01, snp::Product::kMilan},
      {0x19, 0x0F, snp::Product::kMilan},   {0x19, 0x10, snp::Product::kGenoa},
      {0x19, 0x11, snp::Product::kGenoa},   {0x19, 0x1F, snp::Product::kGenoa},
      {0x19, 0xA0, snp::Product::kGenoa},   {0x19, 0xAF, snp::Product::kGenoa},
      {0x19, 0x20, snp::Product::kUnknown}, {0x19, 0x21, snp::Product::kUnknown},
      {0x19, 0xB0, snp::Product::kUnknown}, {0x1A, 0x00, snp::Product::kTurin},
      {0x1A, 0x02, snp::Product::kTurin},   {0x1A, 0x11, snp::Product::kTurin},
      {0x1A, 0x12, snp::Product::kUnknown}, {0x1A, 0x50, snp::Product::kUnknown},
      {0x17, 0x01, snp::Product::kUnknown}, {0x00, 0x00, snp::Product::kUnknown},
  };
  for (const auto& c : cases) {
    SnpReportFields f;
    f.cpuid_fam_id = c.family;
    f.cpuid_mod_id = c.model;
    for (std::uint32_t version : {3u, 5u}) {
      f.version = version;
      auto r = snp::Report::Parse(BuildSnpReport(f));
      REQUIRE(r.has_value());
      INFO("family " << int{c.family} << " model " << int{c.model} << " version " << version);
      CHECK(r->ProductFromCpuid() == c.product);
    }
  }
  auto v2 = snp::Report::Parse(BuildSnpReport(WithVersion(2)));
  REQUIRE(v2.has_value());
  CHECK(v2->ProductFromCpuid() == snp::Product::kUnknown);
  CHECK(std::string(snp::ProductName(snp::Product::kMilan)) == "Milan");
  CHECK(std::string(snp::ProductName(snp::Product::kGenoa)) == "Genoa");
  CHECK(std::string(snp::ProductName(snp::Product::kTurin)) == "Turin");
  CHECK(std::string(snp::ProductName(snp::Product::kUnknown)) == "unknown");
}

TEST_CASE("snp::DecodeTcb: Milan/Genoa and Turin layouts", "[attestation][snp]") {
  const std::uint64_t raw = 0x0807060504030201;
  for (auto product : {snp::Product::kMilan, snp::Product::kGenoa, snp::Product::kUnknown}) {
    const auto t = snp::DecodeTcb(raw, product);
    CHECK(t.bootloader == 0x01);
    CHECK(t.tee == 0x02);
    CHECK(t.snp == 0x07);
    CHECK(t.microcode == 0x08);
    CHECK(t.fmc == 0);
    CHECK(t.raw == raw);
  }
  const auto t = snp::DecodeTcb(raw, snp::Product::kTurin);
  CHECK(t.fmc == 0x01);
  CHECK(t.bootloader == 0x02);
  CHECK(t.tee == 0x03);
  CHECK(t.snp == 0x04);
  CHECK(t.microcode == 0x08);
  CHECK(t.raw == raw);
}

TEST_CASE("snp::ToClaims: names and values for a built version 5 Turin report",
          "[attestation][snp]") {
  SnpReportFields f = WithVersion(5);
  f.cpuid_fam_id = 0x1A;
  f.cpuid_mod_id = 0x02;
  f.policy = 0x30000 | (std::uint64_t{1} << 19) | (std::uint64_t{1} << 25) | 0x0102;
  f.platform_info = 0x9F;
  f.key_info = 0x1 | (1U << 2);
  f.reported_tcb = 0x2A00000004030201;  // Turin: fmc 1, bl 2, tee 3, snp 4, ucode 0x2A
  auto r = snp::Report::Parse(BuildSnpReport(f));
  REQUIRE(r.has_value());
  const auto c = snp::ToClaims(*r, snp::Product::kTurin, "vlek");

  CHECK(c.at("tee") == "sev-snp");
  CHECK(c.at("debug") == true);
  CHECK(c.at("report_data") == skr::HexEncode(f.report_data));
  CHECK(c.at("snp.version") == 5);
  CHECK(c.at("snp.guest_svn") == f.guest_svn);
  CHECK(c.at("snp.vmpl") == 0);
  CHECK(c.at("snp.policy") == f.policy);
  CHECK(c.at("snp.policy.abi_minor") == 2);
  CHECK(c.at("snp.policy.abi_major") == 1);
  CHECK(c.at("snp.policy.smt") == true);
  CHECK(c.at("snp.policy.migrate_ma") == false);
  CHECK(c.at("snp.policy.debug") == true);
  CHECK(c.at("snp.policy.single_socket") == false);
  CHECK(c.at("snp.policy.cxl_allow") == false);
  CHECK(c.at("snp.policy.mem_aes_256_xts") == false);
  CHECK(c.at("snp.policy.rapl_dis") == false);
  CHECK(c.at("snp.policy.ciphertext_hiding") == false);
  CHECK(c.at("snp.policy.page_swap_disable") == true);
  CHECK(c.at("snp.family_id") == skr::HexEncode(f.family_id));
  CHECK(c.at("snp.image_id") == skr::HexEncode(f.image_id));
  CHECK(c.at("snp.measurement") == skr::HexEncode(f.measurement));
  CHECK(c.at("snp.host_data") == skr::HexEncode(f.host_data));
  CHECK(c.at("snp.id_key_digest") == skr::HexEncode(f.id_key_digest));
  CHECK(c.at("snp.author_key_digest") == skr::HexEncode(f.author_key_digest));
  CHECK(c.at("snp.report_id") == skr::HexEncode(f.report_id));
  CHECK(c.at("snp.report_id_ma") == skr::HexEncode(f.report_id_ma));
  CHECK(c.at("snp.chip_id") == skr::HexEncode(f.chip_id));
  CHECK(c.at("snp.author_key_en") == true);
  CHECK(c.at("snp.mask_chip_key") == false);
  CHECK(c.at("snp.signer") == "vlek");
  CHECK(c.at("snp.product") == "Turin");
  CHECK(c.at("snp.platform_info") == 0x9F);
  CHECK(c.at("snp.platform_info.smt_en") == true);
  CHECK(c.at("snp.platform_info.tsme_en") == true);
  CHECK(c.at("snp.platform_info.ecc_en") == true);
  CHECK(c.at("snp.platform_info.rapl_dis") == true);
  CHECK(c.at("snp.platform_info.ciphertext_hiding_en") == true);
  CHECK(c.at("snp.platform_info.alias_check_complete") == false);
  CHECK(c.at("snp.platform_info.tio_en") == true);
  CHECK(c.at("snp.reported_tcb.fmc") == 1);
  CHECK(c.at("snp.reported_tcb.bootloader") == 2);
  CHECK(c.at("snp.reported_tcb.tee") == 3);
  CHECK(c.at("snp.reported_tcb.snp") == 4);
  CHECK(c.at("snp.reported_tcb.microcode") == 0x2A);
  for (const char* prefix :
       {"snp.current_tcb", "snp.reported_tcb", "snp.committed_tcb", "snp.launch_tcb"}) {
    for (const char* part : {".bootloader", ".tee", ".snp", ".microcode", ".fmc"}) {
      INFO(prefix << part);
      CHECK(c.at(std::string(prefix) + part).is_number_unsigned());
    }
  }
  CHECK(c.at("snp.current_version") == "1.55.29");
  CHECK(c.at("snp.committed_version") == "1.55.28");
  CHECK(c.at("snp.cpuid.family") == 0x1A);
  CHECK(c.at("snp.cpuid.model") == 0x02);
  CHECK(c.at("snp.cpuid.stepping") == 0x01);
  CHECK(c.at("snp.launch_mit_vector") == f.launch_mit_vector);
  CHECK(c.at("snp.current_mit_vector") == f.current_mit_vector);
  // Hex claims are lowercase.
  for (const auto& [name, value] : c) {
    if (!value.is_string()) continue;
    const auto& s = value.get_ref<const std::string&>();
    CHECK(std::none_of(s.begin(), s.end(), [](char ch) { return ch >= 'A' && ch <= 'F'; }));
  }
}

TEST_CASE("snp::ToClaims: version 2 has no CPUID or mitigation claims, no FMC off Turin",
          "[attestation][snp]") {
  auto r = snp::Report::Parse(BuildSnpReport(WithVersion(2)));
  REQUIRE(r.has_value());
  const auto c = snp::ToClaims(*r, snp::Product::kMilan, "vcek");
  CHECK(c.count("snp.cpuid.family") == 0);
  CHECK(c.count("snp.cpuid.model") == 0);
  CHECK(c.count("snp.cpuid.stepping") == 0);
  CHECK(c.count("snp.launch_mit_vector") == 0);
  CHECK(c.count("snp.current_mit_vector") == 0);
  CHECK(c.count("snp.current_tcb.fmc") == 0);
  CHECK(c.at("debug") == false);
  CHECK(c.at("snp.policy.debug") == false);
  CHECK(c.at("snp.product") == "Milan");
  // Default current_tcb 0xD918000000000004: Milan layout bl 4, tee 0, snp 0x18, ucode 0xD9.
  CHECK(c.at("snp.current_tcb.bootloader") == 4);
  CHECK(c.at("snp.current_tcb.tee") == 0);
  CHECK(c.at("snp.current_tcb.snp") == 0x18);
  CHECK(c.at("snp.current_tcb.microcode") == 0xD9);
}

TEST_CASE("skr::test::SignSnpReport: R and S verify over the signed range", "[attestation][snp]") {
  auto key = skr::GenerateEcKey("P-384");
  REQUIRE(key.has_value());
  Bytes bytes = BuildSnpReport();
  REQUIRE(skr::test::SignSnpReport(bytes, key->get()).has_value());
  auto r = snp::Report::Parse(bytes);
  REQUIRE(r.has_value());
  // Re-encode R, S (little-endian) as DER and verify with EVP over signed_bytes().
  skr::BignumPtr rn(BN_lebin2bn(r->signature_r().data(), 72, nullptr));
  skr::BignumPtr sn(BN_lebin2bn(r->signature_s().data(), 72, nullptr));
  REQUIRE(rn);
  REQUIRE(sn);
  skr::EcdsaSigPtr sig(ECDSA_SIG_new());
  REQUIRE(sig);
  REQUIRE(ECDSA_SIG_set0(sig.get(), rn.get(), sn.get()) == 1);
  (void)rn.release();
  (void)sn.release();
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  REQUIRE(der_len > 0);
  Bytes der_bytes(der, der + der_len);
  OPENSSL_free(der);
  auto verify = [&](std::span<const std::uint8_t> msg) {
    skr::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    REQUIRE(EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha384(), nullptr, key->get()) == 1);
    return EVP_DigestVerify(ctx.get(), der_bytes.data(), der_bytes.size(), msg.data(),
                            msg.size()) == 1;
  };
  CHECK(verify(r->signed_bytes()));
  Bytes tampered = ToBytes(r->signed_bytes());
  tampered[0x90] ^= 1;
  CHECK_FALSE(verify(tampered));
}
