// SPDX-License-Identifier: Apache-2.0
#include "common/x509.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "common/encoding.h"

namespace skr {
namespace {

Error CertMalformed(std::string message) {
  ERR_clear_error();
  return Error(ErrorCode::kMalformedEvidence, std::move(message), "cert_malformed");
}

Error CrlMalformed(std::string message) {
  ERR_clear_error();
  return Error(ErrorCode::kMalformedEvidence, std::move(message), "crl_malformed");
}

Error Failed(std::string message, std::string reason) {
  ERR_clear_error();
  return Error(ErrorCode::kVerificationFailed, std::move(message), std::move(reason));
}

// One PEM block (RFC 7468 section 2) as PEM_read_bio returns it; frees its three buffers.
struct PemBlock {
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* data = nullptr;
  long len = 0;
  PemBlock() = default;
  PemBlock(const PemBlock&) = delete;
  PemBlock& operator=(const PemBlock&) = delete;
  ~PemBlock() {
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
  }
  std::span<const std::uint8_t> bytes() const { return {data, static_cast<std::size_t>(len)}; }
};

// Reads PEM blocks one after another from a memory BIO. Next() returns false at the end of the
// text (OpenSSL reports PEM_R_NO_START_LINE when no further "-----BEGIN" line exists) and an
// error when a block is broken (bad base64, missing END line) or carries RFC 1421 headers (an
// encrypted block is never a certificate here).
class PemReader {
 public:
  static Result<PemReader> Create(std::string_view text) {
    if (text.size() > kMaxPemBundleSize) {
      return Error(ErrorCode::kMalformedEvidence, "PEM text too large", "cert_malformed");
    }
    BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    if (!bio) return OpenSslError("BIO_new_mem_buf");
    return PemReader(std::move(bio));
  }

  Result<bool> Next(PemBlock& out) {
    ERR_clear_error();
    if (PEM_read_bio(bio_.get(), &out.name, &out.header, &out.data, &out.len) != 1) {
      const unsigned long err = ERR_peek_last_error();
      ERR_clear_error();
      if (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE) {
        return false;
      }
      return Error(ErrorCode::kMalformedEvidence, "PEM block does not decode", "cert_malformed");
    }
    if (out.header != nullptr && out.header[0] != '\0') {
      return Error(ErrorCode::kMalformedEvidence, "PEM block has headers", "cert_malformed");
    }
    if (out.len < 0) {
      return Error(ErrorCode::kMalformedEvidence, "PEM block has a bad length", "cert_malformed");
    }
    return true;
  }

