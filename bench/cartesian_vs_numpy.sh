#!/usr/bin/env bash
# `wfctl-cartesian KSPACE.npy OUT.dcm` against NumPy doing the same reconstruction on the same
# file: load the .npy, abs(fftshift(ifft2(ifftshift(k)))), write the result (np.save), in one
# `python3 -c` (Debian's python3-numpy). Both read, compute and write; NumPy writes float64,
# wfctl-cartesian a 16-bit DICOM. Also shown: `python3 -c 'import numpy'` alone, the part of
# NumPy's time that is interpreter start-up. Inputs: Shepp-Logan phantom k-spaces (complex64)
# of each size in BENCH_SIZES, made by `wfctl-cartesian --phantom`.
#
#   [WFCTL_CARTESIAN_BIN=build-bench/apps/wfctl-cartesian/wfctl-cartesian] bench/cartesian_vs_numpy.sh
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SIZES=${BENCH_SIZES:-"256 1024"}
RUNS=${BENCH_RUNS:-30}
WARMUP=${BENCH_WARMUP:-3}
PY=/usr/bin/python3  # Debian's, where python3-numpy is installed

bench_need hyperfine hyperfine
"$PY" -c 'import numpy, pydicom' 2> /dev/null || bench_need_numpy=1
if [[ -n "${bench_need_numpy:-}" ]]; then
  echo "bench: installing python3-numpy python3-pydicom" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-numpy python3-pydicom > /dev/null
fi
if [[ -n "${WFCTL_CARTESIAN_BIN:-}" ]]; then
  CART=$WFCTL_CARTESIAN_BIN
else
  bench_need cmake cmake
  bench_need ninja ninja-build
  dir="$BENCH_ROOT/build-bench"
  echo "bench: building wfctl-cartesian (Release) in $dir" >&2
  cmake -S "$BENCH_ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
  cmake --build "$dir" --target wfctl-cartesian > /dev/null
  CART=$dir/apps/wfctl-cartesian/wfctl-cartesian
fi
[[ -x "$CART" ]] || { echo "bench: $CART is not an executable" >&2; exit 1; }
CART=$(readlink -f "$CART")
bench_workdir

NUMPY_RECON='import sys, numpy as np
k = np.load(sys.argv[1])
np.save(sys.argv[2], np.abs(np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(k)))))'

for n in $SIZES; do
  "$CART" --phantom "$n" "$WORK/k$n.npy"
  # Both compute the same image, else we would compare different work.
  "$CART" "$WORK/k$n.npy" "$WORK/w$n.dcm"
  "$PY" -c "$NUMPY_RECON" "$WORK/k$n.npy" "$WORK/n$n.npy"
  "$PY" - "$WORK/w$n.dcm" "$WORK/n$n.npy" << 'PY'
import sys, numpy as np, pydicom
d = pydicom.dcmread(sys.argv[1]); ref = np.load(sys.argv[2])
got = d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept)
assert np.abs(got - ref).max() <= float(d.RescaleSlope) * 0.5001, "wfctl-cartesian and NumPy disagree"
PY
  # Interleaved: two rounds in one hyperfine call each, order swapped, medians of both.
  for round in 1 2; do
    cmds=(-n "wfctl-$n" "$CART $WORK/k$n.npy $WORK/w$n.dcm"
      -n "numpy-$n" "$PY -c '$NUMPY_RECON' $WORK/k$n.npy $WORK/n$n.npy")
    ((round == 1)) || cmds=("${cmds[@]:3:3}" "${cmds[@]:0:3}")
    hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" --export-json "$WORK/r$n-$round.json" \
      "${cmds[@]}" -n "import-$n" "$PY -c 'import numpy'" > "$WORK/hyperfine.log" 2>&1 ||
      { cat "$WORK/hyperfine.log" >&2; exit 1; }
  done
done

declare -A MED
for f in "$WORK"/r*.json; do
  while IFS=$'\t' read -r name median; do MED[$name]="${MED[$name]:-} $median"; done < <(bench_hyperfine_medians "$f")
done
med() { bench_median ${MED[$1]}; }

echo
echo "cartesian_vs_numpy: phantom k-space (complex64) → magnitude image, $RUNS runs after $WARMUP warm-up, two rounds; medians"
echo "  wfctl-cartesian: $CART"
echo "  numpy:           $("$PY" -c 'import numpy; print(numpy.__version__)') ($PY)"
bench_load
printf '  %-10s %18s %12s %18s %16s\n' "size" "wfctl-cartesian ms" "numpy ms" "numpy/wfctl-cart." "import numpy ms"
for n in $SIZES; do
  w=$(med "wfctl-$n") p=$(med "numpy-$n") i=$(med "import-$n")
  printf '  %-10s %18s %12s %17sx %16s\n' "${n}x$n" "$(bench_calc "$w * 1000")" "$(bench_calc "$p * 1000")" \
    "$(bench_calc "$p / $w")" "$(bench_calc "$i * 1000")"
done
