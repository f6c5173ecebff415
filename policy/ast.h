// SPDX-License-Identifier: Apache-2.0
// The parsed form of a release policy (internal to skr::policy; policy.h keeps it opaque).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/claims.h"
#include "common/json.h"

namespace skr::policy {

enum class Op {
  kEquals,
  kNotEquals,
  kLess,
  kLessOrEquals,
  kGreater,
  kGreaterOrEquals,
  kExists,
  kIn,
};

class Node {
 public:
  enum class Kind { kAllOf, kAnyOf, kLeaf };

  Kind kind = Kind::kLeaf;
  std::string path;  // JSON path of the object ("" for the document)

  // kAllOf / kAnyOf
  std::vector<Node> children;

  // kLeaf
  std::string claim;
  Op op = Op::kEquals;
  Json value;

  // Top-level elements (rules) only.
  std::string authority;      // as written, or kLocalAuthority when absent
  std::string authority_key;  // normalized for comparison
};

// ---- Safe defaults (DESIGN.md section 4; safe_defaults.cpp) ----

// Evidence facts that a policy must allow explicitly: one bit each.
enum Gate : std::uint8_t {
  kGateDebug = 1U << 0,    // debug claim / snp.policy.debug / tdx.td_attributes.debug true
  kGateMigrate = 1U << 1,  // snp.policy.migrate_ma true
};
inline constexpr std::uint8_t kAllGates = kGateDebug | kGateMigrate;

// The gates the claims raise, and for each raised gate the claim name that raised it (for the
// denial reason). Only gates in the returned mask have a name.
struct RaisedGates {
  std::uint8_t mask = 0;
  std::string debug_claim;
  std::string migrate_claim;
};
RaisedGates GatesRaisedBy(const Claims& claims);

// The gates a leaf allows when it holds: {"claim": <a gate's claim>, "equals": true} (never an
// "in" list: "in [false, true]" allows debug by accident).
std::uint8_t GatesAllowedBy(const Node& leaf);

// JSON paths of the skr:local branches under `root` (the document's group) that can grant
// without a positive constraint on "tee" (equals a string, or in a list).
std::vector<std::string> UnconstrainedTeePaths(const Node& root);

// parse.cpp: the document to its tree (errors: kInvalidArgument "invalid_policy" with the
// path), an operator's canonical spelling, an authority's normal form.
Result<Node> ParseDocument(const Json& doc);
std::string_view OpToString(Op op);
std::string NormalizeAuthority(std::string_view a);

}  // namespace skr::policy
