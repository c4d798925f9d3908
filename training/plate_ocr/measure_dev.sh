#!/usr/bin/env bash
# The learned reader on the labelled photographs (model selection only:
# they are never trained on), beside the fused reader and OpenALPR 2.3 in
# the same run, each pinned to one core, interleaved rounds.
#
#   training/plate_ocr/measure_dev.sh [ROUNDS] [MODEL.onnx...]
#
# Per round and set (us-dev with region us, eu with region eu, the rules a
# lane of that region reads with): the fused reader, the learned reader
# with each MODEL (default: the committed one), and `alpr -c us|eu -n 10`;
# then the readers alone on the labelled box (--oracle_box). Prints
# lanevault-eval's lines and OpenALPR's, scored the same way: detected (a
# returned box at IoU >= 0.3), exact (any plate's top candidate), top-10,
# median and p90 ms per image without decoding. Skips where ../shared is
# absent. Env: BUILD (default build), CORE (default 0).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${1:-3}
shift || true
models=("$@")
[[ ${#models[@]} -gt 0 ]] || models=("$here/models/plate_ocr.onnx")
build=${BUILD:-$here/build}
core=${CORE:-0}
shared=$here/../shared
alpr=$shared/tools/openalpr/alpr
eval_bin=$build/bench/lanevault-eval
if [[ ! -x $alpr || ! -d $shared/datasets/plates ]]; then
  echo "measure_dev: no ../shared here: skipped"
  exit 0
fi
export OMP_THREAD_LIMIT=1

alpr_score() {  # DIR JSON -> one line as lanevault-eval prints
  python3 - "$@" <<'PY'
import json, os, re, statistics, sys
d, out = sys.argv[1], sys.argv[2]
imgs = sorted(f for f in os.listdir(d) if f.endswith('.jpg'))
norm = lambda t: re.sub('[^A-Z0-9]', '', t.upper())
rows = [json.loads(l) for l in open(out) if l.startswith('{')]
ms, det, exact, top = [], 0, 0, 0
for f, row in zip(imgs, rows):
    _, x, y, w, h, text = open(os.path.join(d, f[:-4] + '.txt')).read().split()
    x, y, w, h, text = int(x), int(y), int(w), int(h), norm(text)
    ms.append(row['processing_time_ms'])
    hit = read = in_top = False
    for p in row['results']:
        xs = [c['x'] for c in p['coordinates']]; ys = [c['y'] for c in p['coordinates']]
        bx0, by0, bx1, by1 = min(xs), min(ys), max(xs), max(ys)
        iw = max(0, min(bx1, x + w) - max(bx0, x)); ih = max(0, min(by1, y + h) - max(by0, y))
        union = (bx1 - bx0) * (by1 - by0) + w * h - iw * ih
        hit |= union > 0 and iw * ih / union >= 0.3
        read |= norm(p['plate']) == text
        in_top |= any(norm(c['plate']) == text for c in p['candidates'][:10])
    det += hit; exact += read; top += in_top
n = len(rows)
ms.sort()
print(f"plates {os.path.basename(d):<10} images {n:3d}  detected {100*det/n:5.1f}%  "
      f"exact {100*exact/n:5.1f}%  top-10 {100*top/n:5.1f}%  ms median "
      f"{statistics.median(ms):6.1f}  p90 {ms[min(n - 1, int(0.9 * n))]:6.1f}")
PY
}

run() {  # LABEL ARGS...
  local label=$1
  shift
  printf '%-28s ' "$label"
  taskset -c "$core" "$eval_bin" plates "$@" 2>/dev/null | grep '^plates'
}

tmp=$(mktemp -d /tmp/plate-ocr-measure.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
for r in $(seq "$rounds"); do
  for set in us-dev eu; do
    dir=$shared/datasets/plates/$set
    region=us
    [[ $set == eu ]] && region=eu
    echo "== round $r, $set (region $region), core $core"
    run "fused" "$dir" --plate_region "$region" --plate_reader fused
    for m in "${models[@]}"; do
      run "learned $(basename "$m")" "$dir" --plate_region "$region" \
        --plate_reader learned --plate_ocr_model "$m"
    done
    printf '%-28s ' "openalpr -c $region"
    taskset -c "$core" "$alpr" -c "$region" -j -n 10 "$dir"/*.jpg \
      >"$tmp/alpr.json" 2>/dev/null
    alpr_score "$dir" "$tmp/alpr.json"
    run "fused --oracle_box" "$dir" --plate_region "$region" \
      --plate_reader fused --oracle_box
    for m in "${models[@]}"; do
      run "learned $(basename "$m") --oracle_box" "$dir" --plate_region "$region" \
        --plate_reader learned --plate_ocr_model "$m" --oracle_box
    done
  done
done
