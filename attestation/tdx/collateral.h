// SPDX-License-Identifier: Apache-2.0
// TDX collateral from Intel's Provisioning Certification Service (PCS API v4), as an operator
// imports it: TCB Info v3 (`GET /tdx/certification/v4/tcb`) and QE Identity v2 (`GET
// /tdx/certification/v4/qe/identity`). Each response body is `{"tcbInfo"|"enclaveIdentity":
// {...}, "signature": "<hex r||s>"}` where the signature is ECDSA P-256 / SHA-256 by the Intel
// SGX TCB Signing key over the exact text of the inner object as it appears in the body (Intel
// PCS API, "Get TDX TCB Info" / "Get TDX QE Identity"; field meanings from the TCB Info V3 and
// Enclave Identity V2 data models). Bodies are kept verbatim: re-serialising would change the
// signed bytes.
//
// Errors: kInvalidArgument, reason "tdx_collateral_malformed" (the body does not parse or a
// field has the wrong type or size); kVerificationFailed "tdx_collateral_untrusted" (the
// signature or the TCB signing chain does not verify).
#pragma once

#include <openssl/x509.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace skr::attestation::tdx {

inline constexpr std::size_t kMaxCollateralBytes = 1 << 20;

struct SignedBody {
  std::string inner;                      // the signed text, byte for byte
  std::array<std::uint8_t, 64> signature{};  // r || s
};

// Splits a PCS response body into the text of member `key` and the signature.
Result<SignedBody> SplitSignedBody(std::string_view body, std::string_view key);

struct TcbLevel {
  std::array<std::uint8_t, 16> sgx_components{};
  std::uint16_t pce_svn = 0;
  std::array<std::uint8_t, 16> tdx_components{};
  std::string status;  // UpToDate, SWHardeningNeeded, ConfigurationNeeded, ... Revoked
  std::int64_t tcb_date = 0;
  std::vector<std::string> advisory_ids;
};

struct IsvLevel {  // a TDX module identity or QE identity TCB level
  std::uint16_t isv_svn = 0;
  std::string status;
  std::int64_t tcb_date = 0;
  std::vector<std::string> advisory_ids;
};

struct TdxModuleIdentity {
  std::string id;  // "TDX_01", "TDX_03", ...
  std::array<std::uint8_t, 48> mrsigner{};
  std::uint64_t attributes = 0;
  std::uint64_t attributes_mask = 0;
  std::vector<IsvLevel> levels;
};

struct TcbInfo {
  SignedBody signed_body;
  int version = 0;
  std::int64_t issue_date = 0;
  std::int64_t next_update = 0;
  std::array<std::uint8_t, 6> fmspc{};
  std::array<std::uint8_t, 2> pce_id{};
  int tcb_evaluation_data_number = 0;
  TdxModuleIdentity module;  // tdxModule (TDX module 1.0): id empty, no levels
  std::vector<TdxModuleIdentity> module_identities;
  std::vector<TcbLevel> levels;  // in the order given (highest first)
};

struct QeIdentity {
  SignedBody signed_body;
  int version = 0;
  std::int64_t issue_date = 0;
  std::int64_t next_update = 0;
  int tcb_evaluation_data_number = 0;
  std::uint32_t miscselect = 0;
  std::uint32_t miscselect_mask = 0;
  std::array<std::uint8_t, 16> attributes{};
  std::array<std::uint8_t, 16> attributes_mask{};
  std::array<std::uint8_t, 32> mrsigner{};
  std::uint16_t isv_prod_id = 0;
  std::vector<IsvLevel> levels;
};

// Parse the bodies (id "TDX" version 3; id "TD_QE" version 2). No signature check.
Result<TcbInfo> ParseTcbInfo(std::string_view body);
Result<QeIdentity> ParseQeIdentity(std::string_view body);

// Verifies `signed_body` with the leaf of `signing_chain_pem` (the TCB signing certificate, then
// optionally the root), which must chain to one of `roots` at `unix_time`.
Result<void> VerifyCollateralSignature(const SignedBody& signed_body,
                                       std::string_view signing_chain_pem,
                                       std::span<X509* const> roots, std::int64_t unix_time);

}  // namespace skr::attestation::tdx
