// SPDX-License-Identifier: Apache-2.0
#include "attestation/tdx/quote.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "common/byte_reader.h"

namespace skr::attestation::tdx {
namespace {

Error Malformed(const std::string& what) {
  return Error(ErrorCode::kMalformedEvidence, "tdx quote: " + what, "tdx_quote_malformed");
}

// Reads exactly N bytes into `out`, naming `field` when the quote ends first.
template <std::size_t N>
Result<void> Read(ByteReader& r, std::array<std::uint8_t, N>& out, const char* field) {
  auto b = r.Take(N);
  if (!b) return Malformed(std::string("truncated in ") + field);
  std::copy(b->begin(), b->end(), out.begin());
  return {};
}

Result<std::uint16_t> U16(ByteReader& r, const char* field) {
  auto v = r.U16Le();
  if (!v) return Malformed(std::string("truncated in ") + field);
  return *v;
}

Result<std::uint32_t> U32(ByteReader& r, const char* field) {
  auto v = r.U32Le();
  if (!v) return Malformed(std::string("truncated in ") + field);
  return *v;
}

Result<void> ParseBody(ByteReader& r, bool td15, TdBody& b) {
  SKR_TRY_VOID(Read(r, b.tee_tcb_svn, "TEE_TCB_SVN"));
  SKR_TRY_VOID(Read(r, b.mrseam, "MRSEAM"));
  SKR_TRY_VOID(Read(r, b.mrsignerseam, "MRSIGNERSEAM"));
  SKR_TRY_VOID(Read(r, b.seam_attributes, "SEAMATTRIBUTES"));
  SKR_TRY_VOID(Read(r, b.td_attributes, "TDATTRIBUTES"));
  SKR_TRY_VOID(Read(r, b.xfam, "XFAM"));
  SKR_TRY_VOID(Read(r, b.mrtd, "MRTD"));
  SKR_TRY_VOID(Read(r, b.mrconfigid, "MRCONFIGID"));
  SKR_TRY_VOID(Read(r, b.mrowner, "MROWNER"));
  SKR_TRY_VOID(Read(r, b.mrownerconfig, "MROWNERCONFIG"));
  for (auto& rtmr : b.rtmr) SKR_TRY_VOID(Read(r, rtmr, "RTMR"));
  SKR_TRY_VOID(Read(r, b.report_data, "REPORTDATA"));
  b.td15 = td15;
  if (td15) {
    SKR_TRY_VOID(Read(r, b.tee_tcb_svn2, "TEE_TCB_SVN_2"));
    SKR_TRY_VOID(Read(r, b.mrservicetd, "MRSERVICETD"));
  }
  return {};
}

Result<void> ParseQeReport(std::span<const std::uint8_t> bytes, QeReport& q) {
  ByteReader r(bytes);
  SKR_TRY_VOID(Read(r, q.cpu_svn, "QE report CPUSVN"));
  SKR_TRY(q.misc_select, U32(r, "QE report MISCSELECT"));
  if (!r.Skip(28)) return Malformed("truncated in the QE report");
  SKR_TRY_VOID(Read(r, q.attributes, "QE report ATTRIBUTES"));
  SKR_TRY_VOID(Read(r, q.mr_enclave, "QE report MRENCLAVE"));
  if (!r.Skip(32)) return Malformed("truncated in the QE report");
  SKR_TRY_VOID(Read(r, q.mr_signer, "QE report MRSIGNER"));
  if (!r.Skip(96)) return Malformed("truncated in the QE report");
  SKR_TRY(q.isv_prod_id, U16(r, "QE report ISVPRODID"));
  SKR_TRY(q.isv_svn, U16(r, "QE report ISVSVN"));
  if (!r.Skip(60)) return Malformed("truncated in the QE report");
  SKR_TRY_VOID(Read(r, q.report_data, "QE report REPORTDATA"));
  return {};
}

// The ECDSA 256-bit Quote Signature Data, exactly `sig` (its declared length).
Result<void> ParseSignatureData(std::span<const std::uint8_t> sig, Quote& q) {
  ByteReader r(sig);
  SKR_TRY_VOID(Read(r, q.signature, "the quote signature"));
  SKR_TRY_VOID(Read(r, q.attestation_key, "the attestation key"));
  SKR_TRY(std::uint16_t outer_type, U16(r, "the certification data type"));
  if (outer_type != kCertDataQeReport) {
    return Malformed("certification data type " + std::to_string(outer_type) +
                     " (expected 6, QE report certification data)");
  }
  SKR_TRY(std::uint32_t outer_size, U32(r, "the certification data size"));
  if (outer_size != r.remaining()) {
    return Malformed("certification data size " + std::to_string(outer_size) + " but " +
                     std::to_string(r.remaining()) + " bytes follow in the signature data");
  }
  auto qe_report = r.Take(kQeReportSize);
  if (!qe_report) return Malformed("truncated in the QE report");
  q.qe_report_bytes.assign(qe_report->begin(), qe_report->end());
  SKR_TRY_VOID(ParseQeReport(*qe_report, q.qe_report));
  SKR_TRY_VOID(Read(r, q.qe_report_signature, "the QE report signature"));
  SKR_TRY(std::uint16_t auth_size, U16(r, "the QE authentication data size"));
  auto auth = r.Take(auth_size);
  if (!auth) return Malformed("truncated in the QE authentication data");
  q.qe_auth_data.assign(auth->begin(), auth->end());
  SKR_TRY(std::uint16_t inner_type, U16(r, "the PCK certification data type"));
  if (inner_type != kCertDataPckChain) {
    return Malformed("QE certification data type " + std::to_string(inner_type) +
                     " (expected 5, PCK certificate chain)");
  }
  SKR_TRY(std::uint32_t chain_size, U32(r, "the PCK certificate chain size"));
  if (chain_size == 0 || chain_size > kMaxPckChainBytes) {
    return Malformed("PCK certificate chain size " + std::to_string(chain_size) + " (1.." +
                     std::to_string(kMaxPckChainBytes) + ")");
  }
  if (chain_size != r.remaining()) {
    return Malformed("PCK certificate chain size " + std::to_string(chain_size) + " but " +
                     std::to_string(r.remaining()) + " bytes follow");
  }
  auto chain = r.Take(chain_size);
  if (!chain) return Malformed("truncated in the PCK certificate chain");
  // Some providers NUL-terminate the PEM text: drop trailing NULs, refuse any other NUL.
  std::size_t n = chain->size();
  while (n > 0 && (*chain)[n - 1] == 0) --n;
  q.pck_chain_pem.assign(reinterpret_cast<const char*>(chain->data()), n);
  if (q.pck_chain_pem.find('\0') != std::string::npos) {
    return Malformed("NUL byte inside the PCK certificate chain");
  }
  return {};
}

}  // namespace

Result<Quote> ParseQuote(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > kMaxQuoteBytes) {
    return Malformed("larger than " + std::to_string(kMaxQuoteBytes) + " bytes");
  }
  Quote q;
  ByteReader r(bytes);
  SKR_TRY(q.version, U16(r, "the header"));
  if (q.version != 4 && q.version != 5) {
    return Malformed("version " + std::to_string(q.version) + " (supported: 4, 5)");
  }
  SKR_TRY(q.attestation_key_type, U16(r, "the header"));
  if (q.attestation_key_type != kAttestationKeyEcdsaP256) {
    return Malformed("attestation key type " + std::to_string(q.attestation_key_type) +
                     " (supported: 2, ECDSA P-256)");
  }
  SKR_TRY(q.tee_type, U32(r, "the header"));
  if (q.tee_type != kTeeTypeTdx) {
    return Malformed("TEE type " + std::to_string(q.tee_type) + " (not TDX, 0x81)");
  }
  if (!r.Skip(4)) return Malformed("truncated in the header");
  SKR_TRY_VOID(Read(r, q.qe_vendor_id, "the header"));
  SKR_TRY_VOID(Read(r, q.user_data, "the header"));

