#!/usr/bin/env bash
# Unseal mode end to end, every part real: a key-file vault moved into
# unseal mode (3 of 5), the sealed daemon refusing all but health and
# UnsealService over mutual TLS, K-1 shares not enough, wrong shares named,
# non-officers refused, K shares unsealing, a rekey while the daemon serves
# (new shares work, old ones do not, the data stays readable), a console
# unseal, and no file anywhere under the work folder holding the master key.
#   unseal_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
bin=$2/src/cmd
scan=$2/tests/seal_scan
work=$(mktemp -d "${TMPDIR:-/tmp}/lanevault-unseal-XXXXXX")
daemon=
cleanup() {
  [[ -n "$daemon" ]] && kill "$daemon" 2>/dev/null; [[ -n "$daemon" ]] && { wait "$daemon" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $work/daemon.log ]] && tail -20 "$work/daemon.log" >&2; exit 1; }
passed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }

"$src/deploy/pki/make-dev-pki.sh" "$work/pki" >/dev/null
"$bin/lanevault-footage" --out "$work/footage" --plates KXR4821 >/dev/null
mkdir -m 700 "$work/keys"

# Phase 1: a development key-file vault with one record in it.
cat >"$work/keyfile.textproto" <<CONF
listen: "127.0.0.1:0"
port_file: "port"
state_dir: "state"
tls { ca_cert: "pki/ca.pem" server_cert: "pki/server.pem" server_key: "pki/server.key" }
vault { database: "state/vault/lanevault.db" master_key: "keys/master.key" }
lanes { lane_id: "lane-e2e" checkpoint_id: "cp-e2e" source: "folder:footage/frames" }
api { canary_every: -1 }
CONF
"$bin/lanevaultd" --config "$work/keyfile.textproto" --init_master_key >/dev/null
if out=$("$bin/lanevaultd" --config "$work/keyfile.textproto" --dev_builtin_policy 2>&1); then
  fail "key-file mode started without --dev_master_key_file"
fi
grep -q -- "--dev_master_key_file" <<<"$out" || fail "unclear refusal: $out"
ok "key-file mode refused without --dev_master_key_file"
"$bin/lanevaultd" --config "$work/keyfile.textproto" --dev_builtin_policy \
  --dev_master_key_file --exit_when_lanes_done >"$work/keyfile.log" 2>&1 ||
  fail "key-file run failed: $(tail -5 "$work/keyfile.log")"
grep -q "DEVELOPMENT KEY FILE" "$work/keyfile.log" || fail "no key-file warning"
ok "key-file mode runs with the flag, and warns"

# Phase 2: into unseal mode, 3 of 5, around the key file's master key.
cat >"$work/d.textproto" <<CONF
listen: "127.0.0.1:0"
port_file: "port"
state_dir: "state"
tls { ca_cert: "pki/ca.pem" server_cert: "pki/server.pem" server_key: "pki/server.key" }
vault { database: "state/vault/lanevault.db" master_key: "keys/master.key" seal_file: "state/unseal.seal" }
api { canary_every: -1 }
CONF
out=$("$bin/lanevaultd" --config "$work/d.textproto" --init_unseal 3/5 --share_dir "$work/shares")
grep -q "SHRED THAT FILE NOW" <<<"$out" || fail "migration did not say to shred: $out"
[[ $(stat -c %a "$work/shares") == 700 && $(stat -c %a "$work/shares/share-1-of-5") == 600 ]] ||
  fail "share files not private"
s() { echo "$work/shares/share-$1-of-5"; }
# The control: the scan sees the key where it is (the key file).
"$scan" "$work/state/unseal.seal" "$work" "$(s 1)" "$(s 2)" "$(s 3)" --expect_found >"$work/scan.out" ||
  fail "control scan did not find the master key in the key file: $(cat "$work/scan.out")"
grep -q "found in $work/keys/master.key" "$work/scan.out" || fail "control found it elsewhere"
shred -u "$work/keys/master.key"
ok "migrated into unseal mode; the scan finds the old key file (control); shredded"
if "$bin/lanevaultd" --config "$work/d.textproto" --init_unseal 2/3 --share_dir "$work/x" >/dev/null 2>&1; then
  fail "a second init replaced the seal file"
