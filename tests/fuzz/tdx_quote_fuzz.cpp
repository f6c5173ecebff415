// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the Intel TDX quote parser, the PCK SGX-extension DER walker and the
// quote verification (attestation/tdx). Seeds: the real quotes of ../shared/testdata/tdx.
// Invariants checked beyond "no crash / no sanitizer report":
//   - parsing fails only with kMalformedEvidence "tdx_quote_malformed";
//   - a parsed quote's signed range is header + body (+ v5 type and size) and lies inside the
//     input, with the declared trailing bytes after the signature data;
//   - the SGX extensions of every certificate the chain holds parse or fail with
//     "tdx_pck_extensions" (the chain is not verified first, so mutated certificates reach it);
//   - verification fails only with the reasons verify.h documents.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <span>
#include <string>

#include "attestation/tdx/intel_root.h"
#include "attestation/tdx/pck.h"
#include "attestation/tdx/quote.h"
#include "attestation/tdx/verify.h"
#include "common/x509.h"

namespace tdx = skr::attestation::tdx;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  auto quote = tdx::ParseQuote(input);
  if (!quote) {
    if (quote.error().code() != skr::ErrorCode::kMalformedEvidence ||
        quote.error().reason() != "tdx_quote_malformed") {
      std::abort();
    }
    return 0;
  }
  const std::size_t body = quote->body.td15 ? tdx::kTd15BodySize : tdx::kTd10BodySize;
  const std::size_t signed_size = tdx::kHeaderSize + (quote->version == 5 ? 6 : 0) + body;
  if (quote->signed_bytes.size() != signed_size || signed_size > size ||
      quote->trailing_bytes > size - signed_size) {
    std::abort();
  }
  if (auto certs = skr::ParseCertificatesPem(quote->pck_chain_pem)) {
    for (const auto& cert : *certs) {
      auto ext = tdx::ParsePckExtensions(cert.get());
      if (!ext && ext.error().reason() != "tdx_pck_extensions") std::abort();
    }
  }
  X509* root = tdx::IntelSgxRootCa();
  auto verified = tdx::VerifyQuote(input, std::span<X509* const>(&root, 1), 1780272000);
  if (!verified) {
    static const std::set<std::string> kReasons = {
        "tdx_quote_malformed",     "tdx_qe_vendor",           "tdx_pck_malformed",
        "tdx_pck_chain_untrusted", "tdx_pck_extensions",      "tdx_qe_report_signature",
        "tdx_attestation_key_binding", "tdx_quote_signature"};
    if (kReasons.count(verified.error().reason()) == 0) std::abort();
  }
  return 0;
}
