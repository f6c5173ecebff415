// SPDX-License-Identifier: Apache-2.0
// Release policy parser. Grammar: Azure Key Vault "secure key release policy grammar"
// (authority / anyOf / allOf / claim conditions), extended as documented in policy.h and
// DESIGN.md section 4. Evaluation is in policy.cpp.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <utility>

#include "policy/ast.h"
#include "policy/policy.h"

namespace skr::policy {

namespace {

constexpr std::string_view kReasonSlug = "invalid_policy";

struct OpName {
  Op op;
  std::string_view lower;      // for case-insensitive matching
  std::string_view canonical;  // spelling used in traces and reasons
};

constexpr std::array<OpName, 8> kOps = {{
    {Op::kEquals, "equals", "equals"},
    {Op::kNotEquals, "notequals", "notEquals"},
    {Op::kLess, "less", "less"},
    {Op::kLessOrEquals, "lessorequals", "lessOrEquals"},
    {Op::kGreater, "greater", "greater"},
    {Op::kGreaterOrEquals, "greaterorequals", "greaterOrEquals"},
    {Op::kExists, "exists", "exists"},
    {Op::kIn, "in", "in"},
}};

std::optional<Op> LookupOp(std::string_view lower) {
  for (const auto& o : kOps) {
    if (o.lower == lower) return o.op;
  }
  return std::nullopt;
}

}  // namespace

std::string_view OpToString(Op op) {
  for (const auto& o : kOps) {
    if (o.op == op) return o.canonical;
  }
  return "?";
}

namespace {

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

Error Invalid(const std::string& path, const std::string& message) {
  return Error(ErrorCode::kInvalidArgument,
               (path.empty() ? std::string("policy") : path) + ": " + message,
               std::string(kReasonSlug));
}

std::string Join(const std::string& base, std::string_view member) {
  return base.empty() ? std::string(member) : base + "." + std::string(member);
}

// The members of a JSON object, keyed by lower-case name. Member names are matched
// case-insensitively (Azure accepts "AnyOf" and "anyOf"), so two names that differ only in case
// would be ambiguous: reject them.
struct Member {
  std::string lower;
  std::string name;  // as written
  const Json* value;
};

Result<std::vector<Member>> CollectMembers(const Json& obj, const std::string& path) {
  std::vector<Member> out;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    std::string lower = ToLower(it.key());
    for (const auto& m : out) {
      if (m.lower == lower) {
        return Invalid(path, "duplicate member '" + it.key() + "' (names are case-insensitive)");
      }
    }
    out.push_back(Member{std::move(lower), it.key(), &*it});
  }
  return out;
}

const Member* Find(const std::vector<Member>& members, std::string_view lower) {
  for (const auto& m : members) {
    if (m.lower == lower) return &m;
  }
  return nullptr;
}

bool IsGroupName(std::string_view lower) { return lower == "anyof" || lower == "allof"; }

// Exactly one anyOf/allOf member among `members`, or an error naming the problem.
Result<const Member*> FindGroup(const std::vector<Member>& members, const std::string& path) {
  const Member* group = nullptr;
  for (const auto& m : members) {
    if (!IsGroupName(m.lower)) continue;
    if (group != nullptr) {
      return Invalid(path, "both '" + group->name + "' and '" + m.name +
                               "'; exactly one of anyOf/allOf is allowed");
    }
    group = &m;
  }
  return group;
}

// Removes trailing '/' and lower-cases the scheme and host[:port] of http(s) URLs, so
// "https://SharedEus.eus.attest.azure.net/" and "https://sharedeus.eus.attest.azure.net" match.
}  // namespace

std::string NormalizeAuthority(std::string_view a) {
  while (!a.empty() && a.back() == '/') a.remove_suffix(1);
  std::string out(a);
  const std::string lower = ToLower(out);
  std::size_t scheme_end = 0;
  if (lower.rfind("https://", 0) == 0) {
    scheme_end = 8;
  } else if (lower.rfind("http://", 0) == 0) {
    scheme_end = 7;
  }
  if (scheme_end != 0) {
    std::size_t host_end = out.find('/', scheme_end);
    if (host_end == std::string::npos) host_end = out.size();
    for (std::size_t i = 0; i < host_end; ++i) out[i] = lower[i];
  }
  return out;
}

