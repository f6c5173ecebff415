// SPDX-License-Identifier: Apache-2.0
// ByteReader: bounds-checked reads over untrusted bytes (CONVENTIONS.md section 2).
// Never computes offset + n; every read compares n against remaining().
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/result.h"

namespace skr {

class ByteReader {
 public:
  explicit ByteReader(std::span<const std::uint8_t> in) : in_(in) {}
  std::size_t remaining() const { return in_.size() - pos_; }
  std::size_t position() const { return pos_; }
  // Errors: kMalformedEvidence when fewer than n bytes remain.
  Result<std::span<const std::uint8_t>> Take(std::size_t n);
  Result<void> Skip(std::size_t n);
  Result<std::uint8_t> U8();
  Result<std::uint16_t> U16Le();
  Result<std::uint32_t> U32Le();
  Result<std::uint64_t> U64Le();
  Result<std::uint16_t> U16Be();
  Result<std::uint32_t> U32Be();
  Result<std::uint64_t> U64Be();

 private:
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
};

}  // namespace skr
