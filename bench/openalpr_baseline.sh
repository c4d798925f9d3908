#!/usr/bin/env bash
# lanevault beside OpenALPR 2.3 (../shared/tools/openalpr, never linked or
# shipped: it is run as a program), on the same inputs, pinned to the same
# core, interleaved rounds, the ratio printed first (issue 31).
#
#   bench/openalpr_baseline.sh lane   [BUILD_DIR] [ROUNDS] [BEFORE_BUILD_DIR]
#       A lane's frames/s on the project's generated footage (1280x720, three
#       crossings), `lanevault-eval replay` against `alpr -c us` on the same
#       video file. alpr's start-up (loading its trained data) is measured
#       on a blank 16x16 still in the same round and taken off its time.
#       With BEFORE_BUILD_DIR (a copy of an earlier build's
#       bench/lanevault-eval), each round also runs that lane first, so a
#       change is measured against the build before it in the same rounds.
#       Beside the wall-clock rates, each program's rate per CPU second
#       (user + system, its start-up taken off: alpr's on the still, the
#       lane's on a replay of one frame): on a core others share, the wall
#       clock measures the share the program got, the CPU time its work.
#   bench/openalpr_baseline.sh plates [BUILD_DIR] [ROUNDS]
#       Plate ms per image (median) on ../shared/datasets/plates/{us-dev,eu},
#       `lanevault-eval plates` against alpr's processing_time_ms: both leave
#       image decoding out. Also each one's exact read rate, same rule.
#
# Skips (exit 0, with a message) where ../shared is absent, as on a fresh
# clone.
set -euo pipefail
mode=${1:-}
here=$(cd "$(dirname "$0")/.." && pwd)
build=${2:-$here/build}
rounds=${3:-3}
before=${4:-}
shared=$here/../shared
alpr=$shared/tools/openalpr/alpr
eval_bin=$build/bench/lanevault-eval
core=${LANEVAULT_BENCH_CORE:-1}

if [[ ! -x $alpr ]]; then
  echo "openalpr_baseline: $alpr absent (no ../shared here): skipped"
  exit 0
fi
[[ -x $eval_bin ]] || { echo "build lanevault-eval first ($eval_bin)" >&2; exit 2; }
if [[ -n $before && ! -x $before/bench/lanevault-eval ]]; then
  echo "no $before/bench/lanevault-eval" >&2
  exit 2
fi
tmp=$(mktemp -d /tmp/lanevault-openalpr.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export OMP_THREAD_LIMIT=1

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
now() { date +%s.%N; }

case $mode in
lane)
  # Renders the footage once, into this run's own folder (TMPDIR): another
  # run rendering /tmp/lanevault-eval-footage at the same time rewrote the
  # video under this one's reader (a round read 51 of its 200 frames).
  TMPDIR=$tmp taskset -c "$core" "$eval_bin" replay generated >"$tmp/first.txt" 2>/dev/null
  video=$tmp/lanevault-eval-footage/lane.avi
  [[ -f $video ]] || { echo "no rendered footage at $video" >&2; exit 1; }
  frames=$(sed -n 's/.* frames *\([0-9]*\) .*/\1/p' "$tmp/first.txt" | head -1)
  # A blank 16x16 still: alpr's start-up with next to no recognition work.
  python3 - "$tmp/still.png" <<'PY'
import struct, sys, zlib
def chunk(kind, data):
    c = struct.pack('>I', len(data)) + kind + data
    return c + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff)
raw = b''.join(b'\0' + b'\x80' * 48 for _ in range(16))
png = (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 16, 16, 8, 2, 0, 0, 0))
       + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))
