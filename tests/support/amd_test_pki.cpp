// SPDX-License-Identifier: Apache-2.0
#include "tests/support/amd_test_pki.h"
#include "tests/support/test_certs.h"

#include <openssl/asn1.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <stdexcept>

namespace skr::test {
namespace {

void Check(bool ok, const char* what) { CheckPki(ok, what); }

// DER of the extension values (VCEK spec, "VCEK Certificate Extensions").
std::vector<std::uint8_t> DerInteger(std::uint8_t v) {
  if (v < 0x80) return {0x02, 0x01, v};
  return {0x02, 0x02, 0x00, v};
}
std::vector<std::uint8_t> DerIa5(const std::string& s) {
  std::vector<std::uint8_t> out = {0x16, static_cast<std::uint8_t>(s.size())};
  out.insert(out.end(), s.begin(), s.end());
  return out;
}
std::vector<std::uint8_t> DerOctets(std::span<const std::uint8_t> b) {
  std::vector<std::uint8_t> out = {0x04, static_cast<std::uint8_t>(b.size())};
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

void SignPss(X509* cert, EVP_PKEY* issuer_key) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  Check(EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha384(), nullptr, issuer_key) == 1, "sign init");
  Check(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1, "pss");
  Check(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) == 1, "salt");
  Check(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) == 1, "mgf1");
  Check(X509_sign_ctx(cert, ctx.get()) > 0, "X509_sign_ctx");
}

void SignCrlPss(X509_CRL* crl, EVP_PKEY* issuer_key) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  Check(EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha384(), nullptr, issuer_key) == 1, "sign init");
  Check(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1, "pss");
  Check(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) == 1, "salt");
  Check(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) == 1, "mgf1");
  Check(X509_CRL_sign_ctx(crl, ctx.get()) > 0, "X509_CRL_sign_ctx");
}

}  // namespace

AmdTestPki::AmdTestPki(const std::array<std::uint8_t, 64>& chip_id, const AmdTestTcb& tcb,
                       const std::string& product_name)
    : chip_id_(chip_id), product_name_(product_name) {
  ark_key_ = GenerateRsaKey(3072).value();
  ask_key_ = GenerateRsaKey(3072).value();
  vcek_key_ = GenerateEcKey("P-384").value();
  ark_ = MakeTestCert("Test AMD", "ARK-Milan", "ARK-Milan", 1, ark_key_.get(), true);
  SignPss(ark_.get(), ark_key_.get());
  ask_ = MakeTestCert("Test AMD", "SEV-Milan", "ARK-Milan", 2, ask_key_.get(), true);
  SignPss(ask_.get(), ark_key_.get());
  vcek_ = LeafCert(vcek_key_.get(), tcb);
}

X509Ptr AmdTestPki::LeafCert(EVP_PKEY* leaf_key, const AmdTestTcb& tcb) const {
  X509Ptr leaf = MakeTestCert("Test AMD", "SEV-VCEK", "SEV-Milan", 0, leaf_key, false);
  // OIDs: VCEK spec, table "VCEK Certificate Extensions" (1.3.6.1.4.1.3704.1.*).
  AddRawExtension(leaf.get(), "1.3.6.1.4.1.3704.1.1", DerInteger(1));  // structVersion
  AddRawExtension(leaf.get(), "1.3.6.1.4.1.3704.1.2", DerIa5(product_name_));
  AddRawExtension(leaf.get(), "1.3.6.1.4.1.3704.1.3.1", DerInteger(tcb.bootloader));
  AddRawExtension(leaf.get(), "1.3.6.1.4.1.3704.1.3.2", DerInteger(tcb.tee));
  AddRawExtension(leaf.get(), "1.3.6.1.4.1.3704.1.3.3", DerInteger(tcb.snp));
  AddRawExtension(leaf.get(), "1.3.6.1.4.1.3704.1.3.4", DerInteger(0));
  AddRawExtension(leaf.get(), "1.3.6.1.4.1.3704.1.3.5", DerInteger(0));
  AddRawExtension(leaf.get(), "1.3.6.1.4.1.3704.1.3.6", DerInteger(0));
  AddRawExtension(leaf.get(), "1.3.6.1.4.1.3704.1.3.7", DerInteger(0));
  AddRawExtension(leaf.get(), "1.3.6.1.4.1.3704.1.3.8", DerInteger(tcb.microcode));
  AddRawExtension(leaf.get(), "1.3.6.1.4.1.3704.1.4", DerOctets(chip_id_));
  SignPss(leaf.get(), ask_key_.get());
  return leaf;
}

std::string AmdTestPki::RootsPem() const { return CertPem(ark_.get()) + CertPem(ask_.get()); }
std::string AmdTestPki::VcekPem() const { return CertPem(vcek_.get()); }
std::string AmdTestPki::VcekPemFor(const AmdTestTcb& tcb) const {
  return CertPem(LeafCert(vcek_key_.get(), tcb).get());
}

