#!/usr/bin/env bash
# The remote CLI's latency: `wfctl --store http://... get ID -o json` against `wfctl serve` on
# loopback, next to `curl -s` fetching the same URL, and `wfctl get` on the local store for
# reference. hyperfine, BENCH_WARMUP (10) warm-up runs, BENCH_RUNS (200) runs, interleaved in one
# hyperfine invocation; medians and the ratio wfctl/curl. Every command's output is checked to
# hold the same workflow first.
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

RUNS=${BENCH_RUNS:-200}
WARMUP=${BENCH_WARMUP:-10}
WORKFLOWS=${BENCH_WORKFLOWS:-1000}

bench_need hyperfine hyperfine
bench_need curl curl
bench_wfctl
bench_workdir

bench_make_store "$WORK/store" "$WORKFLOWS"
ID=$((WORKFLOWS / 2))
bench_serve "$WORK/store"
URL=$SERVE_URL
trap 'kill $SERVE_PID 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

same() { python3 -c 'import json,sys; a,b=(json.loads(open(p).read()) for p in sys.argv[1:]); sys.exit(a!=b)' "$@"; }
"$WFCTL" --store "$URL" get "$ID" -o json > "$WORK/remote.json"
curl -sf "$URL/$ID" > "$WORK/curl.json"
"$WFCTL" --store "$WORK/store" get "$ID" -o json > "$WORK/local.json"
same "$WORK/remote.json" "$WORK/curl.json" || { echo "bench: remote get and curl differ" >&2; exit 1; }
same "$WORK/remote.json" "$WORK/local.json" || { echo "bench: remote and local get differ" >&2; exit 1; }

hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" --export-json "$WORK/h.json" \
  -n curl "curl -s $URL/$ID" \
  -n "wfctl remote" "$WFCTL --store $URL get $ID -o json" \
  -n "wfctl local" "$WFCTL --store $WORK/store get $ID -o json" > /dev/null
declare -A MED
while IFS=$'\t' read -r name median; do MED[$name]=$median; done < <(bench_hyperfine_medians "$WORK/h.json")
echo "remote CLI latency (hyperfine medians, ms)"
for name in curl "wfctl remote" "wfctl local"; do
  printf '  %-13s %7s ms  %5sx curl\n' "$name" "$(BENCH_DIGITS=2 bench_calc "${MED[$name]} * 1000")" \
    "$(BENCH_DIGITS=2 bench_calc "${MED[$name]} / ${MED[curl]}")"
done
