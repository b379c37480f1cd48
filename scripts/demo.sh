#!/usr/bin/env bash
# The main job on the embedded local store: build wfctl, create the example workflows in a
# fresh store, and list them. Give a directory as the first argument to keep the store there.
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
