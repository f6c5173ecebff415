// SPDX-License-Identifier: Apache-2.0
// Writes the Intel-shaped test PKI of SEED for benchmarks (tests/support/intel_test_pki.h):
// DIR/intel-root.pem (for [attestation.tdx] extra_roots) and the collateral to import with
// `skrctl tdx import-collateral`: DIR/tdx-tcbinfo.json, tdx-qe.json, tdx-chain.pem, tdx-pck.crl,
// tdx-root.crl (issued now, next update in 30 days). skr-loadgen --evidence tdx --tdx-seed SEED
// quotes with the same keys. Never trust this root outside a test or benchmark.
#include <cstdio>
#include <ctime>
#include <fstream>
#include <string>

#include "tests/support/intel_test_pki.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: skr-make-test-intel-pki DIR SEED\n");
    return 2;
  }
  const std::string dir = argv[1];
  const skr::test::IntelTestPki pki(argv[2]);
  const std::int64_t now = std::time(nullptr);
  const std::int64_t next = now + 30 * 86400;
  std::ofstream(dir + "/intel-root.pem") << pki.RootPem();
  std::ofstream(dir + "/tdx-tcbinfo.json") << pki.TcbInfoBody(now - 60, next);
  std::ofstream(dir + "/tdx-qe.json") << pki.QeIdentityBody(now - 60, next);
  std::ofstream(dir + "/tdx-chain.pem") << pki.TcbSigningChainPem();
  std::ofstream(dir + "/tdx-pck.crl") << pki.PckCrlPem({}, now - 60, next);
  std::ofstream(dir + "/tdx-root.crl") << pki.RootCrlPem({}, now - 60, next);
  return 0;
}
