// SPDX-License-Identifier: Apache-2.0
// Release policy parser and evaluator. Grammar: Azure Key Vault "secure key release policy
// grammar" (authority / anyOf / allOf / claim conditions), extended as documented in policy.h
// and DESIGN.md section 4.
#include "policy/policy.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <utility>

#include "policy/ast.h"

namespace skr::policy {

namespace {

constexpr std::string_view kReasonSlug = "invalid_policy";
// Caps for the pieces of Decision::reason (together well below kMaxReasonLength).
constexpr std::size_t kMaxClaimInReason = 100;
constexpr std::size_t kMaxValueInReason = 80;
constexpr std::size_t kMaxArrayElementInReason = 40;

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

std::string_view OpToString(Op op) {
  for (const auto& o : kOps) {
    if (o.op == op) return o.canonical;
  }
  return "?";
}

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

// ---- Evaluation ----

// Three-way comparison of two JSON numbers without rounding 64-bit integers through double.
// nullopt when unordered (NaN).
std::optional<int> CompareNumbers(const Json& a, const Json& b) {
  auto sign = [](auto x, auto y) { return x < y ? -1 : (y < x ? 1 : 0); };
  const bool a_float = a.is_number_float();
  const bool b_float = b.is_number_float();
  if (!a_float && !b_float) {
    const bool a_unsigned = a.is_number_unsigned();
    const bool b_unsigned = b.is_number_unsigned();
    if (a_unsigned == b_unsigned) {
      return a_unsigned ? sign(a.get<std::uint64_t>(), b.get<std::uint64_t>())
                        : sign(a.get<std::int64_t>(), b.get<std::int64_t>());
    }
    if (a_unsigned) {
      const std::int64_t bv = b.get<std::int64_t>();
      if (bv < 0) return 1;
      return sign(a.get<std::uint64_t>(), static_cast<std::uint64_t>(bv));
    }
    const std::int64_t av = a.get<std::int64_t>();
    if (av < 0) return -1;
    return sign(static_cast<std::uint64_t>(av), b.get<std::uint64_t>());
  }
  // long double holds every int64/uint64 and double exactly on the supported targets
  // (x86-64 80-bit extended, aarch64 binary128).
  auto to_ld = [](const Json& v) -> long double {
    if (v.is_number_float()) return static_cast<long double>(v.get<double>());
    if (v.is_number_unsigned()) return static_cast<long double>(v.get<std::uint64_t>());
    return static_cast<long double>(v.get<std::int64_t>());
  };
  const long double x = to_ld(a);
  const long double y = to_ld(b);
  if (std::isnan(x) || std::isnan(y)) return std::nullopt;
  return sign(x, y);
}

enum class Category { kNull, kBool, kNumber, kString, kArray, kObject, kOther };

Category CategoryOf(const Json& v) {
  if (v.is_null()) return Category::kNull;
  if (v.is_boolean()) return Category::kBool;
  if (v.is_number()) return Category::kNumber;
  if (v.is_string()) return Category::kString;
  if (v.is_array()) return Category::kArray;
  if (v.is_object()) return Category::kObject;
  return Category::kOther;
}

// JSON equality with numbers compared by value across integer/unsigned/float.
bool JsonEquals(const Json& a, const Json& b) {
  const Category ca = CategoryOf(a);
  if (ca != CategoryOf(b)) return false;
  switch (ca) {
    case Category::kNumber: {
      const auto c = CompareNumbers(a, b);
      return c.has_value() && *c == 0;
    }
    case Category::kArray:
      if (a.size() != b.size()) return false;
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (!JsonEquals(a[i], b[i])) return false;
      }
      return true;
    case Category::kObject:
      if (a.size() != b.size()) return false;
      for (auto it = a.begin(); it != a.end(); ++it) {
        auto other = b.find(it.key());
        if (other == b.end() || !JsonEquals(*it, *other)) return false;
      }
      return true;
    case Category::kNull:
    case Category::kBool:
    case Category::kString:
      return a == b;
    case Category::kOther:
      return false;
  }
  return false;
}

bool EvaluateLeaf(const Node& n, const Json* claim) {
  if (n.op == Op::kExists) return (claim != nullptr) == n.value.get<bool>();
  if (claim == nullptr) return false;
  switch (n.op) {
    case Op::kEquals:
      return JsonEquals(*claim, n.value);
    case Op::kNotEquals:
      // Fail closed: a type mismatch is not evidence of inequality.
      return CategoryOf(*claim) == CategoryOf(n.value) && !JsonEquals(*claim, n.value);
    case Op::kLess:
    case Op::kLessOrEquals:
    case Op::kGreater:
    case Op::kGreaterOrEquals: {
      if (!claim->is_number()) return false;
      const auto c = CompareNumbers(*claim, n.value);
      if (!c.has_value()) return false;
      if (n.op == Op::kLess) return *c < 0;
      if (n.op == Op::kLessOrEquals) return *c <= 0;
      if (n.op == Op::kGreater) return *c > 0;
      return *c >= 0;
    }
    case Op::kIn:
      for (const auto& candidate : n.value) {
        if (JsonEquals(*claim, candidate)) return true;
      }
      return false;
    case Op::kExists:
      break;
  }
  return false;
}

// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
std::string CutUtf8(std::string_view s, std::size_t max) {
  if (s.size() <= max) return std::string(s);
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0U) == 0x80U) --end;
  return std::string(s.substr(0, end));
}