  bool td15 = false;
  if (q.version == 5) {
    SKR_TRY(q.body_type, U16(r, "the body type"));
    SKR_TRY(std::uint32_t body_size, U32(r, "the body size"));
    if (q.body_type == kBodyTypeTd10 && body_size == kTd10BodySize) {
      td15 = false;
    } else if (q.body_type == kBodyTypeTd15 && body_size == kTd15BodySize) {
      td15 = true;
    } else {
      return Malformed("body type " + std::to_string(q.body_type) + " with size " +
                       std::to_string(body_size) + " (supported: 2/584 TD 1.0, 3/648 TD 1.5)");
    }
  }
  SKR_TRY_VOID(ParseBody(r, td15, q.body));
  const std::size_t signed_end = r.position();
  q.signed_bytes.assign(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(signed_end));

  SKR_TRY(std::uint32_t sig_len, U32(r, "the signature data length"));
  auto sig = r.Take(sig_len);
  if (!sig) {
    return Malformed("signature data length " + std::to_string(sig_len) + " but " +
                     std::to_string(r.remaining()) + " bytes follow");
  }
  SKR_TRY_VOID(ParseSignatureData(*sig, q));
  q.trailing_bytes = r.remaining();
  return q;
}

}  // namespace skr::attestation::tdx
