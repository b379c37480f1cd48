#!/usr/bin/env bash
# Local transfers against their bound. wfctl hashes (SHA-256) and fsyncs every byte it stores,
# so an upload or a download can be no faster than the slower of two baselines:
#   hash:      SHA-256 of the file at the CPU's speed: a 20-line C program (OpenSSL EVP over a
#              mapping of the file) compiled here with `cc ... -lcrypto`;
#   cp+fsync:  `cp SRC DST && sync DST`.
# limit = max(hash, cp+fsync); a ratio limit/wfctl of 1.00 is a transfer at the bound.
# Timed, interleaved, BENCH_ROUNDS (default 5) times on a file of BENCH_SIZE_MIB (default
# 2048) random bytes: the hash, cp+fsync, `wfctl result upload` onto a new name,
# `wfctl result download -O` to a new file, and `upload --force` over the stored copy. Every
# target is treated as cp's: deleted, untimed, before its command (the stored copy with
# `wfctl result delete`), except under --force, which replaces it on purpose. Before every
# timed command, untimed: the wait for a detached process that frees a replaced copy, the
# input read once, and `sync` (nobody pays for another's writeback). So every input comes from
# the page cache, and every one got there the same way, read from the disk: SRC is dropped
# from the cache once after it is written, as the stored copy (written with O_DIRECT) never
# entered it. The figures are copying, fsync and hashing, not the disk's read speed. Medians.
# Targets: upload and download >= 0.95x of the limit; peak RSS <= 64 MiB (/usr/bin/time -v).
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SIZE_MIB=${BENCH_SIZE_MIB:-2048}
ROUNDS=${BENCH_ROUNDS:-5}

bench_need /usr/bin/time time
bench_need cc gcc
bench_need python3 python3
bench_wfctl
bench_workdir

SRC=$WORK/src.bin
STORE=$WORK/store
STORED=$STORE/records/1/big.bin
BYTES=$((SIZE_MIB * 1024 * 1024))
head -c "$BYTES" /dev/urandom > "$SRC"
sync "$SRC"
dd if="$SRC" iflag=nocache count=0 status=none  # drops SRC from the page cache

# The hashing baseline, as fast as OpenSSL hashes on this CPU (SHA-NI where it has it).
cat > "$WORK/sha256_mmap.c" << 'C'
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
int main(int argc, char** argv) {
  struct stat st;
  int fd = argc == 2 ? open(argv[1], O_RDONLY) : -1;
  if (fd < 0 || fstat(fd, &st) != 0) return perror("sha256_mmap"), 1;
  void* p = st.st_size ? mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0) : NULL;
  if (p == MAP_FAILED) return perror("sha256_mmap: mmap"), 1;
  madvise(p, st.st_size, MADV_SEQUENTIAL);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) || !EVP_DigestUpdate(ctx, p, st.st_size) ||
      !EVP_DigestFinal_ex(ctx, md, &len)) return fputs("sha256_mmap: OpenSSL failed\n", stderr), 1;
  for (unsigned int i = 0; i < len; i++) printf("%02x", md[i]);
  printf("\n");
  return 0;
}
C
cc -O2 -o "$WORK/sha256_mmap" "$WORK/sha256_mmap.c" -lcrypto
HASH=$WORK/sha256_mmap

# Waits (untimed) until no process holds a deleted file of the store open: the detached
# process that frees a replaced copy (close_unlinked in util/fs) must not run into the next
# timed command.
wait_for_frees() {
  local i
  for ((i = 0; i < 600; i++)); do
    find /proc/[0-9]*/fd -maxdepth 1 -lname "$STORE/*(deleted)" 2> /dev/null | grep -q . || return 0
    sleep 0.05
  done
  echo "transfer_bound: a deleted file of the store is still held open after 30 s" >&2
  exit 1
}

# timed VAR RSSVAR INPUT CMD...: the untimed preparation (sync, INPUT read into the page
# cache), then CMD's wall time in ns into VAR and its peak RSS in KiB into RSSVAR.
# shellcheck disable=SC2034  # ns_out and rss_out are namerefs to the caller's variables
timed() {
  local -n ns_out=$1 rss_out=$2
  local input=$3
  shift 3
  wait_for_frees
  cat "$input" > /dev/null
  sync
  local t0
  t0=$(bench_now)
  /usr/bin/time -v -o "$WORK/time.txt" "$@" > "$WORK/stdout.txt"
  ns_out=$(($(bench_now) - t0))
  rss_out=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$WORK/time.txt")
}

wf() { "$WFCTL" --store "$STORE" "$@"; }
s() { bench_calc "$1 / 1e9"; }