// Text safe for a reason: valid UTF-8 (DumpJson replaces invalid sequences), without quotes.
std::string PlainText(const std::string& s, std::size_t max) {
  std::string dumped = DumpJson(Json(s));
  dumped = dumped.substr(1, dumped.size() - 2);
  if (dumped.size() <= max) return dumped;
  return CutUtf8(dumped, max - 2) + "..";
}

// A short rendering of a value: `"ab12.."` for long strings, `[1,2,..]` for long arrays.
std::string ShortValue(const Json& v, std::size_t max) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    std::string full = DumpJson(v);
    if (full.size() <= max) return full;
    // Shrink the raw string until its quoted form (plus "..") fits; escapes may expand it.
    std::size_t keep = max;
    for (;;) {
      std::string cut = DumpJson(Json(CutUtf8(s, keep)));
      if (cut.size() + 2 <= max || keep == 0) {
        cut.insert(cut.size() - 1, "..");
        return cut;
      }
      // Scale by the escape expansion seen so far; always make progress.
      const std::size_t scaled = keep * max / (cut.size() + 2);
      keep = std::min(keep - 1, scaled);
    }
  }
  if (v.is_array()) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) {
      std::string item = ShortValue(v[i], kMaxArrayElementInReason);
      const std::size_t sep = i == 0 ? 0 : 1;
      // Room for the item, and for ",..]" if more follow.
      if (out.size() + sep + item.size() + 4 > max) {
        out += i == 0 ? "..]" : ",..]";
        return out;
      }
      if (sep != 0) out += ",";
      out += item;
    }
    return out + "]";
  }
  std::string full = DumpJson(v);
  if (full.size() <= max) return full;
  return CutUtf8(full, max - 2) + "..";
}

// A set of explicit-allow masks (each a combination of Gate bits) a node can hold with: bit m
// set means "holds through leaves allowing exactly the gates of m". Empty set: does not hold.
using MaskSet = std::uint16_t;
static_assert(kAllGates < 16, "a MaskSet has one bit per gate combination");

MaskSet CombineAll(MaskSet a, MaskSet b) {
  MaskSet out = 0;
  for (unsigned x = 0; x <= kAllGates; ++x) {
    if ((a & (1U << x)) == 0) continue;
    for (unsigned y = 0; y <= kAllGates; ++y) {
      if ((b & (1U << y)) != 0) out = static_cast<MaskSet>(out | (1U << (x | y)));
    }
  }
  return out;
}

// Some way to hold allows every gate of `required`.
bool Covers(MaskSet set, std::uint8_t required) {
  for (unsigned m = 0; m <= kAllGates; ++m) {
    if ((set & (1U << m)) != 0 && (m & required) == required) return true;
  }
  return false;
}

struct RuleOutcome {
  const Node* rule = nullptr;
  bool authority_matches = false;
  bool conditions = false;
  MaskSet masks = 0;      // how the conditions can hold (explicit allows)
  std::size_t blame = 0;  // trace index of the failing leaf to report
};

