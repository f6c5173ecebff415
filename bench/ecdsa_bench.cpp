// SPDX-License-Identifier: Apache-2.0
// ECDSA P-384 verification and ECDH-ES P-384 key agreement on one core, OpenSSL against nettle
// (hogweed), over the same inputs (pin with taskset):
//   verify_digest     one signature over a SHA-384 digest: OpenSSL EVP_PKEY_verify (a fresh
//                     context per call, as the verifiers do) | nettle VerifyEcdsaP384 with the
//                     EVP_PKEY (coordinates taken from the key each call) | nettle with a
//                     prepared P384PublicKey
//   snp_report        the real Milan report + VCEK of ../shared/testdata: the OpenSSL code that
//                     VerifyReportSignature ran before (R/S -> DER, EVP_DigestVerify over the
//                     0x2A0 signed bytes) | snp::VerifyReportSignature (nettle) as it is now
//   ecdh_es           the key agreement of one ECDH-ES+A256KW wrap to a P-384 recipient: an
//                     ephemeral key pair and Z (SEC 1 section 3.3.1). OpenSSL: EVP_EC_gen +
//                     EVP_PKEY_derive as common/jwe.cpp does | nettle: recipient point check
//                     (ecc_point_set), ecc_scalar_random + ecc_point_mul_g, ecc_point_mul,
//                     coordinates out. Checked once: both sides derive the same Z.
//   ecdh_keygen, ecdh_derive  the two halves of ecdh_es apart
// Each pair runs in alternating rounds (ROUNDS x SECONDS each) so that both see the same
// machine; the figure is the median round. One JSON line per row.
//   skr-ecdsa-bench [TESTDATA_DIR] [SECONDS] [ROUNDS]
#include <nettle/bignum.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "attestation/snp/report.h"
#include "attestation/snp/verify.h"
#include "common/ecdsa_p384.h"
#include "common/ossl.h"
#include "common/x509.h"

namespace snp = skr::attestation::snp;
using Bytes = std::vector<std::uint8_t>;
using Clock = std::chrono::steady_clock;

namespace {

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "skr-ecdsa-bench: %s\n", what);
  std::exit(1);
}

// Calls `op` for `seconds`; returns calls per second. `op` returning false is a bench bug.
double Rate(const std::function<bool()>& op, double seconds) {
  std::uint64_t n = 0;
  const auto t0 = Clock::now();
  double elapsed = 0;
  do {
    for (int i = 0; i < 8; ++i) {
      if (!op()) Die("an operation failed");
    }
    n += 8;
    elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  } while (elapsed < seconds);
  return static_cast<double>(n) / elapsed;
}

// Alternating rounds of each implementation; prints one line with the median of each.
void Compare(const char* row,
             const std::vector<std::pair<const char*, std::function<bool()>>>& impls,
             double seconds, int rounds) {
  std::vector<std::vector<double>> rates(impls.size());
  for (int r = 0; r < rounds; ++r) {
    for (std::size_t i = 0; i < impls.size(); ++i)
      rates[i].push_back(Rate(impls[i].second, seconds));
  }
  std::printf("{\"row\": \"%s\"", row);
  double base = 0;
  for (std::size_t i = 0; i < impls.size(); ++i) {
    std::sort(rates[i].begin(), rates[i].end());
    const double median = rates[i][rates[i].size() / 2];
    if (i == 0) base = median;
    std::printf(", \"%s_per_s\": %.0f, \"%s_us\": %.1f", impls[i].first, median, impls[i].first,
                1e6 / median);
    if (i > 0) std::printf(", \"%s_speedup\": %.2f", impls[i].first, median / base);
  }
  std::printf("}\n");
  std::fflush(stdout);
}

Bytes Be48(const BIGNUM* bn) {
  Bytes out(48);
  if (BN_bn2binpad(bn, out.data(), 48) != 48) Die("BN_bn2binpad");
  return out;
}

struct Signed {
  Bytes digest, der, r, s;
};

