// SPDX-License-Identifier: Apache-2.0
#include "common/encoding.h"

#include <algorithm>
#include <array>
#include <vector>

namespace skr {
namespace {

constexpr char kStd[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Encode(std::span<const std::uint8_t> data, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) |
                            std::uint32_t{data[i + 2]};
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  const std::size_t rest = data.size() - i;
  if (rest == 1) {
    const std::uint32_t v = std::uint32_t{data[i]} << 16;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    if (pad) out += "==";
  } else if (rest == 2) {
    const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    if (pad) out.push_back('=');
  }
  return out;
}

std::array<int, 256> Table(const char* alphabet) {
  std::array<int, 256> t{};
  t.fill(-1);
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = i;
  return t;
}

Result<std::vector<std::uint8_t>> Decode(std::string_view text, const char* alphabet,
                                         bool padded) {
  static const std::array<int, 256> kStdTable = Table(kStd);
  static const std::array<int, 256> kUrlTable = Table(kUrl);
  const auto& table = alphabet == kStd ? kStdTable : kUrlTable;
  std::size_t len = text.size();
  if (padded) {
    if (len % 4 != 0) return Error(ErrorCode::kInvalidArgument, "base64: bad length");
    if (len >= 1 && text[len - 1] == '=') --len;
    if (len >= 1 && text[len - 1] == '=') --len;
  } else if (len % 4 == 1) {
    return Error(ErrorCode::kInvalidArgument, "base64url: bad length");
  }
  std::vector<std::uint8_t> out;
  out.reserve(len * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < len; ++i) {
    const int v = table[static_cast<unsigned char>(text[i])];
    if (v < 0) return Error(ErrorCode::kInvalidArgument, "base64: invalid character");
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xFF));
    }
  }
  // Non-canonical encodings (set bits in the unused tail) are rejected.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
    return Error(ErrorCode::kInvalidArgument, "base64: non-canonical trailing bits");
  }
  if (padded && text.size() - len > 0 && (len % 4) + (text.size() - len) != 4) {
    return Error(ErrorCode::kInvalidArgument, "base64: bad padding");
  }
  return out;
}

}  // namespace

std::string Base64Encode(std::span<const std::uint8_t> data) { return Encode(data, kStd, true); }
Result<std::vector<std::uint8_t>> Base64Decode(std::string_view text) {
  return Decode(text, kStd, true);
}
Result<std::vector<std::uint8_t>> Base64DecodeAtMost(std::string_view text, std::size_t max_bytes) {
  const auto too_large = [] { return Error(ErrorCode::kInvalidArgument, "base64: too large", "too_large"); };
  if (text.size() > (max_bytes + 2) / 3 * 4) return too_large();
  SKR_TRY(std::vector<std::uint8_t> out, Base64Decode(text));
  if (out.size() > max_bytes) return too_large();
  return out;
}

std::string Base64UrlEncode(std::span<const std::uint8_t> data) {
  return Encode(data, kUrl, false);
}
Result<std::vector<std::uint8_t>> Base64UrlDecode(std::string_view text) {
  return Decode(text, kUrl, false);
}

std::string HexEncode(std::span<const std::uint8_t> data) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (std::uint8_t b : data) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

Result<std::vector<std::uint8_t>> HexDecode(std::string_view text) {
  if (text.size() % 2 != 0) return Error(ErrorCode::kInvalidArgument, "hex: odd length");
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<std::uint8_t> out(text.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = nib(text[2 * i]);
    const int lo = nib(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return Error(ErrorCode::kInvalidArgument, "hex: invalid character");
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return out;
}

std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0U : 1U)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string PrintableAscii(std::string_view s, std::size_t max) {
  std::string out;
  out.reserve(std::min(s.size(), max) + 3);
  for (char c : s) {
    if (out.size() == max) {
      out += "...";
      break;
    }
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  return out;
}

}  // namespace skr
