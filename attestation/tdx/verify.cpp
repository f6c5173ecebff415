// SPDX-License-Identifier: Apache-2.0
#include "attestation/tdx/verify.h"

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/encoding.h"
#include "common/ossl.h"

namespace skr::attestation::tdx {
namespace {

Error Failed(const std::string& what, const char* reason) {
  return Error(ErrorCode::kVerificationFailed, "tdx quote: " + what, reason);
}

// An EC P-256 public key from x || y (64 bytes, big-endian); nullptr when not on the curve.
EvpPkeyPtr P256Key(std::span<const std::uint8_t, 64> xy) {
  std::uint8_t point[65];
  point[0] = 0x04;  // SEC 1 section 2.3.3, uncompressed
  std::memcpy(point + 1, xy.data(), 64);
  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)) != 1) {
    return nullptr;
  }
  OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  EvpPkeyPtr key(pkey);
  EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) return nullptr;
  return key;
}

bool Bit(const std::array<std::uint8_t, 8>& le, int bit) {
  return (le[static_cast<std::size_t>(bit / 8)] >> (bit % 8)) & 1;
}

}  // namespace

bool VerifyP256RawSignature(EVP_PKEY* key, std::span<const std::uint8_t> msg,
                            std::span<const std::uint8_t, 64> rs) {
  if (EVP_PKEY_is_a(key, "EC") != 1) return false;
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(rs.data(), 32, nullptr);
  BIGNUM* s = BN_bin2bn(rs.data() + 32, 32, nullptr);
  if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return false;
  }
  const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return false;
  std::vector<std::uint8_t> der(static_cast<std::size_t>(len));
  unsigned char* p = der.data();
  if (i2d_ECDSA_SIG(sig.get(), &p) != len) return false;
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
         EVP_DigestVerify(ctx.get(), der.data(), der.size(), msg.data(), msg.size()) == 1;
}

Result<VerifiedQuote> VerifyQuote(std::span<const std::uint8_t> bytes,
                                  std::span<X509* const> roots, std::int64_t unix_time) {
  VerifiedQuote v;
  SKR_TRY(v.quote, ParseQuote(bytes));
  const Quote& q = v.quote;
  if (q.qe_vendor_id != kIntelQeVendorId) {
    return Failed("QE vendor id " + HexEncode(q.qe_vendor_id) + " is not Intel's quoting enclave",
                  "tdx_qe_vendor");
  }
  SKR_TRY(v.pck, VerifyPckChain(q.pck_chain_pem, roots, unix_time));

  EvpPkeyPtr pck_key(X509_get_pubkey(v.pck.leaf.get()));
  if (!pck_key || !VerifyP256RawSignature(pck_key.get(), q.qe_report_bytes, q.qe_report_signature)) {
    return Failed("QE report signature does not verify with the PCK certificate's key",
                  "tdx_qe_report_signature");
  }

  std::vector<std::uint8_t> bound(q.attestation_key.begin(), q.attestation_key.end());
  bound.insert(bound.end(), q.qe_auth_data.begin(), q.qe_auth_data.end());
  const auto hash = Sha256(bound);
  const auto& rd = q.qe_report.report_data;
  const bool zeros = std::all_of(rd.begin() + 32, rd.end(), [](std::uint8_t b) { return b == 0; });
  if (!std::equal(hash.begin(), hash.end(), rd.begin()) || !zeros) {
    return Failed("the QE report does not vouch for the attestation key (REPORTDATA is not "
                  "SHA-256(attestation key || QE authentication data) || zeros)",
                  "tdx_attestation_key_binding");
  }

  EvpPkeyPtr ak = P256Key(q.attestation_key);
  if (!ak) return Failed("attestation key is not a P-256 point", "tdx_quote_signature");
  if (!VerifyP256RawSignature(ak.get(), q.signed_bytes, q.signature)) {
    return Failed("quote signature does not verify with the attestation key",
                  "tdx_quote_signature");
  }
  return v;
}

Claims QuoteClaims(const VerifiedQuote& v) {
  const TdBody& b = v.quote.body;
  Claims c;
  c["tee"] = "tdx";
  const bool debug = Bit(b.td_attributes, 0);
  c["debug"] = debug;
  c["report_data"] = HexEncode(b.report_data);
  c["tdx.quote_version"] = v.quote.version;
  c["tdx.report_data"] = HexEncode(b.report_data);
  c["tdx.mrtd"] = HexEncode(b.mrtd);
  for (std::size_t i = 0; i < b.rtmr.size(); ++i) {
    c["tdx.rtmr" + std::to_string(i)] = HexEncode(b.rtmr[i]);
  }
  c["tdx.mrconfigid"] = HexEncode(b.mrconfigid);
  c["tdx.mrowner"] = HexEncode(b.mrowner);
  c["tdx.mrownerconfig"] = HexEncode(b.mrownerconfig);
  c["tdx.mrseam"] = HexEncode(b.mrseam);
  c["tdx.mrsignerseam"] = HexEncode(b.mrsignerseam);
  c["tdx.seam_attributes"] = HexEncode(b.seam_attributes);
  c["tdx.td_attributes"] = HexEncode(b.td_attributes);
  c["tdx.td_attributes.debug"] = debug;
  c["tdx.td_attributes.sept_ve_disable"] = Bit(b.td_attributes, 28);
  c["tdx.td_attributes.pks"] = Bit(b.td_attributes, 30);
  c["tdx.td_attributes.kl"] = Bit(b.td_attributes, 31);
  c["tdx.td_attributes.perfmon"] = Bit(b.td_attributes, 63);
  c["tdx.xfam"] = HexEncode(b.xfam);
  c["tdx.tee_tcb_svn"] = HexEncode(b.tee_tcb_svn);
  if (b.td15) {
    c["tdx.tee_tcb_svn2"] = HexEncode(b.tee_tcb_svn2);
    c["tdx.mrservicetd"] = HexEncode(b.mrservicetd);
  }
  c["tdx.fmspc"] = HexEncode(v.pck.ext.fmspc);
  c["tdx.pce_id"] = HexEncode(v.pck.ext.pce_id);
  c["tdx.pce_svn"] = v.pck.ext.pce_svn;
  c["tdx.qe_svn"] = v.quote.qe_report.isv_svn;
  return c;
}

}  // namespace skr::attestation::tdx
