// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for TPMT_PUBLIC / TPM2B_PUBLIC (attestation/tpm/quote.h ParsePublic,
// ParsePublic2B; TCG TPM 2.0 Library Part 2, 12.2.4 / 12.2.5), the `ak_public` member of `tpm`
// evidence and of AK enrolment requests, and what the verifier does with a parsed one: the AK
// attribute and strength checks, the object Name, the AK's OpenSSL key.
// Invariants beyond "no crash / no sanitizer report":
//   - parse failures are kMalformedEvidence reason tpm_public_malformed;
//   - a parsed TPMT_PUBLIC marshals back to exactly the input bytes (so the Name the verifier
//     computes is the Name of what the client sent);
//   - CheckAkAttributes fails only with kVerificationFailed (tpm_ak_attributes, tpm_ak_weak);
//   - ObjectName is nameAlg || digest of the nameAlg's size; AkFromTpmtPublic gives RSA or EC.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "attestation/tpm/quote.h"
#include "attestation/tpm/tpm_verifier.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/support/tpm_test_evidence.h"

namespace {

using skr::ErrorCode;
using skr::fuzz::Require;
using skr::fuzz::RequireError;
using skr::fuzz::TestKey;
namespace tpm = skr::attestation::tpm;

void CheckPublic(const TPMT_PUBLIC& pub, std::span<const std::uint8_t> tpmt_bytes) {
  auto marshalled = tpm::MarshalPublic(pub);
  Require(marshalled.has_value() && marshalled->size() == tpmt_bytes.size() &&
          std::memcmp(marshalled->data(), tpmt_bytes.data(), tpmt_bytes.size()) == 0);
  RequireError(tpm::CheckAkAttributes(pub), ErrorCode::kVerificationFailed,
               {"tpm_ak_attributes", "tpm_ak_weak"});
  auto name = tpm::ObjectName(pub);
  RequireError(name, ErrorCode::kMalformedEvidence, {"tpm_public_malformed"});
  if (name) {
    Require(name->size() == 2 + tpm::DigestSize(pub.nameAlg));
    Require(((*name)[0] << 8 | (*name)[1]) == pub.nameAlg);
  }
  auto ak = tpm::AkFromTpmtPublic(pub);
  RequireError(ak, ErrorCode::kMalformedEvidence, {"tpm_public_malformed"});
  if (ak) {
    Require(EVP_PKEY_is_a(ak->get(), pub.type == TPM2_ALG_RSA ? "RSA" : "EC") == 1);
  }
}

std::vector<skr::fuzz::Seed> MakeSeeds() {
  EVP_PKEY* ec = skr::fuzz::Key(TestKey::kAkP256);
  EVP_PKEY* rsa = skr::fuzz::Key(TestKey::kAkRsa2048);
  return {
      {"ak-ecc", skr::test::MarshalAkPublic(ec)},
      {"ak-rsa", skr::test::MarshalAkPublic(rsa)},
      {"ak-ecc-2b", skr::test::MarshalAkPublic2B(ec)},
      {"ak-rsa-2b", skr::test::MarshalAkPublic2B(rsa)},
      {"ecc-decrypt",
       skr::test::MarshalAkPublic(ec, TPMA_OBJECT_DECRYPT | TPMA_OBJECT_SIGN_ENCRYPT)},
  };
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  skr::fuzz::WriteSeeds("tpm_public", MakeSeeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 2 * tpm::kMaxTpmStructBytes) return 0;
  const std::span<const std::uint8_t> input(data, size);
  auto pub = tpm::ParsePublic(input);
  RequireError(pub, ErrorCode::kMalformedEvidence, {"tpm_public_malformed"});
  if (pub) CheckPublic(*pub, input);

  auto pub2b = tpm::ParsePublic2B(input);
  RequireError(pub2b, ErrorCode::kMalformedEvidence, {"tpm_public_malformed"});
  if (pub2b) CheckPublic(*pub2b, input.subspan(2));  // TPM2B: UINT16 size, then the TPMT
  return 0;
}
