#!/usr/bin/env bash
# The main job on the embedded local store: build wfctl, create the example workflows in a
# fresh store and list them, then run a reconstruction end to end: a Shepp-Logan k-space
# uploaded for record 7 submits its job, a worker runs the example reconstruction, and the
# DICOM result is listed, described and previewed. Give a directory as the first argument
# to keep the store there.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >&2
store="${1:-$(mktemp -d)/store}"
wfctl() { build/apps/wfctl/wfctl --store "$store" "$@"; }
echo "store: $store" >&2
wfctl create -f examples/cartesian-reco.json
wfctl create -f examples/radial-reco.yaml --author "MRI physics lab"
wfctl apply -f examples/workflows.yaml
wfctl list -o wide
kspace="$(dirname "$store")/kspace.npy"
build/apps/wfctl-cartesian/wfctl-cartesian --phantom 256 "$kspace"
wfctl result upload 7 "$kspace" --name kspace.npy
wfctl worker --once
wfctl job list
wfctl result list 7
wfctl result info 7
wfctl result image 7 --png "$(dirname "$store")/record-7.png"
echo "preview: $(dirname "$store")/record-7.png" >&2
