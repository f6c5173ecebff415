#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fails when a folder includes one it must not (DESIGN.md section 1, dependencies point down).
set -u
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
fail=0
check() { # folder regex why
  local hits
  hits=$(grep -rnE "$2" "$1" --include='*.h' --include='*.cpp' 2>/dev/null)
  if [ -n "$hits" ]; then
    echo "layering violation: $1 must not include $3:"; echo "$hits"; fail=1
  fi
}
check common '#include "(server|attestation|policy|keystore|audit|config|client|tpm)/' "other project folders"
check tpm '#include "(server|attestation|policy|keystore|audit|config|client)/' "anything but common (the TPM wire library both the verifiers and the agent link)"
check attestation '#include ("(server|keystore|policy|audit|config|client)/|<boost/(beast|asio)|<sqlite3.h>)' "server, keystore, policy, audit, config, client, Beast/Asio or SQLite"
check policy '#include ("(server|attestation|keystore|audit|config|client)/|<boost/|<sqlite3.h>)' "anything but common"
check keystore '#include "(server|attestation|policy|audit|config|client)/' "server, attestation, policy, audit, config or client"
check audit '#include "(server|attestation|policy|keystore|config|client)/' "server, attestation, policy, keystore, config or client"
check config '#include "(server|attestation|policy|keystore|audit|client)/' "anything but common"
check client '#include "(server|attestation|policy|keystore|audit|config)/' "server internals"
# The agent's TPM algorithm tables are tpm/'s, never its own copy.
copies=$(grep -nE 'case TPM2_ALG_SHA(1|256|384|512): return (EVP_sha|[0-9])' client attestation --include='*.cpp' -r 2>/dev/null)
if [ -n "$copies" ]; then
  echo "layering violation: TPM hash tables belong in tpm/wire.cpp:"; echo "$copies"; fail=1
fi
# nettle (hogweed) is an implementation detail of common/ecdsa_p384.cpp and ecdh_p384.cpp: everyone else goes
# through their headers (bench/ may use it directly to compare).
nettle=$(grep -rlE '#include <nettle/' common attestation policy keystore audit config server client \
  --include='*.h' --include='*.cpp' 2>/dev/null | grep -vE '^common/(ecdsa|ecdh)_p384.cpp$')
if [ -n "$nettle" ]; then
  echo "layering violation: only common/ecdsa_p384.cpp and ecdh_p384.cpp may include nettle:"; echo "$nettle"; fail=1
fi
# Self-test: the checker must catch a planted violation.
tmp=$(mktemp -d); mkdir -p "$tmp/policy"; echo '#include "server/x.h"' > "$tmp/policy/bad.cpp"
if ! (cd "$tmp" && grep -rqE '#include "(server)/' policy); then echo "checker self-test failed"; fail=1; fi
rm -rf "$tmp"
if [ $fail -eq 0 ]; then echo "layering: 1 passed, 0 failed"; else echo "layering: 0 passed, 1 failed"; fi
exit $fail
