// SPDX-License-Identifier: Apache-2.0
#include "tests/support/intel_test_pki.h"

#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "common/clock.h"
#include "common/encoding.h"
#include "common/ossl.h"
#include "common/json.h"
#include "tests/support/test_certs.h"

namespace skr::test {
namespace {

constexpr const char* kOrg = "Test Intel";
constexpr std::array<std::uint8_t, 16> kIntelQeVendorId = {0x93, 0x9A, 0x72, 0x33, 0xF7, 0x9C,
                                                           0x4C, 0xA9, 0x94, 0x0A, 0x0D, 0xB3,
                                                           0x95, 0x7F, 0x06, 0x07};
constexpr std::uint8_t kQeMrSigner = 0xDC;  // every byte of the test QE's MRSIGNER
constexpr std::uint16_t kQeIsvSvn = 4;
const std::array<std::uint8_t, 16> kPckSgx = {5, 5, 2, 2, 3, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0};
constexpr std::uint16_t kPckPceSvn = 11;

EvpPkeyPtr NewP256() {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  CheckPki(key != nullptr, "EVP_EC_gen");
  return key;
}

using EcGroupPtr = std::unique_ptr<EC_GROUP, OsslFree<&EC_GROUP_free>>;
using EcPointPtr = std::unique_ptr<EC_POINT, OsslFree<&EC_POINT_free>>;

// A P-256 key whose private scalar is SHA-256(seed || 0 || label || counter), the first such value
// in [1, n-1].
EvpPkeyPtr SeededP256(std::string_view seed, std::string_view label) {
  EcGroupPtr group(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
  CheckPki(group != nullptr, "EC_GROUP");
  for (std::uint8_t counter = 0; counter < 16; ++counter) {
    std::string input(seed);
    input.push_back('\0');
    input.append(label);
    input.push_back(static_cast<char>(counter));
    const auto digest = Sha256(input);
    BignumPtr d(BN_bin2bn(digest.data(), 32, nullptr));
    if (!d || BN_is_zero(d.get()) || BN_cmp(d.get(), EC_GROUP_get0_order(group.get())) >= 0) continue;
    EcPointPtr pub(EC_POINT_new(group.get()));
    CheckPki(pub != nullptr &&
                 EC_POINT_mul(group.get(), pub.get(), d.get(), nullptr, nullptr, nullptr) == 1,
             "EC_POINT_mul");
    std::uint8_t point[65];
    CheckPki(EC_POINT_point2oct(group.get(), pub.get(), POINT_CONVERSION_UNCOMPRESSED, point,
                                sizeof(point), nullptr) == sizeof(point),
             "point2oct");
    OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
    CheckPki(bld && OSSL_PARAM_BLD_push_utf8_string(bld.get(), "group", "P-256", 0) == 1 &&
                 OSSL_PARAM_BLD_push_BN(bld.get(), "priv", d.get()) == 1 &&
                 OSSL_PARAM_BLD_push_octet_string(bld.get(), "pub", point, sizeof(point)) == 1,
             "params");
    OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    EVP_PKEY* key = nullptr;
    CheckPki(params && ctx && EVP_PKEY_fromdata_init(ctx.get()) == 1 &&
                 EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_KEYPAIR, params.get()) == 1,
             "EVP_PKEY_fromdata");
    return EvpPkeyPtr(key);
  }
  CheckPki(false, "no scalar from the seed");
  return nullptr;
}

void SignCert(X509* cert, EVP_PKEY* key) {
  CheckPki(X509_sign(cert, key, EVP_sha256()) > 0, "X509_sign");
}

// ECDSA P-256 / SHA-256 as r || s (32 bytes each).
std::array<std::uint8_t, 64> SignRaw(EVP_PKEY* key, std::span<const std::uint8_t> msg) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  CheckPki(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
               EVP_DigestSign(ctx.get(), nullptr, &len, msg.data(), msg.size()) == 1,
           "sign init");
  std::vector<std::uint8_t> der(len);
  CheckPki(EVP_DigestSign(ctx.get(), der.data(), &len, msg.data(), msg.size()) == 1, "sign");
  const unsigned char* p = der.data();
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
  CheckPki(sig != nullptr, "d2i_ECDSA_SIG");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::array<std::uint8_t, 64> out{};
  CheckPki(BN_bn2binpad(r, out.data(), 32) == 32 && BN_bn2binpad(s, out.data() + 32, 32) == 32,
           "r/s");
  return out;
}

std::array<std::uint8_t, 64> PublicXy(EVP_PKEY* key) {
  std::uint8_t point[65];
  std::size_t len = 0;
  CheckPki(EVP_PKEY_get_octet_string_param(key, "pub", point, sizeof(point), &len) == 1 &&
               len == 65,
           "public point");
  std::array<std::uint8_t, 64> out{};
  std::copy(point + 1, point + 65, out.begin());
  return out;
}

// DER helpers for the SGX extension (Intel PCK profile section 1.3.5).
std::vector<std::uint8_t> Tlv(std::uint8_t tag, const std::vector<std::uint8_t>& value) {
  std::vector<std::uint8_t> out = {tag};
  if (value.size() < 128) {
    out.push_back(static_cast<std::uint8_t>(value.size()));
  } else {
    out.push_back(0x82);
    out.push_back(static_cast<std::uint8_t>(value.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(value.size()));
  }
  out.insert(out.end(), value.begin(), value.end());
  return out;
}
std::vector<std::uint8_t> Oid(std::initializer_list<std::uint8_t> suffix) {
  std::vector<std::uint8_t> v = {0x2A, 0x86, 0x48, 0x86, 0xF8, 0x4D, 0x01, 0x0D, 0x01};
  v.insert(v.end(), suffix.begin(), suffix.end());
  return Tlv(0x06, v);
}
std::vector<std::uint8_t> Int(unsigned v) {
  if (v < 0x80) return Tlv(0x02, {static_cast<std::uint8_t>(v)});
  if (v < 0x8000) return Tlv(0x02, {static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)});
  return Tlv(0x02, {0, static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)});
}
std::vector<std::uint8_t> Pair(std::vector<std::uint8_t> oid, const std::vector<std::uint8_t>& value) {
  oid.insert(oid.end(), value.begin(), value.end());
  return Tlv(0x30, oid);
}
std::vector<std::uint8_t> Cat(const std::vector<std::vector<std::uint8_t>>& parts) {
  std::vector<std::uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::vector<std::uint8_t> SgxExtension() {
  std::vector<std::vector<std::uint8_t>> tcb;
  for (std::uint8_t i = 1; i <= 16; ++i) tcb.push_back(Pair(Oid({0x02, i}), Int(kPckSgx[i - 1])));
  tcb.push_back(Pair(Oid({0x02, 17}), Int(kPckPceSvn)));
  tcb.push_back(Pair(Oid({0x02, 18}), Tlv(0x04, std::vector<std::uint8_t>(kPckSgx.begin(), kPckSgx.end()))));
  return Tlv(0x30, Cat({Pair(Oid({0x01}), Tlv(0x04, std::vector<std::uint8_t>(16, 0xAB))),
                        Pair(Oid({0x02}), Tlv(0x30, Cat(tcb))),
                        Pair(Oid({0x03}), Tlv(0x04, {0x00, 0x00})),
                        Pair(Oid({0x04}), Tlv(0x04, std::vector<std::uint8_t>(IntelTestPki::kFmspc.begin(),
                                                                              IntelTestPki::kFmspc.end()))),
                        Pair(Oid({0x05}), Tlv(0x0A, {0x00}))}));
}

void Le16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
}
void Le32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
template <typename C>
void Put(std::vector<std::uint8_t>& out, const C& bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}
void Zeros(std::vector<std::uint8_t>& out, std::size_t n) { out.insert(out.end(), n, 0); }

