// SPDX-License-Identifier: Apache-2.0
// Secure Boot forged through the TPM event log (issue 9, item 2). An event's type and data are not
// part of what is extended into a PCR (TCG PC Client Platform Firmware Profile (PFP), section 10;
// google/go-attestation docs/event-log-disclosure.md), so replaying a log against the quoted PCRs
// proves only the sequence of digests. Root on a machine booted with Secure Boot off extends PCR 7
// with the digest of a "SecureBoot = 1" variable event, relabels the firmware's real
// "SecureBoot = 0" event and the PCR 7 separator, appends a "SecureBoot = 1" event, and the log
// replays to the genuine quoted PCR 7. The tests build such logs (crypto-agile format: the Spec ID
// event, then TCG_PCR_EVENT2 records), compute the PCR values a TPM holds after the same extends,
// and check each forgery at the level TpmVerifier calls (ReplayEventLog then CheckEventLog), and
// once through TpmVerifier with a signed quote.
//
// Outcome per variant, and why:
//   - a PCR 7 separator digest, or separator data, under another type (the relabelled separator,
//     in any bank) and UEFI variable data under a non-variable type before the separator (the
//     relabelled SecureBoot = 0 event), or the SecureBoot variable under another variable type:
//     refused, kVerificationFailed tpm_event_log_invalid. Firmware never logs these; only an
//     edited log does, and it lies about the quoted PCR 7, so nothing in it is used.
//   - a separator whose banks disagree (one bank's digest is not the hash of the data): refused,
//     tpm_event_log_invalid, for the same reason.
//   - facts the log does not establish by PFP's rules without lying about any label (no SecureBoot
//     event before the separator, two of them, one not first in PCR 7, one whose data does not
//     hash to its digest in every bank, a separator that reports a firmware error): the claim
//     tpm.secure_boot.enabled is absent; the log is otherwise usable.
//   - the honest log of the attacked machine (root's extend after the separator): false, read from
//     the firmware's own SecureBoot = 0 event.
#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "attestation/tpm/event_log.h"
#include "attestation/tpm/tpm_verifier.h"
#include "common/clock.h"
#include "common/encoding.h"
#include "common/ossl.h"
#include "tests/support/claim_catalogue_check.h"
#include "tests/support/test_support.h"
#include "tests/support/tpm_test_evidence.h"

