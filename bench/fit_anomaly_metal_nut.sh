#!/usr/bin/env bash
# Full real-data run of the anomaly model: fit on train/good with the shared VGG16 weights,
# evaluate the bundle through the Inspector on test/, and run the clustering study; each step
# timed (wall clock: on a shared CPU it includes waiting for other jobs).
#   bench/fit_anomaly_metal_nut.sh [OUT]        (default OUT runs/anomaly_metal_nut, git-ignored)
# MVTEC_ROOT, VGG16_WEIGHTS and CATEGORY may be overridden; nothing here is metal_nut-specific.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${MVTEC_ROOT:-../shared/data/mvtec_ad}
WEIGHTS=${VGG16_WEIGHTS:-../shared/weights/vgg16_imagenet_features.pth}
CATEGORY=${CATEGORY:-metal_nut}
OUT=${1:-runs/anomaly_$CATEGORY}
TRAIN=(nice -n 10 env PYTHONPATH=. .venv/bin/python -m training.cli)

rm -rf "$OUT" && mkdir -p "$OUT"
step() {
  local name=$1; shift
  local start=$SECONDS
  echo "== $name: $*"
  "$@"
  echo "== $name took $((SECONDS - start)) s wall (load average $(cut -d' ' -f1 /proc/loadavg))"
}
step fit "${TRAIN[@]}" anomaly --data "$DATA" --category "$CATEGORY" --out "$OUT/bundle" \
  --backbone-weights "$WEIGHTS"
step evaluate "${TRAIN[@]}" evaluate --bundle "$OUT/bundle" --data "$DATA" \
  --category "$CATEGORY" --out "$OUT/report" --record
step explore "${TRAIN[@]}" explore --data "$DATA" --category "$CATEGORY" --out "$OUT/study" \
  --backbone-weights "$WEIGHTS"
du -sh "$OUT/bundle"
cat "$OUT/report/anomaly/report.md"
