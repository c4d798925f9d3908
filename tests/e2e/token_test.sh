#!/usr/bin/env bash
# Token mode end to end with a real SoftHSM2: a key-file vault moved into
# shares-or-token mode (2 of 3 shares, and the master key wrapped by the
# token's root key), the daemon opening the vault at start with no one
# present, the open in the access log, no file under the work folder holding
# the master key, a wrong PIN refused (token-only) or falling back to the
# shares (shares-or-token), and a remade token whose key of the same label
# opens nothing. Exits 77 (skipped) when softhsm2 is not installed.
#   token_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
bin=$2/src/cmd
scan=$2/tests/seal_scan
module=/usr/lib/softhsm/libsofthsm2.so
if [[ ! -r $module ]] || ! command -v softhsm2-util >/dev/null; then
  echo "SKIP: softhsm2 is not installed (scripts/install-deps.sh installs it)"
  exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/lanevault-token-XXXXXX")
daemon=
cleanup() {
  [[ -n "$daemon" ]] && kill "$daemon" 2>/dev/null; [[ -n "$daemon" ]] && { wait "$daemon" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $work/daemon.log ]] && tail -20 "$work/daemon.log" >&2; exit 1; }
passed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
cd "$work"

# The token: SoftHSM2 with its token folder in the work folder.
mkdir -m 700 hsm hsm/tokens
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$work/hsm/tokens" >hsm/softhsm2.conf
export SOFTHSM2_CONF=$work/hsm/softhsm2.conf
pin=Qz-pin-31415926 # letters: no hex id in a log can look like it
softhsm2-util --init-token --free --label lanevault --pin "$pin" --so-pin 27182818 >/dev/null
(umask 077; printf '%s\n' "$pin" >hsm/pin; printf '00000000\n' >hsm/wrong-pin)

"$src/deploy/pki/make-dev-pki.sh" "$work/pki" >/dev/null
"$bin/lanevault-footage" --out "$work/footage" --plates KXR4821 >/dev/null
mkdir -m 700 keys

# Phase 1: a development key-file vault with one record in it.
common='listen: "127.0.0.1:0"
port_file: "port"
state_dir: "state"
tls { ca_cert: "pki/ca.pem" server_cert: "pki/server.pem" server_key: "pki/server.key" }
api { canary_every: -1 }'
token="token { module: \"$module\" token_label: \"lanevault\" pin_file: \"hsm/pin\" seal_file: \"state/token.seal\" }"
cat >keyfile.textproto <<CONF
$common
vault { database: "state/vault/lanevault.db" master_key: "keys/master.key" }
lanes { lane_id: "lane-e2e" checkpoint_id: "cp-e2e" source: "folder:footage/frames" }
CONF
"$bin/lanevaultd" --config keyfile.textproto --init_master_key >/dev/null
"$bin/lanevaultd" --config keyfile.textproto --dev_builtin_policy \
  --dev_master_key_file --exit_when_lanes_done >keyfile.log 2>&1 ||
  fail "key-file run failed: $(tail -5 keyfile.log)"
ok "a key-file vault with one record"

# Phase 2: shares (2 of 3) and the token around the key file's master key.
cat >both.textproto <<CONF
$common
vault { database: "state/vault/lanevault.db" master_key: "keys/master.key" seal_file: "state/unseal.seal" $token }
CONF
"$bin/lanevaultd" --config both.textproto --init_unseal 2/3 --share_dir shares >/dev/null
if out=$("$bin/lanevaultd" --config both.textproto --init_token 2>&1 </dev/null); then
  fail "--init_token wrapped a key without the shares"
fi
grep -q -- "--shares_fd" <<<"$out" || fail "unclear: $out"
cat shares/share-1-of-3 shares/share-3-of-3 |
  "$bin/lanevaultd" --config both.textproto --init_token --shares_fd 0 >init.out 2>&1 ||
  fail "--init_token: $(cat init.out)"
grep -q "created token seal file .*state/token.seal" init.out || fail "$(cat init.out)"
[[ $(stat -c %a state/token.seal) == 600 ]] || fail "token seal file not 0600"
if "$bin/lanevaultd" --config both.textproto --init_token --shares_fd 0 \
  <shares/share-1-of-3 >/dev/null 2>&1; then
  fail "a second --init_token replaced the token seal file"
fi
# The control: the scan sees the key where it is (the key file).
"$scan" state/unseal.seal "$work" shares/share-1-of-3 shares/share-2-of-3 --expect_found >scan.out ||
  fail "control scan did not find the master key: $(cat scan.out)"
grep -q "found in $work/keys/master.key" scan.out || fail "control found it elsewhere"
shred -u keys/master.key
ok "token seal made around the shares' master key (K shares on --shares_fd); key file shredded"

