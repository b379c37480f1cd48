#!/usr/bin/env bash
# One workflow whose definition is an object of BENCH_KEYS (default 100 000) keys (1.6 MB of
# JSON): `wfctl create -f` and `wfctl get -o json|yaml`, against SQLite's own JSON parser on the
# same text (`sqlite3 :memory: "SELECT json_valid(readfile(...))"`) and the sqlite3 CLI
# selecting the stored definition. Parsing and printing must stay linear: the figures at
# 10 000 and 100 000 keys show the growth (x10 keys should cost about x10 time).
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

bench_need hyperfine hyperfine
bench_need sqlite3 sqlite3
bench_need python3 python3
bench_wfctl
bench_workdir

echo
echo "big_document: one definition of N keys; medians of hyperfine runs"
bench_load
printf '  %-10s %-34s %10s %12s\n' "keys" "command" "median ms" "vs baseline"
for keys in 10000 ${BENCH_KEYS:-100000}; do
  doc=$WORK/doc-$keys.json
  python3 -c 'import json,sys; n=int(sys.argv[1]); json.dump({"name":"big","version":"1","definition":{f"k{i:06d}": i for i in range(n)}}, open(sys.argv[2],"w"))' "$keys" "$doc"
  store=$WORK/store-$keys
  "$WFCTL" --store "$store" create -f "$doc" > /dev/null
  hyperfine -N --style basic --warmup 2 --runs "${BENCH_RUNS:-15}" --export-json "$WORK/h-$keys.json" \
    -n create --prepare "rm -rf $WORK/scratch" "$WFCTL --store $WORK/scratch create -f $doc" \
    -n sqlite3-json-parse "sqlite3 :memory: \"SELECT json_valid(readfile('$doc'))\"" \
    -n get-json "$WFCTL --store $store get 1 -o json" \
    -n get-yaml "$WFCTL --store $store get 1 -o yaml" \
    -n sqlite3-select "sqlite3 $store/wfctl.db 'SELECT definition FROM workflows WHERE id = 1'" > /dev/null 2>&1
  declare -A MED=()
  while IFS=$'\t' read -r name median; do MED[$name]=$median; done < <(bench_hyperfine_medians "$WORK/h-$keys.json")
  for pair in "create sqlite3-json-parse" "get-json sqlite3-select" "get-yaml sqlite3-select"; do
    set -- $pair
    printf '  %-10s %-34s %10s %11sx\n' "$keys" "wfctl $1 (vs $2)" "$(bench_calc "${MED[$1]} * 1000")" \
      "$(bench_calc "${MED[$1]} / ${MED[$2]}")"
  done
done
