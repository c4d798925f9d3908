#!/usr/bin/env bash
# End to end, every part real: the dev PKI, generated footage, lanevaultd on a
# free loopback port, and lanevaultctl over mutual TLS.
#   walking_skeleton_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
bin=$2/src/cmd
work=$(mktemp -d "${TMPDIR:-/tmp}/lanevault-e2e-XXXXXX")
daemon=
cleanup() {
  [[ -n "$daemon" ]] && kill "$daemon" 2>/dev/null; [[ -n "$daemon" ]] && { wait "$daemon" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $work/daemon.log ]] && tail -20 "$work/daemon.log" >&2; exit 1; }

"$src/deploy/pki/make-dev-pki.sh" "$work/pki" >/dev/null
"$src/deploy/pki/make-dev-pki.sh" "$work/other-pki" >/dev/null
"$bin/lanevault-footage" --out "$work/footage" --plates KXR4821 >/dev/null
truth=$(awk -F'\t' 'NR==2 {print $2}' "$work/footage/crossings.tsv")
[[ $truth == KXR4821 ]] || fail "ground truth not written"

mkdir -m 700 "$work/keys"
# No canaries: one record in 200 gets a decoy twin that a search cannot tell
# apart, and this test counts records (canaries have their own tests).
cat >"$work/lanevaultd.textproto" <<CONF
listen: "127.0.0.1:0"
port_file: "port"
tls { ca_cert: "pki/ca.pem" server_cert: "pki/server.pem" server_key: "pki/server.key" }
vault { database: "vault/lanevault.db" master_key: "keys/master.key" }
lanes { lane_id: "lane-e2e" checkpoint_id: "cp-e2e" source: "folder:footage/frames" }
api { canary_every: -1 }
ops { metrics_listen: "127.0.0.1:0" }
CONF
"$bin/lanevaultd" --dev_master_key_file --config "$work/lanevaultd.textproto" --init_master_key >/dev/null
"$bin/lanevaultd" --dev_master_key_file --config "$work/lanevaultd.textproto" --dev_builtin_policy >"$work/daemon.log" 2>&1 &
daemon=$!

for _ in $(seq 1 100); do [[ -s $work/port ]] && break; sleep 0.2; done
[[ -s $work/port ]] || fail "daemon did not start"
port=$(cat "$work/port")
grep -Eq "^Max core file size +0 +0" "/proc/$daemon/limits" ||
  fail "lanevaultd may dump core (plaintext could reach disk)"
# The Prometheus endpoint, scraped as Prometheus would (plain HTTP GET).
metrics_port=$(grep -o 'metrics: http://[^ ]* (port [0-9]*)' "$work/daemon.log" |
  grep -o '[0-9]*)$' | tr -d ')')
[[ -n $metrics_port ]] || fail "no metrics endpoint logged"
scrape() {
  exec 3<>"/dev/tcp/127.0.0.1/$metrics_port"
  printf 'GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  cat <&3
  exec 3<&-
}
# A series' value summed over its label sets (0 when absent).
series() { awk -v n="$1" '$1 == n || index($1, n "{") == 1 {s += $2} END {printf "%d", s}'; }
scrape >"$work/scrape1.txt"
ctl() { "$bin/lanevaultctl" --server "127.0.0.1:$port" --ca "$work/pki/ca.pem" "$@"; }
as_inspector=(--cert "$work/pki/inspector-dev.pem" --key "$work/pki/inspector-dev.key")

# Wait for the lane to finish replaying and the record to be stored.
for _ in $(seq 1 300); do
  grep -q "lanes done" "$work/daemon.log" && break
  kill -0 "$daemon" 2>/dev/null || fail "daemon died"
  sleep 0.5
done
grep -q "lanes done" "$work/daemon.log" || fail "lane did not finish"

# The counters moved during the run, and the scrape names no plate.
scrape >"$work/scrape2.txt"
frames1=$(series lanevault_lane_frames_read_total <"$work/scrape1.txt")
frames2=$(series lanevault_lane_frames_read_total <"$work/scrape2.txt")
stored=$(series lanevault_records_stored_total <"$work/scrape2.txt")
intake=$(series lanevault_rpc_duration_seconds_count <"$work/scrape2.txt")
((frames2 > 0 && frames2 >= frames1)) || fail "frames read: $frames1 -> $frames2"
((stored >= 1)) || fail "records stored not counted: $stored"
grep -q "$truth" "$work/scrape2.txt" && fail "the scrape names the plate"

