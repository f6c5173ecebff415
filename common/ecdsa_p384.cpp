// SPDX-License-Identifier: Apache-2.0
#include "common/ecdsa_p384.h"

#include <nettle/bignum.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <nettle/ecdsa.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>

#include <cstring>
#include <string>
#include <utility>

#include "common/ossl.h"

namespace skr {
namespace {

// SHA-256 .. SHA-512: the hashes attestation evidence signs with. ECDSA itself takes any
// length; refusing the rest catches a caller passing something that is not a digest.
constexpr std::size_t kMinDigestBytes = 32;
constexpr std::size_t kMaxDigestBytes = 64;

Error KeyError(std::string msg) {
  return Error(ErrorCode::kVerificationFailed, "ECDSA P-384: " + msg, "ecdsa_p384_key");
}
Error InputError(std::string msg) {
  return Error(ErrorCode::kInvalidArgument, "ECDSA P-384: " + msg, "ecdsa_p384_input");
}
Error Invalid(std::string msg) {
  return Error(ErrorCode::kVerificationFailed, "ECDSA P-384: " + msg,
               "ecdsa_p384_signature_invalid");
}

// An mpz_t that is always cleared (GMP allocates its limbs on the heap).
class Mpz {
 public:
  explicit Mpz(std::span<const std::uint8_t> big_endian) {
    mpz_init(v_);
    nettle_mpz_set_str_256_u(v_, big_endian.size(), big_endian.data());
  }
  ~Mpz() { mpz_clear(v_); }
  Mpz(const Mpz&) = delete;
  Mpz& operator=(const Mpz&) = delete;
  mpz_srcptr get() const { return v_; }

 private:
  mpz_t v_;
};

// The order n of P-384, big-endian (nettle keeps it only as internal limbs).
// FIPS 186-5 / SEC 2 section 2.5.1.
constexpr std::uint8_t kOrder[kP384ScalarBytes] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xC7, 0x63, 0x4D, 0x81, 0xF4, 0x37, 0x2D, 0xDF,
    0x58, 0x1A, 0x0D, 0xB2, 0x48, 0xB0, 0xA7, 0x7A, 0xEC, 0xEC, 0x19, 0x6A, 0xCC, 0xC5, 0x29, 0x73};

// 0 < v < n for a 48-byte big-endian v (FIPS 186-5 section 6.4.2 step 1): equal widths, so
// byte order is numeric order. nettle's ecdsa_verify checks the range too; checking here keeps
// the refusal explicit and independent of the library version.
bool InRange(std::span<const std::uint8_t> v) {
  bool non_zero = false;
  for (std::uint8_t b : v) non_zero = non_zero || b != 0;
  return non_zero && std::memcmp(v.data(), kOrder, kP384ScalarBytes) < 0;
}

}  // namespace

struct P384PublicKey::Point {
  Point() { ecc_point_init(&p, nettle_get_secp_384r1()); }
  ~Point() { ecc_point_clear(&p); }
  Point(const Point&) = delete;
  Point& operator=(const Point&) = delete;
  struct ecc_point p;
};

P384PublicKey::P384PublicKey(std::unique_ptr<Point> point) : point_(std::move(point)) {}
P384PublicKey::P384PublicKey(P384PublicKey&&) noexcept = default;
P384PublicKey& P384PublicKey::operator=(P384PublicKey&&) noexcept = default;
P384PublicKey::~P384PublicKey() = default;

bool IsP384Key(EVP_PKEY* key) {
  if (key == nullptr || EVP_PKEY_is_a(key, "EC") != 1) return false;
  char group[64] = {};
  std::size_t len = 0;
  const bool named = EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                                    sizeof(group), &len) == 1;
  ERR_clear_error();  // an explicit-parameters key has no name: not P-384 here
  return named && std::strcmp(group, "secp384r1") == 0;
}

