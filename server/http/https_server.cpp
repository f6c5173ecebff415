// SPDX-License-Identifier: Apache-2.0
#include "server/http/https_server.h"

#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/encoding.h"
#include "common/json.h"
#include "common/ossl.h"
#include "server/http/errors.h"
#include "server/http/framing.h"
#include "server/http/rate_limit.h"
#include "server/http/worker_pool.h"

namespace skr::server::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

std::mutex g_log_mu;

}  // namespace

void LogLine(const char* level, const std::string& msg, const Json& fields) {
  Json line = {{"ts", FormatRfc3339(SystemClock().NowUnix())}, {"level", level}, {"msg", msg}};
  for (auto it = fields.begin(); it != fields.end(); ++it) line[it.key()] = *it;
  const std::string text = DumpJson(line) + "\n";
  std::lock_guard<std::mutex> lock(g_log_mu);
  std::fwrite(text.data(), 1, text.size(), stderr);
}

namespace {

// Refusals and sheds, by reason, for /metrics (every refusal is counted: issue 10).
enum Refusal : std::size_t {
  kConnectionsTotal, kConnectionsPerAddress, kHandshakeTimeout, kBadFraming, kQueueFull,
  kQueueTimeout, kRefusalCount
};
constexpr const char* kRefusalNames[kRefusalCount] = {
    "connections_total", "connections_per_address", "handshake_timeout", "bad_framing",
    "queue_full", "queue_timeout"};

struct Shared {
  ServerOptions options;
  Router* router = nullptr;
  std::atomic<int> connections{0};
  std::unique_ptr<ConnectionCounter> per_address;
  std::unique_ptr<WorkerPool> pool;
  std::array<std::atomic<std::uint64_t>, kRefusalCount> refused{};

