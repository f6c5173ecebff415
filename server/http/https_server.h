// SPDX-License-Identifier: Apache-2.0
// Boost.Beast HTTPS listener (TLS 1.2/1.3 only, no plain HTTP): sessions with handshake, read
// and write deadlines, header and body limits, HTTP/1.1 framing checks (framing.h), keep-alive
// with TCP_NODELAY, connection caps (total and per source address). The I/O threads only read,
// parse and write: Router::Admit runs inline (rate limits), Router::Handle on a bounded worker
// pool (worker_pool.h) whose overflow is answered 503 + Retry-After. Shaped after Beast's
// advanced_server_flex example (not copied).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"
#include "server/http/router.h"

namespace skr::server::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8443;  // 0: pick a free port (tests)
  std::string cert_file;      // PEM chain
  std::string key_file;       // PEM private key
  std::size_t body_limit = 256 * 1024;
  std::size_t header_limit = 8 * 1024;
  int read_timeout_seconds = 10;   // from the end of the handshake (or the last response) to
                                   // the whole request read
  int write_timeout_seconds = 10;
  int handshake_timeout_seconds = 5;
  int threads = 4;                 // I/O threads: accept, TLS, read, parse, write
  int max_connections = 1024;      // open connections, all sources
  int max_connections_per_address = 64;
  int workers = 4;                 // worker threads: Router::Handle (verification, storage)
  std::size_t queue_limit = 512;   // requests waiting for a worker; beyond: 503
  int queue_timeout_ms = 3000;     // a request that waited longer for a worker: 503
};

class HttpsServer {
 public:
  // Loads the TLS certificate and key, binds and listens. Errors: kInvalidArgument (TLS
  // files), kUnavailable (bind).
  static Result<std::unique_ptr<HttpsServer>> Create(const ServerOptions& options, Router& router);
  ~HttpsServer();
  std::uint16_t port() const;
  // Runs the I/O threads until Stop() or SIGINT/SIGTERM (when handle_signals).
  void Run(bool handle_signals);
  // Thread-safe.
  void Stop();
  // Invoked periodically (every `seconds`) on an I/O thread, e.g. to purge expired nonces.
  void SetPeriodicTask(int seconds, std::function<void()> task);
  // Invoked on an I/O thread each time the process receives SIGHUP (e.g. to reload CRLs). The
  // signal is caught from this call on (its default action would end the process); call before
  // Run.
  void SetReloadHandler(std::function<void()> handler);
  // Prometheus text: connections, refusals by reason, worker queue. Thread-safe.
  std::string MetricsText() const;

 private:
  HttpsServer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One JSON log line on stderr: {"ts", "level", "msg", ...fields}. Never pass secrets.
void LogLine(const char* level, const std::string& msg, const Json& fields = Json::object());

}  // namespace skr::server::http
