#!/usr/bin/env bash
# The threaded tests under ThreadSanitizer, in build-tsan/: eight threads on one store
# (unit tests tagged [threads]), per-call cancellation and the threaded copy ([cancel],
# [copy]), and the e2e suite of parallel processes. Any report fails.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWFCTL_TSAN=ON >/dev/null
cmake --build build-tsan --parallel "$(nproc)" --target wfctl wfctl_unit wfctl_contract
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
build-tsan/tests/wfctl_unit "[threads],[cancel],[copy]"
# The contract suite, whose second row runs wfctl serve on threads of the same process.
build-tsan/tests/wfctl_contract "[threads]"
(cd tests/e2e && WFCTL_BIN="$PWD/../../build-tsan/apps/wfctl/wfctl" WFCTL_SOURCE_DIR="$PWD/../.." \
  WFCTL_BUILD_DIR="$PWD/../../build-tsan" /usr/bin/python3 -m unittest -v test_workflows.ConcurrencyTest)
