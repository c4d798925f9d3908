#!/usr/bin/env bash
# Fails if a forbidden edge comes back: an include from a module that must
# not see another, or a shared library a program must not load.
#   check_module_edges.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1/src
bin=$2/src/cmd
status=0
fail() { echo "FORBIDDEN: $*" >&2; status=1; }

# Which modules each module may include (besides itself, generated protos
# and third-party headers). Dependencies point one way: down this list.
declare -A allowed=(
  [common]=""
  [crypto]="common"
  [receipt]="common crypto"
  [alerts]="common crypto"
  [tlog]="common crypto"
  [witness]="common crypto tlog"
  [rpc]="common crypto tlog"
  [policy]="common crypto"
  [vault]="common crypto tlog"
  [capture]="common"
  [footage]="common"
  [watermark]="common"
  [node]="common crypto rpc capture"
  [wiring]="common crypto tlog policy vault witness"
  [api]="common crypto tlog rpc policy vault wiring receipt watermark"
  # the key hand-over between vault replicas: a service of its own beside
  # the API, sharing its certificate checks and refusal limiter
  [replica]="common crypto tlog rpc vault api"
  [ops]="common vault"
)
# One narrow exception, by file: the vault side sees capture only through
# the OpenCV-free sink interface.
exception_wiring='capture/record_sink.h'
modules=" ${!allowed[*]} cmd "

for module in "${!allowed[@]}"; do
  [[ -d $src/$module ]] || continue
  while IFS=: read -r file include; do
    target=${include%%/*}
    [[ $modules == *" $target "* ]] || continue  # not one of ours
    [[ $target == "$module" ]] && continue
    [[ " ${allowed[$module]} " == *" $target "* ]] && continue
    [[ $module == wiring && $include == "$exception_wiring" ]] && continue
    fail "$file includes $include ($module may use: ${allowed[$module]:-nothing})"
  done < <(grep -rHo --include='*.h' --include='*.cc' '^#include "[a-z_]*/[^"]*"' "$src/$module" |
           sed 's/#include "\(.*\)"/\1/')
done
# A module directory not in the table is a new module: decide its place.
for dir in "$src"/*/; do
  name=$(basename "$dir")
  [[ $modules == *" $name "* ]] || fail "src/$name is not in this check's table"
done

# What each program may not load.
needed() { readelf -d "$1" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'; }
forbid() {
  local program=$1 pattern=$2 why=$3
  [[ -x $bin/$program ]] || { fail "$bin/$program not built"; return; }
  if hits=$(needed "$bin/$program" | grep -E "$pattern"); then
    fail "$program loads $(tr '\n' ' ' <<<"$hits")($why)"
  fi
}
forbid lanevaultctl 'libopencv|libtesseract|liblept|libsqlite3' \
  "a client needs no OpenCV, Tesseract or store"
forbid lanevaultd 'libopencv_freetype|libfreetype|libharfbuzz' \
  "glyph training, not serving, renders fonts"
forbid lanevault-lane 'libsqlite3|libopencv_freetype' \
  "a capture node holds no store and trains nothing"
forbid lanevault-footage 'libsqlite3|libsodium|libgrpc' \
  "the footage renderer holds no vault"
forbid lanevault-witness 'libsqlite3|libgrpc|libprotobuf|libopencv|libtesseract' \
  "a witness checks checkpoints and keeps a size per log: no store, no RPC"

[[ $status -eq 0 ]] && echo "module edges and program links: as designed"
exit $status
