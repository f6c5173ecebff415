// SPDX-License-Identifier: Apache-2.0
// Transport-free request/response values: the router is a pure function Request -> Response,
// testable without sockets (CONVENTIONS.md section 7).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace skr::server::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as received
  std::string authorization;
  std::string content_type;
  std::string body;
  bool body_too_large = false;  // the transport stopped reading at the body limit
  std::string remote;           // peer address, for logs
  std::string source;           // rate-limit key of the peer (rate_limit.h SourceKey)
};

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

}  // namespace skr::server::http
