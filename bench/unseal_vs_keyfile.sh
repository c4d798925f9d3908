#!/usr/bin/env bash
# Intake rate (vault_bench, one writer committing each record) and read p99
# over mutual TLS (api_bench) with the master key from a development key
# file against unseal mode (a 3-of-5 seal file opened by 3 shares), in one
# run, interleaved so drift on a shared machine hits both alike; medians and
# their ratio. After the open the vault is the same, so ~1.0 is expected.
#   bench/unseal_vs_keyfile.sh [BUILD_DIR] [REPS]
set -euo pipefail
build=${1:-build}
reps=${2:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/lanevault-unseal-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
for rep in $(seq 1 "$reps"); do
  for source in file unseal; do
    "$build/bench/vault_bench" --only vault --records 1000 --master_key_source "$source" \
      --dir "$work/v" 2>/dev/null | sed -n 's/^vault: \([0-9.]*\) records.*/\1/p' >>"$work/intake.$source"
    "$build/bench/api_bench" --seconds 5 --connections 10 --master_key_source "$source" \
      --dir "$work/a" 2>/dev/null | sed -n 's/.*p99 \([0-9.]*\) ms.*/\1/p' >>"$work/p99.$source"
  done
done
for fig in intake p99; do
  f=$(median <"$work/$fig.file"); u=$(median <"$work/$fig.unseal")
  unit=$([[ $fig == intake ]] && echo "records/s" || echo "ms read p99")
  printf '%-7s key file %9.2f  unseal %9.2f  %s  unseal/file %.3f  (runs: file %s; unseal %s)\n' \
    "$fig" "$f" "$u" "$unit" "$(awk -v a="$u" -v b="$f" 'BEGIN {print a/b}')" \
    "$(paste -sd, "$work/$fig.file")" "$(paste -sd, "$work/$fig.unseal")"
done
