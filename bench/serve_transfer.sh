#!/usr/bin/env bash
# Large files through `wfctl serve` on loopback, against the same transfer through the local
# store on the same disk:
#   local:   `wfctl --store DIR result upload 1 SRC --name big.bin --no-job` and
#            `wfctl --store DIR result download 1 --file big.bin -O OUT`;
#   remote:  the same two commands with `--store http://127.0.0.1:PORT/...` against
#            `wfctl serve` over another local store on the same disk.
# Both store and fsync every byte and hash it (the remote client verifies the server's digest).
# Interleaved BENCH_ROUNDS (3) times on BENCH_SIZE_MIB (2048) random bytes; before each timed
# command, untimed: the target removed, the input read once, `sync`. Medians; the ratio is
# local/remote time (1.00: as fast as local). Peak RSS of the client (/usr/bin/time -v) and of
# the server (VmHWM of /proc/PID/status at the end, covering every round).
# Targets (issue 10): remote >= 0.5x local; client and server <= 64 MiB each.
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SIZE_MIB=${BENCH_SIZE_MIB:-2048}
ROUNDS=${BENCH_ROUNDS:-3}

bench_need /usr/bin/time time
bench_need python3 python3
bench_wfctl
bench_workdir

SRC=$WORK/src.bin
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom > "$SRC"
sync "$SRC"
SUM=$(sha256sum "$SRC" | cut -d' ' -f1)

bench_serve "$WORK/served" --max-upload-size $((SIZE_MIB + 1))M
URL=$SERVE_URL
trap 'kill $SERVE_PID 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

# timed LABEL CMD...: runs CMD under /usr/bin/time, appends "LABEL seconds rss_kib" to times.
timed() {
  local label=$1
  shift
  cat "$SRC" > /dev/null
  sync
  /usr/bin/time -f '%e %M' -o "$WORK/time.out" "$@" > /dev/null
  echo "$label $(cat "$WORK/time.out")" >> "$WORK/times"
}
check() { [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "$SUM" ]] || { echo "bench: $1 differs" >&2; exit 1; }; }

for _ in $(seq "$ROUNDS"); do
  "$WFCTL" --store "$WORK/local" result delete 1 --file big.bin > /dev/null 2>&1 || true
  timed "local-upload" "$WFCTL" --store "$WORK/local" result upload 1 "$SRC" --name big.bin --no-job
  "$WFCTL" --store "$URL" result delete 1 --file big.bin > /dev/null 2>&1 || true
  timed "remote-upload" "$WFCTL" --store "$URL" result upload 1 "$SRC" --name big.bin --no-job
  check "$WORK/served/records/1/big.bin"
  rm -f "$WORK/out.bin"
  timed "local-download" "$WFCTL" --store "$WORK/local" result download 1 --file big.bin -O "$WORK/out.bin"
  check "$WORK/out.bin"
  rm -f "$WORK/out.bin"
  timed "remote-download" "$WFCTL" --store "$URL" result download 1 --file big.bin -O "$WORK/out.bin"
  check "$WORK/out.bin"
done
SERVER_RSS=$(awk '/^VmHWM:/ {print $2}' "/proc/$SERVE_PID/status")

python3 - "$WORK/times" "$SIZE_MIB" "$SERVER_RSS" << 'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
size, server_rss = int(sys.argv[2]), int(sys.argv[3])
t = {k: statistics.median(float(r[1]) for r in rows if r[0] == k) for k in {r[0] for r in rows}}
rss = {k: max(int(r[2]) for r in rows if r[0] == k) for k in t}
print(f"{size} MiB, {len(rows) // 4} rounds, medians")
print(f"{'transfer':<10} {'local s':>8} {'MiB/s':>7} {'remote s':>9} {'MiB/s':>7} {'local/remote':>13} {'client RSS MiB':>15}")
for op in ("upload", "download"):
    lo, re = t[f"local-{op}"], t[f"remote-{op}"]
    print(f"{op:<10} {lo:8.2f} {size/lo:7.0f} {re:9.2f} {size/re:7.0f} {lo/re:12.2f}x "
          f"{rss[f'remote-{op}']/1024:9.1f} (local {rss[f'local-{op}']/1024:.1f})")
print(f"server peak RSS: {server_rss/1024:.1f} MiB")
PY
