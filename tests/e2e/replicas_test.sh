#!/usr/bin/env bash
# Two lanevaultd replicas on one real PostgreSQL server (issue 32): two
# capture nodes, each given both replicas' addresses, replay footage while
# an auditor and an inspector read through `--server A,B`; the replica
# holding the role (checkpoints, retention) is killed with SIGKILL mid-run.
# At the end every crossing of both nodes is stored exactly once, the log
# verifies with `audit verify --full`, and the checkpoint the survivor
# signed extends the one its predecessor signed (one tree, no fork).
# Each replica has its own key store file, as on separate machines: KEKs
# and the log's signing seed reach the other over the key hand-over
# (mutual TLS, replica certificates), never through the database; the
# killed holder's key store is deleted (its machine lost) and the survivor
# must hold every KEK a stored item is wrapped under.
# Prints the time from the kill to the survivor's first checkpoint.
#   replicas_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
bin=$2/src/cmd
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [[ -z $pgbin || ! -x $pgbin/initdb ]] || ! command -v psql >/dev/null; then
  echo "SKIP: no PostgreSQL server binaries (Debian's postgresql)"
  exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/lanevault-replicas-XXXXXX")
# The cluster's folder belongs to the user the server runs as: initdb
# refuses root, so as root (CI) that is nobody.
pg=$(mktemp -d /tmp/lanevault-pg-XXXXXX)
run_pg=()
if [[ $(id -u) -eq 0 ]]; then
  chown nobody "$pg"
  run_pg=(runuser -u nobody --)
fi
pids=()
cleanup() {
  # Keeps the script's own exit status: nothing here may fail under -e
  # (most of these processes have ended already).
  for p in "${pids[@]}"; do
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  "${run_pg[@]}" "$pgbin/pg_ctl" -D "$pg/data" -m immediate -w stop >/dev/null 2>&1 || true
  [[ -n ${LANEVAULT_KEEP_WORK:-} ]] || rm -rf "$work" "$pg" || true
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in a.log b.log node1.log node2.log reads.log; do
    [[ -f $work/$f ]] && { echo "--- $f" >&2; tail -20 "$work/$f" >&2; }
  done
  exit 1
}

"${run_pg[@]}" "$pgbin/initdb" -D "$pg/data" -A trust -U lanevault -E UTF8 \
  --no-sync --no-instructions >"$work/initdb.log" 2>&1 || fail "initdb: $(tail -3 "$work/initdb.log")"
"${run_pg[@]}" "$pgbin/pg_ctl" -D "$pg/data" -l "$pg/server.log" -w -t 60 \
  -o "-k $pg -c listen_addresses='' -c fsync=on" start >/dev/null || fail "pg_ctl start"
sql() { psql -X -q -t -A -h "$pg" -U lanevault -d postgres -c "$1"; }

cd "$work"
"$src/deploy/pki/make-dev-pki.sh" pki >/dev/null
# The replicas' own client certificates (CN = the principal the other
# replica lists in replica_peers).
for r in a b; do
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >pki/replica.ext
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "pki/replica-$r.key" -out "pki/replica-$r.csr" \
    -subj "/O=lanevault dev/CN=replica-$r" 2>/dev/null
  openssl x509 -req -in "pki/replica-$r.csr" -CA pki/ca.pem -CAkey pki/ca.key \
    -CAcreateserial -out "pki/replica-$r.pem" -days 2 -extfile pki/replica.ext 2>/dev/null
  chmod 600 "pki/replica-$r.key"
done
plates=KXR4821,MVB7350,TJD2290
"$bin/lanevault-footage" --out footage --plates "$plates" >/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port_a=$(free_port)
port_b=$(free_port)
keys_port_a=$(free_port)
keys_port_b=$(free_port)
mkdir -m 700 keys keys-a keys-b
for r in a b; do
  port=$port_a keys_port=$keys_port_a other=b
  [[ $r == b ]] && port=$port_b keys_port=$keys_port_b other=a
  # One database and master key; each replica its own key store (its own
  # disk), key hand-over listener, port and state directory.
  cat >"$r.textproto" <<CONF
