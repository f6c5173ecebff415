// SPDX-License-Identifier: Apache-2.0
// The Secure Boot state as PCR 7's measured-boot events state it (TCG PC Client Platform Firmware
// Profile (PFP) 3.3.4.8 "PCR[7] - Secure Boot Policy Measurements": the firmware measures the
// SecureBoot variable first, then PK, KEK, db, dbx, ..., then EV_SEPARATOR; what follows the
// separator is measured after the firmware handed over and proves nothing about its policy).
//
// A replay that matches the quoted PCR 7 proves only the sequence of digests: an event's type and
// (for most types) its data are not extended and may be edited at will (go-attestation,
// docs/event-log-disclosure.md). Root can also append extends of its choosing. So the state is
// read only where the digests vouch for it and the labels cannot have been moved:
//   - Separators are recognised by their digest (H(00000000), H(01000000) or H(FFFFFFFF), any
//     bank), by their data or by their type; an event that is any of these must be all of them,
//     with every bank's digest the hash of its data. The first one ends what is read.
//   - Before it, UEFI_VARIABLE_DATA under a type that is not a variable event type, and the
//     SecureBoot variable under any type but EV_EFI_VARIABLE_DRIVER_CONFIG, are refused.
//   - The value counts only from the first PCR 7 event, when that event is the one SecureBoot
//     variable event before the separator, its data hashes to its digest in every bank, and the
//     separator reports no firmware error.
#pragma once

#include <tss2/tss2_tpm2_types.h>

#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "common/result.h"

namespace skr::attestation::tpm {

// PFP Table 9 "Events": the types whose data is a UEFI_VARIABLE_DATA (PFP 10.4.1 / 10.4.4).
inline constexpr std::uint32_t kEvEfiVariableBoot = 0x80000002;
inline constexpr std::uint32_t kEvEfiVariableBoot2 = 0x8000000C;
inline constexpr std::uint32_t kEvEfiVariableAuthority = 0x800000E0;
inline constexpr std::uint32_t kEvEfiSpdmDevicePolicy = 0x800000E1;
inline constexpr std::uint32_t kEvEfiSpdmDeviceAuthority = 0x800000E2;

// One event extended into PCR 7, as the log states it. `data` and the digests view the log's
// bytes and are valid only while the log is.
struct Pcr7Event {
  std::uint32_t type = 0;
  std::span<const std::uint8_t> data;
  // (bank, logged digest) for every bank the replay hashes (see HashMd), each once.
  std::vector<std::pair<TPM2_ALG_ID, std::span<const std::uint8_t>>> digests;
};

// H_alg(a || b) with a bank's hash. Errors: kInternal (unknown algorithm, OpenSSL failure).
Result<std::vector<std::uint8_t>> BankHash(TPM2_ALG_ID alg, std::span<const std::uint8_t> a,
                                           std::span<const std::uint8_t> b = {});

// Reads the SecureBoot variable from PCR 7's extended events (EV_NO_ACTION excluded), in log
// order, by the rules above. Returns its value (true when the byte is 1), or nullopt when the log
// does not establish it. Errors: kVerificationFailed reason tpm_event_log_invalid (a label that
// contradicts the digests: partial separator, variable data under a non-variable type, SecureBoot
// under the wrong type); kMalformedEvidence reason tpm_event_log_malformed (an
// EV_EFI_VARIABLE_DRIVER_CONFIG before the separator that is not a UEFI_VARIABLE_DATA, a
// SecureBoot value that is not one byte).
Result<std::optional<bool>> ReadSecureBoot(std::span<const Pcr7Event> pcr7);

}  // namespace skr::attestation::tpm
