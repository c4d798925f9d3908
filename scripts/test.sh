#!/usr/bin/env bash
# Installs the Debian packages, builds, runs the whole test suite, then the
# unit tests of the core modules again under ASan + UBSan (scripts/sanitize.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# Each step's wall time, so a slow run says where its time went.
timed() {
  local name=$1 start=$SECONDS
  shift
  "$@"
  echo "test.sh: $name took $((SECONDS - start)) s"
}
timed install scripts/install-deps.sh
timed build scripts/build.sh
# One test more than cores: the end-to-end tests wait on daemons and paced
# footage, and one more test fills those waits (README, "Building by hand").
timed ctest ctest --test-dir build --output-on-failure -j "$(($(nproc) + 1))"
timed sanitize scripts/sanitize.sh
echo "test.sh: all steps passed in $SECONDS s"
