#!/usr/bin/env bash
# One log format for everything lanevaultd logs, and no plate text in it:
# the daemon runs at --log_level=debug with --log_format=json over generated
# footage with known plates, a lane whose RTSP source refuses connections
# (FFmpeg's own "[tcp @ 0x…]" lines) and gRPC at its debug verbosity
# (gRPC's own lines); every line must be one JSON object, FFmpeg's and
# gRPC's among them, and no plate of the footage may appear anywhere.
#   logs_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
bin=$2/src/cmd
work=$(mktemp -d "${TMPDIR:-/tmp}/lanevault-logs-XXXXXX")
daemon=
cleanup() {
  [[ -n "$daemon" ]] && kill "$daemon" 2>/dev/null; [[ -n "$daemon" ]] && { wait "$daemon" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $work/daemon.log ]] && tail -20 "$work/daemon.log" >&2; exit 1; }

plates=KXR4821,MVB7350,TJD2290
"$src/deploy/pki/make-dev-pki.sh" "$work/pki" >/dev/null
"$src/deploy/pki/make-dev-pki.sh" "$work/other-pki" >/dev/null
"$bin/lanevault-footage" --out "$work/footage" --plates "$plates" >/dev/null

mkdir -m 700 "$work/keys"
cat >"$work/lanevaultd.textproto" <<CONF
listen: "127.0.0.1:0"
port_file: "port"
tls { ca_cert: "pki/ca.pem" server_cert: "pki/server.pem" server_key: "pki/server.key" }
vault { database: "vault/lanevault.db" master_key: "keys/master.key" }
lanes { lane_id: "lane-logs" checkpoint_id: "cp-logs" source: "folder:footage/frames" }
lanes { lane_id: "lane-down" checkpoint_id: "cp-logs" source: "rtsp://127.0.0.1:1/none" }
api { canary_every: -1 }
CONF
cd "$work"
"$bin/lanevaultd" --dev_master_key_file --config lanevaultd.textproto --init_master_key >/dev/null
# gRPC at its own debug verbosity, so that its lines surely come (and are
# searched for plates too).
GRPC_VERBOSITY=debug "$bin/lanevaultd" --dev_master_key_file --config lanevaultd.textproto \
  --dev_builtin_policy --log_level=debug --log_format=json >daemon.out 2>daemon.log &
daemon=$!
for _ in $(seq 1 100); do [[ -s port ]] && break; sleep 0.2; done
[[ -s port ]] || fail "daemon did not start"
port=$(cat port)
ctl() { "$bin/lanevaultctl" --server "127.0.0.1:$port" --ca pki/ca.pem "$@"; }
as_inspector=(--cert pki/inspector-dev.pem --key pki/inspector-dev.key)

# The footage's crossings stored (and read back: the plates were read, so
# the grep below looks for text that was in the process).
for _ in $(seq 1 300); do
  n=$(ctl "${as_inspector[@]}" record search --purpose vehicle-inspection \
    --json 2>/dev/null | grep -o 'rh_[0-9a-f]\{42\}' | sort -u | wc -l) || n=0
  [[ $n -ge 3 ]] && break
  kill -0 "$daemon" 2>/dev/null || fail "daemon died"
  sleep 0.5
done
[[ $n -ge 3 ]] || fail "the footage's crossings were not stored ($n)"
read_plates=$(for id in $(ctl "${as_inspector[@]}" record search \
  --purpose vehicle-inspection --json | grep -o 'rh_[0-9a-f]\{42\}' | sort -u); do
  ctl "${as_inspector[@]}" record get "$id" --purpose vehicle-inspection
done | grep -o '[A-Z]\{3\}[0-9]\{4\}' | sort -u | tr '\n' ' ')
echo "plates read from the vault: $read_plates"
[[ -n $read_plates ]] || fail "no plate was read back"

# gRPC's own error line: a client of a CA the server does not trust.
ctl --cert other-pki/inspector-dev.pem --key other-pki/inspector-dev.key \
  record search --purpose vehicle-inspection >/dev/null 2>&1 || true
for _ in $(seq 1 60); do
  grep -q '"logger":"lanevaultd.ffmpeg"' daemon.log &&
    grep -q '"logger":"lanevaultd.grpc"' daemon.log && break
  sleep 0.5
done
kill -TERM "$daemon"
wait "$daemon" || fail "daemon did not exit cleanly on SIGTERM"
daemon=

lines=$(wc -l <daemon.log)
# Every line one object: ts, level, logger, msg, fields.
if bad=$(grep -v '^{"ts":"[0-9T:.-]*Z","level":"[a-z]*","logger":"[a-z.-]*","msg":".*","fields":{"thread":[0-9]*.*}}$' daemon.log); then
  fail "lines not in the JSON format: $(head -5 <<<"$bad")"
fi
grep -q '"logger":"lanevaultd.ffmpeg","msg":"\[tcp @ ' daemon.log ||
  fail "FFmpeg's lines did not come through the log"
grep -q '"logger":"lanevaultd.grpc"' daemon.log ||
  fail "gRPC's lines did not come through the log"
# The log is standard error; standard output has the end-of-run summary
# for people (ids and counts): neither may hold a plate.
for p in ${plates//,/ }; do
  if grep -n "$p" daemon.log daemon.out; then fail "plate text $p in the daemon's output"; fi
done
echo "logs: $lines JSON lines (gRPC's and FFmpeg's among them), no plate text"
