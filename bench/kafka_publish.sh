#!/usr/bin/env bash
# BENCH_MESSAGES (default 10 000) job messages published to a librdkafka mock cluster
# (tests/kafka/mock_cluster.cpp, on 127.0.0.1) through wfctl's Kafka Transport
# (tests/kafka/publish.cpp: one publish after the other, each waiting for the brokers'
# acknowledgement as `wfctl job submit` does), side by side with `kcat -P` producing the same
# values (acks=all too, but batched: it does not wait for one message before the next).
# Figures: messages/s of both, medians of BENCH_ROUNDS rounds, and the ratio kcat/wfctl,
# which measures what acknowledging every job before the next costs. Every topic is read back
# with kcat afterwards: both must have delivered all the values.
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

N=${BENCH_MESSAGES:-10000}
ROUNDS=${BENCH_ROUNDS:-3}

bench_need kcat kcat
if [[ -n "${WFCTL_BUILD_DIR:-}" ]]; then
  DIR=$WFCTL_BUILD_DIR
else
  bench_need cmake cmake
  bench_need ninja ninja-build
  DIR=$BENCH_ROOT/build-bench
  echo "bench: building the Kafka mock and publisher (Release) in $DIR" >&2
  cmake -S "$BENCH_ROOT" -B "$DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
  cmake --build "$DIR" --target wfctl_kafka_mock wfctl_kafka_publish > /dev/null
fi
MOCK=$DIR/tests/wfctl_kafka_mock
PUBLISH=$DIR/tests/wfctl_kafka_publish
[[ -x "$MOCK" && -x "$PUBLISH" ]] || { echo "bench: $MOCK or $PUBLISH missing" >&2; exit 1; }
bench_workdir

# The values, exactly as the reference's json.dumps prints them.
for ((i = 1; i <= N; i++)); do
  printf '{"record_id": %d, "input": "records/%d/kspace.npy"}\n' "$i" "$i"
done > "$WORK/values.txt"

# The mock cluster lives as long as its stdin is open.
coproc MOCKP { exec "$MOCK"; }
MOCK_PID=$MOCKP_PID
trap 'kill "$MOCK_PID" 2> /dev/null || true; rm -rf "$WORK"' EXIT
read -r ADDR <&"${MOCKP[0]}"

count() { kcat -q -C -b "$ADDR" -t "$1" -o beginning -e | wc -l; }

wfctl_s=() kcat_s=()
for ((r = 1; r <= ROUNDS; r++)); do
  t0=$(bench_now)
  "$PUBLISH" "$ADDR" "$N" "wfctl-$r." > /dev/null
  t1=$(bench_now)
  kcat -q -P -b "$ADDR" -t "kcat-$r.mri_cartesian_reco" -X acks=all < "$WORK/values.txt"
  t2=$(bench_now)
  wfctl_s+=("$(BENCH_DIGITS=6 bench_calc "($t1 - $t0) / 1e9")")
  kcat_s+=("$(BENCH_DIGITS=6 bench_calc "($t2 - $t1) / 1e9")")
  for topic in "wfctl-$r.mri_cartesian_reco" "kcat-$r.mri_cartesian_reco"; do
    got=$(count "$topic")
    [[ $got -eq $N ]] || { echo "bench: $topic holds $got messages, not $N" >&2; exit 1; }
  done
done

W=$(bench_median "${wfctl_s[@]}")
K=$(bench_median "${kcat_s[@]}")
echo
echo "kafka_publish: $N job messages to a librdkafka mock cluster on 127.0.0.1, medians of $ROUNDS rounds"
bench_load
printf '  %-52s %10s %12s\n' "publisher" "seconds" "messages/s"
printf '  %-52s %10s %12s\n' "kcat -P (batched, acks=all)" "$K" "$(bench_calc "$N / $K" | cut -d. -f1)"
printf '  %-52s %10s %12s\n' "wfctl Transport::publish (each acknowledged first)" "$W" \
  "$(bench_calc "$N / $W" | cut -d. -f1)"
echo "  kcat/wfctl messages/s: $(BENCH_DIGITS=1 bench_calc "$W / $K")x (what one acknowledgement per job costs)"
