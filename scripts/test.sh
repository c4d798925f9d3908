#!/usr/bin/env bash
# Installs the Debian packages, builds, runs the whole test suite, then the
# unit tests of the core modules again under ASan + UBSan (scripts/sanitize.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
scripts/sanitize.sh
