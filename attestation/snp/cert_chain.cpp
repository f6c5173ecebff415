// SPDX-License-Identifier: Apache-2.0
#include "attestation/snp/cert_chain.h"

#include <openssl/asn1.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <functional>
#include <mutex>
#include <set>
#include <string_view>
#include <utility>

#include "common/byte_reader.h"
#include "common/clock.h"
#include "common/x509.h"

namespace skr::attestation::snp {
namespace {

// AMD's extensions (57230, chapter "VCEK Certificate", table of X.509v3 extensions; cspId from the
// VLEK additions). All live under the AMD private enterprise arc 1.3.6.1.4.1.3704 (IANA PEN 3704).
constexpr std::string_view kAmdArc = "1.3.6.1.4.1.3704.1.";
constexpr std::string_view kOidStructVersion = "1.3.6.1.4.1.3704.1.1";
constexpr std::string_view kOidProductName = "1.3.6.1.4.1.3704.1.2";
constexpr std::string_view kOidBlSpl = "1.3.6.1.4.1.3704.1.3.1";
constexpr std::string_view kOidTeeSpl = "1.3.6.1.4.1.3704.1.3.2";
constexpr std::string_view kOidSnpSpl = "1.3.6.1.4.1.3704.1.3.3";
constexpr std::string_view kOidSpl4 = "1.3.6.1.4.1.3704.1.3.4";
constexpr std::string_view kOidSpl5 = "1.3.6.1.4.1.3704.1.3.5";
constexpr std::string_view kOidSpl6 = "1.3.6.1.4.1.3704.1.3.6";
constexpr std::string_view kOidSpl7 = "1.3.6.1.4.1.3704.1.3.7";
constexpr std::string_view kOidUcodeSpl = "1.3.6.1.4.1.3704.1.3.8";
constexpr std::string_view kOidFmcSpl = "1.3.6.1.4.1.3704.1.3.9";
constexpr std::string_view kOidHwId = "1.3.6.1.4.1.3704.1.4";
constexpr std::string_view kOidCspId = "1.3.6.1.4.1.3704.1.5";

// CHIP_ID is 64 bytes (ABI spec, ATTESTATION_REPORT 0x1A0); Turin VCEKs carry its first 8.
constexpr std::size_t kHwIdSize = 64;
constexpr std::size_t kTurinHwIdSize = 8;
// Generous bounds for the strings; real values are "Milan-B0" and "CN=cc-us-east-2.amazonaws.com".
constexpr std::size_t kMaxNameSize = 256;

// X.690 universal tags used here.
constexpr std::uint8_t kTagInteger = 0x02;
constexpr std::uint8_t kTagOctetString = 0x04;
constexpr std::uint8_t kTagIa5String = 0x16;

constexpr std::string_view kExtReason = "snp_cert_extension";

Error ExtError(std::string_view oid, std::string_view what) {
  return Error(ErrorCode::kMalformedEvidence,
               "VCEK/VLEK extension " + std::string(oid) + ": " + std::string(what),
               std::string(kExtReason));
}

// Reads one DER TLV with a one-byte tag (X.690 section 8.1.2) and a definite length in its
// shortest form (X.690 section 10.1), and requires it to fill `in` exactly.
Result<std::span<const std::uint8_t>> ReadWholeTlv(std::span<const std::uint8_t> in,
                                                   std::uint8_t tag, std::string_view oid) {
  ByteReader r(in);
  auto t = r.U8();
  if (!t) return ExtError(oid, "empty value");
  if (*t != tag) return ExtError(oid, "unexpected ASN.1 tag");
  auto first = r.U8();
  if (!first) return ExtError(oid, "truncated length");
  std::size_t len = 0;
  if (*first < 0x80) {
    len = *first;
  } else {
    const std::size_t n = *first & 0x7FU;
    // 0x80 is the indefinite form (not DER); more than 3 length bytes cannot fit our bounds.
    if (n == 0 || n > 3) return ExtError(oid, "unsupported length encoding");
    for (std::size_t i = 0; i < n; ++i) {
      auto b = r.U8();
      if (!b) return ExtError(oid, "truncated length");
      if (i == 0 && *b == 0) return ExtError(oid, "non-minimal length");
      len = (len << 8) | *b;
    }
    if (len < 0x80) return ExtError(oid, "non-minimal length");
  }
  if (len != r.remaining()) return ExtError(oid, "length does not match the value");
  auto content = r.Take(len);
  if (!content) return ExtError(oid, "truncated value");
  return *content;
}

// INTEGER (X.690 section 8.3) in 0..255, minimal two's-complement encoding.
Result<std::uint8_t> ReadU8Integer(std::span<const std::uint8_t> value, std::string_view oid) {
  SKR_TRY(auto c, ReadWholeTlv(value, kTagInteger, oid));
  if (c.empty()) return ExtError(oid, "empty INTEGER");
  if (c.size() > 1 && ((c[0] == 0x00 && c[1] < 0x80) || (c[0] == 0xFF && c[1] >= 0x80))) {
    return ExtError(oid, "non-minimal INTEGER");
  }
  if ((c[0] & 0x80U) != 0) return ExtError(oid, "negative INTEGER");
  if (c.size() == 1) return c[0];
  if (c.size() == 2 && c[0] == 0x00) return c[1];  // 128..255 need a leading zero byte
  return ExtError(oid, "INTEGER out of range 0..255");
}

// IA5String (X.680 section 41: ISO 646 characters 0..127). NUL is rejected as well.
Result<std::string> ReadIa5String(std::span<const std::uint8_t> value, std::string_view oid) {
  SKR_TRY(auto c, ReadWholeTlv(value, kTagIa5String, oid));
  if (c.empty()) return ExtError(oid, "empty IA5String");
  if (c.size() > kMaxNameSize) return ExtError(oid, "IA5String too long");
  std::string out;
  out.reserve(c.size());
  for (std::uint8_t b : c) {
    if (b == 0 || b > 0x7F) return ExtError(oid, "character outside IA5String");
    out.push_back(static_cast<char>(b));
  }
  return out;
}

// hwID: KDS puts the raw CHIP_ID bytes in extnValue without a tag (64 bytes; 8 for Turin).
// A tagged OCTET STRING would be 66 or 10 bytes long, so the two forms cannot be confused.
Result<std::vector<std::uint8_t>> ReadHwId(std::span<const std::uint8_t> value,
                                           std::string_view oid) {
  if (value.size() == kHwIdSize || value.size() == kTurinHwIdSize) {
    return std::vector<std::uint8_t>(value.begin(), value.end());
  }
  SKR_TRY(auto c, ReadWholeTlv(value, kTagOctetString, oid));
  if (c.size() != kHwIdSize && c.size() != kTurinHwIdSize) {
    return ExtError(oid, "hwID is neither 64 nor 8 bytes");
  }
  return std::vector<std::uint8_t>(c.begin(), c.end());
}

// OID of an extension in dotted form, or empty if it cannot be printed (then it is not ours).
std::string DottedOid(const ASN1_OBJECT* obj) {
  std::array<char, 128> buf{};
  const int n = OBJ_obj2txt(buf.data(), static_cast<int>(buf.size()), obj, /*no_name=*/1);
  if (n <= 0 || static_cast<std::size_t>(n) >= buf.size()) return {};
  return std::string(buf.data(), static_cast<std::size_t>(n));
}

// The process-wide cache of leaf->intermediate signatures that verified. The key is
// SHA-256(leaf DER) || SHA-256(intermediate DER), so a hit means this exact leaf was signed by
// this exact intermediate. Bounded: when full, it is emptied (verification is only ~70 us, so
// a rare full miss is cheaper than LRU bookkeeping).
class SignatureCache {
 public:
  using Key = std::array<std::uint8_t, 64>;
  static constexpr std::size_t kMaxEntries = 4096;