namespace {

using skr::ErrorCode;
using skr::Json;
using skr::test::CodeOf;
using skr::test::ReasonOf;
namespace tpm = skr::attestation::tpm;
using Bytes = std::vector<std::uint8_t>;

// PFP Table 9 "Events" (written out here, independently of attestation/tpm).
constexpr std::uint32_t kEvNoAction = 0x00000003;
constexpr std::uint32_t kEvSeparator = 0x00000004;
constexpr std::uint32_t kEvSCrtmVersion = 0x00000008;
constexpr std::uint32_t kEvEfiVariableDriverConfig = 0x80000001;
constexpr std::uint32_t kEvEfiVariableBoot = 0x80000002;
constexpr std::uint32_t kEvEfiBootServicesApplication = 0x80000003;
constexpr std::uint32_t kEvEfiAction = 0x80000007;
constexpr std::uint32_t kEvEfiVariableAuthority = 0x800000E0;

// EFI_GLOBAL_VARIABLE {8BE4DF61-93CA-11D2-AA0D-00E098032B8C} and EFI_IMAGE_SECURITY_DATABASE_GUID
// {D719B2CB-3D3A-4596-A3BC-DAD00E67656F}, as EFI_GUID lays them out in memory.
const Bytes kGlobalVariable = {0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
                               0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c};
const Bytes kImageSecurityDb = {0xcb, 0xb2, 0x19, 0xd7, 0x3a, 0x3d, 0x96, 0x45,
                                0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f};

const Bytes kSeparatorOk = {0, 0, 0, 0};
const Bytes kSeparatorError = {0xff, 0xff, 0xff, 0xff};
const Bytes kSeparatorErrorOne = {0x01, 0x00, 0x00, 0x00};

template <typename T>
void PutLe(Bytes& out, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i)
    out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

const EVP_MD* Md(TPM2_ALG_ID alg) {
  switch (alg) {
    case TPM2_ALG_SHA1:
      return EVP_sha1();
    case TPM2_ALG_SHA256:
      return EVP_sha256();
    case TPM2_ALG_SHA384:
      return EVP_sha384();
    default:
      FAIL("no test hash for algorithm " << alg);
      return nullptr;
  }
}

Bytes Hash(TPM2_ALG_ID alg, const Bytes& a, const Bytes& b = {}) {
  Bytes in = a;
  in.insert(in.end(), b.begin(), b.end());
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  REQUIRE(EVP_Digest(in.data(), in.size(), out.data(), &len, Md(alg), nullptr) == 1);
  out.resize(len);
  return out;
}

std::string Bank(TPM2_ALG_ID alg) {
  return alg == TPM2_ALG_SHA1 ? "sha1" : alg == TPM2_ALG_SHA256 ? "sha256" : "sha384";
}

// UEFI_VARIABLE_DATA (PFP 10.4.1 / UEFI): VariableName GUID, UnicodeNameLength (u64, characters),
// VariableDataLength (u64), UnicodeName (UTF-16LE, no NUL), VariableData.
Bytes Var(const Bytes& guid, const std::string& name, const Bytes& value) {
  Bytes out = guid;
  PutLe<std::uint64_t>(out, name.size());
  PutLe<std::uint64_t>(out, value.size());
  for (char c : name) {
    out.push_back(static_cast<std::uint8_t>(c));
    out.push_back(0);
  }
  out.insert(out.end(), value.begin(), value.end());
  return out;
}

Bytes SecureBootVar(std::uint8_t on) { return Var(kGlobalVariable, "SecureBoot", {on}); }

struct Event {
  std::uint32_t pcr = 0;
  std::uint32_t type = 0;
  Bytes data;                            // what the log says was measured
  std::map<TPM2_ALG_ID, Bytes> digests;  // what was extended, per bank
};

// A measured boot: the events in the order the TPM saw their digests, and the log built from them.
struct TestLog {
  std::vector<TPM2_ALG_ID> banks;
  std::vector<Event> events;

  // An event whose digest in every bank is the hash of `measured` (by default its data).
  std::size_t Add(std::uint32_t pcr, std::uint32_t type, const Bytes& data,
                  const std::optional<Bytes>& measured = std::nullopt) {
    Event e{pcr, type, data, {}};
    for (TPM2_ALG_ID alg : banks) e.digests[alg] = Hash(alg, measured.value_or(data));
    events.push_back(std::move(e));
    return events.size() - 1;
  }

  // The Spec ID event (PFP 10.4.5.1, SHA-1 TCG_PCClientPCREvent format), then TCG_PCR_EVENT2s.
  Bytes Build() const {
    Bytes spec = {'S', 'p', 'e', 'c', ' ', 'I', 'D', ' ', 'E', 'v', 'e', 'n', 't', '0', '3', 0};
    PutLe<std::uint32_t>(spec, 0);          // platformClass
    spec.insert(spec.end(), {0, 2, 0, 2});  // specVersionMinor/Major, errata, uintnSize
    PutLe<std::uint32_t>(spec, static_cast<std::uint32_t>(banks.size()));
    for (TPM2_ALG_ID alg : banks) {
      PutLe<std::uint16_t>(spec, alg);
      PutLe<std::uint16_t>(spec, static_cast<std::uint16_t>(EVP_MD_get_size(Md(alg))));
    }
    spec.push_back(0);  // vendorInfoSize
    Bytes out;
    PutLe<std::uint32_t>(out, 0);
    PutLe<std::uint32_t>(out, kEvNoAction);
    out.insert(out.end(), 20, 0);
    PutLe<std::uint32_t>(out, static_cast<std::uint32_t>(spec.size()));
    out.insert(out.end(), spec.begin(), spec.end());
    for (const Event& e : events) {
      PutLe<std::uint32_t>(out, e.pcr);
      PutLe<std::uint32_t>(out, e.type);
      PutLe<std::uint32_t>(out, static_cast<std::uint32_t>(e.digests.size()));
      for (const auto& [alg, d] : e.digests) {
        PutLe<std::uint16_t>(out, alg);
        out.insert(out.end(), d.begin(), d.end());
      }
      PutLe<std::uint32_t>(out, static_cast<std::uint32_t>(e.data.size()));
      out.insert(out.end(), e.data.begin(), e.data.end());
    }
    return out;
  }

