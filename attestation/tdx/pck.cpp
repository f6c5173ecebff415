// SPDX-License-Identifier: Apache-2.0
#include "attestation/tdx/pck.h"

#include <openssl/objects.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/byte_reader.h"

namespace skr::attestation::tdx {
namespace {

// 1.2.840.113741.1.13.1, DER content octets.
constexpr std::uint8_t kSgxExtOid[] = {0x2A, 0x86, 0x48, 0x86, 0xF8, 0x4D, 0x01, 0x0D, 0x01};
constexpr std::uint8_t kTagInteger = 0x02, kTagOctetString = 0x04, kTagOid = 0x06,
                       kTagEnumerated = 0x0A, kTagSequence = 0x30;

Error ExtError(const std::string& what) {
  return Error(ErrorCode::kVerificationFailed, "PCK certificate SGX extensions: " + what,
               "tdx_pck_extensions");
}

struct Tlv {
  std::uint8_t tag = 0;
  std::span<const std::uint8_t> value;
};

// One DER element (single-byte tag, definite length of at most 4 bytes).
Result<Tlv> ReadTlv(ByteReader& r) {
  auto tag = r.U8();
  auto len0 = r.U8();
  if (!tag || !len0) return ExtError("truncated element");
  std::size_t len = *len0;
  if (*len0 & 0x80) {
    const int n = *len0 & 0x7F;
    if (n == 0 || n > 4) return ExtError("unsupported length encoding");
    len = 0;
    for (int i = 0; i < n; ++i) {
      auto b = r.U8();
      if (!b) return ExtError("truncated length");
      len = (len << 8) | *b;
    }
  }
  auto value = r.Take(len);
  if (!value) return ExtError("element longer than its parent");
  return Tlv{*tag, *value};
}

bool OidIs(std::span<const std::uint8_t> oid, std::initializer_list<std::uint8_t> suffix) {
  if (oid.size() != sizeof(kSgxExtOid) + suffix.size()) return false;
  if (std::memcmp(oid.data(), kSgxExtOid, sizeof(kSgxExtOid)) != 0) return false;
  return std::equal(suffix.begin(), suffix.end(), oid.begin() + sizeof(kSgxExtOid));
}

// A non-negative DER INTEGER of at most `max` (also accepts ENUMERATED when asked).
Result<std::uint32_t> SmallInt(const Tlv& t, std::uint32_t max, std::uint8_t tag = kTagInteger) {
  if (t.tag != tag || t.value.empty() || t.value.size() > 5 || (t.value[0] & 0x80)) {
    return ExtError("bad INTEGER");
  }
  std::uint64_t v = 0;
  for (std::uint8_t b : t.value) v = (v << 8) | b;
  if (v > max) return ExtError("INTEGER out of range");
  return static_cast<std::uint32_t>(v);
}

template <std::size_t N>
Result<void> Octets(const Tlv& t, std::array<std::uint8_t, N>& out, const char* name) {
  if (t.tag != kTagOctetString || t.value.size() != N) {
    return ExtError(std::string(name) + " is not an OCTET STRING of " + std::to_string(N) + " bytes");
  }
  std::copy(t.value.begin(), t.value.end(), out.begin());
  return {};
}

// The next SEQUENCE { OID, value } of `r` (every entry of the SGX extension and its TCB).
struct Entry {
  Tlv oid, value;
};
Result<Entry> ReadEntry(ByteReader& r, const char* what) {
  SKR_TRY(Tlv pair, ReadTlv(r));
  if (pair.tag != kTagSequence) return ExtError(std::string(what) + " is not a SEQUENCE");
  ByteReader pr(pair.value);
  SKR_TRY(Tlv oid, ReadTlv(pr));
  SKR_TRY(Tlv value, ReadTlv(pr));
  if (oid.tag != kTagOid || pr.remaining() != 0) return ExtError(std::string("bad ") + what);
  return Entry{oid, value};
}

Result<void> ParseTcb(std::span<const std::uint8_t> seq, PckExtensions& out) {
  ByteReader r(seq);
  std::uint32_t seen = 0;  // bit i: component i+1; bit 16 PCESVN; bit 17 CPUSVN
  while (r.remaining() > 0) {
    SKR_TRY(Entry entry, ReadEntry(r, "TCB entry"));
    const Tlv& oid = entry.oid;
    const Tlv& value = entry.value;
    bool known = false;
    for (std::uint8_t i = 1; i <= 18; ++i) {
      if (!OidIs(oid.value, {0x02, i})) continue;
      known = true;
      if (seen & (1u << (i - 1))) return ExtError("TCB entry repeated");
      seen |= 1u << (i - 1);
      if (i <= 16) {
        SKR_TRY(std::uint32_t v, SmallInt(value, 255));
        out.sgx_tcb_components[i - 1] = static_cast<std::uint8_t>(v);
      } else if (i == 17) {
        SKR_TRY(std::uint32_t v, SmallInt(value, 65535));
        out.pce_svn = static_cast<std::uint16_t>(v);
      } else {
        SKR_TRY_VOID(Octets(value, out.cpu_svn, "CPUSVN"));
      }
    }
    if (!known) return ExtError("unknown TCB entry");
  }
  if (seen != (1u << 18) - 1) return ExtError("TCB entries missing");
  return {};
}

}  // namespace

Result<PckExtensions> ParsePckExtensions(X509* pck) {
  // Find the extension by its OID without OpenSSL's name table (it has no entry for it).
  const X509_EXTENSION* found = nullptr;
  for (int i = 0; i < X509_get_ext_count(pck); ++i) {
    const X509_EXTENSION* ext = X509_get_ext(pck, i);
    const ASN1_OBJECT* obj = X509_EXTENSION_get_object(const_cast<X509_EXTENSION*>(ext));
    const unsigned char* data = OBJ_get0_data(obj);
    const std::size_t len = OBJ_length(obj);
    if (data != nullptr && len == sizeof(kSgxExtOid) && std::memcmp(data, kSgxExtOid, len) == 0) {
      if (found != nullptr) return ExtError("the extension appears twice");
      found = ext;
    }
  }
  if (found == nullptr) return ExtError("missing (not a PCK certificate)");
  const ASN1_OCTET_STRING* os = X509_EXTENSION_get_data(const_cast<X509_EXTENSION*>(found));
  ByteReader outer(std::span<const std::uint8_t>(ASN1_STRING_get0_data(os),
                                                 static_cast<std::size_t>(ASN1_STRING_length(os))));
  SKR_TRY(Tlv top, ReadTlv(outer));
  if (top.tag != kTagSequence || outer.remaining() != 0) return ExtError("not one SEQUENCE");
  PckExtensions out;
  unsigned seen = 0;  // bit 0 PPID, 1 TCB, 2 PCE-ID, 3 FMSPC, 4 SGX Type
  ByteReader r(top.value);
  while (r.remaining() > 0) {
    SKR_TRY(Entry entry, ReadEntry(r, "entry"));
    const Tlv& oid = entry.oid;
    const Tlv& value = entry.value;
    unsigned bit = 0;
    if (OidIs(oid.value, {0x01})) {
      SKR_TRY_VOID(Octets(value, out.ppid, "PPID"));
      bit = 1;
    } else if (OidIs(oid.value, {0x02})) {
      if (value.tag != kTagSequence) return ExtError("TCB is not a SEQUENCE");
      SKR_TRY_VOID(ParseTcb(value.value, out));
      bit = 2;
    } else if (OidIs(oid.value, {0x03})) {
      SKR_TRY_VOID(Octets(value, out.pce_id, "PCE-ID"));
      bit = 4;
    } else if (OidIs(oid.value, {0x04})) {
      SKR_TRY_VOID(Octets(value, out.fmspc, "FMSPC"));
      bit = 8;
    } else if (OidIs(oid.value, {0x05})) {
      SKR_TRY(std::uint32_t t, SmallInt(value, 2, kTagEnumerated));
      out.sgx_type = static_cast<int>(t);
      bit = 16;
    } else {
      continue;  // PlatformInstanceID, Configuration, later additions
    }
    if (seen & bit) return ExtError("entry repeated");
    seen |= bit;
  }
  if (seen != 31) return ExtError("PPID, TCB, PCE-ID, FMSPC or SGX Type missing");
  return out;
}

Result<VerifiedPck> VerifyPckChain(std::string_view pem, std::span<X509* const> roots,
                                   std::int64_t unix_time) {
  auto parsed = ParseCertificatesPem(pem);
  if (!parsed) {
    return Error(ErrorCode::kMalformedEvidence,
                 "tdx quote: PCK certificate chain does not parse: " + parsed.error().message(),
                 "tdx_pck_malformed");
  }
  std::vector<X509Ptr> certs = std::move(parsed).value();
  if (certs.size() < 2 || certs.size() > 4) {
    return Error(ErrorCode::kMalformedEvidence,
                 "tdx quote: PCK certificate chain has " + std::to_string(certs.size()) +
                     " certificates (2 to 4: PCK, PCK CA, Root CA)",
                 "tdx_pck_malformed");
  }
  std::vector<X509*> intermediates;
  for (std::size_t i = 1; i < certs.size(); ++i) intermediates.push_back(certs[i].get());
  auto path = VerifyChainToAnchors(certs[0].get(), intermediates, roots, unix_time, 2);
  if (!path) {
    return Error(ErrorCode::kVerificationFailed,
                 "tdx quote: PCK certificate does not chain to the Intel SGX Root CA: " +
                     path.error().message(),
                 "tdx_pck_chain_untrusted");
  }
  SKR_TRY(PckExtensions ext, ParsePckExtensions(certs[0].get()));
  VerifiedPck out;
  out.ext = ext;
  // The PCK CA: the chain certificate that issued the leaf.
  for (std::size_t i = 1; i < certs.size(); ++i) {
    if (IssuerNameMatches(certs[0].get(), certs[i].get())) {
      out.intermediate = std::move(certs[i]);
      break;
    }
  }
  out.leaf = std::move(certs[0]);
  return out;
}

}  // namespace skr::attestation::tdx