  void Count(Refusal r) { refused[r].fetch_add(1, std::memory_order_relaxed); }
};

Response Overloaded(const char* detail) {
  return ProblemResponse(Error(ErrorCode::kUnavailable, detail, "overloaded"),
                         HexEncode(RandomBytes(8)));
}

// One TLS connection: handshake, then a loop of read request -> route -> write response.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, ssl::context& ctx, Shared& shared, std::string remote,
          std::string source)
      : stream_(std::move(socket), ctx),
        shared_(shared),
        remote_(std::move(remote)),
        source_(std::move(source)) {
    shared_.connections.fetch_add(1);
  }
  ~Session() {
    shared_.per_address->Remove(source_);
    shared_.connections.fetch_sub(1);
  }

  void Run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::OnRun, shared_from_this()));
  }

 private:
  void OnRun() {
    // The handshake has its own, shorter deadline: a client that opens a connection and sends
    // nothing (or a ClientHello a byte at a time) holds its slot at most this long.
    beast::get_lowest_layer(stream_).expires_after(
        std::chrono::seconds(shared_.options.handshake_timeout_seconds));
    stream_.async_handshake(ssl::stream_base::server,
                            beast::bind_front_handler(&Session::OnHandshake, shared_from_this()));
  }

  void OnHandshake(beast::error_code ec) {
    if (ec == beast::error::timeout) shared_.Count(kHandshakeTimeout);
    if (ec) return;  // failed handshakes (scanners, wrong CA) just close
    DoRead();
  }

  void DoRead() {
    parser_.emplace();
    parser_->body_limit(shared_.options.body_limit);
    parser_->header_limit(static_cast<std::uint32_t>(shared_.options.header_limit));
    // One deadline for the whole request, header and body.
    beast::get_lowest_layer(stream_).expires_after(
        std::chrono::seconds(shared_.options.read_timeout_seconds));
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, std::size_t) {
    if (ec == bhttp::error::end_of_stream) return DoClose();
    if (ec == bhttp::error::header_limit) {
      return WriteProblem(431, "header_too_large", "request headers too large");
    }
    // A declared Content-Length over the limit is known from the header alone: 413.
    if (ec == bhttp::error::body_limit) return OnRead(ec, 0);
    if (ec == bhttp::error::bad_content_length || ec == bhttp::error::bad_transfer_encoding ||
        ec == bhttp::error::bad_chunk) {
      shared_.Count(kBadFraming);
      return WriteProblem(400, "bad_framing", "invalid Content-Length or Transfer-Encoding");
    }
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
      return WriteProblem(400, "malformed_http", "malformed HTTP request");
    }
    if (ec) return DoClose();  // timeout, reset: close without a response
    // Framing is decided before a byte of the body is read (RFC 9112; framing.h).
    if (auto bad = CheckFraming(parser_->get())) {
      shared_.Count(kBadFraming);
      return WriteProblem(400, "bad_framing", bad->c_str());
    }
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    Request req;
    bool keep_alive = false;
    if (ec == bhttp::error::body_limit) {
      // Headers are complete; the body is over the limit. Answer 413 and close, so the rest
      // of the body is never read.
      const auto& h = parser_->get();
      req.method = std::string(h.method_string());
      req.target = OriginForm(std::string_view(h.target().data(), h.target().size()));
      req.body_too_large = true;
    } else if (ec) {
      return DoClose();  // timeout, malformed chunking, reset: close without a response
    } else {
      auto msg = parser_->release();
      req.method = std::string(msg.method_string());
      req.target = OriginForm(std::string_view(msg.target().data(), msg.target().size()));
      req.authorization = std::string(msg[bhttp::field::authorization]);
      req.content_type = std::string(msg[bhttp::field::content_type]);
      req.body = std::move(msg.body());
      keep_alive = msg.keep_alive();
    }
    WipeConsumedInput();
    req.remote = remote_;
    req.source = source_;
    // Cheap refusals (per-address rate limits) on the I/O thread; the rest on a worker.
    if (auto refused = shared_.router->Admit(req)) return Write(std::move(*refused), keep_alive);
    const auto start = std::chrono::steady_clock::now();
    auto self = shared_from_this();
    auto job = [self, req = std::move(req), keep_alive,
                start](WorkerPool::Clock::duration waited) mutable {
      Response resp;
      if (waited > std::chrono::milliseconds(self->shared_.options.queue_timeout_ms)) {
        // Waited too long for a worker: the client has likely given up; shed the work.
        self->shared_.Count(kQueueTimeout);
        resp = Overloaded("skrd is overloaded; retry later");
      } else {
        resp = self->shared_.router->Handle(req);
      }
      self->LogRequest(req, resp, start);
      // The request (body, Authorization) is freed with the job; freed C++ heap blocks are
      // wiped by wipe_on_free.cpp.
      net::post(self->stream_.get_executor(),
                [self, resp = std::move(resp), keep_alive]() mutable {
                  self->Write(std::move(resp), keep_alive);
                });
    };
    if (!shared_.pool->TrySubmit(std::move(job))) {
      shared_.Count(kQueueFull);
      return Write(Overloaded("skrd is overloaded; retry later"), false);
    }
  }

  void LogRequest(const Request& req, const Response& resp,
                  std::chrono::steady_clock::time_point start) const {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    std::string path = req.target.substr(0, req.target.find('?'));
    if (path.size() > 200) path = path.substr(0, 200);
    std::string rid;
    for (const auto& [k, v] : resp.headers) {
      if (k == "X-Request-Id") rid = v;
    }
    LogLine("info", "request",
            {{"method", req.method.size() <= 10 ? req.method : "?"},
             {"path", path},
             {"status", resp.status},
             {"request_id", rid},
             {"us", us}});
  }

  // The parser consumed the message from buffer_, but a flat_buffer keeps consumed bytes in its
  // storage for the connection's lifetime. prepare() of all free space moves any unread
  // (pipelined) bytes to the front and returns the rest of the storage, consumed bytes included:
  // wipe it without committing.
  void WipeConsumedInput() {
    const std::size_t free_space = buffer_.capacity() - buffer_.size();
    if (free_space == 0) return;
    auto region = buffer_.prepare(free_space);
    OPENSSL_cleanse(region.data(), region.size());
  }

  // A problem answered by the transport itself; the connection closes after it.
  void WriteProblem(unsigned status, const char* reason, const char* detail) {
    Response r;
    r.status = status;
    r.content_type = "application/problem+json";
    r.body = DumpJson({{"type", std::string("urn:skr:problem:") + reason},
                       {"title", StatusTitle(status)},
                       {"status", status},
                       {"detail", detail}});
    Write(std::move(r), false);
  }

  void Write(Response resp, bool keep_alive) {
    res_.emplace();
    res_->result(resp.status);
    res_->version(11);
    res_->set(bhttp::field::server, "skrd");
    if (!resp.content_type.empty()) res_->set(bhttp::field::content_type, resp.content_type);
    for (auto& [k, v] : resp.headers) res_->set(k, v);
    res_->body() = std::move(resp.body);
    res_->keep_alive(keep_alive);
    res_->prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(
        std::chrono::seconds(shared_.options.write_timeout_seconds));
    bhttp::async_write(stream_, *res_,
                       beast::bind_front_handler(&Session::OnWrite, shared_from_this(),
                                                 keep_alive));
  }

  void OnWrite(bool keep_alive, beast::error_code ec, std::size_t) {
    if (ec) return;
    res_.reset();  // freed, so wiped (a response may carry a new bearer token or a JWE)
    if (!keep_alive) return DoClose();
    DoRead();
  }

  void DoClose() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
    stream_.async_shutdown(beast::bind_front_handler(&Session::OnShutdown, shared_from_this()));
  }
  void OnShutdown(beast::error_code) {}

  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::string_body>> res_;
  Shared& shared_;
  const std::string remote_;
  const std::string source_;
};

}  // namespace

