// SPDX-License-Identifier: Apache-2.0
// RFC 9162 section 2.1 (Merkle Tree Hash, inclusion and consistency proofs). The proof
// generators follow the recursive definitions of sections 2.1.3.1 and 2.1.4.1 over ranges of
// leaves; the verifiers follow the iterative algorithms of sections 2.1.3.2 and 2.1.4.2.
#include "common/merkle.h"

#include <bit>

#include "common/ossl.h"

namespace skr::merkle {
namespace {

Hash Sha256Parts(std::uint8_t prefix, std::span<const std::uint8_t> a,
                 std::span<const std::uint8_t> b) {
  std::vector<std::uint8_t> input;
  input.reserve(1 + a.size() + b.size());
  input.push_back(prefix);
  input.insert(input.end(), a.begin(), a.end());
  input.insert(input.end(), b.begin(), b.end());
  return Sha256(input);
}

// The largest power of two strictly less than n (n >= 2).
std::uint64_t SplitPoint(std::uint64_t n) { return std::bit_floor(n - 1); }

Error BadRange(const std::string& what) {
  return Error(ErrorCode::kInvalidArgument, what, "invalid_proof_range");
}

// PATH(m, D[begin:end]) of section 2.1.3.1, appended to `out` bottom-up.
Result<void> Path(const NodeReader& nodes, std::uint64_t m, std::uint64_t begin,
                  std::uint64_t end, std::vector<Hash>& out) {
  const std::uint64_t n = end - begin;
  if (n <= 1) return Ok();
  const std::uint64_t k = SplitPoint(n);
  if (m < k) {
    SKR_TRY_VOID(Path(nodes, m, begin, begin + k, out));
    SKR_TRY(Hash right, RangeHash(nodes, begin + k, end));
    out.push_back(right);
  } else {
    SKR_TRY_VOID(Path(nodes, m - k, begin + k, end, out));
    SKR_TRY(Hash left, RangeHash(nodes, begin, begin + k));
    out.push_back(left);
  }
  return Ok();
}

// SUBPROOF(m, D[begin:end], b) of section 2.1.4.1, appended to `out` bottom-up.
Result<void> SubProof(const NodeReader& nodes, std::uint64_t m, std::uint64_t begin,
                      std::uint64_t end, bool whole, std::vector<Hash>& out) {
  const std::uint64_t n = end - begin;
  if (m == n) {
    if (!whole) {
      SKR_TRY(Hash h, RangeHash(nodes, begin, end));
      out.push_back(h);
    }
    return Ok();
  }
  const std::uint64_t k = SplitPoint(n);
  if (m <= k) {
    SKR_TRY_VOID(SubProof(nodes, m, begin, begin + k, whole, out));
    SKR_TRY(Hash right, RangeHash(nodes, begin + k, end));
    out.push_back(right);
  } else {
    SKR_TRY_VOID(SubProof(nodes, m - k, begin + k, end, false, out));
    SKR_TRY(Hash left, RangeHash(nodes, begin, begin + k));
    out.push_back(left);
  }
  return Ok();
}

}  // namespace

Hash LeafHash(std::span<const std::uint8_t> leaf_bytes) { return Sha256Parts(0x00, leaf_bytes, {}); }

Hash LeafHash(std::string_view leaf_bytes) {
  return LeafHash(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(leaf_bytes.data()), leaf_bytes.size()));  // NOLINT
}

Hash NodeHash(const Hash& left, const Hash& right) { return Sha256Parts(0x01, left, right); }

Hash EmptyRoot() { return Sha256(std::span<const std::uint8_t>()); }

Result<Hash> RangeHash(const NodeReader& nodes, std::uint64_t begin, std::uint64_t end) {
  if (end <= begin) return BadRange("empty leaf range");
  const std::uint64_t n = end - begin;
  if (std::has_single_bit(n)) {
    const int level = std::countr_zero(n);
    if (begin % n != 0) return BadRange("unaligned subtree");
    return nodes(level, begin >> level);
  }
  const std::uint64_t k = SplitPoint(n);
  SKR_TRY(Hash left, RangeHash(nodes, begin, begin + k));
  SKR_TRY(Hash right, RangeHash(nodes, begin + k, end));
  return NodeHash(left, right);
}

