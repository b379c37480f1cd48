#!/usr/bin/env bash
# Installs the Debian packages, builds wfctl and runs every test (unit, contract, e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
ctest --test-dir build --output-on-failure --parallel "$(nproc)" "$@"
# The threaded tests again, under ThreadSanitizer.
bash scripts/tsan.sh