namespace {

bool IsComparableValue(const Json& v) {
  return v.is_string() || v.is_number() || v.is_boolean() || v.is_array();
}

Result<void> ValidateOperand(Op op, const Json& v, const std::string& path) {
  const std::string name(OpToString(op));
  switch (op) {
    case Op::kEquals:
    case Op::kNotEquals:
      if (!IsComparableValue(v)) {
        return Invalid(path, "'" + name + "' needs a string, number, bool or array value");
      }
      return Ok();
    case Op::kLess:
    case Op::kLessOrEquals:
    case Op::kGreater:
    case Op::kGreaterOrEquals:
      if (!v.is_number() || (v.is_number_float() && !std::isfinite(v.get<double>()))) {
        return Invalid(path, "'" + name + "' needs a number value");
      }
      return Ok();
    case Op::kExists:
      if (!v.is_boolean()) return Invalid(path, "'exists' needs a bool value");
      return Ok();
    case Op::kIn:
      if (!v.is_array() || v.empty()) return Invalid(path, "'in' needs a non-empty array");
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (!IsComparableValue(v[i])) {
          return Invalid(path, "'in' element " + std::to_string(i) +
                                   " must be a string, number, bool or array");
        }
      }
      return Ok();
  }
  return Invalid(path, "unsupported operator");
}

Result<Node> ParseLeaf(const std::vector<Member>& members, const std::string& path) {
  const Member* claim = nullptr;
  std::vector<std::pair<Op, const Member*>> ops;
  for (const auto& m : members) {
    if (m.lower == "claim") {
      claim = &m;
    } else if (auto op = LookupOp(m.lower)) {
      ops.emplace_back(*op, &m);
    } else if (m.lower == "authority") {
      return Invalid(path, "'authority' is only allowed in top-level rules");
    } else {
      return Invalid(path, "unknown operator '" + m.name + "'");
    }
  }
  if (claim == nullptr) return Invalid(path, "missing 'claim'");
  if (!claim->value->is_string() || claim->value->get_ref<const std::string&>().empty()) {
    return Invalid(path, "'claim' must be a non-empty string");
  }
  if (ops.empty()) {
    return Invalid(path,
                   "no operator (expected one of equals, notEquals, less, lessOrEquals, "
                   "greater, greaterOrEquals, exists, in)");
  }
  if (ops.size() > 1) {
    return Invalid(path, "several operators ('" + ops[0].second->name + "', '" +
                             ops[1].second->name + "'); exactly one is allowed");
  }
  SKR_TRY_VOID(ValidateOperand(ops[0].first, *ops[0].second->value, path));
  Node n;
  n.kind = Node::Kind::kLeaf;
  n.path = path;
  n.claim = claim->value->get<std::string>();
  n.op = ops[0].first;
  n.value = *ops[0].second->value;
  return n;
}

Result<Node> ParseCondition(const Json& j, const std::string& path, int level);
Result<Node> ParseElement(const Json& j, const std::string& path);

// Parses the array of an anyOf/allOf member of the object at `obj_path`. `level` is the nesting
// level of this group (the document's group is level 1).
Result<Node> ParseGroup(const Member& group, const std::string& obj_path, int level,
                        bool top_level) {
  const std::string path = Join(obj_path, group.name);
  if (level > kMaxDepth) {
    return Invalid(path, "nesting deeper than " + std::to_string(kMaxDepth) + " levels");
  }
  if (!group.value->is_array()) return Invalid(path, "must be an array");
  if (group.value->empty()) return Invalid(path, "must not be empty");
  Node n;
  n.kind = group.lower == "allof" ? Node::Kind::kAllOf : Node::Kind::kAnyOf;
  n.path = obj_path;
  n.children.reserve(group.value->size());
  for (std::size_t i = 0; i < group.value->size(); ++i) {
    const std::string child_path = path + "[" + std::to_string(i) + "]";
    const Json& child = (*group.value)[i];
    if (top_level) {
      SKR_TRY(Node c, ParseElement(child, child_path));
      n.children.push_back(std::move(c));
    } else {
      SKR_TRY(Node c, ParseCondition(child, child_path, level));
      n.children.push_back(std::move(c));
    }
  }
  return n;
}

