// SPDX-License-Identifier: Apache-2.0
// The TPM wire library both the verifiers and the agent link (tpm/wire.h): the algorithm table is
// consistent with OpenSSL, PCR bitmaps round-trip, names are nameAlg || H(TPMT_PUBLIC).
#include <catch2/catch.hpp>

#include <tss2/tss2_mu.h>

#include "common/ossl.h"
#include "tpm/wire.h"

namespace w = skr::tpm_wire;

TEST_CASE("tpm_wire: one hash table for banks, sizes and digests", "[tpm][wire]") {
  for (TPM2_ALG_ID alg : {TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384, TPM2_ALG_SHA512}) {
    const std::string bank = w::BankName(alg);
    CHECK_FALSE(bank.empty());
    CHECK(w::BankAlg(bank) == alg);
    REQUIRE(w::HashMd(alg) != nullptr);
    CHECK(static_cast<std::size_t>(EVP_MD_get_size(w::HashMd(alg))) == w::DigestSize(alg));
  }
  CHECK(w::BankName(TPM2_ALG_SHA256) == "sha256");
  // SM3 is a bank name and size the verifier accepts, without an OpenSSL default digest.
  CHECK(w::BankAlg("sm3_256") == TPM2_ALG_SM3_256);
  CHECK(w::DigestSize(TPM2_ALG_SM3_256) == 32);
  CHECK(w::HashMd(TPM2_ALG_SM3_256) == nullptr);
  // Unknown names and ids.
  CHECK(w::BankAlg("md5") == TPM2_ALG_ERROR);
  CHECK(w::BankAlg("SHA256") == TPM2_ALG_ERROR);
  CHECK(w::BankName(TPM2_ALG_AES).empty());
  CHECK(w::DigestSize(TPM2_ALG_AES) == 0);
  // Never SHA-1 where collisions matter.
  CHECK(w::StrongHashMd(TPM2_ALG_SHA1) == nullptr);
  CHECK(w::StrongHashMd(TPM2_ALG_SHA384) == EVP_sha384());
}

TEST_CASE("tpm_wire: PCR selection bitmaps (Part 2, 10.6.2)", "[tpm][wire]") {
  const std::vector<unsigned> pcrs = {0, 7, 8, 15, 23};
  const TPMS_PCR_SELECTION s = w::EncodePcrSelection(TPM2_ALG_SHA256, pcrs);
  CHECK(s.hash == TPM2_ALG_SHA256);
  CHECK(s.sizeofSelect == 3);
  CHECK(s.pcrSelect[0] == 0x81);  // PCR 0 and 7
  CHECK(s.pcrSelect[1] == 0x81);  // PCR 8 and 15
  CHECK(s.pcrSelect[2] == 0x80);  // PCR 23
  CHECK(w::DecodePcrSelection(s) == pcrs);
  // Out-of-range indexes are not encoded; a larger sizeofSelect is decoded.
  const std::vector<unsigned> too_high = {24, 31};
  CHECK(w::DecodePcrSelection(w::EncodePcrSelection(TPM2_ALG_SHA1, too_high)).empty());
  TPMS_PCR_SELECTION wide{};
  wide.sizeofSelect = 4;
  wide.pcrSelect[3] = 0x01;
  CHECK(w::DecodePcrSelection(wide) == std::vector<unsigned>{24});
  // The bitmap marshals as libtss2-mu expects: hash, size, bytes.
  std::uint8_t buf[16];
  std::size_t off = 0;
  REQUIRE(Tss2_MU_TPMS_PCR_SELECTION_Marshal(&s, buf, sizeof(buf), &off) == TSS2_RC_SUCCESS);
  CHECK(off == 2 + 1 + 3);
}

TEST_CASE("tpm_wire: a Name is nameAlg || H(marshalled TPMT_PUBLIC)", "[tpm][wire]") {
  TPMT_PUBLIC pub{};
  pub.type = TPM2_ALG_ECC;
  pub.nameAlg = TPM2_ALG_SHA256;
  pub.objectAttributes = TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_RESTRICTED;
  pub.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
  pub.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
  pub.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
  pub.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
  pub.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  pub.unique.ecc.x.size = 32;
  pub.unique.ecc.y.size = 32;
  auto bytes = w::MarshalPublic(pub);
  REQUIRE(bytes.has_value());
  auto name = w::ObjectName(pub);
  REQUIRE(name.has_value());
  REQUIRE(name->size() == 2 + 32);
  CHECK((*name)[0] == 0x00);
  CHECK((*name)[1] == 0x0b);  // TPM2_ALG_SHA256
  const auto digest = skr::Sha256(*bytes);
  CHECK(std::equal(digest.begin(), digest.end(), name->begin() + 2));
  pub.nameAlg = TPM2_ALG_SHA1;
  auto weak = w::ObjectName(pub);
  REQUIRE_FALSE(weak.has_value());
  CHECK(weak.error().reason() == "tpm_public_malformed");
}
