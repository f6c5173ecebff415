// SPDX-License-Identifier: Apache-2.0
// skr-agent's stderr is JSON log lines only: what the TPM library (tpm2-tss) writes to stderr is
// captured and wrapped (client/stderr_capture.h), and each line carries an RFC 3339 time.
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "client/stderr_capture.h"
#include "common/json.h"
#include "tests/support/process.h"
#include "tests/support/test_support.h"

namespace skr::client {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto nl = text.find('\n', pos);
    out.push_back(text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
    pos = nl == std::string::npos ? text.size() : nl + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("StderrCapture: lines written to fd 2 reach the sink, the last one drained, long ones cut",
          "[agent][log]") {
  std::vector<std::string> got;
  {
    auto capture = StderrCapture::Start([&](std::string_view l) { got.emplace_back(l); });
    REQUIRE(capture != nullptr);
    CHECK(capture->log_fd() != STDERR_FILENO);
    const std::string text = "WARNING:tcti:x.c:1:f() first\r\nsecond\n\n" +
                             std::string(StderrCapture::kMaxLine + 10, 'a') + "\nunterminated";
    REQUIRE(::write(STDERR_FILENO, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    // Our own lines go to the original stderr, not back into the capture.
    WriteLogLine(capture->log_fd(), "{\"msg\":\"own line\"}");
  }
  REQUIRE(got.size() == 5);
  CHECK(got[0] == "WARNING:tcti:x.c:1:f() first");
  CHECK(got[1] == "second");
  CHECK(got[2].size() == StderrCapture::kMaxLine);
  CHECK(got[3] == std::string(10, 'a'));
  CHECK(got[4] == "unterminated");
}

TEST_CASE("skr-agent: the TPM library's own stderr becomes JSON log lines", "[agent][log]") {
  const std::string agent = test::BinaryDir() + "/client/skr-agent";
  if (!std::filesystem::exists(agent)) {
    WARN("SKIPPED: " + agent + " not built");
    return;
  }
  // A device that does not exist: tpm2-tss's device TCTI reports it on stderr itself.
  auto r = test::RunCommand({agent, "evidence", "--evidence", "tpm", "--ak-id", "ak_test",
                             "--tcti", "device:/dev/skr-test-no-such-tpm"},
                            "", {{"TSS2_LOG", "all+WARNING"}}, 60);
  CAPTURE(r.err);
  CHECK(r.exit_code == 3);  // attestation unavailable
  CHECK(r.out.empty());
  bool library_line = false, names_device = false, final_error = false;
  for (const auto& line : Lines(r.err)) {
    if (line.empty()) continue;
    // Sanitizer runtimes write their own reports after main returns; nothing else may be raw.
    if (line.rfind("==", 0) == 0) continue;
    auto j = ParseJson(line);
    INFO(line);
    REQUIRE(j.has_value());
    CHECK((*j)["time"].get<std::string>().size() == 20);  // 2026-12-06T16:00:00Z
    if ((*j)["msg"] == "library output") {
      CHECK((*j)["source"] == "tpm2-tss");
      library_line = true;
      names_device = names_device ||
                     (*j)["text"].get<std::string>().find("/dev/skr-test-no-such-tpm") != std::string::npos;
    }
    if ((*j)["msg"] == "cannot collect evidence") final_error = (*j)["exit_code"] == 3;
  }
  CHECK(library_line);
  CHECK(names_device);  // tpm2-tss's own words: "Failed to open specified TCTI device file ..."
  CHECK(final_error);
}

}  // namespace skr::client
