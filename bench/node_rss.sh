#!/usr/bin/env bash
# A capture node's memory while it runs two lanes: lanevault-lane replays
# generated footage on two looping lanes paced like cameras (25 frames/s)
# into a real lanevaultd over mutual TLS; its resident set is sampled once a
# second. Prints the peak and the last sample, and each lane's frames/s.
#   bench/node_rss.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$src/build}/src/cmd
seconds=${2:-40}
work=$(mktemp -d "${TMPDIR:-/tmp}/lanevault-node-rss-XXXXXX")
vault= node=
cleanup() {
  for p in $node $vault; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

"$src/deploy/pki/make-dev-pki.sh" "$work/pki" >/dev/null
"$bin/lanevault-footage" --out "$work/footage" --plates KXR4821,MVB7350,TJD2290 >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -m 700 "$work/keys"
cat >"$work/vault.textproto" <<CONF
listen: "127.0.0.1:$port"
tls { ca_cert: "pki/ca.pem" server_cert: "pki/server.pem" server_key: "pki/server.key" }
vault { database: "vault/lanevault.db" master_key: "keys/master.key" }
api { canary_every: -1 }
CONF
"$bin/lanevaultd" --dev_master_key_file --config "$work/vault.textproto" --init_master_key >/dev/null
"$bin/lanevaultd" --dev_master_key_file --config "$work/vault.textproto" --print_intake_key >"$work/intake.pub"
"$bin/lanevaultd" --dev_master_key_file --config "$work/vault.textproto" --dev_builtin_policy >"$work/vault.log" 2>&1 &
vault=$!
cat >"$work/node.textproto" <<CONF
vault: "127.0.0.1:$port"
vault_server_name: "localhost"
ca_cert: "pki/ca.pem" cert: "pki/lane-dev.pem" key: "pki/lane-dev.key"
intake_public_key: "@intake.pub"
spool { dir: "node/spool" }
lanes { lane_id: "lane-1" checkpoint_id: "cp" source: "file:footage/lane.avi" pace_fps: 25 loop: true }
lanes { lane_id: "lane-2" checkpoint_id: "cp" source: "folder:footage/frames" pace_fps: 25 loop: true }
CONF
sleep 1
"$bin/lanevault-lane" --config "$work/node.textproto" --status_every_s "$((seconds - 3))" >"$work/node.log" 2>&1 &
node=$!
peak=0 last=0
for _ in $(seq 1 "$seconds"); do
  sleep 1
  last=$(awk '/^VmRSS/ {print $2}' "/proc/$node/status")
  ((last > peak)) && peak=$last
done
sleep 1
echo "lanevault-lane, two lanes at 25 frames/s for ${seconds} s: RSS peak $((peak / 1024)) MiB, last $((last / 1024)) MiB"
grep "status:" "$work/node.log" | tail -1 | sed 's/.*status: /  /'
