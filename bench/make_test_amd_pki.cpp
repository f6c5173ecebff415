// SPDX-License-Identifier: Apache-2.0
// Writes an AMD-shaped test PKI for benchmarks: DIR/roots.pem (ARK, ASK), DIR/vcek.pem,
// DIR/vcek.key. Chip id 0xC0.. and TCB bl=3 tee=0 snp=8 ucode=115 (tests/support/amd_test_pki.h).
// Never trust these roots outside a test or benchmark.
#include <cstdio>
#include <fstream>
#include <string>

#include "tests/support/amd_test_pki.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: skr-make-test-amd-pki DIR\n");
    return 2;
  }
  std::array<std::uint8_t, 64> chip{};
  for (std::size_t i = 0; i < chip.size(); ++i) chip[i] = static_cast<std::uint8_t>(0xC0 + i);
  skr::test::AmdTestPki pki(chip, skr::test::AmdTestTcb{});
  const std::string dir = argv[1];
  std::ofstream(dir + "/roots.pem") << pki.RootsPem();
  std::ofstream(dir + "/vcek.pem") << pki.VcekPem();
  std::ofstream(dir + "/vcek.key") << pki.VcekKeyPem();
  return 0;
}
