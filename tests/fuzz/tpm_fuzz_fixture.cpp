// SPDX-License-Identifier: Apache-2.0
#include "tests/fuzz/tpm_fuzz_fixture.h"

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "common/encoding.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/support/tpm_test_evidence.h"

namespace skr::fuzz {
namespace {

using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, OsslFree<&ASN1_OBJECT_free>>;
using Asn1OctetStringPtr = std::unique_ptr<ASN1_OCTET_STRING, OsslFree<&ASN1_OCTET_STRING_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, OsslFree<&X509_EXTENSION_free>>;

void AddConfExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  Require(ext != nullptr && X509_add_ext(cert, ext.get(), -1) == 1);
}

// A certificate for `subject_key` named `cn`, issued by `issuer` (self-signed when null).
X509Ptr NewCertificate(EVP_PKEY* subject_key, const char* cn, X509* issuer, long serial) {
  X509Ptr cert(X509_new());
  Require(cert != nullptr);
  Require(X509_set_version(cert.get(), 2) == 1);
  Require(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial) == 1);
  Require(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -86400) != nullptr);
  Require(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400L * 3650) != nullptr);
  X509_NAME* name = X509_get_subject_name(cert.get());
  Require(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>(cn),  // NOLINT: C API
                                     -1, -1, 0) == 1);
  Require(X509_set_issuer_name(cert.get(),
                               issuer != nullptr ? X509_get_subject_name(issuer) : name) == 1);
  Require(X509_set_pubkey(cert.get(), subject_key) == 1);
  return cert;
}

}  // namespace

X509* TestAkCa() {
  static const X509Ptr ca = [] {
    X509Ptr c = NewCertificate(Key(TestKey::kCaP256), "skr fuzz AK CA", nullptr, 1);
    AddConfExtension(c.get(), c.get(), NID_basic_constraints, "critical,CA:TRUE");
    AddConfExtension(c.get(), c.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
    Require(X509_sign(c.get(), Key(TestKey::kCaP256), EVP_sha256()) > 0);
    return c;
  }();
  return ca.get();
}

X509Ptr MakeAkCertificate(std::optional<std::span<const std::uint8_t>> gce_instance_info) {
  X509Ptr cert = NewCertificate(Key(TestKey::kAkP256), "skr fuzz AK", TestAkCa(), 2);
  AddConfExtension(cert.get(), TestAkCa(), NID_basic_constraints, "critical,CA:FALSE");
  AddConfExtension(cert.get(), TestAkCa(), NID_key_usage, "critical,digitalSignature");
  if (gce_instance_info) {
    Asn1ObjectPtr oid(OBJ_txt2obj(kGceInstanceInfoOid, 1));
    Asn1OctetStringPtr value(ASN1_OCTET_STRING_new());
    Require(oid != nullptr && value != nullptr);
    Require(ASN1_OCTET_STRING_set(value.get(), gce_instance_info->data(),
                                  static_cast<int>(gce_instance_info->size())) == 1);
    X509ExtensionPtr ext(X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 0, value.get()));
    Require(ext != nullptr && X509_add_ext(cert.get(), ext.get(), -1) == 1);
  }
  Require(X509_sign(cert.get(), Key(TestKey::kCaP256), EVP_sha256()) > 0);
  return cert;
}

std::vector<std::uint8_t> AkPublic() { return test::MarshalAkPublic(Key(TestKey::kAkP256)); }

Json TpmQuoteEvidence(std::span<const std::uint8_t> extra_data) {
  const std::vector<std::uint8_t> ak_public = AkPublic();
  test::QuoteSpec spec;
  spec.qualified_signer = test::TpmName(ak_public);
  spec.extra_data.assign(extra_data.begin(), extra_data.end());
  const std::vector<std::uint8_t> attest = test::MarshalQuoteAttest(spec);
  const std::vector<std::uint8_t> signature =
      test::SignQuote(attest, Key(TestKey::kAkP256), test::TpmSigScheme::kEcdsaSha256);
  Json pcrs = Json::object();
  for (const auto& [bank, values] : spec.pcrs) {
    for (const auto& [index, value] : values) pcrs[bank][std::to_string(index)] = HexEncode(value);
  }
  return Json{{"type", "tpm"},
              {"quote", Base64Encode(attest)},
              {"signature", Base64Encode(signature)},
              {"pcrs", pcrs},
              {"ak_public", Base64Encode(ak_public)}};
}

}  // namespace skr::fuzz
