// SPDX-License-Identifier: Apache-2.0
// SPKI pinning for the skrd API client's TLS connections (see tls_pin.h).
#include "client/tls_pin.h"

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <cstddef>
#include <span>

#include "common/encoding.h"
#include "common/ossl.h"

namespace skr::client {
namespace {

// Each SSL_CTX owns a heap copy of the shared_ptr in its ex_data slot, freed with the context, so
// the state outlives any connection cpprestsdk still holds after the ApiClient is gone.
void FreePinStateExData(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/,
                        long /*argl*/, void* /*argp*/) {
  delete static_cast<PinStatePtr*>(ptr);
}

int PinStateIndex() {
  static const int index =
      CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL_CTX, 0, nullptr, nullptr, nullptr,
                              &FreePinStateExData);
  return index;
}

// SSL_CTX_set_cert_verify_callback: replaces the library's call to X509_verify_cert for the whole
// chain. We call X509_verify_cert ourselves first, which still runs the per-connection verify
// callback cpprestsdk installs (RFC 2818 host name check) and the CA checks; only if all of that
// succeeded is the leaf's SPKI compared with the pins. (A callback set with SSL_CTX_set_verify
// would not run: cpprestsdk calls SSL_set_verify on every connection, which replaces it.)
int VerifyChainThenPin(X509_STORE_CTX* store_ctx, void* arg) {
  auto* state_ptr = static_cast<PinStatePtr*>(arg);
  const int ok = X509_verify_cert(store_ctx);
  if (ok != 1 && state_ptr != nullptr && *state_ptr) {
    const int err = X509_STORE_CTX_get_error(store_ctx);
    (*state_ptr)->untrusted.store(err != 0 ? err : X509_V_ERR_UNSPECIFIED);
  }
  if (ok != 1 || state_ptr == nullptr || !*state_ptr || (*state_ptr)->pins.empty()) return ok;
  PinState& state = **state_ptr;
  X509* leaf = X509_STORE_CTX_get0_cert(store_ctx);
  unsigned char* der = nullptr;
  const int len = leaf != nullptr ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(leaf), &der) : -1;
  bool matched = false;
  if (len > 0) {
    const auto digest = Sha256(std::span<const std::uint8_t>(der, static_cast<std::size_t>(len)));
    for (const auto& pin : state.pins) {
      // Evaluate every pin (no early exit) so timing does not depend on which pin matched.
      if (ConstantTimeEquals(digest, pin)) matched = true;
    }
  }
  OPENSSL_free(der);
  if (!matched) {
    state.mismatch.store(true);
    X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  return 1;
}

}  // namespace

void InstallPinning(SSL_CTX* ctx, const PinStatePtr& state) {
  const int index = PinStateIndex();
  auto* owned = new PinStatePtr(state);
  if (index < 0 || SSL_CTX_set_ex_data(ctx, index, owned) != 1) {
    delete owned;
    // Fail closed: an empty store makes every handshake fail verification.
    SSL_CTX_set_cert_store(ctx, X509_STORE_new());
    state->mismatch.store(true);
    return;
  }
  SSL_CTX_set_cert_verify_callback(ctx, &VerifyChainThenPin, owned);
}

Result<std::string> SpkiSha256(X509* cert) {
  if (cert == nullptr) {
    return Error(ErrorCode::kInvalidArgument, "no certificate", "bad_certificate");
  }
  unsigned char* der = nullptr;
  const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  if (len <= 0) return OpenSslError("i2d_X509_PUBKEY");
  const auto digest = Sha256(std::span<const std::uint8_t>(der, static_cast<std::size_t>(len)));
  OPENSSL_free(der);
  return Base64Encode(digest);
}

Result<std::string> SpkiSha256FromPem(std::string_view cert_pem) {
  BioPtr bio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  if (!bio) return OpenSslError("BIO_new_mem_buf");
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    (void)OpenSslError("PEM_read_bio_X509");  // drains the queue
    return Error(ErrorCode::kInvalidArgument, "no PEM certificate", "bad_certificate");
  }
  return SpkiSha256(cert.get());
}

Result<std::array<std::uint8_t, 32>> ParseSpkiPin(std::string_view pin) {
  auto raw = Base64Decode(pin);
  if (!raw || raw->size() != 32) {
    return Error(ErrorCode::kInvalidArgument,
                 "--pin-sha256 must be the base64 SHA-256 of a SubjectPublicKeyInfo (44 chars)",
                 "bad_pin");
  }
  std::array<std::uint8_t, 32> out{};
  std::copy(raw->begin(), raw->end(), out.begin());
  return out;
}

}  // namespace skr::client
