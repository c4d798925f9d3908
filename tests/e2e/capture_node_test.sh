#!/usr/bin/env bash
# The capture node end to end, with the real programs: lanevault-lane replays
# generated footage into lanevaultd over mutual TLS while the vault is
# killed with SIGKILL and restarted, frozen past the node's call deadline
# (a call whose answer never comes back), and the node itself is killed
# with SIGKILL and restarted. At the end every crossing of the footage is in
# the vault exactly once and the spool is empty; while the vault was down
# the node's files held records, and none of them a plate text or a JPEG.
#   capture_node_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
bin=$2/src/cmd
work=$(mktemp -d "${TMPDIR:-/tmp}/lanevault-node-XXXXXX")
vault= node=
cleanup() {
  for p in $vault $node; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done
  [[ -n ${LANEVAULT_KEEP_WORK:-} ]] || rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in vault.log node.log; do
    [[ -f $work/$f ]] && { echo "--- $f" >&2; tail -25 "$work/$f" >&2; }
  done
  exit 1
}

"$src/deploy/pki/make-dev-pki.sh" "$work/pki" >/dev/null
plates=KXR4821,MVB7350,TJD2290,PLN6613,HWT5184,BRC3067,ZLK9402,GNM7731
"$bin/lanevault-footage" --out "$work/footage" --plates "$plates" >/dev/null
crossings=$(($(wc -l <"$work/footage/crossings.tsv") - 1))
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -m 700 "$work/keys"
cat >"$work/lanevaultd.textproto" <<CONF
listen: "127.0.0.1:$port"
state_dir: "state"
tls { ca_cert: "pki/ca.pem" server_cert: "pki/server.pem" server_key: "pki/server.key" }
vault { database: "vault/lanevault.db" master_key: "keys/master.key" }
api { canary_every: -1 }
CONF
"$bin/lanevaultd" --dev_master_key_file --config "$work/lanevaultd.textproto" --init_master_key >/dev/null
"$bin/lanevaultd" --dev_master_key_file --config "$work/lanevaultd.textproto" --print_intake_key >"$work/intake.pub"
# pace_fps 0: every frame analysed, so a loaded machine splits no crossing.
cat >"$work/node.textproto" <<CONF
vault: "127.0.0.1:$port"
ca_cert: "pki/ca.pem"
cert: "pki/lane-dev.pem"
key: "pki/lane-dev.key"
intake_public_key: "@intake.pub"
vault_server_name: "localhost"
spool { dir: "node/spool" }
state_dir: "node/state"
submit_timeout_s: 1
lanes { lane_id: "lane-1" checkpoint_id: "cp" source: "folder:footage/frames" pace_fps: 0 }
CONF

start_vault() {
  "$bin/lanevaultd" --dev_master_key_file --config "$work/lanevaultd.textproto" --dev_builtin_policy >>"$work/vault.log" 2>&1 &
  vault=$!
  for _ in $(seq 1 100); do
    grep -q "API listening" <(tail -5 "$work/vault.log") && return
    kill -0 "$vault" 2>/dev/null || fail "the vault did not start"
    sleep 0.1
  done
  fail "the vault did not start listening"
}
kill_vault() { kill -9 "$vault"; wait "$vault" 2>/dev/null || true; vault=; }
start_node() {
  "$bin/lanevault-lane" --config "$work/node.textproto" --exit_when_lanes_done \
    --status_every_s 0 >>"$work/node.log" 2>&1 &
  node=$!
}
spooled() { find "$work/node/spool" -maxdepth 1 -name '*.rec' | wc -l; }

start_vault
start_node
sleep 2

