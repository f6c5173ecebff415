// SPDX-License-Identifier: Apache-2.0
// VerifyChainToAnchors (common/x509.h): path building from a leaf through candidate intermediates
// to configured trust anchors (RFC 5280 section 6.1, simplified), with certificates generated
// here (EC P-256 keys, ECDSA-SHA256 signatures, OpenSSL EVP + X509 APIs).
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include "common/ossl.h"
#include "common/x509.h"
#include "tests/support/test_support.h"

using skr::ErrorCode;
using skr::EvpPkeyPtr;
using skr::X509Ptr;
using skr::test::CodeOf;
using skr::test::ReasonOf;

namespace {

constexpr std::int64_t kNotBefore = 1700000000;  // 2023-11-14
constexpr std::int64_t kNotAfter = 2000000000;   // 2033-05-18
constexpr std::int64_t kNow = 1800000000;        // 2027-01-15

EvpPkeyPtr NewKey() {
  auto key = skr::GenerateEcKey("P-256");
  REQUIRE(key.has_value());
  return std::move(key).value();
}

void SetCn(X509_NAME* name, const std::string& cn) {
  REQUIRE(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>(cn.c_str()),  // NOLINT
                                     -1, -1, 0) == 1);
}

// How the CA-ness of a certificate is expressed.
enum class Ca {
  kYes,          // basicConstraints critical, CA:TRUE (and keyUsage keyCertSign)
  kNo,           // basicConstraints CA:FALSE
  kNone,         // no basicConstraints, no keyUsage
  kKeyUsageOnly  // no basicConstraints but keyUsage keyCertSign
};

struct CertSpec {
  std::string subject;
  std::string issuer;
  Ca ca = Ca::kYes;
  std::int64_t not_before = kNotBefore;
  std::int64_t not_after = kNotAfter;
  long serial = 1;
  int pathlen = -1;               // >= 0: basicConstraints pathlen (with Ca::kYes)
  bool unknown_critical = false;  // adds a critical extension nobody knows (OID 1.2.3.4)
};

void AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  REQUIRE(ext != nullptr);
  const int added = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  REQUIRE(added == 1);
}

// A v3 certificate for `key` described by `spec`, signed with `issuer_key` (ECDSA-SHA256).
X509Ptr MakeCert(EVP_PKEY* key, const CertSpec& spec, EVP_PKEY* issuer_key) {
  X509Ptr cert(X509_new());
  REQUIRE(cert);
  REQUIRE(X509_set_version(cert.get(), 2) == 1);
  REQUIRE(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), spec.serial) == 1);
  SetCn(X509_get_subject_name(cert.get()), spec.subject);
  SetCn(X509_get_issuer_name(cert.get()), spec.issuer);
  REQUIRE(ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(spec.not_before)) !=
          nullptr);
  REQUIRE(ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(spec.not_after)) !=
          nullptr);
  REQUIRE(X509_set_pubkey(cert.get(), key) == 1);
  switch (spec.ca) {
    case Ca::kYes:
      AddExt(cert.get(), nullptr, NID_basic_constraints,
             spec.pathlen >= 0 ? ("critical,CA:TRUE,pathlen:" + std::to_string(spec.pathlen)).c_str()
                               : "critical,CA:TRUE");
      AddExt(cert.get(), nullptr, NID_key_usage, "critical,keyCertSign,cRLSign");
      break;
    case Ca::kNo:
      AddExt(cert.get(), nullptr, NID_basic_constraints, "critical,CA:FALSE");
      break;
    case Ca::kNone:
      break;
    case Ca::kKeyUsageOnly:
      AddExt(cert.get(), nullptr, NID_key_usage, "critical,keyCertSign,cRLSign");
      break;
  }
  if (spec.unknown_critical) {
    ASN1_OBJECT* oid = OBJ_txt2obj("1.2.3.4", 1);
    ASN1_OCTET_STRING* value = ASN1_OCTET_STRING_new();
    REQUIRE(oid != nullptr);
    REQUIRE(value != nullptr);
    const unsigned char der_null[] = {0x05, 0x00};
    REQUIRE(ASN1_OCTET_STRING_set(value, der_null, 2) == 1);
    X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, oid, 1, value);
    REQUIRE(ext != nullptr);
    REQUIRE(X509_add_ext(cert.get(), ext, -1) == 1);
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(value);
    ASN1_OBJECT_free(oid);
  }
  REQUIRE(X509_sign(cert.get(), issuer_key, EVP_sha256()) > 0);
  return cert;
}

