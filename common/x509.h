// SPDX-License-Identifier: Apache-2.0
// X.509 certificates and CRLs: parsing (DER, PEM, PEM bundles, base64 DER), fingerprints,
// link-by-link signature checks, validity periods and revocation.
//
// These helpers never consult the system trust store: callers verify a chain one link at a time
// against roots they pinned themselves (CONVENTIONS.md section 3).
//
// Error conventions (all functions):
//   - bytes or text that do not parse as a certificate / CRL: kMalformedEvidence, reason
//     "cert_malformed" / "crl_malformed";
//   - a signature, validity or revocation check that fails: kVerificationFailed with a reason slug
//     named at each function.
// Thread-safety: every function is reentrant; passing the same X509 object to several threads is
// safe for the read-only operations here (OpenSSL caches some decoded fields internally under its
// own lock).
#pragma once

#include <openssl/x509.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/ossl.h"
#include "common/result.h"

namespace skr {

// Upper bound on one encoded certificate or CRL accepted by the parsers below. AMD and Intel
// certificates are 1-2 KiB and their CRLs a few KiB; the bound only stops pathological input.
inline constexpr std::size_t kMaxCertificateDerSize = 64 * 1024;
inline constexpr std::size_t kMaxCrlDerSize = 1024 * 1024;
inline constexpr std::size_t kMaxPemBundleSize = 1024 * 1024;

// One DER certificate (RFC 5280 section 4.1). The whole span must be the certificate: trailing
// bytes are rejected. Accepts serial number 0, which AMD KDS uses for VCEKs although RFC 5280
// section 4.1.2.2 asks for a positive serial.
Result<X509Ptr> ParseCertificateDer(std::span<const std::uint8_t> der);

// The first "CERTIFICATE" block of PEM text (RFC 7468 section 5); later blocks are ignored.
// Errors: kMalformedEvidence when there is no CERTIFICATE block or it does not parse.
Result<X509Ptr> ParseCertificatePem(std::string_view pem);

// Every block of a PEM bundle, in order. Every block must be a "CERTIFICATE" block that parses;
// text around the blocks is ignored, as RFC 7468 section 2 allows. At least one certificate.
Result<std::vector<X509Ptr>> ParseCertificatesPem(std::string_view pem);

// PEM text (when it contains "-----BEGIN") or the base64 (RFC 4648 section 4) of one DER
// certificate; ASCII whitespace inside the base64 is ignored.
Result<X509Ptr> ParseCertificateAny(std::string_view text_or_base64_der);

// DER encoding of a certificate. Errors: kInternal.
Result<std::vector<std::uint8_t>> CertificateDer(X509* cert);

// SHA-256 of the certificate's DER encoding (its usual "fingerprint"). Aborts on an encoding
// failure, which only happens on out-of-memory for a certificate that was parsed successfully.
std::array<std::uint8_t, 32> CertificateSha256(X509* cert);

// Checks that `issuer` signed `cert`: the issuer's subject name equals the certificate's issuer
// name (RFC 5280 section 4.1.2.4) and the signature verifies with the issuer's public key
// (X509_verify, which reads the algorithm and parameters from the certificate, e.g. RSASSA-PSS with
// SHA-384, MGF1-SHA-384 and a 48-byte salt as AMD uses, or ECDSA). Signatures that use MD5 or
// SHA-1, or give fewer than 112 bits of security, are rejected. Does not check validity dates or
// extensions. Errors: kVerificationFailed, reason "cert_issuer_mismatch" (names differ),
// "cert_weak_signature" or "cert_signature_invalid".
Result<void> VerifyCertificateSignature(X509* cert, X509* issuer);

// notBefore <= unix_time <= notAfter (RFC 5280 section 4.1.2.5, both bounds inclusive).
// Errors: kVerificationFailed, reason "cert_not_yet_valid" or "cert_expired"; kMalformedEvidence
// when a time field does not decode.
Result<void> CheckValidity(X509* cert, std::int64_t unix_time);

// One DER CRL (RFC 5280 section 5.1); trailing bytes are rejected.
Result<X509CrlPtr> ParseCrlDer(std::span<const std::uint8_t> der);
// The first "X509 CRL" block of PEM text.
Result<X509CrlPtr> ParseCrlPem(std::string_view pem);
// A CRL file: every block of PEM text (each must be an "X509 CRL" block that parses; at least
// one), or, when the text holds no "-----BEGIN", one DER CRL. Errors: kMalformedEvidence
// "crl_malformed".
Result<std::vector<X509CrlPtr>> ParseCrls(std::string_view pem_or_der);

// thisUpdate and nextUpdate of a CRL (RFC 5280 sections 5.1.2.4 and 5.1.2.5) in Unix seconds.
// nextUpdate is optional in the ASN.1 (RFC 5280 requires conforming issuers to include it).
struct CrlTimes {
  std::int64_t this_update = 0;
  std::optional<std::int64_t> next_update;
};
// Errors: kMalformedEvidence "crl_malformed" when a time field does not decode.
Result<CrlTimes> GetCrlTimes(X509_CRL* crl);

// The commonName of the CRL's issuer (for logs and metrics), or the whole name in RFC 2253 form
// when it has no commonName; "" on failure.
std::string CrlIssuerName(X509_CRL* crl);

// Verifies that `crl_issuer` issued and signed `crl` (names and signature), then looks the
// certificate's serial number up in it. A CRL only speaks for certificates of its own issuer
// (RFC 5280 section 5; indirect CRLs are not supported), so `cert` must name the CRL issuer as its
// issuer. CRL thisUpdate/nextUpdate are not checked here.
// Errors: kVerificationFailed, reason "crl_untrusted" (CRL name or signature does not match
// `crl_issuer`), "cert_revoked" (serial listed); kInvalidArgument, reason "crl_scope_mismatch" when
// `cert` was issued by someone else.
Result<void> CheckNotRevoked(X509* cert, X509_CRL* crl, X509* crl_issuer);

// True when `a` names `b`'s subject as its issuer (X509_NAME_cmp == 0).
bool IssuerNameMatches(X509* a, X509* b);

// Builds and checks a path from `leaf` to one of `anchors` (RFC 5280 section 6.1, simplified:
// names, signatures, validity at `unix_time`, and basicConstraints cA=TRUE on every issuer,
// keyUsage keyCertSign when present), using `intermediates` as candidate issuers and trying every
// candidate (depth-first) until a path is found. An anchor is trusted as configured (it need not
// be self-signed, so an intermediate CA can be the anchor) and its own validity is checked too.
// At most `max_depth` intermediates between the leaf and the anchor; at most 8 candidate
// intermediates and 32 signature checks per call (untrusted input cannot make the search
// expensive); pathLenConstraint is enforced; a certificate with an unsupported critical
// extension, or a name-constrained CA, is refused. Returns the index of the anchor reached. Errors: kVerificationFailed, reason "cert_chain_untrusted" (no path to an
// anchor), or the validity reason of a certificate that blocked the only candidate path.
Result<std::size_t> VerifyChainToAnchors(X509* leaf, std::span<X509* const> intermediates,
                                         std::span<X509* const> anchors, std::int64_t unix_time,
                                         int max_depth = 4);

}  // namespace skr
