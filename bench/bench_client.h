// SPDX-License-Identifier: Apache-2.0
// HTTP/1.1 client for the benchmark programs (skr-loadgen, skr-flood): over TLS or plain TCP,
// keep-alive or a new connection per request, bound to a chosen source address (bind before
// connect: Linux routes all of 127/8 to lo, so 127.0.0.2.. are distinct clients of one skrd),
// and a deadline on every step (connect, handshake, write, read) so that a clogged server
// shows up as a counted failure instead of a hung thread. Not for production use: benchmarks only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>

namespace skr::bench {

// One answer: status 0 means a transport failure (refused, reset, closed, timed out), with
// `transport_error` saying which step failed.
struct Response {
  unsigned status = 0;
  std::string body;
  std::string retry_after;  // the Retry-After header, empty when absent
  std::string transport_error;
};

struct Target {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  bool tls = true;
};

// One client connection slot. Not thread-safe: one per thread. Each Conn owns its io_context.
class Conn {
 public:
  // `ctx` may be null when target.tls is false. `source` empty: the kernel picks (127.0.0.1).
  Conn(boost::asio::ssl::context* ctx, Target target, std::string source = {},
       std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Sends one request (method "GET" or "POST"); opens a connection when none is open. With
  // `keep` false, or when the server does not keep the connection, it is closed afterwards.
  Response Send(const std::string& method, const std::string& path, const std::string& body,
                bool keep, const std::string& content_type = "application/json");

  void Close();
  // Deadline of each later step (connect, handshake, write, read).
  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }
  // TLS handshakes (or TCP connections, without TLS) completed by this Conn so far.
  std::uint64_t handshakes() const { return handshakes_; }

 private:
  bool Open(Response& out);

  boost::asio::io_context ioc_;
  boost::asio::ssl::context* ctx_;
  Target target_;
  std::optional<boost::asio::ip::address> source_;
  std::chrono::milliseconds timeout_;
  std::optional<boost::beast::ssl_stream<boost::beast::tcp_stream>> tls_;
  std::optional<boost::beast::tcp_stream> plain_;
  boost::beast::flat_buffer buf_;
  std::uint64_t handshakes_ = 0;
};

// A TLS 1.2+ client context trusting `cacert` (PEM file) and verifying the server.
boost::asio::ssl::context MakeClientContext(const std::string& cacert);

// 127.0.0.A .. 127.0.0.B from "127.0.0.A-127.0.0.B" or one address; empty for "".
std::vector<std::string> ExpandSourceRange(const std::string& spec);

// Process figures from /proc: VmHWM (KiB, -1 when unreadable) and utime+stime in clock ticks.
long PeakRssKb(int pid);
long long CpuTicks(int pid);
long TicksPerSecond();

}  // namespace skr::bench