Result<Hash> RootHash(const NodeReader& nodes, std::uint64_t size) {
  if (size == 0) return EmptyRoot();
  return RangeHash(nodes, 0, size);
}

Result<std::vector<Hash>> InclusionProof(const NodeReader& nodes, std::uint64_t index,
                                         std::uint64_t size) {
  if (index >= size) {
    return BadRange("leaf " + std::to_string(index) + " is not in a tree of " +
                    std::to_string(size) + " leaves");
  }
  std::vector<Hash> out;
  SKR_TRY_VOID(Path(nodes, index, 0, size, out));
  return out;
}

Result<std::vector<Hash>> ConsistencyProof(const NodeReader& nodes, std::uint64_t first,
                                           std::uint64_t second) {
  if (first > second) {
    return BadRange("tree size " + std::to_string(first) + " is larger than " +
                    std::to_string(second));
  }
  std::vector<Hash> out;
  if (first == 0 || first == second) return out;
  SKR_TRY_VOID(SubProof(nodes, first, 0, second, true, out));
  return out;
}

bool VerifyInclusion(std::uint64_t index, std::uint64_t size, const Hash& leaf_hash,
                     std::span<const Hash> path, const Hash& root) {
  if (index >= size) return false;
  std::uint64_t fn = index;
  std::uint64_t sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : path) {
    if (sn == 0) return false;
    if ((fn & 1) != 0 || fn == sn) {
      r = NodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool VerifyConsistency(std::uint64_t first, std::uint64_t second, const Hash& first_root,
                       const Hash& second_root, std::span<const Hash> proof) {
  if (first > second) return false;
  if (first == second) return proof.empty() && first_root == second_root;
  if (first == 0) return proof.empty();
  if (proof.empty()) return false;
  std::vector<Hash> path;
  path.reserve(proof.size() + 1);
  if (std::has_single_bit(first)) path.push_back(first_root);
  path.insert(path.end(), proof.begin(), proof.end());
  std::uint64_t fn = first - 1;
  std::uint64_t sn = second - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0];
  Hash sr = path[0];
  for (std::size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) != 0 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == first_root && sr == second_root && sn == 0;
}

std::vector<Hash> Frontier::Push(const Hash& leaf_hash) {
  std::vector<Hash> completed{leaf_hash};
  int level = 0;
  Hash h = leaf_hash;
  while (!stack_.empty() && stack_.back().first == level) {
    h = NodeHash(stack_.back().second, h);
    completed.push_back(h);
    stack_.pop_back();
    ++level;
  }
  stack_.emplace_back(level, h);
  ++size_;
  return completed;
}

Result<Frontier> Frontier::FromEdges(std::uint64_t size, std::vector<std::pair<int, Hash>> edges) {
  std::uint64_t covered = 0;
  int previous = 64;
  for (const auto& [level, hash] : edges) {
    if (level < 0 || level >= previous) {
      return Error(ErrorCode::kInvalidArgument, "Merkle frontier levels must decrease");
    }
    covered |= std::uint64_t{1} << level;
    previous = level;
  }
  if (covered != size) {
    return Error(ErrorCode::kInvalidArgument, "Merkle frontier does not match its tree size");
  }
  Frontier f;
  f.stack_ = std::move(edges);
  f.size_ = size;
  return f;
}

Hash Frontier::Root() const {
  if (stack_.empty()) return EmptyRoot();
  // MTH splits at the largest power of two: the left subtrees are the complete ones on the
  // stack, folded right to left.
  Hash r = stack_.back().second;
  for (std::size_t i = stack_.size() - 1; i-- > 0;) r = NodeHash(stack_[i].second, r);
  return r;
}

std::vector<std::pair<int, std::uint64_t>> NodesCompletedBy(std::uint64_t index) {
  std::vector<std::pair<int, std::uint64_t>> out;
  int level = 0;
  std::uint64_t i = index;
  out.emplace_back(level, i);
  while ((i & 1) != 0) {  // a right child: its parent is now complete
    i >>= 1;
    ++level;
    out.emplace_back(level, i);
  }
  return out;
}

}  // namespace skr::merkle