Signed SignDigest(EVP_PKEY* key) {
  Signed out;
  out.digest = skr::RandomBytes(48);
  skr::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(key, nullptr));
  std::size_t len = 0;
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 ||
      EVP_PKEY_sign(ctx.get(), nullptr, &len, out.digest.data(), 48) != 1) {
    Die("EVP_PKEY_sign");
  }
  out.der.resize(len);
  if (EVP_PKEY_sign(ctx.get(), out.der.data(), &len, out.digest.data(), 48) != 1) Die("sign");
  out.der.resize(len);
  const unsigned char* p = out.der.data();
  skr::EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
  if (!sig) Die("d2i_ECDSA_SIG");
  out.r = Be48(ECDSA_SIG_get0_r(sig.get()));
  out.s = Be48(ECDSA_SIG_get0_s(sig.get()));
  return out;
}

bool OpenSslVerifyDigest(EVP_PKEY* key, const Signed& s) {
  skr::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(key, nullptr));
  return ctx && EVP_PKEY_verify_init(ctx.get()) == 1 &&
         EVP_PKEY_verify(ctx.get(), s.der.data(), s.der.size(), s.digest.data(), s.digest.size()) ==
             1;
}

// What snp::VerifyReportSignature did with OpenSSL before it moved to nettle.
bool OpenSslVerifyReport(const snp::Report& report, EVP_PKEY* key) {
  skr::BignumPtr r(BN_lebin2bn(report.signature_r().data(), 48, nullptr));
  skr::BignumPtr s(BN_lebin2bn(report.signature_s().data(), 48, nullptr));
  skr::EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return false;
  (void)r.release();
  (void)s.release();
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_len <= 0) return false;
  skr::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  const auto body = report.signed_bytes();
  const bool ok = ctx &&
                  EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha384(), nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx.get(), der, static_cast<std::size_t>(der_len), body.data(),
                                   body.size()) == 1;
  OPENSSL_free(der);
  return ok;
}

// ---- ECDH-ES ----------------------------------------------------------------------------

Bytes OpenSslEcdh(EVP_PKEY* own, EVP_PKEY* peer) {
  skr::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own, nullptr));
  std::size_t len = 0;
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer) != 1 ||
      EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1) {
    return {};
  }
  Bytes z(len);
  if (EVP_PKEY_derive(ctx.get(), z.data(), &len) != 1) return {};
  return z;
}

// One wrap's key agreement as common/jwe.cpp does it: ephemeral key, then Z.
bool OpenSslEcdhEs(EVP_PKEY* recipient) {
  skr::EvpPkeyPtr eph(EVP_EC_gen("P-384"));
  return eph && OpenSslEcdh(eph.get(), recipient).size() == 48;
}

void NettleRandom(void* /*ctx*/, std::size_t length, std::uint8_t* dst) {
  if (RAND_bytes(dst, static_cast<int>(length)) != 1) Die("RAND_bytes");
}

struct Mpz {
  Mpz() { mpz_init(v); }
  ~Mpz() { mpz_clear(v); }
  Mpz(const Mpz&) = delete;
  Mpz& operator=(const Mpz&) = delete;
  mpz_t v;
};

// Ephemeral public (x, y) and Z, from the recipient's affine coordinates.
struct NettleWrap {
  Bytes epk_x, epk_y, z;
};

