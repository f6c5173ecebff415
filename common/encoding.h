// SPDX-License-Identifier: Apache-2.0
// base64 (RFC 4648 section 4, padded), base64url (section 5, unpadded, as JOSE uses) and hex.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace skr {

std::string Base64Encode(std::span<const std::uint8_t> data);
// Strict: rejects whitespace, bad characters, bad padding. Errors: kInvalidArgument.
Result<std::vector<std::uint8_t>> Base64Decode(std::string_view text);
// Base64Decode for untrusted input with a bound: text longer than the encoding of `max_bytes`
// is refused before it is decoded, and so is a result longer than `max_bytes`.
// Errors: kInvalidArgument, reason "too_large" for the bound, Base64Decode's otherwise.
Result<std::vector<std::uint8_t>> Base64DecodeAtMost(std::string_view text, std::size_t max_bytes);
std::string Base64UrlEncode(std::span<const std::uint8_t> data);
// Accepts unpadded input only (RFC 7515 section 2). Errors: kInvalidArgument.
Result<std::vector<std::uint8_t>> Base64UrlDecode(std::string_view text);
std::string HexEncode(std::span<const std::uint8_t> data);  // lowercase
// Accepts upper or lower case, even length. Errors: kInvalidArgument.
Result<std::vector<std::uint8_t>> HexDecode(std::string_view text);

// Client text bound for logs, problem details and audit records: printable ASCII only (other
// bytes become '?', so the result is always valid UTF-8), at most `max` bytes plus "...".
std::string PrintableAscii(std::string_view s, std::size_t max);

// Levenshtein distance (insertions, deletions, substitutions), for "did you mean" hints.
// O(a.size() * b.size()): callers bound their inputs.
std::size_t EditDistance(std::string_view a, std::string_view b);

}  // namespace skr