// root (self-signed CA) <- inter (CA) <- leaf (not a CA), each with its own key.
struct Pki {
  EvpPkeyPtr root_key = NewKey(), inter_key = NewKey(), leaf_key = NewKey();
  X509Ptr root = MakeCert(root_key.get(), {"Root", "Root", Ca::kYes}, root_key.get());
  X509Ptr inter = MakeCert(inter_key.get(), {"Inter", "Root", Ca::kYes}, root_key.get());
  X509Ptr leaf = MakeCert(leaf_key.get(), {"Leaf", "Inter", Ca::kNo}, inter_key.get());
};

using Certs = std::vector<X509*>;

skr::Result<std::size_t> Verify(X509* leaf, const Certs& intermediates, const Certs& anchors,
                                std::int64_t now = kNow, int max_depth = 4) {
  return skr::VerifyChainToAnchors(leaf, intermediates, anchors, now, max_depth);
}

// leaf <- I1 <- I2 <- ... <- In <- root: `n` intermediates, returned leaf first.
struct LongChain {
  EvpPkeyPtr root_key = NewKey();
  X509Ptr root;
  std::vector<EvpPkeyPtr> keys;
  std::vector<X509Ptr> inters;  // inters[0] issued the leaf
  EvpPkeyPtr leaf_key = NewKey();
  X509Ptr leaf;

  explicit LongChain(int n) {
    root = MakeCert(root_key.get(), {"Root", "Root", Ca::kYes}, root_key.get());
    // Build from the top: I<n> is issued by the root, I<k> by I<k+1>.
    std::vector<X509Ptr> top_down;
    std::vector<EvpPkeyPtr> top_keys;
    EVP_PKEY* issuer_key = root_key.get();
    std::string issuer = "Root";
    for (int k = n; k >= 1; --k) {
      top_keys.push_back(NewKey());
      const std::string name = "I" + std::to_string(k);
      top_down.push_back(MakeCert(top_keys.back().get(), {name, issuer, Ca::kYes}, issuer_key));
      issuer_key = top_keys.back().get();
      issuer = name;
    }
    leaf = MakeCert(leaf_key.get(), {"Leaf", issuer, Ca::kNo}, issuer_key);
    for (auto it = top_down.rbegin(); it != top_down.rend(); ++it) inters.push_back(std::move(*it));
    keys = std::move(top_keys);
  }
  Certs Intermediates() const {
    Certs out;
    for (const auto& c : inters) out.push_back(c.get());
    return out;
  }
};

}  // namespace

TEST_CASE("VerifyChainToAnchors: leaf, intermediate and root anchor verify",
          "[common][x509][unit]") {
  Pki pki;
  SECTION("the index of the anchor reached is returned") {
    EvpPkeyPtr other_key = NewKey();
    X509Ptr other = MakeCert(other_key.get(), {"Other Root", "Other Root"}, other_key.get());
    auto r = Verify(pki.leaf.get(), {pki.inter.get()}, {other.get(), pki.root.get()});
    REQUIRE(r.has_value());
    CHECK(*r == 1);
  }
  SECTION("a single anchor") {
    auto r = Verify(pki.leaf.get(), {pki.inter.get()}, {pki.root.get()});
    REQUIRE(r.has_value());
    CHECK(*r == 0);
  }
  SECTION("unrelated intermediates and the leaf itself among them are ignored") {
    EvpPkeyPtr k = NewKey();
    X509Ptr unrelated = MakeCert(k.get(), {"Unrelated", "Somebody"}, k.get());
    auto r = Verify(pki.leaf.get(), {unrelated.get(), pki.leaf.get(), pki.inter.get()},
                    {pki.root.get()});
    REQUIRE(r.has_value());
    CHECK(*r == 0);
  }
  SECTION("the intermediate can be the anchor (it need not be self-signed)") {
    auto r = Verify(pki.leaf.get(), {}, {pki.inter.get()});
    REQUIRE(r.has_value());
    CHECK(*r == 0);
  }
  SECTION("intermediate configured both as anchor and as candidate: the anchor wins first") {
    auto r = Verify(pki.leaf.get(), {pki.inter.get()}, {pki.root.get(), pki.inter.get()});
    REQUIRE(r.has_value());
    CHECK(*r == 1);
  }
  SECTION("validity bounds are inclusive") {
    CHECK(Verify(pki.leaf.get(), {pki.inter.get()}, {pki.root.get()}, kNotBefore).has_value());
    CHECK(Verify(pki.leaf.get(), {pki.inter.get()}, {pki.root.get()}, kNotAfter).has_value());
  }
}