bool NettleEcdhEs(const Bytes& rx, const Bytes& ry, NettleWrap* out) {
  const struct ecc_curve* curve = nettle_get_secp_384r1();
  Mpz x, y;
  nettle_mpz_set_str_256_u(x.v, rx.size(), rx.data());
  nettle_mpz_set_str_256_u(y.v, ry.size(), ry.data());
  struct ecc_point peer, eph_pub, shared;
  struct ecc_scalar eph;
  ecc_point_init(&peer, curve);
  ecc_point_init(&eph_pub, curve);
  ecc_point_init(&shared, curve);
  ecc_scalar_init(&eph, curve);
  bool ok = ecc_point_set(&peer, x.v, y.v) == 1;  // the recipient key is validated per wrap
  if (ok) {
    ecc_scalar_random(&eph, nullptr, NettleRandom);
    ecc_point_mul_g(&eph_pub, &eph);
    ecc_point_mul(&shared, &eph, &peer);
    Mpz ex, ey, zx, zy;
    ecc_point_get(&eph_pub, ex.v, ey.v);
    ecc_point_get(&shared, zx.v, zy.v);
    if (out != nullptr) {
      out->epk_x.resize(48);
      out->epk_y.resize(48);
      out->z.resize(48);
      nettle_mpz_get_str_256(48, out->epk_x.data(), ex.v);
      nettle_mpz_get_str_256(48, out->epk_y.data(), ey.v);
      nettle_mpz_get_str_256(48, out->z.data(), zx.v);
    } else {
      std::uint8_t z[48];
      nettle_mpz_get_str_256(48, z, zx.v);
    }
  }
  // ecc_scalar_clear frees the limbs without wiping them: adopting this for JWE would have to
  // wipe the ephemeral scalar first (a bench only measures).
  ecc_scalar_clear(&eph);
  ecc_point_clear(&shared);
  ecc_point_clear(&eph_pub);
  ecc_point_clear(&peer);
  return ok;
}

bool NettleKeygen() {
  struct ecc_point pub;
  struct ecc_scalar k;
  ecc_point_init(&pub, nettle_get_secp_384r1());
  ecc_scalar_init(&k, nettle_get_secp_384r1());
  ecc_scalar_random(&k, nullptr, NettleRandom);
  ecc_point_mul_g(&pub, &k);
  Mpz x, y;
  ecc_point_get(&pub, x.v, y.v);
  ecc_scalar_clear(&k);
  ecc_point_clear(&pub);
  return true;
}

// Z with one fixed ephemeral scalar (set once), recipient point checked each call.
bool NettleDerive(const Bytes& rx, const Bytes& ry) {
  static const Bytes k_bytes = skr::RandomBytes(47);  // < n
  const struct ecc_curve* curve = nettle_get_secp_384r1();
  Mpz x, y, kz, zx, zy;
  nettle_mpz_set_str_256_u(x.v, rx.size(), rx.data());
  nettle_mpz_set_str_256_u(y.v, ry.size(), ry.data());
  nettle_mpz_set_str_256_u(kz.v, k_bytes.size(), k_bytes.data());
  struct ecc_point peer, shared;
  struct ecc_scalar k;
  ecc_point_init(&peer, curve);
  ecc_point_init(&shared, curve);
  ecc_scalar_init(&k, curve);
  bool ok = ecc_point_set(&peer, x.v, y.v) == 1 && ecc_scalar_set(&k, kz.v) == 1;
  if (ok) {
    ecc_point_mul(&shared, &k, &peer);
    ecc_point_get(&shared, zx.v, zy.v);
  }
  ecc_scalar_clear(&k);
  ecc_point_clear(&shared);
  ecc_point_clear(&peer);
  return ok;
}

skr::EvpPkeyPtr P384FromAffine(const Bytes& x, const Bytes& y) {
  Bytes sec1 = {0x04};
  sec1.insert(sec1.end(), x.begin(), x.end());
  sec1.insert(sec1.end(), y.begin(), y.end());
  skr::OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "secp384r1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, sec1.data(),
                                       sec1.size()) != 1) {
    Die("OSSL_PARAM_BLD");
  }
  skr::OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  skr::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    Die("EVP_PKEY_fromdata");
  }
  return skr::EvpPkeyPtr(raw);
}