  // What the TPM holds after extending every digest in order (PCR = H(PCR || digest), from zero;
  // EV_NO_ACTION is never extended), for the listed banks.
  tpm::PcrValues Pcrs(const std::vector<TPM2_ALG_ID>& quoted) const {
    tpm::PcrValues out;
    for (const Event& e : events) {
      if (e.type == kEvNoAction) continue;
      for (TPM2_ALG_ID alg : quoted) {
        auto& pcr = out[Bank(alg)][e.pcr];
        if (pcr.empty()) pcr.assign(static_cast<std::size_t>(EVP_MD_get_size(Md(alg))), 0);
        pcr = Hash(alg, pcr, e.digests.at(alg));
      }
    }
    return out;
  }
};

// PCR 7 as a PFP firmware measures it (SecureBoot, PK, KEK, db, dbx, then the separator; the
// authority that verified the boot loader after it), with a little of PCRs 0 and 4 around it.
struct Machine {
  TestLog log;
  std::size_t secure_boot = 0;  // index of the SecureBoot event
  std::size_t pk = 0;           // index of the PK event
  std::size_t separator = 0;    // index of the PCR 7 separator
};

Machine Boot(std::uint8_t secure_boot,
             std::vector<TPM2_ALG_ID> banks = {TPM2_ALG_SHA1, TPM2_ALG_SHA256}) {
  Machine m{TestLog{std::move(banks), {}}};
  m.log.Add(0, kEvSCrtmVersion, {'v', 0, '1', 0, 0, 0});
  m.secure_boot = m.log.Add(7, kEvEfiVariableDriverConfig, SecureBootVar(secure_boot));
  m.pk = m.log.Add(7, kEvEfiVariableDriverConfig, Var(kGlobalVariable, "PK", Bytes(44, 0xA1)));
  m.log.Add(7, kEvEfiVariableDriverConfig, Var(kGlobalVariable, "KEK", Bytes(44, 0xA2)));
  m.log.Add(7, kEvEfiVariableDriverConfig, Var(kImageSecurityDb, "db", Bytes(44, 0xA3)));
  m.log.Add(7, kEvEfiVariableDriverConfig, Var(kImageSecurityDb, "dbx", Bytes(44, 0xA4)));
  m.log.Add(1, kEvEfiVariableBoot, Var(kGlobalVariable, "BootOrder", {0, 0}));
  m.separator = m.log.Add(7, kEvSeparator, kSeparatorOk);
  m.log.Add(0, kEvSeparator, kSeparatorOk);
  m.log.Add(4, kEvSeparator, kSeparatorOk);
  m.log.Add(7, kEvEfiVariableAuthority, Var(kImageSecurityDb, "db", Bytes(40, 0xC3)));
  // The boot loader: the digest is the Authenticode hash of the image, not of the event data.
  m.log.Add(4, kEvEfiBootServicesApplication, Bytes(40, 0x42), Bytes(300, 0x43));
  return m;
}

// What root does at run time on the machine booted with Secure Boot off: extend PCR 7 with the
// digest of a SecureBoot = 1 variable event. Returns the index of that extend in the log.
std::size_t RootExtendsSecureBootOn(Machine& m) {
  return m.log.Add(7, kEvEfiVariableDriverConfig, SecureBootVar(1));
}

// What tpm_verifier.cpp does with a log: replay it, then check it against the quoted PCRs.
skr::Result<skr::Claims> Evaluate(const Bytes& log, const tpm::PcrValues& quoted) {
  SKR_TRY(tpm::EventLogReplay replay, tpm::ReplayEventLog(log));
  skr::Claims claims;
  SKR_TRY_VOID(tpm::CheckEventLog(replay, quoted, claims));
  return claims;
}

// The PCRs a forged log must still replay to: the genuine sequence of extends. Checks that the
// forgery is a faithful one (every quoted PCR, 7 included, replays), so that a refusal below is
// the label check's and not a mismatch.
void RequireReplays(const Bytes& forged, const tpm::PcrValues& quoted) {
  auto replay = tpm::ReplayEventLog(forged);
  if (!replay) return;  // refused by the parser: the caller checks why
  for (const auto& [bank, values] : quoted) {
    for (const auto& [index, value] : values) {
      INFO(bank << ":" << index);
      REQUIRE(replay->replayed.at(bank).at(index) == value);
    }
  }
}

void CheckRefusedInvalid(const skr::Result<skr::Claims>& r) {
  INFO((r ? "accepted, secure boot " + (r->count("tpm.secure_boot.enabled") != 0
                                            ? r->at("tpm.secure_boot.enabled").dump()
                                            : std::string("absent"))
          : r.error().message()));
  CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
  CHECK(ReasonOf(r) == "tpm_event_log_invalid");
}

void CheckSecureBootAbsent(const skr::Result<skr::Claims>& r) {
  INFO((r ? std::string() : r.error().message()));
  REQUIRE(r.has_value());
  const auto checked = r->at("tpm.event_log.pcrs").get<std::vector<unsigned>>();
  CHECK(std::count(checked.begin(), checked.end(), 7u) == 1);  // PCR 7 was checked
  CHECK(r->count("tpm.secure_boot.enabled") == 0);
}

void CheckSecureBoot(const skr::Result<skr::Claims>& r, bool on) {
  INFO((r ? std::string() : r.error().message()));
  REQUIRE(r.has_value());
  REQUIRE(r->count("tpm.secure_boot.enabled") == 1);
  CHECK(r->at("tpm.secure_boot.enabled") == on);
}

}  // namespace

