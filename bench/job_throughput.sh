#!/usr/bin/env bash
# Throughput of the local job queue: BENCH_JOBS (default 10 000) queued jobs drained by
# `wfctl worker --once` with a no-op handler, `touch {output}` (each job: claim, spawn the
# handler, store its empty output records/1/out.txt (not .dcm: no DICOM check; replaced
# with --force as a rerun does), finish). Drained by
#   - 1, 2 and 4 worker processes at once on the same store (each --concurrency 1),
#   - one process with --concurrency 4;
# --poll 50ms, so that an idle process does not add up to 500 ms after the queue is empty.
# Every drain starts from a copy of the same store (all jobs queued, attempts 0), made and
# synced untimed, and must end with every job succeeded at its first attempt.
# Baselines, the handler alone for as many jobs:
#   - `touch DIR/out.txt` in a bash loop (fork + exec per job);
#   - a small C program spawning `touch` as the worker does: posix_spawnp from PATH, stdin
#     /dev/null, stdout and stderr into pipes read to their end, its own process group, waitpid.
# overhead per job = (drain time of 1 process - baseline time) / BENCH_JOBS. Targets: >= 500
# jobs/s, <= 5 ms overhead per job. Medians of BENCH_ROUNDS (default 1) interleaved rounds.
# The submit path separately: BENCH_SUBMITS (default 1 000) `wfctl job submit` in a shell loop
# against as many `sqlite3 DB "INSERT INTO jobs ..."` (one process and one transaction each,
# synchronous=FULL as wfctl's writer).
# Where the time goes (BENCH_PROFILE_JOBS, default 500; 0 skips it): one worker process
# draining that many jobs under `strace -f -y -T`: fsync/fdatasync calls per job by what they
# sync and their latency, against the disk's own fsync latency (4 KiB appended + fdatasync, as
# a WAL commit); and the busy-handler naps (SQLite's write lock) of 4 processes.
# The queue is populated as bench_make_store does: job 1 by `wfctl job submit` (wfctl lays out
# the schema), the others copied from its row by the sqlite3 CLI in one transaction.
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

N=${BENCH_JOBS:-10000}
SUBMITS=${BENCH_SUBMITS:-1000}
ROUNDS=${BENCH_ROUNDS:-1}
PROFILE_JOBS=${BENCH_PROFILE_JOBS:-500}

bench_need sqlite3 sqlite3
bench_need cc gcc
((PROFILE_JOBS > 0)) && bench_need strace strace
bench_wfctl
bench_workdir

HANDLER='mri_cartesian_reco=touch {output}'
OUTPUT=records/1/out.txt
PRISTINE=$WORK/pristine
STORE=$WORK/store

