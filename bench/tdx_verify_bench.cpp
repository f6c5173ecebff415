// SPDX-License-Identifier: Apache-2.0
// Intel TDX verification throughput on one core (issue 13):
//   real quote:  VerifyQuote on ../shared/testdata/tdx/quote_v4_trustee_a.dat as of 2023-06-20:
//                parse + PCK chain (PEM parse, 2 ECDSA P-256 certificate signatures) + QE report
//                signature + attestation-key binding + quote signature
//   cached:      TdxVerifier::Verify as skrd runs it, collateral set built once (what skrd keeps):
//                evidence JSON + base64 + the above + CRL checks + TCB status + claims
//                (Intel-shaped test PKI quote)
//   cold:        the same, but the collateral set rebuilt (TCB Info and QE Identity parsed and
//                their signatures and chain checked, CRLs parsed) before every verification
//   skr-tdx-bench [TESTDATA_DIR] [SECONDS]
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

#include "attestation/tdx/intel_root.h"
#include "attestation/tdx/tdx_verifier.h"
#include "attestation/tdx/verify.h"
#include "common/clock.h"
#include "common/encoding.h"
#include "common/x509.h"
#include "tests/support/intel_test_pki.h"

namespace tdx = skr::attestation::tdx;
using Clock = std::chrono::steady_clock;

namespace {

template <typename F>
double PerSecond(double seconds, F&& once) {
  std::uint64_t n = 0;
  const auto t0 = Clock::now();
  while (std::chrono::duration<double>(Clock::now() - t0).count() < seconds) {
    if (!once()) return -1;
    ++n;
  }
  return static_cast<double>(n) / std::chrono::duration<double>(Clock::now() - t0).count();
}

class Source final : public tdx::TdxCollateralSource {
 public:
  std::shared_ptr<const tdx::TdxCollateralSet> set;
  std::shared_ptr<const tdx::TdxCollateralSet> Current() const override { return set; }
};

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "../shared/testdata";
  const double seconds = argc > 2 ? std::stod(argv[2]) : 5.0;
  auto real = skr::ReadFile(dir + "/tdx/quote_v4_trustee_a.dat");
  if (!real) {
    std::fprintf(stderr, "testdata not found under %s\n", dir.c_str());
    return 2;
  }
  X509* intel = tdx::IntelSgxRootCa();
  const double real_rate = PerSecond(seconds, [&] {
    return tdx::VerifyQuote(skr::AsBytes(*real), std::span<X509* const>(&intel, 1), 1687219200)
        .has_value();
  });

  // The test PKI, trusted as an extra root, with collateral valid now.
  const skr::test::IntelTestPki pki;
  const std::int64_t now = std::time(nullptr);
  skr::FakeClock clock(now);
  Source source;
  tdx::TdxVerifierOptions opts;
  opts.extra_roots = skr::ParseCertificatesPem(pki.RootPem()).value();
  opts.collateral = &source;
  tdx::TdxVerifier verifier(std::move(opts), clock);
  tdx::TdxCollateralTexts texts;
  texts.tcb_infos = {pki.TcbInfoBody(now - 60, now + 86400)};
  texts.qe_identity = pki.QeIdentityBody(now - 60, now + 86400);
  texts.tcb_signing_chain = pki.TcbSigningChainPem();
  texts.pck_crls = {pki.PckCrlPem({}, now - 60, now + 86400)};
  texts.root_ca_crl = pki.RootCrlPem({}, now - 60, now + 86400);
  source.set = tdx::TdxCollateralSet::Build(texts, verifier.roots()).value();
  const skr::Json ev = {{"type", "tdx"},
                        {"quote", skr::Base64Encode(pki.Quote(skr::test::TestTdQuote{}))}};
  if (!verifier.Verify(ev)) {
    std::fprintf(stderr, "test PKI quote does not verify\n");
    return 1;
  }
  const double cached = PerSecond(seconds, [&] { return verifier.Verify(ev).has_value(); });
  const double cold = PerSecond(seconds, [&] {
    auto set = tdx::TdxCollateralSet::Build(texts, verifier.roots());
    if (!set) return false;
    source.set = *set;
    return verifier.Verify(ev).has_value();
  });
  std::printf("| path | verifications/s | us each |\n|---|---|---|\n");
  for (const auto& [name, rate] : {std::pair<const char*, double>{"real quote (trustee_a, v4): VerifyQuote", real_rate},
                                   {"TdxVerifier::Verify, collateral set kept (skrd)", cached},
                                   {"TdxVerifier::Verify, collateral set rebuilt each time", cold}}) {
    std::printf("| %s | %.0f | %.0f |\n", name, rate, rate > 0 ? 1e6 / rate : 0.0);
  }
  return 0;
}
