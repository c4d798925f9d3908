#!/usr/bin/env bash
# A contract takes effect only when signed by enough trusted compliance keys;
# on SIGHUP a refused contract leaves the running one in force.
#   contract_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
bin=$2/src/cmd
work=$(mktemp -d "${TMPDIR:-/tmp}/lanevault-contract-XXXXXX")
daemon=
cleanup() {
  [[ -n "$daemon" ]] && kill "$daemon" 2>/dev/null; [[ -n "$daemon" ]] && { wait "$daemon" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $work/daemon.log ]] && tail -5 "$work/daemon.log" >&2; exit 1; }
ctl() { "$bin/lanevaultctl" "$@"; }

"$src/deploy/pki/make-dev-pki.sh" "$work/pki" >/dev/null
mkdir -m 700 "$work/keys"
ctl policy keygen --out "$work/keys/alice.key" >"$work/keys/alice.pub"
ctl policy keygen --out "$work/keys/bob.key" >"$work/keys/bob.pub"
ctl policy keygen --out "$work/keys/mallory.key" >/dev/null
pilot=$src/deploy/contracts/land-border-pilot.textproto
ctl policy sign "$pilot" --signing_key "$work/keys/alice.key" --key_name alice \
  --out "$work/one.signed" >/dev/null
ctl policy sign "$work/one.signed" --signing_key "$work/keys/mallory.key" \
  --key_name mallory --out "$work/one-and-mallory.signed" >/dev/null
ctl policy sign "$work/one.signed" --signing_key "$work/keys/bob.key" \
  --key_name bob --out "$work/two.signed" >/dev/null

config() {  # config SIGNED_FILE
  cat >"$work/d.textproto" <<CONF
listen: "127.0.0.1:0"
port_file: "port"
tls { ca_cert: "pki/ca.pem" server_cert: "pki/server.pem" server_key: "pki/server.key" }
vault { database: "vault/v.db" master_key: "keys/master.key" }
contract {
  signed_contract: "$1"
  trusted_keys { name: "alice" public_key_file: "keys/alice.pub" }
  trusted_keys { name: "bob" public_key_file: "keys/bob.pub" }
  required_signatures: 2
}
CONF
}
config "$work/one.signed"
"$bin/lanevaultd" --dev_master_key_file --config "$work/d.textproto" --init_master_key >/dev/null

# One signature where two are required: the daemon refuses to start.
if out=$("$bin/lanevaultd" --dev_master_key_file --config "$work/d.textproto" 2>&1); then
  fail "started with one of two signatures"
fi
grep -q "1 valid signature(s) by trusted compliance keys; 2 required" <<<"$out" ||
  fail "unclear refusal: $out"
# A second signature by an untrusted key does not count.
config "$work/one-and-mallory.signed"
if "$bin/lanevaultd" --dev_master_key_file --config "$work/d.textproto" >/dev/null 2>&1; then
  fail "an untrusted signature counted"
fi
echo "one trusted signature of two: refused"

# Two trusted signatures: in force.
config "$work/two.signed"
"$bin/lanevaultd" --dev_master_key_file --config "$work/d.textproto" >"$work/daemon.log" 2>&1 &
daemon=$!
for _ in $(seq 1 100); do [[ -s $work/port ]] && break; sleep 0.2; done
[[ -s $work/port ]] || fail "daemon did not start"
grep -q "contract land-border-pilot v1 in force" "$work/daemon.log" || fail "no contract"

# A tampered contract on reload is refused; the daemon keeps serving.
sed 's/seconds: 43200/seconds: 4320000/' "$work/two.signed" >"$work/tampered.signed"
config "$work/tampered.signed"
kill -HUP "$daemon"
for _ in $(seq 1 50); do grep -q "new contract refused" "$work/daemon.log" && break; sleep 0.1; done
grep -q "new contract refused, land-border-pilot v1 stays in force" "$work/daemon.log" ||
  fail "tampered contract not refused on reload"
kill -0 "$daemon" || fail "daemon died on a bad reload"
ctl --server "127.0.0.1:$(cat "$work/port")" --ca "$work/pki/ca.pem" \
  --cert "$work/pki/operator-dev.pem" --key "$work/pki/operator-dev.key" \
  lanes list >/dev/null || fail "daemon stopped serving after a refused reload"
echo "tampered contract on SIGHUP: refused, old contract in force"

