// SPDX-License-Identifier: Apache-2.0
// Shared helpers for the test executables: temp dirs, testdata lookup, error-code extraction.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "common/result.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace skr::test {

// The error code of a Result, or nullopt if it holds a value.
template <typename T>
std::optional<ErrorCode> CodeOf(const Result<T>& r) {
  if (r.has_value()) return std::nullopt;
  return r.error().code();
}
template <typename T>
std::string ReasonOf(const Result<T>& r) {
  return r.has_value() ? std::string() : r.error().reason();
}

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// ../shared/testdata next to the source tree (or $SKR_TESTDATA_DIR). When missing, returns
// nullopt and the caller SKIPs via SKR_REQUIRE_TESTDATA, except under CI=true where a missing
// testdata directory fails the test.
std::optional<std::filesystem::path> TestdataDir();
std::string SourceDir();
std::string BinaryDir();
std::string ReadFileOrFail(const std::filesystem::path& p);
void WriteFile(const std::filesystem::path& p, const std::string& data, unsigned mode = 0600);

// One key per kind for the whole process (key generation is slow under the sanitizers):
// "rsa1024", "rsa2048", "rsa3072", "rsa4096", or an EC group name ("P-256", "P-384", "P-521",
// "secp256k1"). Owned by the cache; aborts the test on an unknown kind.
EVP_PKEY* CachedKey(const std::string& kind);

}  // namespace skr::test

// Use at the top of a TEST_CASE that reads ../shared/testdata:
//   SKR_REQUIRE_TESTDATA(dir);   // declares `std::filesystem::path dir`
#define SKR_REQUIRE_TESTDATA(var)                                                      \
  auto var##_opt = ::skr::test::TestdataDir();                                         \
  if (!var##_opt) {                                                                    \
    const char* ci_ = std::getenv("CI");                                               \
    if (ci_ != nullptr && std::string(ci_) == "true") {                                \
      FAIL("../shared/testdata is missing and CI=true: real evidence is required");    \
    }                                                                                  \
    WARN("SKIPPED: ../shared/testdata not found (set SKR_TESTDATA_DIR)");              \
    return;                                                                            \
  }                                                                                    \
  const std::filesystem::path var = *var##_opt
