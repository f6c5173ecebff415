// SPDX-License-Identifier: Apache-2.0
#include "attestation/tpm/event_log.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "attestation/tpm/secure_boot.h"
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
    if (!sizes.emplace(alg, size).second)
      return Malformed("Spec ID event lists an algorithm twice");
  }

  EventLogReplay out;
  // Replayed banks: the known algorithms whose size matches the registry.
  std::map<TPM2_ALG_ID, std::map<unsigned, std::vector<std::uint8_t>>> pcrs;
  std::set<unsigned> touched;
  std::uint8_t startup_locality = 0;
  std::vector<Pcr7Event> pcr7;  // views into `log`, read by ReadSecureBoot once the loop is done
  for (const auto& [alg, size] : sizes) {
    if (HashMd(alg) != nullptr && DigestSize(alg) != size)
      return Malformed("Spec ID digest size is wrong");
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
      if (size == sizes.end())
        return Malformed("event digest of an algorithm the Spec ID event does not list");
      SKR_TRY(auto d, Need(r.Take(size->second), "event digest"));
      // Each listed algorithm exactly once: a bank cannot be skipped by naming another twice.
      if (!digests.emplace(alg, d).second) return Malformed("event names a digest algorithm twice");
    }
    SKR_TRY(std::uint32_t event_size, Need(r.U32Le(), "event data"));
    SKR_TRY(auto data, Need(r.Take(event_size), "event data"));

    if (type == kEvNoAction) {
      // PFP 10.4.5.3: "StartupLocality\0" + locality: PCR 0 starts at 0...0 || locality.
      static constexpr char kStartup[] = "StartupLocality";
      if (pcr == 0 && data.size() == sizeof(kStartup) + 1 &&
          std::memcmp(data.data(), kStartup, sizeof(kStartup)) == 0) {
        startup_locality = data[sizeof(kStartup)];
      }
      continue;  // never extended
    }
    Pcr7Event measured{type, data, {}};
    for (const auto& [alg, d] : digests) {
      if (HashMd(alg) == nullptr) continue;
      auto& bank = pcrs[alg];
      auto it = bank.find(pcr);
      if (it == bank.end()) {
        std::vector<std::uint8_t> init(DigestSize(alg), 0);
        if (pcr == 0) init.back() = startup_locality;
        it = bank.emplace(pcr, std::move(init)).first;
      }
      SKR_TRY(it->second, BankHash(alg, it->second, d));
      measured.digests.emplace_back(alg, d);
    }
    touched.insert(pcr);
    if (pcr == 7) pcr7.push_back(std::move(measured));
  }
  for (auto& [alg, bank] : pcrs) out.replayed[BankName(alg)] = std::move(bank);
  if (out.replayed.empty())
    return Malformed("no bank this verifier can replay (SHA-256/384/512, SHA-1)");
  // Only the digests are proven by the replay; what PCR 7's labels say is read under the rules of
  // secure_boot.h, which refuse a log whose labels contradict its digests.
  SKR_TRY(out.secure_boot, ReadSecureBoot(pcr7));
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
  if (checked.count(7) != 0 && replay.secure_boot)
    claims["tpm.secure_boot.enabled"] = *replay.secure_boot;
  return {};
}

}  // namespace skr::attestation::tpm
