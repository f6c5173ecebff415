// SPDX-License-Identifier: Apache-2.0
// A bounded pool of worker threads (issue 10): verification, keystore and audit work runs here,
// so the I/O threads only read, write and parse. The queue is bounded: when it is full, Submit
// refuses at once (the caller answers 503 + Retry-After) instead of queueing without bound.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace skr::server::http {

class WorkerPool {
 public:
  using Clock = std::chrono::steady_clock;
  // A job learns how long it waited in the queue (to shed work that waited too long).
  using Job = std::function<void(Clock::duration waited)>;

  WorkerPool(int threads, std::size_t queue_limit);
  ~WorkerPool();  // Shutdown()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False when the queue holds queue_limit jobs or the pool is shut down; the job is not run.
  bool TrySubmit(Job job);
  // Stops taking jobs, drops queued ones (destroying them unrun), waits for running ones.
  void Shutdown();
  std::size_t queued() const;
  int busy() const;

 private:
  void Loop();
  struct Item {
    Job job;
    Clock::time_point enqueued;
  };
  const std::size_t queue_limit_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;  // guarded by mu_
  bool stopping_ = false;   // guarded by mu_
  int busy_ = 0;            // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace skr::server::http
