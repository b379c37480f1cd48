#!/usr/bin/env bash
# `wfctl get ID -o json` against the sqlite3 CLI selecting the same row, on a store of
# BENCH_WORKFLOWS (default 10 000) workflows. Baseline: `sqlite3 DB "SELECT * ... WHERE id=ID"`
# (also shown: the same with -json, closer to wfctl's output). Target: wfctl/sqlite3 <= 3x.
#
# The store is made by bench_make_store (common.sh): one `wfctl create` lays out the schema,
# the sqlite3 CLI then bulk-inserts the other workflows into it in one transaction.
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

N=${BENCH_WORKFLOWS:-10000}
RUNS=${BENCH_RUNS:-200}
WARMUP=${BENCH_WARMUP:-10}

bench_need hyperfine hyperfine
bench_need sqlite3 sqlite3
bench_need python3 python3
bench_wfctl
bench_workdir

STORE=$WORK/store
bench_make_store "$STORE" "$N"
ID=$(((N + 1) / 2))
DB=$STORE/wfctl.db
SQL="SELECT name, description, version, author, id, datetime_created, datetime_updated, definition FROM workflows WHERE id = $ID"

# Both must find the row, else we would time an error path.
"$WFCTL" --store "$STORE" get "$ID" -o json > /dev/null
[[ -n "$(sqlite3 "$DB" "$SQL")" ]]

# -N: no intermediate shell, so only the programs themselves are timed.
hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" --export-json "$WORK/get.json" \
  -n wfctl "$WFCTL --store $STORE get $ID -o json" \
  -n sqlite3 "sqlite3 $DB '$SQL'" \
  -n sqlite3-json "sqlite3 -json $DB '$SQL'" > "$WORK/hyperfine.log" 2>&1

declare -A MED
while IFS=$'\t' read -r name median; do MED[$name]=$median; done < <(
  python3 -c 'import json,sys
for r in json.load(open(sys.argv[1]))["results"]: print(r["command"], r["median"], sep="\t")' "$WORK/get.json")

ratio=$(bench_calc "${MED[wfctl]} / ${MED[sqlite3]}")
ratio_json=$(bench_calc "${MED[wfctl]} / ${MED[sqlite3-json]}")
echo
echo "get_vs_sqlite3: one workflow (id $ID) out of $N, $RUNS runs after $WARMUP warm-up, medians"
bench_load
printf '  %-38s %10s %12s\n' "command" "median ms" "vs sqlite3"
printf '  %-38s %10s %12s\n' "sqlite3 DB 'SELECT ... WHERE id=ID'" "$(bench_calc "${MED[sqlite3]} * 1000")" "1.00x (base)"
printf '  %-38s %10s %12s\n' "sqlite3 -json DB 'SELECT ...'" "$(bench_calc "${MED[sqlite3-json]} * 1000")" \
  "$(bench_calc "${MED[sqlite3-json]} / ${MED[sqlite3]}")x"
printf '  %-38s %10s %12s\n' "wfctl get ID -o json" "$(bench_calc "${MED[wfctl]} * 1000")" "${ratio}x"
echo "  wfctl / sqlite3-json: ${ratio_json}x"
if awk "BEGIN { exit !($ratio <= 3) }"; then
  echo "  target wfctl/sqlite3 <= 3x: met (${ratio}x)"
else
  echo "  target wfctl/sqlite3 <= 3x: MISSED (${ratio}x)"
fi
