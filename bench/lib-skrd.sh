# SPDX-License-Identifier: Apache-2.0
# Shared by the issue-10 benchmark scripts (sourced, not run): a throwaway skrd on loopback with
# the dev PKI, the AMD-shaped test PKI, tenant "bench" and one key per evidence kind.
#
# Environment:
#   SKR_BENCH_BUILD        build dir of the skrd / skrctl under test (default build/release);
#                          e.g. a build of `git archive d26f89c` to measure older code
#   SKR_BENCH_TOOLS        build dir of skr-loadgen, skr-flood, skr-release-floor and
#                          skr-make-test-amd-pki (default build/release of this tree)
#   SKR_BENCH_NO_BUILD=1   do not (re)build anything
#   SKR_BENCH_JOBS         build parallelism (default 2); builds hold $SKR_BUILD_LOCK if set
#   SKR_BENCH_SERVER_TOML  extra lines for skrd's [server] table (per-address limits, ...).
#                          Unset: when the skrd binary knows `challenge_rate_per_second`, the
#                          per-address limits are written at their defaults (see below; older
#                          skrd binaries refuse unknown keys), or at 1,000,000 (off) when the
#                          script set bench_limits=off (run-release-cost, run-side-by-side);
#                          set it to "" to write nothing.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SKR_BENCH_BUILD:-$root/build/release}
tools=${SKR_BENCH_TOOLS:-$root/build/release}
tpm_seed=${SKR_BENCH_TPM_SEED:-skr-bench-tpm}

bench_build() {  # bench_build DIR TARGET...
  local dir=$1
  shift
  [ "${SKR_BENCH_NO_BUILD:-0}" = 1 ] && return 0
  local src
  src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$dir/CMakeCache.txt" 2>/dev/null || true)
  [ -n "$src" ] || { src=$root; cmake -S "$src" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSKR_BUILD_TESTS=OFF >/dev/null; }
  if [ -n "${SKR_BUILD_LOCK:-}" ]; then
    flock "$SKR_BUILD_LOCK" cmake --build "$dir" -j "${SKR_BENCH_JOBS:-2}" --target "$@" >/dev/null
  else
    cmake --build "$dir" -j "${SKR_BENCH_JOBS:-2}" --target "$@" >/dev/null
  fi
}

data=$(mktemp -d /tmp/skr-bench.XXXXXX)
pid=""
bench_cleanup_extra() { :; }
bench_cleanup() {
  fuzz_resume
  bench_cleanup_extra
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$data"
}
trap bench_cleanup EXIT

# Writes the config and the PKIs, runs `skrd init`; sets $op (operator token).
skrd_init() {
  "$root/scripts/dev-pki" "$data" >/dev/null
  "$tools/bench/skr-make-test-amd-pki" "$data"
  local server_toml
  if [ -n "${SKR_BENCH_SERVER_TOML+set}" ]; then
    server_toml=$SKR_BENCH_SERVER_TOML
  elif grep -q challenge_rate_per_second "$build/server/skrd" && [ "${bench_limits:-}" = off ]; then
    # Cost and throughput benchmarks: every VM comes from 127.0.0.1, and per-address limits are
    # not what they measure.
    server_toml=$'challenge_rate_per_second = 1000000\nchallenge_burst = 1000000\nrelease_rate_per_second = 1000000\nrelease_burst = 1000000\nmax_connections_per_address = 1000000'
  elif grep -q challenge_rate_per_second "$build/server/skrd"; then
    # Per-address limits (issue 10), written out at skrd's defaults so that the figures say what
    # they were measured with: each boot-storm source address carries ~31 VMs (2,000 VMs over 64
    # addresses) or ~156 (10,000), a few per second; the flood's address gets the same limits.
    server_toml=$'challenge_rate_per_second = 20\nchallenge_burst = 100\nrelease_rate_per_second = 20\nrelease_burst = 100\nmax_connections_per_address = 64'
  else
    server_toml=""
  fi
  # The load generator's `tpm` VMs carry AK certificates from a test AK CA (skr-loadgen
  # --evidence tpm --tpm-seed "$tpm_seed"); trusted only when the script built its tool.
  local tpm_toml=""
  if [ -x "$tools/bench/skr-make-test-tpm-ca" ]; then
    "$tools/bench/skr-make-test-tpm-ca" "$data" "$tpm_seed"
    tpm_toml=$'[attestation.tpm]\nak_roots = "tpm-ak-ca.pem"'
  fi
  cat > "$data/skrd.toml" <<TOML
[server]
listen = "127.0.0.1:0"
tls_cert = "tls/server.crt"
tls_key = "tls/server.key"
$server_toml
[storage]
path = "data/skr.db"
[master_key]
provider = "file"
path = "data/master.key"
[attestation.sample]
enabled = true
public_key = "dev/sample-attester.pub.pem"
[attestation.snp]
extra_roots = "roots.pem"
extra_roots_product = "Milan"
# The load generator's synthetic Azure-shaped VMs launch with an all-zero measurement and no ID
# block: trust that launch identity as the "paravisor" (never in production: issue 9, item 1).
[attestation.azure]
trusted_measurements = ["$(printf '0%.0s' $(seq 96))"]
$tpm_toml
TOML
  local init_json
  init_json=$("$build/server/skrd" init --config "$data/skrd.toml")
  op=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["operator_token"])' "$init_json")
  # The audit log's verifier key (skrd builds before issue 11 print none).
  vkey=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("audit_verifier_key", ""))' "$init_json")
}

