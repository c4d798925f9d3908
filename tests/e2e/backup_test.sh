#!/usr/bin/env bash
# Backup and restore with the real programs: 'lanevaultctl backup' while the
# daemon serves (officers only, into the daemon's own 0700 directory); a
# restore refused while the daemon runs and for a damaged file, leaving the
# vault as it was; 'lanevaultd --restore_from' puts the backup in place,
# keeps the old database aside, logs and alerts, and serves a log that
# verifies, while an auditor who kept a checkpoint from after the backup sees
# that history was cut.
#   backup_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
bin=$2/src/cmd
work=$(mktemp -d "${TMPDIR:-/tmp}/lanevault-backup-XXXXXX")
daemon=
cleanup() {
  [[ -n "$daemon" ]] && kill "$daemon" 2>/dev/null; [[ -n "$daemon" ]] && { wait "$daemon" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $work/daemon.log ]] && tail -30 "$work/daemon.log" >&2; exit 1; }

"$src/deploy/pki/make-dev-pki.sh" "$work/pki" >/dev/null
"$bin/lanevault-footage" --out "$work/footage" --plates KXR4821,MVB7350 >/dev/null
mkdir -m 700 "$work/keys"
cat >"$work/d.textproto" <<CONF
listen: "127.0.0.1:0"
port_file: "port"
state_dir: "state"
tls { ca_cert: "pki/ca.pem" server_cert: "pki/server.pem" server_key: "pki/server.key" }
vault { database: "vault/lanevault.db" master_key: "keys/master.key" checkpoint_interval_s: 0.2 }
lanes { lane_id: "lane-1" checkpoint_id: "cp" source: "folder:footage/frames" pace_fps: 0 }
api { canary_every: -1 }
CONF
cd "$work"
"$bin/lanevaultd" --dev_master_key_file --config d.textproto --init_master_key >/dev/null

daemon_flags=(--dev_master_key_file --config d.textproto --dev_builtin_policy)
start_daemon() {
  rm -f port
  "$bin/lanevaultd" "${daemon_flags[@]}" "$@" >>daemon.log 2>&1 &
  daemon=$!
  for _ in $(seq 1 150); do [[ -s port ]] && break; sleep 0.2; done
  [[ -s port ]] || fail "daemon did not start"
  port=$(cat port)
}
stop_daemon() { kill -TERM "$daemon"; wait "$daemon" || fail "unclean exit"; daemon=; }
ctl() { "$bin/lanevaultctl" --server "127.0.0.1:$port" --ca pki/ca.pem "$@"; }
as() { echo --cert "pki/$1-dev.pem" --key "pki/$1-dev.key"; }
stored() { grep -c "stored record" daemon.log || true; }

start_daemon
for _ in $(seq 1 300); do [[ $(stored) -ge 2 ]] && break; sleep 0.1; done
[[ $(stored) -ge 2 ]] || fail "the crossings were not stored"

# 1. Only an officer backs up, and the daemon says where.
if ctl $(as inspector) backup >/dev/null 2>&1; then fail "an inspector backed up"; fi
out=$(ctl $(as compliance) backup) || fail "backup: $out"
echo "$out"
backup=$(sed -n 's/^backup written on the vault host: \(.*\) (.*$/\1/p' <<<"$out")
[[ $backup == "$work/state/backups/lanevault-"*.db || $backup == state/backups/lanevault-*.db ]] ||
  fail "backup is not in the daemon's directory: $backup"
[[ $backup == /* ]] || backup=$work/$backup
[[ $(stat -c %a "$backup") == 600 ]] || fail "backup readable by others"
[[ $(stat -c %a state/backups) == 700 ]] || fail "backup directory open to others"
grep -q "records: 2," <<<"$out" || fail "the backup does not hold the 2 records"
grep -q "^lanevault.dev/audit$" <<<"$out" || fail "no checkpoint printed"

# An auditor keeps a checkpoint taken after the backup.
log_key=$("$bin/lanevaultd" --dev_master_key_file --config d.textproto --print_log_key)
auditor=($(as auditor) --log_key "$log_key")
ctl $(as compliance) alerts list >/dev/null  # one more entry after the backup
sleep 0.5
ctl "${auditor[@]}" --state after-backup audit verify >/dev/null || fail "audit verify"

# 2. Refused while the daemon runs, and for a damaged file: nothing moves.
if out=$(timeout 60 "$bin/lanevaultd" "${daemon_flags[@]}" --restore_from "$backup" 2>&1); then
  fail "a restore ran beside the serving daemon"
fi
grep -q "stop the daemon" <<<"$out" || fail "the refusal does not say why: $out"
stop_daemon
cp "$backup" damaged.db
printf 'garbage%.0s' $(seq 1 2000) | dd of=damaged.db bs=1 seek=5000 conv=notrunc 2>/dev/null
if out=$(timeout 60 "$bin/lanevaultd" "${daemon_flags[@]}" --restore_from damaged.db 2>&1); then
  fail "a damaged backup was restored"
fi
grep -q "is refused" <<<"$out" || fail "the refusal does not say why: $out"
ls vault | grep before-restore >/dev/null && fail "a refused restore moved the database"
echo "damaged backup: refused"

# 3. The restore: the old database kept aside, logged, alerted, served.
start_daemon --restore_from "$backup"
aside=$(ls vault | grep 'lanevault.db.before-restore-' | head -1)
[[ -n $aside ]] || fail "the database that was in place is not kept aside"
alerts=$(ctl $(as compliance) alerts list)
grep -q "restored_from_backup" <<<"$alerts" || fail "no restore alert: $alerts"
ctl "${auditor[@]}" --state fresh audit verify --full >/dev/null ||
  fail "the restored log does not verify"
if ctl "${auditor[@]}" --state after-backup audit verify >/dev/null 2>&1; then
  fail "an auditor's checkpoint from after the backup still verified"
fi
echo "restored; kept aside: vault/$aside; an auditor's later checkpoint shows the cut"
stop_daemon

# 4. And it starts again as any vault does.
start_daemon
ctl "${auditor[@]}" --state fresh audit verify >/dev/null || fail "verify after restart"
stop_daemon
echo "PASS"
