#!/usr/bin/env bash
# Streaming a large result file (BENCH_SIZE_MIB, default 2048, of random bytes) through the
# local store, side by side with cp on the same disk:
#   upload:   `cp SRC DST` (baseline) vs `wfctl result upload 1 SRC --name big.bin --force`
#   download: `cp STORED DST` (baseline) vs `wfctl result download 1 --file big.bin -O DST`
# Each pair runs alternately BENCH_ROUNDS (default 3) times; medians. Caches are not
# dropped, so the source is read from the page cache by both; dirty pages are flushed
# (`sync`, untimed) before every timed command so that no one pays for another's writeback.
# wfctl fsyncs what it uploads and cp does not: `cp + sync DST` is shown as a second
# reference. `sha256sum SRC` is timed too, since hashing is part of wfctl's work.
# Targets: wfctl throughput >= 0.8x cp; peak RSS of wfctl <= 64 MiB (/usr/bin/time -v).
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
STORE=$WORK/store
BYTES=$((SIZE_MIB * 1024 * 1024))
head -c "$BYTES" /dev/urandom > "$SRC"

# timed VAR RSSVAR CMD...: runs CMD after an untimed sync, stores its wall time in ns in VAR
# and its peak RSS in KiB in RSSVAR.
timed() {
  local -n ns_out=$1 rss_out=$2
  shift 2
  sync
  local t0
  t0=$(bench_now)
  /usr/bin/time -v -o "$WORK/time.txt" "$@" > /dev/null
  ns_out=$(($(bench_now) - t0))
  rss_out=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$WORK/time.txt")
}

cp_up=() cpsync_up=() wf_up=() cp_down=() wf_down=() sha=() rss_up=() rss_down=()
for ((r = 1; r <= ROUNDS; r++)); do
  rm -f "$WORK/cp.bin"
  timed t rss cp "$SRC" "$WORK/cp.bin"
  cp_up+=("$t")
  rm -f "$WORK/cp.bin"
  timed t rss sh -c 'cp "$1" "$2" && sync "$2"' sh "$SRC" "$WORK/cp.bin"
  cpsync_up+=("$t")
  rm -f "$WORK/cp.bin"
  timed t rss "$WFCTL" --store "$STORE" result upload 1 "$SRC" --name big.bin --force
  wf_up+=("$t") rss_up+=("$rss")

  stored=$STORE/records/1/big.bin
  rm -f "$WORK/down-cp.bin" "$WORK/down-wfctl.bin"
  timed t rss cp "$stored" "$WORK/down-cp.bin"
  cp_down+=("$t")
  rm -f "$WORK/down-cp.bin"
  timed t rss "$WFCTL" --store "$STORE" result download 1 --file big.bin -O "$WORK/down-wfctl.bin" --force
  wf_down+=("$t") rss_down+=("$rss")

  timed t rss sha256sum "$SRC"
  sha+=("$t")
  if ((r == ROUNDS)); then
    # What was timed must also be right: the recorded sha256 and the downloaded bytes.
    want=$(sha256sum < "$SRC" | cut -d' ' -f1)
    recorded=$("$WFCTL" --store "$STORE" result list 1 -o json |
      python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["sha256"])')
    got=$(sha256sum < "$WORK/down-wfctl.bin" | cut -d' ' -f1)
    if [[ $recorded != "$want" || $got != "$want" ]]; then
      echo "upload_download: sha256 mismatch: source $want, recorded $recorded, downloaded $got" >&2
      exit 1
    fi
  fi
  rm -f "$WORK/down-wfctl.bin"
done

mb_s() { bench_calc "$BYTES / 1e6 / ($1 / 1e9)" | cut -d. -f1; }
row() { printf '  %-46s %9s %9s %12s\n' "$@"; }
m_cp_up=$(bench_median "${cp_up[@]}")
m_cpsync_up=$(bench_median "${cpsync_up[@]}")
m_wf_up=$(bench_median "${wf_up[@]}")
m_cp_down=$(bench_median "${cp_down[@]}")
m_wf_down=$(bench_median "${wf_down[@]}")
m_sha=$(bench_median "${sha[@]}")
up_ratio=$(bench_calc "$m_cp_up / $m_wf_up")
down_ratio=$(bench_calc "$m_cp_down / $m_wf_down")
max_rss_up=$(printf '%s\n' "${rss_up[@]}" | sort -n | tail -1)
max_rss_down=$(printf '%s\n' "${rss_down[@]}" | sort -n | tail -1)

echo
echo "upload_download: a $SIZE_MIB MiB file, $ROUNDS alternating rounds, medians (throughput in MB/s, 1 MB = 10^6 B)"
bench_load
row "what" "seconds" "MB/s" "speed vs cp"
row "cp SRC DST (upload baseline)" "$(bench_calc "$m_cp_up / 1e9")" "$(mb_s "$m_cp_up")" "1.00x (base)"
row "cp SRC DST && sync DST (durable copy)" "$(bench_calc "$m_cpsync_up / 1e9")" "$(mb_s "$m_cpsync_up")" \
  "$(bench_calc "$m_cp_up / $m_cpsync_up")x"
row "wfctl result upload (hash + fsync + rename)" "$(bench_calc "$m_wf_up / 1e9")" "$(mb_s "$m_wf_up")" "${up_ratio}x"
row "cp STORED DST (download baseline)" "$(bench_calc "$m_cp_down / 1e9")" "$(mb_s "$m_cp_down")" "1.00x (base)"
row "wfctl result download -O DST (verifies sha256)" "$(bench_calc "$m_wf_down / 1e9")" "$(mb_s "$m_wf_down")" \
  "${down_ratio}x"
row "sha256sum SRC (reference)" "$(bench_calc "$m_sha / 1e9")" "$(mb_s "$m_sha")" "-"
echo "  wfctl upload vs durable cp+sync: $(bench_calc "$m_cpsync_up / $m_wf_up")x"
echo "  peak RSS: upload $((max_rss_up / 1024)) MiB, download $((max_rss_down / 1024)) MiB (max over rounds)"
for what in "upload:$up_ratio" "download:$down_ratio"; do
  if awk "BEGIN { exit !(${what#*:} >= 0.8) }"; then
    echo "  target ${what%%:*} >= 0.8x cp: met (${what#*:}x)"
  else
    echo "  target ${what%%:*} >= 0.8x cp: MISSED (${what#*:}x)"
  fi
done
for what in "upload:$max_rss_up" "download:$max_rss_down"; do
  if ((${what#*:} <= 64 * 1024)); then
    echo "  target ${what%%:*} peak RSS <= 64 MiB: met"
  else
    echo "  target ${what%%:*} peak RSS <= 64 MiB: MISSED ($((${what#*:} / 1024)) MiB)"
  fi
done
