#!/usr/bin/env bash
# Fresh-machine check: runs the README's two commands on a pristine, minimal
# Debian bookworm (debootstrap --variant=minbase plus git and ca-certificates,
# as root, nothing else), in a chroot, from a clone of this repository's HEAD.
#
# Why: the README promises that a bookworm machine with nothing but git is
# enough. The machines we build on are not fresh (fonts, docs, locales and
# build trees accumulate), so a missing package or a path that only exists
# here goes unnoticed until someone else tries. This finds it: it clones the
# committed state (not uncommitted changes), runs
#   1) LANEVAULT_DEMO_EXIT=1 scripts/run.sh    2) scripts/test.sh
# with a minimal environment (no host variables, LANG unset), prints each
# one's exit code, wall time and the test summary, and then checks what a
# fresh machine may lack: the fonts and data files the sources name,
# opencv-doc's face photo, localhost, /dev/shm, the locale.
#
# The pristine root is made once from the mirror the host's apt already uses
# and cached (--root); every check copies it to a new work directory, so each
# starts from a clean system. proc, sysfs, devpts, a minimal /dev and a tmpfs
# /dev/shm are mounted inside the work copy only and unmounted on every exit.
# A developer's tool, not part of CI; needs root, network and a few GB of disk.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/fresh-check.sh [options]

Runs the README's two commands in a chroot of a pristine minimal bookworm,
from a clone of HEAD, and prints exit codes, wall times and the test summary.

  --root DIR       cached pristine debootstrap root
                   (default /var/cache/lanevault/fresh-bookworm)
  --refresh-root   make the cached root again
  --mirror URL     Debian mirror for debootstrap and the chroot's apt
                   (default: the one the host's apt sources name)
  --out DIR        logs and the work copy
                   (default /var/tmp/lanevault-fresh-check.<date-time>)
  --only WHAT      run only one command: run, test, or deps (only
                   scripts/install-deps.sh: the apt part, no build)
  --smoke          no commands: check the chroot works (git, apt-get update,
                   /dev/shm, locale) and the fresh-machine probe
  --keep           keep the work copy (unmounted) in OUT/root
  --doc-exclude    a minimal image's dpkg path excludes (/usr/share/doc and
                   others, as Docker's and Ubuntu's minimal images have), so
                   install-deps.sh's fallback for opencv-doc's photo is used
  --no-shm         no /dev/shm in the chroot, as in some containers
  --lang VALUE     set LANG in the chroot (default unset, as on a fresh
                   machine; the locales package is not installed)
  -h, --help       this help

Exits non-zero if a command failed or the probe found something missing.
EOF
}

die() { echo "fresh-check: $*" >&2; exit 1; }
say() { echo "fresh-check: $*"; }

repo=$(cd "$(dirname "$0")/.." && pwd)
root=/var/cache/lanevault/fresh-bookworm
refresh=0 mirror='' out='' only='' smoke=0 keep=0 doc_exclude=0 shm=1 lang=''
while [[ $# -gt 0 ]]; do
  case $1 in
    --root) root=${2:?--root needs a directory}; shift ;;
    --refresh-root) refresh=1 ;;
    --mirror) mirror=${2:?--mirror needs a URL}; shift ;;
    --out) out=${2:?--out needs a directory}; shift ;;
    --only) only=${2:?--only needs run, test or deps}; shift ;;
    --smoke) smoke=1 ;;
    --keep) keep=1 ;;
    --doc-exclude) doc_exclude=1 ;;
    --no-shm) shm=0 ;;
    --lang) lang=${2:?--lang needs a value}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done
case $only in '' | run | test | deps) ;; *) die "--only takes run, test or deps" ;; esac
[[ $(id -u) -eq 0 ]] || die "needs root (debootstrap, mount, chroot)"
out=${out:-/var/tmp/lanevault-fresh-check.$(date +%Y%m%d-%H%M%S)}
root=$(realpath -m "$root")
out=$(realpath -m "$out")
for p in "$root" "$out"; do
  [[ $p != *[[:space:]]* && $p != / ]] || die "bad path: '$p'"
