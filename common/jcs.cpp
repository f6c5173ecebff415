// SPDX-License-Identifier: Apache-2.0
// RFC 8785 JSON Canonicalization Scheme (JCS), and the KBS RCAR 0.4.0 binding digest built on it.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "common/jose.h"

namespace skr {
namespace {

// Deeper documents are refused rather than risking the stack (ParseJson caps at 32 already).
constexpr int kMaxDepth = 128;

Error Invalid(std::string message) {
  return Error(ErrorCode::kInvalidArgument, "JCS: " + std::move(message), "invalid_json");
}

// Decodes one UTF-8 sequence starting at s[i]; advances i. Rejects overlong forms, surrogates
// (RFC 3629 section 3) and code points above U+10FFFF, since I-JSON (RFC 7493 section 2.1)
// strings must be valid Unicode.
bool NextCodePoint(std::string_view s, std::size_t& i, std::uint32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t len = 0;
  std::uint32_t min = 0;
  if (b0 < 0x80) {
    cp = b0;
    ++i;
    return true;
  }
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1Fu;
    min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0Fu;
    min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07u;
    min = 0x10000;
  } else {
    return false;
  }
  if (len > s.size() - i) return false;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  i += len;
  return true;
}

// RFC 8785 section 3.2.3: member names are sorted by their UTF-16 code units.
Result<std::u16string> Utf16Key(std::string_view s) {
  std::u16string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    std::uint32_t cp = 0;
    if (!NextCodePoint(s, i, cp)) return Invalid("member name is not valid UTF-8");
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(cp));
    }
  }
  return out;
}

// RFC 8785 section 3.2.2.2 (ECMAScript JSON.stringify / QuoteJSONString): escape '"', '\\' and
// U+0000..U+001F (short forms where they exist, else lowercase \u00xx); everything else raw UTF-8.
Result<void> AppendString(std::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t start = i;
    std::uint32_t cp = 0;
    if (!NextCodePoint(s, i, cp)) return Invalid("string is not valid UTF-8");
    switch (cp) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (cp < 0x20) {
          out += "\\u00";
          out.push_back(kHex[cp >> 4]);
          out.push_back(kHex[cp & 0xF]);
        } else {
          out.append(s.substr(start, i - start));
        }
    }
  }
  out.push_back('"');
  return Ok();
}

// RFC 8785 section 3.2.2.3: ECMAScript Number::toString (ECMA-262 7.1.12.1). std::to_chars gives
// the shortest digits that round-trip (the same choice as step 5 of that algorithm); they are
// then laid out with the ECMAScript rules for where the decimal point and the exponent go.
Result<void> AppendNumber(double v, std::string& out) {
  if (!std::isfinite(v)) return Invalid("NaN and Infinity cannot be canonicalized");
  if (v == 0) {  // both +0 and -0 serialize as "0"
    out.push_back('0');
    return Ok();
  }
  if (v < 0) {
    out.push_back('-');
    v = -v;
  }
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  if (res.ec != std::errc()) return Error(ErrorCode::kInternal, "JCS: to_chars failed");
  const std::string_view sci(buf, static_cast<std::size_t>(res.ptr - buf));
  const std::size_t e_pos = sci.find('e');
  if (e_pos == std::string_view::npos) return Error(ErrorCode::kInternal, "JCS: bad to_chars");
  std::string digits;  // s: k decimal digits without the point
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') digits.push_back(c);
  }
  int exp10 = 0;
  const std::string_view exp_text = sci.substr(e_pos + 1);
  const char* exp_begin = exp_text.data() + (exp_text.front() == '+' ? 1 : 0);
  if (std::from_chars(exp_begin, exp_text.data() + exp_text.size(), exp10).ec != std::errc()) {
    return Error(ErrorCode::kInternal, "JCS: bad exponent");
  }
  const int k = static_cast<int>(digits.size());
  const int n = exp10 + 1;  // value = 0.d1d2...dk * 10^n
  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, 0, static_cast<std::size_t>(n));
    out.push_back('.');
    out.append(digits, static_cast<std::size_t>(n), std::string::npos);
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-n), '0');
    out += digits;
  } else {
    out.push_back(digits[0]);
    if (k > 1) {
      out.push_back('.');
      out.append(digits, 1, std::string::npos);
    }
    out.push_back('e');
    out.push_back(n - 1 >= 0 ? '+' : '-');
    out += std::to_string(n - 1 >= 0 ? n - 1 : 1 - n);
  }
  return Ok();
}

