// SPDX-License-Identifier: Apache-2.0
// skr-release-floor: the cost of the cryptography a release cannot avoid, measured with the
// OpenSSL skrd links, on one thread, as thread CPU time (CLOCK_THREAD_CPUTIME_ID) per operation:
//   tls13_server_handshake  one full TLS 1.3 handshake, SERVER side only: an in-process client
//                           and server over a BIO pair, only the server's SSL_do_handshake calls
//                           timed; the server context is set up as skrd's (same certificate
//                           chain and key files, TLS >= 1.2, default groups, session tickets as
//                           OpenSSL's default); the client offers OpenSSL's default groups, as
//                           skr-loadgen's Asio client does; no resumption;
//   ecdsa_p384_verify       EVP_DigestVerify SHA-384 of an SNP report's signed 0x2A0 bytes;
//   rsa2048_verify          RSASSA-PKCS1-v1_5 SHA-256 verify (an Azure vTPM quote by its AK);
//   rsa_oaep3072_encrypt    RSA-OAEP-256 encryption of a 32-byte CEK (JWE to an RSA-3072 key);
//   ecdh_es_p256 / _p384    ephemeral key generation + ECDH derive (JWE ECDH-ES to an EC key);
//   aes_gcm_decrypt_32      AES-256-GCM decryption of 32 bytes (the key material at rest).
// Prints one JSON line {"<name>_us": ...}. bench/run-release-cost combines them into floors.
//   skr-release-floor --cert tls/server.crt --key tls/server.key [--seconds 1]
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>
#include <vector>

#include "common/json.h"
#include "common/ossl.h"

namespace {

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Runs `op` (which returns the CPU seconds it wants counted) until `seconds` of CPU were counted
// (at least 20 runs, after 5 warm-up runs); returns microseconds per run.
double Measure(double seconds, const std::function<double()>& op) {
  for (int i = 0; i < 5; ++i) op();
  double total = 0;
  long n = 0;
  while (total < seconds || n < 20) {
    total += op();
    ++n;
  }
  return total * 1e6 / static_cast<double>(n);
}

double Timed(const std::function<void()>& f) {
  const double t0 = ThreadCpuSeconds();
  f();
  return ThreadCpuSeconds() - t0;
}

void Check(bool ok, const char* what) {
  if (!ok) {
    std::cerr << "skr-release-floor: " << what << " failed\n";
    ERR_print_errors_fp(stderr);
    std::exit(1);
  }
}

using SslCtxPtr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

// One handshake; returns the server side's CPU seconds.
double Handshake(SSL_CTX* server_ctx, SSL_CTX* client_ctx) {
  SSL* s = SSL_new(server_ctx);
  SSL* c = SSL_new(client_ctx);
  BIO* sb = nullptr;
  BIO* cb = nullptr;
  Check(BIO_new_bio_pair(&sb, 1 << 16, &cb, 1 << 16) == 1, "BIO_new_bio_pair");
  SSL_set_bio(s, sb, sb);
  SSL_set_bio(c, cb, cb);
  SSL_set_accept_state(s);
  SSL_set_connect_state(c);
  double server = 0;
  bool server_done = false, client_done = false;
  for (int round = 0; round < 16 && !(server_done && client_done); ++round) {
    if (!client_done) {
      const int r = SSL_do_handshake(c);
      client_done = r == 1;
      Check(r == 1 || SSL_get_error(c, r) == SSL_ERROR_WANT_READ, "client handshake");
    }
    if (!server_done) {
      const double t0 = ThreadCpuSeconds();
      const int r = SSL_do_handshake(s);
      server += ThreadCpuSeconds() - t0;
      server_done = r == 1;
      Check(r == 1 || SSL_get_error(s, r) == SSL_ERROR_WANT_READ, "server handshake");
    }
  }
  Check(server_done && client_done, "handshake completion");
  Check(SSL_version(s) == TLS1_3_VERSION, "TLS 1.3");
  SSL_free(s);
  SSL_free(c);
  return server;
}

}  // namespace

