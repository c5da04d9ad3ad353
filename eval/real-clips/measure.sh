#!/usr/bin/env bash
# Re-measure every module on the real clips with both shared detectors (docs/event-modules.md, "Real clips").
# Usage: eval/real-clips/measure.sh OUT_DIR   (from the project root; data in ../shared/data)
set -euo pipefail
out=${1:?give an output folder}
data=${VIGIE_SHARED_DATA:-../shared/data}
mkdir -p "$out"
run() {  # clip module detector
    local clip=$1 module=$2 detector=$3 args=()
    case $detector in
        yolox) args=(--model "$data/models/yolox_nano.onnx" --format yolox) ;;
        picodet) args=(--model "$data/models/picodet_s_320_coco.onnx" --format gfl) ;;
        pixels) args=() ;;
    esac
    vigie eval events "$data/video/$clip.mp4" "eval/real-clips/$clip/events.json" --module "$module" \
        --settings "eval/real-clips/$clip/settings.yaml" "${args[@]}" --json "$out/$clip.$module.$detector.json" \
        2>/dev/null | grep -v '^-'
}
for detector in yolox picodet; do
    for module in intrusion loitering line_count occupancy person_on_ground density; do
        run one-by-one-person-detection $module $detector
    done
    for module in intrusion wrong_way stationary_vehicle; do run car-detection $module $detector; done
done
for module in crowd_movement fire_start; do
    run one-by-one-person-detection $module pixels
    run car-detection $module pixels
done
