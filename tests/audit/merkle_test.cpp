// SPDX-License-Identifier: Apache-2.0
// The audit Merkle tree (audit/merkle.h, issue 11): RFC 9162 section 2.1 roots, inclusion and
// consistency proofs for every tree size 1..300 and every pair, proofs that fail for a changed,
// removed, reordered or inserted leaf, the RFC 6962 / certificate-transparency test vectors, and
// a cross-check against an independent Python implementation (tests/audit/merkle_oracle.py).
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/merkle.h"
#include "common/encoding.h"
#include "common/json.h"
#include "common/ossl.h"
#include "tests/support/process.h"
#include "tests/support/test_support.h"

namespace merkle = skr::merkle;
using merkle::Hash;

namespace {

// A reference tree: leaf hashes, and the hash of every complete subtree computed bottom-up
// (independently of merkle::RangeHash).
struct RefTree {
  std::vector<std::string> leaves;
  std::map<std::pair<int, std::uint64_t>, Hash> nodes;

  explicit RefTree(std::vector<std::string> l) : leaves(std::move(l)) {
    std::vector<Hash> level;
    for (const auto& b : leaves) level.push_back(merkle::LeafHash(b));
    for (int lv = 0; !level.empty(); ++lv) {
      std::vector<Hash> up;
      for (std::size_t i = 0; i < level.size(); ++i) {
        nodes[{lv, i}] = level[i];
        if (i % 2 == 1) up.push_back(merkle::NodeHash(level[i - 1], level[i]));
      }
      level = std::move(up);
    }
  }
  merkle::NodeReader Reader(std::uint64_t size) const {
    return [this, size](int level, std::uint64_t index) -> skr::Result<Hash> {
      // Only complete subtrees inside the tree asked about may be read.
      REQUIRE(((index + 1) << level) <= size);
      return nodes.at({level, index});
    };
  }
};

// The recursive MTH of RFC 9162 section 2.1.1 straight over the leaves.
Hash Mth(const std::vector<std::string>& d, std::size_t begin, std::size_t end) {
  if (end == begin) return merkle::EmptyRoot();
  if (end - begin == 1) return merkle::LeafHash(d[begin]);
  std::size_t k = 1;
  while (k * 2 < end - begin) k *= 2;
  return merkle::NodeHash(Mth(d, begin, begin + k), Mth(d, begin + k, end));
}

std::vector<std::string> Leaves(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back("record " + std::to_string(i));
  return out;
}

std::string Hex(const Hash& h) { return skr::HexEncode(h); }

}  // namespace

