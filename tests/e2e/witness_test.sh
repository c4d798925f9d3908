#!/usr/bin/env bash
# Witness cosigning end to end, every part a real process over loopback:
# lanevault-witness, lanevaultd pushing its checkpoints to it, lanevaultctl
# verifying with a witness quorum; then root rewrites a logged entry and
# recomputes the stored tree (and drops the anchor, the signed checkpoints
# and the daemon's witness state, covering its tracks): the restarted daemon
# refuses to serve and the witness refuses to cosign the fork.
#   witness_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
bin=$2/src/cmd
work=$(mktemp -d "${TMPDIR:-/tmp}/lanevault-witness-XXXXXX")
daemon= witness=
cleanup() {
  for p in $daemon $witness; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in daemon.log witness.log; do
    [[ -f $work/$f ]] && { echo "--- $f" >&2; tail -15 "$work/$f" >&2; }
  done
  exit 1
}
wait_for() { for _ in $(seq 1 100); do [[ -s $1 ]] && return 0; sleep 0.1; done; return 1; }

"$src/deploy/pki/make-dev-pki.sh" "$work/pki" >/dev/null
mkdir -m 700 "$work/keys" "$work/w"
cat >"$work/base.textproto" <<CONF
listen: "127.0.0.1:0"
port_file: "port"
tls { ca_cert: "pki/ca.pem" server_cert: "pki/server.pem" server_key: "pki/server.key" }
vault { database: "vault/lanevault.db" master_key: "keys/master.key" checkpoint_interval_s: 0.3 }
api { canary_every: -1 }
CONF
cp "$work/base.textproto" "$work/lanevaultd.textproto"
d() { "$bin/lanevaultd" --dev_master_key_file --config "$work/lanevaultd.textproto" "$@"; }
d --init_master_key >/dev/null
log_key=$(d --print_log_key)

# The witness: its key (0600), then serving for this one log.
wkey=$("$bin/lanevault-witness" --name witness.test/w1 --key "$work/w/w1.key" --init_key)
[[ $(stat -c %a "$work/w/w1.key") == 600 ]] || fail "witness key is not 0600"
[[ $("$bin/lanevault-witness" --name witness.test/w1 --key "$work/w/w1.key" --print_key) == "$wkey" ]] ||
  fail "--print_key differs from --init_key"
other=$("$bin/lanevault-witness" --name witness.test/w2 --key "$work/w/w2.key" --init_key)
start_witness() {
  rm -f "$work/w/port"
  "$bin/lanevault-witness" --name witness.test/w1 --key "$work/w/w1.key" \
    --log_keys "$log_key" --state_dir "$work/w/state" --listen 127.0.0.1:${1:-0} \
    --port_file "$work/w/port" >>"$work/witness.log" 2>&1 &
  witness=$!
  wait_for "$work/w/port" || fail "witness did not start"
  wport=$(cat "$work/w/port")
}
start_witness
cat >>"$work/lanevaultd.textproto" <<CONF
witnesses { url: "http://127.0.0.1:$wport" verifier_key: "$wkey" timeout_s: 2 }
witness_quorum: 1
CONF

start_daemon() {
  rm -f "$work/port"
  # The program itself in the background (not a function's subshell), so
  # that $! is the daemon's pid and SIGTERM reaches it.
  "$bin/lanevaultd" --dev_master_key_file --config "$work/lanevaultd.textproto" \
    --dev_builtin_policy >>"$work/daemon.log" 2>&1 &
  daemon=$!
  wait_for "$work/port" || fail "daemon did not start"
  port=$(cat "$work/port")
}
start_daemon
ctl() { "$bin/lanevaultctl" --server "127.0.0.1:$port" --ca "$work/pki/ca.pem" \
  --cert "$work/pki/auditor-dev.pem" --key "$work/pki/auditor-dev.key" "$@"; }
verify() { ctl audit verify --log_key "$log_key" --state "$work/audit-state" "$@"; }

# A growing log: every checkpoint an auditor fetches carries the cosignature.
for i in 1 2 3 4; do
  note=$(ctl audit checkpoint) || fail "checkpoint $i"
  grep -q "^— witness.test/w1 " <<<"$note" || fail "checkpoint $i not cosigned: $note"
