// SPDX-License-Identifier: Apache-2.0
#include "attestation/tpm/secure_boot.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <string>

#include "attestation/tpm/event_log.h"
#include "attestation/tpm/quote.h"
#include "common/byte_reader.h"
#include "common/encoding.h"
#include "common/ossl.h"

namespace skr::attestation::tpm {
namespace {

Error Invalid(const std::string& msg) {
  return Error(ErrorCode::kVerificationFailed, "tpm event log: " + msg, "tpm_event_log_invalid");
}

Error Malformed(const std::string& msg) {
  return Error(ErrorCode::kMalformedEvidence, "tpm event log: " + msg, "tpm_event_log_malformed");
}

bool Same(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

std::string TypeHex(std::uint32_t type) {
  const std::uint8_t be[4] = {
      static_cast<std::uint8_t>(type >> 24), static_cast<std::uint8_t>(type >> 16),
      static_cast<std::uint8_t>(type >> 8), static_cast<std::uint8_t>(type)};
  return "0x" + HexEncode(be);
}

// EV_SEPARATOR event data (PFP Table 9 "Events", EV_SEPARATOR): 0 on a normal boot; 1 (EDK II's
// MeasureSeparatorEventWithError, as a little-endian UINT32) or 0xFFFFFFFF when the firmware
// reports an error. Recognising every one of them as a separator only ever ends the part of PCR 7
// that is read sooner.
constexpr std::array<std::array<std::uint8_t, 4>, 3> kSeparatorData = {
    {{0x00, 0x00, 0x00, 0x00}, {0x01, 0x00, 0x00, 0x00}, {0xff, 0xff, 0xff, 0xff}}};

bool IsSeparatorData(std::span<const std::uint8_t> data) {
  return std::any_of(kSeparatorData.begin(), kSeparatorData.end(),
                     [&](const auto& v) { return Same(data, v); });
}

// EFI_GLOBAL_VARIABLE {8BE4DF61-93CA-11D2-AA0D-00E098032B8C} in its in-memory (mixed endian) form.
constexpr std::uint8_t kEfiGlobalVariable[16] = {0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
                                                 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c};
constexpr std::size_t kMaxVariableNameChars = 1024;

struct UefiVariable {
  std::span<const std::uint8_t> guid, name, value;  // name: UTF-16LE, no terminator
};

// UEFI_VARIABLE_DATA (PFP 10.4.1): VariableName GUID, UnicodeNameLength u64 (characters, at
// least one), VariableDataLength u64, UnicodeName, VariableData. Trailing bytes are tolerated, as
// before this check existed (the digest, when it is compared, covers them). nullopt when the data
// is not shaped so.
std::optional<UefiVariable> ParseUefiVariable(std::span<const std::uint8_t> data) {
  ByteReader r(data);
  auto guid = r.Take(16);
  auto name_len = r.U64Le();
  auto value_len = r.U64Le();
  if (!guid || !name_len || !value_len) return std::nullopt;
  if (*name_len == 0 || *name_len > kMaxVariableNameChars || *name_len * 2 > r.remaining()) {
    return std::nullopt;
  }
  auto name = r.Take(static_cast<std::size_t>(*name_len) * 2);
  if (!name || *value_len > r.remaining()) return std::nullopt;
  auto value = r.Take(static_cast<std::size_t>(*value_len));
  if (!value) return std::nullopt;
  return UefiVariable{*guid, *name, *value};
}

bool IsSecureBootVariable(const UefiVariable& v) {
  static constexpr char kName[] = "SecureBoot";
  if (std::memcmp(v.guid.data(), kEfiGlobalVariable, 16) != 0 ||
      v.name.size() != 2 * (sizeof(kName) - 1)) {
    return false;
  }
  for (std::size_t i = 0; i + 1 < sizeof(kName); ++i) {
    if (v.name[2 * i] != static_cast<std::uint8_t>(kName[i]) || v.name[2 * i + 1] != 0)
      return false;
  }
  return true;
}

bool IsVariableType(std::uint32_t type) {
  return type == kEvEfiVariableDriverConfig || type == kEvEfiVariableBoot ||
         type == kEvEfiVariableBoot2 || type == kEvEfiVariableAuthority ||
         type == kEvEfiSpdmDevicePolicy || type == kEvEfiSpdmDeviceAuthority;
}

// Whether every bank's digest of the event is the hash of its data.
Result<bool> DataMatchesEveryDigest(const Pcr7Event& e) {
  for (const auto& [alg, d] : e.digests) {
    SKR_TRY(auto h, BankHash(alg, e.data));
    if (!Same(h, d)) return false;
  }
  return !e.digests.empty();
}

// Separator digests per bank, computed once per log.
class SeparatorDigests {
 public:
  Result<bool> Contains(TPM2_ALG_ID alg, std::span<const std::uint8_t> digest) {
    auto it = by_alg_.find(alg);
    if (it == by_alg_.end()) {
      std::vector<std::vector<std::uint8_t>> all;
      for (const auto& v : kSeparatorData) {
        SKR_TRY(auto h, BankHash(alg, v));
        all.push_back(std::move(h));
      }
      it = by_alg_.emplace(alg, std::move(all)).first;
    }
    return std::any_of(it->second.begin(), it->second.end(),
                       [&](const auto& h) { return Same(h, digest); });
  }

 private:
  std::map<TPM2_ALG_ID, std::vector<std::vector<std::uint8_t>>> by_alg_;
};

// Whether the event is a separator. A digest of separator data in any one bank (the quoted bank's
// digest is genuine, the others are free to edit), separator data or the EV_SEPARATOR type each
// make it one; it must then be a whole separator, or the log hides where the firmware stopped.
Result<bool> IsSeparator(const Pcr7Event& e, std::size_t index, SeparatorDigests& separators) {
  bool by_digest = false;
  for (const auto& [alg, d] : e.digests) {
    SKR_TRY(bool hit, separators.Contains(alg, d));
    by_digest = by_digest || hit;
  }
  const bool by_type = e.type == kEvSeparator;
  const bool by_data = IsSeparatorData(e.data);
  if (!by_digest && !by_type && !by_data) return false;
  SKR_TRY(bool digests_match, DataMatchesEveryDigest(e));
  if (!by_type || !by_data || !digests_match) {
    return Invalid("PCR 7 event " + std::to_string(index) + " (type " + TypeHex(e.type) +
                   ") is partly a separator: type, data and every bank's digest must all be one");
  }
  return true;
}

}  // namespace

Result<std::vector<std::uint8_t>> BankHash(TPM2_ALG_ID alg, std::span<const std::uint8_t> a,
                                           std::span<const std::uint8_t> b) {
  const EVP_MD* md = HashMd(alg);
  std::uint8_t out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (md == nullptr || !ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), a.data(), a.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), b.data(), b.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out, &len) != 1) {
    return Error(ErrorCode::kInternal, "tpm event log: digest failed");
  }
  return std::vector<std::uint8_t>(out, out + len);
}