TEST_CASE("merkle: RFC 6962 / certificate-transparency test vectors", "[audit][merkle]") {
  // The eight leaves and roots used by RFC 6962 implementations' test suites
  // (certificate-transparency: merkle_tree_test / testdata), leaf inputs as raw bytes.
  const std::vector<std::string> leaves = {
      "", std::string(1, '\0'), "\x10", "\x20\x21", "\x30\x31", "\x40\x41\x42\x43",
      "\x50\x51\x52\x53\x54\x55\x56\x57",
      "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f"};
  const char* roots[] = {
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};
  RefTree t(leaves);
  CHECK(Hex(merkle::EmptyRoot()) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  for (std::size_t n = 1; n <= 8; ++n) {
    INFO("size " << n);
    CHECK(Hex(merkle::RootHash(t.Reader(n), n).value()) == roots[n - 1]);
  }
}

TEST_CASE("merkle: roots and proofs verify for every size 1..300 and every pair",
          "[audit][merkle]") {
  constexpr std::uint64_t kMax = 300;
  const auto leaves = Leaves(kMax);
  RefTree t(leaves);
  std::vector<Hash> roots(kMax + 1);
  roots[0] = merkle::EmptyRoot();
  merkle::Frontier frontier;  // a streaming verifier's root
  CHECK(frontier.Root() == merkle::EmptyRoot());
  for (std::uint64_t n = 1; n <= kMax; ++n) {
    roots[n] = merkle::RootHash(t.Reader(n), n).value();
    REQUIRE(roots[n] == Mth(leaves, 0, n));
    frontier.Push(merkle::LeafHash(leaves[n - 1]));
    REQUIRE(frontier.size() == n);
    REQUIRE(frontier.Root() == roots[n]);
  }
  std::uint64_t inclusion = 0;
  std::uint64_t consistency = 0;
  for (std::uint64_t n = 1; n <= kMax; ++n) {
    for (std::uint64_t i = 0; i < n; ++i) {
      auto path = merkle::InclusionProof(t.Reader(n), i, n);
      REQUIRE(path.has_value());
      const Hash leaf = merkle::LeafHash(leaves[i]);
      if (!merkle::VerifyInclusion(i, n, leaf, *path, roots[n])) FAIL("inclusion " << i << "/" << n);
      ++inclusion;
    }
    for (std::uint64_t m = 0; m <= n; ++m) {
      auto proof = merkle::ConsistencyProof(t.Reader(n), m, n);
      REQUIRE(proof.has_value());
      if (!merkle::VerifyConsistency(m, n, roots[m], roots[n], *proof)) {
        FAIL("consistency " << m << " -> " << n);
      }
      ++consistency;
    }
  }
  CHECK(inclusion == kMax * (kMax + 1) / 2);
  CHECK(consistency == (kMax + 1) * (kMax + 2) / 2 - 1);
}

TEST_CASE("merkle: proofs fail for changed, removed, reordered or inserted records",
          "[audit][merkle]") {
  constexpr std::uint64_t kN = 77;
  const auto leaves = Leaves(kN);
  RefTree t(leaves);
  const Hash root = merkle::RootHash(t.Reader(kN), kN).value();
  for (const std::uint64_t i : std::initializer_list<std::uint64_t>{0, 1, 31, 64, 76}) {
    INFO("leaf " << i);
    const auto path = merkle::InclusionProof(t.Reader(kN), i, kN).value();
    const Hash leaf = merkle::LeafHash(leaves[i]);
    REQUIRE(merkle::VerifyInclusion(i, kN, leaf, path, root));
    // Changed record.
    CHECK_FALSE(merkle::VerifyInclusion(i, kN, merkle::LeafHash(leaves[i] + " "), path, root));
    // Another index (the size is bound by the root the verifier takes from a checkpoint).
    CHECK_FALSE(merkle::VerifyInclusion(i ^ 1, kN, leaf, path, root));
    CHECK_FALSE(merkle::VerifyInclusion(i, kN, leaf, path, merkle::EmptyRoot()));
    CHECK_FALSE(merkle::VerifyInclusion(kN, kN, leaf, path, root));
    // A proof element removed, altered or duplicated.
    auto shorter = path;
    shorter.pop_back();
    CHECK_FALSE(merkle::VerifyInclusion(i, kN, leaf, shorter, root));
    auto altered = path;
    altered[0][0] ^= 1;
    CHECK_FALSE(merkle::VerifyInclusion(i, kN, leaf, altered, root));
    auto longer = path;
    longer.push_back(path[0]);
    CHECK_FALSE(merkle::VerifyInclusion(i, kN, leaf, longer, root));
  }
  // Trees whose records were removed, reordered or inserted are not consistent with the root of
  // the original (the log "rewritten" under an earlier checkpoint).
  auto check_rewritten = [&](std::vector<std::string> other, const char* what) {
    INFO(what);
    RefTree o(other);
    const std::uint64_t n = other.size();
    const Hash other_root = merkle::RootHash(o.Reader(n), n).value();
    for (const std::uint64_t m : std::initializer_list<std::uint64_t>{1, 8, 40, kN}) {
      if (m > n) continue;
      const auto proof = merkle::ConsistencyProof(o.Reader(n), m, n).value();
      const Hash first = merkle::RootHash(t.Reader(m), m).value();
      const bool prefix_intact = Mth(other, 0, m) == Mth(leaves, 0, m);
      CHECK(merkle::VerifyConsistency(m, n, first, other_root, proof) == prefix_intact);
    }
  };
  auto removed = leaves;
  removed.erase(removed.begin() + 20);
  removed.push_back("padding");
  check_rewritten(removed, "record 20 removed");
  auto reordered = leaves;
  std::swap(reordered[5], reordered[6]);
  check_rewritten(reordered, "records 5 and 6 swapped");
  auto inserted = leaves;
  inserted.insert(inserted.begin() + 30, "forged");
  check_rewritten(inserted, "record inserted at 30");
  auto changed = leaves;
  changed[70] = "changed";
  check_rewritten(changed, "record 70 changed");

  // Out-of-range requests are refused, not answered.
  CHECK(skr::test::ReasonOf(merkle::InclusionProof(t.Reader(kN), kN, kN)) == "invalid_proof_range");
  CHECK(skr::test::ReasonOf(merkle::ConsistencyProof(t.Reader(kN), kN, kN - 1)) ==
        "invalid_proof_range");
  CHECK_FALSE(merkle::VerifyConsistency(5, 4, root, root, {}));
  CHECK_FALSE(merkle::VerifyConsistency(3, 9, root, root, {}));  // empty proof for m < n
}

TEST_CASE("merkle: NodesCompletedBy lists the leaf and the parents it completes",
          "[audit][merkle]") {
  using V = std::vector<std::pair<int, std::uint64_t>>;
  CHECK(merkle::NodesCompletedBy(0) == V{{0, 0}});
  CHECK(merkle::NodesCompletedBy(1) == V{{0, 1}, {1, 0}});
  CHECK(merkle::NodesCompletedBy(2) == V{{0, 2}});
  CHECK(merkle::NodesCompletedBy(7) == V{{0, 7}, {1, 3}, {2, 1}, {3, 0}});
  CHECK(merkle::NodesCompletedBy(11) == V{{0, 11}, {1, 5}, {2, 2}});
}

TEST_CASE("merkle: roots and proofs agree with an independent Python implementation",
          "[audit][merkle][python]") {
  constexpr std::uint64_t kN = 70;
  std::vector<std::string> leaves;
  for (std::uint64_t i = 0; i < kN; ++i) leaves.push_back(std::string(i % 7, static_cast<char>(i)));
  RefTree t(leaves);
  skr::Json doc = {{"leaves", skr::Json::array()}, {"roots", skr::Json::object()},
                   {"inclusion", skr::Json::array()}, {"consistency", skr::Json::array()}};
  for (const auto& l : leaves) doc["leaves"].push_back(skr::HexEncode(skr::AsBytes(l)));
  for (std::uint64_t n = 1; n <= kN; ++n) {
    doc["roots"][std::to_string(n)] = Hex(merkle::RootHash(t.Reader(n), n).value());
    for (std::uint64_t i = 0; i < n; i += 3) {
      skr::Json path = skr::Json::array();
      const auto proof = merkle::InclusionProof(t.Reader(n), i, n).value();
      for (const auto& h : proof) path.push_back(Hex(h));
      doc["inclusion"].push_back({{"index", i}, {"size", n}, {"path", path}});
    }
    for (std::uint64_t m = 0; m <= n; m += 2) {
      skr::Json proof = skr::Json::array();
      const auto hashes = merkle::ConsistencyProof(t.Reader(n), m, n).value();
      for (const auto& h : hashes) proof.push_back(Hex(h));
      doc["consistency"].push_back({{"first", m}, {"second", n}, {"proof", proof}});
    }
  }
  auto r = skr::test::RunCommand({"python3", skr::test::SourceDir() + "/tests/audit/merkle_oracle.py"},
                                 doc.dump());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.rfind("ok ", 0) == 0);
}

TEST_CASE("merkle: a frontier saved and restored continues the same tree", "[audit][merkle]") {
  const auto leaves = Leaves(100);
  for (std::uint64_t cut : std::initializer_list<std::uint64_t>{0, 1, 2, 7, 64, 65, 99}) {
    merkle::Frontier a;
    for (std::uint64_t i = 0; i < cut; ++i) a.Push(merkle::LeafHash(leaves[i]));
    auto b = merkle::Frontier::FromEdges(a.size(), a.edges());
    REQUIRE(b.has_value());
    for (std::uint64_t i = cut; i < leaves.size(); ++i) b->Push(merkle::LeafHash(leaves[i]));
    CHECK(b->Root() == Mth(leaves, 0, leaves.size()));
  }
  merkle::Frontier f;
  for (int i = 0; i < 6; ++i) f.Push(merkle::LeafHash(leaves[static_cast<std::size_t>(i)]));
  CHECK_FALSE(merkle::Frontier::FromEdges(7, f.edges()).has_value());  // 6 = 0b110, not 7
  auto reversed = f.edges();
  std::swap(reversed[0], reversed[1]);
  CHECK_FALSE(merkle::Frontier::FromEdges(6, reversed).has_value());
}
