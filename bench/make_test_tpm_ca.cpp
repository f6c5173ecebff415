// SPDX-License-Identifier: Apache-2.0
// Writes the test AK CA of SEED (tests/support/tpm_test_evidence.h TpmTestAkCa) for benchmarks:
// DIR/tpm-ak-ca.pem, for [attestation.tpm] ak_roots. skr-loadgen --evidence tpm --tpm-seed SEED
// certifies its simulated VMs' AKs with the same key. Never trust this CA outside a benchmark.
#include <cstdio>
#include <fstream>
#include <string>

#include "tests/support/tpm_test_evidence.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: skr-make-test-tpm-ca DIR SEED\n");
    return 2;
  }
  const skr::test::TpmTestAkCa ca(argv[2]);
  std::ofstream(std::string(argv[1]) + "/tpm-ak-ca.pem") << ca.RootPem();
  return 0;
}
