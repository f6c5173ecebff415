// SPDX-License-Identifier: Apache-2.0
// SEV-SNP verification throughput on one core, on a real Milan report and VCEK from
// ../shared/testdata:
//   cold:   every signature of the chain checked each time (ARK self-signature, ASK by ARK,
//           VCEK by ASK: RSA-4096 PSS) + report parse + ECDSA P-384 report signature
//   cached: SnpVerifier::Verify with the chain cache warm (what skrd does for a known VCEK):
//           evidence JSON + base64 + parse + cached chain + extensions + report signature + claims
//   skr-snp-bench [TESTDATA_DIR] [SECONDS]
#include <chrono>
#include <cstdio>
#include <string>

#include "attestation/snp/amd_roots.h"
#include "attestation/snp/cert_chain.h"
#include "attestation/snp/report.h"
#include "attestation/snp/snp_verifier.h"
#include "attestation/snp/verify.h"
#include "common/encoding.h"
#include "common/x509.h"

namespace snp = skr::attestation::snp;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "../shared/testdata";
  const double seconds = argc > 2 ? std::stod(argv[2]) : 5.0;
  auto report = skr::ReadFile(dir + "/snp/milan_trustee_report.bin");
  auto vcek = skr::ReadFile(dir + "/snp/milan_trustee_vcek.der");
  if (!report || !vcek) {
    std::fprintf(stderr, "testdata not found under %s\n", dir.c_str());
    return 2;
  }
  auto leaf = skr::ParseCertificateDer(skr::AsBytes(*vcek)).value();
  const snp::AmdTrustStore store = snp::AmdTrustStore::Pinned();
  const auto& roots = *store.Find(snp::Product::kMilan);
  skr::FakeClock clock(1748736000);  // 2025-06-01, inside every certificate's validity

  // Cold: the whole chain's signatures, every time.
  std::uint64_t n = 0;
  auto t0 = Clock::now();
  while (std::chrono::duration<double>(Clock::now() - t0).count() < seconds) {
    auto rep = snp::Report::Parse(skr::AsBytes(*report)).value();
    if (!skr::VerifyCertificateSignature(roots.ark.get(), roots.ark.get()) ||
        !skr::VerifyCertificateSignature(roots.ask.get(), roots.ark.get()) ||
        !skr::VerifyCertificateSignature(leaf.get(), roots.ask.get())) {
      return 1;
    }
    EVP_PKEY* key = X509_get0_pubkey(leaf.get());
    if (!snp::VerifyReportSignature(rep, key)) return 1;
    ++n;
  }
  const double cold_s = std::chrono::duration<double>(Clock::now() - t0).count();

  // Cached: the verifier skrd runs.
  snp::SnpVerifier verifier({}, clock);
  skr::Json ev = {{"type", "sev-snp"},
                  {"report", skr::Base64Encode(skr::AsBytes(*report))},
                  {"vcek", skr::Base64Encode(skr::AsBytes(*vcek))}};
  if (!verifier.Verify(ev)) return 1;  // warms the cache
  std::uint64_t m = 0;
  t0 = Clock::now();
  while (std::chrono::duration<double>(Clock::now() - t0).count() < seconds) {
    if (!verifier.Verify(ev)) return 1;
    ++m;
  }
  const double warm_s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("{\"cold_per_s\": %.0f, \"cold_us\": %.0f, \"cached_per_s\": %.0f, \"cached_us\": %.0f}\n",
              static_cast<double>(n) / cold_s, cold_s * 1e6 / static_cast<double>(n),
              static_cast<double>(m) / warm_s, warm_s * 1e6 / static_cast<double>(m));
  return 0;
}
