#!/usr/bin/env bash
# lanevaultctl as people use it: one command's help, usage errors exit 2 with
# the usage line, ctl.conf typos and a key that is not the certificate's
# named, JSON that keeps zeros, --all paging with progress; and a lane
# operator's masked snapshot (refused to others, in the access log), timed.
#   ctl_usage_test.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
src=$1
bin=$2/src/cmd
work=$(mktemp -d "${TMPDIR:-/tmp}/lanevault-ctl-XXXXXX")
daemon=
cleanup() {
  [[ -n "$daemon" ]] && kill "$daemon" 2>/dev/null
  [[ -n "$daemon" ]] && { wait "$daemon" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
failures=0
check() { if ! eval "$2"; then echo "FAIL: $1"; failures=$((failures + 1)); fi; }
ctl=$bin/lanevaultctl

# Help and usage: no server needed.
out=$("$ctl" record get --help 2>&1); rc=$?
check "record get --help exits 0" "[[ $rc -eq 0 ]]"
check "record get --help is short" "[[ \$(wc -l <<<\"\$out\") -le 25 ]]"
check "record get --help names its usage" "grep -q '^usage: lanevaultctl record get RECORD_ID' <<<\"\$out\""
check "record get --help lists its flags" "grep -q -- '--purpose' <<<\"\$out\""
check "record get --help is not the global help" "! grep -q 'policy sign' <<<\"\$out\""
out=$("$ctl" --help 2>&1); rc=$?
check "global --help lists commands and exit codes" "[[ $rc -eq 0 ]] && grep -q 'lanes snapshot' <<<\"\$out\" && grep -q '2 bad usage' <<<\"\$out\""
out=$("$ctl" record get 2>&1); rc=$?
check "record get without id exits 2" "[[ $rc -eq 2 ]]"
check "record get without id prints its usage" "grep -q 'usage: lanevaultctl record get RECORD_ID' <<<\"\$out\""
out=$("$ctl" record get a b 2>&1); rc=$?
check "record get with two ids exits 2" "[[ $rc -eq 2 ]] && grep -q 'too many' <<<\"\$out\""
out=$("$ctl" record search --no_such_flag 2>&1); rc=$?
check "unknown flag exits 2" "[[ $rc -eq 2 ]] && grep -q 'no_such_flag' <<<\"\$out\""
out=$("$ctl" record search --limit=many 2>&1); rc=$?
check "malformed value exits 2" "[[ $rc -eq 2 ]]"
out=$("$ctl" record search --purpose vehicle-inspection --since yesterday 2>&1); rc=$?
check "a time flag that is no time exits 2 naming it" "[[ $rc -eq 2 ]] && grep -q -- '--since=yesterday' <<<\"\$out\""
out=$("$ctl" record search --purpose vehicle-inspection --since 2026-12-08 --until 2026-12-07 2>&1); rc=$?
check "--since after --until exits 2" "[[ $rc -eq 2 ]] && grep -q 'after --until' <<<\"\$out\""
out=$("$ctl" frobnicate 2>&1); rc=$?
check "unknown command exits 2" "[[ $rc -eq 2 ]]"

"$src/deploy/pki/make-dev-pki.sh" "$work/pki" >/dev/null
"$src/deploy/pki/make-dev-pki.sh" "$work/other-pki" >/dev/null

printf 'sever = 127.0.0.1:1\n' >"$work/typo.conf"
out=$("$ctl" --config "$work/typo.conf" lanes list 2>&1); rc=$?
check "ctl.conf typo refused with exit 2" "[[ $rc -eq 2 ]]"
check "ctl.conf typo names file, line and key" "grep -q 'typo.conf:1: unknown key .sever.' <<<\"\$out\""

out=$("$ctl" --server 127.0.0.1:1 --ca "$work/pki/ca.pem" \
  --cert "$work/pki/operator-dev.pem" --key "$work/other-pki/operator-dev.key" \
  lanes list 2>&1); rc=$?
check "mismatched key exits 1" "[[ $rc -eq 1 ]]"
check "mismatched key is named" "grep -q 'does not match the certificate' <<<\"\$out\""
check "mismatched key: one line, no gRPC lines" "[[ \$(wc -l <<<\"\$out\") -eq 1 ]] && ! grep -q 'empty address list' <<<\"\$out\""

# A daemon with a lane replaying three crossings in a loop, so that it
# has a current frame for snapshots and records to page through.
"$bin/lanevault-footage" --out "$work/footage" --plates KXR4821,HTK2947,BDN5530 >/dev/null
mkdir -m 700 "$work/keys"
cat >"$work/lanevaultd.textproto" <<CONF
listen: "127.0.0.1:0"
port_file: "port"
tls { ca_cert: "pki/ca.pem" server_cert: "pki/server.pem" server_key: "pki/server.key" }
vault { database: "vault/lanevault.db" master_key: "keys/master.key" }
lanes { lane_id: "lane-e2e" checkpoint_id: "cp-e2e" source: "folder:footage/frames"
        loop: true pace_fps: 10 roi { x: 0 y: 0.3 width: 1 height: 0.7 } }
api { canary_every: -1 }
ops { metrics_listen: "off" }
CONF
"$bin/lanevaultd" --dev_master_key_file --config "$work/lanevaultd.textproto" --init_master_key >/dev/null
"$bin/lanevaultd" --dev_master_key_file --config "$work/lanevaultd.textproto" --dev_builtin_policy >"$work/daemon.log" 2>&1 &
daemon=$!
for _ in $(seq 1 100); do [[ -s $work/port ]] && break; sleep 0.2; done
[[ -s $work/port ]] || { echo "FAIL: daemon did not start"; tail "$work/daemon.log"; exit 1; }
port=$(cat "$work/port")
as() { "$ctl" --server "127.0.0.1:$port" --ca "$work/pki/ca.pem" \
  --cert "$work/pki/$1-dev.pem" --key "$work/pki/$1-dev.key" "${@:2}"; }

# Wait for three records.
for _ in $(seq 1 300); do
  n=$(as inspector record search --purpose vehicle-inspection 2>/dev/null | grep -c '^rh_')
  [[ $n -ge 3 ]] && break
  sleep 0.5
done
check "three records stored" "[[ $n -ge 3 ]]"

out=$(as inspector record search --purpose vehicle-inspection --limit 1 2>&1)
check "one page says how to page on" "grep -q -- '--page_token rh_' <<<\"\$out\""
token=$(grep -o -- '--page_token rh_[0-9a-f]*' <<<"$out" | cut -d' ' -f2)
out2=$(as inspector record search --purpose vehicle-inspection --limit 1 --page-token "$token" 2>&1)
check "--page-token gives the next page" "[[ \$(grep -c '^rh_' <<<\"\$out2\") -eq 1 ]] && [[ \$(grep '^rh_' <<<\"\$out\") != \$(grep '^rh_' <<<\"\$out2\") ]]"
all=$(as inspector record search --purpose vehicle-inspection --limit 1 --all 2>"$work/progress")
check "--all pages through" "[[ \$(grep -c '^rh_' <<<\"\$all\") -ge 3 ]]"
check "--all reports progress on stderr" "grep -q 'page 2: ' '$work/progress'"
check "--all ends without 'more'" "! grep -q 'more:' <<<\"\$all\""
out=$(as inspector record search --purpose vehicle-inspection --since 2000-01-01 2>&1)
check "--since before the crossings finds them" "[[ \$(grep -c '^rh_' <<<\"\$out\") -ge 3 ]]"
out=$(as inspector record search --purpose vehicle-inspection --since 2100-01-01 2>&1)
check "--since after the crossings finds none" "[[ \$(grep -c '^rh_' <<<\"\$out\") -eq 0 ]]"
out=$(as auditor audit query --limit 2 --all 2>/dev/null)
check "audit query --all pages through" "[[ \$(grep -cE '^ +[0-9]+  ' <<<\"\$out\") -gt 2 ]]"
out=$(as auditor audit query --since 2000-01-01 --limit 5 2>/dev/null)
check "audit query --since before the log finds entries" "[[ \$(grep -cE '^ +[0-9]+  ' <<<\"\$out\") -eq 5 ]]"
out=$(as auditor audit query --since 2100-01-01 --all 2>/dev/null)
check "audit query --since after the log finds none" "[[ \$(grep -cE '^ +[0-9]+  ' <<<\"\$out\") -eq 0 ]]"
out=$(as auditor audit query --since 2026-12-08 --until 2026-12-07 2>&1); rc=$?
check "audit query --since after --until exits 2" "[[ $rc -eq 2 ]] && grep -q 'after --until' <<<\"\$out\""

out=$(as auditor audit query --limit 1 --json 2>&1)
check "--json keeps entry 0's sequence" "grep -q '\"sequence\": \"0\"' <<<\"\$out\""
out=$(as operator lanes status lane-e2e --json 2>&1)
check "--json keeps zero counters" "grep -q '\"frames_corrupt\": \"0\"' <<<\"\$out\""
out=$(as operator lanes status lane-e2e 2>&1)
check "lanes status shows frame rate and last-frame age" "grep -q 'FPS' <<<\"\$out\" && grep -Eq 'lane-e2e .* [0-9]+\.[0-9] +[0-9.]+s ' <<<\"\$out\""

# The snapshot: an operator's, timed; refused to an inspector; logged.
times=()
for i in $(seq 1 20); do
  t0=$(date +%s%N)
  as operator lanes snapshot lane-e2e --out "$work/snap.jpg" >"$work/snap.out" 2>&1 ||
    { check "snapshot $i" false; cat "$work/snap.out"; break; }
  times+=($(( ($(date +%s%N) - t0) / 1000000 )))
done
check "snapshot is a JPEG" "[[ \$(head -c 3 '$work/snap.jpg' | od -An -tx1 | tr -d ' ') == ffd8ff ]]"
check "snapshot file is private" "[[ \$(stat -c %a '$work/snap.jpg') == 600 ]]"
check "snapshot reports what it masked" "grep -q 'masked' '$work/snap.out'"
if [[ ${#times[@]} -gt 0 ]]; then
  median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "snapshot: median ${median} ms over ${#times[@]} calls (lanevaultctl process included)"
fi
out=$(as inspector lanes snapshot lane-e2e --out "$work/no.jpg" 2>&1); rc=$?
check "inspector refused a snapshot" "[[ $rc -eq 1 ]] && grep -q 'refused' <<<\"\$out\" && [[ ! -e '$work/no.jpg' ]]"
out=$(as operator lanes snapshot lane-none --out "$work/no.jpg" 2>&1); rc=$?
check "unknown lane is not found" "[[ $rc -eq 1 ]] && grep -q 'lane-none' <<<\"\$out\""
out=$(as auditor audit query --principal operator-dev --all 2>/dev/null)
check "snapshots in the access log" "[[ \$(grep -c 'VIEW_SNAPSHOT' <<<\"\$out\") -ge 20 ]]"
out=$(as auditor audit query --principal inspector-dev --all 2>/dev/null)
check "refused snapshot in the access log" "grep 'VIEW_SNAPSHOT' <<<\"\$out\" | grep deny >/dev/null"
out=$(as inspector audit query --limit 1 2>&1); rc=$?
check "an inspector's audit query is refused with no table" "[[ $rc -eq 1 ]] && grep -q 'refused' <<<\"\$out\" && ! grep -q 'PRINCIPAL' <<<\"\$out\""

if [[ $failures -eq 0 ]]; then echo "passed"; else
  tail -5 "$work/daemon.log"; echo "$failures failed"; exit 1; fi
