#!/usr/bin/env bash
# Rebuilds assets/default_bundle and assets/samples from scratch with the project's own training
# commands on the real metal_nut data and the shared VGG16 weights, timing each step; the int8
# variants that pass the accuracy gate are added last (station-train quantize).
#   make bundle            (MVTEC_ROOT, VGG16_WEIGHTS, BUNDLE, SAMPLES may be overridden)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
DATA=${MVTEC_ROOT:-../shared/data/mvtec_ad}
WEIGHTS=${VGG16_WEIGHTS:-../shared/weights/vgg16_imagenet_features.pth}
BUNDLE=${BUNDLE:-assets/default_bundle}
SAMPLES=${SAMPLES:-assets/samples}
WORK=runs/default_bundle
NEW=$WORK/bundle

rm -rf "$WORK" && mkdir -p "$WORK"
step() {
  local name=$1; shift
  local start=$SECONDS
  echo "== $name: $*"
  "$@"
  echo "== $name took $((SECONDS - start)) s"
}
step unet "$BIN/station-train" unet --data "$DATA" --category metal_nut --out "$NEW" \
  --name metal_nut-default --checkpoints "$WORK/checkpoints"
step anomaly "$BIN/station-train" anomaly --data "$DATA" --category metal_nut --out "$NEW" \
  --name metal_nut-default --backbone-weights "$WEIGHTS"
step evaluate "$BIN/station-train" evaluate --bundle "$NEW" --data "$DATA" \
  --out "$WORK/report" --record
step quantize "$BIN/station-train" quantize --bundle "$NEW" --data "$DATA" --category metal_nut \
  --model both --work "$WORK/quantize"
rm -rf "$BUNDLE" && cp -r "$NEW" "$BUNDLE"
rm -rf "$SAMPLES" && step samples "$BIN/station-train" samples --bundle "$BUNDLE" --data "$DATA" \
  --out "$SAMPLES"
du -sh "$BUNDLE"
echo "default bundle rebuilt in $SECONDS s; evaluation report in $WORK/report"