TEST_CASE("ReplayEventLog: the synthetic firmware log reads as booted, in every bank",
          "[attestation][tpm][eventlog][attack]") {
  for (std::uint8_t on : {std::uint8_t{0}, std::uint8_t{1}}) {
    const Machine m = Boot(on, {TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384});
    for (TPM2_ALG_ID alg : {TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384}) {
      INFO(Bank(alg) << " secure boot " << int{on});
      auto r = Evaluate(m.log.Build(), m.log.Pcrs({alg}));
      CheckSecureBoot(r, on == 1);
      CHECK(r->at("tpm.event_log.pcrs") == Json({0, 1, 4, 7}));
    }
  }
}

TEST_CASE(
    "ReplayEventLog: relabelling the SecureBoot=0 event and the separator does not forge "
    "secure boot over the genuine PCR 7",
    "[attestation][tpm][eventlog][attack]") {
  Machine m = Boot(0);
  const std::size_t forged_on = RootExtendsSecureBootOn(m);
  const tpm::PcrValues quoted = m.log.Pcrs({TPM2_ALG_SHA256});
  REQUIRE(m.log.events[forged_on].type == kEvEfiVariableDriverConfig);

  SECTION("relabelled as EV_EFI_ACTION, data kept (the issue's log)") {
    TestLog forged = m.log;
    forged.events[m.secure_boot].type = kEvEfiAction;
    forged.events[m.separator].type = kEvEfiAction;
    RequireReplays(forged.Build(), quoted);
    CheckRefusedInvalid(Evaluate(forged.Build(), quoted));
  }
  SECTION("relabelled, and their data replaced by text: only the digests are left to tell") {
    TestLog forged = m.log;
    for (std::size_t i : {m.secure_boot, m.separator}) {
      forged.events[i].type = kEvEfiAction;
      forged.events[i].data = {'C', 'a', 'l', 'l', 'i', 'n', 'g', ' ', 'E', 'F', 'I'};
    }
    RequireReplays(forged.Build(), quoted);
    CheckRefusedInvalid(Evaluate(forged.Build(), quoted));
  }
  SECTION("relabelled to other variable types (EV_EFI_VARIABLE_AUTHORITY, EV_EFI_VARIABLE_BOOT)") {
    TestLog forged = m.log;
    forged.events[m.secure_boot].type = kEvEfiVariableAuthority;
    forged.events[m.separator].type = kEvEfiVariableBoot;
    RequireReplays(forged.Build(), quoted);
    CheckRefusedInvalid(Evaluate(forged.Build(), quoted));
  }
  SECTION("the SecureBoot=0 event under another variable type, separator intact") {
    TestLog forged = m.log;
    forged.events[m.secure_boot].type = kEvEfiVariableAuthority;
    RequireReplays(forged.Build(), quoted);
    CheckRefusedInvalid(Evaluate(forged.Build(), quoted));
  }
  SECTION("the unused type 0x2 for both, as in the go-attestation disclosure") {
    TestLog forged = m.log;
    forged.events[m.secure_boot].type = 0x00000002;
    forged.events[m.separator].type = 0x00000002;
    RequireReplays(forged.Build(), quoted);
    CheckRefusedInvalid(Evaluate(forged.Build(), quoted));
  }
  SECTION("the honest log of the same machine reads secure boot off") {
    RequireReplays(m.log.Build(), quoted);
    CheckSecureBoot(Evaluate(m.log.Build(), quoted), false);
  }
}