int main(int argc, char** argv) {
  std::string cert, key;
  double seconds = 1.0;
  CLI::App app{"skr release floor: unavoidable cryptography of one release"};
  app.add_option("--cert", cert, "server certificate chain (PEM), as skrd's tls_cert")->required();
  app.add_option("--key", key, "server private key (PEM), as skrd's tls_key")->required();
  app.add_option("--seconds", seconds, "CPU seconds per measurement");
  CLI11_PARSE(app, argc, argv);

  // The server context as skrd's HttpsServer sets it up.
  SslCtxPtr sctx(SSL_CTX_new(TLS_server_method()), &SSL_CTX_free);
  SSL_CTX_set_options(sctx.get(), SSL_OP_ALL | SSL_OP_SINGLE_DH_USE | SSL_OP_CLEANSE_PLAINTEXT);
  SSL_CTX_set_min_proto_version(sctx.get(), TLS1_2_VERSION);
  Check(SSL_CTX_set_cipher_list(sctx.get(), "ECDHE+AESGCM:ECDHE+CHACHA20") == 1, "cipher list");
  Check(SSL_CTX_use_certificate_chain_file(sctx.get(), cert.c_str()) == 1, "server certificate");
  Check(SSL_CTX_use_PrivateKey_file(sctx.get(), key.c_str(), SSL_FILETYPE_PEM) == 1, "server key");
  SslCtxPtr cctx(SSL_CTX_new(TLS_client_method()), &SSL_CTX_free);
  SSL_CTX_set_verify(cctx.get(), SSL_VERIFY_NONE, nullptr);  // client work is not measured

  skr::Json out;
  out["openssl"] = OpenSSL_version(OPENSSL_VERSION);
  out["tls13_server_handshake_us"] =
      Measure(seconds, [&] { return Handshake(sctx.get(), cctx.get()); });

  // ECDSA P-384 over SHA-384 of 0x2A0 bytes (SEV-SNP ABI, table 22: the signed report part).
  auto p384 = skr::GenerateEcKey("P-384").value();
  std::vector<unsigned char> report(0x2A0, 0x5A), sig(256);
  {
    skr::EvpMdCtxPtr md(EVP_MD_CTX_new());
    std::size_t len = sig.size();
    Check(EVP_DigestSignInit(md.get(), nullptr, EVP_sha384(), nullptr, p384.get()) == 1 &&
              EVP_DigestSign(md.get(), sig.data(), &len, report.data(), report.size()) == 1,
          "P-384 sign");
    sig.resize(len);
  }
  out["ecdsa_p384_verify_us"] = Measure(seconds, [&] {
    return Timed([&] {
      skr::EvpMdCtxPtr md(EVP_MD_CTX_new());
      Check(
          EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha384(), nullptr, p384.get()) == 1 &&
              EVP_DigestVerify(md.get(), sig.data(), sig.size(), report.data(), report.size()) == 1,
          "P-384 verify");
    });
  });

  // ECDSA P-256 / SHA-256: a vTPM quote by an ECC AK, and its AK certificate.
  auto p256 = skr::GenerateEcKey("P-256").value();
  std::vector<unsigned char> tquote(145, 0x44), psig(72);
  {
    skr::EvpMdCtxPtr md(EVP_MD_CTX_new());
    std::size_t len = psig.size();
    Check(EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, p256.get()) == 1 &&
              EVP_DigestSign(md.get(), psig.data(), &len, tquote.data(), tquote.size()) == 1,
          "P-256 sign");
    psig.resize(len);
  }
  out["ecdsa_p256_verify_us"] = Measure(seconds, [&] {
    return Timed([&] {
      skr::EvpMdCtxPtr md(EVP_MD_CTX_new());
      Check(EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, p256.get()) == 1 &&
                EVP_DigestVerify(md.get(), psig.data(), psig.size(), tquote.data(),
                                 tquote.size()) == 1,
            "P-256 verify");
    });
  });

  auto rsa2048 = skr::GenerateRsaKey(2048).value();
  std::vector<unsigned char> quote(145, 0x33), rsig(256);
  {
    skr::EvpMdCtxPtr md(EVP_MD_CTX_new());
    std::size_t len = rsig.size();
    Check(EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, rsa2048.get()) == 1 &&
              EVP_DigestSign(md.get(), rsig.data(), &len, quote.data(), quote.size()) == 1,
          "RSA-2048 sign");
    rsig.resize(len);
  }
  out["rsa2048_verify_us"] = Measure(seconds, [&] {
    return Timed([&] {
      skr::EvpMdCtxPtr md(EVP_MD_CTX_new());
      Check(
          EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, rsa2048.get()) == 1 &&
              EVP_DigestVerify(md.get(), rsig.data(), rsig.size(), quote.data(), quote.size()) == 1,
          "RSA-2048 verify");
    });
  });

  auto rsa3072 = skr::GenerateRsaKey(3072).value();
  const std::vector<unsigned char> cek(32, 0x11);
  out["rsa_oaep3072_encrypt_us"] = Measure(seconds, [&] {
    return Timed([&] {
      skr::EvpPkeyCtxPtr pc(EVP_PKEY_CTX_new_from_pkey(nullptr, rsa3072.get(), nullptr));
      std::vector<unsigned char> ct(384);
      std::size_t len = ct.size();
      Check(EVP_PKEY_encrypt_init(pc.get()) == 1 &&
                EVP_PKEY_CTX_set_rsa_padding(pc.get(), RSA_PKCS1_OAEP_PADDING) == 1 &&
                EVP_PKEY_CTX_set_rsa_oaep_md(pc.get(), EVP_sha256()) == 1 &&
                EVP_PKEY_CTX_set_rsa_mgf1_md(pc.get(), EVP_sha256()) == 1 &&
                EVP_PKEY_encrypt(pc.get(), ct.data(), &len, cek.data(), cek.size()) == 1,
            "RSA-OAEP encrypt");
    });
  });

  for (const char* curve : {"P-256", "P-384"}) {
    auto peer = skr::GenerateEcKey(curve).value();
    out[std::string("ecdh_es_") + (curve[2] == '2' ? "p256" : "p384") + "_us"] =
        Measure(seconds, [&] {
          return Timed([&] {
            auto eph = skr::GenerateEcKey(curve).value();
            skr::EvpPkeyCtxPtr dc(EVP_PKEY_CTX_new_from_pkey(nullptr, eph.get(), nullptr));
            unsigned char z[66];
            std::size_t len = sizeof(z);
            Check(EVP_PKEY_derive_init(dc.get()) == 1 &&
                      EVP_PKEY_derive_set_peer(dc.get(), peer.get()) == 1 &&
                      EVP_PKEY_derive(dc.get(), z, &len) == 1,
                  "ECDH derive");
          });
        });
  }

  const auto aes_key = skr::RandomBytes(32);
  const auto sealed = skr::AesGcmSeal(aes_key, std::vector<std::uint8_t>(32, 0x42), {}).value();
  out["aes_gcm_decrypt_32_us"] = Measure(seconds, [&] {
    return Timed([&] { Check(skr::AesGcmOpen(aes_key, sealed, {}).has_value(), "AES-GCM open"); });
  });
  std::cout << skr::DumpJson(out) << std::endl;
  return 0;
}