 private:
  explicit PemReader(BioPtr bio) : bio_(std::move(bio)) {}
  BioPtr bio_;
};

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Days since 1970-01-01 of a proleptic Gregorian date (the usual era-based civil-to-days
// conversion). Used instead of timegm(), which depends on the C library and the TZ variable.
std::int64_t DaysFromCivil(std::int64_t y, std::int64_t m, std::int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;                                   // [0, 399]
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;  // [0, 365]
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           // [0, 146096]
  return era * 146097 + doe - 719468;
}

// Seconds since the epoch of an ASN1_TIME (UTCTime or GeneralizedTime, RFC 5280 4.1.2.5).
std::optional<std::int64_t> AsnTimeToUnix(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  const std::int64_t days =
      DaysFromCivil(std::int64_t{tm.tm_year} + 1900, std::int64_t{tm.tm_mon} + 1, tm.tm_mday);
  return days * 86400 + std::int64_t{tm.tm_hour} * 3600 + std::int64_t{tm.tm_min} * 60 + tm.tm_sec;
}

Result<std::int64_t> ToUnixTime(const ASN1_TIME* t, const char* which) {
  auto v = AsnTimeToUnix(t);
  if (!v) return CertMalformed(std::string("certificate ") + which + " does not decode");
  return *v;
}

}  // namespace

Result<X509Ptr> ParseCertificateDer(std::span<const std::uint8_t> der) {
  if (der.empty()) return CertMalformed("empty certificate");
  if (der.size() > kMaxCertificateDerSize) return CertMalformed("certificate too large");
  const unsigned char* p = der.data();
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) return CertMalformed("certificate DER does not parse");
  // d2i stops after the outer SEQUENCE; anything after it is not part of the certificate.
  if (static_cast<std::size_t>(p - der.data()) != der.size()) {
    return CertMalformed("trailing bytes after certificate");
  }
  return cert;
}

Result<X509Ptr> ParseCertificatePem(std::string_view pem) {
  SKR_TRY(PemReader reader, PemReader::Create(pem));
  while (true) {
    PemBlock block;
    SKR_TRY(bool more, reader.Next(block));
    if (!more) return CertMalformed("no CERTIFICATE block in PEM text");
    if (std::string_view(block.name) == "CERTIFICATE") return ParseCertificateDer(block.bytes());
  }
}

Result<std::vector<X509Ptr>> ParseCertificatesPem(std::string_view pem) {
  SKR_TRY(PemReader reader, PemReader::Create(pem));
  std::vector<X509Ptr> out;
  while (true) {
    PemBlock block;
    SKR_TRY(bool more, reader.Next(block));
    if (!more) break;
    if (std::string_view(block.name) != "CERTIFICATE") {
      return CertMalformed("PEM bundle holds a block that is not a CERTIFICATE");
    }
    SKR_TRY(X509Ptr cert, ParseCertificateDer(block.bytes()));
    out.push_back(std::move(cert));
  }
  if (out.empty()) return CertMalformed("no CERTIFICATE block in PEM text");
  return out;
}

Result<X509Ptr> ParseCertificateAny(std::string_view text) {
  if (text.find("-----BEGIN") != std::string_view::npos) return ParseCertificatePem(text);
  std::string compact;
  compact.reserve(text.size());
  for (char c : text) {
    if (!IsAsciiSpace(c)) compact.push_back(c);
  }
  auto der = Base64Decode(compact);
  if (!der) return CertMalformed("certificate is neither PEM nor base64 DER");
  return ParseCertificateDer(*der);
}

Result<std::vector<std::uint8_t>> CertificateDer(X509* cert) {
  if (cert == nullptr) return Error(ErrorCode::kInternal, "null certificate");
  const int len = i2d_X509(cert, nullptr);
  if (len <= 0) return OpenSslError("i2d_X509");
  std::vector<std::uint8_t> out(static_cast<std::size_t>(len));
  unsigned char* p = out.data();
  if (i2d_X509(cert, &p) != len) return OpenSslError("i2d_X509");
  return out;
}

std::array<std::uint8_t, 32> CertificateSha256(X509* cert) {
  auto der = CertificateDer(cert);
  if (!der) std::abort();
  return Sha256(*der);
}

bool IssuerNameMatches(X509* a, X509* b) {
  return a != nullptr && b != nullptr &&
         X509_NAME_cmp(X509_get_issuer_name(a), X509_get_subject_name(b)) == 0;
}

Result<void> VerifyCertificateSignature(X509* cert, X509* issuer) {
  if (cert == nullptr || issuer == nullptr) {
    return Error(ErrorCode::kInvalidArgument, "null certificate");
  }
  if (!IssuerNameMatches(cert, issuer)) {
    return Failed("certificate issuer name does not match the issuer's subject",
                  "cert_issuer_mismatch");
  }
  EVP_PKEY* key = X509_get0_pubkey(issuer);  // owned by `issuer`
  if (key == nullptr) return CertMalformed("issuer public key does not decode");
  if (EVP_PKEY_get_security_bits(key) < 112) {
    return Failed("issuer key is too weak", "cert_weak_signature");
  }
  // The signature algorithm (digest, and for RSA-PSS the MGF1 digest and salt length) comes from
  // the certificate's own AlgorithmIdentifier; X509_verify also requires the inner (TBS) and outer
  // algorithm identifiers to be equal (RFC 5280 section 4.1.1.2).
  int mdnid = NID_undef;
  int pknid = NID_undef;
  int secbits = -1;
  std::uint32_t flags = 0;
  if (X509_get_signature_info(cert, &mdnid, &pknid, &secbits, &flags) != 1 ||
      (flags & X509_SIG_INFO_VALID) == 0) {
    return Failed("certificate signature algorithm is not recognised", "cert_weak_signature");
  }
  if (mdnid == NID_md5 || mdnid == NID_sha1 || mdnid == NID_md5_sha1 ||
      (secbits >= 0 && secbits < 112)) {
    return Failed("certificate signature uses a weak digest", "cert_weak_signature");
  }
  ERR_clear_error();
  if (X509_verify(cert, key) != 1) {
    return Failed("certificate signature does not verify with the issuer key",
                  "cert_signature_invalid");
  }
  return Ok();
}

Result<void> CheckValidity(X509* cert, std::int64_t unix_time) {
  if (cert == nullptr) return Error(ErrorCode::kInvalidArgument, "null certificate");
  SKR_TRY(const std::int64_t not_before, ToUnixTime(X509_get0_notBefore(cert), "notBefore"));
  SKR_TRY(const std::int64_t not_after, ToUnixTime(X509_get0_notAfter(cert), "notAfter"));
  if (unix_time < not_before) return Failed("certificate is not yet valid", "cert_not_yet_valid");
  if (unix_time > not_after) return Failed("certificate has expired", "cert_expired");
  return Ok();
}

Result<X509CrlPtr> ParseCrlDer(std::span<const std::uint8_t> der) {
  if (der.empty()) return CrlMalformed("empty CRL");
  if (der.size() > kMaxCrlDerSize) return CrlMalformed("CRL too large");
  const unsigned char* p = der.data();
  X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  if (!crl) return CrlMalformed("CRL DER does not parse");
  if (static_cast<std::size_t>(p - der.data()) != der.size()) {
    return CrlMalformed("trailing bytes after CRL");
  }
  return crl;
}

Result<X509CrlPtr> ParseCrlPem(std::string_view pem) {
  auto reader = PemReader::Create(pem);
  if (!reader) return CrlMalformed("PEM text too large");
  while (true) {
    PemBlock block;
    auto more = reader->Next(block);
    if (!more) return CrlMalformed("PEM block does not decode");
    if (!*more) return CrlMalformed("no X509 CRL block in PEM text");
    if (std::string_view(block.name) == "X509 CRL") return ParseCrlDer(block.bytes());
  }
}

Result<std::vector<X509CrlPtr>> ParseCrls(std::string_view text) {
  std::vector<X509CrlPtr> out;
  if (text.find("-----BEGIN") == std::string_view::npos) {
    SKR_TRY(X509CrlPtr crl, ParseCrlDer(AsBytes(text)));
    out.push_back(std::move(crl));
    return out;
  }
  auto reader = PemReader::Create(text);
  if (!reader) return CrlMalformed("PEM text too large");
  while (true) {
    PemBlock block;
    auto more = reader->Next(block);
    if (!more) return CrlMalformed("PEM block does not decode");
    if (!*more) break;
    if (std::string_view(block.name) != "X509 CRL") {
      return CrlMalformed("PEM text holds a block that is not an X509 CRL");
    }
    SKR_TRY(X509CrlPtr crl, ParseCrlDer(block.bytes()));
    out.push_back(std::move(crl));
  }
  if (out.empty()) return CrlMalformed("no X509 CRL block in PEM text");
  return out;
}

Result<CrlTimes> GetCrlTimes(X509_CRL* crl) {
  if (crl == nullptr) return Error(ErrorCode::kInvalidArgument, "null CRL");
  CrlTimes out;
  auto this_update = AsnTimeToUnix(X509_CRL_get0_lastUpdate(crl));
  if (!this_update) return CrlMalformed("CRL thisUpdate does not decode");
  out.this_update = *this_update;
  if (const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl); next != nullptr) {
    auto next_update = AsnTimeToUnix(next);
    if (!next_update) return CrlMalformed("CRL nextUpdate does not decode");
    out.next_update = *next_update;
  }
  return out;
}

