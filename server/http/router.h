// SPDX-License-Identifier: Apache-2.0
// The route table of skrd (DESIGN.md sections 2, 7 and 8) as one pure function from Request to
// Response. Authentication, sealed-state gating, JSON errors and metrics live here; the use
// cases live in server/broker.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "server/broker/broker.h"
#include "server/http/message.h"

namespace skr::server::http {

class Router {
 public:
  explicit Router(Broker& broker) : broker_(broker) {}
  // Thread-safe. Never throws: a stray exception becomes a 500 problem.
  Response Handle(const Request& request);
  std::string MetricsText() const;
  // Appends the output of `source` (complete Prometheus text-format lines, HELP/TYPE included) to
  // /metrics, e.g. skrd's CRL freshness gauges. Call before serving (not synchronised with
  // Handle); `source` itself must be thread-safe.
  void AddMetricsSource(std::function<std::string()> source) {
    metrics_sources_.push_back(std::move(source));
  }

 private:
  Response Dispatch(const Request& request, const std::string& request_id);
  Broker& broker_;
  std::array<std::atomic<std::uint64_t>, 6> status_class_{};  // 1xx..5xx, index 1..5
  std::atomic<std::uint64_t> requests_{0};
  std::vector<std::function<std::string()>> metrics_sources_;
};

}  // namespace skr::server::http
