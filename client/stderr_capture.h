// SPDX-License-Identifier: Apache-2.0
// skr-agent's log lines are JSON, one per line, on stderr; libraries it links (tpm2-tss above
// all: "WARNING:tcti:src/tss2-tcti/..." and its ERROR lines) write plain text to the same fd.
// StderrCapture turns fd 2 into a pipe read by a thread that hands each library line to a sink
// (which wraps it into a JSON log line), while the agent's own lines go to the original stderr
// through LogFd(). Lines are cut at kMaxLine bytes; the capture ends, and what is left is drained,
// when the object is destroyed.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

namespace skr::client {

class StderrCapture {
 public:
  static constexpr std::size_t kMaxLine = 4096;
  using Sink = std::function<void(std::string_view line)>;

  // Starts capturing; nullptr when a pipe or dup fails (stderr is then left as it was).
  static std::unique_ptr<StderrCapture> Start(Sink sink);
  ~StderrCapture();
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;

  // The original stderr: where the agent's own JSON lines go while the capture runs.
  int log_fd() const { return saved_fd_; }

 private:
  StderrCapture() = default;
  void Run();

  Sink sink_;
  int saved_fd_ = -1;
  int read_fd_ = -1;
  struct Thread;
  std::unique_ptr<Thread> thread_;
};

// Writes `line` and a newline to `fd` in full (retrying short writes and EINTR), under one lock
// shared by every caller so that lines from several threads never interleave.
void WriteLogLine(int fd, std::string_view line);

}  // namespace skr::client