  static Key MakeKey(const std::array<std::uint8_t, 32>& leaf,
                     const std::array<std::uint8_t, 32>& issuer) {
    Key k{};
    std::copy(leaf.begin(), leaf.end(), k.begin());
    std::copy(issuer.begin(), issuer.end(), k.begin() + 32);
    return k;
  }
  bool Contains(const Key& k) {
    std::lock_guard<std::mutex> lock(mu_);
    return entries_.count(k) != 0;
  }
  void Insert(const Key& k) {
    std::lock_guard<std::mutex> lock(mu_);
    if (entries_.size() >= kMaxEntries) entries_.clear();
    entries_.insert(k);
  }

 private:
  std::mutex mu_;
  std::set<Key> entries_;  // guarded by mu_
};

SignatureCache& Cache() {
  static SignatureCache cache;
  return cache;
}

// Did `issuer` sign `leaf`? Uses and fills the cache. Cheap name comparison first, so a chain of
// another product costs no RSA operation.
bool LeafSignedBy(X509* leaf, const std::array<std::uint8_t, 32>& leaf_sha, X509* issuer) {
  if (issuer == nullptr || !IssuerNameMatches(leaf, issuer)) return false;
  const auto key = SignatureCache::MakeKey(leaf_sha, CertificateSha256(issuer));
  if (Cache().Contains(key)) return true;
  if (!VerifyCertificateSignature(leaf, issuer)) return false;
  Cache().Insert(key);
  return true;
}

X509* Intermediate(const AmdProductRoots& roots, Signer signer) {
  return signer == Signer::kVcek ? roots.ask.get() : roots.asvk.get();
}

// Step 3 of VerifyEndorsement: AMD's KDS CRL (/vcek/v1/{product}/crl) is issued by the ARK and
// lists revoked ASKs/ASVKs; a CRL issued by the ASK/ASVK would list leaves.
Result<void> CheckCrl(X509_CRL* crl, X509* leaf, X509* intermediate, X509* ark) {
  const X509_NAME* crl_issuer = X509_CRL_get_issuer(crl);
  if (X509_NAME_cmp(crl_issuer, X509_get_subject_name(ark)) == 0) {
    return CheckNotRevoked(intermediate, crl, ark);
  }
  if (X509_NAME_cmp(crl_issuer, X509_get_subject_name(intermediate)) == 0) {
    return CheckNotRevoked(leaf, crl, intermediate);
  }
  return Error(ErrorCode::kVerificationFailed, "CRL is not issued by this product's ARK or ASK",
               "crl_untrusted");
}

}  // namespace

Result<VcekExtensions> ParseVcekExtensions(X509* cert) {
  if (cert == nullptr) return Error(ErrorCode::kInvalidArgument, "null certificate");
  VcekExtensions out;
  std::optional<std::uint8_t> bl, tee, snp, ucode;
  bool have_name = false;
  std::set<std::string> seen;

  const int count = X509_get_ext_count(cert);
  for (int i = 0; i < count; ++i) {
    X509_EXTENSION* ext = X509_get_ext(cert, i);  // owned by cert
    if (ext == nullptr) continue;
    const std::string oid = DottedOid(X509_EXTENSION_get_object(ext));
    if (oid.compare(0, kAmdArc.size(), kAmdArc) != 0) continue;  // not an AMD extension
    if (!seen.insert(oid).second) return ExtError(oid, "duplicate extension");
    const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
    const int len = ASN1_STRING_length(data);
    if (len < 0) return ExtError(oid, "bad extension value");
    const std::span<const std::uint8_t> value(ASN1_STRING_get0_data(data),
                                              static_cast<std::size_t>(len));

    if (oid == kOidStructVersion) {
      SKR_TRY(std::uint8_t version, ReadU8Integer(value, oid));
      static_cast<void>(version);  // only checked for encoding; no field depends on it yet
    } else if (oid == kOidProductName) {
      SKR_TRY(out.product_name, ReadIa5String(value, oid));
      have_name = true;
    } else if (oid == kOidBlSpl) {
      SKR_TRY(bl, ReadU8Integer(value, oid));
    } else if (oid == kOidTeeSpl) {
      SKR_TRY(tee, ReadU8Integer(value, oid));
    } else if (oid == kOidSnpSpl) {
      SKR_TRY(snp, ReadU8Integer(value, oid));
    } else if (oid == kOidSpl4 || oid == kOidSpl5 || oid == kOidSpl6 || oid == kOidSpl7) {
      SKR_TRY(std::uint8_t reserved_spl, ReadU8Integer(value, oid));  // reserved SPLs
      static_cast<void>(reserved_spl);
    } else if (oid == kOidUcodeSpl) {
      SKR_TRY(ucode, ReadU8Integer(value, oid));
    } else if (oid == kOidFmcSpl) {
      SKR_TRY(out.fmc_spl, ReadU8Integer(value, oid));
    } else if (oid == kOidHwId) {
      SKR_TRY(out.hw_id, ReadHwId(value, oid));
    } else if (oid == kOidCspId) {
      SKR_TRY(out.csp_id, ReadIa5String(value, oid));
    }
    // Any other OID under the AMD arc: a later generation's addition; ignored.
  }

  if (!have_name) return ExtError(kOidProductName, "missing productName1");
  if (!bl) return ExtError(kOidBlSpl, "missing blSPL");
  if (!tee) return ExtError(kOidTeeSpl, "missing teeSPL");
  if (!snp) return ExtError(kOidSnpSpl, "missing snpSPL");
  if (!ucode) return ExtError(kOidUcodeSpl, "missing ucodeSPL");
  // A VCEK is bound to a chip (hwID), a VLEK to a cloud provider (cspId); never both.
  if (out.hw_id && out.csp_id) return ExtError(kOidCspId, "both hwID and cspId present");
  out.bl_spl = *bl;
  out.tee_spl = *tee;
  out.snp_spl = *snp;
  out.ucode_spl = *ucode;
  return out;
}

Result<VcekExtensions> ParseVcekExtensionsDer(std::span<const std::uint8_t> cert_der) {
  SKR_TRY(X509Ptr cert, ParseCertificateDer(cert_der));
  return ParseVcekExtensions(cert.get());
}

namespace {

// Step 3 of VerifyEndorsement, given the product entry whose chain verified.
using RevocationCheck =
    std::function<Result<void>(const AmdProductRoots& roots, X509* intermediate)>;

Result<VerifiedEndorsement> VerifyEndorsementWith(X509* leaf, Signer expected,
                                                  const AmdTrustStore& trust, std::int64_t now,
                                                  const RevocationCheck& revocation) {
  if (leaf == nullptr) return Error(ErrorCode::kInvalidArgument, "no VCEK/VLEK certificate");
  const auto leaf_sha = CertificateSha256(leaf);

  // 1. Find the product whose intermediate of the expected kind signed the leaf. The product
  //    name the client claims (or the leaf's productName1) is never consulted.
  const AmdProductRoots* roots = nullptr;
  for (const AmdProductRoots& r : trust.all()) {
    if (LeafSignedBy(leaf, leaf_sha, Intermediate(r, expected))) {
      roots = &r;
      break;
    }
  }
  if (roots == nullptr) {
    const Signer other = expected == Signer::kVcek ? Signer::kVlek : Signer::kVcek;
    for (const AmdProductRoots& r : trust.all()) {
      if (LeafSignedBy(leaf, leaf_sha, Intermediate(r, other))) {
        return Error(ErrorCode::kVerificationFailed,
                     expected == Signer::kVcek
                         ? "report names the VCEK as signer but the certificate is a VLEK"
                         : "report names the VLEK as signer but the certificate is a VCEK",
                     "snp_signer_mismatch");
      }
    }
    return Error(ErrorCode::kVerificationFailed,
                 "VCEK/VLEK certificate does not chain to a trusted AMD root",
                 "snp_chain_untrusted");
  }
  X509* intermediate = Intermediate(*roots, expected);
  X509* ark = roots->ark.get();

  // 2. Validity of every certificate of the chain (RFC 5280 section 6.1.3 (a)(2)).
  SKR_TRY_VOID(CheckValidity(leaf, now));
  SKR_TRY_VOID(CheckValidity(intermediate, now));
  SKR_TRY_VOID(CheckValidity(ark, now));

  // 3. Revocation, when CRLs were provisioned.
  if (revocation) SKR_TRY_VOID(revocation(*roots, intermediate));

  // 4. AMD extensions, consistent with the kind of key.
  SKR_TRY(VcekExtensions ext, ParseVcekExtensions(leaf));
  if (expected == Signer::kVcek && (!ext.hw_id || ext.csp_id)) {
    return ExtError(kOidHwId, "a VCEK needs hwID and no cspId");
  }
  if (expected == Signer::kVlek && (!ext.csp_id || ext.hw_id)) {
    return ExtError(kOidCspId, "a VLEK needs cspId and no hwID");
  }

  // 5. The key that signs reports: ECDSA P-384 (ABI spec, chapter 10 signature formats).
  EvpPkeyPtr key(X509_get_pubkey(leaf));
  if (!key) {
    ERR_clear_error();
    return Error(ErrorCode::kMalformedEvidence, "VCEK/VLEK public key does not decode",
                 "cert_malformed");
  }
  std::array<char, 64> group{};
  std::size_t group_len = 0;
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_EC ||
      EVP_PKEY_get_group_name(key.get(), group.data(), group.size(), &group_len) != 1 ||
      std::string_view(group.data(), group_len) != "secp384r1") {
    return Error(ErrorCode::kVerificationFailed, "VCEK/VLEK key is not EC P-384", "snp_leaf_key");
  }

