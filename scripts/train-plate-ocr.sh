#!/usr/bin/env bash
# Retrains the learned plate reader from scratch and rewrites the committed
# model: models/plate_ocr.{onnx,manifest.json,parity.png,parity.txt} and
# the held-back crops of tests/data/plate_ocr. CPU only, with Debian's
# Python (python3-torch, python3-onnx: scripts/install-deps.sh --training);
# about five and a half hours on one core (and one rendering beside it). The
# build never runs this.
#   scripts/train-plate-ocr.sh [--real_dir DIR]   (DIR: labelled photographs,
#   e.g. ../shared/datasets/plates, reported in the manifest only)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ${1:-} == --help || ${1:-} == -h ]]; then
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
run=${PLATE_OCR_RUN:-$(mktemp -d)}
py=/usr/bin/python3  # Debian's, with its torch; not a virtualenv's
cd training/plate_ocr
# Five phases: from scratch on one rendered set, then on a second set (new
# crops, a lower peak rate) from the first phase's weights, both in data
# recipe 2; then on a third set in recipe 3 (fixed-pitch plates, Slovak and
# Czech arms on the left) at a lower rate again; then on a fourth set in
# recipe 4 (US plates write O as 0) at a lower rate still; then on a fifth
# in recipe 5 (stickers and pictures at the ends of US plates' rows). The
# export's manifest names every phase and its recipe. (The committed
# model's fourth and fifth phases were each run from the phase before's
# exported ONNX, train.py --init_onnx, as no checkpoint was kept; here each
# starts from the checkpoint.)
nice -n 19 "$py" train.py --out "$run/phase1" --cache "$run/cache" --recipe 2
nice -n 19 "$py" train.py --out "$run/phase2" --cache "$run/cache" --recipe 2 \
  --init "$run/phase1" --seed 2 --lr 1e-3
nice -n 19 "$py" train.py --out "$run/phase3" --cache "$run/cache" --recipe 3 \
  --init "$run/phase2" --seed 3 --lr 5e-4 --steps 3600 --train_count 43200
nice -n 19 "$py" train.py --out "$run/phase4" --cache "$run/cache" --recipe 4 \
  --init "$run/phase3" --seed 4 --lr 4e-4 --steps 5600 --train_count 67200
nice -n 19 "$py" train.py --out "$run/phase5" --cache "$run/cache" --recipe 5 \
  --init "$run/phase4" --seed 5 --lr 3e-4 --steps 5600 --train_count 67200
nice -n 19 "$py" export.py --run "$run/phase5" --repo ../.. "$@"
echo "model and manifest written to models/; run from $run"
