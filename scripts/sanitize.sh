#!/usr/bin/env bash
# Builds the unit tests of crypto, the log, policy, the vault, the wiring,
# the API, the capture node's spool and sender, and the lane's detectors and
# plate finder with AddressSanitizer and UndefinedBehaviorSanitizer (build-asan/),
# and runs them: any memory error or undefined behaviour (a shift past 31
# bits, a signed overflow, a misaligned load, a double converted to an
# integer that cannot hold it) fails the run. With the default list and
# clang, also the contract fuzzer for 30 s (tests/fuzz/run_contract_fuzz.sh).
#   scripts/sanitize.sh [test ...]    (default: the list below)
set -euo pipefail
cd "$(dirname "$0")/.."
tests=("$@")
if [[ ${#tests[@]} -eq 0 ]]; then
  # capture_test first: it takes as long as the others together.
  tests=(capture_test crypto_test merkle_test policy_test contract_policy_test
         vault_test retention_test key_rotation_test vault_faults_test
         vault_integrity_test audit_log_test api_test decision_path_test
         insider_test insider_log_test hostile_client_test intake_faults_test
         canary_test node_test period_keys_test unseal_test witness_test
         pkcs11_token_test backup_restore_test receipt_test approvals_test
         insider_join_test sqlite_readers_test sqlite_migration_test
         sqlite_checkpointer_test sqlite_scans_test quota_ledger_test
         contract_api_test slot_file_test)
fi
# The plate character model: the main tree's when there is one (the same
# sources fit the same model; fitting it under ASan takes minutes), else
# fitted here. Always passed, so a cached path never outlives build/.
model_from=
if [[ -f build/build.ninja ]] && ninja -C build plate_glyph_model >/dev/null; then
  model_from=$PWD/build/share/lanevault/plate_glyphs.yml.gz
else
  echo "sanitize: no model from build/; fitting one under ASan (minutes)"
fi
# clang where it is installed (scripts/install-deps.sh installs it), else
# the default compiler ($CXX, when set, chooses). It compiled this tree in
# less time than GCC with precompiled headers even before it had its own;
# it builds the contract fuzzer in it; and the programs built here and what
# they link meet its warnings as well as GCC's in the main tree. (Under
# clang the lane's OpenMP is LLVM's libomp, not the libgomp of production
# builds.) A tree configured with another
# compiler is configured afresh: CMake cannot switch one.
cxx=${CXX:-$(command -v clang++ || command -v c++ || true)}
if [[ -z "$cxx" ]]; then
  echo "sanitize: no C++ compiler (scripts/install-deps.sh installs them)" >&2
  exit 1
fi
cached=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' build-asan/CMakeCache.txt \
  2>/dev/null || true)
if [[ -n "$cached" && "$cached" != "$cxx" ]]; then
  echo "sanitize: build-asan/ was configured with $cached; configuring it with $cxx"
  rm -rf build-asan
fi
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$cxx" \
  -DLANEVAULT_WERROR=ON -DLANEVAULT_SANITIZE=ON -DLANEVAULT_BUILD_BENCH=OFF \
  -DLANEVAULT_GLYPH_MODEL_FROM="$model_from" >/dev/null
# With the default list, a clang tree also builds the contract fuzzer from
# the libraries it has just compiled, and fuzzes for 30 s beside the tests.
fuzz=()
if [[ $# -eq 0 ]]; then
  if ninja -C build-asan -t query contract_fuzz >/dev/null 2>&1; then
    fuzz=(contract_fuzz)
  else
    echo "sanitize: no contract fuzzer without clang (scripts/install-deps.sh installs it)"
  fi
fi
echo "sanitize: building ${#tests[@]} test programs${fuzz:+ and the contract fuzzer} (ASan + UBSan, $(basename "$cxx"))"
ninja -C build-asan "${tests[@]}" "${fuzz[@]}"
tests+=("${fuzz[@]}")
# Leak checking needs ptrace, which containers often refuse; memory errors
# and undefined behaviour do not.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# One program per core at a time (ctest runs the same programs side by side
# in the main tree); a line as each ends, the failures' output at the end.
# Only a program that ran and passed leaves a .passed mark: one that never
# ran (a broken runner) counts as failed.
run_one() {
  local t=$1 start=$SECONDS
  local run=(build-asan/tests/"$t" --gtest_brief=1)
  [[ $t == contract_fuzz ]] && run=(tests/fuzz/run_contract_fuzz.sh . build-asan 30)
  if "${run[@]}" >"build-asan/$t.log" 2>&1; then
    echo "sanitize: $t passed ($((SECONDS - start)) s)"
    touch "build-asan/$t.passed"
  else
    echo "sanitize: $t FAILED ($((SECONDS - start)) s)"
  fi
}
export -f run_one
for t in "${tests[@]}"; do
  rm -f "build-asan/$t.passed" "build-asan/$t.log"
done
# shellcheck disable=SC2016  # $1 is the inner bash's
if ! printf '%s\n' "${tests[@]}" |
  xargs -P "$(nproc)" -I{} bash -c 'run_one "$1"' _ {}; then
  echo "sanitize: the runner itself failed"
fi
failed=()
for t in "${tests[@]}"; do
  if [[ ! -f "build-asan/$t.passed" ]]; then
    echo "sanitize: $t's output:"
    tail -60 "build-asan/$t.log" 2>/dev/null || echo "(it did not run)"
    failed+=("$t")
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "sanitize: ${#failed[@]} failed: ${failed[*]}"
  exit 1
fi
echo "sanitize: all ${#tests[@]} passed"