TEST_CASE("ReplayEventLog: a PCR 7 separator relabelled on its own is refused",
          "[attestation][tpm][eventlog][attack]") {
  Machine m = Boot(0);
  RootExtendsSecureBootOn(m);
  const tpm::PcrValues quoted = m.log.Pcrs({TPM2_ALG_SHA256});
  const std::uint32_t type = GENERATE(as<std::uint32_t>{}, kEvEfiAction, kEvEfiVariableDriverConfig,
                                      0x00000002u, 0x0000000Du);
  INFO("separator relabelled as 0x" << std::hex << type);
  TestLog forged = m.log;
  forged.events[m.separator].type = type;
  RequireReplays(forged.Build(), quoted);
  CheckRefusedInvalid(Evaluate(forged.Build(), quoted));

  SECTION("and with the data changed too: the digest still names it") {
    forged.events[m.separator].data = {'x'};
    RequireReplays(forged.Build(), quoted);
    CheckRefusedInvalid(Evaluate(forged.Build(), quoted));
  }
}

TEST_CASE("ReplayEventLog: a SecureBoot event after the separator is never read",
          "[attestation][tpm][eventlog][attack]") {
  SECTION(
      "root's SecureBoot=1 extend, logged as such, with the firmware's SecureBoot=0 event "
      "relabelled and its data kept: variable data under a non-variable type") {
    Machine m = Boot(0);
    RootExtendsSecureBootOn(m);
    const tpm::PcrValues quoted = m.log.Pcrs({TPM2_ALG_SHA256});
    TestLog forged = m.log;
    forged.events[m.secure_boot].type = kEvEfiAction;
    RequireReplays(forged.Build(), quoted);
    CheckRefusedInvalid(Evaluate(forged.Build(), quoted));
  }
  SECTION(
      "the same with the SecureBoot=0 event's data replaced: no SecureBoot event before the "
      "separator, unknown") {
    Machine m = Boot(0);
    RootExtendsSecureBootOn(m);
    const tpm::PcrValues quoted = m.log.Pcrs({TPM2_ALG_SHA256});
    TestLog forged = m.log;
    forged.events[m.secure_boot].type = kEvEfiAction;
    forged.events[m.secure_boot].data = {'h', 'i'};
    RequireReplays(forged.Build(), quoted);
    CheckSecureBootAbsent(Evaluate(forged.Build(), quoted));
  }
  SECTION("firmware without Secure Boot (PCR 7 holds only the separator), SecureBoot=1 after it") {
    TestLog l{{TPM2_ALG_SHA256}, {}};
    l.Add(7, kEvSeparator, kSeparatorOk);
    l.Add(7, kEvEfiVariableDriverConfig, SecureBootVar(1));
    CheckSecureBootAbsent(Evaluate(l.Build(), l.Pcrs({TPM2_ALG_SHA256})));
  }
}