done
work=$out/root

# --- host sources ------------------------------------------------------------

# Prints "URI SUITE COMPONENT..." for every enabled binary ("deb") entry of the
# host's apt sources, one-line (.list) and deb822 (.sources) alike.
host_sources() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    awk '$1 == "deb" {
      i = 2
      if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
      line = $i; for (j = i + 1; j <= NF && $j !~ /^#/; j++) line = line " " $j
      print line
    }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    awk 'function flush(  n, m, u, s, i, j) {
        if (tolower(v["enabled"]) != "no" && (" " v["types"] " ") ~ / deb /) {
          n = split(v["uris"], u, " "); m = split(v["suites"], s, " ")
          for (i = 1; i <= n; i++) for (j = 1; j <= m; j++)
            print u[i], s[j], v["components"]
        }
        delete v
      }
      /^[[:space:]]*#/ { next }
      /^[[:space:]]*$/ { flush(); next }
      /^[^[:space:]]/ { k = tolower(substr($0, 1, index($0, ":") - 1))
                        v[k] = substr($0, index($0, ":") + 1); next }
      { v[k] = v[k] " " $0 }
      END { flush() }' "$f"
  done
}

# The host's bookworm entries (bookworm, -updates, -security, ...), for the
# chroot's own sources.list: the same mirrors the machine already uses.
mapfile -t sources < <(host_sources | awk '$2 ~ /^bookworm(-[a-z]+)?$/' |
  tr -s ' \t' ' ' | sed 's/ $//' | awk '!seen[$0]++')
if [[ -n $mirror ]]; then
  sources=("$mirror bookworm main" "$mirror bookworm-updates main")
else
  mirror=$(printf '%s\n' "${sources[@]}" | awk '$2 == "bookworm" {print $1; exit}')
fi
if [[ -z $mirror ]]; then
  mirror=http://deb.debian.org/debian
  say "no bookworm entry in the host's apt sources; using $mirror"