std::string CrlPem(X509* issuer, EVP_PKEY* key, const std::vector<long>& revoked,
                   std::int64_t this_update, std::int64_t next_update) {
  X509CrlPtr crl(X509_CRL_new());
  CheckPki(crl != nullptr && X509_CRL_set_version(crl.get(), 1) == 1, "CRL version");
  CheckPki(X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer)) == 1, "CRL issuer");
  SetTestCrlTime(crl.get(), false, this_update);
  SetTestCrlTime(crl.get(), true, next_update);
  for (long serial : revoked) {
    X509_REVOKED* r = X509_REVOKED_new();
    ASN1_INTEGER* sn = ASN1_INTEGER_new();
    ASN1_TIME* when = ASN1_TIME_set(nullptr, static_cast<time_t>(this_update));
    CheckPki(r != nullptr && sn != nullptr && when != nullptr && ASN1_INTEGER_set(sn, serial) == 1 &&
                 X509_REVOKED_set_serialNumber(r, sn) == 1 &&
                 X509_REVOKED_set_revocationDate(r, when) == 1,
             "revoked entry");
    ASN1_INTEGER_free(sn);
    ASN1_TIME_free(when);
    CheckPki(X509_CRL_add0_revoked(crl.get(), r) == 1, "X509_CRL_add0_revoked");
  }
  CheckPki(X509_CRL_sort(crl.get()) == 1 && X509_CRL_sign(crl.get(), key, EVP_sha256()) > 0,
           "CRL sign");
  return CrlPemText(crl.get());
}

