# Sourced by the bench/*.sh scripts: tool installation, the wfctl binary, a scratch folder,
# fast store creation and the figures' arithmetic. Not meant to be run on its own.

BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# bench_need COMMAND PACKAGE: installs PACKAGE with apt-get when COMMAND is missing (an
# 'apt-get update' first only when the plain install fails, as on a fresh machine).
bench_need() {
  local cmd=$1 pkg=$2
  command -v "$cmd" > /dev/null 2>&1 && return 0
  echo "bench: installing $pkg (for $cmd)" >&2
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" > /dev/null 2>&1; then
    apt-get update -qq > /dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" > /dev/null
  fi
  command -v "$cmd" > /dev/null 2>&1 || { echo "bench: cannot install $pkg" >&2; exit 1; }
}

# Sets WFCTL to $WFCTL_BIN, or builds wfctl (Release) in build-bench and uses that.
bench_wfctl() {
  if [[ -n "${WFCTL_BIN:-}" ]]; then
    WFCTL=$WFCTL_BIN
  else
    bench_need cmake cmake
    bench_need ninja ninja-build
    local dir="$BENCH_ROOT/build-bench"
    echo "bench: building wfctl (Release) in $dir" >&2
    cmake -S "$BENCH_ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
    cmake --build "$dir" --target wfctl > /dev/null
    WFCTL=$dir/apps/wfctl/wfctl
  fi
  [[ -x "$WFCTL" ]] || { echo "bench: $WFCTL is not an executable" >&2; exit 1; }
  WFCTL=$(readlink -f "$WFCTL")
}

# Sets WORK to a new scratch folder that is removed when the script exits. BENCH_TMPDIR
# chooses the parent (and so the disk).
bench_workdir() {
  WORK=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/wfctl-bench.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
  # A cleared environment, as in the e2e tests: no user config or WFCTL_* variable leaks in.
  export HOME=$WORK/home XDG_CONFIG_HOME=$WORK/config XDG_DATA_HOME=$WORK/data
  mkdir -p "$HOME"
  unset WFCTL_STORE WFCTL_CONTEXT WFCTL_CONFIG WFCTL_OUTPUT
}

# bench_definition: a realistic workflow definition (about 1 KB of compact JSON).
bench_definition() {
  python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["definition"], separators=(",", ":")))' \
    "$BENCH_ROOT/examples/cartesian-reco.json"
}

# bench_make_store DIR N: a store of N workflows. The first is created through wfctl (so
# that wfctl itself lays out the schema and its migrations); the other N-1 are inserted in
# one transaction by the sqlite3 CLI into that same schema, with distinct names and
# versions, the definition of examples/cartesian-reco.json and wfctl's timestamp format.
bench_make_store() {
  local dir=$1 n=$2 def
  def=$(bench_definition)
  printf '%s' "$def" | "$WFCTL" --store "$dir" create -f - --name reco-1 --version 1.0.0 \
    --author "MRI physics lab" -o name > /dev/null
  ((n > 1)) || return 0
  def=${def//\'/\'\'}
  sqlite3 "$dir/wfctl.db" > /dev/null << SQL
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE seq(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM seq WHERE i < $n)
INSERT INTO workflows (id, name, description, version, author, definition, datetime_created, datetime_updated)
SELECT i, 'reco-' || i, 'Cartesian k-space to DICOM by inverse FFT, variant ' || i,
       (i % 7) || '.' || (i % 13) || '.' || i, CASE WHEN i % 3 = 0 THEN NULL ELSE 'MRI physics lab' END,
       '$def', strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.' || printf('%06d', i % 1000000), NULL
FROM seq;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
}

# bench_hyperfine_medians FILE.json: prints "command<TAB>median_s" per benchmarked command.
bench_hyperfine_medians() {
  python3 - "$1" << 'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f'{r["command"]}\t{r["median"]:.6f}')
PY
}

# bench_median V1 V2 ...: the median of the numbers given.
bench_median() {
  printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.6f\n", (a[NR/2]+a[NR/2+1])/2}'
}

# bench_calc EXPR: floating-point arithmetic for the tables (awk, so no bc needed).
bench_calc() { awk "BEGIN { printf \"%.${BENCH_DIGITS:-3}f\", $1 }"; }

# bench_now: nanoseconds since the epoch (microsecond resolution; bash's own clock, so no
# process is started to read it).
bench_now() { echo $((${EPOCHREALTIME/./} * 1000)); }

# bench_load: one line on how busy the machine was (timings on a shared 2-core box vary).
bench_load() { echo "  ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end)"; }

# bench_serve STORE [SERVE OPTIONS...]: starts `wfctl --store STORE serve --listen 127.0.0.1:0`
# in the background, logging to $WORK/serve.log; sets SERVE_PID and SERVE_URL (the bound
# http://127.0.0.1:PORT/api/v1/workflow it prints). The caller stops it (kill $SERVE_PID).
bench_serve() {
  local store=$1
  shift
  "$WFCTL" --store "$store" serve --listen 127.0.0.1:0 "$@" 2> "$WORK/serve.log" &
  SERVE_PID=$!
  for _ in $(seq 100); do grep -q 'listening on' "$WORK/serve.log" 2> /dev/null && break; sleep 0.05; done
  SERVE_URL=$(sed -n 's/^wfctl serve: listening on \(http:[^ ]*\)$/\1/p' "$WORK/serve.log")
  [[ -n "$SERVE_URL" ]] || { echo "bench: wfctl serve did not start: $(cat "$WORK/serve.log")" >&2; exit 1; }
}