TEST_CASE("ReplayEventLog: SecureBoot must be the first PCR 7 measurement, and only once",
          "[attestation][tpm][eventlog][attack]") {
  SECTION("measured twice before the separator") {
    const std::uint8_t second = GENERATE(std::uint8_t{0}, std::uint8_t{1});
    Machine m = Boot(1);
    TestLog l{m.log.banks, {}};
    for (std::size_t i = 0; i < m.log.events.size(); ++i) {
      l.events.push_back(m.log.events[i]);
      if (i == m.secure_boot) l.Add(7, kEvEfiVariableDriverConfig, SecureBootVar(second));
    }
    CheckSecureBootAbsent(Evaluate(l.Build(), l.Pcrs({TPM2_ALG_SHA256})));
  }
  SECTION("after PK: not the firmware's first PCR 7 measurement") {
    Machine m = Boot(1);
    TestLog l = m.log;
    std::swap(l.events[m.secure_boot], l.events[m.pk]);
    CheckSecureBootAbsent(Evaluate(l.Build(), l.Pcrs({TPM2_ALG_SHA256})));
  }
  SECTION("root's extends after the separator do not matter: the firmware's value is read") {
    Machine m = Boot(0);
    RootExtendsSecureBootOn(m);
    RootExtendsSecureBootOn(m);
    CheckSecureBoot(Evaluate(m.log.Build(), m.log.Pcrs({TPM2_ALG_SHA256})), false);
  }
  SECTION(
      "a separator that reports a firmware error (0xFFFFFFFF, or 1 as EDK II logs it): unknown") {
    const Bytes error = GENERATE(kSeparatorError, kSeparatorErrorOne);
    Machine m = Boot(1);
    TestLog l = m.log;
    l.events[m.separator].data = error;
    for (TPM2_ALG_ID alg : l.banks) l.events[m.separator].digests[alg] = Hash(alg, error);
    CheckSecureBootAbsent(Evaluate(l.Build(), l.Pcrs({TPM2_ALG_SHA256})));
  }
  SECTION("an EV_NO_ACTION SecureBoot=1 is not a measurement and changes nothing") {
    Machine m = Boot(0);
    TestLog l = m.log;
    l.events.insert(l.events.begin() + 1, l.events[m.secure_boot]);
    l.events[1].type = kEvNoAction;
    l.events[1].data = SecureBootVar(1);
    CheckSecureBoot(Evaluate(l.Build(), l.Pcrs({TPM2_ALG_SHA256})), false);
  }
}

TEST_CASE("ReplayEventLog: an EV_SEPARATOR in PCR 7 must carry separator data",
          "[attestation][tpm][eventlog][attack]") {
  Machine m = Boot(1);
  TestLog l = m.log;
  l.events[m.separator].data = {'a', 'b', 'c',
                                'd'};  // digests recomputed: consistent, but no separator
  for (TPM2_ALG_ID alg : l.banks)
    l.events[m.separator].digests[alg] = Hash(alg, l.events[m.separator].data);
  CheckRefusedInvalid(Evaluate(l.Build(), l.Pcrs({TPM2_ALG_SHA256})));
}