// A condition inside a group of nesting level `level`: a nested group or a leaf.
Result<Node> ParseCondition(const Json& j, const std::string& path, int level) {
  if (!j.is_object()) return Invalid(path, "condition must be a JSON object");
  SKR_TRY(std::vector<Member> members, CollectMembers(j, path));
  if (members.empty()) return Invalid(path, "empty condition object");
  SKR_TRY(const Member* group, FindGroup(members, path));
  if (group == nullptr) return ParseLeaf(members, path);
  for (const auto& m : members) {
    if (&m == group) continue;
    if (m.lower == "authority") {
      return Invalid(path, "'authority' is only allowed in top-level rules");
    }
    return Invalid(path, "unknown member '" + m.name + "' next to '" + group->name + "'");
  }
  return ParseGroup(*group, path, level + 1, /*top_level=*/false);
}

// An element of the document's anyOf/allOf: a rule with an authority, or a bare condition that
// is a rule for skr:local.
Result<Node> ParseElement(const Json& j, const std::string& path) {
  if (!j.is_object()) return Invalid(path, "rule must be a JSON object");
  SKR_TRY(std::vector<Member> members, CollectMembers(j, path));
  const Member* authority = Find(members, "authority");
  if (authority == nullptr) {
    SKR_TRY(Node n, ParseCondition(j, path, 1));
    n.authority = std::string(kLocalAuthority);
    n.authority_key = NormalizeAuthority(n.authority);
    return n;
  }
  if (!authority->value->is_string() || authority->value->get_ref<const std::string&>().empty()) {
    return Invalid(path, "'authority' must be a non-empty string");
  }
  SKR_TRY(const Member* group, FindGroup(members, path));
  if (group == nullptr) return Invalid(path, "rule needs one of anyOf/allOf");
  for (const auto& m : members) {
    if (&m == group || &m == authority) continue;
    return Invalid(path, "unknown member '" + m.name + "' in rule");
  }
  SKR_TRY(Node n, ParseGroup(*group, path, 2, /*top_level=*/false));
  n.authority = authority->value->get<std::string>();
  n.authority_key = NormalizeAuthority(n.authority);
  return n;
}

}  // namespace

Result<Node> ParseDocument(const Json& doc) {
  if (!doc.is_object()) return Invalid("", "document must be a JSON object");
  SKR_TRY(std::vector<Member> members, CollectMembers(doc, ""));
  for (const auto& m : members) {
    if (m.lower == "version") {
      if (!m.value->is_string()) return Invalid("", "'version' must be a string");
    } else if (!IsGroupName(m.lower)) {
      return Invalid("", "unknown member '" + m.name + "'");
    }
  }
  SKR_TRY(const Member* group, FindGroup(members, ""));
  if (group == nullptr) return Invalid("", "document needs one of anyOf/allOf");
  return ParseGroup(*group, "", 1, /*top_level=*/true);
}


Result<Policy> Policy::Parse(const Json& document) {
  SKR_TRY(Node root, ParseDocument(document));
  Policy p;
  p.document_ = document;
  p.root_ = std::make_shared<const Node>(std::move(root));
  return p;
}

std::vector<std::string> Policy::UnconstrainedTeePaths() const {
  if (root_ == nullptr) return {};
  return policy::UnconstrainedTeePaths(*root_);
}

Result<Policy> Policy::ParseText(std::string_view text) {
  // JSON depth allowance: each policy nesting level costs an object and an array, plus the leaf;
  // 64 leaves room so kMaxDepth is reported by Parse with a precise path.
  SKR_TRY(Json doc, ParseJson(text, std::size_t{1} << 20, 4 * kMaxDepth));
  return Parse(doc);
}

}  // namespace skr::policy
