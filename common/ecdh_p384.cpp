// SPDX-License-Identifier: Apache-2.0
#include "common/ecdh_p384.h"

#include <gmp.h>
#include <nettle/bignum.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <cstring>

namespace skr {
namespace {

// GMP's memory functions, wiping every block before it is released: nettle allocates its
// scratch and the limbs of mpz_t / ecc_scalar / ecc_point through them, so the ephemeral scalar,
// the shared point and the intermediate values of the multiplications never linger in freed
// heap memory. Blocks are plain malloc blocks (compatible with GMP's defaults, so blocks
// allocated before the switch are freed correctly).
void* WipingAlloc(std::size_t n) {
  void* p = std::malloc(n);
  if (p == nullptr) std::abort();  // GMP has no way to report allocation failure
  return p;
}

void WipingFree(void* p, std::size_t n) {
  if (p == nullptr) return;
  OPENSSL_cleanse(p, n);
  std::free(p);
}

void* WipingRealloc(void* old, std::size_t old_n, std::size_t new_n) {
  void* p = WipingAlloc(new_n);
  if (old != nullptr) {
    std::memcpy(p, old, old_n < new_n ? old_n : new_n);
    WipingFree(old, old_n);
  }
  return p;
}

// Installed while the program starts, before any thread exists: GMP's memory functions are
// plain globals, so switching them later could race with a concurrent ECDSA verify. Every binary
// that can make a JWE links this file (jwe.cpp refers to it), so they all run this.
[[maybe_unused]] const bool kWipingGmpMemory = [] {
  mp_set_memory_functions(WipingAlloc, WipingRealloc, WipingFree);
  return true;
}();

// nettle's randomness callback: OpenSSL's CSPRNG. On failure the flag is raised and the output
// is zero; the caller refuses the result.
struct RandomContext {
  bool failed = false;
};
void Random(void* ctx, std::size_t length, std::uint8_t* dst) {
  if (RAND_bytes(dst, static_cast<int>(length)) != 1) {
    static_cast<RandomContext*>(ctx)->failed = true;
    std::memset(dst, 0, length);
  }
}

class Mpz {
 public:
  Mpz() { mpz_init(v_); }
  ~Mpz() { mpz_clear(v_); }  // freed through the wiping functions
  Mpz(const Mpz&) = delete;
  Mpz& operator=(const Mpz&) = delete;
  mpz_ptr get() { return v_; }

 private:
  mpz_t v_;
};

// nettle structures whose limbs are wiped before they are freed.
struct Scalar {
  explicit Scalar(const ecc_curve* c) : curve(c) { ecc_scalar_init(&s, c); }
  ~Scalar() {
    OPENSSL_cleanse(s.p, static_cast<std::size_t>(ecc_size(curve)) * sizeof(mp_limb_t));
    ecc_scalar_clear(&s);
  }
  Scalar(const Scalar&) = delete;
  Scalar& operator=(const Scalar&) = delete;
  const ecc_curve* curve;
  ecc_scalar s;
};
struct Point {
  explicit Point(const ecc_curve* c) : curve(c) { ecc_point_init(&p, c); }
  ~Point() {
    OPENSSL_cleanse(p.p, 2 * static_cast<std::size_t>(ecc_size(curve)) * sizeof(mp_limb_t));
    ecc_point_clear(&p);
  }
  Point(const Point&) = delete;
  Point& operator=(const Point&) = delete;
  const ecc_curve* curve;
  ecc_point p;
};

}  // namespace

Result<EcdhP384> EcdhEsP384(EVP_PKEY* recipient) {
  std::uint8_t rx[kP384ScalarBytes];
  std::uint8_t ry[kP384ScalarBytes];
  SKR_TRY_VOID(P384AffineCoordinates(recipient, rx, ry));
  const ecc_curve* curve = nettle_get_secp_384r1();
  Point peer(curve);
  {
    Mpz x, y;
    nettle_mpz_set_str_256_u(x.get(), sizeof(rx), rx);
    nettle_mpz_set_str_256_u(y.get(), sizeof(ry), ry);
    // Validates the recipient's point: on the curve, coordinates below p (RFC 7518 section
    // 4.6: an invalid-curve point would leak the ephemeral scalar's bits; here it is refused).
    if (ecc_point_set(&peer.p, x.get(), y.get()) != 1) {
      return Error(ErrorCode::kVerificationFailed,
                   "ECDH-ES P-384: the recipient's point is not on the curve", "ecdsa_p384_key");
    }
  }
  Scalar eph(curve);
  RandomContext rnd;
  ecc_scalar_random(&eph.s, &rnd, Random);
  if (rnd.failed) return Error(ErrorCode::kInternal, "ECDH-ES P-384: RAND_bytes failed");
  Point eph_pub(curve);
  Point shared(curve);
  ecc_point_mul_g(&eph_pub.p, &eph.s);
  ecc_point_mul(&shared.p, &eph.s, &peer.p);

  EcdhP384 out;
  out.z = SecretBytes(kP384ScalarBytes);
  Mpz ex, ey, zx, zy;
  ecc_point_get(&eph_pub.p, ex.get(), ey.get());
  ecc_point_get(&shared.p, zx.get(), zy.get());
  nettle_mpz_get_str_256(kP384ScalarBytes, out.epk_x.data(), ex.get());
  nettle_mpz_get_str_256(kP384ScalarBytes, out.epk_y.data(), ey.get());
  nettle_mpz_get_str_256(kP384ScalarBytes, out.z.Reveal().data(), zx.get());
  return out;
}

}  // namespace skr