ids=$(ctl "${as_inspector[@]}" record search --purpose vehicle-inspection --json |
  grep -o 'rh_[0-9a-f]\{42\}' | sort -u)
[[ $(echo "$ids" | wc -l) -eq 1 ]] || fail "expected exactly one record, got: $ids"
id=$ids

out=$(ctl "${as_inspector[@]}" record get "$id" --purpose vehicle-inspection)
grep -q "plate_text .*$truth" <<<"$out" || fail "plate text is not $truth: $out"
# The search and the read were timed.
scrape >"$work/scrape3.txt"
calls=$(series lanevault_rpc_duration_seconds_count <"$work/scrape3.txt")
((calls > intake)) || fail "rpc count did not move: $intake -> $calls"
grep -q "$truth" "$work/scrape3.txt" && fail "the scrape names the plate"
echo "metrics: frames read $frames1 -> $frames2, records stored $stored, rpc calls $intake -> $calls"
echo "fetched $id: plate $truth"

# Exact-plate lookup by blind index, before this inspector has seen the
# crossing's faces (after, a lookup would join the plate to them and does
# not name the record).
found=$(ctl "${as_inspector[@]}" record lookup-plate "${truth,,}" \
  --purpose vehicle-inspection) || fail "plate lookup failed"
[[ $found == "$id" ]] || fail "plate lookup found '$found', not $id"

# Under identity-verification the crossing has a handle of its own: the
# vehicle-inspection one is refused there, and nothing in the two answers
# is alike (unit test insider_join_test tries every field).
if ctl "${as_inspector[@]}" record get "$id" --purpose identity-verification \
  >/dev/null 2>&1; then
  fail "a vehicle-inspection handle was accepted under identity-verification"
fi
fid=$(ctl "${as_inspector[@]}" record search --purpose identity-verification \
  --json | grep -o 'rh_[0-9a-f]\{42\}' | sort -u)
[[ $(echo "$fid" | wc -l) -eq 1 && $fid != "$id" ]] ||
  fail "identity-verification should name the crossing by another handle: $fid"
ctl "${as_inspector[@]}" record get "$fid" --purpose identity-verification \
  --out_dir "$work/faces" --receipt_out "$work/face.receipt" >/dev/null ||
  fail "face read refused"
