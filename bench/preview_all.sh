#!/usr/bin/env bash
# PNG previews of every DICOM test file that pydicom ships (BENCH_DICOM_DIR, default
# /usr/lib/python3/dist-packages/pydicom/data/test_files): for file number N,
# `wfctl result upload N FILE --name record-N.dcm` then `wfctl result image N --png out.png`.
# Counts what rendered and what was refused with exit 4 (and why: unsupported transfer
# syntaxes and JPEG 2000 codestreams that do not decode are named by file), the total time and
# the slowest file. Baseline: DCMTK's `dcm2pnm +on FILE out.png` on the same files, total time
# side by side; also DCMTK's `dcmj2pnm` (dcm2pnm with the JPEG decoders, which Debian's
# dcm2pnm lacks; neither decodes JPEG 2000), and the totals over only the files that both
# rendered.
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DIR=${BENCH_DICOM_DIR:-/usr/lib/python3/dist-packages/pydicom/data/test_files}

bench_need dcm2pnm dcmtk
bench_need python3 python3
if ! compgen -G "$DIR/*.dcm" > /dev/null && ! dpkg -s python3-pydicom > /dev/null 2>&1; then
  apt-get install -y -qq python3-pydicom > /dev/null 2>&1 ||
    { apt-get update -qq > /dev/null 2>&1 || true; apt-get install -y -qq python3-pydicom > /dev/null; }
fi
bench_wfctl
bench_workdir