class Evaluator {
 public:
  Evaluator(const Claims& claims, std::string_view authority, std::vector<TraceEntry>& trace)
      : claims_(claims),
        authority_(authority),
        authority_key_(NormalizeAuthority(authority)),
        trace_(trace) {}

  // Evaluates every descendant (no short circuit). When false, *blame is the trace index of
  // the leaf that explains it: the first false child of an allOf, the first child of an anyOf.
  // *masks receives the explicit-allow masks the node can hold with (empty iff false).
  bool Evaluate(const Node& n, const std::string& authority, std::size_t* blame, MaskSet* masks) {
    if (n.kind == Node::Kind::kLeaf) {
      auto it = claims_.find(n.claim);
      const Json* claim = it == claims_.end() ? nullptr : &it->second;
      const bool result = EvaluateLeaf(n, claim);
      *blame = trace_.size();
      trace_.push_back(TraceEntry{n.path, authority, n.claim, std::string(OpToString(n.op)),
                                  n.value, claim == nullptr ? Json() : *claim, result});
      missing_.push_back(claim == nullptr);
      *masks = result ? static_cast<MaskSet>(1U << GatesAllowedBy(n)) : MaskSet{0};
      return result;
    }
    const bool all = n.kind == Node::Kind::kAllOf;
    bool result = all;
    bool have_blame = false;
    *masks = all ? MaskSet{1} : MaskSet{0};
    for (const auto& child : n.children) {
      std::size_t child_blame = 0;
      MaskSet child_masks = 0;
      const bool r = Evaluate(child, authority, &child_blame, &child_masks);
      *masks = all ? CombineAll(*masks, child_masks) : static_cast<MaskSet>(*masks | child_masks);
      if (all) {
        result = result && r;
        if (!r && !have_blame) {
          *blame = child_blame;
          have_blame = true;
        }
      } else {
        result = result || r;
        if (!have_blame) {
          *blame = child_blame;
          have_blame = true;
        }
      }
    }
    return result;
  }

  // The authority check of a top-level element, traced as a structural entry.
  bool CheckAuthority(const Node& rule) {
    const bool match = rule.authority_key == authority_key_;
    trace_.push_back(
        TraceEntry{rule.path, rule.authority, "", "authority", rule.authority, authority_, match});
    missing_.push_back(false);
    return match;
  }

  [[nodiscard]] bool missing(std::size_t index) const { return missing_[index]; }

 private:
  const Claims& claims_;
  const std::string authority_;
  const std::string authority_key_;
  std::vector<TraceEntry>& trace_;
  std::vector<bool> missing_;  // parallel to trace_: claim absent (actual null means missing)
};

const char* KindOf(const Json& v) {
  if (v.is_string()) return "string";
  if (v.is_number()) return "number";
  if (v.is_boolean()) return "bool";
  if (v.is_array()) return "array";
  return "null";
}

// Why a present claim can never satisfy the leaf because of its JSON type ("" when the types
// agree and the values simply differ): "the claim is a string, the condition a number".
std::string TypeMismatch(const TraceEntry& e) {
  const Json& a = e.actual;
  if (e.op == "less" || e.op == "lessOrEquals" || e.op == "greater" || e.op == "greaterOrEquals") {
    return a.is_number() ? "" : std::string("the claim is a ") + KindOf(a) + ", the condition compares numbers";
  }
  if (e.op == "in" && e.expected.is_array()) {
    for (const auto& v : e.expected) {
      if (std::string_view(KindOf(v)) == KindOf(a)) return "";
    }
    return std::string("the claim is a ") + KindOf(a) + ", the list holds no " + KindOf(a);
  }
  if (e.op == "equals" || e.op == "notEquals") {
    if (std::string_view(KindOf(e.expected)) == KindOf(a)) return "";
    return std::string("the claim is a ") + KindOf(a) + ", the condition a " + KindOf(e.expected);
  }
  return "";
}

