// SPDX-License-Identifier: Apache-2.0
// Child processes for integration tests: run-to-completion with captured output, and
// long-running services stopped by PID (SIGTERM, then SIGKILL after a bounded wait).
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace skr::test {

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  std::string out;
  std::string err;
};

// Runs argv[0] with arguments, feeding `input` on stdin; kills it after timeout_seconds.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& input = "",
                         const std::map<std::string, std::string>& env = {},
                         int timeout_seconds = 60);

class Service {
 public:
  Service() = default;
  ~Service() { Stop(); }
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;
  // Starts argv with stdout/stderr appended to log_file.
  bool Start(const std::vector<std::string>& argv, const std::string& log_file,
             const std::map<std::string, std::string>& env = {});
  // SIGTERM, wait up to 5 s, then SIGKILL. Returns the exit status (or -1).
  int Stop();
  pid_t pid() const { return pid_; }
  bool Running() const;

 private:
  pid_t pid_ = -1;
};

}  // namespace skr::test