  VerifiedEndorsement out;
  out.product = roots->product;
  out.signer = expected;
  out.ext = std::move(ext);
  out.key = std::move(key);
  out.intermediate = intermediate;
  out.ark = ark;
  return out;
}

// A CRL that `issuer` signed: names match (RFC 5280 section 6.3.3 (b)) and the signature
// verifies with its key (section 6.3.3 (f)).
bool CrlSignedBy(X509_CRL* crl, X509* issuer) {
  if (issuer == nullptr) return false;
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) return false;
  EVP_PKEY* key = X509_get0_pubkey(issuer);  // owned by `issuer`
  const bool ok = key != nullptr && X509_CRL_verify(crl, key) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace

Result<VerifiedEndorsement> VerifyEndorsement(X509* leaf, Signer expected,
                                              const AmdTrustStore& trust, std::int64_t now,
                                              const std::map<Product, X509CrlPtr>* crls) {
  RevocationCheck check;
  if (crls != nullptr) {
    check = [crls, leaf](const AmdProductRoots& roots, X509* intermediate) -> Result<void> {
      auto it = crls->find(roots.product);
      if (it == crls->end() || !it->second) return Ok();
      return CheckCrl(it->second.get(), leaf, intermediate, roots.ark.get());
    };
  }
  return VerifyEndorsementWith(leaf, expected, trust, now, check);
}

Result<VerifiedEndorsement> VerifyEndorsement(X509* leaf, Signer expected,
                                              const AmdTrustStore& trust, std::int64_t now,
                                              const CrlSet& crls) {
  RevocationCheck check;
  if (!crls.crls().empty()) {
    check = [&crls, leaf, now](const AmdProductRoots& roots, X509* intermediate) -> Result<void> {
      const auto ark_sha = CertificateSha256(roots.ark.get());
      const auto intermediate_sha = CertificateSha256(intermediate);
      for (const AmdCrl& c : crls.crls()) {
        // CheckNotRevoked verifies the CRL's issuer name and signature again, so a set built
        // against another trust store cannot vouch for this chain.
        if (c.issuer_sha256 == ark_sha) {
          SKR_TRY_VOID(CheckNotRevoked(intermediate, c.crl.get(), roots.ark.get()));
        } else if (c.issuer_sha256 == intermediate_sha) {
          SKR_TRY_VOID(CheckNotRevoked(leaf, c.crl.get(), intermediate));
        } else {
          continue;
        }
        // Not listed: the answer is only as good as the CRL's freshness.
        SKR_TRY_VOID(crls.CheckUsable(c, now));
      }
      return Ok();
    };
  }
  return VerifyEndorsementWith(leaf, expected, trust, now, check);
}

Result<CrlSet> CrlSet::Create(std::vector<X509CrlPtr> crls, const AmdTrustStore& trust,
                              std::int64_t now, std::int64_t max_staleness_seconds) {
  auto config_error = [](const std::string& issuer, const std::string& what, const char* reason) {
    return Error(ErrorCode::kInvalidArgument, "CRL issued by '" + issuer + "': " + what, reason);
  };
  CrlSet set;
  set.max_staleness_seconds_ = max_staleness_seconds < 0 ? 0 : max_staleness_seconds;
  for (X509CrlPtr& crl : crls) {
    if (!crl) return Error(ErrorCode::kInvalidArgument, "null CRL");
    AmdCrl entry;
    entry.issuer = CrlIssuerName(crl.get());
    X509* signer = nullptr;
    for (const AmdProductRoots& r : trust.all()) {
      for (X509* cand : {r.ark.get(), r.ask.get(), r.asvk.get()}) {
        if (CrlSignedBy(crl.get(), cand)) {
          signer = cand;
          entry.product = r.product;
          break;
        }
      }
      if (signer != nullptr) break;
    }
    if (signer == nullptr) {
      return config_error(entry.issuer, "not signed by a trusted AMD ARK, ASK or ASVK",
                          "crl_untrusted");
    }
    entry.issuer_sha256 = CertificateSha256(signer);
    for (const AmdCrl& other : set.crls_) {
      if (other.issuer_sha256 == entry.issuer_sha256) {
        return config_error(entry.issuer, "two CRLs from the same issuer", "crl_duplicate");
      }
    }
    auto times = GetCrlTimes(crl.get());
    if (!times) return config_error(entry.issuer, times.error().message(), "crl_malformed");
    // RFC 5280 section 5.1.2.5: conforming issuers include nextUpdate; without it skrd cannot
    // tell a current CRL from an abandoned one.
    if (!times->next_update) return config_error(entry.issuer, "has no nextUpdate", "crl_malformed");
    if (*times->next_update < times->this_update) {
      return config_error(entry.issuer, "nextUpdate is before thisUpdate", "crl_malformed");
    }
    if (times->this_update > now) {
      return config_error(entry.issuer,
                          "thisUpdate " + FormatRfc3339(times->this_update) +
                              " is in the future (now " + FormatRfc3339(now) + ")",
                          "snp_crl_not_yet_valid");
    }
    entry.this_update = times->this_update;
    entry.next_update = *times->next_update;
    {
      unsigned char* der = nullptr;
      const int n = i2d_X509_CRL(crl.get(), &der);
      if (n <= 0 || der == nullptr) return config_error(entry.issuer, "does not re-encode", "crl_malformed");
      entry.der.assign(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));  // NOLINT
      OPENSSL_free(der);
    }
    entry.crl = std::move(crl);
    set.crls_.push_back(std::move(entry));
  }
  return set;
}

std::int64_t CrlSet::Stale(const AmdCrl& crl, std::int64_t now) {
  return now > crl.next_update ? now - crl.next_update : 0;
}

Result<void> CrlSet::CheckUsable(const AmdCrl& crl, std::int64_t now) const {
  if (now < crl.this_update) {
    return Error(ErrorCode::kUnavailable,
                 std::string("the ") + ProductName(crl.product) + " CRL issued by '" + crl.issuer +
                     "' is not valid before " + FormatRfc3339(crl.this_update),
                 "snp_crl_not_yet_valid");
  }
  const std::int64_t stale = Stale(crl, now);
  if (max_staleness_seconds_ > 0 && stale > max_staleness_seconds_) {
    return Error(ErrorCode::kUnavailable,
                 std::string("the ") + ProductName(crl.product) + " CRL issued by '" + crl.issuer +
                     "' is stale: its nextUpdate " + FormatRfc3339(crl.next_update) + " is " +
                     std::to_string(stale) + " s ago, more than the " +
                     std::to_string(max_staleness_seconds_) +
                     " s allowed (attestation.snp.crl_max_staleness_seconds)",
                 "snp_crl_stale");
  }
  return Ok();
}

}  // namespace skr::attestation::snp
