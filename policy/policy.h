// SPDX-License-Identifier: Apache-2.0
// Release policies (DESIGN.md section 4): a superset of the Azure Key Vault SKR grammar.
// Pure: no I/O, no clock. Thread-safe: a Policy is immutable after Parse.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/claims.h"
#include "common/json.h"
#include "common/result.h"

namespace skr::policy {

// One evaluated leaf condition (or a structural note) in evaluation order.
struct TraceEntry {
  std::string path;       // e.g. "anyOf[0].allOf[2]"
  std::string authority;  // of the enclosing rule
  std::string claim;      // empty for structural entries
  std::string op;         // "equals", ..., "in", "exists"; or "authority" for an authority check
  Json expected;
  Json actual;            // null when the claim is missing
  bool result = false;
};

struct Decision {
  bool allowed = false;
  // When denied: names the first failing condition: claim path, operator and expected value,
  // e.g. "snp.policy.debug equals false (got true)". Never contains key material.
  std::string reason;
  std::vector<TraceEntry> trace;
  Json TraceJson() const;  // [{"path","authority","claim","op","expected","actual","result"}]
};

class Node;  // internal AST

class Policy {
 public:
  // Parses and validates a policy document (JSON text or value). Accepts: optional "version";
  // top-level "anyOf"/"allOf" (any letter case); rules with "authority"; nested
  // allOf/anyOf; leaves {"claim": path, <op>: value}. Rejects (kInvalidArgument, message naming
  // the JSON path): non-objects, empty allOf/anyOf, unknown operators or members, leaves with
  // zero or several operators, "in" without a non-empty array, "exists" without a bool,
  // less/greater families without a number, claim not a non-empty string, nesting deeper than 16.
  static Result<Policy> Parse(const Json& document);
  static Result<Policy> ParseText(std::string_view text);

  // Evaluates on claims produced under `authority` ("skr:local" for evidence skrd verified,
  // else the token issuer). A rule whose authority differs from `authority` does not apply
  // (false). Missing claim or type mismatch makes a leaf false.
  Decision Evaluate(const Claims& claims, std::string_view authority) const;

  const Json& document() const { return document_; }

 private:
  Json document_;
  std::shared_ptr<const Node> root_;
};

}  // namespace skr::policy
