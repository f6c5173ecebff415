// SPDX-License-Identifier: Apache-2.0
#include "attestation/tpm/event_log.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "common/byte_reader.h"
#include "common/encoding.h"
#include "common/ossl.h"

namespace skr::attestation::tpm {
namespace {

Error Malformed(const std::string& msg) {
  return Error(ErrorCode::kMalformedEvidence, "tpm event log: " + msg, "tpm_event_log_malformed");
}

// ByteReader failures become the event log's own reason.
template <typename T>
Result<T> Need(Result<T> r, const char* what) {
  if (!r) return Malformed(std::string("truncated ") + what);
  return r;
}
Result<void> NeedVoid(Result<void> r, const char* what) {
  if (!r) return Malformed(std::string("truncated ") + what);
  return r;
}

std::vector<std::uint8_t> Hash(TPM2_ALG_ID alg, std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  std::uint8_t out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), HashMd(alg), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), a.data(), a.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), b.data(), b.size()) != 1 || EVP_DigestFinal_ex(ctx.get(), out, &len) != 1) {
    return {};
  }
  return {out, out + len};
}

// EFI_GLOBAL_VARIABLE {8BE4DF61-93CA-11D2-AA0D-00E098032B8C} in its in-memory (mixed endian) form.
constexpr std::uint8_t kEfiGlobalVariable[16] = {0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
                                                 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c};

// UEFI_VARIABLE_DATA (PC Client PFP 10.4.1): VariableName GUID, UnicodeNameLength u64 (chars),
// VariableDataLength u64, UnicodeName (UTF-16LE), VariableData. Returns the value of the
// "SecureBoot" global variable, or nullopt when the event is another variable.
Result<std::optional<bool>> SecureBootValue(std::span<const std::uint8_t> data) {
  ByteReader r(data);
  SKR_TRY(auto guid, Need(r.Take(16), "UEFI_VARIABLE_DATA"));
  SKR_TRY(std::uint64_t name_len, Need(r.U64Le(), "UEFI_VARIABLE_DATA"));
  SKR_TRY(std::uint64_t data_len, Need(r.U64Le(), "UEFI_VARIABLE_DATA"));
  if (name_len > 1024 || data_len > r.remaining()) return Malformed("UEFI_VARIABLE_DATA sizes out of range");
  SKR_TRY(auto name, Need(r.Take(static_cast<std::size_t>(name_len) * 2), "UEFI_VARIABLE_DATA name"));
  SKR_TRY(auto value, Need(r.Take(static_cast<std::size_t>(data_len)), "UEFI_VARIABLE_DATA value"));
  static constexpr char kName[] = "SecureBoot";
  if (std::memcmp(guid.data(), kEfiGlobalVariable, 16) != 0 || name_len != sizeof(kName) - 1) return std::nullopt;
  for (std::size_t i = 0; i + 1 < sizeof(kName); ++i) {
    if (name[2 * i] != static_cast<std::uint8_t>(kName[i]) || name[2 * i + 1] != 0) return std::nullopt;
  }
  if (value.size() != 1) return Malformed("SecureBoot variable must hold one byte");
  return std::optional<bool>(value[0] == 1);
}

}  // namespace