fi
if [[ ${#sources[@]} -eq 0 ]]; then sources=("$mirror bookworm main"); fi

# --- mounts and cleanup ------------------------------------------------------

mounts=()   # mount points in the order they were mounted
sweep=()    # directories nothing may stay mounted under

mnt() {  # mnt TARGET MOUNT-ARGS... (mounts, and remembers for cleanup)
  local target=$1
  shift
  mount "$@" "$target"
  mounts+=("$target")
}

mounted_under() {  # mount points at or under $1, deepest first
  awk -v d="$1" '$2 == d || index($2, d "/") == 1 {print $2}' /proc/self/mounts |
    sort -r
}

# shellcheck disable=SC2317  # called from the EXIT trap
chroot_pids() {  # processes whose root is the work copy
  local p r
  for p in /proc/[0-9]*; do
    r=$(readlink "$p/root" 2>/dev/null) || continue
    if [[ $r == "$work" ]]; then echo "${p#/proc/}"; fi
  done
}

# shellcheck disable=SC2317
kill_chroot_processes() {
  local pids i
  [[ -d $work ]] || return 0
  mapfile -t pids < <(chroot_pids)
  [[ ${#pids[@]} -gt 0 ]] || return 0
  say "stopping processes left in the chroot: ${pids[*]}"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for i in 1 2 3 4 5; do
    mapfile -t pids < <(chroot_pids)
    [[ ${#pids[@]} -gt 0 ]] || return 0
    sleep 1
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
}

unmount_all() {
  local i m d
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    umount "${mounts[i]}" 2>/dev/null || umount -l "${mounts[i]}" ||
      say "could not unmount ${mounts[i]}"
  done
  mounts=()
  for d in "${sweep[@]}"; do
    while read -r m; do
      [[ -n $m ]] || continue
      umount "$m" 2>/dev/null || umount -l "$m" || say "could not unmount $m"
    done < <(mounted_under "$d")
  done
}

# shellcheck disable=SC2317
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  kill_chroot_processes
  unmount_all
  if [[ -d $work ]]; then
    if [[ -n $(mounted_under "$work") ]]; then
      say "still mounted under $work; leaving it"
    elif [[ $keep -eq 1 ]]; then
      say "work copy kept in $work"
    else
      rm -rf --one-file-system "$work"
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- the pristine root, made once --------------------------------------------

make_root() {
  local tmp=$root.partial start
  command -v debootstrap >/dev/null || {
    say "installing debootstrap"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  }
  mkdir -p "$(dirname "$root")"
  sweep+=("$tmp" "$root")
  unmount_all
  rm -rf --one-file-system "$tmp" "$root" "$root.stamp"
  say "debootstrap bookworm from $mirror into $root (log $root.log)"
  start=$SECONDS
  if ! debootstrap --variant=minbase --include=git,ca-certificates bookworm \
    "$tmp" "$mirror" >"$root.log" 2>&1; then
    tail -n 20 "$root.log" >&2
    die "debootstrap failed; see $root.log"
  fi
  unmount_all
  # debootstrap leaves downloaded .debs and apt lists behind; a fresh
  # machine has neither.
  rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*_*
  mv "$tmp" "$root"
  printf 'mirror %s\ncreated %s\ndebootstrap %d s\n' "$mirror" "$(date -Is)" \
    $((SECONDS - start)) >"$root.stamp"
  say "pristine root made in $((SECONDS - start)) s: $(du -sh "$root" | cut -f1)"
}

mkdir -p "$(dirname "$root")"
exec 9>"$root.lock"
flock 9
if [[ $refresh -eq 1 || ! -f $root.stamp || ! -x $root/usr/bin/git ]]; then make_root; fi

# --- the work copy -----------------------------------------------------------

mkdir -p "$out"
[[ ! -e $work ]] || die "$work exists; use another --out"
sweep+=("$work")
say "copying $root to $work"
cp -a "$root" "$work"
flock -u 9

# apt: the host's mirrors; services are never started in a chroot.
printf 'deb %s\n' "${sources[@]}" >"$work/etc/apt/sources.list"
if [[ $mirror == *snapshot.debian.org* ]]; then
  echo 'Acquire::Check-Valid-Until "false";' >"$work/etc/apt/apt.conf.d/10snapshot"
fi
printf '#!/bin/sh\nexit 101\n' >"$work/usr/sbin/policy-rc.d"
chmod 755 "$work/usr/sbin/policy-rc.d"
rm -f "$work/etc/resolv.conf"
cat /etc/resolv.conf >"$work/etc/resolv.conf"
# debootstrap writes no /etc/hosts; every installed or container system has
# one naming localhost (the dev PKI's server certificate is for localhost).
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' \
  >"$work/etc/hosts"
if [[ $doc_exclude -eq 1 ]]; then
  cat >"$work/etc/dpkg/dpkg.cfg.d/excludes" <<'EOF'
# As minimal images (Docker's, Ubuntu's) have: no docs, manuals or translations.
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/groff/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/lintian/*
path-exclude=/usr/share/linda/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
EOF
fi

# The committed state: a clone of HEAD, as CI and a new developer get it.
head=$(git -C "$repo" rev-parse HEAD)
dirty=$(git -C "$repo" status --porcelain --untracked-files=no)
if [[ -n $dirty ]]; then
  say "WARNING: uncommitted changes are NOT checked (only HEAD ${head:0:12} is):"
  while IFS= read -r line; do echo "    $line"; done <<<"$dirty"
fi
git clone -q --no-hardlinks "$repo" "$work/root/lanevault"
git -C "$work/root/lanevault" checkout -q --detach "$head"
say "cloned $(git -C "$repo" log -1 --format='%h %s' "$head" | cut -c1-72)"

# ../shared beside the clone, read-only, as CI has it.
if [[ -d $repo/../shared ]]; then
  cp -a "$repo/../shared" "$work/root/shared"
  mnt "$work/root/shared" --bind "$work/root/shared"
  mount -o remount,bind,ro "$work/root/shared"
fi

# A minimal /dev of its own: nodes, devpts, and a tmpfs /dev/shm.
mnt "$work/proc" -t proc proc
mnt "$work/sys" -t sysfs -o ro,nosuid,nodev,noexec sysfs
mnt "$work/dev" -t tmpfs -o mode=755,nosuid,size=1m tmpfs
for spec in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
  IFS=: read -r node major minor <<<"$spec"
  if ! mknod -m 666 "$work/dev/$node" c "$major" "$minor" 2>/dev/null; then
    touch "$work/dev/$node"
    mnt "$work/dev/$node" --bind "/dev/$node"
  fi
done
ln -s /proc/self/fd "$work/dev/fd"
for i in 0:stdin 1:stdout 2:stderr; do ln -s "/proc/self/fd/${i%%:*}" "$work/dev/${i#*:}"; done
mkdir -m 755 "$work/dev/pts"
mnt "$work/dev/pts" -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts
ln -s pts/ptmx "$work/dev/ptmx"
if [[ $shm -eq 1 ]]; then
  mkdir -m 1777 "$work/dev/shm"
  mnt "$work/dev/shm" -t tmpfs -o mode=1777,nosuid,nodev tmpfs
fi

# --- running in the chroot ---------------------------------------------------

# A fresh machine's environment: nothing from ours (no LANG, TMPDIR, proxies).
in_chroot() {
  local vars=(HOME=/root USER=root LOGNAME=root SHELL=/bin/bash TERM=dumb
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
  if [[ -n $lang ]]; then vars+=("LANG=$lang"); fi
  env -i "${vars[@]}" chroot "$work" /bin/bash -c "cd /root/lanevault && $1"
}

declare -A rcs secs
steps=()
TIMEFORMAT='time: wall %R s, user %U s, sys %S s'
step() {  # step NAME COMMAND
  local name=$1 cmd=$2 log=$out/$1.log start rc=0
  say "$name: $cmd"
  say "  log $log"
  start=$SECONDS
  # In the background, so that a signal to this script is handled at once.
  { time in_chroot "$cmd" </dev/null; } >"$log" 2>&1 &
  wait $! || rc=$?
  rcs[$name]=$rc
  secs[$name]=$((SECONDS - start))
  steps+=("$name")
  say "  exit $rc, ${secs[$name]} s"
}

# What a fresh machine may lack, found inside the chroot: every font file and
# data file the sources name, opencv-doc's photo (or install-deps.sh's
# fallback), the tools the tests call, localhost, /dev/shm, the locale.
probe() {
  in_chroot 'bash -s' <<'PROBE'
set -u
missing=0
ok() { printf '  ok       %s\n' "$*"; }
bad() { printf '  MISSING  %s\n' "$*"; missing=$((missing + 1)); }
note() { printf '  note     %s\n' "$*"; }
lit() { grep -rhoE "\"$1\"" src tests bench 2>/dev/null | tr -d '"' | sort -u; }

# Fonts: each file named in the sources, in one of the folders they name.
mapfile -t dirs < <(lit '/usr/share/fonts/[^"]*' | sed 's:/[^/]*\.[ot]tf$:/:' | sort -u)
for f in $(grep -rhoE '[A-Za-z0-9_-]+\.[ot]tf\b' src | sort -u); do
  found=
  for d in "${dirs[@]}"; do [[ -s $d$f ]] && { found=$d$f; break; }; done
  if [[ -n $found ]]; then ok "font $found"; else bad "font $f"; fi
done
# Data files named by full path (cascades); the face photo or its fallback.
for f in $(lit '/usr/share/opencv4/[^"]*'); do
  if [[ -s $f ]]; then ok "$f"; else bad "$f"; fi
done
face=/usr/share/doc/opencv-doc/opencv4/html/227943776_1.jpg
fallback=/usr/local/share/lanevault/face.jpg
if [[ -s $face ]]; then ok "face photo $face"
elif [[ -s $fallback ]]; then ok "face photo $fallback (install-deps.sh's fallback)"
else bad "face photo: neither $face nor $fallback"; fi
t=$(ls /usr/share/tesseract-ocr/*/tessdata/eng.traineddata 2>/dev/null | head -1)
if [[ -n $t ]]; then ok "tesseract data $t"; else bad "tesseract eng.traineddata"; fi
for c in g++ cc clang++ cmake ninja pkg-config ctest openssl od stat git; do
  if command -v "$c" >/dev/null; then ok "command $c"; else bad "command $c"; fi
done
if h=$(getent hosts localhost); then ok "localhost: $(echo $h)"; else bad "localhost"; fi

# The environment.
if [[ -d /dev/shm && -w /dev/shm ]]; then ok "/dev/shm ($(stat -f -c %T /dev/shm))"
else note "no /dev/shm"; fi
[[ -d /tmp && -k /tmp && -w /tmp ]] && ok "/tmp writable, sticky" || bad "/tmp"
note "LANG=${LANG-<unset>}; locale: $(locale 2>&1 | tr '\n' ' ' | cut -c1-60)..."
note "locales available: $(locale -a 2>/dev/null | tr '\n' ' ')"
dpkg-query -W -f='${Status}' locales 2>/dev/null | grep -q 'ok installed' ||
  note "no locales package (only C, C.utf8, POSIX)"
ex=$(cat /etc/dpkg/dpkg.cfg.d/* 2>/dev/null | grep -c '^path-exclude')
[[ $ex -eq 0 ]] || note "dpkg path-exclude rules: $ex (/usr/share/doc not installed)"
note "cores $(nproc), memory $(awk '/MemTotal/ {print int($2/1048576)}' /proc/meminfo) GB"
echo "  $missing missing"
exit $((missing > 0))
PROBE
}

ctest_summary() {  # "N passed, M failed" from a test log, or nothing
  grep -Eo '[0-9]+ tests failed out of [0-9]+' "$1" | tail -1 |
    awk '{printf "%d passed, %d failed", $6 - $1, $1}'
}

say "chroot ready: $work (commit ${head:0:12}, doc-exclude $doc_exclude," \
  "/dev/shm $shm, LANG ${lang:-unset})"
if [[ $smoke -eq 1 ]]; then
  step smoke 'git --version && apt-get update -q && ls -ld /dev/shm; locale;
    ls /dev; findmnt -R / 2>/dev/null || cat /proc/mounts; git log -1 --oneline;
    ls -ld ../shared && (touch ../shared/x 2>&1 || true)'
  cat "$out/smoke.log"
fi
case $smoke:$only in
  1:*) ;;
  0:deps) step deps scripts/install-deps.sh ;;
  0:run) step run 'LANEVAULT_DEMO_EXIT=1 scripts/run.sh' ;;
  0:test) step test scripts/test.sh ;;
  0:) step run 'LANEVAULT_DEMO_EXIT=1 scripts/run.sh'
      step test scripts/test.sh ;;
esac

probe_rc=0
say "probe (log $out/probe.log):"
probe >"$out/probe.log" 2>&1 || probe_rc=$?
cat "$out/probe.log"

echo
echo "== fresh-check summary: ${head:0:12}, logs in $out"
failed=0
for name in "${steps[@]}"; do
  line=$(printf '%-5s exit %d, %d s' "$name:" "${rcs[$name]}" "${secs[$name]}")
  if [[ $name == test ]]; then
    s=$(ctest_summary "$out/test.log")
    line+=", ${s:-no ctest summary}"
  fi
  echo "$line"
  if [[ ${rcs[$name]} -ne 0 ]]; then failed=1; fi
done
if [[ -f $out/test.log ]] && grep -q 'The following tests FAILED' "$out/test.log"; then
  echo "failed tests:"
  sed -n '/The following tests FAILED:/,$p' "$out/test.log" | grep -E '^\s+[0-9]+ - ' || true
fi
if [[ $smoke -eq 1 ]]; then
  # Nothing installed yet: the probe only shows what install-deps.sh must add.
  echo "probe:  $(tail -1 "$out/probe.log" | sed 's/^ *//') (before install-deps.sh)"
else
  echo "probe:  $(tail -1 "$out/probe.log" | sed 's/^ *//')"
  if [[ $probe_rc -ne 0 ]]; then failed=1; fi
fi
exit "$failed"