TEST_CASE("VerifyChainToAnchors: no path to an anchor is cert_chain_untrusted",
          "[common][x509][unit]") {
  Pki pki;
  SECTION("missing intermediate") {
    auto r = Verify(pki.leaf.get(), {}, {pki.root.get()});
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "cert_chain_untrusted");
  }
  SECTION("no anchors at all") {
    auto r = Verify(pki.leaf.get(), {pki.inter.get()}, {});
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "cert_chain_untrusted");
  }
  SECTION("a null anchor is skipped") {
    auto r = Verify(pki.leaf.get(), {pki.inter.get()}, {nullptr});
    CHECK(ReasonOf(r) == "cert_chain_untrusted");
    auto ok = Verify(pki.leaf.get(), {nullptr, pki.inter.get()}, {nullptr, pki.root.get()});
    REQUIRE(ok.has_value());
    CHECK(*ok == 1);
  }
  SECTION("another root") {
    EvpPkeyPtr k = NewKey();
    X509Ptr other = MakeCert(k.get(), {"Other Root", "Other Root"}, k.get());
    auto r = Verify(pki.leaf.get(), {pki.inter.get()}, {other.get()});
    CHECK(ReasonOf(r) == "cert_chain_untrusted");
  }
  SECTION("the leaf as its own anchor, without its issuer") {
    auto r = Verify(pki.leaf.get(), {}, {pki.leaf.get()});
    CHECK(ReasonOf(r) == "cert_chain_untrusted");
  }
}

TEST_CASE("VerifyChainToAnchors: a wrong signature under the right name is not a link",
          "[common][x509][unit]") {
  Pki pki;
  EvpPkeyPtr evil_key = NewKey();
  SECTION("an anchor with the root's name but another key") {
    X509Ptr fake_root = MakeCert(evil_key.get(), {"Root", "Root"}, evil_key.get());
    auto r = Verify(pki.leaf.get(), {pki.inter.get()}, {fake_root.get()});
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "cert_chain_untrusted");
  }
  SECTION("an intermediate with the right name, another key, signed by the root") {
    X509Ptr fake_inter = MakeCert(evil_key.get(), {"Inter", "Root"}, pki.root_key.get());
    auto r = Verify(pki.leaf.get(), {fake_inter.get()}, {pki.root.get()});
    CHECK(ReasonOf(r) == "cert_chain_untrusted");
  }
  SECTION("an intermediate signed by a key that is not the anchor's") {
    X509Ptr forged = MakeCert(pki.inter_key.get(), {"Inter", "Root"}, evil_key.get());
    auto r = Verify(pki.leaf.get(), {forged.get()}, {pki.root.get()});
    CHECK(ReasonOf(r) == "cert_chain_untrusted");
  }
  SECTION("a decoy with the same name listed first is skipped for the real intermediate") {
    X509Ptr decoy = MakeCert(evil_key.get(), {"Inter", "Root"}, pki.root_key.get());
    auto r = Verify(pki.leaf.get(), {decoy.get(), pki.inter.get()}, {pki.root.get()});
    REQUIRE(r.has_value());
    CHECK(*r == 0);
  }
  SECTION("a leaf signed by another key under the intermediate's name") {
    X509Ptr forged_leaf = MakeCert(pki.leaf_key.get(), {"Leaf", "Inter", Ca::kNo}, evil_key.get());
    auto r = Verify(forged_leaf.get(), {pki.inter.get()}, {pki.root.get()});
    CHECK(ReasonOf(r) == "cert_chain_untrusted");
  }
}