# A reload of TEXT (a contract's textproto) signed by both trusted keys must
# be refused with a log line holding WHY; the daemon keeps serving.
#   refused_reload NAME TEXT WHY
refused_reload() {
  ctl policy sign "$2" --signing_key "$work/keys/alice.key" \
    --key_name alice --out "$work/$1-one.signed" >/dev/null
  ctl policy sign "$work/$1-one.signed" --signing_key "$work/keys/bob.key" \
    --key_name bob --out "$work/$1.signed" >/dev/null
  config "$work/$1.signed"
  kill -HUP "$daemon"
  for _ in $(seq 1 50); do grep -q "$3" "$work/daemon.log" && break; sleep 0.1; done
  grep -q "$3" "$work/daemon.log" || fail "$1: not refused on reload"
  kill -0 "$daemon" || fail "daemon died on a refused reload ($1)"
}

# Another text under the version the vault keeps (an edit re-signed, or a
# file swapped on the host): refused, the kept text stays in force; a
# changed contract takes a new version number.
sed "s/seconds: 43200 }/seconds: 43201 }/" "$pilot" >"$work/edited.textproto"
cmp -s "$pilot" "$work/edited.textproto" && fail "the edit changed nothing"
refused_reload edited "$work/edited.textproto" \
  "signs another text as land-border-pilot v1 than the vault has kept"
# The same text with its signatures again is the same contract.
config "$work/two.signed"
kill -HUP "$daemon"
for _ in $(seq 1 50); do
  [[ $(grep -c "contract land-border-pilot v1 in force" "$work/daemon.log") -ge 2 ]] && break
  sleep 0.1
done
[[ $(grep -c "contract land-border-pilot v1 in force" "$work/daemon.log") -ge 2 ]] ||
  fail "the kept contract's own file was refused on reload"
echo "another text under a kept version on SIGHUP: refused; the same text: in force"

# Another contract id (here a look-alike with a zero-width space) is not a
# new version of the one the vault keeps: refused.
sed 's/^id: "land-border-pilot"/id: "land-border-pilot\\u200b"/' "$pilot" >"$work/other-id.textproto"
cmp -s "$pilot" "$work/other-id.textproto" && fail "the id edit changed nothing"
refused_reload other-id "$work/other-id.textproto" "follows one contract id"
echo "another contract id on SIGHUP: refused"

# A version proposed over the API with the signatures it needs is that text
# too: a config file that signs another text under its number is refused,
# and the proposal stays.
officer() {
  ctl --server "127.0.0.1:$(cat "$work/port")" --ca "$work/pki/ca.pem" \
    --cert "$work/pki/compliance-dev.pem" --key "$work/pki/compliance-dev.key" "$@"
}
sed 's/^version: 1$/version: 2/' "$pilot" >"$work/v2.textproto"
grep -q '^version: 2$' "$work/v2.textproto" || fail "no version line to raise"
ctl policy sign "$work/v2.textproto" --signing_key "$work/keys/alice.key" \
  --key_name alice --out "$work/v2-one.signed" >/dev/null
ctl policy sign "$work/v2-one.signed" --signing_key "$work/keys/bob.key" \
  --key_name bob --out "$work/v2-two.signed" >/dev/null
officer contract propose "$work/v2-two.signed" >/dev/null || fail "v2 not proposed"
sed "s/seconds: 43200 }/seconds: 43201 }/" "$work/v2.textproto" >"$work/v2-other.textproto"
refused_reload v2-other "$work/v2-other.textproto" "than the one compliance-dev proposed"
proposal=$(officer contract get 2) || fail "contract get 2 failed"
grep -qw "43200" <<<"$proposal" || fail "the proposal's text is gone: $proposal"
echo "another text under a proposed version on SIGHUP: refused; the proposal stays"

# The version in force is kept in the vault exactly as signed.
cat >"$work/versions.c" <<'C'
#include <sqlite3.h>
#include <stdio.h>
int main(int c, char **v) {
  sqlite3 *db; sqlite3_stmt *st;
  if (sqlite3_open(v[1], &db)) return 1;
  if (sqlite3_prepare_v2(db, "SELECT contract_id || ' v' || version FROM contracts",
                         -1, &st, 0)) return 1;
  while (sqlite3_step(st) == SQLITE_ROW) printf("%s\n", sqlite3_column_text(st, 0));
  return 0;
}
C
if cc "$work/versions.c" -o "$work/versions" -lsqlite3 2>/dev/null; then
  [[ $("$work/versions" "$work/vault/v.db") == "land-border-pilot v1" ]] ||
    fail "contract version not kept"
fi

kill -TERM "$daemon"
wait "$daemon" || fail "unclean exit"
daemon=
echo "1 passed, 0 failed"