face=$(ls "$work/faces"/*.jpg | head -1)
[[ -s $face ]] || fail "no face crop returned"
[[ $(stat -c %a "$face") == 600 ]] || fail "saved evidence is readable by others"

# The face carries a watermark naming this read, and a signed receipt with
# the contract's restrictions: an auditor traces the crop, a receiving
# system verifies the receipt and the bytes it covers.
as_auditor_cert=(--cert "$work/pki/auditor-dev.pem" --key "$work/pki/auditor-dev.key")
trace=$(ctl "${as_auditor_cert[@]}" audit trace "$face") ||
  fail "the face crop traces to nothing: $trace"
grep -q "read by inspector-dev .* for purpose identity-verification" <<<"$trace" ||
  fail "the trace does not name the read: $trace"
echo "traced: $trace"
item=$(basename "$face" .jpg)
ctl "${as_auditor_cert[@]}" receipt verify --receipt "$work/face.receipt" \
  --content "$item=$face" | grep "not for any operational use" >/dev/null ||
  fail "the receipt does not verify or carries no restrictions"

# A plate's text is committed to under a salt that comes with the text, not
# in the receipt: the reader saves both and checks them (the flags ctl
# prints), and the text without its salt does not verify.
hint=$(ctl "${as_inspector[@]}" record get "$id" --purpose vehicle-inspection \
  --categories plate_text --out_dir "$work/plate" \
  --receipt_out "$work/plate.receipt" 2>&1 >/dev/null) ||
  fail "plate text read refused: $hint"
mapfile -t checks < <(grep -o -- '--\(content\|salt\) [^ ]*' <<<"$hint" | tr ' ' '\n')
[[ ${#checks[@]} -eq 4 && $(head -1 "$work/plate"/*.txt) == "$truth" ]] ||
  fail "the plate text and its salt were not saved: $hint"
ctl "${as_auditor_cert[@]}" receipt verify --receipt "$work/plate.receipt" \
  "${checks[@]}" >/dev/null || fail "the plate text does not verify with its salt"
if ctl "${as_auditor_cert[@]}" receipt verify --receipt "$work/plate.receipt" \
  "${checks[@]:0:2}" >/dev/null 2>&1; then
  fail "a plate text verified without its salt"
fi
if ctl "${as_auditor_cert[@]}" receipt verify --receipt "$work/plate.receipt" \
  "${checks[@]}" "${checks[@]:2:2}" >/dev/null 2>&1; then
  fail "a salt given twice for one text was taken"
fi

if err=$(ctl record get "$id" --purpose vehicle-inspection 2>&1); then
  fail "a call without a client certificate succeeded"
fi
echo "no client certificate: refused ($err)"
if err=$(ctl --cert "$work/other-pki/inspector-dev.pem" \
  --key "$work/other-pki/inspector-dev.key" \
  record get "$id" --purpose vehicle-inspection 2>&1); then
  fail "a certificate from another CA was accepted"
fi
echo "certificate from another CA: refused ($err)"

# No plaintext in the vault's files: neither the plate text nor face bytes.
hex() { od -An -tx1 -v "$@" | tr -d ' \n'; }
face_hex=$(hex -j 600 -N 32 "$face")
for f in "$work"/vault/lanevault.db* "$work"/vault/lanevault.db.state/*; do
  [[ -f $f ]] || continue
  if LC_ALL=C grep -qa "$truth" "$f"; then fail "plate text found in $f"; fi
  if hex "$f" | grep "$face_hex" >/dev/null; then fail "face crop bytes found in $f"; fi
done
echo "no plaintext in $(ls "$work"/vault | tr '\n' ' ')"
[[ $(stat -c %a "$work/vault/lanevault.db") == 600 ]] || fail "vault file readable by others"

# The access log, as an auditor checks it: a pinned key, a kept state file.
log_key=$("$bin/lanevaultd" --dev_master_key_file --config "$work/lanevaultd.textproto" --print_log_key)
as_auditor=(--cert "$work/pki/auditor-dev.pem" --key "$work/pki/auditor-dev.key"
  --log_key "$log_key" --state "$work/audit-state")
ctl "${as_auditor[@]}" audit verify --full --entries 0,1 || fail "audit verify"
ctl "${as_auditor[@]}" audit verify || fail "audit verify from the saved state"
# A state file named without a folder is kept in the current one.
(cd "$work" && ctl "${as_auditor[@]}" --state bare-state audit verify >/dev/null) ||
  fail "a bare --state file name was not accepted"
[[ -s $work/bare-state ]] || fail "bare --state file not written"
grep -q "^lanevault.dev/audit$" "$work/audit-state" || fail "no state kept"
ctl "${as_auditor[@]}" audit export --out "$work/log.export" >/dev/null
ctl "${as_auditor[@]}" --state "$work/offline-state" audit verify --full \
  --offline "$work/log.export" || fail "offline verify"
if ctl "${as_inspector[@]}" audit checkpoint >/dev/null 2>&1; then
  fail "an inspector read the access log"
fi
if ctl "${as_auditor[@]}" --log_key "${log_key/+/x+}" audit verify 2>/dev/null; then
  fail "a wrong log key was accepted"
fi

# A compliance officer's tasks.
as_officer=(--cert "$work/pki/compliance-dev.pem" --key "$work/pki/compliance-dev.key")
report=$(ctl "${as_officer[@]}" retention report) || fail "retention report: $report"
grep -q "items overdue: 0" <<<"$report" || fail "overdue items: $report"
# Holds name records by id: the officer resolves the handle, with a reason.
rid=$(ctl "${as_officer[@]}" handles resolve "$id" --reason "e2e hold" \
  --json | grep -o 'rec_[0-9a-f]\{32\}') || fail "handle not resolved"
hold=$(ctl "${as_officer[@]}" holds place "$rid" --case_id CASE-1 \
  --reason "e2e test" --json | grep -o 'hold-[0-9a-f]*' | head -1)
[[ -n $hold ]] || fail "no hold placed"
ctl "${as_officer[@]}" retention report | grep "items on hold: [1-9]" >/dev/null ||
  fail "the hold does not show in the report"
ctl "${as_officer[@]}" holds lift "$hold" --reason "done" >/dev/null ||
  fail "hold not lifted"
ctl "${as_officer[@]}" keys rotate | grep "key generation 2" >/dev/null || fail "rotation"
if ctl "${as_inspector[@]}" keys rotate >/dev/null 2>&1; then
  fail "an inspector rotated the keys"
fi
ctl "${as_officer[@]}" alerts list >/dev/null || fail "alerts list"
ctl "${as_officer[@]}" lockouts list | grep "nobody is locked out" >/dev/null ||
  fail "lockouts list"
# The certificate from a config file instead of flags.
printf 'cert = %s\nkey = %s  # the officer\n' "$work/pki/compliance-dev.pem" \
  "$work/pki/compliance-dev.key" >"$work/ctl.conf"
LANEVAULTCTL_CONFIG="$work/ctl.conf" ctl lockouts list >/dev/null ||
  fail "config file not used"
echo "plate lookup, retention report, hold, key rotation, lockouts: ok"

kill -TERM "$daemon"
wait "$daemon" || fail "daemon did not exit cleanly on SIGTERM"
daemon=

# Rewrite one logged decision behind the daemon's back: the next verify
# must fail and name it.
cat >"$work/tamper.c" <<'C'
#include <sqlite3.h>
int main(int c, char **v) {
  sqlite3 *db;
  if (sqlite3_open(v[1], &db)) return 1;
  return sqlite3_exec(db, "UPDATE audit_log SET entry = (SELECT entry FROM "
                          "audit_log WHERE sequence = 0) WHERE sequence = 1",
                      0, 0, 0) != 0;
}
C
if cc "$work/tamper.c" -o "$work/tamper" -lsqlite3 2>/dev/null; then
  "$work/tamper" "$work/vault/lanevault.db" || fail "could not tamper"
  rm -f "$work/port"
  "$bin/lanevaultd" --dev_master_key_file --config "$work/lanevaultd.textproto" --dev_builtin_policy >>"$work/daemon.log" 2>&1 &
  daemon=$!
  for _ in $(seq 1 100); do [[ -s $work/port ]] && break; sleep 0.2; done
  port=$(cat "$work/port")
  for _ in $(seq 1 100); do
    ctl "${as_auditor[@]}" audit checkpoint >/dev/null 2>&1 && break
    sleep 0.2
  done
  if out=$(ctl "${as_auditor[@]}" audit verify --full 2>&1); then
    fail "a rewritten log entry was not detected"
  fi
  grep -q "entry 1:" <<<"$out" || fail "verify did not name entry 1: $out"
  echo "tampered log: $out"
  kill -TERM "$daemon"
  wait "$daemon" || true
  daemon=
fi

# Root sets the vault's schema version back to before the records rebuild
# (schema step 11): run again, it would drop every record's canary mark.
# The daemon must refuse to start and leave the file as it was.
marks_sql="SELECT COUNT(*) FROM records WHERE canary_mark IS NOT NULL"
py_sql() {
  python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute(sys.argv[2]).fetchall()
db.commit()
print(rows[0][0] if rows else "")' "$work/vault/lanevault.db" "$1"
}
marks=$(py_sql "$marks_sql")
[[ $marks -gt 0 ]] || fail "no record carries a canary mark ($marks)"
py_sql "PRAGMA user_version=10" >/dev/null
rm -f "$work/port"
if timeout 60 "$bin/lanevaultd" --dev_master_key_file \
  --config "$work/lanevaultd.textproto" --dev_builtin_policy \
  >"$work/rollback.log" 2>&1; then
  fail "the daemon started on a vault whose schema version was set back"
fi
grep -q "set back" "$work/rollback.log" ||
  fail "the refusal does not say why: $(tail -3 "$work/rollback.log")"
[[ $(py_sql "PRAGMA user_version") == 10 ]] || fail "the schema version moved"
[[ $(py_sql "$marks_sql") == "$marks" ]] || fail "canary marks were dropped"
echo "schema version set back: refused, $marks canary marks kept"
echo "1 passed, 0 failed"