std::string CrlIssuerName(X509_CRL* crl) {
  if (crl == nullptr) return {};
  const X509_NAME* name = X509_CRL_get_issuer(crl);
  if (name == nullptr) return {};
  const int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx >= 0) {
    const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    unsigned char* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, cn);
    if (len >= 0) {
      std::string out(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(len));  // NOLINT
      OPENSSL_free(utf8);
      return out;
    }
    ERR_clear_error();
  }
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
    ERR_clear_error();
    return {};
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
}

Result<void> CheckNotRevoked(X509* cert, X509_CRL* crl, X509* crl_issuer) {
  if (cert == nullptr || crl == nullptr || crl_issuer == nullptr) {
    return Error(ErrorCode::kInvalidArgument, "null certificate or CRL");
  }
  // RFC 5280 section 6.3.3 (b)/(f): the CRL must come from the expected issuer and its signature
  // must verify with that issuer's key.
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(crl_issuer)) != 0) {
    return Failed("CRL issuer does not match the expected issuer", "crl_untrusted");
  }
  EVP_PKEY* key = X509_get0_pubkey(crl_issuer);
  if (key == nullptr) return CertMalformed("CRL issuer public key does not decode");
  ERR_clear_error();
  if (X509_CRL_verify(crl, key) != 1) {
    return Failed("CRL signature does not verify with the issuer key", "crl_untrusted");
  }
  if (X509_NAME_cmp(X509_get_issuer_name(cert), X509_CRL_get_issuer(crl)) != 0) {
    return Error(ErrorCode::kInvalidArgument, "certificate is not in the scope of this CRL",
                 "crl_scope_mismatch");
  }
  X509_REVOKED* revoked = nullptr;  // owned by `crl`
  // 1: listed; 2: listed with reason removeFromCRL (delta CRLs), i.e. no longer revoked; 0: absent.
  const int found = X509_CRL_get0_by_cert(crl, &revoked, cert);
  ERR_clear_error();
  if (found == 1) return Failed("certificate is revoked", "cert_revoked");
  return Ok();
}

