#!/usr/bin/env bash
# Every program answers --help and --version, and refuses a bad flag or a
# bad config with a one-line error and a non-zero exit.
#   program_flags_test.sh BUILD_DIR
set -uo pipefail
bin=$1/src/cmd
failures=0
check() { if ! eval "$2"; then echo "FAIL: $1"; failures=$((failures + 1)); fi; }

for p in lanevaultd lanevault-lane lanevaultctl lanevault-footage lanevault-witness; do
  check "$p --help" "'$bin/$p' --help >/dev/null 2>&1"
  check "$p --version" "'$bin/$p' --version 2>&1 | grep '^$p [0-9]' >/dev/null"
  out=$("$bin/$p" --no_such_flag 2>&1); rc=$?
  check "$p bad flag exits non-zero" "[[ $rc -ne 0 ]]"
  check "$p bad flag: one line" "[[ \$(wc -l <<<\"\$out\") -le 2 ]]"
done

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo 'listen: "127.0.0.1:0" bogus_field: 1' >"$tmp/bad.textproto"
out=$("$bin/lanevaultd" --config "$tmp/bad.textproto" 2>&1); rc=$?
check "lanevaultd bad config exits non-zero" "[[ $rc -ne 0 ]]"
check "lanevaultd bad config names line and field" "grep -q 'bad.textproto:1:.*bogus_field' <<<\"\$out\""
out=$("$bin/lanevaultd" --config "$tmp/missing.textproto" 2>&1); rc=$?
check "lanevaultd missing config exits non-zero" "[[ $rc -ne 0 && \$(wc -l <<<\"\$out\") -eq 1 ]]"
echo 'vault: "127.0.0.1:7443" sppol { dir: "s" }' >"$tmp/node-typo.textproto"
out=$("$bin/lanevault-lane" --config "$tmp/node-typo.textproto" 2>&1); rc=$?
check "lanevault-lane config typo exits 2" "[[ $rc -eq 2 ]]"
check "lanevault-lane config typo names line and field" "grep -q 'node-typo.textproto:1:.*sppol' <<<\"\$out\""
cat >"$tmp/node-nolane.textproto" <<'CONF'
vault: "127.0.0.1:7443" ca_cert: "ca.pem" cert: "c.pem" key: "c.key"
intake_public_key: "AAAA" spool { dir: "s" }
lanes { lane_id: "l1" checkpoint_id: "cp" source: "tape:/dev/st0" }
CONF
out=$("$bin/lanevault-lane" --config "$tmp/node-nolane.textproto" 2>&1); rc=$?
check "lanevault-lane bad lane names file and field" "[[ $rc -eq 2 ]] && grep -q 'node-nolane.textproto: lanes\[0\].source' <<<\"\$out\""
out=$("$bin/lanevault-witness" --name w --key "$tmp/none.key" 2>&1); rc=$?
check "lanevault-witness without a key names --init_key" "[[ $rc -ne 0 ]] && grep -q 'init_key' <<<\"\$out\""
"$bin/lanevault-witness" --name w --key "$tmp/w.key" --init_key >/dev/null
out=$("$bin/lanevault-witness" --name w --key "$tmp/w.key" --state_dir "$tmp/ws" 2>&1); rc=$?
check "lanevault-witness without logs exits 2" "[[ $rc -eq 2 ]] && grep -q 'log_keys' <<<\"\$out\""
out=$("$bin/lanevault-witness" --name w --key "$tmp/w.key" --state_dir "$tmp/ws" --log_keys 'x+00+AA' 2>&1); rc=$?
check "lanevault-witness bad log key exits 2" "[[ $rc -eq 2 && \$(wc -l <<<\"\$out\") -eq 1 ]]"
out=$("$bin/lanevaultctl" frobnicate 2>&1); rc=$?
check "lanevaultctl unknown command exits 2" "[[ $rc -eq 2 ]]"

if [[ $failures -eq 0 ]]; then echo "1 passed, 0 failed"; else exit 1; fi
