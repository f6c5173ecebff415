// SPDX-License-Identifier: Apache-2.0
// Release policies (DESIGN.md section 4): a superset of the Azure Key Vault SKR grammar.
// Pure: no I/O, no clock. Thread-safe: a Policy is immutable after Parse.
//
// Grammar (Azure Key Vault "secure key release policy grammar", plus our extensions):
//   policy    = {"version"?: string, ("anyOf" | "allOf"): [element, ...]}
//   element   = rule | condition
//   rule      = {"authority": string, ("anyOf" | "allOf"): [condition, ...]}
//   condition = group | leaf
//   group     = {("anyOf" | "allOf"): [condition, ...]}
//   leaf      = {"claim": string, <op>: value}
//   op        = equals | notEquals | less | lessOrEquals | greater | greaterOrEquals | exists
//               | in (ours)
// Every member name ("version", "anyOf", "allOf", "authority", "claim" and the operators) is
// matched case-insensitively, so the older Azure forms ("AnyOf", "AllOf", "Claim",
// "Equals", "Authority") parse too. Two members whose names differ only in case are rejected.
//
// Decisions beyond the Azure grammar:
// - A top-level element without "authority" (a bare leaf or group) is a rule for the
//   authority "skr:local" only: conditions never apply to tokens from an unnamed issuer.
// - "authority" is only allowed in top-level elements.
// - Authorities compare after removing trailing "/" characters; for http(s) URLs the scheme and
//   host[:port] compare case-insensitively (the path stays case-sensitive). Any other authority
//   (e.g. "skr:local") compares exactly.
// - Operator values: equals/notEquals take a string, number, bool or array; less, lessOrEquals,
//   greater, greaterOrEquals take a number; exists takes a bool; in takes a non-empty array of
//   strings, numbers, bools or arrays. null and objects are rejected as values.
// - Nesting: the top-level anyOf/allOf is level 1; each nested anyOf/allOf adds one; more than
//   16 levels are rejected.
//
// Evaluation semantics (per leaf; the claim is looked up by its exact dot path):
// - equals: JSON equality. Numbers compare numerically across integer, unsigned and float
//   (1 == 1.0, exactly, no double rounding for 64-bit integers); strings and bools exactly;
//   arrays element by element. Missing claim or different JSON type -> false.
// - notEquals: claim present, same JSON type (number/string/bool/array) and not equal. A missing
//   claim or a type mismatch is false, never true (fail closed).
// - less, lessOrEquals, greater, greaterOrEquals: claim and value both numbers (a numeric string
//   claim is a type mismatch -> false).
// - exists: true iff (claim present) == value. A claim whose value is JSON null is present.
// - in: claim present and equal (as equals) to any element of the list.
// - anyOf: any child true; allOf: all children true. All children are always evaluated (no
//   short circuit) so the trace is complete.
// - A rule applies only when its authority matches; a rule whose authority does not match is
//   false. Its leaves are still evaluated and traced (with their own results), so a dry run
//   shows every condition; its authority trace entry carries result false.
//
// Trace: one entry per top-level element (op "authority", expected = the rule's authority,
// actual = the evaluation authority, result = match) followed by one entry per leaf of that
// element, in document array order.
//
// Decision::reason when denied:
// - the first failing leaf of the first rule whose authority matched but which evaluated false
//   (following the failing branch: the first false child of an allOf, the first child of a false
//   anyOf), formatted "<claim> <op> <expected> (got <actual>)" or
//   "<claim> <op> <expected> (claim missing)"; long values are shortened with ".."; a present
//   claim of another JSON type than the condition's value says so: "(got "4": type mismatch,
//   the claim is a string, the condition a number)";
// - "no rule for authority <authority>" when no rule's authority matched;
// - "rule <path> requires authority <a> (got <b>)" when every matched rule passed but a top-level
//   allOf also needs a rule for another authority.
// The reason is at most kMaxReasonLength bytes and valid UTF-8.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/claims.h"
#include "common/json.h"
#include "common/result.h"

