#!/usr/bin/env bash
# Installs the Debian packages, builds, makes what is missing under var/ (dev
# PKI, the seal file and 3-of-5 demo shares, sample footage), and runs the
# bundled default as two processes: lanevaultd (the SQLite vault in var/vault, the API on
# 127.0.0.1:7443) and a capture node, lanevault-lane, whose lane replays the
# footage and hands each crossing to the vault sealed, over mutual TLS.
# When the node is done it fetches one record over mutual TLS as an
# inspector and compares its plate with the ground truth; the API then stays
# up until Ctrl-C (set LANEVAULT_DEMO_EXIT=1 to stop).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
bin=build/src/cmd
config=deploy/config/lanevaultd.textproto
node_config=deploy/config/lanevault-lane.textproto

deploy/pki/make-dev-pki.sh var/pki
mkdir -p -m 700 var/keys
# Unseal mode: the master key is on disk only wrapped in var/unseal.seal;
# 3 of 5 compliance officers' shares open it at each start. For the demo the
# 5 shares are written to var/demo-shares/ and given by the one dev officer
# below; in production each goes to a different officer and none stays on
# the vault host (README, "Unsealing"). A var/ from the key-file days is
# moved over: its key is sealed and the plain file shredded.
shares=var/demo-shares
if [[ ! -s var/unseal.seal ]]; then
  "$bin/lanevaultd" --config "$config" --init_unseal 3/5 --share_dir "$shares"
  if [[ -e var/keys/master.key ]]; then shred -u var/keys/master.key; fi
fi
demo_shares=("$shares/share-1-of-5" "$shares/share-3-of-5" "$shares/share-5-of-5")
# A dev compliance officer's key, and the pilot contract signed with it: the
# daemon enforces only a validly signed contract.
if [[ ! -s var/keys/compliance-dev.key ]]; then
  "$bin/lanevaultctl" policy keygen --out var/keys/compliance-dev.key \
    >var/keys/compliance-dev.pub
fi
mkdir -p var/contracts
signed=var/contracts/land-border-pilot.signed.textproto
if [[ ! -s $signed || deploy/contracts/land-border-pilot.textproto -nt $signed ]]; then
  "$bin/lanevaultctl" policy sign deploy/contracts/land-border-pilot.textproto \
    --signing_key var/keys/compliance-dev.key --key_name compliance-dev --out "$signed"
fi

# The access log's public key, for auditors to pin (lanevaultctl audit verify
# --log_key @var/audit-log.pub).
# (Opening the keys takes K shares on a descriptor in unseal mode.) A vault
# whose log was signed with the older key derived from the master key moves
# to a key of its own: the demo auditor keeps the key it pinned before as
# the previous one, so its saved checkpoint still verifies.
cat "${demo_shares[@]}" |
  "$bin/lanevaultd" --config "$config" --print_log_key --shares_fd 0 >var/audit-log.pub.new
if [[ -s var/audit-log.pub ]] && ! cmp -s var/audit-log.pub var/audit-log.pub.new; then
  mv var/audit-log.pub var/audit-log.previous.pub
fi
mv var/audit-log.pub.new var/audit-log.pub
previous_key=()
[[ -s var/audit-log.previous.pub ]] && previous_key=(--previous_log_key @var/audit-log.previous.pub)
# The key capture nodes seal records to; it opens nothing.
cat "${demo_shares[@]}" |
  "$bin/lanevaultd" --config "$config" --print_intake_key --shares_fd 0 >var/vault-intake.pub
[[ -s var/footage/crossings.tsv ]] ||
  "$bin/lanevault-footage" --out var/footage --plates KXR4821,MVB7350

log=var/lanevaultd.log
node_log=var/lanevault-lane.log
rm -f var/lanevaultd.port "$log" "$node_log"
"$bin/lanevaultd" --config "$config" > >(tee "$log") 2>&1 &
daemon=$!
node=
trap 'kill $node $daemon 2>/dev/null; wait $node $daemon 2>/dev/null' EXIT INT TERM
until [[ -s var/lanevaultd.port ]]; do
  kill -0 $daemon 2>/dev/null || { echo "lanevaultd exited; see $log"; exit 1; }
  sleep 0.2
done
# It starts sealed. Three shares, each over mutual TLS as the dev compliance
# officer, unseal it; the full API then comes up on the same port.
officer=("$bin/lanevaultctl" --server "127.0.0.1:$(cat var/lanevaultd.port)"
  --ca var/pki/ca.pem --cert var/pki/compliance-dev.pem
  --key var/pki/compliance-dev.key)
echo
echo "== unsealing: 3 of 5 shares, given as compliance-dev =="
for share in "${demo_shares[@]}"; do
  "${officer[@]}" unseal --share_file "$share"
done
for _ in $(seq 1 100); do
  "${officer[@]}" lanes list >/dev/null 2>&1 && break
  kill -0 $daemon 2>/dev/null || { echo "lanevaultd exited; see $log"; exit 1; }
  sleep 0.1
done
# The capture node replays the footage and exits once the vault has
# acknowledged every crossing (its spool is empty).
"$bin/lanevault-lane" --config "$node_config" --exit_when_lanes_done \
  > >(tee "$node_log") 2>&1 &
node=$!
if ! wait $node; then
  echo "lanevault-lane failed; see $node_log"
  exit 1
fi
node=

# The record of the footage's first vehicle, found by its plate: a run on
# a var/ that already holds the replay resumes at its end and stores nothing
# new, and the record from the first run is still there.
truth=$(awk -F'\t' 'NR==2 {print $2}' var/footage/crossings.tsv)
inspector=("$bin/lanevaultctl" --server "127.0.0.1:$(cat var/lanevaultd.port)"
  --ca var/pki/ca.pem --cert var/pki/inspector-dev.pem
  --key var/pki/inspector-dev.key)
id=$("${inspector[@]}" record lookup-plate "$truth" --purpose vehicle-inspection |
  head -1)
if [[ -z $id ]]; then
  echo "no record of $truth in the vault; see $log"
  exit 1
fi
echo
echo "== fetching $id as inspector-dev, purpose vehicle-inspection =="
fetched=$("${inspector[@]}" record get "$id" --purpose vehicle-inspection)
# Shown, never written to a file: it is evidence in plaintext.
echo "$fetched"
if grep -q "plate_text .* $truth\$" <<<"$fetched"; then
  echo "plate text matches the footage's ground truth ($truth)"
else
  echo "plate text does NOT match the ground truth ($truth)"
  exit 1
fi
echo
echo "== verifying the access log as auditor-dev =="
"$bin/lanevaultctl" --server "127.0.0.1:$(cat var/lanevaultd.port)" \
  --ca var/pki/ca.pem --cert var/pki/auditor-dev.pem \
  --key var/pki/auditor-dev.key --log_key @var/audit-log.pub \
  "${previous_key[@]}" --state var/audit-state audit verify --full
if [[ ${LANEVAULT_DEMO_EXIT:-0} == 1 ]]; then exit 0; fi
echo "API up on 127.0.0.1:$(cat var/lanevaultd.port); Ctrl-C to stop."
wait $daemon