open(sys.argv[1], 'wb').write(png)
PY
  echo "lane frames/s on the generated footage ($frames frames, 1280x720), core $core, $rounds interleaved rounds"
  mkdir -p "$tmp/one"
  cp "$tmp/lanevault-eval-footage/frames/frame_0000.jpg" "$tmp/one/"
  printf '%-8s %8s %12s %12s %8s  %s\n' "" ratio lanevault openalpr load "lane found"
  printf '%-8s %8s %12s %12s\n' "" "" "per CPU s" "per CPU s"
  : >"$tmp/ratios"
  : >"$tmp/cpu_ratios"
  : >"$tmp/before_ratios"
  : >"$tmp/before_cpu_ratios"
  # CPU seconds (user + system) of a command, its output to $tmp/out.txt.
  cpu() {
    /usr/bin/time -f '%U %S' -o "$tmp/time.txt" "$@" >"$tmp/out.txt" 2>/dev/null
    awk '{print $1 + $2}' "$tmp/time.txt"
  }
  # frames/s, frames per CPU second, then what the lane found, of one
  # replay of the footage.
  replay() {
    local start total
    start=$(cpu taskset -c "$core" "$1" replay "folder:$tmp/one")
    total=$(cpu taskset -c "$core" "$1" replay "file:$video")
    sed -n 's/.* \([0-9.]*\) frames\/s .*/\1/p' "$tmp/out.txt" | head -1
    python3 -c "print($frames / max(1e-3, $total - $start))"
    sed -n 's/.*crossings \([0-9]*\), plates read right \([0-9]*\), with a face \([0-9]*\).*/\1 crossings, \2 read right, \3 with a face/p' "$tmp/out.txt" | head -1
  }
  for r in $(seq "$rounds"); do
    # The machine's load at the round's start: a shared core slows both.
    load=$(cut -d' ' -f1 /proc/loadavg)
    # The two builds take turns going first.
    if [[ -n $before && $((r % 2)) == 1 ]]; then
      { read -r lv_before; read -r lvc_before; read -r found_before; } < <(replay "$before/bench/lanevault-eval")
    fi
    { read -r lv; read -r lvc; read -r found; } < <(replay "$eval_bin")
    if [[ -n $before && $((r % 2)) == 0 ]]; then
      { read -r lv_before; read -r lvc_before; read -r found_before; } < <(replay "$before/bench/lanevault-eval")
    fi
    t0=$(now); c0=$(cpu taskset -c "$core" "$alpr" -c us "$tmp/still.png"); t1=$(now)
    c1=$(cpu taskset -c "$core" "$alpr" -c us "$video"); t2=$(now)
    oa=$(python3 -c "print($frames / (($t2 - $t1) - ($t1 - $t0)))")
    oac=$(python3 -c "print($frames / max(1e-3, $c1 - $c0))")
    ratio=$(python3 -c "print($lv / $oa)")
    cpu_ratio=$(python3 -c "print($lvc / $oac)")
    echo "$ratio" >>"$tmp/ratios"
    echo "$cpu_ratio" >>"$tmp/cpu_ratios"
    printf 'round %-2d %8.2f %12.1f %12.1f %8s  %s\n' "$r" "$ratio" "$lv" "$oa" "$load" "$found"
    printf '         %8.2f %12.1f %12.1f\n' "$cpu_ratio" "$lvc" "$oac"
    if [[ -n $before ]]; then
      over_before=$(python3 -c "print($lv / $lv_before)")
      cpu_over_before=$(python3 -c "print($lvc / $lvc_before)")
      echo "$over_before" >>"$tmp/before_ratios"
      echo "$cpu_over_before" >>"$tmp/before_cpu_ratios"
      printf '  before %8.2f %12.1f %12s %8s  %s  (this build / before: %.2f)\n' \
        "$(python3 -c "print($lv_before / $oa)")" "$lv_before" "" "" "$found_before" "$over_before"
      printf '         %8.2f %12.1f %12s %8s  %s  (this build / before: %.2f)\n' \
        "$(python3 -c "print($lvc_before / $oac)")" "$lvc_before" "" "" "" "$cpu_over_before"
    fi
  done
  printf 'median   %8.2f  (lanevault frames/s over OpenALPR frames/s)\n' "$(median <"$tmp/ratios")"
  printf 'median   %8.2f  (the same, frames per CPU second)\n' "$(median <"$tmp/cpu_ratios")"
  if [[ -n $before ]]; then
    printf 'median   %8.2f  (this build frames/s over the build before)\n' "$(median <"$tmp/before_ratios")"
    printf 'median   %8.2f  (the same, frames per CPU second)\n' "$(median <"$tmp/before_cpu_ratios")"
  fi
  ;;
plates)
  for set in us-dev eu; do
    dir=$shared/datasets/plates/$set
    country=us; [[ $set == eu ]] && country=eu
    region=us; [[ $set == eu ]] && region=eu
    echo "plates $set: ms per image (median), core $core, $rounds interleaved rounds"
    printf '%-8s %8s %12s %12s %14s %14s\n' "" ratio lanevault openalpr "lv exact" "alpr exact"
    : >"$tmp/ratios"
    for r in $(seq "$rounds"); do
      lv_line=$(taskset -c "$core" "$eval_bin" plates "$dir" --plate_region "$region" 2>/dev/null | grep '^plates')
      lv_ms=$(sed -n 's/.*ms median *\([0-9.]*\).*/\1/p' <<<"$lv_line")
      lv_exact=$(sed -n 's/.*exact *\([0-9.]*\)%.*/\1/p' <<<"$lv_line")
      taskset -c "$core" "$alpr" -c "$country" -j -n 10 "$dir"/*.jpg >"$tmp/alpr.json" 2>/dev/null
      read -r oa_ms oa_exact < <(python3 - "$dir" "$tmp/alpr.json" <<'PY'
import json, os, re, statistics, sys
d, out = sys.argv[1], sys.argv[2]
imgs = sorted(f for f in os.listdir(d) if f.endswith('.jpg'))
truth = {}
for f in imgs:
    line = open(os.path.join(d, f[:-4] + '.txt')).read().split()
    truth[f] = re.sub('[^A-Z0-9]', '', line[5].upper())
ms, exact = [], 0
rows = [json.loads(l) for l in open(out) if l.startswith('{')]
for f, row in zip(imgs, rows):
    ms.append(row['processing_time_ms'])
    tops = [re.sub('[^A-Z0-9]', '', p['plate'].upper()) for p in row['results']]
    exact += truth[f] in tops
print(f"{statistics.median(ms):.1f} {100.0 * exact / len(imgs):.1f}")
PY
)
      ratio=$(python3 -c "print($lv_ms / $oa_ms)")
      echo "$ratio" >>"$tmp/ratios"
      printf 'round %-2d %8.2f %12.1f %12.1f %13.1f%% %13.1f%%\n' "$r" "$ratio" "$lv_ms" "$oa_ms" "$lv_exact" "$oa_exact"
    done
    printf 'median   %8.2f  (lanevault ms over OpenALPR ms: below 1 is faster)\n' "$(median <"$tmp/ratios")"
  done
  ;;
*)
  echo "usage: $0 lane|plates [BUILD_DIR] [ROUNDS]" >&2
  exit 2
  ;;
esac