// Integers are IEEE 754 doubles in the JCS data model (I-JSON); those that a double holds
// exactly are written as such, larger ones go through the double path like ECMAScript would.
constexpr std::int64_t kMaxExactInt = std::int64_t{1} << 53;

Result<void> Append(const Json& v, std::string& out, int depth) {
  if (depth > kMaxDepth) return Invalid("nesting too deep");
  switch (v.type()) {
    case Json::value_t::null:
      out += "null";
      return Ok();
    case Json::value_t::boolean:
      out += v.get<bool>() ? "true" : "false";
      return Ok();
    case Json::value_t::string:
      return AppendString(v.get_ref<const std::string&>(), out);
    case Json::value_t::number_integer: {
      const auto i = v.get<std::int64_t>();
      if (i >= -kMaxExactInt && i <= kMaxExactInt) {
        out += std::to_string(i);
        return Ok();
      }
      return AppendNumber(static_cast<double>(i), out);
    }
    case Json::value_t::number_unsigned: {
      const auto u = v.get<std::uint64_t>();
      if (u <= static_cast<std::uint64_t>(kMaxExactInt)) {
        out += std::to_string(u);
        return Ok();
      }
      return AppendNumber(static_cast<double>(u), out);
    }
    case Json::value_t::number_float:
      return AppendNumber(v.get<double>(), out);
    case Json::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : v) {
        if (!first) out.push_back(',');
        first = false;
        SKR_TRY_VOID(Append(e, out, depth + 1));
      }
      out.push_back(']');
      return Ok();
    }
    case Json::value_t::object: {
      std::vector<std::pair<std::u16string, Json::const_iterator>> members;
      members.reserve(v.size());
      for (auto it = v.cbegin(); it != v.cend(); ++it) {
        SKR_TRY(std::u16string key, Utf16Key(it.key()));
        members.emplace_back(std::move(key), it);
      }
      std::sort(members.begin(), members.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      out.push_back('{');
      bool first = true;
      for (const auto& [key, it] : members) {
        if (!first) out.push_back(',');
        first = false;
        SKR_TRY_VOID(AppendString(it.key(), out));
        out.push_back(':');
        SKR_TRY_VOID(Append(it.value(), out, depth + 1));
      }
      out.push_back('}');
      return Ok();
    }
    case Json::value_t::binary:
    case Json::value_t::discarded:
      break;
  }
  return Invalid("value has no JSON representation");
}

}  // namespace

Result<std::string> CanonicalizeJson(const Json& value) {
  std::string out;
  SKR_TRY_VOID(Append(value, out, 0));
  return out;
}

// DESIGN.md section 2 / KBS RCAR 0.4.0: the runtime-data object the attester binds into its
// evidence. Member order does not matter here: JCS sorts them.
Result<std::array<std::uint8_t, 48>> BindingDigest(std::string_view nonce, const Json& tee_pubkey) {
  if (!tee_pubkey.is_object()) {
    return Error(ErrorCode::kInvalidArgument, "tee-pubkey must be a JSON object");
  }
  Json runtime_data = Json::object();
  runtime_data["additional-evidence"] = "";
  runtime_data["nonce"] = std::string(nonce);
  runtime_data["tee-pubkey"] = tee_pubkey;
  SKR_TRY(std::string canonical, CanonicalizeJson(runtime_data));
  return Sha384(canonical);
}

}  // namespace skr
