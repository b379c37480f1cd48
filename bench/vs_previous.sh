#!/usr/bin/env bash
# `wfctl get ID -o json` and `wfctl list -o json` of this build against another build of wfctl
# (WFCTL_BASE_BIN, e.g. one of the last release or of main before a change), side by side in
# the same hyperfine runs on the same store, with the sqlite3 CLI as the fixed reference.
# Prints each median and the ratio this/previous: a regression shows as a ratio above 1.
#
#   WFCTL_BASE_BIN=/path/to/old/wfctl [WFCTL_BIN=build-bench/apps/wfctl/wfctl] bench/vs_previous.sh
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

N=${BENCH_WORKFLOWS:-10000}
RUNS=${BENCH_RUNS:-200}
LIST_RUNS=${BENCH_LIST_RUNS:-30}
[[ -n "${WFCTL_BASE_BIN:-}" && -x "$WFCTL_BASE_BIN" ]] || { echo "bench: set WFCTL_BASE_BIN to the wfctl to compare with" >&2; exit 2; }

bench_need hyperfine hyperfine
bench_need sqlite3 sqlite3
bench_need python3 python3
bench_wfctl
bench_workdir
BASE=$(readlink -f "$WFCTL_BASE_BIN")

STORE=$WORK/store
bench_make_store "$STORE" "$N"
ID=$(((N + 1) / 2))
DB=$STORE/wfctl.db
GET_SQL="SELECT name, description, version, author, id, datetime_created, datetime_updated, definition FROM workflows WHERE id = $ID"
LIST_SQL="SELECT name, description, version, author, id, datetime_created, datetime_updated, definition FROM workflows ORDER BY id"

# Both print the same thing, else we would compare different work.
cmp <("$WFCTL" --store "$STORE" get "$ID" -o json) <("$BASE" --store "$STORE" get "$ID" -o json)
cmp <("$WFCTL" --store "$STORE" list -o json) <("$BASE" --store "$STORE" list -o json)

# Interleaved in one run (hyperfine runs each command's batch in turn; two rounds, order
# swapped, so that neither binary always goes first while the machine warms up).
for round in 1 2; do
  if ((round == 1)); then a=$WFCTL; an=this; b=$BASE; bn=previous; else a=$BASE; an=previous; b=$WFCTL; bn=this; fi
  hyperfine -N --style basic --warmup 10 --runs "$RUNS" --export-json "$WORK/get-$round.json" \
    -n "get-$an" "$a --store $STORE get $ID -o json" -n "get-$bn" "$b --store $STORE get $ID -o json" \
    -n get-sqlite3 "sqlite3 $DB '$GET_SQL'" > /dev/null 2>&1
  hyperfine --style basic --warmup 3 --runs "$LIST_RUNS" --export-json "$WORK/list-$round.json" \
    -n "list-$an" "$a --store $STORE list -o json > /dev/null" -n "list-$bn" "$b --store $STORE list -o json > /dev/null" \
    -n list-sqlite3 "sqlite3 -json $DB '$LIST_SQL' > /dev/null" > /dev/null 2>&1
done

declare -A MED
for f in "$WORK"/get-*.json "$WORK"/list-*.json; do
  while IFS=$'\t' read -r name median; do MED[$name]="${MED[$name]:-} $median"; done < <(bench_hyperfine_medians "$f")
done
med() { bench_median ${MED[$1]}; }

echo
echo "vs_previous: $N workflows; get: $RUNS runs, list -o json: $LIST_RUNS runs, each in two rounds; medians"
echo "  this:     $WFCTL"
echo "  previous: $BASE"
bench_load
printf '  %-26s %12s %12s %14s %14s\n' "command" "this ms" "previous ms" "this/previous" "this/sqlite3"
for cmd in get list; do
  t=$(med "$cmd-this") p=$(med "$cmd-previous") s=$(med "$cmd-sqlite3")
  printf '  %-26s %12s %12s %13sx %13sx\n' "wfctl $cmd -o json" "$(bench_calc "$t * 1000")" "$(bench_calc "$p * 1000")" \
    "$(bench_calc "$t / $p")" "$(bench_calc "$t / $s")"
done