listen: "127.0.0.1:$port"
state_dir: "state-$r"
tls { ca_cert: "pki/ca.pem" server_cert: "pki/server.pem" server_key: "pki/server.key" }
vault {
  postgres {
    host: "$pg" dbname: "postgres" user: "lanevault"
    replica_listen: "127.0.0.1:$keys_port"
    replica_peers: "replica-$other"
    replica_server_names { key: "replica-$other" value: "localhost" }
    replica_client_cert: "pki/replica-$r.pem"
    replica_client_key: "pki/replica-$r.key"
  }
  key_store: "keys-$r/vault.keys"
  master_key: "keys/master.key"
  checkpoint_interval_s: 0.5
}
api { canary_every: -1 }
ops { metrics_listen: "off" }
CONF
done
"$bin/lanevaultd" --dev_master_key_file --config a.textproto --init_master_key >/dev/null
"$bin/lanevaultd" --dev_master_key_file --config a.textproto --print_intake_key >intake.pub
log_key=$("$bin/lanevaultd" --dev_master_key_file --config a.textproto --print_log_key)

declare -A vault_pid
start_replica() {
  "$bin/lanevaultd" --dev_master_key_file --config "$1.textproto" --dev_builtin_policy >>"$1.log" 2>&1 &
  vault_pid[$1]=$!
  pids+=($!)
  for _ in $(seq 1 150); do
    grep -q "API listening" "$1.log" && return
    kill -0 "${vault_pid[$1]}" 2>/dev/null || fail "replica $1 did not start"
    sleep 0.1
  done
  fail "replica $1 did not start listening"
}
start_replica a
start_replica b

for n in 1 2; do
  # Node 1 prefers replica a, node 2 replica b: intake reaches both.
  first=$port_a second=$port_b
  [[ $n == 2 ]] && first=$port_b second=$port_a
  cat >"node$n.textproto" <<CONF
vault: "127.0.0.1:$first"
vault: "127.0.0.1:$second"
ca_cert: "pki/ca.pem"
cert: "pki/lane-dev.pem"
key: "pki/lane-dev.key"
intake_public_key: "@intake.pub"
vault_server_name: "localhost"
spool { dir: "node$n/spool" }
state_dir: "node$n/state"
submit_timeout_s: 2
lanes { lane_id: "lane-$n" checkpoint_id: "cp" source: "folder:footage/frames" pace_fps: 40 }
CONF
  "$bin/lanevault-lane" --config "node$n.textproto" --exit_when_lanes_done \
    --status_every_s 0 >>"node$n.log" 2>&1 &
  pids+=($!)
  eval "node$n=$!"
done

ctl() {
  "$bin/lanevaultctl" --server "127.0.0.1:$port_a,127.0.0.1:$port_b" --ca pki/ca.pem \
    --cert "pki/$1-dev.pem" --key "pki/$1-dev.key" "${@:2}"
}
# Reads meanwhile: an inspector's searches and an auditor's log queries,
# spread over both replicas.
(
  for i in $(seq 1 400); do
    ctl inspector record search --purpose vehicle-inspection --limit 5 >/dev/null 2>>reads.log &&
      echo ok >>reads.log
    "$bin/lanevaultctl" --server "127.0.0.1:$( ((i % 2)) && echo "$port_a" || echo "$port_b")" \
      --ca pki/ca.pem --cert pki/auditor-dev.pem --key pki/auditor-dev.key \
      audit query --limit 1 >/dev/null 2>>reads.log && echo ok >>reads.log
    [[ -f stop-reads ]] && break
    sleep 0.3  # two cores: leave the lanes and the replicas room
  done
) &
pids+=($!)
readers=$!

# The role holder: the replica whose log says it took the role.
holder=
for _ in $(seq 1 100); do
  a_took=$(grep -c "replica role taken" a.log || true)
  b_took=$(grep -c "replica role taken" b.log || true)
  if [[ $a_took -gt 0 && $b_took -eq 0 ]]; then holder=a; break; fi
  if [[ $b_took -gt 0 && $a_took -eq 0 ]]; then holder=b; break; fi
  [[ $a_took -gt 0 && $b_took -gt 0 ]] && fail "both replicas took the role"
  sleep 0.1
done
[[ -n $holder ]] || fail "no replica took the role"
survivor=b
[[ $holder == b ]] && survivor=a
# Mid-run: once both lanes have records stored.
for _ in $(seq 1 400); do
  [[ $(sql "SELECT count(DISTINCT lane_id) FROM records") -ge 2 ]] && break
  sleep 0.1
done
checkpoints_before=$(sql "SELECT count(*) FROM audit_checkpoints")
[[ $checkpoints_before -ge 1 ]] || fail "the holder signed no checkpoint"
# An auditor verifies the holder's newest checkpoint (and keeps it).
out=$(ctl auditor --log_key "$log_key" --state "$work/audit-state" audit verify 2>&1) ||
  fail "audit verify before the kill: $out"