TEST_CASE("ReplayEventLog: malformed PCR 7 variables before the separator are malformed",
          "[attestation][tpm][eventlog][attack]") {
  Machine m = Boot(1);
  TestLog l = m.log;
  SECTION("an EV_EFI_VARIABLE_DRIVER_CONFIG that is no UEFI_VARIABLE_DATA") {
    l.events[m.pk].data = {1, 2, 3};
  }
  SECTION("a SecureBoot value of two bytes") {
    l.events[m.secure_boot].data = Var(kGlobalVariable, "SecureBoot", {1, 1});
  }
  for (TPM2_ALG_ID alg : l.banks) {
    for (std::size_t i : {m.pk, m.secure_boot})
      l.events[i].digests[alg] = Hash(alg, l.events[i].data);
  }
  auto r = Evaluate(l.Build(), l.Pcrs({TPM2_ALG_SHA256}));
  CHECK(CodeOf(r) == ErrorCode::kMalformedEvidence);
  CHECK(ReasonOf(r) == "tpm_event_log_malformed");
}

TEST_CASE("ReplayEventLog: variable data under a non-variable type before the separator is refused",
          "[attestation][tpm][eventlog][attack]") {
  Machine m = Boot(1);
  TestLog l = m.log;
  l.events[m.pk].type = GENERATE(as<std::uint32_t>{}, kEvEfiAction, 0x0000000Du, kEvSCrtmVersion);
  CheckRefusedInvalid(Evaluate(l.Build(), l.Pcrs({TPM2_ALG_SHA256})));
}

TEST_CASE("ReplayEventLog: a second bank that disagrees does not help forge secure boot",
          "[attestation][tpm][eventlog][attack]") {
  Machine m = Boot(0);
  RootExtendsSecureBootOn(m);

  SECTION(
      "relabelled separator whose unquoted SHA-1 digest is also changed: the quoted "
      "SHA-256 digest still names it") {
    const tpm::PcrValues quoted = m.log.Pcrs({TPM2_ALG_SHA256});
    TestLog forged = m.log;
    forged.events[m.secure_boot].type = kEvEfiAction;
    forged.events[m.secure_boot].data = {'h', 'i'};
    forged.events[m.separator].type = kEvEfiAction;
    forged.events[m.separator].data = {'h', 'i'};
    forged.events[m.separator].digests[TPM2_ALG_SHA1] = Bytes(20, 0x5A);
    RequireReplays(forged.Build(), quoted);
    CheckRefusedInvalid(Evaluate(forged.Build(), quoted));
  }
  SECTION("the same with only SHA-1 quoted and the SHA-256 digest changed") {
    const tpm::PcrValues quoted = m.log.Pcrs({TPM2_ALG_SHA1});
    TestLog forged = m.log;
    forged.events[m.secure_boot].type = kEvEfiAction;
    forged.events[m.secure_boot].data = {'h', 'i'};
    forged.events[m.separator].type = kEvEfiAction;
    forged.events[m.separator].data = {'h', 'i'};
    forged.events[m.separator].digests[TPM2_ALG_SHA256] = Bytes(32, 0x5A);
    RequireReplays(forged.Build(), quoted);
    CheckRefusedInvalid(Evaluate(forged.Build(), quoted));
  }
  SECTION("an EV_SEPARATOR whose banks disagree") {
    const tpm::PcrValues quoted = m.log.Pcrs({TPM2_ALG_SHA256});
    TestLog forged = m.log;
    forged.events[m.separator].digests[TPM2_ALG_SHA1] = Bytes(20, 0x5A);
    RequireReplays(forged.Build(), quoted);
    CheckRefusedInvalid(Evaluate(forged.Build(), quoted));
  }
  SECTION(
      "a SecureBoot=1 event whose SHA-1 digest fits its data but whose quoted SHA-256 digest "
      "is the firmware's SecureBoot=0: unknown") {
    const tpm::PcrValues quoted = m.log.Pcrs({TPM2_ALG_SHA256});
    TestLog forged = m.log;
    forged.events[m.secure_boot].data = SecureBootVar(1);
    forged.events[m.secure_boot].digests[TPM2_ALG_SHA1] = Hash(TPM2_ALG_SHA1, SecureBootVar(1));
    RequireReplays(forged.Build(), quoted);
    CheckSecureBootAbsent(Evaluate(forged.Build(), quoted));
  }
}

