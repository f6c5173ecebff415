// SPDX-License-Identifier: Apache-2.0
// The claim catalogue (DESIGN.md section 4, "Lint when stored"; issue 12): every claim a verifier
// can produce, with its type and the evidence types (`tee` values) that produce it. One table in
// code (claim_catalogue.cpp); the policy lint checks stored policies against it, `GET /v1/claims`
// and `skrctl claims` show it, and the attestation tests check every claim the verifiers produce
// from real evidence against it (so the table cannot fall behind a verifier).
//
// Names are exact dot paths, or patterns with one placeholder segment:
//   <pcr>   a PCR index 0..23 (decimal, no leading zero)
//   <name>  one segment of [a-z0-9_]
//   <rest>  one or more segments of anything (free-form claims, e.g. the sample attester's)
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"

namespace skr::policy {

enum class ClaimType : std::uint8_t {
  kString,       // a JSON string (values, when listed, are the only ones produced)
  kHex,          // a lowercase hex string; hex_bytes long when non-zero
  kInteger,      // a JSON integer
  kBool,         // true / false
  kIntegerList,  // an array of integers
  kStringList,   // an array of strings
  kAny,          // scalar of any type (free-form claims): not type-checked
};

// The evidence types a claim comes from: one bit each.
enum Tee : std::uint8_t {
  kTeeSevSnp = 1U << 0,     // "sev-snp"
  kTeeAzSnpVtpm = 1U << 1,  // "az-snp-vtpm"
  kTeeTpm = 1U << 2,        // "tpm"
  kTeeSample = 1U << 3,     // "sample" (the development attester)
  kTeeTdx = 1U << 4,        // "tdx"
  kTeeAzTdxVtpm = 1U << 5,  // "az-tdx-vtpm"
};
inline constexpr std::uint8_t kAllTees =
    kTeeSevSnp | kTeeAzSnpVtpm | kTeeTpm | kTeeSample | kTeeTdx | kTeeAzTdxVtpm;

struct ClaimSpec {
  std::string_view name;  // exact, or a pattern (above)
  ClaimType type;
  std::size_t hex_bytes;  // kHex: exact length in bytes; 0 = any even length
  std::uint8_t tees;
  std::string_view values;  // kString: "|"-separated closed set, or "" (any string)
  std::string_view description;
};

// The whole table, in display order.
std::span<const ClaimSpec> ClaimCatalogue();

// The `tee` names ("sev-snp", ...) and their bits. nullopt for a name no verifier produces.
std::optional<std::uint8_t> TeeBit(std::string_view tee);
// The names of the bits set in `tees`, comma separated ("sev-snp, az-snp-vtpm").
std::string TeeNames(std::uint8_t tees);

// The catalogue entry `claim` matches for any tee in `tees` (nullptr when none does).
const ClaimSpec* FindClaim(std::string_view claim, std::uint8_t tees = kAllTees);

// The catalogue name nearest to `claim` (edit distance <= 3), for "did you mean" hints; empty
// when nothing is near or `claim` is longer than 128 bytes.
std::string NearestClaim(std::string_view claim, std::uint8_t tees = kAllTees);

// Whether `value` (a claim's value as a verifier produced it) has `spec`'s type (and hex length).
bool ValueHasType(const ClaimSpec& spec, const Json& value);

// "string", "hex (48 bytes)", "integer", ...
std::string TypeName(const ClaimSpec& spec);

// The catalogue as JSON: [{"name","type","tee": [...],"values"?,"hex_bytes"?,"description"}].
Json ClaimCatalogueJson();

}  // namespace skr::policy