TEST_CASE("VerifyChainToAnchors: validity of every certificate on the path",
          "[common][x509][unit]") {
  Pki pki;
  SECTION("expired leaf") {
    X509Ptr leaf = MakeCert(pki.leaf_key.get(), {"Leaf", "Inter", Ca::kNo, kNotBefore, kNow - 1},
                            pki.inter_key.get());
    auto r = Verify(leaf.get(), {pki.inter.get()}, {pki.root.get()});
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "cert_expired");
  }
  SECTION("leaf not yet valid") {
    X509Ptr leaf = MakeCert(pki.leaf_key.get(), {"Leaf", "Inter", Ca::kNo, kNow + 1, kNotAfter},
                            pki.inter_key.get());
    auto r = Verify(leaf.get(), {pki.inter.get()}, {pki.root.get()});
    CHECK(ReasonOf(r) == "cert_not_yet_valid");
  }
  SECTION("expired intermediate") {
    X509Ptr inter = MakeCert(pki.inter_key.get(), {"Inter", "Root", Ca::kYes, kNotBefore, kNow - 1},
                             pki.root_key.get());
    auto r = Verify(pki.leaf.get(), {inter.get()}, {pki.root.get()});
    CHECK(ReasonOf(r) == "cert_expired");
  }
  SECTION("expired anchor") {
    X509Ptr root = MakeCert(pki.root_key.get(), {"Root", "Root", Ca::kYes, kNotBefore, kNow - 1},
                            pki.root_key.get());
    auto r = Verify(pki.leaf.get(), {pki.inter.get()}, {root.get()});
    CHECK(ReasonOf(r) == "cert_expired");
  }
  SECTION("the whole chain is checked at the given time, not the system clock") {
    auto r = Verify(pki.leaf.get(), {pki.inter.get()}, {pki.root.get()}, kNotAfter + 1);
    CHECK(ReasonOf(r) == "cert_expired");
    auto early = Verify(pki.leaf.get(), {pki.inter.get()}, {pki.root.get()}, kNotBefore - 1);
    CHECK(ReasonOf(early) == "cert_not_yet_valid");
  }
}

TEST_CASE("VerifyChainToAnchors: issuers must be CA certificates", "[common][x509][unit]") {
  Pki pki;
  SECTION("intermediate without basicConstraints") {
    X509Ptr inter = MakeCert(pki.inter_key.get(), {"Inter", "Root", Ca::kNone}, pki.root_key.get());
    auto r = Verify(pki.leaf.get(), {inter.get()}, {pki.root.get()});
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "cert_chain_untrusted");
  }
  SECTION("intermediate with basicConstraints CA:FALSE") {
    X509Ptr inter = MakeCert(pki.inter_key.get(), {"Inter", "Root", Ca::kNo}, pki.root_key.get());
    auto r = Verify(pki.leaf.get(), {inter.get()}, {pki.root.get()});
    CHECK(ReasonOf(r) == "cert_chain_untrusted");
  }
  SECTION("anchor with basicConstraints CA:FALSE") {
    X509Ptr inter = MakeCert(pki.inter_key.get(), {"Inter", "Root", Ca::kNo}, pki.root_key.get());
    auto r = Verify(pki.leaf.get(), {}, {inter.get()});
    CHECK(ReasonOf(r) == "cert_chain_untrusted");
  }
  SECTION("anchor without basicConstraints") {
    X509Ptr inter = MakeCert(pki.inter_key.get(), {"Inter", "Root", Ca::kNone}, pki.root_key.get());
    auto r = Verify(pki.leaf.get(), {}, {inter.get()});
    CHECK(ReasonOf(r) == "cert_chain_untrusted");
  }
}

