// SPDX-License-Identifier: Apache-2.0
// A test PKI shaped like AMD's (VCEK spec): RSA-PSS (SHA-384, MGF1-SHA-384, salt 48) ARK and ASK,
// an EC P-384 VCEK carrying AMD's extensions (productName, blSPL/teeSPL/snpSPL/ucodeSPL, hwID),
// and a signer for SEV-SNP reports (R and S little-endian at 0x2A0 / 0x2E8). skrd trusts it
// only through [attestation.snp] extra_roots, beside the pinned AMD roots.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/ossl.h"

namespace skr::test {

struct AmdTestTcb {
  std::uint8_t bootloader = 3, tee = 0, snp = 8, microcode = 115;
  // REPORTED_TCB in the Milan/Genoa layout: byte 0 BOOT_LOADER, 1 TEE, 6 SNP, 7 MICROCODE.
  std::uint64_t Raw() const {
    return std::uint64_t{bootloader} | (std::uint64_t{tee} << 8) | (std::uint64_t{snp} << 48) |
           (std::uint64_t{microcode} << 56);
  }
};

class AmdTestPki {
 public:
  // RSA-3072 ARK/ASK (smaller than AMD's 4096 to keep tests fast), VCEK for `chip_id`/`tcb`.
  AmdTestPki(const std::array<std::uint8_t, 64>& chip_id, const AmdTestTcb& tcb,
             const std::string& product_name = "Milan-B0");
  std::string RootsPem() const;  // ARK then ASK
  std::string VcekPem() const;
  // Writes R and S of an ECDSA P-384 / SHA-384 signature over [0, 0x2A0) into the report.
  void SignReport(std::vector<std::uint8_t>& report) const;
  // The VCEK private key (PEM), for tools that sign reports out of process (bench).
  std::string VcekKeyPem() const;
  // A VCEK issued by this ASK for another TCB (same chip).
  std::string VcekPemFor(const AmdTestTcb& tcb) const;

  // Serial numbers of the certificates above.
  static constexpr long kArkSerial = 1;
  static constexpr long kAskSerial = 2;
  static constexpr long kVcekSerial = 0;  // as AMD KDS issues VCEKs
  // Which key signs a CRL: the ARK (as AMD KDS's /vcek/v1/{product}/crl, listing ASKs) or the ASK
  // (listing VCEKs).
  enum class CrlIssuer { kArk, kAsk };
  // A v2 CRL (PEM) listing `revoked` serials, thisUpdate / nextUpdate in Unix seconds (no
  // nextUpdate when nullopt), signed RSA-PSS SHA-384 like the certificates.
  std::string CrlPem(CrlIssuer issuer, const std::vector<long>& revoked, std::int64_t this_update,
                     std::optional<std::int64_t> next_update) const;

 private:
  X509Ptr LeafCert(EVP_PKEY* leaf_key, const AmdTestTcb& tcb) const;
  std::array<std::uint8_t, 64> chip_id_;
  std::string product_name_;
  EvpPkeyPtr ark_key_, ask_key_, vcek_key_;
  X509Ptr ark_, ask_, vcek_;
};

// Signs [0, 0x2A0) of an ATTESTATION_REPORT with ECDSA P-384 / SHA-384 and writes R and S
// little-endian at 0x2A0 / 0x2E8 (SEV-SNP ABI, signature table).
void SignSnpReportWith(EVP_PKEY* vcek_key, std::vector<std::uint8_t>& report);

// A minimal SEV-SNP ATTESTATION_REPORT (version 2, VCEK-signed, unsigned until SignReport).
struct TestSnpReport {
  std::uint64_t policy = 0x30000;  // SMT allowed, bit 17 reserved-one, debug off
  std::uint32_t vmpl = 0;
  std::array<std::uint8_t, 64> report_data{};
  std::array<std::uint8_t, 48> measurement{};
  std::array<std::uint8_t, 48> id_key_digest{};  // 0xE0 ID_KEY_DIGEST (zero: no ID block)
  std::array<std::uint8_t, 64> chip_id{};
  AmdTestTcb tcb;
  std::vector<std::uint8_t> Build() const;
};

}  // namespace skr::test