struct HttpsServer::Impl {
  // Declaration order is destruction order reversed: the I/O objects go first, then the
  // io_context (which destroys sessions still owned by pending handlers), and only then the
  // TLS context and the shared state those sessions refer to.
  ssl::context ctx{ssl::context::tls_server};
  Shared shared;
  std::function<void()> periodic;
  int period_seconds = 0;
  net::io_context ioc;
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::steady_timer> timer;
  std::optional<net::steady_timer> accept_backoff;
  std::optional<net::signal_set> signals;
  std::optional<net::signal_set> hup;  // SetReloadHandler
  std::function<void()> on_hup;

  void DoAccept() {
    acceptor->async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
      if (ec == net::error::operation_aborted) return;
      if (ec) {
        // EMFILE/ENFILE and friends persist: wait before accepting again instead of spinning.
        if (!accept_backoff) accept_backoff.emplace(ioc);
        accept_backoff->expires_after(std::chrono::milliseconds(100));
        accept_backoff->async_wait([this](beast::error_code wait_ec) {
          if (!wait_ec) DoAccept();
        });
        return;
      }
      Admit(std::move(s));
      DoAccept();
    });
  }

  // Over a cap, a connection is closed before its handshake costs anything.
  void Admit(tcp::socket s) {
    beast::error_code ec;
    const auto peer = s.remote_endpoint(ec);
    if (ec) return;  // already gone
    if (shared.connections.load() >= shared.options.max_connections) {
      shared.Count(kConnectionsTotal);
      return;  // `s` closes here
    }
    std::string remote = peer.address().to_string();
    std::string source = SourceKey(remote);
    if (!shared.per_address->TryAdd(source)) {
      shared.Count(kConnectionsPerAddress);
      return;
    }
    s.set_option(tcp::no_delay(true), ec);  // PERFORMANCE.md: Nagle + delayed ACK
    std::make_shared<Session>(std::move(s), ctx, shared, std::move(remote), std::move(source))
        ->Run();
  }

  void ArmHup() {
    hup->async_wait([this](beast::error_code ec, int) {
      if (ec) return;  // cancelled by Stop()
      if (on_hup) on_hup();
      ArmHup();
    });
  }

  void ArmTimer() {
    if (!timer || period_seconds <= 0) return;
    timer->expires_after(std::chrono::seconds(period_seconds));
    timer->async_wait([this](beast::error_code ec) {
      if (ec) return;
      if (periodic) periodic();
      ArmTimer();
    });
  }
};

HttpsServer::HttpsServer() : impl_(std::make_unique<Impl>()) {}
HttpsServer::~HttpsServer() = default;

Result<std::unique_ptr<HttpsServer>> HttpsServer::Create(const ServerOptions& options,
                                                         Router& router) {
  std::unique_ptr<HttpsServer> srv(new HttpsServer());
  Impl& im = *srv->impl_;
  im.shared.options = options;
  im.shared.router = &router;
  im.shared.per_address = std::make_unique<ConnectionCounter>(options.max_connections_per_address);

  beast::error_code ec;
  im.ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                         ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                     ec);
  SSL_CTX* raw = im.ctx.native_handle();
  // Request bodies carry imported key material and bearer tokens: OpenSSL decrypts records in
  // place in its read buffer, so have it cleanse the plaintext once it is handed to us.
  SSL_CTX_set_options(raw, SSL_OP_CLEANSE_PLAINTEXT);
  // Session tickets (stateless resumption) so a retrying agent resumes instead of paying a full
  // handshake again: OpenSSL's default, made explicit; the ticket key lives in this SSL_CTX.
  SSL_CTX_clear_options(raw, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(raw, 2);
  if (SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION) != 1) {
    return Error(ErrorCode::kInternal, "cannot set minimum TLS version");
  }
  // TLS 1.2: forward-secret AEAD suites only. TLS 1.3 suites are OpenSSL's defaults.
  if (SSL_CTX_set_cipher_list(raw, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1) {
    return Error(ErrorCode::kInternal, "cannot set TLS 1.2 cipher list");
  }
  im.ctx.use_certificate_chain_file(options.cert_file, ec);
  if (ec) {
    return Error(ErrorCode::kInvalidArgument,
                 "server.tls_cert: cannot load " + options.cert_file + ": " + ec.message());
  }
  im.ctx.use_private_key_file(options.key_file, ssl::context::pem, ec);
  if (ec) {
    return Error(ErrorCode::kInvalidArgument,
                 "server.tls_key: cannot load " + options.key_file + ": " + ec.message());
  }

  auto addr = net::ip::make_address(options.host == "localhost" ? "127.0.0.1" : options.host, ec);
  if (ec) return Error(ErrorCode::kInvalidArgument, "server.listen: bad address " + options.host);
  tcp::endpoint ep(addr, options.port);
  im.acceptor.emplace(im.ioc);
  im.acceptor->open(ep.protocol(), ec);
  if (!ec) im.acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) im.acceptor->bind(ep, ec);
  if (!ec) im.acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error(ErrorCode::kUnavailable,
                 "cannot listen on " + options.host + ":" + std::to_string(options.port) + ": " +
                     ec.message());
  }
  return srv;
}

