// SPDX-License-Identifier: Apache-2.0
// Intel TDX quotes, versions 4 and 5: parsing only (no signature checks; see verify.h).
//
// Layouts from Intel's "Intel TDX DCAP Quoting Library API" (Appendix A, "Quote Format"):
//   v4 (A.3): Quote Header (48 bytes) | TD Quote Body (584 bytes, TD 1.0) |
//             Quote Signature Data Length (u32) | Quote Signature Data
//   v5 (A.4): Quote Header (48 bytes) | Body Type (u16: 2 = TD 1.0, 3 = TD 1.5) | Body Size (u32) |
//             TD Quote Body (584 or 648 bytes) | Quote Signature Data Length (u32) | Signature Data
//   Quote Header: Version u16 | Attestation Key Type u16 (2 = ECDSA-256-with-P-256) |
//             TEE Type u32 (0x00000081 = TDX) | Reserved 2 + 2 bytes | QE Vendor ID (16) |
//             User Data (20)
//   TD Quote Body (TD 1.0): TEE_TCB_SVN (16) | MRSEAM (48) | MRSIGNERSEAM (48) |
//             SEAMATTRIBUTES (8) | TDATTRIBUTES (8) | XFAM (8) | MRTD (48) | MRCONFIGID (48) |
//             MROWNER (48) | MROWNERCONFIG (48) | RTMR0..RTMR3 (4 x 48) | REPORTDATA (64);
//             TD 1.5 appends TEE_TCB_SVN_2 (16) | MRSERVICETD (48).
//   ECDSA 256-bit Quote Signature Data: Quote Signature (64: r || s) | ECDSA Attestation Key
//             (64: x || y) | Certification Data (type u16 = 6, size u32, data):
//   QE Report Certification Data (type 6): QE Report (384, an SGX REPORT body) | QE Report
//             Signature (64) | QE Authentication Data (size u16, data) | Certification Data
//             (type u16 = 5: PCK certificate chain, PEM; size u32; data).
//   SGX REPORT body (Intel SDM Vol. 3D, 38.15 "REPORT"): CPUSVN (16) | MISCSELECT u32 |
//             Reserved (28) | ATTRIBUTES (16) | MRENCLAVE (32) | Reserved (32) | MRSIGNER (32) |
//             Reserved (96) | ISVPRODID u16 | ISVSVN u16 | Reserved (60) | REPORTDATA (64).
// All integers little-endian. Bytes after the signature data are allowed (buffers from some
// quote providers are larger than the quote) and counted in `trailing_bytes`.
//
// Errors: kMalformedEvidence with reason "tdx_quote_malformed" and a message naming the field.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace skr::attestation::tdx {

inline constexpr std::size_t kHeaderSize = 48;
inline constexpr std::size_t kTd10BodySize = 584;
inline constexpr std::size_t kTd15BodySize = 648;
inline constexpr std::size_t kQeReportSize = 384;
inline constexpr std::uint16_t kAttestationKeyEcdsaP256 = 2;
inline constexpr std::uint32_t kTeeTypeTdx = 0x81;
inline constexpr std::uint16_t kBodyTypeTd10 = 2;
inline constexpr std::uint16_t kBodyTypeTd15 = 3;
inline constexpr std::uint16_t kCertDataQeReport = 6;
inline constexpr std::uint16_t kCertDataPckChain = 5;
// Upper bounds for untrusted sizes: a real quote is 5-8 KiB.
inline constexpr std::size_t kMaxQuoteBytes = 64 * 1024;
inline constexpr std::size_t kMaxPckChainBytes = 32 * 1024;

using Bytes48 = std::array<std::uint8_t, 48>;

struct TdBody {
  std::array<std::uint8_t, 16> tee_tcb_svn{};
  Bytes48 mrseam{};
  Bytes48 mrsignerseam{};
  std::array<std::uint8_t, 8> seam_attributes{};
  std::array<std::uint8_t, 8> td_attributes{};
  std::array<std::uint8_t, 8> xfam{};
  Bytes48 mrtd{};
  Bytes48 mrconfigid{};
  Bytes48 mrowner{};
  Bytes48 mrownerconfig{};
  std::array<Bytes48, 4> rtmr{};
  std::array<std::uint8_t, 64> report_data{};
  // TD 1.5 only (body type 3).
  bool td15 = false;
  std::array<std::uint8_t, 16> tee_tcb_svn2{};
  Bytes48 mrservicetd{};
};

struct QeReport {
  std::array<std::uint8_t, 16> cpu_svn{};
  std::uint32_t misc_select = 0;
  std::array<std::uint8_t, 16> attributes{};
  std::array<std::uint8_t, 32> mr_enclave{};
  std::array<std::uint8_t, 32> mr_signer{};
  std::uint16_t isv_prod_id = 0;
  std::uint16_t isv_svn = 0;
  std::array<std::uint8_t, 64> report_data{};
};

struct Quote {
  std::uint16_t version = 0;
  std::uint16_t attestation_key_type = 0;
  std::uint32_t tee_type = 0;
  std::array<std::uint8_t, 16> qe_vendor_id{};
  std::array<std::uint8_t, 20> user_data{};
  std::uint16_t body_type = kBodyTypeTd10;  // v4 bodies are TD 1.0
  TdBody body;
  // What the attestation key signed: the header and the body (for v5 with its type and size).
  std::vector<std::uint8_t> signed_bytes;
  std::array<std::uint8_t, 64> signature{};        // r || s, big-endian
  std::array<std::uint8_t, 64> attestation_key{};  // x || y, big-endian (P-256)
  std::vector<std::uint8_t> qe_report_bytes;       // the 384 bytes the PCK signed
  QeReport qe_report;
  std::array<std::uint8_t, 64> qe_report_signature{};
  std::vector<std::uint8_t> qe_auth_data;
  std::string pck_chain_pem;  // certification data type 5, as sent
  std::size_t trailing_bytes = 0;
};

// Parses a v4 or v5 TDX quote (other versions, TEE types and key types are refused here).
Result<Quote> ParseQuote(std::span<const std::uint8_t> bytes);

}  // namespace skr::attestation::tdx
