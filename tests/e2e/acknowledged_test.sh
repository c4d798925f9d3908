#!/usr/bin/env bash
# Acknowledged means stored, end to end with the real programs: a second
# daemon on the same vault refuses to start; a lane whose source is missing
# is reported and retried while the good lane beside it and the API go on;
# a replay killed with SIGKILL and restarted resumes without storing any
# crossing twice.
#   acknowledged_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
bin=$2/src/cmd
work=$(mktemp -d "${TMPDIR:-/tmp}/lanevault-ack-XXXXXX")
daemon=
cleanup() {
  [[ -n "$daemon" ]] && kill -9 "$daemon" 2>/dev/null; [[ -n "$daemon" ]] && { wait "$daemon" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $work/daemon.log ]] && tail -30 "$work/daemon.log" >&2; exit 1; }

"$src/deploy/pki/make-dev-pki.sh" "$work/pki" >/dev/null
plates=KXR4821,MVB7350,TJD2290,PLN6613
"$bin/lanevault-footage" --out "$work/footage" --plates "$plates" >/dev/null
crossings=$(($(wc -l <"$work/footage/crossings.tsv") - 1))
[[ $crossings -eq 4 ]] || fail "footage has $crossings crossings, not 4"
mkdir -m 700 "$work/keys"
# Paced like a camera, so the replay takes long enough to be killed midway.
cat >"$work/lanevaultd.textproto" <<CONF
listen: "127.0.0.1:0"
port_file: "port"
state_dir: "state"
tls { ca_cert: "pki/ca.pem" server_cert: "pki/server.pem" server_key: "pki/server.key" }
vault { database: "vault/lanevault.db" master_key: "keys/master.key" }
# pace_fps 0: every frame analysed, so a loaded machine drops none and
# splits no crossing in two (this test is about resuming, not load).
lanes { lane_id: "lane-good" checkpoint_id: "cp" source: "folder:footage/frames" pace_fps: 0 }
lanes { lane_id: "lane-missing" checkpoint_id: "cp" source: "file:footage/not-here.avi" }
api { canary_every: -1 }
CONF
"$bin/lanevaultd" --dev_master_key_file --config "$work/lanevaultd.textproto" --init_master_key >/dev/null

start_daemon() {
  rm -f "$work/port"
  "$bin/lanevaultd" --dev_master_key_file --config "$work/lanevaultd.textproto" --dev_builtin_policy >>"$work/daemon.log" 2>&1 &
  daemon=$!
  for _ in $(seq 1 100); do [[ -s $work/port ]] && break; sleep 0.2; done
  [[ -s $work/port ]] || fail "daemon did not start"
  port=$(cat "$work/port")
}
ctl() {
  "$bin/lanevaultctl" --server "127.0.0.1:$port" --ca "$work/pki/ca.pem" "$@"
}
as_inspector=(--cert "$work/pki/inspector-dev.pem" --key "$work/pki/inspector-dev.key")
as_operator=(--cert "$work/pki/operator-dev.pem" --key "$work/pki/operator-dev.key")
stored() { grep -c "stored record" "$work/daemon.log" || true; }

start_daemon

# 1. A second daemon on the same vault refuses to start, and says why.
if out=$(timeout 30 "$bin/lanevaultd" --dev_master_key_file --config "$work/lanevaultd.textproto" --dev_builtin_policy 2>&1); then
  fail "a second daemon started on the same vault"
fi
grep -q "in use" <<<"$out" || fail "the second daemon did not say why: $out"
echo "second daemon: refused ($(tail -1 <<<"$out"))"
kill -0 "$daemon" || fail "the first daemon died"

# 2. The missing source is reported while the good lane and the API go on.
status=$(ctl "${as_operator[@]}" lanes status lane-missing | grep "^lane-missing") ||
  fail "lanes status: $status"
grep -Eq " (reconnecting|failed) " <<<"$status" || fail "missing source not reported: $status"
grep -q "not-here.avi" <<<"$status" || fail "the error does not name the source: $status"
echo "missing source: $status"

# 3. Killed with SIGKILL once the first crossing is stored, then restarted:
# the replay resumes, and every crossing is stored exactly once.
for _ in $(seq 1 300); do [[ $(stored) -ge 1 ]] && break; sleep 0.1; done
[[ $(stored) -ge 1 ]] || fail "no crossing stored before the kill"
kill -9 "$daemon"
wait "$daemon" 2>/dev/null || true
daemon=
before=$(stored)
echo "killed after $before stored crossing(s)"
start_daemon
for _ in $(seq 1 600); do
  ctl "${as_operator[@]}" lanes status lane-good 2>/dev/null |
    grep -q "^lane-good .* finished " && break
  sleep 0.2
done
ids=$(ctl "${as_inspector[@]}" record search --purpose vehicle-inspection --json |
  grep -o 'rh_[0-9a-f]\{42\}' | sort -u)
n=$(grep -c rh_ <<<"$ids" || true)
[[ $n -eq $crossings ]] || fail "$n records stored for $crossings crossings"
seen=
for id in $ids; do
  plate=$(ctl "${as_inspector[@]}" record get "$id" --purpose vehicle-inspection |
    awk '/plate_text/ {print $NF}')
  grep -qw "$plate" <<<"$seen" && fail "plate $plate stored twice"
  seen="$seen $plate"
done
echo "resumed replay: $n records for $n crossings, plates:$seen"
kill -TERM "$daemon"
wait "$daemon" || fail "daemon did not exit cleanly"
daemon=
echo "1 passed, 0 failed"
