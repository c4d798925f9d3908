#!/usr/bin/env bash
# The daemons as systemd runs them, without systemd: NOTIFY_SOCKET is a unix
# datagram socket this test reads, and each program runs under the kernel's
# MemoryDenyWriteExecute (PR_SET_MDWE, what the units' MemoryDenyWriteExecute=
# asks of seccomp), so a library that needs writable code fails here first.
#   - lanevaultd: READY=1 once serving, WATCHDOG=1 while healthy, STOPPING=1.
#   - lanevault-lane: READY=1, WATCHDOG=1 while its lanes move, STOPPING=1,
#     replaying footage through OpenCV, the detectors and the plate reader.
#   - both refuse a key file others can read and a state folder others can
#     write, naming the path and the chmod that fixes it.
#   - with no --config, the daemons look in /etc/lanevault (FHS default).
#   service_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
bin=$2/src/cmd
command -v python3 >/dev/null || { echo "SKIP: python3 (the notify socket's reader) is missing"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/lanevault-service-XXXXXX")
vault= node= witness= listener= listener_vault=
cleanup() {
  for p in $node $vault $witness $listener $listener_vault; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in vault.log node.log notify-vault.log notify-node.log; do
    [[ -f $work/$f ]] && { echo "--- $f" >&2; tail -15 "$work/$f" >&2; }
  done
  exit 1
}
cd "$work"

# Runs a program with writable-and-executable memory refused (the flag is
# kept across execve), in the same process, so WATCHDOG_PID can name it.
cat >mdwe.py <<'PY'
import ctypes, os, sys
PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
    sys.exit("PR_SET_MDWE: " + os.strerror(ctypes.get_errno()))
os.execv(sys.argv[1], sys.argv[1:])
PY
# systemd's side: every datagram on the socket, one line each (newlines
# inside a message become '|'), until STOPPING=1 or 5 minutes of silence (a
# listener left behind must not outlive the test: it holds ctest's files).
cat >listen.py <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(300)
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        m = s.recv(4096).decode()
        out.write(m.replace("\n", "|") + "\n")
        if "STOPPING=1" in m:
            break
PY
listen() {  # SOCKET LOG
  python3 listen.py "$1" "$2" &
  listener=$!
  for _ in $(seq 1 50); do [[ -S $1 ]] && return; sleep 0.1; done
  fail "notify listener did not start"
}
wait_for() {  # PATTERN FILE SECONDS
  for _ in $(seq 1 $(($3 * 10))); do
    grep -q "$1" "$2" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
# Under systemd's eye: NOTIFY_SOCKET, a 6 s watchdog for this very process.
# Run in the background, it execs all the way down, so $! is the program.
as_service() {  # SOCKET PROGRAM ARGS...
  local sock=$1
  shift
  NOTIFY_SOCKET=$sock WATCHDOG_USEC=6000000 \
    exec bash -c 'export WATCHDOG_PID=$$; exec python3 mdwe.py "$@"' _ "$@"
}

"$src/deploy/pki/make-dev-pki.sh" pki >/dev/null
"$bin/lanevault-footage" --out footage --plates KXR4821,MVB7350 >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -m 700 keys
cat >d.textproto <<CONF
listen: "127.0.0.1:$port"
state_dir: "state"
tls { ca_cert: "pki/ca.pem" server_cert: "pki/server.pem" server_key: "pki/server.key" }
vault { database: "vault/lanevault.db" master_key: "keys/master.key" }
api { canary_every: -1 }
CONF
daemon=("$bin/lanevaultd" --dev_master_key_file --config d.textproto --dev_builtin_policy)
"${daemon[@]}" --init_master_key >/dev/null
"${daemon[@]}" --print_intake_key >intake.pub

# FHS default: no --config means /etc/lanevault.
if [[ ! -e /etc/lanevault/lanevaultd.textproto ]]; then
  out=$("$bin/lanevaultd" 2>&1) && fail "lanevaultd started without a config"
  grep -q "/etc/lanevault/lanevaultd.textproto" <<<"$out" ||
    fail "lanevaultd's default config is not /etc/lanevault/lanevaultd.textproto: $out"
fi
"$bin/lanevault-lane" --help 2>&1 | grep "/etc/lanevault/lanevault-lane.textproto" >/dev/null ||
  fail "lanevault-lane's default --config is not in /etc/lanevault"

# Permissions: a readable TLS key, a vault folder others can write.
chmod 644 pki/server.key
out=$("${daemon[@]}" 2>&1) && fail "lanevaultd started with a world-readable TLS key"
grep -q "chmod 600 .*server.key" <<<"$out" || fail "no chmod 600 fix named: $out"
chmod 600 pki/server.key
chmod 777 vault
out=$("${daemon[@]}" 2>&1) && fail "lanevaultd started on a vault folder others can write"
grep -q "chmod o-w .*vault" <<<"$out" || fail "no chmod o-w fix named: $out"
chmod 700 vault

listen "$work/vault.sock" notify-vault.log
as_service "$work/vault.sock" "${daemon[@]}" >>vault.log 2>&1 &
vault=$!
wait_for "READY=1" notify-vault.log 60 || fail "lanevaultd sent no READY=1"
grep -q "READY=1|STATUS=serving on port $port" notify-vault.log ||
  fail "READY=1 without the serving status"
wait_for "WATCHDOG=1" notify-vault.log 20 || fail "lanevaultd sent no WATCHDOG=1"

cat >node.textproto <<CONF
vault: "127.0.0.1:$port"
ca_cert: "pki/ca.pem"
cert: "pki/lane-dev.pem"
key: "pki/lane-dev.key"
intake_public_key: "@intake.pub"
vault_server_name: "localhost"
spool { dir: "node/spool" }
state_dir: "node/state"
lanes { lane_id: "lane-1" checkpoint_id: "cp" source: "folder:footage/frames" pace_fps: 0 }
CONF
lane=("$bin/lanevault-lane" --config node.textproto)
chmod 644 pki/lane-dev.key
out=$("${lane[@]}" 2>&1) && fail "lanevault-lane started with a world-readable key"
grep -q "chmod 600 .*lane-dev.key" <<<"$out" || fail "no chmod 600 fix named: $out"
chmod 600 pki/lane-dev.key
mkdir -p node/spool && chmod 777 node/spool
out=$("${lane[@]}" 2>&1) && fail "lanevault-lane started on a spool others can write"
grep -q "spool.dir: .*chmod o-w .*node/spool" <<<"$out" || fail "no chmod o-w fix named: $out"
chmod 700 node/spool

listener_vault=$listener
listen "$work/node.sock" notify-node.log
# Not --exit_when_lanes_done: a node that finishes before its first ping
# would show nothing of the watchdog. Its status line says when all is sent.
as_service "$work/node.sock" "${lane[@]}" --status_every_s 1 >>node.log 2>&1 &
node=$!
wait_for "READY=1" notify-node.log 60 || fail "lanevault-lane sent no READY=1"
wait_for "WATCHDOG=1" notify-node.log 30 || fail "lanevault-lane sent no WATCHDOG=1"
wait_for "lane-1 FINISHED.*spool 0 waiting" node.log 180 ||
  fail "the lane did not finish and send its spool"
kill -TERM "$node"
wait "$node" || fail "lanevault-lane failed under MemoryDenyWriteExecute"
node=
grep -q "STOPPING=1" notify-node.log || fail "lanevault-lane sent no STOPPING=1"
grep -Eq "crossings [1-9]" node.log || fail "the lane formed no crossing"
grep -q "sent [1-9]" node.log || fail "the node sent nothing to the vault"

kill -TERM "$vault"
wait "$vault" || fail "lanevaultd did not stop cleanly under MemoryDenyWriteExecute"
vault=
wait_for "STOPPING=1" notify-vault.log 10 || fail "lanevaultd sent no STOPPING=1"
wait "$listener_vault" 2>/dev/null || true

# The witness: READY once serving, WATCHDOG=1 while its server answers.
"$bin/lanevault-witness" --name witness.test/w1 --key w/w1.key --init_key >/dev/null
log_key=$("${daemon[@]}" --print_log_key)
chmod 777 w
out=$("$bin/lanevault-witness" --name witness.test/w1 --key w/w1.key --log_keys "$log_key" \
  --state_dir w/state --listen 127.0.0.1:0 2>&1) && fail "the witness started in a folder others can write"
grep -q "chmod o-w .*/w\b" <<<"$out" || fail "no chmod o-w fix named: $out"
chmod 700 w
listen "$work/witness.sock" notify-witness.log
as_service "$work/witness.sock" "$bin/lanevault-witness" --name witness.test/w1 --key w/w1.key \
  --log_keys "$log_key" --state_dir w/state --listen 127.0.0.1:0 >>witness.log 2>&1 &
witness=$!
wait_for "READY=1" notify-witness.log 30 || fail "the witness sent no READY=1"
wait_for "WATCHDOG=1" notify-witness.log 20 || fail "the witness sent no WATCHDOG=1"
kill -TERM "$witness"
wait "$witness" || fail "the witness did not stop cleanly under MemoryDenyWriteExecute"
witness=
wait_for "STOPPING=1" notify-witness.log 10 || fail "the witness sent no STOPPING=1"
echo "PASS: READY/WATCHDOG/STOPPING from the three daemons under MDWE; key and folder permissions refused"
