// SPDX-License-Identifier: Apache-2.0
// SecretBytes: fixed-size, move-only buffer for key material, wiped on destruction
// (CONVENTIONS.md section 4). Access only through Reveal().
#pragma once

#include <openssl/crypto.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace skr {

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::size_t n) : buf_(n) {}
  // Copies `data` into a new secret buffer. The caller wipes its own copy.
  static SecretBytes CopyFrom(std::span<const std::uint8_t> data) {
    SecretBytes s(data.size());
    for (std::size_t i = 0; i < data.size(); ++i) s.buf_[i] = data[i];
    return s;
  }
  ~SecretBytes() { Wipe(); }
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& o) noexcept : buf_(std::move(o.buf_)) { o.buf_.clear(); }
  SecretBytes& operator=(SecretBytes&& o) noexcept {
    if (this != &o) {
      Wipe();
      buf_ = std::move(o.buf_);
      o.buf_.clear();
    }
    return *this;
  }

  std::size_t size() const { return buf_.size(); }
  bool empty() const { return buf_.empty(); }
  std::span<std::uint8_t> Reveal() { return buf_; }
  std::span<const std::uint8_t> Reveal() const { return buf_; }

 private:
  void Wipe() {
    if (!buf_.empty()) OPENSSL_cleanse(buf_.data(), buf_.size());
  }
  std::vector<std::uint8_t> buf_;
};

}  // namespace skr
