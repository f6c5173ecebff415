// SPDX-License-Identifier: Apache-2.0
// TCG PC Client measured-boot event log (TCG PC Client Platform Firmware Profile Specification,
// section 10 "Event Logging"), crypto-agile format only: the first event is a SHA-1-format
// TCG_PCClientPCREvent (EV_NO_ACTION) carrying the TCG_EfiSpecIDEvent "Spec ID Event03" with the
// digest sizes of every bank, then TCG_PCR_EVENT2 records (pcrIndex, eventType, TPML_DIGEST_VALUES,
// eventSize, event). Little endian. Replaying the log (PCR = H(PCR || digest) per bank,
// EV_NO_ACTION not extended, PCR 0 starting at the StartupLocality event's locality) must reproduce
// the quoted PCR values; only then are facts read from the log (secure boot state) trusted, and
// only as far as the digests vouch for them: event types and most event data are not extended, so
// PCR 7 is read under the rules of attestation/tpm/secure_boot.h.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "attestation/tpm/quote.h"
#include "common/claims.h"
#include "common/result.h"

namespace skr::attestation::tpm {

inline constexpr std::size_t kMaxEventLogBytes = 1024 * 1024;
inline constexpr std::size_t kMaxEventLogEvents = 20000;

inline constexpr std::uint32_t kEvNoAction = 0x00000003;
inline constexpr std::uint32_t kEvSeparator = 0x00000004;
inline constexpr std::uint32_t kEvEfiVariableDriverConfig = 0x80000001;

struct EventLogReplay {
  PcrValues replayed;      // bank -> PCR -> value, for every PCR the log extends
  std::size_t events = 0;  // TCG_PCR_EVENT2 records (the Spec ID event excluded)
  // The EFI global variable "SecureBoot" as PCR 7 states it (ReadSecureBoot, secure_boot.h):
  // present only when it is the first PCR 7 event, the one SecureBoot event before the separator
  // (recognised by its digest whatever its type), an EV_EFI_VARIABLE_DRIVER_CONFIG whose data
  // hashes to its digest in every bank, and the separator reports no firmware error.
  std::optional<bool> secure_boot;
};

// Parses and replays a crypto-agile event log. Errors: kMalformedEvidence reason
// tpm_event_log_malformed (truncated record, unknown algorithm, digest list not matching the Spec
// ID event, PCR index > 23, too large / too many events, no bank this verifier hashes, a PCR 7
// EV_EFI_VARIABLE_DRIVER_CONFIG before the separator that is no UEFI_VARIABLE_DATA);
// kVerificationFailed reason tpm_event_log_invalid when PCR 7's labels contradict its digests
// before the separator (a separator digest or separator data under another type, a separator
// whose banks disagree, UEFI variable data under a non-variable type, the SecureBoot variable
// under a type other than EV_EFI_VARIABLE_DRIVER_CONFIG): such a log was edited after the boot.
Result<EventLogReplay> ReplayEventLog(std::span<const std::uint8_t> log);

// Every PCR that the log extends and the quote covers (same bank) must hold the replayed value:
// else kVerificationFailed reason tpm_event_log_mismatch naming the PCR. Adds claims
// tpm.event_log.events, tpm.event_log.pcrs (array of the PCR indexes checked, sorted, any bank)
// and tpm.secure_boot.enabled (only when PCR 7 was checked).
Result<void> CheckEventLog(const EventLogReplay& replay, const PcrValues& quoted, Claims& claims);

}  // namespace skr::attestation::tpm