Result<EventLogReplay> ReplayEventLog(std::span<const std::uint8_t> log) {
  if (log.empty() || log.size() > kMaxEventLogBytes) return Malformed("empty or larger than 1 MiB");
  ByteReader r(log);

  // ---- The Spec ID event, in the SHA-1 TCG_PCClientPCREvent format (PFP 10.2.1, 10.4.5.1) ----
  SKR_TRY(std::uint32_t pcr0, Need(r.U32Le(), "first event"));
  SKR_TRY(std::uint32_t type0, Need(r.U32Le(), "first event"));
  SKR_TRY_VOID(NeedVoid(r.Skip(20), "first event"));
  SKR_TRY(std::uint32_t size0, Need(r.U32Le(), "first event"));
  SKR_TRY(auto spec, Need(r.Take(size0), "Spec ID event"));
  static constexpr char kSpecId[] = "Spec ID Event03";  // 16 bytes with the NUL
  if (pcr0 != 0 || type0 != kEvNoAction || spec.size() < 28 ||
      std::memcmp(spec.data(), kSpecId, sizeof(kSpecId)) != 0) {
    return Malformed("not a crypto-agile log (no Spec ID Event03)");
  }
  ByteReader s(spec.subspan(16));
  SKR_TRY_VOID(NeedVoid(s.Skip(8), "Spec ID event"));  // platformClass, versions, errata, uintnSize
  SKR_TRY(std::uint32_t n_algs, Need(s.U32Le(), "Spec ID event"));
  if (n_algs == 0 || n_algs > 8) return Malformed("Spec ID event lists 1..8 algorithms");
  std::map<TPM2_ALG_ID, std::uint16_t> sizes;
  for (std::uint32_t i = 0; i < n_algs; ++i) {
    SKR_TRY(std::uint16_t alg, Need(s.U16Le(), "Spec ID digest sizes"));
    SKR_TRY(std::uint16_t size, Need(s.U16Le(), "Spec ID digest sizes"));
    // Algorithms this replay does not know are skipped by size below; none may repeat.
    if (!sizes.emplace(alg, size).second) return Malformed("Spec ID event lists an algorithm twice");
  }

  EventLogReplay out;
  // Replayed banks: the known algorithms whose size matches the registry.
  std::map<TPM2_ALG_ID, std::map<unsigned, std::vector<std::uint8_t>>> pcrs;
  std::set<unsigned> touched;
  std::uint8_t startup_locality = 0;
  bool pcr7_separated = false;
  int secure_boot_events = 0;
  std::optional<bool> secure_boot;
  for (const auto& [alg, size] : sizes) {
    if (HashMd(alg) != nullptr && DigestSize(alg) != size) return Malformed("Spec ID digest size is wrong");
  }

  // ---- TCG_PCR_EVENT2 records (PFP 10.2.2) ----
  while (r.remaining() > 0) {
    if (++out.events > kMaxEventLogEvents) return Malformed("too many events");
    SKR_TRY(std::uint32_t pcr, Need(r.U32Le(), "event"));
    SKR_TRY(std::uint32_t type, Need(r.U32Le(), "event"));
    SKR_TRY(std::uint32_t count, Need(r.U32Le(), "event digests"));
    if (pcr > 23) return Malformed("PCR index above 23");
    if (count != n_algs) return Malformed("event digest count differs from the Spec ID event");
    std::map<TPM2_ALG_ID, std::span<const std::uint8_t>> digests;
    for (std::uint32_t i = 0; i < count; ++i) {
      SKR_TRY(std::uint16_t alg, Need(r.U16Le(), "event digest"));
      auto size = sizes.find(alg);
      if (size == sizes.end()) return Malformed("event digest of an algorithm the Spec ID event does not list");
      SKR_TRY(auto d, Need(r.Take(size->second), "event digest"));
      // Each listed algorithm exactly once: a bank cannot be skipped by naming another twice.
      if (!digests.emplace(alg, d).second) return Malformed("event names a digest algorithm twice");
    }
    SKR_TRY(std::uint32_t event_size, Need(r.U32Le(), "event data"));
    SKR_TRY(auto data, Need(r.Take(event_size), "event data"));

    if (type == kEvNoAction) {
      // PFP 10.4.5.3: "StartupLocality\0" + locality: PCR 0 starts at 0...0 || locality.
      static constexpr char kStartup[] = "StartupLocality";
      if (pcr == 0 && data.size() == sizeof(kStartup) + 1 && std::memcmp(data.data(), kStartup, sizeof(kStartup)) == 0) {
        startup_locality = data[sizeof(kStartup)];
      }
      continue;  // never extended
    }
    for (const auto& [alg, d] : digests) {
      if (HashMd(alg) == nullptr) continue;
      auto& bank = pcrs[alg];
      auto it = bank.find(pcr);
      if (it == bank.end()) {
        std::vector<std::uint8_t> init(DigestSize(alg), 0);
        if (pcr == 0) init.back() = startup_locality;
        it = bank.emplace(pcr, std::move(init)).first;
      }
      it->second = Hash(alg, it->second, d);
      if (it->second.empty()) return Error(ErrorCode::kInternal, "tpm event log: digest failed");
    }
    touched.insert(pcr);

    if (type == kEvSeparator && pcr == 7) pcr7_separated = true;
    // Facts read from event data count only when the data hashes to its logged digest in every
    // bank (so the bank that matches the quoted PCR 7 vouches for exactly this data), and only for
    // the firmware's own measurement: the one SecureBoot event before PCR 7's EV_SEPARATOR (PFP
    // 10.4.4). A second one, or one after the separator, leaves the state unknown.
    if (type == kEvEfiVariableDriverConfig && pcr == 7) {
      SKR_TRY(std::optional<bool> sb, SecureBootValue(data));
      if (sb) {
        bool digest_ok = true;
        for (const auto& [alg, d] : digests) {
          if (HashMd(alg) == nullptr) continue;
          const auto h = Hash(alg, data, {});
          digest_ok = digest_ok && h.size() == d.size() && std::equal(h.begin(), h.end(), d.begin());
        }
        ++secure_boot_events;
        if (digest_ok && !pcr7_separated && secure_boot_events == 1) secure_boot = *sb;
      }
    }
  }
  if (secure_boot_events == 1) out.secure_boot = secure_boot;
  for (auto& [alg, bank] : pcrs) out.replayed[BankName(alg)] = std::move(bank);
  if (out.replayed.empty()) return Malformed("no bank this verifier can replay (SHA-256/384/512, SHA-1)");
  return out;
}

Result<void> CheckEventLog(const EventLogReplay& replay, const PcrValues& quoted, Claims& claims) {
  std::set<unsigned> checked;
  for (const auto& [bank, values] : replay.replayed) {
    auto q = quoted.find(bank);
    if (q == quoted.end()) continue;
    for (const auto& [index, value] : values) {
      auto qv = q->second.find(index);
      if (qv == q->second.end()) continue;
      if (!ConstantTimeEquals(qv->second, value)) {
        return Error(ErrorCode::kVerificationFailed,
                     "tpm event log: replaying the log does not give the quoted PCR " + bank + ":" +
                         std::to_string(index),
                     "tpm_event_log_mismatch");
      }
      checked.insert(index);
    }
  }
  claims["tpm.event_log.events"] = replay.events;
  claims["tpm.event_log.pcrs"] = Json(std::vector<unsigned>(checked.begin(), checked.end()));
  if (checked.count(7) != 0 && replay.secure_boot) claims["tpm.secure_boot.enabled"] = *replay.secure_boot;
  return {};
}

}  // namespace skr::attestation::tpm