namespace {

// X509_check_ca returns 1 only for basicConstraints cA=TRUE (with keyUsage, when present,
// allowing keyCertSign); 3, 4 and 5 mean v1 self-signed, keyUsage-only or Netscape-type CAs,
// which a configured chain must not rely on.
bool IsCa(X509* cert) { return X509_check_ca(cert) == 1; }

// Bounds on the work one untrusted chain can cause: candidate intermediates and signature checks.
constexpr std::size_t kMaxIntermediates = 8;
constexpr int kMaxSignatureChecks = 32;

// RFC 5280 4.2: a critical extension this code does not process makes the certificate unusable.
// OpenSSL flags unknown critical extensions (EXFLAG_CRITICAL); name constraints it knows but this
// path check does not evaluate, so a CA carrying them is refused too.
Result<void> CheckProcessable(X509* cert) {
  if ((X509_get_extension_flags(cert) & EXFLAG_CRITICAL) != 0) {
    return Failed("certificate has an unsupported critical extension", "cert_chain_untrusted");
  }
  if (X509_get_ext_by_NID(cert, NID_name_constraints, -1) >= 0) {
    return Failed("name constraints are not supported in configured chains", "cert_chain_untrusted");
  }
  return Ok();
}

// An issuer on the path: CA, processable, valid, and its pathLenConstraint (RFC 5280 4.2.1.9)
// allows the `below` intermediates between it and the leaf.
Result<void> CheckIssuer(X509* cert, std::int64_t unix_time, std::size_t below) {
  if (!IsCa(cert)) return Failed("an issuer on the path is not a CA certificate", "cert_chain_untrusted");
  SKR_TRY_VOID(CheckProcessable(cert));
  const long pathlen = X509_get_pathlen(cert);
  if (pathlen >= 0 && below > static_cast<std::size_t>(pathlen)) {
    return Failed("path length constraint exceeded", "cert_chain_untrusted");
  }
  return CheckValidity(cert, unix_time);
}

struct PathSearch {
  std::span<X509* const> intermediates;
  std::span<X509* const> anchors;
  std::int64_t unix_time = 0;
  int signature_budget = kMaxSignatureChecks;
  std::vector<X509*> path;  // leaf first
  std::optional<Error> first_error;

  // Name match + signature, counted against the budget.
  bool Issued(X509* cert, X509* issuer) {
    if (issuer == nullptr || !IssuerNameMatches(cert, issuer)) return false;
    if (signature_budget <= 0) return false;
    --signature_budget;
    return VerifyCertificateSignature(cert, issuer).has_value();
  }
  void Note(const Error& e) {
    if (!first_error) first_error = e;
  }

  // Depth-first: tries every issuer candidate (a renewed intermediate listed after an expired one
  // with the same name and key still leads somewhere).
  Result<std::size_t> From(X509* current, int depth_left) {
    const std::size_t below = path.size() - 1;  // intermediates between `current` and the leaf
    for (std::size_t i = 0; i < anchors.size(); ++i) {
      if (!Issued(current, anchors[i])) continue;
      auto ok = CheckIssuer(anchors[i], unix_time, below);
      if (ok) return i;
      Note(ok.error());
    }
    if (depth_left <= 0) return Failed("certificate chain is too long", "cert_chain_untrusted");
    for (X509* cand : intermediates) {
      if (cand == nullptr || std::find(path.begin(), path.end(), cand) != path.end()) continue;
      if (!Issued(current, cand)) continue;
      auto ok = CheckIssuer(cand, unix_time, below);
      if (!ok) {
        Note(ok.error());
        continue;
      }
      path.push_back(cand);
      auto found = From(cand, depth_left - 1);
      if (found) return found;
      Note(found.error());
      path.pop_back();
    }
    if (signature_budget <= 0) return Failed("certificate chain needs too many checks", "cert_chain_untrusted");
    return Failed("certificate does not chain to a configured trust anchor", "cert_chain_untrusted");
  }
};

}  // namespace

Result<std::size_t> VerifyChainToAnchors(X509* leaf, std::span<X509* const> intermediates,
                                         std::span<X509* const> anchors, std::int64_t unix_time,
                                         int max_depth) {
  if (leaf == nullptr) return Error(ErrorCode::kInvalidArgument, "null certificate");
  if (intermediates.size() > kMaxIntermediates) {
    return Failed("too many intermediate certificates (at most 8)", "cert_chain_untrusted");
  }
  SKR_TRY_VOID(CheckValidity(leaf, unix_time));
  SKR_TRY_VOID(CheckProcessable(leaf));
  PathSearch search;
  search.intermediates = intermediates;
  search.anchors = anchors;
  search.unix_time = unix_time;
  search.path.push_back(leaf);
  auto found = search.From(leaf, max_depth);
  if (found) return found;
  if (search.first_error) return *search.first_error;
  return found.error();
}

}  // namespace skr
