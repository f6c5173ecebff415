// SPDX-License-Identifier: Apache-2.0
#include "tests/support/test_certs.h"

#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <stdexcept>

namespace skr::test {

void CheckPki(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test PKI: ") + what);
}

void AddRawExtension(X509* cert, const char* oid, const std::vector<std::uint8_t>& der) {
  ASN1_OBJECT* obj = OBJ_txt2obj(oid, 1);
  CheckPki(obj != nullptr, "OBJ_txt2obj");
  ASN1_OCTET_STRING* os = ASN1_OCTET_STRING_new();
  CheckPki(ASN1_OCTET_STRING_set(os, der.data(), static_cast<int>(der.size())) == 1, "octets");
  X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, obj, 0, os);
  CheckPki(ext != nullptr && X509_add_ext(cert, ext, -1) == 1, "X509_add_ext");
  X509_EXTENSION_free(ext);
  ASN1_OCTET_STRING_free(os);
  ASN1_OBJECT_free(obj);
}

namespace {
void SetName(X509_NAME* name, const std::string& org, const std::string& cn) {
  for (const auto& [field, value] : {std::pair<const char*, const std::string*>{"O", &org},
                                     {"CN", &cn}}) {
    CheckPki(X509_NAME_add_entry_by_txt(name, field, MBSTRING_ASC,
                                        reinterpret_cast<const unsigned char*>(value->c_str()),
                                        -1, -1, 0) == 1,
             "name");
  }
}
}  // namespace

X509Ptr MakeTestCert(const std::string& org, const std::string& cn, const std::string& issuer_cn,
                     long serial, EVP_PKEY* key, bool ca) {
  X509Ptr cert(X509_new());
  CheckPki(X509_set_version(cert.get(), 2) == 1, "version");
  CheckPki(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial) == 1, "serial");
  CheckPki(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -86400) != nullptr, "notBefore");
  CheckPki(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3650L * 86400) != nullptr, "notAfter");
  SetName(X509_get_subject_name(cert.get()), org, cn);
  SetName(X509_get_issuer_name(cert.get()), org, issuer_cn);
  CheckPki(X509_set_pubkey(cert.get(), key) == 1, "pubkey");
  if (ca) {
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, cert.get(), cert.get(), nullptr, nullptr, 0);
    X509_EXTENSION* bc = X509V3_EXT_conf_nid(nullptr, &v3, NID_basic_constraints, "critical,CA:TRUE");
    CheckPki(bc != nullptr && X509_add_ext(cert.get(), bc, -1) == 1, "basicConstraints");
    X509_EXTENSION_free(bc);
  }
  return cert;
}

void SetTestCrlTime(X509_CRL* crl, bool next, std::int64_t t) {
  ASN1_TIME* at = ASN1_TIME_set(nullptr, static_cast<time_t>(t));
  CheckPki(at != nullptr, "ASN1_TIME_set");
  const int ok = next ? X509_CRL_set1_nextUpdate(crl, at) : X509_CRL_set1_lastUpdate(crl, at);
  ASN1_TIME_free(at);
  CheckPki(ok == 1, "CRL time");
}

std::string CertPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  CheckPki(PEM_write_bio_X509(bio.get(), cert) == 1, "PEM_write_bio_X509");
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string CrlPemText(X509_CRL* crl) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  CheckPki(PEM_write_bio_X509_CRL(bio.get(), crl) == 1, "PEM_write_bio_X509_CRL");
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace skr::test