# The baselines' and the profile's helpers, in one C file:
#   spawn N FILE    posix_spawnp("touch", FILE) N times, as wfctl's runner starts a handler
#   fsync N FILE    N times: append 4 KiB to FILE, fdatasync; prints the median in ns
cat > "$WORK/helper.c" << 'C'
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
extern char** environ;
static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}
static int cmp(const void* a, const void* b) {
  long long x = *(const long long*)a, y = *(const long long*)b;
  return x < y ? -1 : x > y;
}
int main(int argc, char** argv) {
  if (argc != 4) return fputs("usage: helper spawn|fsync N FILE\n", stderr), 2;
  long n = atol(argv[2]);
  if (!strcmp(argv[1], "spawn")) {
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    for (long i = 0; i < n; i++) {
      int out[2], err[2];
      if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) return perror("pipe2"), 1;
      posix_spawn_file_actions_t fa;
      posix_spawnattr_t attr;
      posix_spawn_file_actions_init(&fa);
      posix_spawnattr_init(&attr);
      posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
      posix_spawn_file_actions_adddup2(&fa, out[1], 1);
      posix_spawn_file_actions_adddup2(&fa, err[1], 2);
      posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
      posix_spawnattr_setpgroup(&attr, 0);
      posix_spawnattr_setsigmask(&attr, &none);
      posix_spawnattr_setsigdefault(&attr, &all);
      char* args[] = {"touch", argv[3], NULL};
      pid_t pid;
      int rc = posix_spawnp(&pid, "touch", &fa, &attr, args, environ);
      posix_spawn_file_actions_destroy(&fa);
      posix_spawnattr_destroy(&attr);
      close(out[1]);
      close(err[1]);
      if (rc) return fprintf(stderr, "posix_spawnp: %s\n", strerror(rc)), 1;
      char buf[4096];
      for (int fd = 0; fd < 2; fd++)
        while (read(fd ? err[0] : out[0], buf, sizeof buf) > 0) {
        }
      close(out[0]);
      close(err[0]);
      int status;
      if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) return fputs("touch failed\n", stderr), 1;
    }
    return 0;
  }
  int fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return perror("open"), 1;
  long long* t = calloc(n, sizeof *t);
  char page[4096];
  memset(page, 'w', sizeof page);
  for (long i = 0; i < n; i++) {
    long long t0 = now_ns();
    if (write(fd, page, sizeof page) != sizeof page || fdatasync(fd)) return perror("write/fdatasync"), 1;
    t[i] = now_ns() - t0;
  }
  qsort(t, n, sizeof *t, cmp);
  printf("%lld\n", t[n / 2]);
  return 0;
}
C
cc -O2 -o "$WORK/helper" "$WORK/helper.c"

# make_store DIR COUNT: record 1 with in.bin (uploaded, no job), COUNT queued jobs of it whose
# output is records/1/out.txt.
make_store() {
  local dir=$1 count=$2
  head -c 4096 /dev/urandom > "$WORK/in.bin"
  "$WFCTL" --store "$dir" result upload 1 "$WORK/in.bin" --name in.bin --no-job > /dev/null
  "$WFCTL" --store "$dir" job submit 1 --input in.bin --output "$OUTPUT" -o name > /dev/null
  ((count > 1)) && sqlite3 "$dir/wfctl.db" > /dev/null << SQL
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE seq(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM seq WHERE i < $count)
INSERT INTO jobs (topic, record_id, input, output, status, max_attempts, deadline_seconds, datetime_created, delivery)
SELECT j.topic, j.record_id, j.input, j.output, 'queued', j.max_attempts, j.deadline_seconds, j.datetime_created, j.delivery
FROM seq, jobs AS j WHERE j.id = 1;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
  local got
  got=$(sqlite3 "$dir/wfctl.db" "SELECT count(*) FROM jobs WHERE status = 'queued'")
  [[ $got == "$count" ]] || { echo "job_throughput: $got jobs queued of $count" >&2; exit 1; }
}

# reset FROM: the store again as FROM holds it (untimed), written back to the disk.
reset() {
  rm -rf "$STORE"
  cp -a "$1" "$STORE"
  sync
}

# check_drained COUNT WHAT: every job succeeded at its first attempt, and the output is stored.
check_drained() {
  local got
  got=$(sqlite3 "$STORE/wfctl.db" "SELECT status || ':' || attempts || ':' || count(*) FROM jobs GROUP BY status, attempts")
  if [[ $got != "succeeded:1:$1" ]]; then
    echo "job_throughput: $2: jobs by status:attempts:count: $(echo "$got" | tr '\n' ' ') (want succeeded:1:$1)" >&2
    tail -5 "$WORK"/worker-*.log >&2
    exit 1
  fi
  [[ -f $STORE/$OUTPUT ]] || { echo "job_throughput: $2: $OUTPUT was not stored" >&2; exit 1; }
}

