#!/usr/bin/env bash
# Builds the contract fuzzer (libFuzzer + ASan + UBSan, clang) and runs it
# from a seed corpus of the example contracts. Exit 0: no crash found.
#   run_contract_fuzz.sh SOURCE_DIR BUILD_DIR [SECONDS]
# A BUILD_DIR that defines the fuzzer (a clang sanitizer tree, as
# scripts/sanitize.sh makes) builds it there; any other gets a fuzzing tree
# of its own in BUILD_DIR/fuzz-build, where every file carries coverage.
set -euo pipefail
src=$1
out=$2
seconds=${3:-30}
if ! ninja -C "$out" -t query contract_fuzz >/dev/null 2>&1; then
  if ! command -v clang++ >/dev/null; then
    echo "clang++ not installed (scripts/install-deps.sh installs it)"; exit 77
  fi
  out=$out/fuzz-build
  cmake -S "$src" -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DLANEVAULT_FUZZ=ON \
    -DLANEVAULT_BUILD_TESTS=OFF -DLANEVAULT_BUILD_BENCH=OFF >/dev/null
fi
ninja -C "$out" contract_fuzz >/dev/null
corpus=$out/fuzz-corpus
mkdir -p "$corpus"
cp "$src"/deploy/contracts/*.textproto "$corpus"/
"$out"/tests/fuzz/contract_fuzz "$corpus" -max_total_time="$seconds" \
  -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 2>&1 | tail -12
echo "1 passed, 0 failed"