done
size1=$(sed -n 2p <<<"$note")
out=$(verify --full --witness_key "w1=$wkey" --witness_quorum 1) || fail "verify with quorum 1: $out"
grep -q "cosigned by 1 of 1 witnesses" <<<"$out" || fail "verify did not count the witness: $out"
echo "cosigned and verified: $out"

# A quorum not met: a second witness that never saw the log.
if out=$(verify --witness_key "w1=$wkey" --witness_key "w2=$other" --witness_quorum 2 2>&1); then
  fail "quorum 2 of 2 passed with one cosignature: $out"
fi
grep -q "cosigned by 1 of the 2 witnesses given; 2 required" <<<"$out" || fail "wrong refusal: $out"
if out=$(verify --witness_key "$other" 2>&1); then fail "an untrusted witness's quorum passed"; fi
if out=$(verify --witness_key "$log_key" 2>&1); then fail "the log's own key counted as a witness"; fi
echo "quorum not met: refused ($(tail -1 <<<"$out"))"

# The background pushes reach the witness without any auditor asking.
for _ in $(seq 1 50); do
  grep -q "cosigned size $((size1 + 2)) " "$work/witness.log" 2>/dev/null && break
  sleep 0.1
done

# The witness restarts on the same port with its state; cosigning goes on.
kill -TERM "$witness"; wait "$witness" || fail "witness did not stop cleanly"
start_witness "$wport"
note=$(ctl audit checkpoint)
grep -q "^— witness.test/w1 " <<<"$note" || fail "not cosigned after the witness restarted: $note"
verify --witness_key "$wkey" >/dev/null || fail "verify after the witness restarted"
echo "witness restarted with its state: still cosigning"

# A witness down at start: the daemon warns and serves (availability);
# auditors requiring it refuse until it is back and cosigns again.
stop_daemon() {
  kill -TERM "$daemon"; rc=0; wait "$daemon" || rc=$?; daemon=
  [[ $rc -eq 0 ]] || fail "daemon did not stop cleanly (exit $rc)"
}
stop_daemon
kill -TERM "$witness"; wait "$witness" || true; witness=
start_daemon
grep -q "witness witness.test/w1 not reachable at start" "$work/daemon.log" ||
  fail "no warning for an unreachable witness"
if verify --witness_key "$wkey" >/dev/null 2>&1; then fail "verified without the witness"; fi
start_witness "$wport"
for _ in $(seq 1 80); do
  verify --witness_key "$wkey" >/dev/null 2>&1 && break
  sleep 0.25
done
verify --witness_key "$wkey" >/dev/null || fail "never cosigned after the witness came back"
echo "witness down at start: served, warned, cosigned again once it was back"

stop_daemon
state=$(ls "$work/w/state"/*.state)
held=$(sed -n 3p "$state")
[[ $held -gt 3 ]] || fail "the witness holds size '$held'"
cp "$state" "$work/held.state"

# Root rewrites entry 1, recomputes the tree, and removes what would tell.
cc "$src/tests/e2e/rewrite_log.c" -o "$work/rewrite_log" -lsqlite3 -lcrypto ||
  fail "cannot build the tamper tool"
"$work/rewrite_log" "$work/vault/lanevault.db" 1 || fail "tamper failed"
rm -f "$work/vault/lanevault.db.state/log-anchor" "$work/vault/lanevault.db.state/witnesses"

rm -f "$work/port"
if d --dev_builtin_policy >>"$work/daemon.log" 2>&1; then
  fail "the daemon served a rewritten log"
fi
[[ ! -s $work/port ]] || fail "the daemon bound its port before refusing"
# The key store's authenticated head (or, were it gone, the witness) names
# the rewrite before anything is signed or pushed; the witness's own refusal
# of a forked checkpoint is witness_test's.
grep -q "REFUSING TO SERVE: .*rewritten\|REFUSING TO SERVE: witness witness.test/w1 refused" \
  "$work/daemon.log" || fail "the refusal does not name the rewrite"
cmp -s "$state" "$work/held.state" || fail "the witness's state moved"
# Refused again at the next start: not a one-off.
if d --dev_builtin_policy >>"$work/daemon.log" 2>&1; then fail "served at the second start"; fi
grep "REFUSING" "$work/daemon.log" | head -1
echo "rewritten log: the daemon refuses to serve, the witness still holds size $held"
echo "1 passed, 0 failed"
