// SPDX-License-Identifier: Apache-2.0
#include "tests/client/loopback_https_server.h"

#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <catch2/catch.hpp>

#include "common/ossl.h"

namespace skr::client::testing {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

void AddExtension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  REQUIRE(ext != nullptr);
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  REQUIRE(ok == 1);
}

// Self-signed, as `openssl req -x509 -addext subjectAltName=IP:127.0.0.1` makes it.
X509Ptr MakeServerCertificate(EVP_PKEY* key) {
  X509Ptr cert(X509_new());
  REQUIRE(cert);
  REQUIRE(X509_set_version(cert.get(), 2) == 1);
  REQUIRE(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 0x5a) == 1);
  REQUIRE(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60) != nullptr);
  REQUIRE(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600) != nullptr);
  X509_NAME* name = X509_get_subject_name(cert.get());
  REQUIRE(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>("127.0.0.1"),  // NOLINT
                                     -1, -1, 0) == 1);
  REQUIRE(X509_set_issuer_name(cert.get(), name) == 1);
  REQUIRE(X509_set_pubkey(cert.get(), key) == 1);
  AddExtension(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign");
  AddExtension(cert.get(), NID_subject_alt_name, "IP:127.0.0.1");
  REQUIRE(X509_sign(cert.get(), key, EVP_sha256()) > 0);
  return cert;
}

std::string CertToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  REQUIRE(bio);
  REQUIRE(PEM_write_bio_X509(bio.get(), cert) == 1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace

struct LoopbackHttpsServer::Impl {
  net::io_context ioc;
  ssl::context tls{ssl::context::tls_server};
  tcp::acceptor acceptor{ioc};
  Handler handler;
  std::atomic<bool> stopping{false};
  std::uint16_t port = 0;
  std::thread thread;

  void Run() {
    for (;;) {
      tcp::socket socket(ioc);
      beast::error_code ec;
      acceptor.accept(socket, ec);
      if (stopping.load()) return;
      if (ec) return;  // the acceptor is broken; the test's client calls will fail visibly
      Serve(std::move(socket));
    }
  }

  // One request per connection ("Connection: close"), so a sequential loop cannot be stuck on a
  // kept-alive connection of one client while another connects. Errors drop the connection: the
  // client under test sees a transport failure, which is what such a test checks.
  void Serve(tcp::socket socket) {
    beast::ssl_stream<tcp::socket> stream(std::move(socket), tls);
    beast::error_code ec;
    stream.handshake(ssl::stream_base::server, ec);
    if (ec) return;
    beast::flat_buffer buffer;
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(1u << 20);
    bhttp::read(stream, buffer, parser, ec);
    if (ec) return;
    const auto& req = parser.get();
    HttpExchange exchange{std::string(req.method_string()), std::string(req.target()), req.body(),
                          std::chrono::steady_clock::now()};
    const HttpReply reply = handler(exchange);
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(reply.status),
                                            req.version()};
    for (const auto& [field, value] : reply.headers) res.set(field, value);
    res.body() = reply.body;
    res.keep_alive(false);
    res.prepare_payload();
    bhttp::write(stream, res, ec);
    // No TLS close_notify exchange: the client reads the body by Content-Length and closes.
    stream.next_layer().shutdown(tcp::socket::shutdown_both, ec);
  }
};

LoopbackHttpsServer::LoopbackHttpsServer(Handler handler) : impl_(std::make_unique<Impl>()) {
  EVP_PKEY* key = test::CachedKey("P-256");
  X509Ptr cert = MakeServerCertificate(key);
  ca_file_ = dir_.file("server.crt");
  test::WriteFile(ca_file_, CertToPem(cert.get()), 0644);

  impl_->handler = std::move(handler);
  SSL_CTX* ctx = impl_->tls.native_handle();
  REQUIRE(SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1);
  REQUIRE(SSL_CTX_use_certificate(ctx, cert.get()) == 1);
  REQUIRE(SSL_CTX_use_PrivateKey(ctx, key) == 1);

  beast::error_code ec;
  const tcp::endpoint endpoint(net::ip::address_v4::loopback(), 0);
  impl_->acceptor.open(endpoint.protocol(), ec);
  REQUIRE_FALSE(ec);
  impl_->acceptor.bind(endpoint, ec);
  REQUIRE_FALSE(ec);
  impl_->acceptor.listen(16, ec);
  REQUIRE_FALSE(ec);
  impl_->port = impl_->acceptor.local_endpoint().port();
  url_ = "https://127.0.0.1:" + std::to_string(impl_->port);
  impl_->thread = std::thread([impl = impl_.get()] { impl->Run(); });
}

LoopbackHttpsServer::~LoopbackHttpsServer() {
  impl_->stopping.store(true);
  // Wake the blocking accept with a connection of our own; Run() sees `stopping` and returns.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(impl_->port);
    // A failed connect leaves accept blocked and join would hang; it cannot fail while the
    // listening socket is open, which it is until the thread returns.
    (void)::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));  // NOLINT
    ::close(fd);
  }
  impl_->thread.join();
}

std::string ImfFixdate(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  REQUIRE(::gmtime_r(&secs, &tm) != nullptr);
  char buf[64];
  // strftime's %a and %b are the English names in the "C" locale the tests run in.
  const std::size_t n = std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  REQUIRE(n > 0);
  return std::string(buf, n);
}

}  // namespace skr::client::testing