std::string Hex(std::span<const std::uint8_t> b) { return HexEncode(b); }

std::string QeMrSignerHex() { return Hex(std::vector<std::uint8_t>(32, kQeMrSigner)); }

}  // namespace

EvpPkeyPtr SeededTestP256(std::string_view seed, std::string_view label) {
  return SeededP256(seed, label);
}

IntelTestPki::IntelTestPki()
    : root_key_(NewP256()), ca_key_(NewP256()), pck_key_(NewP256()), tcb_key_(NewP256()),
      ak_key_(NewP256()) {
  Issue();
}

IntelTestPki::IntelTestPki(std::string_view seed)
    : root_key_(SeededP256(seed, "root")), ca_key_(SeededP256(seed, "pck-ca")),
      pck_key_(SeededP256(seed, "pck")), tcb_key_(SeededP256(seed, "tcb-signing")),
      ak_key_(SeededP256(seed, "attestation-key")) {
  Issue();
}

void IntelTestPki::Issue() {
  root_ = MakeTestCert(kOrg, "Test SGX Root CA", "Test SGX Root CA", 1, root_key_.get(), true);
  SignCert(root_.get(), root_key_.get());
  ca_ = MakeTestCert(kOrg, "Test SGX PCK Platform CA", "Test SGX Root CA", kPckCaSerial,
                     ca_key_.get(), true);
  SignCert(ca_.get(), root_key_.get());
  pck_ = MakeTestCert(kOrg, "Test SGX PCK Certificate", "Test SGX PCK Platform CA", kPckSerial,
                      pck_key_.get(), false);
  AddRawExtension(pck_.get(), "1.2.840.113741.1.13.1", SgxExtension());
  SignCert(pck_.get(), ca_key_.get());
  tcb_signer_ = MakeTestCert(kOrg, "Test SGX TCB Signing", "Test SGX Root CA", 3, tcb_key_.get(), false);
  SignCert(tcb_signer_.get(), root_key_.get());
  chain_pem_ = CertPem(pck_.get()) + CertPem(ca_.get()) + CertPem(root_.get());
}

std::string IntelTestPki::RootPem() const { return CertPem(root_.get()); }
std::string IntelTestPki::TcbSigningChainPem() const {
  return CertPem(tcb_signer_.get()) + CertPem(root_.get());
}

