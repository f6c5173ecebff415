// SPDX-License-Identifier: Apache-2.0
#include "client/stderr_capture.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <string>
#include <thread>

namespace skr::client {

namespace {
std::mutex& LogMutex() {
  static std::mutex mu;
  return mu;
}
}  // namespace

struct StderrCapture::Thread {
  std::thread t;
};

void WriteLogLine(int fd, std::string_view line) {
  std::string out(line);
  out.push_back('\n');
  std::lock_guard<std::mutex> lock(LogMutex());
  std::size_t off = 0;
  while (off < out.size()) {
    const ssize_t n = ::write(fd, out.data() + off, out.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere left to log to
    off += static_cast<std::size_t>(n);
  }
}

std::unique_ptr<StderrCapture> StderrCapture::Start(Sink sink) {
  std::unique_ptr<StderrCapture> c(new StderrCapture());
  c->sink_ = std::move(sink);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return nullptr;
  c->saved_fd_ = ::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
  if (c->saved_fd_ < 0 || ::dup2(fds[1], STDERR_FILENO) < 0) {
    if (c->saved_fd_ >= 0) ::close(c->saved_fd_);
    ::close(fds[0]);
    ::close(fds[1]);
    return nullptr;
  }
  ::close(fds[1]);  // fd 2 is now the only write end
  c->read_fd_ = fds[0];
  c->thread_ = std::make_unique<Thread>();
  c->thread_->t = std::thread([raw = c.get()] { raw->Run(); });
  return c;
}

void StderrCapture::Run() {
  std::string line;
  char buf[1024];
  const auto flush = [&] {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) sink_(line);
    line.clear();
  };
  for (;;) {
    const ssize_t n = ::read(read_fd_, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == '\n') {
        flush();
      } else {
        line.push_back(buf[i]);
        if (line.size() >= kMaxLine) flush();
      }
    }
  }
  flush();
}

StderrCapture::~StderrCapture() {
  // Restoring fd 2 closes the pipe's last write end: the reader sees EOF after the last line.
  ::dup2(saved_fd_, STDERR_FILENO);
  if (thread_ && thread_->t.joinable()) thread_->t.join();
  ::close(read_fd_);
  ::close(saved_fd_);
}

}  // namespace skr::client
