// SPDX-License-Identifier: Apache-2.0
#include "common/byte_reader.h"

namespace skr {

Result<std::span<const std::uint8_t>> ByteReader::Take(std::size_t n) {
  if (n > remaining()) return Error(ErrorCode::kMalformedEvidence, "truncated input", "truncated");
  auto out = in_.subspan(pos_, n);
  pos_ += n;
  return out;
}

Result<void> ByteReader::Skip(std::size_t n) {
  if (n > remaining()) return Error(ErrorCode::kMalformedEvidence, "truncated input", "truncated");
  pos_ += n;
  return Ok();
}

namespace {
template <typename T>
Result<T> Assemble(ByteReader& r, bool little) {
  auto bytes = r.Take(sizeof(T));
  if (!bytes) return bytes.error();
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    const std::size_t idx = little ? sizeof(T) - 1 - i : i;
    v = static_cast<T>((v << 8) | static_cast<T>((*bytes)[idx]));
  }
  return v;
}
}  // namespace

Result<std::uint8_t> ByteReader::U8() { return Assemble<std::uint8_t>(*this, true); }
Result<std::uint16_t> ByteReader::U16Le() { return Assemble<std::uint16_t>(*this, true); }
Result<std::uint32_t> ByteReader::U32Le() { return Assemble<std::uint32_t>(*this, true); }
Result<std::uint64_t> ByteReader::U64Le() { return Assemble<std::uint64_t>(*this, true); }
Result<std::uint16_t> ByteReader::U16Be() { return Assemble<std::uint16_t>(*this, false); }
Result<std::uint32_t> ByteReader::U32Be() { return Assemble<std::uint32_t>(*this, false); }
Result<std::uint64_t> ByteReader::U64Be() { return Assemble<std::uint64_t>(*this, false); }

}  // namespace skr
