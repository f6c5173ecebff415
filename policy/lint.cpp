// SPDX-License-Identifier: Apache-2.0
// Policy lint at store time (DESIGN.md section 4, "Lint when stored"; issue 12): the mistakes
// that make a policy deny every VM without a word (a misspelt claim, uppercase hex, "4" against a
// number, a TEE name no verifier produces) are refused when the policy is stored, each with its
// JSON path, instead of at the next boot of every VM of the tenant.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>
#include <vector>

#include "policy/ast.h"
#include "policy/claim_catalogue.h"
#include "policy/policy.h"

namespace skr::policy {
namespace {

using Problems = std::vector<Error::Problem>;

const char* OpName(Op op) {
  switch (op) {
    case Op::kEquals: return "equals";
    case Op::kNotEquals: return "notEquals";
    case Op::kLess: return "less";
    case Op::kLessOrEquals: return "lessOrEquals";
    case Op::kGreater: return "greater";
    case Op::kGreaterOrEquals: return "greaterOrEquals";
    case Op::kExists: return "exists";
    case Op::kIn: return "in";
  }
  return "?";
}

std::string At(const std::string& path, const std::string& member) {
  return path.empty() ? member : path + "." + member;
}

const char* JsonTypeName(const Json& v) {
  if (v.is_string()) return "string";
  if (v.is_boolean()) return "bool";
  if (v.is_number()) return "number";
  if (v.is_array()) return "array";
  return "value";
}

bool IsIntegral(const Json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  const double d = v.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

// Why `v` can never equal a value of `spec`'s claim ("" when it can).
std::string ValueProblem(const ClaimSpec& spec, const Json& v) {
  const std::string claim(spec.name);
  switch (spec.type) {
    case ClaimType::kAny:
      return "";
    case ClaimType::kBool:
      if (v.is_boolean()) return "";
      return std::string(JsonTypeName(v)) + " value can never match '" + claim +
             "', a bool: write true or false without quotes";
    case ClaimType::kInteger:
      if (IsIntegral(v)) return "";
      if (v.is_string()) {
        return "string value can never match '" + claim + "', an integer: write " +
               v.get<std::string>() + " without quotes";
      }
      return std::string(JsonTypeName(v)) + " value can never match '" + claim + "', an integer";
    case ClaimType::kIntegerList:
      if (v.is_array() && std::all_of(v.begin(), v.end(), IsIntegral)) return "";
      return std::string(JsonTypeName(v)) + " value can never match '" + claim + "', a list of integers";
    case ClaimType::kStringList:
      if (v.is_array() && std::all_of(v.begin(), v.end(), [](const Json& x) { return x.is_string(); })) {
        return "";
      }
      return std::string(JsonTypeName(v)) + " value can never match '" + claim + "', a list of strings";
    case ClaimType::kString: {
      if (!v.is_string()) {
        return std::string(JsonTypeName(v)) + " value can never match '" + claim + "', a string";
      }
      if (spec.values.empty()) return "";
      const std::string& s = v.get_ref<const std::string&>();
      std::string_view rest = spec.values;
      while (!rest.empty()) {
        const auto bar = rest.find('|');
        if (rest.substr(0, bar) == s) return "";
        rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
      }
      std::string listed(spec.values);
      std::replace(listed.begin(), listed.end(), '|', ',');
      return "'" + claim + "' is never '" + s + "': it is one of " + listed;
    }
    case ClaimType::kHex: {
      if (!v.is_string()) {
        return std::string(JsonTypeName(v)) + " value can never match '" + claim + "', a hex string";
      }
      const std::string& s = v.get_ref<const std::string&>();
      if (!std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; })) {
        return "'" + claim + "' is hex: the value has characters that are not hex digits";
      }
      if (std::any_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'F'; })) {
        return "'" + claim + "' is lowercase hex: an uppercase digit never matches (write it in lowercase)";
      }
      if (spec.hex_bytes != 0 && s.size() != spec.hex_bytes * 2) {
        return "'" + claim + "' is " + std::to_string(spec.hex_bytes) + " bytes (" +
               std::to_string(spec.hex_bytes * 2) + " hex digits), the value has " +
               std::to_string(s.size()) + " digits";
      }
      if (s.size() % 2 != 0) return "'" + claim + "' is whole bytes: the value has an odd number of digits";
      return "";
    }
  }
  return "";
}

// The TEE bits `leaf` (a `tee` condition) allows; all bits for conditions that do not narrow.
std::uint8_t TeesAllowedBy(const Node& leaf) {
  if (leaf.op == Op::kEquals && leaf.value.is_string()) {
    return TeeBit(leaf.value.get<std::string>()).value_or(0);
  }
  if (leaf.op == Op::kIn && leaf.value.is_array()) {
    std::uint8_t bits = 0;
    for (const auto& v : leaf.value) {
      if (v.is_string()) bits |= TeeBit(v.get<std::string>()).value_or(0);
    }
    return bits;
  }
  return kAllTees;
}

void LintTeeLeaf(const Node& leaf, Problems& out) {
  const std::string path = At(leaf.path, OpName(leaf.op));
  auto check = [&](const Json& v, const std::string& at) {
    if (!v.is_string()) {
      out.push_back({at, std::string(JsonTypeName(v)) + " value can never match 'tee', a string"});
    } else if (!TeeBit(v.get<std::string>())) {
      out.push_back({at, "no verifier produces tee '" + v.get<std::string>() + "' (known: " +
                             TeeNames(kAllTees) + ")"});
    }
  };
  if (leaf.op == Op::kIn) {
    for (std::size_t i = 0; i < leaf.value.size(); ++i) check(leaf.value[i], path + "[" + std::to_string(i) + "]");
  } else if (leaf.op == Op::kEquals || leaf.op == Op::kNotEquals) {
    check(leaf.value, path);
  } else if (leaf.op != Op::kExists) {
    out.push_back({path, "'tee' is a string: '" + std::string(OpName(leaf.op)) + "' compares numbers"});
  }
}