std::vector<std::uint8_t> IntelTestPki::Quote(const TestTdQuote& q) const {
  // Header (48): version 4, ECDSA P-256 key, TEE type TDX, reserved, QE vendor, user data.
  std::vector<std::uint8_t> out;
  Le16(out, 4);
  Le16(out, 2);
  Le32(out, 0x81);
  Zeros(out, 4);
  Put(out, kIntelQeVendorId);
  Zeros(out, 20);
  // TD 1.0 body (584).
  Put(out, q.tee_tcb_svn);
  Zeros(out, 48 + 48 + 8);  // MRSEAM, MRSIGNERSEAM (Intel's: zeros), SEAMATTRIBUTES
  std::array<std::uint8_t, 8> td_attributes{0, 0, 0, 0x10, 0, 0, 0, 0};  // SEPT_VE_DISABLE
  if (q.debug) td_attributes[0] |= 1;
  Put(out, td_attributes);
  Put(out, std::array<std::uint8_t, 8>{0xe7, 0x02, 0x06, 0, 0, 0, 0, 0});  // XFAM
  Put(out, q.mrtd);
  Zeros(out, 48 * 3);  // MRCONFIGID, MROWNER, MROWNERCONFIG
  Put(out, q.rtmr0);
  Zeros(out, 48 * 3);
  Put(out, q.report_data);
  const std::vector<std::uint8_t> signed_part = out;

  // QE report (384): REPORTDATA binds the attestation key and the QE authentication data.
  const auto ak = PublicXy(ak_key_.get());
  std::vector<std::uint8_t> auth(32);
  for (std::size_t i = 0; i < auth.size(); ++i) auth[i] = static_cast<std::uint8_t>(i);
  std::vector<std::uint8_t> bound(ak.begin(), ak.end());
  Put(bound, auth);
  const auto bound_hash = Sha256(bound);
  std::vector<std::uint8_t> qe;
  Put(qe, kPckSgx);  // CPUSVN
  Le32(qe, 0);       // MISCSELECT
  Zeros(qe, 28);
  Put(qe, std::array<std::uint8_t, 16>{0x11});  // ATTRIBUTES
  Zeros(qe, 32);                                // MRENCLAVE
  Zeros(qe, 32);
  qe.insert(qe.end(), 32, kQeMrSigner);  // MRSIGNER
  Zeros(qe, 96);
  Le16(qe, 2);  // ISVPRODID
  Le16(qe, kQeIsvSvn);
  Zeros(qe, 60);
  Put(qe, bound_hash);
  Zeros(qe, 32);

  const std::string& chain = chain_pem_;
  std::vector<std::uint8_t> cert_data;
  Put(cert_data, qe);
  Put(cert_data, SignRaw(pck_key_.get(), qe));
  Le16(cert_data, static_cast<std::uint16_t>(auth.size()));
  Put(cert_data, auth);
  Le16(cert_data, 5);
  Le32(cert_data, static_cast<std::uint32_t>(chain.size()));
  Put(cert_data, chain);

  std::vector<std::uint8_t> sig;
  Put(sig, SignRaw(ak_key_.get(), signed_part));
  Put(sig, ak);
  Le16(sig, 6);
  Le32(sig, static_cast<std::uint32_t>(cert_data.size()));
  Put(sig, cert_data);
  Le32(out, static_cast<std::uint32_t>(sig.size()));
  Put(out, sig);
  return out;
}

std::vector<std::uint8_t> IntelTestPki::TdReport(const TestTdQuote& q) {
  std::vector<std::uint8_t> out;
  // REPORTMACSTRUCT (256): REPORTTYPE (TDX: 0x81), reserved, CPUSVN, TEE_TCB_INFO_HASH,
  // TEE_INFO_HASH, REPORTDATA, reserved, MAC.
  Put(out, std::array<std::uint8_t, 4>{0x81, 0, 0, 0});
  Zeros(out, 12 + 16 + 48 + 48);
  Put(out, q.report_data);
  Zeros(out, 32 + 32);
  // TEE_TCB_INFO (239) and reserved (17).
  Zeros(out, 256);
  // TDINFO_STRUCT (512): ATTRIBUTES, XFAM, MRTD, MRCONFIGID, MROWNER, MROWNERCONFIG, RTMR0..3.
  std::array<std::uint8_t, 8> td_attributes{0, 0, 0, 0x10, 0, 0, 0, 0};
  if (q.debug) td_attributes[0] |= 1;
  Put(out, td_attributes);
  Put(out, std::array<std::uint8_t, 8>{0xe7, 0x02, 0x06, 0, 0, 0, 0, 0});
  Put(out, q.mrtd);
  Zeros(out, 48 * 3);
  Put(out, q.rtmr0);
  Zeros(out, 512 - 16 - 48 * 5);
  return out;
}