// RFC 5280 6.1.4 (k): every issuer needs basicConstraints cA=TRUE. OpenSSL's X509_check_ca() also
// answers "CA" (4) for a v3 certificate with keyCertSign but no basicConstraints; the chain
// builder accepts only the basicConstraints answer (1).
TEST_CASE("VerifyChainToAnchors: an intermediate with keyCertSign but no basicConstraints",
          "[common][x509][unit]") {
  Pki pki;
  X509Ptr inter =
      MakeCert(pki.inter_key.get(), {"Inter", "Root", Ca::kKeyUsageOnly}, pki.root_key.get());
  auto r = Verify(pki.leaf.get(), {inter.get()}, {pki.root.get()});
  CHECK(ReasonOf(r) == "cert_chain_untrusted");
}

TEST_CASE("VerifyChainToAnchors: loops and self-issued intermediates terminate",
          "[common][x509][unit]") {
  EvpPkeyPtr a_key = NewKey(), b_key = NewKey(), leaf_key = NewKey(), root_key = NewKey();
  X509Ptr root = MakeCert(root_key.get(), {"Root", "Root"}, root_key.get());
  X509Ptr leaf = MakeCert(leaf_key.get(), {"Leaf", "A", Ca::kNo}, a_key.get());
  SECTION("A issued by B, B issued by A") {
    X509Ptr a = MakeCert(a_key.get(), {"A", "B"}, b_key.get());
    X509Ptr b = MakeCert(b_key.get(), {"B", "A"}, a_key.get());
    auto r = Verify(leaf.get(), {a.get(), b.get()}, {root.get()}, kNow, 50);
    CHECK(ReasonOf(r) == "cert_chain_untrusted");
  }
  SECTION("a self-signed intermediate") {
    X509Ptr a = MakeCert(a_key.get(), {"A", "A"}, a_key.get());
    auto r = Verify(leaf.get(), {a.get()}, {root.get()}, kNow, 50);
    CHECK(ReasonOf(r) == "cert_chain_untrusted");
  }
  SECTION("two self-issued certificates of the same name and key (key renewal)") {
    X509Ptr a1 = MakeCert(a_key.get(), {"A", "A", Ca::kYes, kNotBefore, kNotAfter, 1}, a_key.get());
    X509Ptr a2 = MakeCert(a_key.get(), {"A", "A", Ca::kYes, kNotBefore, kNotAfter, 2}, a_key.get());
    auto r = Verify(leaf.get(), {a1.get(), a2.get()}, {root.get()}, kNow, 50);
    CHECK(ReasonOf(r) == "cert_chain_untrusted");
  }
  SECTION("the loop reaches an anchor when one is configured") {
    X509Ptr a = MakeCert(a_key.get(), {"A", "B"}, b_key.get());
    X509Ptr b = MakeCert(b_key.get(), {"B", "A"}, a_key.get());
    auto r = Verify(leaf.get(), {a.get(), b.get()}, {root.get(), b.get()}, kNow, 50);
    REQUIRE(r.has_value());
    CHECK(*r == 1);
  }
}

// Behaviour pinned here: max_depth bounds the number of *intermediates* on the path; the anchor
// comes on top of them (so leaf + max_depth intermediates + anchor).
TEST_CASE("VerifyChainToAnchors: the depth limit bounds the intermediates",
          "[common][x509][unit]") {
  SECTION("four intermediates pass with the default limit, five do not") {
    LongChain four(4);
    auto ok = Verify(four.leaf.get(), four.Intermediates(), {four.root.get()});
    REQUIRE(ok.has_value());
    LongChain five(5);
    auto r = Verify(five.leaf.get(), five.Intermediates(), {five.root.get()});
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "cert_chain_untrusted");
    // The same chain passes when the anchor is configured lower down.
    auto lower = Verify(five.leaf.get(), five.Intermediates(), {five.inters[3].get()});
    CHECK(lower.has_value());
  }
  SECTION("max_depth 0: only an anchor that issued the leaf") {
    LongChain zero(0);
    CHECK(Verify(zero.leaf.get(), {}, {zero.root.get()}, kNow, 0).has_value());
    LongChain one(1);
    CHECK(ReasonOf(Verify(one.leaf.get(), one.Intermediates(), {one.root.get()}, kNow, 0)) ==
          "cert_chain_untrusted");
    CHECK(Verify(one.leaf.get(), one.Intermediates(), {one.root.get()}, kNow, 1).has_value());
  }
  SECTION("intermediates in any order") {
    LongChain three(3);
    Certs shuffled = {three.inters[2].get(), three.inters[0].get(), three.inters[1].get()};
    CHECK(Verify(three.leaf.get(), shuffled, {three.root.get()}).has_value());
  }
}