size_verified=$(sed -n 's/^verified: signed checkpoint of \([0-9]*\) entries.*/\1/p' <<<"$out")
[[ -n $size_verified ]] || fail "audit verify said: $out"
size_before=$(sql "SELECT max(tree_size) FROM audit_checkpoints")
stored_before=$(sql "SELECT count(*) FROM records")
[[ $stored_before -ge 1 ]] || fail "nothing stored before the kill"

killed_at=$(date +%s.%N)
kill -9 "${vault_pid[$holder]}"
wait "${vault_pid[$holder]}" 2>/dev/null || true
# Its machine is lost, and its key store with it.
rm -rf "keys-$holder"
took_over=
for _ in $(seq 1 300); do
  if [[ $(sql "SELECT count(*) FROM audit_checkpoints WHERE tree_size > $size_before") -ge 1 ]] &&
    grep -q "replica role taken" "$survivor.log"; then
    took_over=$(date +%s.%N)
    break
  fi
  sleep 0.05
done
[[ -n $took_over ]] || fail "no checkpoint signed within 15 s of killing the holder"
echo "replica $holder (the role holder) killed with SIGKILL after $stored_before record(s);" \
  "replica $survivor signed the next checkpoint $(python3 -c "print(f'{$took_over - $killed_at:.2f}')") s later"

# The nodes finish on the survivor.
for n in 1 2; do
  eval "p=\$node$n"
  for _ in $(seq 1 600); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && fail "node $n did not finish within 60 s"
  wait "$p" || fail "node $n exited with an error"
  left=$(find "node$n/spool" -maxdepth 1 -name '*.rec' | wc -l)
  [[ $left -eq 0 ]] || fail "node $n left $left record(s) in its spool"
done
touch stop-reads
wait "$readers" || true
reads=$(grep -c '^ok$' reads.log || true)
[[ $reads -ge 4 ]] || fail "only $reads read(s) answered"

# Exactly once: each lane's crossings as its node formed and had
# acknowledged them, no more, no fewer (a resent record has the same id and
# is answered 'already stored').
total=0
for n in 1 2; do
  formed=$(awk -v l="lane-$n" '$1 == "lane" && $2 == l {for (i = 1; i < NF; i++) if ($i == "crossings") print $(i + 1)}' "node$n.log")
  [[ ${formed:-0} -ge 1 ]] || fail "node $n formed no crossing"
  got=$(sql "SELECT count(*) FROM records WHERE lane_id = 'lane-$n'")
  [[ $got -eq $formed ]] || fail "lane-$n: $got records stored for $formed crossings formed"
  total=$((total + formed))
done
searched=$(ctl inspector record search --purpose vehicle-inspection --limit 50 --json)
ids=$(grep -o 'rh_[0-9a-f]\{42\}' <<<"$searched" | sort -u | grep -c rh_ || true)
[[ $ids -eq $total ]] || fail "the API finds $ids records, not $total"

# The survivor's own key store holds every KEK a stored item is wrapped
# under, and the database none (its registry lists versions only).
in_use=$(sql "SELECT string_agg(DISTINCT key_version::text, ',' ORDER BY key_version::text) FROM items")
[[ -n $in_use ]] || fail "no item names a key version"
held=$(python3 -c "import sqlite3,sys; print(','.join(str(v) for (v,) in sqlite3.connect(sys.argv[1]).execute('SELECT version FROM keks')))" "keys-$survivor/vault.keys")
for v in ${in_use//,/ }; do
  [[ ,$held, == *,$v,* ]] || fail "key version $v wraps stored items but is not in the survivor's key store ($held)"
done
[[ $(sql "SELECT count(*) FROM kek_registry WHERE shared_us IS NOT NULL") -ge 1 ]] ||
  fail "no KEK was registered as shared"
grep -q "signing seed was handed over" a.log b.log ||
  fail "the second replica did not take the log's signing seed from the first"

# One log: every entry recomputed into the survivor's newest checkpoint,
# which extends the one verified before the kill.
sleep 1
out=$(ctl auditor --log_key "$log_key" --state "$work/audit-state" audit verify --full 2>&1) ||
  fail "audit verify --full: $out"
consistent=$(grep -c "consistent with the $size_verified verified before" <<<"$out" || true)
[[ $consistent -eq 1 ]] || fail "not shown consistent with the checkpoint before the kill: $out"
echo "$out"
echo "exactly once: $total records for the $total crossings the two nodes formed; $reads reads answered"
echo "key versions $in_use wrap the stored items; the survivor's own key store holds $held"
echo "1 passed, 0 failed"