fi

# A share of another set, for later.
sed 's|state/unseal.seal|other/unseal.seal|; s|state/vault|other/vault|' "$work/d.textproto" >"$work/other.textproto"
"$bin/lanevaultd" --config "$work/other.textproto" --init_unseal 3/5 --share_dir "$work/other-shares" >/dev/null

start() {
  rm -f "$work/port"
  "$bin/lanevaultd" --config "$work/d.textproto" --dev_builtin_policy >"$work/daemon.log" 2>&1 &
  daemon=$!
  for _ in $(seq 1 100); do [[ -s $work/port ]] && break; sleep 0.1; done
  [[ -s $work/port ]] || fail "daemon did not start"
  port=$(cat "$work/port")
}
stop() { kill -TERM "$daemon"; wait "$daemon" || fail "unclean exit"; daemon=; }
ctl() { "$bin/lanevaultctl" --server "127.0.0.1:$port" --ca "$work/pki/ca.pem" "$@"; }
as() { echo --cert "$work/pki/$1-dev.pem" --key "$work/pki/$1-dev.key"; }
give() { ctl $(as compliance) unseal --share_file "$1"; }
serving() {
  for _ in $(seq 1 100); do
    ctl $(as operator) lanes list >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

# Phase 3: sealed. A stop while sealed is clean.
start
grep -q "SEALED" "$work/daemon.log" || fail "no sealed banner"
stop
ok "a sealed daemon stops cleanly on SIGTERM"

start
for call in "$(as operator) lanes list" \
  "$(as inspector) record search --purpose vehicle-inspection" \
  "$(as auditor) audit checkpoint"; do
  if out=$(ctl $call 2>&1); then fail "served '$call' while sealed"; fi
  grep -q "sealed" <<<"$out" || fail "'$call' refused unclearly: $out"
done
ok "sealed: lanes, records and the audit log all refused (UNAVAILABLE, sealed)"
ctl $(as compliance) unseal status | grep "sealed: 0 of 3" >/dev/null || fail "status"
if out=$(ctl $(as inspector) unseal --share_file "$(s 1)" 2>&1); then
  fail "an inspector gave a share"
fi
grep -q "not bound to the compliance role" <<<"$out" || fail "unclear: $out"
ok "a principal not bound to the compliance role cannot give a share"
# A share given on the command line is not even possible: only file or stdin.
typo=$(sed 's/\(lvshare1-3of5-4-.\{12\}\)./\1x/' "$(s 4)")
if out=$(printf '%s\n' "$typo" | ctl $(as compliance) unseal 2>&1); then
  fail "a share with a typo was taken"
fi
grep -q "check digits do not match" <<<"$out" || fail "typo not named: $out"
if out=$(give "$work/other-shares/share-2-of-5" 2>&1); then fail "a share of another set was taken"; fi
grep -q "not of this seal's set" <<<"$out" || fail "foreign share not named: $out"
ok "a typo and a share of another set are named and refused"
give "$(s 1)" | grep "sealed: 1 of 3" >/dev/null || fail "share 1"
ctl $(as compliance) unseal <"$(s 4)" | grep "sealed: 2 of 3 shares held (1,4)" >/dev/null ||
  fail "share 4 on stdin"
if out=$(give "$(s 4)" 2>&1); then fail "share 4 taken twice"; fi
grep -q "already given" <<<"$out" || fail "repeat not named: $out"
if ctl $(as operator) lanes list >/dev/null 2>&1; then fail "served with K-1 shares"; fi
ok "K-1 shares: still sealed; a repeated share is refused"
give "$(s 5)" | grep "unsealed" >/dev/null || fail "share 5 did not unseal"
serving || fail "the full API did not come up after the unseal"
ids=$(ctl $(as inspector) record search --purpose vehicle-inspection --json |
  grep -o 'rh_[0-9a-f]\{42\}' | sort -u)
[[ $(echo "$ids" | grep -c rh_) -eq 1 ]] || fail "expected the key-file era's record, got: $ids"
ctl $(as inspector) record get "$ids" --purpose vehicle-inspection |
  grep -c "plate_text .*KXR4821" >/dev/null ||
  fail "record does not open"
ok "K shares unseal; the full API follows on the same port; the record opens"
log=$(ctl $(as auditor) audit query --limit 200 2>&1) || fail "audit query: $log"
[[ $(grep -c "unseal_share " <<<"$log") -eq 3 ]] || fail "not 3 accepted shares logged: $log"
grep -q "unseal_share_refused" <<<"$log" || fail "refused shares not logged"
grep -q "unsealed" <<<"$log" || fail "unseal not logged"
grep -q "unseal: compliance-dev gave share 5" "$work/daemon.log" || fail "no spdlog line"
ok "every share, refused ones too, and the unseal are in the access log"

# Phase 4: rekey to 2 of 3 while the daemon serves.
cat "$(s 2)" "$(s 3)" "$(s 5)" |
  "$bin/lanevaultd" --config "$work/d.textproto" --rekey_unseal 2/3 --shares_fd 0 \
    --share_dir "$work/new-shares" >"$work/rekey.out" 2>&1 || fail "rekey: $(cat "$work/rekey.out")"
ctl $(as operator) lanes list >/dev/null || fail "stopped serving during the rekey"
for _ in $(seq 1 50); do
  ctl $(as auditor) audit query --limit 500 2>&1 | grep "unseal_rekeyed" >/dev/null && break
  sleep 0.1
done
ctl $(as auditor) audit query --limit 500 | grep "unseal_rekeyed" >/dev/null ||
  fail "the rekey is not in the access log"
ok "rekeyed 3/5 -> 2/3 while serving; the daemon logged the new set"
stop
start
if out=$(give "$(s 1)" 2>&1); then fail "an old share was taken after the rekey"; fi
grep -q "not of this seal's set" <<<"$out" || fail "old share not named: $out"
give "$work/new-shares/share-3-of-3" | grep "sealed: 1 of 2" >/dev/null || fail "new share 3"
give "$work/new-shares/share-1-of-3" | grep "unsealed" >/dev/null || fail "new shares did not unseal"
serving || fail "not serving after the rekeyed unseal"
ctl $(as inspector) record get "$ids" --purpose vehicle-inspection |
  grep -c "plate_text .*KXR4821" >/dev/null ||
  fail "record does not open after the rekey"
ok "after the rekey: old shares refused, new ones unseal, the record still opens"
stop

# Phase 5: console paths. --print_log_key needs K shares on a descriptor.
if "$bin/lanevaultd" --config "$work/d.textproto" --print_log_key >/dev/null 2>&1 </dev/null; then
  fail "printed the log key without shares"
fi
if out=$("$bin/lanevaultd" --config "$work/d.textproto" --print_log_key --shares_fd 0 \
  <"$work/new-shares/share-2-of-3" 2>&1); then
  fail "K-1 shares on the console opened the vault"
fi
grep -q "1 of 2 good shares" <<<"$out" || fail "unclear: $out"
cat "$work/new-shares/share-2-of-3" "$work/new-shares/share-3-of-3" |
  "$bin/lanevaultd" --config "$work/d.textproto" --print_log_key --shares_fd 0 >"$work/log.pub" ||
  fail "console shares did not open the keys"
[[ -s $work/log.pub ]] || fail "no log key"
ok "console: K-1 shares refused, K print the log key"

# No file anywhere under the work folder (state, database, WAL, logs, the
# seal file, the shares) holds the master key.
"$scan" "$work/state/unseal.seal" "$work" "$work/new-shares/share-1-of-3" \
  "$work/new-shares/share-2-of-3" >"$work/scan.out" ||
  fail "$(cat "$work/scan.out")"
cat "$work/scan.out"
ok "no file holds the master key in unseal mode"
echo "$passed passed, 0 failed"