TEST_CASE("VerifyChainToAnchors: a null leaf is kInvalidArgument", "[common][x509][unit]") {
  Pki pki;
  CHECK(CodeOf(Verify(nullptr, {}, {pki.root.get()})) == ErrorCode::kInvalidArgument);
}

TEST_CASE("VerifyChainToAnchors: pathLenConstraint, unknown critical extensions, work limits",
          "[common][x509][unit]") {
  Pki pki;
  SECTION("root with pathlen 0 may not have an intermediate below it") {
    X509Ptr root0 = MakeCert(pki.root_key.get(), {"Root", "Root", Ca::kYes, kNotBefore, kNotAfter, 1, 0},
                             pki.root_key.get());
    CHECK(ReasonOf(Verify(pki.leaf.get(), {pki.inter.get()}, {root0.get()})) == "cert_chain_untrusted");
    // ...but may issue the leaf's issuer directly when that issuer is the anchor.
    CHECK(Verify(pki.leaf.get(), {}, {pki.inter.get()}).has_value());
    X509Ptr root1 = MakeCert(pki.root_key.get(), {"Root", "Root", Ca::kYes, kNotBefore, kNotAfter, 1, 1},
                             pki.root_key.get());
    CHECK(Verify(pki.leaf.get(), {pki.inter.get()}, {root1.get()}).has_value());
  }
  SECTION("a certificate with an unknown critical extension is refused") {
    CertSpec spec{"Leaf", "Inter", Ca::kNo};
    spec.unknown_critical = true;
    X509Ptr odd_leaf = MakeCert(pki.leaf_key.get(), spec, pki.inter_key.get());
    CHECK(ReasonOf(Verify(odd_leaf.get(), {pki.inter.get()}, {pki.root.get()})) == "cert_chain_untrusted");
    CertSpec ispec{"Inter", "Root", Ca::kYes};
    ispec.unknown_critical = true;
    X509Ptr odd_inter = MakeCert(pki.inter_key.get(), ispec, pki.root_key.get());
    CHECK(ReasonOf(Verify(pki.leaf.get(), {odd_inter.get()}, {pki.root.get()})) == "cert_chain_untrusted");
  }
  SECTION("more than 8 intermediates are refused before any signature check") {
    std::vector<X509Ptr> many;
    Certs ptrs;
    for (int i = 0; i < 9; ++i) {
      many.push_back(MakeCert(pki.inter_key.get(), {"Inter", "Root", Ca::kYes}, pki.root_key.get()));
      ptrs.push_back(many.back().get());
    }
    CHECK(ReasonOf(Verify(pki.leaf.get(), ptrs, {pki.root.get()})) == "cert_chain_untrusted");
  }
  SECTION("same-name, same-key CAs that lead nowhere cannot make the search expensive") {
    // Eight self-issued CAs under one name and key: without a budget the depth-first search
    // would try every ordering of them.
    EvpPkeyPtr k = NewKey();
    std::vector<X509Ptr> loop;
    Certs ptrs;
    for (long i = 0; i < 8; ++i) {
      CertSpec spec{"Inter", "Inter", Ca::kYes};
      spec.serial = i + 10;
      loop.push_back(MakeCert(k.get(), spec, k.get()));
      ptrs.push_back(loop.back().get());
    }
    CertSpec lspec{"Leaf", "Inter", Ca::kNo};
    X509Ptr leaf = MakeCert(pki.leaf_key.get(), lspec, k.get());
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(ReasonOf(Verify(leaf.get(), ptrs, {pki.root.get()}, kNow, 8)) == "cert_chain_untrusted");
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
  }
}
