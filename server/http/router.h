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

#include <memory>
#include <optional>

#include "server/broker/audit_service.h"
#include "server/broker/broker.h"
#include "server/broker/tee_routes.h"
#include "server/http/message.h"
#include "server/http/rate_limit.h"

namespace skr::server::http {

// Per-source token buckets for the unauthenticated endpoints (DESIGN.md section 2).
struct RouterLimits {
  int challenge_rate_per_second = 20;
  int challenge_burst = 100;
  int release_rate_per_second = 20;
  int release_burst = 100;
  std::size_t max_tracked_addresses = 100000;
};

class Router {
 public:
  explicit Router(Broker& broker, const RouterLimits& limits = {});
  // The cheap refusals, run on an I/O thread before a request is queued for a worker: a source
  // over its challenge or release rate gets 429 with Retry-After (nothing else is done, nothing
  // is audited: the flood is counted in /metrics). nullopt: go on to Handle. Thread-safe.
  std::optional<Response> Admit(const Request& request);
  // Thread-safe. Never throws: a stray exception becomes a 500 problem.
  Response Handle(const Request& request);
  std::string MetricsText() const;
  // The auditor endpoints for checkpoints and proofs (absent: they answer 503). Set before
  // serving; `service` must outlive the router.
  void SetAuditService(AuditService* service) { audit_service_ = service; }
  // Appends the output of `source` (complete Prometheus text-format lines, HELP/TYPE included) to
  // /metrics, e.g. skrd's CRL freshness gauges. Call before serving (not synchronised with
  // Handle); `source` itself must be thread-safe.
  void AddMetricsSource(std::function<std::string()> source) {
    metrics_sources_.push_back(std::move(source));
  }

 private:
  Response Dispatch(const Request& request, const std::string& request_id);
  Broker& broker_;
  const std::vector<TeeRoute> tee_routes_ = AllTeeRoutes();  // server/broker/tee_routes.h
  AuditService* audit_service_ = nullptr;
  std::array<std::atomic<std::uint64_t>, 6> status_class_{};  // 1xx..5xx, index 1..5
  std::atomic<std::uint64_t> requests_{0};
  RateLimiter challenge_limiter_;
  RateLimiter release_limiter_;
  std::atomic<std::uint64_t> rate_limited_challenge_{0};
  std::atomic<std::uint64_t> rate_limited_release_{0};
  std::vector<std::function<std::string()>> metrics_sources_;
};

}  // namespace skr::server::http