// "<claim> <op> <expected> (got <actual>)", with a type mismatch named as such. `full` (the admin
// view: dry run) keeps every value whole, hex included; otherwise values are shortened and the
// reason bounded (audit records, logs).
std::string LeafReason(const TraceEntry& e, bool missing, bool full = false) {
  auto value = [full](const Json& v) { return full ? DumpJson(v) : ShortValue(v, kMaxValueInReason); };
  std::string out = (full ? DumpJson(Json(e.claim)).substr(1, DumpJson(Json(e.claim)).size() - 2)
                          : PlainText(e.claim, kMaxClaimInReason)) +
                    " " + e.op + " " + value(e.expected);
  if (missing) {
    out += " (claim missing)";
  } else {
    const std::string mismatch = TypeMismatch(e);
    out += " (got " + value(e.actual) + (mismatch.empty() ? "" : ": type mismatch, " + mismatch) + ")";
  }
  return full ? out : CutUtf8(out, kMaxReasonLength);
}

}  // namespace

Json Decision::TraceJson() const {
  Json out = Json::array();
  for (const auto& e : trace) {
    out.push_back(Json{{"path", e.path},
                       {"authority", e.authority},
                       {"claim", e.claim},
                       {"op", e.op},
                       {"expected", e.expected},
                       {"actual", e.actual},
                       {"result", e.result}});
  }
  return out;
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

Decision Policy::Evaluate(const Claims& claims, std::string_view authority) const {
  Decision d;
  if (root_ == nullptr) {
    d.reason = "empty policy";
    return d;
  }
  const std::string auth(authority);
  Evaluator ev(claims, authority, d.trace);
  std::vector<RuleOutcome> outcomes;
  outcomes.reserve(root_->children.size());
  for (const auto& rule : root_->children) {
    RuleOutcome o;
    o.rule = &rule;
    o.authority_matches = ev.CheckAuthority(rule);
    o.conditions = ev.Evaluate(rule, rule.authority, &o.blame, &o.masks);
    outcomes.push_back(o);
  }
  const bool all = root_->kind == Node::Kind::kAllOf;
  bool allowed = all;
  MaskSet masks = all ? MaskSet{1} : MaskSet{0};
  for (const auto& o : outcomes) {
    const bool r = o.authority_matches && o.conditions;
    allowed = all ? (allowed && r) : (allowed || r);
    const MaskSet m = o.authority_matches ? o.masks : MaskSet{0};
    masks = all ? CombineAll(masks, m) : static_cast<MaskSet>(masks | m);
  }
  if (allowed) {
    // Debug or migration reported: grant only through a path that allows it explicitly.
    const RaisedGates raised = GatesRaisedBy(claims);
    if (Covers(masks, raised.mask)) {
      d.allowed = true;
      return d;
    }
    const bool debug_blocks = (raised.mask & kGateDebug) != 0 && !Covers(masks, kGateDebug);
    const std::string& claim = debug_blocks || (raised.mask & kGateMigrate) == 0
                                   ? raised.debug_claim
                                   : raised.migrate_claim;
    d.trace.push_back(TraceEntry{"", auth, claim, "explicitAllow", true, true, false});
    d.failing_claim = claim;
    d.reason = CutUtf8(PlainText(claim, kMaxClaimInReason) +
                           " is true and no condition on the granting path allows it explicitly "
                           "(add {\"claim\": \"" + PlainText(claim, kMaxClaimInReason) +
                           "\", \"equals\": true})",
                       kMaxReasonLength);
    return d;
  }

  for (const auto& o : outcomes) {
    if (o.authority_matches && !o.conditions) {
      d.reason = LeafReason(d.trace[o.blame], ev.missing(o.blame));
      d.detail = LeafReason(d.trace[o.blame], ev.missing(o.blame), /*full=*/true);
      d.failing_claim = d.trace[o.blame].claim;
      return d;
    }
  }
  const RuleOutcome* unmatched = nullptr;
  bool any_matched = false;
  for (const auto& o : outcomes) {
    if (o.authority_matches) {
      any_matched = true;
    } else if (unmatched == nullptr) {
      unmatched = &o;
    }
  }
  if (!any_matched || unmatched == nullptr) {
    d.reason = CutUtf8("no rule for authority " + PlainText(auth, kMaxValueInReason * 2),
                       kMaxReasonLength);
  } else {
    d.reason = CutUtf8("rule " + PlainText(unmatched->rule->path, kMaxValueInReason) +
                           " requires authority " +
                           PlainText(unmatched->rule->authority, kMaxValueInReason) + " (got " +
                           PlainText(auth, kMaxValueInReason) + ")",
                       kMaxReasonLength);
  }
  return d;
}

}  // namespace skr::policy
