// SPDX-License-Identifier: Apache-2.0
#include "tests/support/test_support.h"

#include <sys/stat.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace skr::test {

TempDir::TempDir() {
  std::random_device rd;
  for (int i = 0; i < 100; ++i) {
    auto p = std::filesystem::temp_directory_path() /
             ("skr-test-" + std::to_string(rd()) + "-" + std::to_string(rd()));
    std::error_code ec;
    if (std::filesystem::create_directory(p, ec)) {
      path_ = p;
      return;
    }
  }
  throw std::runtime_error("cannot create temp dir");
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string SourceDir() {
  const char* s = std::getenv("SKR_SOURCE_DIR");
  return s != nullptr ? s : SKR_DEFAULT_SOURCE_DIR;
}

std::string BinaryDir() {
  const char* s = std::getenv("SKR_BINARY_DIR");
  return s != nullptr ? s : SKR_DEFAULT_BINARY_DIR;
}

std::optional<std::filesystem::path> TestdataDir() {
  if (const char* s = std::getenv("SKR_TESTDATA_DIR"); s != nullptr) {
    if (std::filesystem::is_directory(s)) return std::filesystem::path(s);
    return std::nullopt;
  }
  auto p = std::filesystem::path(SourceDir()).parent_path() / "shared" / "testdata";
  if (std::filesystem::is_directory(p)) return p;
  return std::nullopt;
}

std::string ReadFileOrFail(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::filesystem::path& p, const std::string& data, unsigned mode) {
  {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write " + p.string());
    out << data;
  }
  ::chmod(p.c_str(), mode);
}

EVP_PKEY* CachedKey(const std::string& kind) {
  struct Free {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
  };
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<EVP_PKEY, Free>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[kind];
  if (!slot) {
    EVP_PKEY* k = nullptr;
    if (kind.rfind("rsa", 0) == 0) {
      k = EVP_RSA_gen(static_cast<unsigned>(std::stoul(kind.substr(3))));
    } else {
      k = EVP_EC_gen(kind.c_str());
    }
    if (k == nullptr) throw std::runtime_error("CachedKey: cannot make a key of kind " + kind);
    slot.reset(k);
  }
  return slot.get();
}

}  // namespace skr::test
