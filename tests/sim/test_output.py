"""What ``render`` writes: H.264 that decodes, MOTChallenge ground truth, and the scripted events."""

from __future__ import annotations

import configparser
import json
from pathlib import Path

import av
import pytest

from vigie.sim import MOT_CLASSES, RenderResult, render
from vigie.sim.scene import ActorKind, Scene


def test_video_decodes_with_right_count_size_and_rate(situations_render: RenderResult) -> None:
    with av.open(str(situations_render.video_path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.average_rate == 10
        keyframes, count = [], 0
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            if packet.is_keyframe:
                keyframes.append(count)
            count += 1
    assert count == situations_render.frames == 600
    assert keyframes[:3] == [0, 20, 40]  # GOP = 2 × fps, so live clients start within two seconds
    with av.open(str(situations_render.video_path)) as container:
        decoded = 0
        for frame in container.decode(video=0):
            assert (frame.width, frame.height) == (640, 360)
            assert frame.format.name == "yuv420p"
            decoded += 1
    assert decoded == 600


def _read_gt(gt_dir: Path) -> list[list[float]]:
    rows = []
    for line in (gt_dir / "gt" / "gt.txt").read_text().splitlines():
        fields = line.split(",")
        assert len(fields) == 9
        rows.append([float(v) for v in fields])
    return rows


def test_gt_is_motchallenge(situations_render: RenderResult) -> None:
    assert situations_render.gt_dir is not None
    rows = _read_gt(situations_render.gt_dir)
    frames = {int(r[0]) for r in rows}
    assert min(frames) >= 1 and max(frames) == situations_render.frames  # the bag stays to the end
    assert {int(r[7]) for r in rows} == set(MOT_CLASSES.values())
    for frame, ident, x, y, w, h, conf, _cls, vis in rows:
        assert ident >= 1 and conf == 1 and 0 <= vis <= 1
        assert x == int(x) and y == int(y) and w >= 1 and h >= 1
        assert x >= 0 and y >= 0 and x + w <= 640 and y + h <= 360
    pairs = [(int(r[0]), int(r[1])) for r in rows]
    assert len(pairs) == len(set(pairs)), "one row per actor and frame"

    info = configparser.ConfigParser()
    info.read(situations_render.gt_dir / "seqinfo.ini")
    seq = info["Sequence"]
    assert seq["name"] == "situations"
    assert int(seq["seqLength"]) == situations_render.frames
    assert (int(seq["frameRate"]), int(seq["imWidth"]), int(seq["imHeight"])) == (10, 640, 360)
    assert seq["imDir"] and seq["imExt"]


def test_events_json_has_every_situation_with_scripted_times(situations_render: RenderResult) -> None:
    assert situations_render.gt_dir is not None
    events = json.loads((situations_render.gt_dir / "events.json").read_text())
    by_kind = {event["kind"]: event for event in events if event.get("scripted", True)}
    assert set(by_kind) == {
        "enter_zone",
        "bag_left",
        "person_falls",
        "vehicle_stops",
        "wrong_way",
        "crowd",
        "light_flicker",
    }
    expected_start = {
        "bag_left": 12.0,  # start 6 + walk 5 + pause 1
        "person_falls": 19.0,  # start 14 + walk 5
        "vehicle_stops": 25.0,  # start 22 + drive 3
        "light_flicker": 33.0,
        "crowd": 46.0,  # start 40 + gather 6
        "enter_zone": 3.6,  # crosses x = 0.70 at 1 + 4 × 0.25 / 0.39 s, on the 10 fps grid
    }
    for kind, start in expected_start.items():
        assert by_kind[kind]["start_s"] == pytest.approx(start, abs=0.11), kind
    assert by_kind["light_flicker"]["end_s"] == pytest.approx(38.0)
    assert by_kind["crowd"]["end_s"] == pytest.approx(52.0)
    assert by_kind["enter_zone"]["end_s"] == pytest.approx(9.5, abs=0.11)
    assert by_kind["bag_left"]["end_s"] == pytest.approx(60.0)
    for event in events:
        assert event["start_s"] == pytest.approx((event["start_frame"] - 1) / 10)
        assert event["end_s"] == pytest.approx(event["end_frame"] / 10)
        assert 1 <= event["start_frame"] <= event["end_frame"] <= 600
        region = event["region"]
        assert 0 <= region["x"] <= 1 and 0 <= region["y"] <= 1 and 0 < region["w"] <= 1 and 0 < region["h"] <= 1
        assert (event["kind"] == "light_flicker") == (event["actor_ids"] == [])
    assert by_kind["light_flicker"]["region"] == {"x": 0.05, "y": 0.05, "w": 0.15, "h": 0.2}
    assert len(by_kind["crowd"]["actor_ids"]) == 8
    assert len(by_kind["enter_zone"]["zone"]) == 4


def test_event_region_covers_the_actor_boxes(situations_render: RenderResult) -> None:
    assert situations_render.gt_dir is not None
    rows = _read_gt(situations_render.gt_dir)
    fall = next(e for e in situations_render.events if e.kind == "person_falls")
    x, y, w, h = fall.region
    boxes = [r for r in rows if int(r[1]) == fall.actor_ids[0] and fall.start_frame <= r[0] <= fall.end_frame]
    assert boxes
    for row in boxes:
        assert row[2] >= x * 640 - 0.5 and row[2] + row[4] <= (x + w) * 640 + 0.5
        assert row[3] >= y * 360 - 0.5 and row[3] + row[5] <= (y + h) * 360 + 0.5
        assert row[4] > row[5], "a fallen person is wider than tall"


def test_render_without_gt_writes_only_the_video(small_scene: Scene, tmp_path: Path) -> None:
    result = render(small_scene, tmp_path / "small.mp4")
    assert result.gt_dir is None and result.frames == 40
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.mp4"]
    assert {e.kind for e in result.events} == {"bag_left"}
    assert MOT_CLASSES[ActorKind.BAG] == 13