// ---- The same attack through TpmVerifier, with a quote signed by an enrolled AK -------------

namespace {

class OneAk final : public tpm::AkDirectory {
 public:
  explicit OneAk(tpm::EnrolledAk ak) : ak_(std::move(ak)) {}
  skr::Result<tpm::EnrolledAk> FindActiveAk(std::string_view id) const override {
    if (id != ak_.id) return skr::Error(ErrorCode::kNotFound, "no such AK");
    return ak_;
  }

 private:
  tpm::EnrolledAk ak_;
};

}  // namespace

TEST_CASE("TpmVerifier: refuses the relabelled event log over a genuinely signed PCR 7",
          "[attestation][tpm][eventlog][attack]") {
  Machine m = Boot(0);
  RootExtendsSecureBootOn(m);
  const tpm::PcrValues quoted = m.log.Pcrs({TPM2_ALG_SHA256});

  auto ak = skr::GenerateRsaKey(2048);
  REQUIRE(ak.has_value());
  const Bytes ak_public = skr::test::MarshalAkPublic(ak->get());
  skr::test::QuoteSpec spec;
  spec.qualified_signer = skr::test::TpmName(ak_public);
  spec.selection = {skr::test::TpmPcrBank{TPM2_ALG_SHA256, {0, 1, 4, 7}}};
  spec.pcrs = quoted;
  const Bytes attest = skr::test::MarshalQuoteAttest(spec);
  const Bytes signature =
      skr::test::SignQuote(attest, ak->get(), skr::test::TpmSigScheme::kRsassaSha256);
  Json pcrs = Json::object();
  for (const auto& [i, v] : quoted.at("sha256"))
    pcrs["sha256"][std::to_string(i)] = skr::HexEncode(v);

  const OneAk directory(tpm::EnrolledAk{"ak1", "acme", "vm1", ak_public});
  const skr::FakeClock clock(1748736000);
  tpm::TpmVerifierOptions options;
  options.clock = &clock;
  options.enrolled = &directory;
  const tpm::TpmVerifier verifier(std::move(options));
  auto evidence = [&](const Bytes& log) {
    return Json{{"type", "tpm"},
                {"quote", skr::Base64Encode(attest)},
                {"signature", skr::Base64Encode(signature)},
                {"pcrs", pcrs},
                {"ak_id", "ak1"},
                {"event_log", skr::Base64Encode(log)}};
  };

  SECTION("the honest log: secure boot off") {
    auto r = verifier.Verify(evidence(m.log.Build()));
    INFO((r ? std::string() : r.error().message()));
    REQUIRE(r.has_value());
    CHECK(r->claims.at("tpm.secure_boot.enabled") == false);
    skr::test::CheckClaimsCatalogued(r->claims, "tpm");  // enrolled AK: tpm.ak.id, ...
  }
  SECTION("the relabelled log: refused, no claims") {
    TestLog forged = m.log;
    forged.events[m.secure_boot].type = kEvEfiAction;
    forged.events[m.separator].type = kEvEfiAction;
    auto r = verifier.Verify(evidence(forged.Build()));
    INFO((r ? "accepted: " + skr::ClaimsToJson(r->claims).dump() : r.error().message()));
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "tpm_event_log_invalid");
  }
}
