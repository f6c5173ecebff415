// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the TPM 2.0 structure parsers (attestation/tpm/quote.h): the same input
// goes to the TPMS_ATTEST, TPMT_SIGNATURE, TPMT_PUBLIC and TPM2B_PUBLIC parsers.
// Invariants beyond "no crash / no sanitizer report":
//   - every failure is kMalformedEvidence with the parser's documented reason slug;
//   - a parsed quote's PCR indexes are ascending and below 8 * TPM2_PCR_SELECT_MAX, and the PCR
//     digest check with no PCR values supplied never succeeds unless nothing is selected;
//   - an AK built from a parsed TPMT_PUBLIC is RSA or EC.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "attestation/tpm/quote.h"

namespace tpm = skr::attestation::tpm;

namespace {

template <typename T>
void ExpectFailure(const skr::Result<T>& r, const char* reason1, const char* reason2 = nullptr) {
  if (r) return;
  const std::string reason = r.error().reason();
  if (r.error().code() != skr::ErrorCode::kMalformedEvidence ||
      (reason != reason1 && (reason2 == nullptr || reason != reason2))) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);

  auto quote = tpm::Quote::Parse(input);
  ExpectFailure(quote, "tpm_attest_malformed", "tpm_attest_type");
  if (quote) {
    std::size_t selected = 0;
    for (const auto& sel : quote->pcr_selection) {
      for (std::size_t i = 0; i < sel.indexes.size(); ++i) {
        if (sel.indexes[i] >= 8 * TPM2_PCR_SELECT_MAX) std::abort();
        if (i > 0 && sel.indexes[i] <= sel.indexes[i - 1]) std::abort();
      }
      selected += sel.indexes.size();
    }
    auto digest = tpm::VerifyPcrDigest(*quote, {}, TPM2_ALG_SHA256);
    if (digest && selected != 0) std::abort();
    skr::Claims claims;
    tpm::AddQuoteClaims(claims, *quote, {});
    if (claims.count("tpm.firmware_version") != 1) std::abort();
  }

  auto sig = tpm::ParseSignature(input);
  ExpectFailure(sig, "tpm_signature_malformed");

  for (auto pub : {tpm::ParsePublic(input), tpm::ParsePublic2B(input)}) {
    ExpectFailure(pub, "tpm_public_malformed");
    if (!pub) continue;
    auto ak = tpm::AkFromTpmtPublic(*pub);
    ExpectFailure(ak, "tpm_public_malformed");
    if (ak && EVP_PKEY_is_a(ak->get(), "RSA") != 1 && EVP_PKEY_is_a(ak->get(), "EC") != 1) std::abort();
  }
  return 0;
}
