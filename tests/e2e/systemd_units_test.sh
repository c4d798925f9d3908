#!/usr/bin/env bash
# The systemd units in deploy/systemd: `systemd-analyze verify` passes on each
# (pointed at the built programs, as `cmake --install` points them at the
# installed ones), the sandbox settings the issue asks for are there, and
# `systemd-analyze security` rates each at or under an exposure ceiling.
#   systemd_units_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
bin=$2/src/cmd
ceiling=${LANEVAULT_UNIT_EXPOSURE_CEILING:-2.0}
if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze is missing (Debian package systemd); the units are not checked"
  exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/lanevault-units-XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

for unit in lanevaultd lanevault-lane lanevault-witness; do
  program=$unit
  [[ -x $bin/$program ]] || fail "$bin/$program is not built"
  sed -e "s|@SBINDIR@|$bin|g" -e "s|@DOCDIR@|$src/deploy|g" \
    "$src/deploy/systemd/$unit.service.in" >"$work/$unit.service"
  file=$work/$unit.service
  grep -Eq "@[A-Z_]+@" "$file" && fail "$unit: a @VARIABLE@ is left unfilled"
  out=$(cd "$work" && systemd-analyze verify "./$unit.service" 2>&1) ||
    fail "$unit: systemd-analyze verify: $out"
  # verify warns without failing on some mistakes (an unknown setting).
  [[ -z $out ]] || fail "$unit: systemd-analyze verify said: $out"
  for setting in Type=notify WatchdogSec= NoNewPrivileges=yes ProtectSystem=strict \
    ProtectHome=yes PrivateTmp=yes "CapabilityBoundingSet=$" \
    "SystemCallFilter=@system-service" MemoryDenyWriteExecute=yes \
    RestrictAddressFamilies= StateDirectory= UMask=0077; do
    grep -q "^$setting" "$file" || fail "$unit: no $setting"
  done
  grep -Eq "^User=lanevault" "$file" || fail "$unit: no User="
  exposure=$(cd "$work" && systemd-analyze security --offline=true --no-pager "./$unit.service" 2>&1 |
    sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
  [[ -n $exposure ]] || fail "$unit: systemd-analyze security gave no exposure"
  awk -v e="$exposure" -v c="$ceiling" 'BEGIN { exit !(e <= c) }' ||
    fail "$unit: exposure $exposure above the ceiling $ceiling"
  echo "$unit: verify clean, exposure $exposure (ceiling $ceiling)"
done
# The vault daemon is never given a device; the capture node only cameras.
grep -q "^PrivateDevices=yes" "$work/lanevaultd.service" || fail "lanevaultd: devices visible"
grep -q "^DeviceAllow=char-video4linux" "$work/lanevault-lane.service" ||
  fail "lanevault-lane: no camera devices allowed"
echo "PASS"
