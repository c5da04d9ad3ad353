#!/usr/bin/env bash
# Re-measure every event module on the simulator's scenes, drawn and photo-real, with the scene's own boxes and
# both shared detectors (docs/event-modules.md, "Measured").
# Usage: eval/photoreal/measure.sh OUT_DIR [SCENE...]   (from the project root; data in ../shared/data)
# SCENE: situations (drawn sprites), situations-photoreal, plaza (photo-real); all three by default.
# Renders each scene into OUT_DIR once (kept if already there), then writes OUT_DIR/SCENE.MODULE.SOURCE.json.
set -euo pipefail
out=${1:?give an output folder}
shift
scenes=("$@")
[ ${#scenes[@]} -gt 0 ] || scenes=(situations situations-photoreal plaza)
data=${VIGIE_SHARED_DATA:-../shared/data}
mkdir -p "$out"
render() {  # scene → OUT_DIR/SCENE.mp4 and OUT_DIR/SCENE-gt/
    local scene=$1 args=()
    [ -f "$out/$scene.mp4" ] && return
    case $scene in
        situations) args=(situations) ;;
        situations-photoreal) args=(situations --photoreal "$data") ;;
        plaza) args=(plaza --photoreal "$data") ;;
        *) echo "unknown scene $scene (situations, situations-photoreal, plaza)" >&2; exit 2 ;;
    esac
    vigie sim render "${args[@]}" -o "$out/$scene.mp4" --gt "$out/$scene-gt" >/dev/null
}
run() {  # scene module source
    local scene=$1 module=$2 source=$3 args=()
    case $source in
        boxes) args=(--boxes "$out/$scene-gt/gt/gt.txt") ;;
        yolox) args=(--model "$data/models/yolox_nano.onnx" --format yolox) ;;
        picodet) args=(--model "$data/models/picodet_s_320_coco.onnx" --format gfl) ;;
        pixels) args=() ;;
    esac
    echo "== $scene $module $source"
    vigie eval events "$out/$scene.mp4" "$out/$scene-gt/events.json" --module "$module" \
        --settings "${scene%-photoreal}" "${args[@]}" --json "$out/$scene.$module.$source.json" 2>/dev/null \
        | grep -E '^(precision|recall|detected|false_positives|mean_delay_s|max_delay_s) '
}
for scene in "${scenes[@]}"; do
    render "$scene"
    for source in boxes yolox picodet; do
        for module in intrusion loitering abandoned_object person_on_ground stationary_vehicle wrong_way density; do
            run "$scene" $module $source
        done
    done
    run "$scene" crowd_movement pixels
done
