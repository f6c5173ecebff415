// SPDX-License-Identifier: Apache-2.0
// A stand-in for the kernel's configfs-tsm report interface in a temporary directory: an entry
// with provider, generation, inblob and privlevel files, and a thread that, once 64 bytes are in
// inblob, writes generation, auxblob and the outblob `make_outblob` builds from inblob.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include "tests/support/test_support.h"

namespace skr::test {

struct FakeTsm {
  TempDir tmp;
  std::string report_dir;
  std::string entry = "skr-test";
  std::atomic<bool> stop{false};
  int generation_step = 1;  // how much one inblob write bumps generation
  // The provider's answer to `inblob` (default: an SEV-SNP report echoing it at 0x50).
  std::function<std::string(const std::string& inblob)> make_outblob;
  std::thread kernel;

  explicit FakeTsm(const std::string& provider = "sev_guest") {
    report_dir = tmp.file("report");
    std::filesystem::create_directories(report_dir + "/" + entry);
    Put("provider", provider + "\n");
    Put("generation", "0\n");
    Put("inblob", "");
    Put("privlevel", "");
    make_outblob = [](const std::string& in) {
      std::string report(1184, '\0');
      report[0] = 2;  // VERSION
      report.replace(0x50, 64, in);
      return report;
    };
  }
  ~FakeTsm() {
    stop = true;
    if (kernel.joinable()) kernel.join();
  }
  std::string Path(const std::string& f) const { return report_dir + "/" + entry + "/" + f; }
  void Put(const std::string& f, const std::string& data) {
    WriteFile(Path(f) + ".tmp", data, 0644);
    std::filesystem::rename(Path(f) + ".tmp", Path(f));
  }
  // Answers each new 64-byte inblob content once (one process using the entry at a time).
  void Start() {
    kernel = std::thread([this] {
      int served = 0;
      std::string last;
      while (!stop) {
        std::error_code ec;
        if (std::filesystem::file_size(Path("inblob"), ec) == 64) {
          const std::string in = ReadFileOrFail(Path("inblob"));
          if (in == last) {
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
            continue;
          }
          last = in;
          ++served;
          Put("generation", std::to_string(served * generation_step) + "\n");
          Put("auxblob", "CERT-TABLE");
          Put("outblob", make_outblob(in));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    });
  }
};

}  // namespace skr::test
