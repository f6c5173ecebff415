// SPDX-License-Identifier: Apache-2.0
// TDX collateral (issue 13): the real TCB Info / QE Identity bodies of ../shared/testdata parse,
// their signatures verify to the pinned Intel SGX Root CA (at the time they were issued, while
// the testdata's TCB signing certificate was valid), altered bodies are refused, and the TCB
// status of each real quote follows Intel's algorithm.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "attestation/tdx/collateral.h"
#include "attestation/tdx/intel_root.h"
#include "attestation/tdx/tcb.h"
#include "attestation/tdx/verify.h"
#include "common/clock.h"
#include "tests/support/test_support.h"

namespace skr::attestation::tdx {
namespace {

std::string Collateral(const std::filesystem::path& testdata, const char* name) {
  return test::ReadFileOrFail(testdata / "tdx/collateral" / name);
}

VerifiedQuote LoadQuote(const std::filesystem::path& testdata, const char* name, std::int64_t t) {
  const std::string s = test::ReadFileOrFail(testdata / "tdx" / name);
  X509* root = IntelSgxRootCa();
  auto v = VerifyQuote(std::vector<std::uint8_t>(s.begin(), s.end()),
                       std::span<X509* const>(&root, 1), t);
  INFO(name << ": " << (v ? "" : v.error().message()));
  REQUIRE(v.has_value());
  return std::move(v).value();
}

Result<void> VerifySigned(const SignedBody& body, const std::string& chain, std::int64_t t) {
  X509* root = IntelSgxRootCa();
  return VerifyCollateralSignature(body, chain, std::span<X509* const>(&root, 1), t);
}

constexpr std::int64_t kJune2023 = 1687219200;  // 2023-06-20: the 2023 collateral is current
constexpr std::int64_t kJune2026 = 1780272000;

}  // namespace

TEST_CASE("TDX collateral: the real bodies parse and their signatures verify", "[tdx][collateral]") {
  SKR_REQUIRE_TESTDATA(testdata);
  const std::string chain = Collateral(testdata, "tcb_signing_chain.pem");
  auto tcb = ParseTcbInfo(Collateral(testdata, "tcbinfo_fmspc_50806f000000_2023-06.json"));
  REQUIRE(tcb.has_value());
  CHECK(tcb->version == 3);
  CHECK(tcb->fmspc == std::array<std::uint8_t, 6>{0x50, 0x80, 0x6f, 0, 0, 0});
  CHECK(tcb->levels.size() == 2);
  CHECK(tcb->levels[1].advisory_ids.size() == 13);
  CHECK(FormatRfc3339(tcb->next_update) == "2023-07-18T08:42:58Z");
  CHECK(VerifySigned(tcb->signed_body, chain, tcb->issue_date).has_value());
  auto qe = ParseQeIdentity(Collateral(testdata, "qe_identity_td_2023-06.json"));
  REQUIRE(qe.has_value());
  CHECK(qe->isv_prod_id == 2);
  CHECK(VerifySigned(qe->signed_body, chain, qe->issue_date).has_value());

  // The later files are signed by the same key, but the testdata's TCB signing certificate
  // expired on 2025-05-21, before they were issued: refused as of their issue date.
  for (const char* later : {"tcbinfo_fmspc_00a06d080000_2025-10.json",
                            "tcbinfo_fmspc_90c06f000000_2026-02.json"}) {
    INFO(later);
    auto t = ParseTcbInfo(Collateral(testdata, later));
    REQUIRE(t.has_value());
    CHECK(test::ReasonOf(VerifySigned(t->signed_body, chain, t->issue_date)) ==
          "tdx_collateral_untrusted");
    CHECK(VerifySigned(t->signed_body, chain, 1700000000).has_value());  // the key itself is right
  }

  SECTION("an altered body or signature is refused") {
    std::string body = Collateral(testdata, "tcbinfo_fmspc_50806f000000_2023-06.json");
    body.replace(body.find("\"pcesvn\":11"), 11, "\"pcesvn\":10");
    auto altered = ParseTcbInfo(body);
    REQUIRE(altered.has_value());
    CHECK(test::ReasonOf(VerifySigned(altered->signed_body, chain, kJune2023)) ==
          "tdx_collateral_untrusted");
    auto sig = tcb->signed_body;
    sig.signature[5] ^= 1;
    CHECK(test::ReasonOf(VerifySigned(sig, chain, kJune2023)) == "tdx_collateral_untrusted");
    // Signed by someone else: the PCK Platform CA chain is not the TCB signing chain.
    CHECK(test::ReasonOf(VerifySigned(tcb->signed_body, Collateral(testdata, "pck_crl_issuer_chain.pem"),
                                      kJune2023)) == "tdx_collateral_untrusted");
  }
  SECTION("malformed bodies") {
    for (const std::string& bad : {std::string("[]"), std::string("{\"tcbInfo\":{}}"),
                                  std::string("{\"tcbInfo\":{\"id\":\"TDX\"},\"signature\":\"00\"}"),
                                  std::string("{\"tcbInfo\":"), std::string("not json")}) {
      INFO(bad);
      CHECK(test::ReasonOf(ParseTcbInfo(bad)) == "tdx_collateral_malformed");
    }
    // An SGX TCB Info, or a QE identity where TCB Info belongs.
    CHECK(test::ReasonOf(ParseTcbInfo(Collateral(testdata, "qe_identity_td_2023-06.json"))) ==
          "tdx_collateral_malformed");
    CHECK(test::ReasonOf(ParseQeIdentity(Collateral(testdata, "tcbinfo_fmspc_50806f000000_2023-06.json"))) ==
          "tdx_collateral_malformed");
  }
}

TEST_CASE("TDX TCB status: each real quote against its platform's collateral", "[tdx][collateral]") {
  SKR_REQUIRE_TESTDATA(testdata);
  auto tcb2023 = ParseTcbInfo(Collateral(testdata, "tcbinfo_fmspc_50806f000000_2023-06.json"));
  auto tcb2025 = ParseTcbInfo(Collateral(testdata, "tcbinfo_fmspc_00a06d080000_2025-10.json"));
  auto tcb2026 = ParseTcbInfo(Collateral(testdata, "tcbinfo_fmspc_90c06f000000_2026-02.json"));
  auto qe2023 = ParseQeIdentity(Collateral(testdata, "qe_identity_td_2023-06.json"));
  auto qe2025 = ParseQeIdentity(Collateral(testdata, "qe_identity_td_2025-10.json"));
  REQUIRE((tcb2023 && tcb2025 && tcb2026 && qe2023 && qe2025));

  // TEE_TCB_SVN 03 00 05 (module 1.0): every SGX component, PCESVN and TDX component meets
  // the first level; QE ISVSVN 4 meets the QE identity's only level.
  auto a = EvaluateTcb(LoadQuote(testdata, "quote_v4_trustee_a.dat", kJune2023), *tcb2023, *qe2023);
  INFO((a ? "" : a.error().message()));
  REQUIRE(a.has_value());
  CHECK(a->platform_status == "UpToDate");
  CHECK(a->status == "UpToDate");
  CHECK(a->advisory_ids.empty());

  // TEE_TCB_SVN 03 00 04: the TDX late microcode SVN (index 2) is below 5 in every level.
  CHECK(test::ReasonOf(EvaluateTcb(LoadQuote(testdata, "quote_v4_spr_e4_gotdxguest.dat", kJune2023),
                                   *tcb2023, *qe2023)) == "tdx_tcb_not_supported");

  // Module 1.5 quotes (TEE_TCB_SVN[1] = 1): judged by tdxModuleIdentities TDX_01.
  auto v5 = EvaluateTcb(LoadQuote(testdata, "quote_v5_gotdxguest.dat", kJune2026), *tcb2026, *qe2025);
  INFO((v5 ? "" : v5.error().message()));
  REQUIRE(v5.has_value());
  // TEE_TCB_SVN 0b 01 04: module TDX_01 at ISVSVN 11 (>= 6, UpToDate), TDX microcode 4 >= 3
  // and the PCK's SGX components meet the first level; QE ISVSVN 7 >= 4.
  CHECK(v5->module_status == "UpToDate");
  CHECK(v5->platform_status == "UpToDate");
  CHECK(v5->qe_status == "UpToDate");
  CHECK(v5->status == "UpToDate");
  // PCK SGX components 1 1 2 2 3 1 0 3: below every level (the first component needs 2).
  CHECK(test::ReasonOf(EvaluateTcb(LoadQuote(testdata, "quote_v5_trustee.dat", kJune2026), *tcb2026,
                                   *qe2025)) == "tdx_tcb_not_supported");
  auto b = EvaluateTcb(LoadQuote(testdata, "quote_v4_trustee_b.dat", kJune2026), *tcb2025, *qe2025);
  INFO((b ? "" : b.error().message()));
  REQUIRE(b.has_value());
  // TEE_TCB_SVN 05 03 02: module TDX_03 at ISVSVN 5 (>= 3, UpToDate); the PCK's PCESVN is
  // below 13, so the platform meets only the second level: OutOfDate (no advisory listed).
  CHECK(b->module_status == "UpToDate");
  CHECK(b->platform_status == "OutOfDate");
  CHECK(b->status == "OutOfDate");
  CHECK(b->advisory_ids.empty());

  // Collateral of another platform.
  CHECK(test::ReasonOf(EvaluateTcb(LoadQuote(testdata, "quote_v4_gce_cos113_gotdxguest.dat", kJune2026),
                                   *tcb2023, *qe2023)) == "tdx_collateral_mismatch");
  // A QE identity whose signer is not the QE's.
  QeIdentity other_qe = *qe2023;
  other_qe.mrsigner[0] ^= 1;
  CHECK(test::ReasonOf(EvaluateTcb(LoadQuote(testdata, "quote_v4_trustee_a.dat", kJune2023), *tcb2023,
                                   other_qe)) == "tdx_qe_identity_mismatch");
  // A QE below every QE identity level: Revoked.
  QeIdentity newer_qe = *qe2023;
  newer_qe.levels[0].isv_svn = 9;
  auto revoked = EvaluateTcb(LoadQuote(testdata, "quote_v4_trustee_a.dat", kJune2023), *tcb2023, newer_qe);
  REQUIRE(revoked.has_value());
  CHECK(revoked->status == "Revoked");
  // An OutOfDate QE makes an UpToDate platform OutOfDate, with the QE level's advisories.
  QeIdentity old_qe = *qe2023;
  old_qe.levels[0].status = "OutOfDate";
  old_qe.levels[0].advisory_ids = {"INTEL-SA-00000"};
  auto ood = EvaluateTcb(LoadQuote(testdata, "quote_v4_trustee_a.dat", kJune2023), *tcb2023, old_qe);
  REQUIRE(ood.has_value());
  CHECK(ood->status == "OutOfDate");
  CHECK(ood->advisory_ids == std::vector<std::string>{"INTEL-SA-00000"});
  // A TDX module signer other than the TCB Info's.
  TcbInfo other_module = *tcb2023;
  other_module.module.mrsigner[0] = 1;
  CHECK(test::ReasonOf(EvaluateTcb(LoadQuote(testdata, "quote_v4_trustee_a.dat", kJune2023),
                                   other_module, *qe2023)) == "tdx_module_mismatch");
}

}  // namespace skr::attestation::tdx