TestTcbLevel IntelTestPki::MatchingLevel() {
  TestTcbLevel l;
  l.sgx = kPckSgx;
  l.pce_svn = kPckPceSvn;
  l.tdx = {0x03, 0x00, 0x05};
  return l;
}

std::string IntelTestPki::SignedBody(const char* member, const std::string& inner) const {
  const auto sig = SignRaw(tcb_key_.get(), AsBytes(inner));
  return std::string("{\"") + member + "\":" + inner + ",\"signature\":\"" + Hex(sig) + "\"}";
}

std::string IntelTestPki::TcbInfoBody(std::int64_t issue, std::int64_t next,
                                      std::vector<TestTcbLevel> levels) const {
  if (levels.empty()) levels.push_back(MatchingLevel());
  Json arr = Json::array();
  for (const TestTcbLevel& l : levels) {
    Json sgx = Json::array(), tdx = Json::array();
    for (std::uint8_t v : l.sgx) sgx.push_back({{"svn", v}});
    for (std::uint8_t v : l.tdx) tdx.push_back({{"svn", v}});
    Json level = {{"tcb", {{"sgxtcbcomponents", sgx}, {"pcesvn", l.pce_svn}, {"tdxtcbcomponents", tdx}}},
                  {"tcbDate", "2026-01-01T00:00:00Z"},
                  {"tcbStatus", l.status}};
    if (!l.advisory_ids.empty()) level["advisoryIDs"] = l.advisory_ids;
    arr.push_back(level);
  }
  const Json info = {{"id", "TDX"},
                     {"version", 3},
                     {"issueDate", FormatRfc3339(issue)},
                     {"nextUpdate", FormatRfc3339(next)},
                     {"fmspc", Hex(kFmspc)},
                     {"pceId", "0000"},
                     {"tcbType", 0},
                     {"tcbEvaluationDataNumber", 19},
                     {"tdxModule", {{"mrsigner", std::string(96, '0')},
                                    {"attributes", "0000000000000000"},
                                    {"attributesMask", "FFFFFFFFFFFFFFFF"}}},
                     {"tcbLevels", arr}};
  return SignedBody("tcbInfo", DumpJson(info));
}

std::string IntelTestPki::QeIdentityBody(std::int64_t issue, std::int64_t next,
                                         const std::string& status) const {
  const Json id = {{"id", "TD_QE"},
                   {"version", 2},
                   {"issueDate", FormatRfc3339(issue)},
                   {"nextUpdate", FormatRfc3339(next)},
                   {"tcbEvaluationDataNumber", 19},
                   {"miscselect", "00000000"},
                   {"miscselectMask", "FFFFFFFF"},
                   {"attributes", "11000000000000000000000000000000"},
                   {"attributesMask", "FBFFFFFFFFFFFFFF0000000000000000"},
                   {"mrsigner", QeMrSignerHex()},
                   {"isvprodid", 2},
                   {"tcbLevels", {{{"tcb", {{"isvsvn", kQeIsvSvn}}},
                                   {"tcbDate", "2026-01-01T00:00:00Z"},
                                   {"tcbStatus", status}}}}};
  return SignedBody("enclaveIdentity", DumpJson(id));
}

std::string IntelTestPki::PckCrlPem(const std::vector<long>& revoked, std::int64_t this_update,
                                    std::int64_t next_update) const {
  return CrlPem(ca_.get(), ca_key_.get(), revoked, this_update, next_update);
}

std::string IntelTestPki::RootCrlPem(const std::vector<long>& revoked, std::int64_t this_update,
                                     std::int64_t next_update) const {
  return CrlPem(root_.get(), root_key_.get(), revoked, this_update, next_update);
}

}  // namespace skr::test