start() {  # CONFIG
  rm -f port
  "$bin/lanevaultd" --config "$1" --dev_builtin_policy >daemon.log 2>&1 &
  daemon=$!
  for _ in $(seq 1 300); do [[ -s port ]] && break; sleep 0.1; done
  [[ -s port ]] || fail "daemon did not start"
  port=$(cat port)
}
stop() { kill -TERM "$daemon"; wait "$daemon" || fail "unclean exit"; daemon=; }
ctl() { "$bin/lanevaultctl" --server "127.0.0.1:$port" --ca pki/ca.pem "$@"; }
as() { echo --cert "pki/$1-dev.pem" --key "pki/$1-dev.key"; }
serving() {
  for _ in $(seq 1 300); do
    ctl $(as operator) lanes list >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}
record_opens() {
  local id
  id=$(ctl $(as inspector) record search --purpose vehicle-inspection --json |
    grep -o 'rh_[0-9a-f]\{42\}' | sort -u | head -1)
  [[ -n $id ]] && ctl $(as inspector) record get "$id" --purpose vehicle-inspection |
    grep -c "plate_text .*KXR4821" >/dev/null
}

# Phase 3: the daemon opens the vault through the token, no share given.
start both.textproto
serving || fail "token mode did not serve without shares"
grep -q "master key opened by PKCS#11 token 'lanevault'" daemon.log || fail "mode not logged"
grep -q "SEALED" daemon.log && fail "went sealed although the token opens the key"
record_opens || fail "the key-file era's record does not open in token mode"
ctl $(as auditor) audit query --limit 200 --json | grep -c "by PKCS#11 token .lanevault. key .lanevault-root." >/dev/null ||
  fail "the token open is not in the access log"
grep -q "$pin" daemon.log && fail "the PIN is in the daemon's log"
stop
ok "token mode: served at start with no share, record opens, the open logged, no PIN in the log"

# Token only (no seal file): the same.
cat >token.textproto <<CONF
$common
vault { database: "state/vault/lanevault.db" $token }
CONF
start token.textproto
serving || fail "token-only did not serve"
record_opens || fail "record does not open token-only"
stop
ok "token-only mode serves as well"

# No file anywhere under the work folder (state, database, WAL, logs, both
# seal files, the token's own folder) holds the master key.
"$scan" state/unseal.seal "$work" shares/share-1-of-3 shares/share-2-of-3 >scan.out ||
  fail "$(cat scan.out)"
cat scan.out
ok "no file holds the master key in token mode (token folder included)"

# Phase 4: a wrong PIN. Token-only: refused, naming it. Shares-or-token:
# falls back to the shares.
sed 's|hsm/pin|hsm/wrong-pin|' token.textproto >wrong.textproto
if out=$("$bin/lanevaultd" --config wrong.textproto --dev_builtin_policy 2>&1); then
  fail "a wrong PIN opened the vault"
fi
grep -q "CKR_PIN_INCORRECT" <<<"$out" || fail "wrong PIN unclear: $out"
sed 's|hsm/pin|hsm/wrong-pin|' both.textproto >wrong-both.textproto
cat shares/share-2-of-3 shares/share-3-of-3 |
  "$bin/lanevaultd" --config wrong-both.textproto --print_log_key --shares_fd 0 >fallback.out 2>&1 ||
  fail "shares did not open after the token failed: $(cat fallback.out)"
grep -q "falling back to unseal by K shares" fallback.out || fail "no fallback said: $(cat fallback.out)"
ok "wrong PIN: token-only refuses (CKR_PIN_INCORRECT); shares-or-token falls back to the shares"
"$bin/lanevaultd" --config wrong.textproto --print_log_key --token_pin_fd 0 <hsm/pin >pinfd.out 2>&1 ||
  fail "--token_pin_fd did not open the vault: $(cat pinfd.out)"
grep -q "master key opened by PKCS#11 token" pinfd.out || fail "$(cat pinfd.out)"
ok "--token_pin_fd takes the PIN from a descriptor over the pin file"

# Phase 5: the token remade with the same label and a new key of the same
# label: the token seal file opens nothing; the shares still open the vault.
softhsm2-util --delete-token --token lanevault >/dev/null
softhsm2-util --init-token --free --label lanevault --pin "$pin" --so-pin 27182818 >/dev/null
if out=$("$bin/lanevaultd" --config token.textproto --dev_builtin_policy 2>&1); then
  fail "a remade token without the key opened the vault"
fi
grep -q "no AES key labelled 'lanevault-root'" <<<"$out" || fail "missing key unclear: $out"
sed 's|state/token.seal|state/other-token.seal|' token.textproto >other.textproto
mkdir -p scratch
sed 's|state/vault|scratch/vault|' other.textproto >other-init.textproto
"$bin/lanevaultd" --config other-init.textproto --init_token >/dev/null ||
  fail "could not make a key of the same label in the remade token"
if out=$("$bin/lanevaultd" --config token.textproto --dev_builtin_policy 2>&1); then
  fail "another key of the same label opened the vault"
fi
grep -q "does not open the wrapped secret" <<<"$out" || fail "wrong key unclear: $out"
cat shares/share-1-of-3 shares/share-2-of-3 |
  "$bin/lanevaultd" --config both.textproto --print_log_key --shares_fd 0 >shares.out 2>&1 ||
  fail "the shares no longer open the vault: $(cat shares.out)"
ok "remade token: its new key of the same label opens nothing; the shares still do"
echo "$passed passed, 0 failed"