Result<void> P384AffineCoordinates(EVP_PKEY* key, std::span<std::uint8_t, kP384ScalarBytes> x_out,
                                   std::span<std::uint8_t, kP384ScalarBytes> y_out) {
  if (!IsP384Key(key)) return KeyError("the key is not an EC key on P-384");
  // Affine x and y (not OSSL_PKEY_PARAM_PUB_KEY, whose encoding may be compressed).
  BIGNUM* x = nullptr;
  BIGNUM* y = nullptr;
  const bool got = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
                   EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1;
  BignumPtr x_owner(x);
  BignumPtr y_owner(y);
  if (!got) {
    return OpenSslError("EVP_PKEY_get_bn_param(EC_PUB_X/Y)", ErrorCode::kVerificationFailed);
  }
  if (BN_bn2binpad(x, x_out.data(), static_cast<int>(x_out.size())) !=
          static_cast<int>(x_out.size()) ||
      BN_bn2binpad(y, y_out.data(), static_cast<int>(y_out.size())) !=
          static_cast<int>(y_out.size())) {
    ERR_clear_error();
    return KeyError("public point coordinates exceed 48 bytes");
  }
  return Ok();
}

Result<P384PublicKey> P384PublicKey::FromEvpPkey(EVP_PKEY* key) {
  std::uint8_t xb[kP384ScalarBytes];
  std::uint8_t yb[kP384ScalarBytes];
  SKR_TRY_VOID(P384AffineCoordinates(key, xb, yb));
  return FromAffine(xb, yb);
}

Result<P384PublicKey> P384PublicKey::FromAffine(std::span<const std::uint8_t> x,
                                                std::span<const std::uint8_t> y) {
  if (x.size() != kP384ScalarBytes || y.size() != kP384ScalarBytes) {
    return KeyError("public point coordinates must be 48 bytes each");
  }
  const Mpz mx(x);
  const Mpz my(y);
  auto point = std::make_unique<Point>();
  // ecc_point_set requires 0 <= x, y < p and y^2 = x^3 - 3x + b; the point at infinity has no
  // affine coordinates (and (0, 0) fails the equation since b != 0). P-384 has cofactor 1, so
  // every such point generates the full group.
  if (ecc_point_set(&point->p, mx.get(), my.get()) != 1) {
    return KeyError("the public point is not on the curve");
  }
  return P384PublicKey(std::move(point));
}

Result<void> P384PublicKey::Verify(std::span<const std::uint8_t> digest,
                                   std::span<const std::uint8_t> r,
                                   std::span<const std::uint8_t> s) const {
  if (!point_) return KeyError("the key was moved from");
  if (digest.size() < kMinDigestBytes || digest.size() > kMaxDigestBytes) {
    return InputError("the digest must be 32 to 64 bytes");
  }
  if (r.size() != kP384ScalarBytes || s.size() != kP384ScalarBytes) {
    return InputError("r and s must be 48 bytes each");
  }
  if (!InRange(r) || !InRange(s)) return Invalid("r or s is outside [1, n-1]");
  struct Signature {
    Signature(std::span<const std::uint8_t> rb, std::span<const std::uint8_t> sb) {
      dsa_signature_init(&sig);
      nettle_mpz_set_str_256_u(sig.r, rb.size(), rb.data());
      nettle_mpz_set_str_256_u(sig.s, sb.size(), sb.data());
    }
    ~Signature() { dsa_signature_clear(&sig); }
    Signature(const Signature&) = delete;
    Signature& operator=(const Signature&) = delete;
    struct dsa_signature sig;
  } signature(r, s);
  // ecdsa_verify truncates the digest to the leftmost 384 bits (ecc_hash), as OpenSSL does.
  if (ecdsa_verify(&point_->p, digest.size(), digest.data(), &signature.sig) != 1) {
    return Invalid("the signature does not verify");
  }
  return Ok();
}

Result<void> VerifyEcdsaP384(EVP_PKEY* key, std::span<const std::uint8_t> digest,
                             std::span<const std::uint8_t> r, std::span<const std::uint8_t> s) {
  SKR_TRY(const P384PublicKey pub, P384PublicKey::FromEvpPkey(key));
  return pub.Verify(digest, r, s);
}

}  // namespace skr
