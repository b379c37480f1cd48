#!/usr/bin/env bash
# `wfctl list -o json > /dev/null` over stores of 1 000, 10 000 and 100 000 workflows
# (BENCH_SIZES), against the baseline `sqlite3 -json DB "SELECT <the same columns> FROM
# workflows ORDER BY id"`: median time per size, growth per 10x, ratio wfctl/sqlite3.
# Target: wfctl under 1 s at 100 000 workflows.
#
# Stores are made by bench_make_store (common.sh): one `wfctl create`, then a bulk insert
# with the sqlite3 CLI into the same schema.
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

read -r -a SIZES <<< "${BENCH_SIZES:-1000 10000 100000}"
WARMUP=${BENCH_WARMUP:-2}

bench_need hyperfine hyperfine
bench_need sqlite3 sqlite3
bench_need python3 python3
bench_wfctl
bench_workdir

SQL="SELECT name, description, version, author, id, datetime_created, datetime_updated, definition FROM workflows ORDER BY id"
declare -A W S
for n in "${SIZES[@]}"; do
  store=$WORK/store-$n
  bench_make_store "$store" "$n"
  # The listing must be complete, else we would time something else.
  got=$("$WFCTL" --store "$store" list -o json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
  [[ $got == "$n" ]] || { echo "list_scaling: wfctl listed $got of $n workflows" >&2; exit 1; }
  # Fewer runs for the big stores keep the whole script within a few minutes.
  runs=$((n >= 100000 ? 10 : n >= 10000 ? 20 : 50))
  # hyperfine sends the programs' stdout to /dev/null itself.
  hyperfine -N --style basic --warmup "$WARMUP" --runs "$runs" --export-json "$WORK/list-$n.json" \
    -n wfctl "$WFCTL --store $store list -o json" \
    -n sqlite3 "sqlite3 -json $store/wfctl.db '$SQL'" > "$WORK/hyperfine-$n.log" 2>&1
  while IFS=$'\t' read -r name median; do
    if [[ $name == wfctl ]]; then W[$n]=$median; else S[$n]=$median; fi
  done < <(bench_hyperfine_medians "$WORK/list-$n.json")
  rm -rf "$store"
done

echo
echo "list_scaling: wfctl list -o json > /dev/null vs sqlite3 -json of the same rows, medians"
bench_load
printf '  %10s %12s %10s %12s %10s %14s\n' workflows "wfctl ms" growth "sqlite3 ms" growth "wfctl/sqlite3"
prev=""
for n in "${SIZES[@]}"; do
  gw=- gs=-
  if [[ -n $prev ]]; then
    gw="$(bench_calc "${W[$n]} / ${W[$prev]}")x"
    gs="$(bench_calc "${S[$n]} / ${S[$prev]}")x"
  fi
  printf '  %10s %12s %10s %12s %10s %14s\n' "$n" "$(bench_calc "${W[$n]} * 1000")" "$gw" \
    "$(bench_calc "${S[$n]} * 1000")" "$gs" "$(bench_calc "${W[$n]} / ${S[$n]}")x"
  prev=$n
done
last=${SIZES[-1]}
if awk "BEGIN { exit !(${W[$last]} < 1) }"; then
  echo "  target < 1 s at $last: met ($(bench_calc "${W[$last]}") s)"
else
  echo "  target < 1 s at $last: MISSED ($(bench_calc "${W[$last]}") s)"
fi