# Starts skrd (descriptor limit raised to the hard limit); sets $pid and $port.
skrd_start() {
  rm -f "$data/port"
  (ulimit -n "$(ulimit -Hn)"; exec "$build/server/skrd" --config "$data/skrd.toml" --port-file "$data/port" 2>"$data/skrd.log") &
  pid=$!
  # SKR_BENCH_START_WAIT: seconds to wait for the port (default 10; a big audit log's start-up
  # check takes longer).
  for _ in $(seq 1 $((${SKR_BENCH_START_WAIT:-10} * 10))); do [ -s "$data/port" ] && break; sleep 0.1; done
  [ -s "$data/port" ] || { echo "skrd did not start:"; cat "$data/skrd.log"; exit 1; }
  port=$(cat "$data/port")
}

skrd_stop() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
}

# Tenant "bench" with keys k-sample, k-sev-snp, k-az-snp-vtpm, k-tpm, each under the policy of its
# kind.
skrd_provision() {
  export SKR_ADDR="https://127.0.0.1:$port" SKR_CACERT="$data/tls/ca.crt" SKR_TOKEN="$op"
  "$build/client/skrctl" tenant create bench >/dev/null
  local pcr7
  # PCR 7 (secure boot state) pinned to the load generator's synthetic value: byte i = 0x37 + i.
  pcr7=$(python3 -c 'print("".join("%02x" % ((0x37 + i) & 0xff) for i in range(32)))')
  echo '{"anyOf":[{"authority":"skr:local","allOf":[{"claim":"tee","equals":"az-snp-vtpm"},{"claim":"snp.policy.debug","equals":false},{"claim":"snp.vmpl","equals":0},{"claim":"azure.vm_configuration.secure_boot","equals":true},{"claim":"tpm.pcr.sha256.7","equals":"'"$pcr7"'"}]}]}' > "$data/p-az-snp-vtpm.json"
  echo '{"anyOf":[{"authority":"skr:local","allOf":[{"claim":"tee","equals":"sev-snp"},{"claim":"snp.policy.debug","equals":false},{"claim":"snp.vmpl","equals":0},{"claim":"snp.reported_tcb.microcode","greaterOrEquals":115}]}]}' > "$data/p-sev-snp.json"
  echo '{"anyOf":[{"authority":"skr:local","allOf":[{"claim":"tee","equals":"sample"},{"claim":"debug","equals":false},{"claim":"sample.svn","greaterOrEquals":2}]}]}' > "$data/p-sample.json"
  echo '{"anyOf":[{"authority":"skr:local","allOf":[{"claim":"tee","equals":"tpm"},{"claim":"tpm.pcr.sha256.7","equals":"'"$pcr7"'"}]}]}' > "$data/p-tpm.json"
  local kind
  for kind in sample sev-snp az-snp-vtpm tpm; do
    "$build/client/skrctl" policy put --tenant bench "p-$kind" --file "$data/p-$kind.json" >/dev/null
    "$build/client/skrctl" key create --tenant bench "k-$kind" --policy "p-$kind" --bytes 32 >/dev/null
  done
}

# skr-loadgen against the throwaway skrd: loadgen EVIDENCE [skr-loadgen options], using the key
# of that evidence kind.
loadgen() {
  local evidence=$1
  shift
  "$tools/bench/skr-loadgen" --port "$port" --cacert "$data/tls/ca.crt" --tenant bench \
    --key "k-$evidence" --evidence "$evidence" --skrd-pid "$pid" \
    --attester-key "$data/dev/sample-attester.key" \
    --snp-vcek-key "$data/vcek.key" --snp-vcek "$data/vcek.pem" --tpm-seed "$tpm_seed" "$@"
}

# The keystore's size as JSON, measured with skrd stopped (its clean shutdown checkpoints the
# WAL): bytes of every file under data/ (skr.db, -wal, audit log, ...), and the rows of each
# table whose name holds "nonce" (read-only), so that growth per challenge shows.
db_report() {
  python3 - "$data/data" <<'PY'
import json, os, sqlite3, sys
d = sys.argv[1]
out = {"files": {f: os.path.getsize(os.path.join(d, f)) for f in sorted(os.listdir(d))}}
db = sqlite3.connect("file:%s?mode=ro" % os.path.join(d, "skr.db"), uri=True)
for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name LIKE '%nonce%'"):
    out["rows_" + t] = db.execute('SELECT COUNT(*) FROM "%s"' % t).fetchone()[0]
print(json.dumps(out, sort_keys=True))
PY
}

# Pauses a niced fuzzer (issue 9 campaigns) during a measurement; resumed on exit.
fuzz_pids=""
fuzz_pause() {
  [ "${SKR_BENCH_PAUSE_FUZZ:-0}" = 1 ] || return 0
  fuzz_pids=$(pgrep -f 'skr_fuzz_' || true)
  [ -n "$fuzz_pids" ] && kill -STOP $fuzz_pids 2>/dev/null || true
}
fuzz_resume() {
  [ -n "$fuzz_pids" ] && kill -CONT $fuzz_pids 2>/dev/null || true
  fuzz_pids=""
}
