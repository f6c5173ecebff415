// SPDX-License-Identifier: Apache-2.0
// Shared pieces of the libFuzzer harnesses in tests/fuzz: the invariant check that turns a broken
// contract into a finding, fixed test keys (so that signed seeds stay valid across runs and across
// the workers of a -jobs campaign), and seed generation into $SKR_FUZZ_SEED_DIR.
// Test keys only; nothing here is linked into a production binary.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace skr::fuzz {

// A violated invariant is a finding: abort, so libFuzzer saves the input as a crash.
inline void Require(bool condition) {
  if (!condition) std::abort();
}

// A failed `r` must carry `code` and one of `reasons` (any reason when `reasons` is empty).
template <typename T>
void RequireError(const Result<T>& r, ErrorCode code,
                  std::initializer_list<std::string_view> reasons = {}) {
  if (r) return;
  Require(r.error().code() == code);
  if (reasons.size() == 0) return;
  for (std::string_view reason : reasons) {
    if (r.error().reason() == reason) return;
  }
  std::abort();
}

// Fixed test keys, loaded once and kept for the life of the process.
enum class TestKey {
  kAttesterP256,  // sample attester, ES256
  kAttesterP384,  // sample attester, ES384
  kCaP256,        // AK certificate authority
  kAkP256,        // ECC attestation key
  kAkRsa2048,     // RSA attestation key
};
EVP_PKEY* Key(TestKey key);
// The key's public half as PEM.
std::string PublicPem(TestKey key);

struct Seed {
  std::string name;  // file name, unique within the target
  std::vector<std::uint8_t> bytes;
};
std::vector<std::uint8_t> Bytes(std::string_view text);
// The fuzz input as text (JSON parsers take text).
std::string_view AsText(const std::uint8_t* data, std::size_t size);

// When $SKR_FUZZ_SEED_DIR is set and holds no seed of this target yet, writes make()'s seeds
// there as "seed-<target>-<name>" (written to a temporary name, then renamed, so concurrent
// workers never read a partial file). Call from LLVMFuzzerInitialize: libFuzzer reads its corpus
// directories after it returns. make() is not called when nothing is written.
void WriteSeeds(std::string_view target, const std::function<std::vector<Seed>()>& make);

}  // namespace skr::fuzz