namespace skr::policy {

// Limits enforced by Policy::Parse / used by Decision::reason.
inline constexpr int kMaxDepth = 16;
inline constexpr std::size_t kMaxReasonLength = 300;
// The authority for evidence that skrd verified itself.
inline constexpr std::string_view kLocalAuthority = "skr:local";

// One evaluated leaf condition (or a structural note) in evaluation order.
struct TraceEntry {
  std::string path;       // e.g. "anyOf[0].allOf[2]"
  std::string authority;  // of the enclosing rule
  std::string claim;      // empty for structural entries
  std::string op;         // "equals", ..., "in", "exists"; or "authority" for an authority check
  Json expected;
  Json actual;  // null when the claim is missing
  bool result = false;
};

struct Decision {
  bool allowed = false;
  // When denied: names the first failing condition: claim path, operator and expected value,
  // e.g. "snp.policy.debug equals false (got true)". Never contains key material. It holds
  // expected and observed values: for the audit record and the admin dry run only.
  std::string reason;
  // The same for admin views (dry run): values never shortened (hex whole), unbounded by
  // kMaxReasonLength. Empty when it would equal `reason` (Detail() picks).
  std::string detail;
  const std::string& Detail() const { return detail.empty() ? reason : detail; }
  // When denied: the name of the claim whose condition failed (or that needs an explicit
  // allow), empty when no rule applied to the authority. The only part of a denial an
  // unauthenticated caller may see (no values: they would let it walk the policy).
  std::string failing_claim;
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
  // Error reason slug: "invalid_policy". ParseText also returns ParseJson's errors
  // (kInvalidArgument "malformed_json", kPayloadTooLarge above 1 MiB).
  static Result<Policy> Parse(const Json& document);
  static Result<Policy> ParseText(std::string_view text);

  // Evaluates on claims produced under `authority` ("skr:local" for evidence skrd verified,
  // else the token issuer). A rule whose authority differs from `authority` does not apply
  // (false). Missing claim or type mismatch makes a leaf false. A default-constructed Policy
  // (never parsed) denies everything with reason "empty policy".
  // Explicit allows (DESIGN.md section 4): when the claims report debug (snp.policy.debug,
  // tdx.td_attributes.debug, sample.debug or debug true) or a migration agent
  // (snp.policy.migrate_ma, tdx.td_attributes.migratable true), the policy grants only through a
  // path whose holding leaves include {"claim": <one of those names>, "equals": true} for that
  // fact ("in" lists never count); otherwise it denies, with a trace entry of op
  // "explicitAllow" naming the claim, and failing_claim = that claim.
  Decision Evaluate(const Claims& claims, std::string_view authority) const;

  // The JSON paths of skr:local branches that can grant without constraining "tee" (equals a
  // string, or in a list of strings). Rules of another authority (a token issuer) are judged by
  // that issuer's own claims and never listed. Empty for a default-constructed Policy.
  std::vector<std::string> UnconstrainedTeePaths() const;
  // Lint (DESIGN.md section 4; issue 12; lint.cpp): each skr:local leaf checked against the
  // claim catalogue (claim_catalogue.h) for the `tee` values its path allows (the `tee` leaves of
  // its allOf ancestors): claim names no verifier produces there (with the nearest name), hex
  // values in uppercase or of the wrong length, values whose type can never match the claim's,
  // values outside a claim's closed set, `tee` values no verifier produces, and paths whose `tee`
  // conditions allow no evidence type. Rules of another authority (a token issuer's claims) are
  // not linted. Each problem names its JSON path ("anyOf[0].allOf[1].equals").
  std::vector<Error::Problem> Lint() const;
  // What storing a policy requires beyond Parse: no lint problem and UnconstrainedTeePaths()
  // empty. Error: kInvalidArgument with every problem in Error::problems() and the first in the
  // message; reason "policy_lint" when there is a lint problem, else "policy_tee_unconstrained".
  // Policies stored before these rules keep evaluating; GET and check-config flag them.
  Result<void> ValidateForStore() const;

  const Json& document() const { return document_; }

 private:
  Json document_;
  std::shared_ptr<const Node> root_;
};

}  // namespace skr::policy