# drain PROCS CONCURRENCY [PREFIX...]: PROCS `wfctl worker --once` processes at once on STORE;
# prints the wall time in ns. PREFIX (e.g. strace ...) runs each worker.
drain() {
  local procs=$1 conc=$2 k t0 pids=()
  shift 2
  t0=$(bench_now)
  for ((k = 1; k <= procs; k++)); do
    "$@" "$WFCTL" --store "$STORE" worker --once --handler "$HANDLER" --concurrency "$conc" --poll 50ms \
      > "$WORK/worker-$k.out" 2> "$WORK/worker-$k.log" &
    pids+=($!)
  done
  local failed=0
  for k in "${pids[@]}"; do wait "$k" || failed=1; done
  local t=$(($(bench_now) - t0))
  if ((failed)); then
    echo "job_throughput: a worker failed ($procs x --concurrency $conc):" >&2
    tail -5 "$WORK"/worker-*.log >&2
    exit 1
  fi
  echo "$t"
}

echo "job_throughput: populating a store of $N queued jobs (untimed)" >&2
make_store "$PRISTINE" "$N"

CONFIGS=("1 1" "2 1" "4 1" "1 4")
declare -A times
loop=() spawn=()
mkdir -p "$WORK/loop"
for ((r = 1; r <= ROUNDS; r++)); do
  sync
  t0=$(bench_now)
  for ((i = 1; i <= N; i++)); do touch "$WORK/loop/out.txt"; done
  loop+=($(($(bench_now) - t0)))
  sync
  t0=$(bench_now)
  "$WORK/helper" spawn "$N" "$WORK/loop/out.txt"
  spawn+=($(($(bench_now) - t0)))
  line="job_throughput: round $r/$ROUNDS: bash loop $(bench_calc "${loop[-1]} / 1e9") s, spawn loop $(bench_calc "${spawn[-1]} / 1e9") s"
  for c in "${CONFIGS[@]}"; do
    read -r procs conc <<< "$c"
    reset "$PRISTINE"
    t=$(drain "$procs" "$conc")
    check_drained "$N" "$procs x --concurrency $conc"
    times[$c]+="$t "
    line+=", ${procs}x c$conc $(bench_calc "$t / 1e9") s"
  done
  echo "$line" >&2
done

# The submit path: SUBMITS wfctl job submit vs SUBMITS sqlite3 INSERT, each in a shell loop
# into a store with no jobs.
make_store "$WORK/submit-base" 1
sqlite3 "$WORK/submit-base/wfctl.db" "DELETE FROM jobs; PRAGMA wal_checkpoint(TRUNCATE);" > /dev/null
cp -a "$WORK/submit-base" "$WORK/submit-wfctl"
cp -a "$WORK/submit-base" "$WORK/submit-sqlite"
sync
t0=$(bench_now)
for ((i = 1; i <= SUBMITS; i++)); do
  "$WFCTL" --store "$WORK/submit-wfctl" job submit 1 --input in.bin --output "$OUTPUT" -o name > /dev/null
done
t_submit=$(($(bench_now) - t0))
sync
t0=$(bench_now)
for ((i = 1; i <= SUBMITS; i++)); do
  sqlite3 "$WORK/submit-sqlite/wfctl.db" "PRAGMA synchronous = FULL; INSERT INTO jobs (topic, record_id, input, output, status, max_attempts, deadline_seconds, datetime_created, delivery) VALUES ('mri_cartesian_reco', 1, 'records/1/in.bin', '$OUTPUT', 'queued', 3, 3600, strftime('%Y-%m-%dT%H:%M:%f', 'now'), 'local')"
done
t_insert=$(($(bench_now) - t0))
for s in wfctl sqlite; do
  got=$(sqlite3 "$WORK/submit-$s/wfctl.db" "SELECT count(*) FROM jobs WHERE status = 'queued'")
  [[ $got == "$SUBMITS" ]] || { echo "job_throughput: $got jobs submitted by $s of $SUBMITS" >&2; exit 1; }
done

m_loop=$(bench_median "${loop[@]}")
m_spawn=$(bench_median "${spawn[@]}")
declare -A med
for c in "${CONFIGS[@]}"; do
  # shellcheck disable=SC2086  # the list of times
  med[$c]=$(bench_median ${times[$c]})
done
m_one=${med["1 1"]}

