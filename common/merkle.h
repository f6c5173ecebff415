// SPDX-License-Identifier: Apache-2.0
// The audit log's Merkle tree (DESIGN.md section 6): RFC 9162 section 2.1 hashing, inclusion
// proofs (2.1.3) and consistency proofs (2.1.4), generation and verification. Pure functions; the
// hashes of complete subtrees come from a NodeReader (the database, or a vector in tests).
//
//   leaf hash  = SHA-256(0x00 || leaf bytes)
//   node hash  = SHA-256(0x01 || left || right)
//   MTH({})    = SHA-256("")
//   MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two < n (n > 1)
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace skr::merkle {

using Hash = std::array<std::uint8_t, 32>;

Hash LeafHash(std::span<const std::uint8_t> leaf_bytes);
Hash LeafHash(std::string_view leaf_bytes);
Hash NodeHash(const Hash& left, const Hash& right);
Hash EmptyRoot();  // SHA-256 of the empty string

// The hash of the complete subtree at `level` (0 = leaves) and `index`: it covers leaves
// [index * 2^level, (index + 1) * 2^level). Only asked for subtrees that lie inside the tree the
// caller asked about.
using NodeReader = std::function<Result<Hash>(int level, std::uint64_t index)>;

// MTH of leaves [begin, end), 0 <= begin < end, reading the complete subtrees it is made of
// (at most 2 log2(end - begin) reads). `begin` must be a multiple of the largest power of two
// <= end - begin (true of every range RFC 9162's recursion visits from 0).
Result<Hash> RangeHash(const NodeReader& nodes, std::uint64_t begin, std::uint64_t end);
// MTH of the first `size` leaves (EmptyRoot() for 0).
Result<Hash> RootHash(const NodeReader& nodes, std::uint64_t size);

// RFC 9162 section 2.1.3.1: the audit path of leaf `index` in the tree of `size` leaves.
// kInvalidArgument unless index < size.
Result<std::vector<Hash>> InclusionProof(const NodeReader& nodes, std::uint64_t index,
                                         std::uint64_t size);
// RFC 9162 section 2.1.4.1: the proof that the tree of `first` leaves is a prefix of the tree of
// `second` leaves. Empty when first == 0 or first == second. kInvalidArgument unless
// first <= second.
Result<std::vector<Hash>> ConsistencyProof(const NodeReader& nodes, std::uint64_t first,
                                           std::uint64_t second);

// RFC 9162 section 2.1.3.2. True when `path` proves `leaf_hash` is leaf `index` of the tree of
// `size` leaves whose root is `root`.
bool VerifyInclusion(std::uint64_t index, std::uint64_t size, const Hash& leaf_hash,
                     std::span<const Hash> path, const Hash& root);
// RFC 9162 section 2.1.4.2, with the degenerate cases: first == second needs an empty proof and
// equal roots; first == 0 needs an empty proof (every tree extends the empty one).
bool VerifyConsistency(std::uint64_t first, std::uint64_t second, const Hash& first_root,
                       const Hash& second_root, std::span<const Hash> proof);

// The root of a tree built leaf by leaf (a verifier streaming records): keeps one hash per set
// bit of the size (the complete subtrees on the right edge).
class Frontier {
 public:
  // Returns the hashes of the complete subtrees this leaf completes, bottom-up (the leaf hash,
  // then each parent): the nodes NodesCompletedBy(size() before the push) names.
  std::vector<Hash> Push(const Hash& leaf_hash);
  std::uint64_t size() const { return size_; }
  Hash Root() const;  // MTH of the leaves pushed so far (EmptyRoot() for none)

  // The saved state (a verifier resuming later): the complete subtrees on the right edge,
  // (level, hash), largest first: one per set bit of size().
  const std::vector<std::pair<int, Hash>>& edges() const { return stack_; }
  // Rebuilds a frontier from edges(); kInvalidArgument unless the levels are exactly the set
  // bits of `size`, largest first.
  static Result<Frontier> FromEdges(std::uint64_t size, std::vector<std::pair<int, Hash>> edges);

 private:
  std::vector<std::pair<int, Hash>> stack_;  // (level, hash), levels strictly decreasing
  std::uint64_t size_ = 0;
};

// The complete subtrees (level, index) that appending leaf `index` completes, bottom-up: level 0
// is the leaf itself; level L > 0 is the parent of the two nodes below it. For writers of a
// node store.
std::vector<std::pair<int, std::uint64_t>> NodesCompletedBy(std::uint64_t index);

}  // namespace skr::merkle
