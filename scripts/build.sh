#!/usr/bin/env bash
# Configures and builds lanevault with Ninja into build/ (warnings are errors).
#   scripts/build.sh [extra cmake args]
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLANEVAULT_WERROR=ON "$@" >/dev/null
ninja -C build
