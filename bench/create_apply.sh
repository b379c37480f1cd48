#!/usr/bin/env bash
# Per-workflow cost of writing workflows:
#   - BENCH_COUNT (default 1 000) `wfctl create -f def.json --name ... --version ...` in a
#     shell loop, against the baseline of as many `sqlite3 DB "INSERT INTO workflows ..."` in
#     a shell loop (same schema, same definition, one process and one transaction each);
#   - `wfctl apply -f` of a BENCH_COUNT-document YAML stream into an empty store (all
#     created), then the same stream again (all unchanged), median of BENCH_REPS (default 3)
#     fresh stores.
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

COUNT=${BENCH_COUNT:-1000}
REPS=${BENCH_REPS:-3}

bench_need sqlite3 sqlite3
bench_need python3 python3
bench_wfctl
bench_workdir

DEF=$WORK/def.json
bench_definition > "$DEF"

# The shell loops: wfctl create vs sqlite3 INSERT, each into its own fresh store.
STORE=$WORK/create-store
t0=$(bench_now)
for ((i = 1; i <= COUNT; i++)); do
  "$WFCTL" --store "$STORE" create -f "$DEF" --name "reco-$i" --version 1.0.0 --author lab -o name > /dev/null
done
t_create=$(($(bench_now) - t0))
got=$(sqlite3 "$STORE/wfctl.db" "SELECT count(*) FROM workflows")
[[ $got == "$COUNT" ]] || { echo "create_apply: $got workflows created of $COUNT" >&2; exit 1; }

# The baseline's database: wfctl's own schema (and journal mode), emptied.
BASE=$WORK/base-store
bench_make_store "$BASE" 1
sqlite3 "$BASE/wfctl.db" "DELETE FROM workflows"
def_sql=$(sed "s/'/''/g" "$DEF")
t0=$(bench_now)
for ((i = 1; i <= COUNT; i++)); do
  sqlite3 "$BASE/wfctl.db" "INSERT INTO workflows (name, description, version, author, definition, datetime_created) VALUES ('reco-$i', NULL, '1.0.0', 'lab', '$def_sql', strftime('%Y-%m-%dT%H:%M:%f', 'now'))"
done
t_insert=$(($(bench_now) - t0))

# The YAML stream: full documents, the definitions in block style as a person writes them.
STREAM=$WORK/stream.yaml
python3 - "$COUNT" > "$STREAM" << 'PY'
import sys
n = int(sys.argv[1])
for i in range(1, n + 1):
    if i > 1:
        print("---")
    print(f"""name: reco-{i}
version: "1.{i % 10}.{i}"
author: MRI physics lab
description: Cartesian k-space to DICOM by inverse FFT, variant {i}
definition:
  name: reco-{i}
  informatics_gateway:
    ae_title: SCANHUB
    data_origins: [MRI_SIMULATOR]
    export_destinations: [PACS]
  tasks:
    - id: reconstruct
      description: Inverse FFT of the uploaded k-space
      type: argo
      args: {{workflow_template_name: cartesian-reco, kafka_topic: mri_cartesian_reco, oversampling: {i % 4 + 1}}}
      artifacts:
        input: [{{name: kspace, value: "{{{{ context.input.dicom }}}}"}}]
      task_destinations: [{{name: export-dicom}}]
    - id: export-dicom
      type: export
      export_destinations: [{{name: PACS}}]""")
PY

first=() second=()
for ((r = 1; r <= REPS; r++)); do
  s=$WORK/apply-store-$r
  t0=$(bench_now)
  "$WFCTL" --store "$s" apply -f "$STREAM" > "$WORK/apply1.out"
  first+=($(($(bench_now) - t0)))
  t0=$(bench_now)
  "$WFCTL" --store "$s" apply -f "$STREAM" > "$WORK/apply2.out"
  second+=($(($(bench_now) - t0)))
  created=$(grep -c ' created$' "$WORK/apply1.out" || true)
  unchanged=$(grep -c ' unchanged$' "$WORK/apply2.out" || true)
  if [[ $created != "$COUNT" || $unchanged != "$COUNT" ]]; then
    echo "create_apply: apply reported $created created, then $unchanged unchanged, of $COUNT" >&2
    exit 1
  fi
  rm -rf "$s"
done
t_apply1=$(bench_median "${first[@]}")
t_apply2=$(bench_median "${second[@]}")

per() { bench_calc "$1 / $COUNT / 1000000"; }
echo
echo "create_apply: $COUNT workflows, per-workflow cost (wall time / $COUNT)"
bench_load
printf '  %-52s %10s %10s %14s\n' "what" "total s" "ms each" "vs baseline"
printf '  %-52s %10s %10s %14s\n' "baseline: sqlite3 DB 'INSERT ...' in a shell loop" \
  "$(bench_calc "$t_insert / 1e9")" "$(per "$t_insert")" "1.00x (base)"
printf '  %-52s %10s %10s %14s\n' "wfctl create -f def.json --name ... in a shell loop" \
  "$(bench_calc "$t_create / 1e9")" "$(per "$t_create")" "$(bench_calc "$t_create / $t_insert")x"
printf '  %-52s %10s %10s %14s\n' "wfctl apply -f stream.yaml, all created (median of $REPS)" \
  "$(bench_calc "$t_apply1 / 1e9")" "$(per "$t_apply1")" "$(bench_calc "$t_apply1 / $t_insert")x"
printf '  %-52s %10s %10s %14s\n' "wfctl apply -f stream.yaml again, all unchanged" \
  "$(bench_calc "$t_apply2 / 1e9")" "$(per "$t_apply2")" "$(bench_calc "$t_apply2 / $t_insert")x"