std::uint16_t HttpsServer::port() const { return impl_->acceptor->local_endpoint().port(); }

void HttpsServer::SetPeriodicTask(int seconds, std::function<void()> task) {
  impl_->period_seconds = seconds;
  impl_->periodic = std::move(task);
  impl_->timer.emplace(impl_->ioc);
}

void HttpsServer::SetReloadHandler(std::function<void()> handler) {
  impl_->on_hup = std::move(handler);
  // Registering with the signal_set installs the handler now, so a SIGHUP that arrives before
  // Run() waits in the set instead of killing the process.
  if (!impl_->hup) {
    impl_->hup.emplace(impl_->ioc, SIGHUP);
    impl_->ArmHup();
  }
}

void HttpsServer::Run(bool handle_signals) {
  Impl& im = *impl_;
  if (handle_signals) {
    im.signals.emplace(im.ioc, SIGINT, SIGTERM);
    im.signals->async_wait([this](beast::error_code, int) { Stop(); });
  }
  im.shared.pool = std::make_unique<WorkerPool>(im.shared.options.workers,
                                                im.shared.options.queue_limit);
  im.DoAccept();
  im.ArmTimer();
  const int n = std::max(1, im.shared.options.threads);
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(n - 1));
  for (int i = 1; i < n; ++i) threads.emplace_back([&im] { im.ioc.run(); });
  im.ioc.run();
  for (auto& t : threads) t.join();
  // Running jobs finish (their answers are posted to the stopped io_context and dropped with
  // it); queued ones are dropped unrun, which closes their connections.
  im.shared.pool->Shutdown();
}

std::string HttpsServer::MetricsText() const {
  const Shared& sh = impl_->shared;
  std::string out;
  out += "# HELP skr_connections_open Open client connections.\n# TYPE skr_connections_open gauge\n";
  out += "skr_connections_open " + std::to_string(sh.connections.load()) + "\n";
  out += "# HELP skr_transport_refused_total Connections and requests refused or shed by the "
         "transport.\n# TYPE skr_transport_refused_total counter\n";
  for (std::size_t i = 0; i < kRefusalCount; ++i) {
    out += std::string("skr_transport_refused_total{reason=\"") + kRefusalNames[i] + "\"} " +
           std::to_string(sh.refused[i].load()) + "\n";
  }
  if (sh.pool) {
    out += "# HELP skr_worker_queue_length Requests waiting for a worker.\n"
           "# TYPE skr_worker_queue_length gauge\n";
    out += "skr_worker_queue_length " + std::to_string(sh.pool->queued()) + "\n";
    out += "# HELP skr_workers_busy Workers handling a request.\n# TYPE skr_workers_busy gauge\n";
    out += "skr_workers_busy " + std::to_string(sh.pool->busy()) + "\n";
  }
  return out;
}

void HttpsServer::Stop() {
  net::post(impl_->ioc, [this] {
    beast::error_code ec;
    if (impl_->acceptor) impl_->acceptor->close(ec);
    if (impl_->timer) impl_->timer->cancel();
    if (impl_->accept_backoff) impl_->accept_backoff->cancel();
    if (impl_->signals) impl_->signals->cancel(ec);
    if (impl_->hup) impl_->hup->cancel(ec);
    impl_->ioc.stop();
  });
}

}  // namespace skr::server::http