void LintLeaf(const Node& leaf, std::uint8_t tees, Problems& out) {
  if (leaf.claim == "tee") {
    LintTeeLeaf(leaf, out);
    return;
  }
  const std::string path = At(leaf.path, "claim");
  const ClaimSpec* spec = FindClaim(leaf.claim, tees);
  if (spec == nullptr) {
    if (const ClaimSpec* elsewhere = FindClaim(leaf.claim, kAllTees)) {
      out.push_back({path, "'" + leaf.claim + "' is produced only for tee " + TeeNames(elsewhere->tees) +
                               ", and this path allows tee " + TeeNames(tees)});
      return;
    }
    std::string msg = "no verifier produces the claim '" + leaf.claim + "'";
    if (tees != kAllTees) msg += " for tee " + TeeNames(tees);
    const std::string nearest = NearestClaim(leaf.claim, tees);
    msg += nearest.empty() ? " (`skrctl claims` lists them)" : " (did you mean '" + nearest + "'?)";
    out.push_back({path, msg});
    return;
  }
  const std::string op_path = At(leaf.path, OpName(leaf.op));
  switch (leaf.op) {
    case Op::kExists:
      return;
    case Op::kLess:
    case Op::kLessOrEquals:
    case Op::kGreater:
    case Op::kGreaterOrEquals:
      if (spec->type != ClaimType::kInteger && spec->type != ClaimType::kAny) {
        out.push_back({op_path, "'" + leaf.claim + "' is a " + TypeName(*spec) + ": '" + OpName(leaf.op) +
                                    "' compares numbers and can never hold"});
      }
      return;
    case Op::kEquals:
    case Op::kNotEquals:
      if (auto why = ValueProblem(*spec, leaf.value); !why.empty()) out.push_back({op_path, why});
      return;
    case Op::kIn:
      for (std::size_t i = 0; i < leaf.value.size(); ++i) {
        if (auto why = ValueProblem(*spec, leaf.value[i]); !why.empty()) {
          out.push_back({op_path + "[" + std::to_string(i) + "]", why});
        }
      }
      return;
  }
}

void Walk(const Node& node, std::uint8_t tees, Problems& out) {
  if (node.kind == Node::Kind::kLeaf) {
    LintLeaf(node, tees, out);
    return;
  }
  std::uint8_t child_tees = tees;
  if (node.kind == Node::Kind::kAllOf) {
    // Every child of an allOf holds together: its `tee` leaves narrow what the others see.
    for (const Node& c : node.children) {
      if (c.kind == Node::Kind::kLeaf && c.claim == "tee") child_tees &= TeesAllowedBy(c);
    }
    if (child_tees == 0) {
      // Unknown tee names are reported on their own leaves; this is the contradiction.
      const bool names_known = std::all_of(node.children.begin(), node.children.end(), [](const Node& c) {
        return c.kind != Node::Kind::kLeaf || c.claim != "tee" || TeesAllowedBy(c) != 0;
      });
      if (names_known) {
        out.push_back({node.path.empty() ? "policy" : node.path,
                       "the conditions on 'tee' here allow no evidence type at once: this path never grants"});
      }
      child_tees = tees;  // lint the children against what the path claimed to allow
    }
  }
  for (const Node& c : node.children) Walk(c, child_tees, out);
}

}  // namespace

std::vector<Error::Problem> Policy::Lint() const {
  Problems out;
  if (root_ == nullptr) return out;
  // The document's group: its children are the top-level elements (rules). Only skr:local
  // rules are judged by skrd's own verifiers.
  std::uint8_t tees = kAllTees;
  if (root_->kind == Node::Kind::kAllOf) {
    for (const Node& c : root_->children) {
      if (c.kind == Node::Kind::kLeaf && c.claim == "tee" && c.authority_key == kLocalAuthority) {
        tees &= TeesAllowedBy(c);
      }
    }
    if (tees == 0) tees = kAllTees;
  }
  for (const Node& element : root_->children) {
    if (element.authority_key != kLocalAuthority) continue;
    Walk(element, tees, out);
  }
  return out;
}

Result<void> Policy::ValidateForStore() const {
  Problems problems = Lint();
  const bool lint = !problems.empty();
  for (const std::string& path : UnconstrainedTeePaths()) {
    problems.push_back({path.empty() ? "policy" : path,
                        "can grant without saying which TEE it trusts; add {\"claim\": \"tee\", "
                        "\"equals\": \"<evidence type>\"} (or \"in\": [...]) to every skr:local path"});
  }
  if (problems.empty()) return Ok();
  std::string message = problems.front().path + ": " + problems.front().message;
  if (problems.size() > 1) {
    message += " (and " + std::to_string(problems.size() - 1) + " more problem" +
               (problems.size() > 2 ? "s" : "") + ")";
  }
  return Error(ErrorCode::kInvalidArgument, std::move(message),
               lint ? "policy_lint" : "policy_tee_unconstrained")
      .WithProblems(std::move(problems));
}

}  // namespace skr::policy