hash=() cpsync=() up=() force=() down=() rss_up=() rss_force=() rss_down=()
for ((r = 1; r <= ROUNDS; r++)); do
  timed t rss "$SRC" "$HASH" "$SRC"
  hash+=("$t")
  want=$(cat "$WORK/stdout.txt")

  rm -f "$WORK/cp.bin"
  # shellcheck disable=SC2016  # expanded by that sh
  timed t rss "$SRC" sh -c 'cp "$1" "$2" && sync "$2"' sh "$SRC" "$WORK/cp.bin"
  cpsync+=("$t")
  rm -f "$WORK/cp.bin"

  [[ -e $STORED ]] && wf result delete 1 --file big.bin > /dev/null
  timed t rss "$SRC" "$WFCTL" --store "$STORE" result upload 1 "$SRC" --name big.bin
  up+=("$t") rss_up+=("$rss")

  rm -f "$WORK/down.bin"
  timed t rss "$STORED" "$WFCTL" --store "$STORE" result download 1 --file big.bin -O "$WORK/down.bin"
  down+=("$t") rss_down+=("$rss")

  timed t rss "$SRC" "$WFCTL" --store "$STORE" result upload 1 "$SRC" --name big.bin --force
  force+=("$t") rss_force+=("$rss")

  # What was timed must also be right: the recorded sha256 and the downloaded bytes.
  recorded=$(wf result list 1 -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["sha256"])')
  got=$("$HASH" "$WORK/down.bin")
  if [[ $recorded != "$want" || $got != "$want" ]]; then
    echo "transfer_bound: sha256 mismatch: source $want, recorded $recorded, downloaded $got" >&2
    exit 1
  fi
  rm -f "$WORK/down.bin"
  echo "transfer_bound: round $r/$ROUNDS: hash $(s "${hash[-1]}") s, cp+fsync $(s "${cpsync[-1]}") s," \
    "upload $(s "${up[-1]}") s, download $(s "${down[-1]}") s, upload --force $(s "${force[-1]}") s" >&2
done
wait_for_frees

m_hash=$(bench_median "${hash[@]}")
m_cpsync=$(bench_median "${cpsync[@]}")
m_up=$(bench_median "${up[@]}")
m_force=$(bench_median "${force[@]}")
m_down=$(bench_median "${down[@]}")
limit=$(awk "BEGIN { print ($m_hash > $m_cpsync) ? $m_hash : $m_cpsync }")
max_kib() { printf '%s\n' "$@" | sort -n | tail -1; }
rss_up_max=$(max_kib "${rss_up[@]}" "${rss_force[@]}")
rss_down_max=$(max_kib "${rss_down[@]}")

mb_s() { bench_calc "$BYTES / 1e6 / ($1 / 1e9)" | cut -d. -f1; }
row() { printf '  %-50s %9s %7s %12s\n' "$@"; }
ratio() { echo "$(bench_calc "$limit / $1")x"; }
echo
echo "transfer_bound: a $SIZE_MIB MiB file, $ROUNDS interleaved rounds, medians (MB/s: 1 MB = 10^6 B)"
bench_load
row "what" "seconds" "MB/s" "limit/this"
row "hash: OpenSSL SHA-256 over a mapping of SRC" "$(bench_calc "$m_hash / 1e9")" "$(mb_s "$m_hash")" "-"
row "cp SRC DST && sync DST" "$(bench_calc "$m_cpsync / 1e9")" "$(mb_s "$m_cpsync")" "-"
row "limit = max(hash, cp+fsync)" "$(bench_calc "$limit / 1e9")" "$(mb_s "$limit")" "1.00x"
row "wfctl result upload (new name)" "$(bench_calc "$m_up / 1e9")" "$(mb_s "$m_up")" "$(ratio "$m_up")"
row "wfctl result upload --force (replacing it)" "$(bench_calc "$m_force / 1e9")" "$(mb_s "$m_force")" \
  "$(ratio "$m_force")"
row "wfctl result download -O (verifies the sha256)" "$(bench_calc "$m_down / 1e9")" "$(mb_s "$m_down")" \
  "$(ratio "$m_down")"
echo "  against the hash alone: upload $(bench_calc "$m_hash / $m_up")x, download $(bench_calc "$m_hash / $m_down")x"
echo "  peak RSS: upload $((rss_up_max / 1024)) MiB, download $((rss_down_max / 1024)) MiB (max over rounds)"
for what in "upload:$m_up" "download:$m_down"; do
  r=$(bench_calc "$limit / ${what#*:}")
  if awk "BEGIN { exit !($r >= 0.95) }"; then
    echo "  target ${what%%:*} >= 0.95x of the limit: met (${r}x)"
  else
    echo "  target ${what%%:*} >= 0.95x of the limit: MISSED (${r}x)"
  fi
done
for what in "upload:$rss_up_max" "download:$rss_down_max"; do
  if ((${what#*:} <= 64 * 1024)); then
    echo "  target ${what%%:*} peak RSS <= 64 MiB: met"
  else
    echo "  target ${what%%:*} peak RSS <= 64 MiB: MISSED ($((${what#*:} / 1024)) MiB)"
  fi
done
