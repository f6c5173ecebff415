// SPDX-License-Identifier: Apache-2.0
#include "bench/bench_client.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>
#include <sstream>
#include <vector>

namespace skr::bench {
namespace {
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

// Runs one asynchronous operation to completion on `ioc` and returns its error code. The
// tcp_stream's expiry (set by the caller) cancels it when the deadline passes.
template <class Start>
beast::error_code Await(net::io_context& ioc, Start&& start) {
  beast::error_code result = net::error::would_block;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

std::string Step(const char* what, const beast::error_code& ec) {
  return std::string(what) + ": " + ec.message();
}
}  // namespace

Conn::Conn(ssl::context* ctx, Target target, std::string source, std::chrono::milliseconds timeout)
    : ctx_(ctx), target_(std::move(target)), timeout_(timeout) {
  if (!source.empty()) source_ = net::ip::make_address(source);
}

void Conn::Close() {
  beast::error_code ignored;
  if (tls_) beast::get_lowest_layer(*tls_).socket().close(ignored);
  if (plain_) plain_->socket().close(ignored);
  tls_.reset();
  plain_.reset();
  buf_.clear();
}

bool Conn::Open(Response& out) {
  const tcp::endpoint ep(net::ip::make_address(target_.host), target_.port);
  beast::tcp_stream* lowest = nullptr;
  if (target_.tls) {
    tls_.emplace(ioc_, *ctx_);
    lowest = &beast::get_lowest_layer(*tls_);
  } else {
    plain_.emplace(ioc_);
    lowest = &*plain_;
  }
  beast::error_code ec;
  auto& sock = lowest->socket();
  sock.open(ep.protocol(), ec);
  if (!ec && source_) {
    // Port chosen at connect time by the 4-tuple, so a source address is not limited to ~28k
    // connections in TIME_WAIT (Linux >= 4.2).
    const int one = 1;
    ::setsockopt(sock.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    sock.bind(tcp::endpoint(*source_, 0), ec);
  }
  if (ec) {
    out.transport_error = Step("bind", ec);
    Close();
    return false;
  }
  lowest->expires_after(timeout_);
  ec = Await(ioc_, [&](auto h) { lowest->async_connect(ep, std::move(h)); });
  if (ec) {
    out.transport_error = Step("connect", ec);
    Close();
    return false;
  }
  sock.set_option(tcp::no_delay(true), ec);
  if (target_.tls) {
    lowest->expires_after(timeout_);
    ec =
        Await(ioc_, [&](auto h) { tls_->async_handshake(ssl::stream_base::client, std::move(h)); });
    if (ec) {
      out.transport_error = Step("handshake", ec);
      Close();
      return false;
    }
  }
  ++handshakes_;
  return true;
}

Response Conn::Send(const std::string& method, const std::string& path, const std::string& body,
                    bool keep, const std::string& content_type) {
  Response out;
  if (!tls_ && !plain_ && !Open(out)) return out;
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), path, 11};
  req.set(bhttp::field::host, target_.host);
  if (method != "GET") {
    req.set(bhttp::field::content_type, content_type);
    req.body() = body;
  }
  req.keep_alive(keep);
  req.prepare_payload();
  bhttp::response<bhttp::string_body> res;
  beast::tcp_stream& lowest = tls_ ? beast::get_lowest_layer(*tls_) : *plain_;
  lowest.expires_after(timeout_);
  beast::error_code ec =
      tls_ ? Await(ioc_, [&](auto h) { bhttp::async_write(*tls_, req, std::move(h)); })
           : Await(ioc_, [&](auto h) { bhttp::async_write(*plain_, req, std::move(h)); });
  if (ec) {
    out.transport_error = Step("write", ec);
    Close();
    return out;
  }
  lowest.expires_after(timeout_);
  ec = tls_ ? Await(ioc_, [&](auto h) { bhttp::async_read(*tls_, buf_, res, std::move(h)); })
            : Await(ioc_, [&](auto h) { bhttp::async_read(*plain_, buf_, res, std::move(h)); });
  if (ec) {
    out.transport_error = Step("read", ec);
    Close();
    return out;
  }
  out.status = res.result_int();
  out.body = std::move(res.body());
  if (auto it = res.find(bhttp::field::retry_after); it != res.end()) {
    out.retry_after = std::string(it->value());
  }
  if (!keep || !res.keep_alive()) {
    if (tls_) {
      // close_notify without waiting for the server's: the request is answered.
      lowest.expires_after(std::chrono::milliseconds(200));
      Await(ioc_, [&](auto h) { tls_->async_shutdown(std::move(h)); });
    }
    Close();
  }
  return out;
}

ssl::context MakeClientContext(const std::string& cacert) {
  ssl::context ctx(ssl::context::tls_client);
  ctx.load_verify_file(cacert);
  ctx.set_verify_mode(ssl::verify_peer);
  return ctx;
}

std::vector<std::string> ExpandSourceRange(const std::string& spec) {
  std::vector<std::string> out;
  if (spec.empty()) return out;
  const auto dash = spec.find('-');
  if (dash == std::string::npos) return {spec};
  const auto first = net::ip::make_address_v4(spec.substr(0, dash)).to_uint();
  const auto last = net::ip::make_address_v4(spec.substr(dash + 1)).to_uint();
  for (auto a = first; a <= last; ++a) out.push_back(net::ip::address_v4(a).to_string());
  return out;
}

long PeakRssKb(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

long long CpuTicks(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the ")" closing comm: state is field 3; utime and stime are fields 14 and 15.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  return utime + stime;
}

long TicksPerSecond() { return sysconf(_SC_CLK_TCK); }

}  // namespace skr::bench
