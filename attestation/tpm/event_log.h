// SPDX-License-Identifier: Apache-2.0
// TCG PC Client measured-boot event log (TCG PC Client Platform Firmware Profile Specification,
// section 10 "Event Logging"), crypto-agile format only: the first event is a SHA-1-format
// TCG_PCClientPCREvent (EV_NO_ACTION) carrying the TCG_EfiSpecIDEvent "Spec ID Event03" with the
// digest sizes of every bank, then TCG_PCR_EVENT2 records (pcrIndex, eventType, TPML_DIGEST_VALUES,
// eventSize, event). Little endian. Replaying the log (PCR = H(PCR || digest) per bank, EV_NO_ACTION
// not extended, PCR 0 starting at the StartupLocality event's locality) must reproduce the quoted
// PCR values; only then are facts read from the log (secure boot state) trusted.
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
  PcrValues replayed;           // bank -> PCR -> value, for every PCR the log extends
  std::size_t events = 0;       // TCG_PCR_EVENT2 records (the Spec ID event excluded)
  // EV_EFI_VARIABLE_DRIVER_CONFIG "SecureBoot" (EFI global variable GUID) in PCR 7, present only
  // when the log holds exactly one such event, before PCR 7's EV_SEPARATOR, and its digest in
  // every bank equals the hash of the event data.
  std::optional<bool> secure_boot;
};

// Parses and replays a crypto-agile event log. Errors: kMalformedEvidence reason
// tpm_event_log_malformed (truncated record, unknown algorithm, digest list not matching the Spec
// ID event, PCR index > 23, too large / too many events, SHA-1-only log).
Result<EventLogReplay> ReplayEventLog(std::span<const std::uint8_t> log);

// Every PCR that the log extends and the quote covers (same bank) must hold the replayed value:
// else kVerificationFailed reason tpm_event_log_mismatch naming the PCR. Adds claims
// tpm.event_log.events, tpm.event_log.pcrs (array of the PCR indexes checked, sorted, any bank)
// and tpm.secure_boot.enabled (only when PCR 7 was checked).
Result<void> CheckEventLog(const EventLogReplay& replay, const PcrValues& quoted, Claims& claims);

}  // namespace skr::attestation::tpm