Bytes Coordinate(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) Die("EVP_PKEY_get_bn_param");
  skr::BignumPtr owner(bn);
  return Be48(bn);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "../shared/testdata";
  const double seconds = argc > 2 ? std::stod(argv[2]) : 1.0;
  const int rounds = argc > 3 ? std::stoi(argv[3]) : 5;

  // verify_digest: 16 signatures by one key, cycled.
  skr::EvpPkeyPtr key = skr::GenerateEcKey("P-384").value();
  std::vector<Signed> sigs;
  for (int i = 0; i < 16; ++i) sigs.push_back(SignDigest(key.get()));
  auto prepared = skr::P384PublicKey::FromEvpPkey(key.get());
  if (!prepared) Die("P384PublicKey::FromEvpPkey");
  std::size_t a = 0, b = 0, c = 0;
  Compare("p384_verify_digest",
          {{"openssl", [&] { return OpenSslVerifyDigest(key.get(), sigs[a++ % 16]); }},
           {"nettle",
            [&] {
              const Signed& s = sigs[b++ % 16];
              return skr::VerifyEcdsaP384(key.get(), s.digest, s.r, s.s).has_value();
            }},
           {"nettle_prepared",
            [&] {
              const Signed& s = sigs[c++ % 16];
              return prepared->Verify(s.digest, s.r, s.s).has_value();
            }}},
          seconds, rounds);

  // snp_report: the real report and its VCEK.
  auto report_bytes = skr::ReadFile(dir + "/snp/milan_trustee_report.bin");
  auto vcek_der = skr::ReadFile(dir + "/snp/milan_trustee_vcek.der");
  if (report_bytes && vcek_der) {
    auto report = snp::Report::Parse(skr::AsBytes(*report_bytes)).value();
    auto vcek = skr::ParseCertificateDer(skr::AsBytes(*vcek_der)).value();
    EVP_PKEY* vcek_key = X509_get0_pubkey(vcek.get());
    Compare("snp_report_signature",
            {{"openssl", [&] { return OpenSslVerifyReport(report, vcek_key); }},
             {"nettle", [&] { return snp::VerifyReportSignature(report, vcek_key).has_value(); }}},
            seconds, rounds);
  } else {
    std::fprintf(stderr, "skr-ecdsa-bench: no testdata under %s, snp_report skipped\n",
                 dir.c_str());
  }

  // ecdh_es: one recipient (the tee-pubkey), an ephemeral key per wrap.
  skr::EvpPkeyPtr recipient = skr::GenerateEcKey("P-384").value();
  const Bytes rx = Coordinate(recipient.get(), OSSL_PKEY_PARAM_EC_PUB_X);
  const Bytes ry = Coordinate(recipient.get(), OSSL_PKEY_PARAM_EC_PUB_Y);
  NettleWrap w;
  if (!NettleEcdhEs(rx, ry, &w)) Die("nettle ECDH");
  skr::EvpPkeyPtr epk = P384FromAffine(w.epk_x, w.epk_y);
  if (OpenSslEcdh(recipient.get(), epk.get()) != w.z) Die("nettle and OpenSSL derive different Z");
  Compare("p384_ecdh_es_keygen_derive",
          {{"openssl", [&] { return OpenSslEcdhEs(recipient.get()); }},
           {"nettle", [&] { return NettleEcdhEs(rx, ry, nullptr); }}},
          seconds, rounds);

  // The two halves apart: ephemeral key generation, and Z from a fixed ephemeral key (OpenSSL's
  // EVP_PKEY_derive_set_peer runs a full public-key check of the recipient on every call).
  skr::EvpPkeyPtr fixed_eph(EVP_EC_gen("P-384"));
  Compare("p384_ecdh_keygen",
          {{"openssl", [&] { return skr::EvpPkeyPtr(EVP_EC_gen("P-384")) != nullptr; }},
           {"nettle", [&] { return NettleKeygen(); }}},
          seconds, rounds);
  Compare("p384_ecdh_derive",
          {{"openssl", [&] { return OpenSslEcdh(fixed_eph.get(), recipient.get()).size() == 48; }},
           {"nettle", [&] { return NettleDerive(rx, ry); }}},
          seconds, rounds);
  return 0;
}
