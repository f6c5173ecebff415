// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for TPMT_SIGNATURE (attestation/tpm/quote.h ParseSignature; TCG TPM 2.0
// Library Part 2, 11.3.4), the `signature` member of `tpm` evidence, and the quote signature
// check that consumes it: every parsed signature is verified over a fixed quote with a fixed ECC
// P-256 and RSA-2048 AK (the seeds hold valid ECDSA, RSASSA and RSAPSS signatures by them). The
// same bytes also go through RsassaSignature (the bare-signature form of Azure's vTPM evidence).
// Invariants beyond "no crash / no sanitizer report":
//   - parse failures are kMalformedEvidence reason tpm_signature_malformed;
//   - verification fails only with kVerificationFailed reason tpm_signature_invalid, and never
//     succeeds for a signature whose scheme names no supported hash.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "attestation/tpm/quote.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/support/tpm_test_evidence.h"

namespace {

using skr::ErrorCode;
using skr::fuzz::Require;
using skr::fuzz::RequireError;
using skr::fuzz::TestKey;
namespace tpm = skr::attestation::tpm;

const std::vector<std::uint8_t>& Attest() {
  static const std::vector<std::uint8_t> attest = [] {
    skr::test::QuoteSpec spec;
    spec.qualified_signer =
        skr::test::TpmName(skr::test::MarshalAkPublic(skr::fuzz::Key(TestKey::kAkP256)));
    return skr::test::MarshalQuoteAttest(spec);
  }();
  return attest;
}

void CheckSignature(const TPMT_SIGNATURE& sig) {
  for (TestKey key : {TestKey::kAkP256, TestKey::kAkRsa2048}) {
    auto ok = tpm::VerifyQuoteSignature(Attest(), sig, skr::fuzz::Key(key));
    RequireError(ok, ErrorCode::kVerificationFailed, {"tpm_signature_invalid"});
    if (ok) Require(tpm::HashMd(tpm::SignatureHash(sig)) != nullptr);
  }
}

std::vector<skr::fuzz::Seed> MakeSeeds() {
  using skr::test::TpmSigScheme;
  EVP_PKEY* ec = skr::fuzz::Key(TestKey::kAkP256);
  EVP_PKEY* rsa = skr::fuzz::Key(TestKey::kAkRsa2048);
  return {
      {"ecdsa-sha256", skr::test::SignQuote(Attest(), ec, TpmSigScheme::kEcdsaSha256)},
      {"rsassa-sha256", skr::test::SignQuote(Attest(), rsa, TpmSigScheme::kRsassaSha256)},
      {"rsapss-sha256", skr::test::SignQuote(Attest(), rsa, TpmSigScheme::kRsapssSha256)},
  };
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  skr::fuzz::WriteSeeds("tpm_signature", MakeSeeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 2 * tpm::kMaxTpmStructBytes) return 0;
  const std::span<const std::uint8_t> input(data, size);
  auto sig = tpm::ParseSignature(input);
  RequireError(sig, ErrorCode::kMalformedEvidence, {"tpm_signature_malformed"});
  if (sig) CheckSignature(*sig);

  auto bare = tpm::RsassaSignature(input, TPM2_ALG_SHA256);
  RequireError(bare, ErrorCode::kMalformedEvidence, {"tpm_signature_malformed"});
  if (bare) CheckSignature(*bare);
  return 0;
}