jobs_s() { bench_calc "$N / ($1 / 1e9)" | cut -d. -f1; }
ms_each() { bench_calc "$1 / $N / 1e6"; }
row() { printf '  %-58s %9s %8s %9s %12s\n' "$@"; }
echo
echo "job_throughput: $N jobs, handler 'touch {output}', medians of $ROUNDS round(s)"
bench_load
row "what" "seconds" "jobs/s" "ms/job" "vs 1 process"
row "baseline: touch in a bash loop (fork+exec)" "$(bench_calc "$m_loop / 1e9")" "$(jobs_s "$m_loop")" \
  "$(ms_each "$m_loop")" "-"
row "baseline: posix_spawnp(touch) loop, as the worker spawns" "$(bench_calc "$m_spawn / 1e9")" \
  "$(jobs_s "$m_spawn")" "$(ms_each "$m_spawn")" "-"
for c in "${CONFIGS[@]}"; do
  read -r procs conc <<< "$c"
  what="wfctl worker --once: $procs process(es) x --concurrency $conc"
  row "$what" "$(bench_calc "${med[$c]} / 1e9")" "$(jobs_s "${med[$c]}")" "$(ms_each "${med[$c]}")" \
    "$(bench_calc "$m_one / ${med[$c]}")x"
done
over_loop=$(bench_calc "($m_one - $m_loop) / $N / 1e6")
over_spawn=$(bench_calc "($m_one - $m_spawn) / $N / 1e6")
echo "  overhead per job of 1 process: $over_loop ms over the bash loop, $over_spawn ms over the spawn loop"
best=${med["1 1"]} best_c="1 1"
for c in "${CONFIGS[@]}"; do
  if awk "BEGIN { exit !(${med[$c]} < $best) }"; then best=${med[$c]} best_c=$c; fi
done
best_js=$(jobs_s "$best")
read -r procs conc <<< "$best_c"
verdict() { if awk "BEGIN { exit !($1) }"; then echo "met"; else echo "MISSED"; fi; }
echo "  target >= 500 jobs/s: $(verdict "$best_js >= 500") (best: $best_js jobs/s with $procs process(es) x --concurrency $conc," \
  "$(bench_calc "$best_js / 500")x of the target; 1 process: $(jobs_s "$m_one") jobs/s, $(bench_calc "$(jobs_s "$m_one") / 500")x)"
echo "  target <= 5 ms overhead per job: $(verdict "$over_spawn <= 5") ($over_spawn ms over the spawn loop," \
  "$(bench_calc "$over_spawn / 5")x of the target; $over_loop ms over the bash loop, $(bench_calc "$over_loop / 5")x)"
echo
echo "job_throughput: submitting, $SUBMITS in a shell loop (one process and one transaction each)"
row "what" "seconds" "" "ms each" "vs baseline"
row "baseline: sqlite3 DB 'INSERT INTO jobs ...'" "$(bench_calc "$t_insert / 1e9")" "" \
  "$(bench_calc "$t_insert / $SUBMITS / 1e6")" "1.00x (base)"
row "wfctl job submit 1 --input in.bin --output ..." "$(bench_calc "$t_submit / 1e9")" "" \
  "$(bench_calc "$t_submit / $SUBMITS / 1e6")" "$(bench_calc "$t_submit / $t_insert")x"

((PROFILE_JOBS > 0)) || exit 0

# Where the time goes: one worker process under strace (slower than without it; the counts
# per job are what matter, and the latencies of the syncs, which the disk sets).
P=$PROFILE_JOBS
make_store "$WORK/profile" "$P"
reset "$WORK/profile"
t_plain=$(drain 1 1)
check_drained "$P" "profile without strace"
reset "$WORK/profile"
t_traced=$(drain 1 1 strace -f -y -T -qq -o "$WORK/trace.txt" -e trace=fsync,fdatasync,clock_nanosleep,nanosleep,fork,vfork,clone,clone3,execve)
check_drained "$P" "profile under strace"
disk_ns=$("$WORK/helper" fsync 200 "$STORE/fsync-probe.bin")
rm -f "$STORE/fsync-probe.bin"
echo
echo "job_throughput: where the time goes, 1 process x --concurrency 1 draining $P jobs under strace -f"
echo "  ($(bench_calc "$t_plain / $P / 1e6") ms/job without strace, $(bench_calc "$t_traced / $P / 1e6") ms/job under it;" \
  "the disk: 4 KiB appended + fdatasync, median $(bench_calc "$disk_ns / 1e6") ms)"