STORE=$WORK/store
files=("$DIR"/*.dcm)
n_files=${#files[@]}
up_ok=0 img_ok=0 up_refused=0 img_refused=0 other=0
t_up=0 t_img=0
: > "$WORK/refusals.txt"
: > "$WORK/other.txt"
: > "$WORK/times.tsv"

for ((i = 0; i < n_files; i++)); do
  f=${files[$i]} n=$((i + 1)) base=$(basename "${files[$i]}")
  t0=$(bench_now)
  set +e
  "$WFCTL" --store "$STORE" result upload "$n" "$f" --name "record-$n.dcm" > /dev/null 2> "$WORK/err.txt"
  rc=$?
  set -e
  dt=$(($(bench_now) - t0))
  t_up=$((t_up + dt))
  file_ns=$dt img_ns=0
  rm -f "$WORK/out.png"
  if ((rc == 4)); then
    up_refused=$((up_refused + 1))
    printf 'upload\t%s\t%s\n' "$base" "$(head -1 "$WORK/err.txt")" >> "$WORK/refusals.txt"
  elif ((rc != 0)); then
    other=$((other + 1))
    printf 'upload exit %s\t%s\t%s\n' "$rc" "$base" "$(head -1 "$WORK/err.txt")" >> "$WORK/other.txt"
  else
    up_ok=$((up_ok + 1))
    t0=$(bench_now)
    set +e
    "$WFCTL" --store "$STORE" result image "$n" --png "$WORK/out.png" > /dev/null 2> "$WORK/err.txt"
    rc=$?
    set -e
    dt=$(($(bench_now) - t0))
    t_img=$((t_img + dt))
    file_ns=$((file_ns + dt)) img_ns=$dt
    if ((rc == 0)); then
      # A rendered preview must be a PNG, not merely a zero exit.
      [[ $(head -c 8 "$WORK/out.png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] ||
        { echo "preview_all: $base: exit 0 but $WORK/out.png is not a PNG" >&2; exit 1; }
      img_ok=$((img_ok + 1))
    elif ((rc == 4)); then
      img_refused=$((img_refused + 1))
      printf 'image\t%s\t%s\n' "$base" "$(head -1 "$WORK/err.txt")" >> "$WORK/refusals.txt"
    else
      other=$((other + 1))
      printf 'image exit %s\t%s\t%s\n' "$rc" "$base" "$(head -1 "$WORK/err.txt")" >> "$WORK/other.txt"
    fi
  fi

  # The baselines: dcm2pnm as asked, and dcmj2pnm, the same tool with DCMTK's JPEG decoders.
  row="$base\t$file_ns\t$([[ $rc == 0 && -s $WORK/out.png ]] && echo 1 || echo 0)"
  for tool in dcm2pnm dcmj2pnm; do
    rm -f "$WORK/dcm.png"
    t0=$(bench_now)
    if "$tool" +on "$f" "$WORK/dcm.png" > /dev/null 2>&1; then ok=1; else ok=0; fi
    row+="\t$(($(bench_now) - t0))\t$ok"
  done
  printf '%b\n' "$row\t$img_ns" >> "$WORK/times.tsv"
done

echo
echo "preview_all: $n_files DICOM files from $DIR"
bench_load
echo "  wfctl: $img_ok rendered; refused with exit 4: $up_refused at upload, $img_refused at image; other failures: $other"
echo "  wfctl upload total $(bench_calc "$t_up / 1e6") ms, image total $(bench_calc "$t_img / 1e6") ms"
python3 - "$WORK/times.tsv" << 'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
# name, wfctl ns (upload + image), wfctl ok, dcm2pnm ns, ok, dcmj2pnm ns, ok, wfctl image ns
rows = [(r[0], int(r[1]), r[2] == "1", int(r[3]), r[4] == "1", int(r[5]), r[6] == "1", int(r[7])) for r in rows]
def line(what, ok, ns, base_ns):
    ratio = "1.00x (base)" if ns == base_ns else f"{ns / base_ns:.2f}x"
    print(f"  {what:<52} {ok:>8} {ns / 1e6:>10.0f} {ratio:>14}")
print(f"  {'over all files (failures included)':<52} {'rendered':>8} {'total ms':>10} {'vs dcm2pnm':>14}")
base = sum(r[3] for r in rows)
line("dcm2pnm +on FILE out.png (baseline)", sum(r[4] for r in rows), base, base)
line("dcmj2pnm +on FILE out.png (with JPEG decoders)", sum(r[6] for r in rows), sum(r[5] for r in rows), base)
line("wfctl result upload + result image --png", sum(r[2] for r in rows), sum(r[1] for r in rows), base)
both = [r for r in rows if r[2] and r[4]]
print(f"  on the {len(both)} files that both wfctl and dcm2pnm rendered:")
base = sum(r[3] for r in both)
line("dcm2pnm (baseline)", len(both), base, base)
line("wfctl upload + image", len(both), sum(r[1] for r in both), base)
line("wfctl image alone (the step dcm2pnm does)", len(both), sum(r[7] for r in both), base)
both = [r for r in rows if r[2] and r[6]]
print(f"  on the {len(both)} files that both wfctl and dcmj2pnm rendered:")
base = sum(r[5] for r in both)
line("dcmj2pnm (baseline)", len(both), base, base)
line("wfctl upload + image", len(both), sum(r[1] for r in both), base)
line("wfctl image alone", len(both), sum(r[7] for r in both), base)
for i, tool in ((1, "wfctl upload + image"), (3, "dcm2pnm"), (5, "dcmj2pnm")):
    r = max(rows, key=lambda r: r[i])
    print(f"  slowest for {tool}: {r[0]}, {r[i] / 1e6:.0f} ms")
only = sorted(r[0] for r in rows if r[6] and not r[2])
if only:
    print("  rendered by dcmj2pnm, refused by wfctl: " + ", ".join(only))
only = sorted(r[0] for r in rows if r[2] and not r[6])
if only:
    print("  rendered by wfctl, refused by dcmj2pnm: " + ", ".join(only))
PY
echo "  why refused (exit 4):"
sed -E 's/.*(cannot decode transfer syntax [^(]*\([^)]*\)|the JPEG 2000 codestream [^:]*|the JPEG 2000 samples|cannot find the JPEG 2000 frames|has no pixel data|truncated|not a DICOM file|cannot render the image: .*)( \(|:|,|$).*/\1/' \
  "$WORK/refusals.txt" | sed -E 's/^(upload|image)\t[^\t]*\t//' | sort | uniq -c | sort -rn | sed 's/^/    /'
echo "  unsupported transfer syntaxes, by file:"
grep 'cannot decode transfer syntax' "$WORK/refusals.txt" |
  sed -E 's/^[a-z]+\t([^\t]*)\t.*transfer syntax (.*)$/\2: \1/' | sort | sed 's/^/    /' || echo "    (none)"
echo "  JPEG 2000 refused, by file (DCMTK has none; OpenJPEG decodes the others):"
grep -E 'JPEG 2000 (codestream|samples|frames)|with JPEG 2000' "$WORK/refusals.txt" |
  sed -E 's/^[a-z]+\t([^\t]*)\t.*record-[0-9]+\.dcm: (.*)$/\1: \2/' | sort | sed 's/^/    /' || echo "    (none)"
if [[ -s $WORK/other.txt ]]; then
  echo "  failures with another exit status (not expected):"
  sed 's/^/    /' "$WORK/other.txt"
fi
