// SPDX-License-Identifier: Apache-2.0
// The PCK certificate chain of a TDX quote (certification data type 5) and the Intel SGX
// extensions of the PCK certificate.
//
// Intel SGX PCK Certificate and CRL Profile Specification, section 1.3.5 ("Intel SGX PCK
// Certificate", SGX Extensions, OID 1.2.840.113741.1.13.1): a SEQUENCE of {OID, value} pairs:
//   .1 PPID (OCTET STRING 16)      .2 TCB: SEQUENCE of {OID .2.1 .. .2.16 SGX TCB component SVN
//   (INTEGER 0..255), .2.17 PCESVN (INTEGER 0..65535), .2.18 CPUSVN (OCTET STRING 16)}
//   .3 PCE-ID (OCTET STRING 2)     .4 FMSPC (OCTET STRING 6)      .5 SGX Type (ENUMERATED)
//   (.6 PlatformInstanceID and .7 Configuration, Platform CA certificates only: not read).
// Read with a bounded DER walker: definite lengths only, at most 4 length bytes, no element
// outside its parent.
#pragma once

#include <openssl/x509.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/x509.h"

namespace skr::attestation::tdx {

struct PckExtensions {
  std::array<std::uint8_t, 16> ppid{};
  std::array<std::uint8_t, 16> sgx_tcb_components{};  // .2.1 .. .2.16
  std::uint16_t pce_svn = 0;
  std::array<std::uint8_t, 16> cpu_svn{};
  std::array<std::uint8_t, 2> pce_id{};
  std::array<std::uint8_t, 6> fmspc{};
  int sgx_type = 0;  // 0 Standard, 1 Scalable, 2 Scalable with integrity
};

// Errors: kVerificationFailed, reason "tdx_pck_extensions" (missing or malformed extension).
Result<PckExtensions> ParsePckExtensions(X509* pck);

struct VerifiedPck {
  X509Ptr leaf;
  X509Ptr intermediate;  // the PCK Platform or Processor CA the chain went through
  PckExtensions ext;
};

// Parses the PEM chain (leaf first; 2 to 4 certificates), builds a path from the leaf to one of
// `roots` at `unix_time` and reads the leaf's SGX extensions. The chain's own root copy is
// never trusted: only `roots` are anchors. Errors: kMalformedEvidence "tdx_pck_malformed" (the
// PEM does not parse), kVerificationFailed "tdx_pck_chain_untrusted" (no path to a root, a
// certificate outside its validity), "tdx_pck_extensions".
Result<VerifiedPck> VerifyPckChain(std::string_view pem, std::span<X509* const> roots,
                                   std::int64_t unix_time);

}  // namespace skr::attestation::tdx