Result<std::optional<bool>> ReadSecureBoot(std::span<const Pcr7Event> pcr7) {
  SeparatorDigests separators;
  std::optional<bool> first_value;  // from event 0, when it is a sound SecureBoot measurement
  int secure_boot_events = 0;
  for (std::size_t i = 0; i < pcr7.size(); ++i) {
    const Pcr7Event& e = pcr7[i];
    SKR_TRY(bool separator, IsSeparator(e, i, separators));
    if (separator) {
      // Everything after it was measured once the firmware had handed over (by the boot loader,
      // or by root at run time): never read. A separator that reports an error leaves the policy
      // the firmware applied unknown.
      if (!Same(e.data, kSeparatorData[0])) return std::optional<bool>();
      break;
    }
    const auto var = ParseUefiVariable(e.data);
    if (!IsVariableType(e.type)) {
      // A firmware never logs a variable under another type; an edited log does, to hide it.
      if (var) {
        return Invalid("PCR 7 event " + std::to_string(i) +
                       " before the separator holds a UEFI variable under type " + TypeHex(e.type));
      }
      continue;
    }
    if (!var) {
      if (e.type == kEvEfiVariableDriverConfig) {
        return Malformed("EV_EFI_VARIABLE_DRIVER_CONFIG in PCR 7 is not a UEFI_VARIABLE_DATA");
      }
      continue;  // other variable events (shim's authorities, for one) are not always well formed
    }
    if (!IsSecureBootVariable(*var)) continue;
    if (e.type != kEvEfiVariableDriverConfig) {
      return Invalid("the SecureBoot variable is logged under type " + TypeHex(e.type) +
                     ", not EV_EFI_VARIABLE_DRIVER_CONFIG");
    }
    if (var->value.size() != 1) return Malformed("SecureBoot variable must hold one byte");
    ++secure_boot_events;
    // PFP 3.3.4.8: the SecureBoot variable is the first PCR 7 measurement. Its data counts only
    // when it hashes to the logged digest in every bank (then the quoted bank vouches for it).
    SKR_TRY(bool digests_match, DataMatchesEveryDigest(e));
    if (i == 0 && digests_match) first_value = var->value[0] == 1;
  }
  if (secure_boot_events != 1) return std::optional<bool>();
  return first_value;
}

}  // namespace skr::attestation::tpm
