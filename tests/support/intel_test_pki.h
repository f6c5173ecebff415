// SPDX-License-Identifier: Apache-2.0
// A test PKI shaped like Intel's DCAP PKI (Intel SGX PCK Certificate and CRL Profile
// Specification): an ECDSA P-256 root, a "PCK Platform CA", a PCK certificate carrying the SGX
// extensions (FMSPC, PCE-ID, TCB components, PCESVN), a "TCB Signing" certificate; TDX v4 quotes
// signed the way a TD's quoting enclave signs them (attestation key bound in the QE report, the
// QE report signed by the PCK key), TCB Info / QE Identity bodies signed like Intel PCS's, and
// CRLs. skrd trusts it only through [attestation.tdx] extra_roots, beside the pinned Intel root.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/ossl.h"

namespace skr::test {

// A P-256 key whose private scalar is SHA-256(seed || 0 || label || counter), the first value in
// [1, n-1]: two processes given the same seed derive the same key (test and benchmark PKIs only).
EvpPkeyPtr SeededTestP256(std::string_view seed, std::string_view label);

struct TestTdQuote {
  std::array<std::uint8_t, 64> report_data{};
  std::array<std::uint8_t, 48> mrtd{};
  std::array<std::uint8_t, 16> tee_tcb_svn{0x03, 0x00, 0x05};  // module 1.0, microcode 5
  bool debug = false;
  std::array<std::uint8_t, 48> rtmr0{};
};

struct TestTcbLevel {
  std::array<std::uint8_t, 16> sgx{};
  std::uint16_t pce_svn = 0;
  std::array<std::uint8_t, 16> tdx{};
  std::string status = "UpToDate";
  std::vector<std::string> advisory_ids;
};

class IntelTestPki {
 public:
  static constexpr std::array<std::uint8_t, 6> kFmspc = {0x11, 0x22, 0x33, 0x00, 0x00, 0x00};
  static constexpr long kPckSerial = 7;
  static constexpr long kPckCaSerial = 2;
  // The PCK's SGX TCB: components 5 5 2 2 3 1 0 3 0..., PCESVN 11. Fresh random keys.
  IntelTestPki();
  // Keys derived from `seed` (SHA-256 of seed and the key's role): two processes given the same
  // seed share the PKI (a benchmark's setup tool writes the root and collateral for skrd, its
  // load generator quotes with the same keys). Tests and benchmarks only.
  explicit IntelTestPki(std::string_view seed);
  std::string RootPem() const;
  std::string TcbSigningChainPem() const;  // TCB signing certificate, then the root
  std::vector<std::uint8_t> Quote(const TestTdQuote& q) const;
  // A PCS-style body {"tcbInfo": {...}, "signature": hex} for kFmspc with `levels` (default: one
  // UpToDate level the PCK meets), issued at `issue`, next update `next`.
  std::string TcbInfoBody(std::int64_t issue, std::int64_t next,
                          std::vector<TestTcbLevel> levels = {}) const;
  // {"enclaveIdentity": {...}, "signature": hex} matching the quotes' QE (ISVSVN 4).
  std::string QeIdentityBody(std::int64_t issue, std::int64_t next,
                             const std::string& status = "UpToDate") const;
  // PEM CRLs: of the PCK CA (listing `revoked` serials) and of the root (listing CA serials).
  std::string PckCrlPem(const std::vector<long>& revoked, std::int64_t this_update,
                        std::int64_t next_update) const;
  std::string RootCrlPem(const std::vector<long>& revoked, std::int64_t this_update,
                         std::int64_t next_update) const;
  // What TcbInfoBody uses by default: the level the PCK and quotes meet exactly.
  static TestTcbLevel MatchingLevel();
  // {"<member>": inner, "signature": hex r||s} signed by the TCB signing key, `inner` verbatim
  // (to re-sign real PCS bodies under this PKI).
  std::string SignedBody(const char* member, const std::string& inner) const;
  // The TDREPORT_STRUCT (1024 bytes; TDX Module ABI) the quote of `q` would be made from:
  // REPORTTYPE 0x81, REPORTDATA at 128, TDINFO at 512 (ATTRIBUTES, XFAM, MRTD at 528, ...,
  // RTMR0). Its MAC is zero: only the platform could compute it.
  static std::vector<std::uint8_t> TdReport(const TestTdQuote& q);

 private:
  void Issue();
  EvpPkeyPtr root_key_, ca_key_, pck_key_, tcb_key_, ak_key_;
  X509Ptr root_, ca_, pck_, tcb_signer_;
  std::string chain_pem_;  // PCK, PCK CA, root: the quote's certification data
};

}  // namespace skr::test
