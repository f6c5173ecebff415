// SPDX-License-Identifier: Apache-2.0
// Release policy evaluation with a trace of every condition (DESIGN.md section 4); parsing is in
// parse.cpp.
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

constexpr std::size_t kMaxClaimInReason = 100;
constexpr std::size_t kMaxValueInReason = 80;
constexpr std::size_t kMaxArrayElementInReason = 40;

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
