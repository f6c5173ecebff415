// SPDX-License-Identifier: Apache-2.0
// Safe policy defaults (DESIGN.md section 4, issue 9 items 3 and 4):
// - a stored policy says which TEE it trusts on every skr:local path that can grant;
// - evidence reporting debug or a migration agent is denied unless the granting path has a leaf
//   that allows it explicitly. The launch measurement does not cover the SNP guest policy, so a
//   host can relaunch a tenant's image with DEBUG=1 and the same measurement.
#include <array>
#include <optional>
#include <string_view>

#include "policy/ast.h"
#include "policy/policy.h"

namespace skr::policy {
namespace {

struct GateClaim {
  std::string_view claim;
  std::uint8_t gate;
};

// The claims whose value true raises a gate, in the order their names are reported (the most
// specific first), and the claims a policy may name to allow it. "debug" is the common claim
// (DESIGN.md section 3): the sample verifier sets it (true when its payload does not say), the
// SNP and TDX verifiers copy their TEE's debug bit into it; a TPM has no debug mode and sets none.
constexpr std::array<GateClaim, 6> kGateClaims = {{
    {"snp.policy.debug", kGateDebug},
    {"tdx.td_attributes.debug", kGateDebug},
    {"sample.debug", kGateDebug},
    {"debug", kGateDebug},
    {"snp.policy.migrate_ma", kGateMigrate},
    {"tdx.td_attributes.migratable", kGateMigrate},
}};

bool IsTrue(const Claims& claims, std::string_view name) {
  auto it = claims.find(std::string(name));
  return it != claims.end() && it->second.is_boolean() && it->second.get<bool>();
}

bool IsLocal(const Node& rule) { return rule.authority_key == kLocalAuthority; }

bool ConstrainsTee(const Node& leaf) {
  if (leaf.claim != "tee") return false;
  if (leaf.op == Op::kEquals) return leaf.value.is_string();
  if (leaf.op == Op::kIn) {
    for (const auto& v : leaf.value) {
      if (!v.is_string()) return false;
    }
    return true;
  }
  return false;
}

// The path of a branch under `n` that can hold without constraining tee, or nullopt when every
// way for `n` to hold constrains it. allOf: one constraining child suffices; anyOf: every child
// must constrain.
std::optional<std::string> Unconstrained(const Node& n) {
  switch (n.kind) {
    case Node::Kind::kLeaf:
      if (ConstrainsTee(n)) return std::nullopt;
      return n.path;
    case Node::Kind::kAllOf:
      for (const auto& c : n.children) {
        if (!Unconstrained(c)) return std::nullopt;
      }
      return n.path;
    case Node::Kind::kAnyOf:
      for (const auto& c : n.children) {
        if (auto p = Unconstrained(c)) return p;
      }
      return std::nullopt;
  }
  return n.path;
}

}  // namespace

RaisedGates GatesRaisedBy(const Claims& claims) {
  RaisedGates out;
  for (const auto& g : kGateClaims) {
    if ((out.mask & g.gate) != 0 || !IsTrue(claims, g.claim)) continue;
    out.mask = static_cast<std::uint8_t>(out.mask | g.gate);
    (g.gate == kGateDebug ? out.debug_claim : out.migrate_claim) = std::string(g.claim);
  }
  return out;
}

std::uint8_t GatesAllowedBy(const Node& leaf) {
  if (leaf.kind != Node::Kind::kLeaf) return 0;
  // Only `equals true` is an explicit allow: `in [false, true]` reads as "either", which is
  // how a policy allows debug by accident.
  if (leaf.op != Op::kEquals || !leaf.value.is_boolean() || !leaf.value.get<bool>()) return 0;
  for (const auto& g : kGateClaims) {
    if (g.claim == leaf.claim) return g.gate;
  }
  return 0;
}

std::vector<std::string> UnconstrainedTeePaths(const Node& root) {
  std::vector<std::string> out;
  if (root.kind == Node::Kind::kAnyOf) {
    // Each skr:local rule grants on its own.
    for (const auto& rule : root.children) {
      if (!IsLocal(rule)) continue;
      if (auto p = Unconstrained(rule)) out.push_back(*p);
    }
    return out;
  }
  // A top-level allOf grants only when every rule matches the one evaluation authority: with a
  // rule of another authority it never grants for skr:local evidence; otherwise one rule that
  // constrains tee constrains the grant.
  for (const auto& rule : root.children) {
    if (!IsLocal(rule)) return out;
  }
  for (const auto& rule : root.children) {
    if (!Unconstrained(rule)) return out;
  }
  out.push_back(root.children.empty() ? std::string() : root.children.front().path);
  return out;
}

}  // namespace skr::policy
