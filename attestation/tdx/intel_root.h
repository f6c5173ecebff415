// SPDX-License-Identifier: Apache-2.0
// The Intel SGX Root CA, pinned in the binary: the root of every PCK certificate chain (and of
// the TCB Info / QE Identity signing chain) that TDX and SGX DCAP quotes carry.
#pragma once

#include <openssl/x509.h>

#include <string_view>

namespace skr::attestation::tdx {

// PEM text of "CN=Intel SGX Root CA, O=Intel Corporation, L=Santa Clara, ST=CA, C=US",
// valid 2018-05-21 .. 2049-12-31, ECDSA P-256.
std::string_view IntelSgxRootCaPem();
// SHA-256 of its DER encoding, lowercase hex.
inline constexpr std::string_view kIntelSgxRootCaSha256 =
    "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3";
// The parsed certificate (parsed once; aborts if the embedded text does not parse or does not
// have the digest above: a build defect, not a runtime condition). Shared, never freed.
X509* IntelSgxRootCa();

}  // namespace skr::attestation::tdx