std::string AmdTestPki::CrlPem(CrlIssuer issuer, const std::vector<long>& revoked,
                               std::int64_t this_update,
                               std::optional<std::int64_t> next_update) const {
  X509* signer = issuer == CrlIssuer::kArk ? ark_.get() : ask_.get();
  EVP_PKEY* key = issuer == CrlIssuer::kArk ? ark_key_.get() : ask_key_.get();
  X509CrlPtr crl(X509_CRL_new());
  Check(crl != nullptr && X509_CRL_set_version(crl.get(), 1) == 1, "CRL version");
  Check(X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(signer)) == 1, "CRL issuer");
  SetTestCrlTime(crl.get(), /*next=*/false, this_update);
  if (next_update) SetTestCrlTime(crl.get(), /*next=*/true, *next_update);
  for (long serial : revoked) {
    X509_REVOKED* r = X509_REVOKED_new();
    ASN1_INTEGER* sn = ASN1_INTEGER_new();
    ASN1_TIME* when = ASN1_TIME_set(nullptr, static_cast<time_t>(this_update));
    Check(r != nullptr && sn != nullptr && when != nullptr && ASN1_INTEGER_set(sn, serial) == 1 &&
              X509_REVOKED_set_serialNumber(r, sn) == 1 &&
              X509_REVOKED_set_revocationDate(r, when) == 1,
          "revoked entry");
    ASN1_INTEGER_free(sn);
    ASN1_TIME_free(when);
    Check(X509_CRL_add0_revoked(crl.get(), r) == 1, "X509_CRL_add0_revoked");
  }
  Check(X509_CRL_sort(crl.get()) == 1, "X509_CRL_sort");
  SignCrlPss(crl.get(), key);
  return CrlPemText(crl.get());
}

std::string AmdTestPki::VcekKeyPem() const { return PrivateKeyToPem(vcek_key_.get()).value(); }

void AmdTestPki::SignReport(std::vector<std::uint8_t>& report) const {
  SignSnpReportWith(vcek_key_.get(), report);
}

void SignSnpReportWith(EVP_PKEY* vcek_key, std::vector<std::uint8_t>& report) {
  Check(report.size() == 0x4A0, "report size");
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  Check(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha384(), nullptr, vcek_key) == 1,
        "sign init");
  std::size_t len = 0;
  Check(EVP_DigestSign(ctx.get(), nullptr, &len, report.data(), 0x2A0) == 1, "sign len");
  std::vector<std::uint8_t> der(len);
  Check(EVP_DigestSign(ctx.get(), der.data(), &len, report.data(), 0x2A0) == 1, "sign");
  const unsigned char* p = der.data();
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
  Check(sig != nullptr, "d2i_ECDSA_SIG");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::fill(report.begin() + 0x2A0, report.begin() + 0x2A0 + 144, 0);
  // SEV-SNP ABI: R at 0x2A0, S at 0x2E8, 72 bytes each, little-endian.
  Check(BN_bn2lebinpad(r, report.data() + 0x2A0, 72) == 72, "R");
  Check(BN_bn2lebinpad(s, report.data() + 0x2E8, 72) == 72, "S");
}

std::vector<std::uint8_t> TestSnpReport::Build() const {
  // SEV-SNP ABI, ATTESTATION_REPORT (version 2).
  std::vector<std::uint8_t> r(0x4A0, 0);
  auto put = [&](std::size_t off, std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) r[off + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
  };
  put(0x00, 2, 4);             // VERSION
  put(0x04, 1, 4);             // GUEST_SVN
  put(0x08, policy, 8);        // POLICY
  put(0x30, vmpl, 4);          // VMPL
  put(0x34, 1, 4);             // SIGNATURE_ALGO: ECDSA P-384 with SHA-384
  put(0x38, tcb.Raw(), 8);     // CURRENT_TCB
  put(0x40, 0x1, 8);           // PLATFORM_INFO: SMT_EN
  put(0x48, 0, 4);             // SIGNING_KEY = VCEK
  std::copy(report_data.begin(), report_data.end(), r.begin() + 0x50);
  std::copy(measurement.begin(), measurement.end(), r.begin() + 0x90);
  std::copy(id_key_digest.begin(), id_key_digest.end(), r.begin() + 0xE0);
  put(0x180, tcb.Raw(), 8);    // REPORTED_TCB
  std::copy(chip_id.begin(), chip_id.end(), r.begin() + 0x1A0);
  put(0x1E0, tcb.Raw(), 8);    // COMMITTED_TCB
  r[0x1E8] = 4;                // CURRENT_BUILD
  r[0x1E9] = 52;               // CURRENT_MINOR
  r[0x1EA] = 1;                // CURRENT_MAJOR
  r[0x1EC] = 4;
  r[0x1ED] = 52;
  r[0x1EE] = 1;
  put(0x1F0, tcb.Raw(), 8);    // LAUNCH_TCB
  return r;
}

}  // namespace skr::test