awk -v P="$P" -v store="$STORE" '
  # strace -f splits a call that another thread interrupts: "<unfinished ...>", then
  # "<... fsync resumed>"; the pieces are joined by pid.
  / <unfinished \.\.\.>$/ { pending[$1] = $0; next }
  /<\.\.\. [a-z_0-9]+ resumed>/ { $0 = pending[$1] " " $0; delete pending[$1] }
  /(fsync|fdatasync)\(/ && / = 0 </ {
    what = "other"
    if (index($0, store "/wfctl.db-wal>")) what = "SQLite WAL (a commit or a checkpoint)"
    else if (index($0, store "/wfctl.db>")) what = "SQLite database (a checkpoint)"
    else if (index($0, store "/tmp/")) what = "staged output (the lake'"'"'s tmp/)"
    else if (match($0, /\/records\/[0-9]+>/)) what = "record folder (publish)"
    match($0, /<[0-9.]+>$/)
    secs = substr($0, RSTART + 1, RLENGTH - 2)
    n[what]++; s[what] += secs; total++; tsum += secs
  }
  /execve\(/ { if ($0 ~ / = 0 </) execs++; else missed++ }
  END {
    printf "  %-48s %10s %14s %12s\n", "fsync/fdatasync of", "per job", "mean ms each", "ms per job"
    for (w in n) printf "  %-48s %10.2f %14.3f %12.3f\n", w, n[w] / P, 1000 * s[w] / n[w], 1000 * s[w] / P
    printf "  %-48s %10.2f %14.3f %12.3f\n", "all", total / P, 1000 * tsum / total, 1000 * tsum / P
    printf "  execve per job: %.2f that started a program, %.2f that failed (posix_spawnp trying each PATH entry)\n", execs / P, missed / P
  }' "$WORK/trace.txt"

# SQLite's write lock: 4 processes at once; their busy-handler naps (1 ms for the first ten
# tries of a wait, then 10 ms) against the worker's own 20 ms sleeps and poll waits.
reset "$WORK/profile"
drain 4 1 strace -f -T -qq -o "$WORK/naps.txt" -e trace=clock_nanosleep,nanosleep > /dev/null
check_drained "$P" "profile of 4 processes"
awk -v P="$P" '
  / <unfinished \.\.\.>$/ { pending[$1] = $0; next }
  /<\.\.\. [a-z_0-9]+ resumed>/ { $0 = pending[$1] " " $0; delete pending[$1] }
  /nanosleep\(/ {
    match($0, /tv_nsec=[0-9]+/); ns = substr($0, RSTART + 8, RLENGTH - 8) + 0
    match($0, /tv_sec=[0-9]+/); ns += 1e9 * substr($0, RSTART + 7, RLENGTH - 7)
    match($0, /<[0-9.]+>$/); secs = substr($0, RSTART + 1, RLENGTH - 2)
    k = ns <= 1000000 ? "<= 1 ms (busy handler first tries, WAL retries)" : ns <= 10000000 ? "10 ms (busy handler, later tries)" : "20 ms and longer (idle loops)"
    n[k]++; s[k] += secs
  }
  END {
    printf "  4 processes x --concurrency 1, %d jobs: sleeps per job by requested length (seconds slept, summed over processes)\n", P
    for (k in n) printf "  %-48s %10.2f per job %10.3f s\n", k, n[k] / P, s[k]
  }' "$WORK/naps.txt"