# 1. The vault killed; the node spools. What it spooled holds nothing plain.
kill_vault
# A loaded machine starts the node and forms its first crossing slowly:
# up to a minute for it to find the vault gone.
for _ in $(seq 1 600); do [[ $(spooled) -ge 1 ]] && break; sleep 0.1; done
[[ $(spooled) -ge 1 ]] || fail "nothing spooled while the vault was down"
for p in ${plates//,/ }; do
  if grep -rlq "$p" "$work/node"; then fail "plate $p in plain text under node/"; fi
done
if grep -rlqaP '\xff\xd8\xff\xe0\x00\x10JFIF' "$work/node"; then
  fail "a JPEG (a crop) under node/"
fi
echo "vault down: $(spooled) record(s) spooled, no plate text or JPEG in the node's files"
sleep 1
start_vault
sleep 2

# 2. The vault frozen past the node's 1 s deadline: answers that never
# arrive, so the node resends what the vault may have stored. While it is
# frozen the node is killed with SIGKILL, calls in flight, and restarted.
kill -STOP "$vault"
for _ in $(seq 1 60); do [[ $(spooled) -ge 2 ]] && break; sleep 0.1; done
kill -0 "$node" 2>/dev/null || fail "the node ended before it could be killed (replay too short)"
kill -9 "$node"; wait "$node" 2>/dev/null || true; node=
echo "node killed with $(spooled) record(s) in its spool, the vault frozen"
start_node
sleep 1.5
kill -CONT "$vault"
sleep 2

# 3. The vault killed once more while the node runs.
kill_vault
sleep 1.5
start_vault

# The node exits once its lanes are done and its spool is empty.
for _ in $(seq 1 ${LANEVAULT_NODE_WAIT:-1200}); do kill -0 "$node" 2>/dev/null || break; sleep 0.25; done
kill -0 "$node" 2>/dev/null && fail "the node did not finish within 5 minutes"
wait "$node" || fail "the node exited with an error"
node=
[[ $(spooled) -eq 0 ]] || fail "$(spooled) record(s) left in the spool"
aside=$(find "$work/node/spool/damaged" "$work/node/spool/refused" -type f)
[[ -z $aside ]] || fail "entries set aside: $aside"
grep -q "failure\|did not take" "$work/node.log" || fail "the node never saw the vault fail"
grep -q "resume" "$work/node.log" || fail "the restarted node did not resume its replay"

ctl() {
  "$bin/lanevaultctl" --server "127.0.0.1:$port" --ca "$work/pki/ca.pem" \
    --cert "$work/pki/inspector-dev.pem" --key "$work/pki/inspector-dev.key" "$@"
}
ids=$(ctl record search --purpose vehicle-inspection --limit 50 --json |
  grep -o 'rh_[0-9a-f]\{42\}' | sort -u)
n=$(grep -c rh_ <<<"$ids" || true)
[[ $n -eq $crossings ]] || fail "$n records in the vault for $crossings crossings"
seen= matched=0
for id in $ids; do
  plate=$(ctl record get "$id" --purpose vehicle-inspection | awk '/plate_text/ {print $NF}')
  [[ -n $plate ]] && grep -qw "$plate" <<<"$seen" && fail "plate $plate stored twice"
  seen="$seen $plate"
  grep -q "$plate" <<<"$plates" && matched=$((matched + 1))
done
resent=$(grep -o "resent and already stored [0-9]*" "$work/node.log" | awk '{s+=$NF} END {print s+0}')
echo "exactly once: $n records for $n crossings ($matched read as the footage's plates;" \
  "$resent resend(s) answered 'already stored'), spool empty"
# 4. A lane that never ends (a looping replay stands in for a camera):
# SIGHUP reloads the node's vault addresses and TLS files; SIGTERM closes
# the crossing in hand and hands it over, so the vault holds every crossing
# the node formed.
sed -e 's/lane-1/lane-live/' -e 's/pace_fps: 0/pace_fps: 25 loop: true/' \
  -e 's|node/|live/|g' "$work/node.textproto" >"$work/live.textproto"
"$bin/lanevault-lane" --config "$work/live.textproto" --status_every_s 0 >"$work/live.log" 2>&1 &
node=$!
for _ in $(seq 1 150); do grep -q "capture node up" "$work/live.log" && break; sleep 0.2; done
# A loaded machine reads the looping footage slower than its 25 frames/s:
# wait (up to a minute) for the live lane's first crossing in the vault, so
# the SIGTERM below has formed at least one to account for.
records() {
  ctl record search --purpose vehicle-inspection --limit 50 --json |
    grep -o 'rh_[0-9a-f]\{42\}' | sort -u | grep -c rh_ || true
}
for _ in $(seq 1 30); do sleep 2; [[ $(records) -gt $n ]] && break; done
kill -HUP "$node"
sleep 3
kill -TERM "$node"
wait "$node" || fail "the live node did not exit cleanly on SIGTERM"
node=
grep -q "SIGHUP: vault addresses and TLS files reloaded" "$work/live.log" ||
  fail "SIGHUP not taken: $(tail -3 "$work/live.log")"
formed=$(awk '/^lane lane-live/ {for (i = 1; i < NF; i++) if ($i == "crossings") print $(i + 1)}' "$work/live.log")
[[ ${formed:-0} -ge 1 ]] || fail "the live lane formed no crossing: $(tail -5 "$work/live.log")"
total=$(records)
[[ $((total - n)) -eq $formed ]] ||
  fail "the live lane formed $formed crossing(s), the vault holds $((total - n))"
echo "SIGTERM: all $formed crossing(s) the live lane formed are in the vault"

kill -TERM "$vault"
wait "$vault" || fail "the vault did not exit cleanly"
vault=
echo "1 passed, 0 failed"
