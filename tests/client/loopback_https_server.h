// SPDX-License-Identifier: Apache-2.0
// A scripted HTTPS/1.1 server on 127.0.0.1 for client tests (Boost.Beast over OpenSSL, one thread,
// one connection at a time, every response "Connection: close"). Its certificate is made here:
// self-signed P-256 with subjectAltName IP:127.0.0.1, written to ca_file() for
// ApiClientOptions::cacert_file, so the client's chain and host name checks run for real.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/test_support.h"

namespace skr::client::testing {

struct HttpExchange {
  std::string method;
  std::string target;
  std::string body;
  std::chrono::steady_clock::time_point received;  // when the request was read in full
};

struct HttpReply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Length is added
  std::string body;
};

class LoopbackHttpsServer {
 public:
  // Called on the server thread, one request at a time.
  using Handler = std::function<HttpReply(const HttpExchange&)>;
  // Starts listening on an ephemeral port (REQUIREs success).
  explicit LoopbackHttpsServer(Handler handler);
  ~LoopbackHttpsServer();  // stops the thread
  LoopbackHttpsServer(const LoopbackHttpsServer&) = delete;
  LoopbackHttpsServer& operator=(const LoopbackHttpsServer&) = delete;

  const std::string& url() const { return url_; }          // https://127.0.0.1:<port>
  const std::string& ca_file() const { return ca_file_; }  // PEM of the server certificate

 private:
  struct Impl;
  test::TempDir dir_;
  std::string url_;
  std::string ca_file_;
  std::unique_ptr<Impl> impl_;
};

// An IMF-fixdate (RFC 9110 section 5.6.7) for `t`, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
std::string ImfFixdate(std::chrono::system_clock::time_point t);

}  // namespace skr::client::testing
