"""The MOTChallenge folder reader in every row layout, with and without seqinfo.ini or images, the layouts the
commands report, and real runs on TUD-Campus when it is available."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from vigie.cli.commands.evaluation import eval_detect_command, eval_mot_command
from vigie.evaluation.sequence import SequenceError, read_sequence

TUD_CAMPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "tracking" / "tud-campus"
NO_TUD_CAMPUS = "TUD-Campus is not in ../shared/data/tracking (development data, not redistributable)"
MOT15_GT = (
    "1,1,10,10,5,10,1,-1,-1,-1\n"  # 2DMOT2015: conf 1 then world x, y, z = -1 (a 2D-only sequence)
    "1,2,30,10,5,10,1,2.5,-7.25,0\n"  # world coordinates (a 3D-annotated sequence)
    "2,1,11,10,5,10,1,-1,-1,-1\n"
    "3,1,12,10,5,10,0,-1,-1,-1\n"  # not to be considered → ignore region
)
MOT15_DET = "1,-1,10,10,5,10,40.5,-1,-1,-1\n1,-1,30,10,5,10,0.7,-1,-1,-1\n2,-1,11,10,5,10,12,-1,-1,-1\n"


def _write_sequence(
    root: Path, *, seqinfo: bool, gt: str | None = None, det: str | None = None, images: int = 3
) -> Path:
    (root / "img1").mkdir(parents=True)
    (root / "gt").mkdir()
    for frame in range(1, images + 1):
        cv2.imwrite(str(root / "img1" / f"{frame:06d}.jpg"), np.zeros((48, 64, 3), np.uint8))
    (root / "gt" / "gt.txt").write_text(
        gt
        if gt is not None
        else (
            "1,1,10,10,5,10,1,1,1\n"  # person
            "1,2,30,10,5,10,0,1,1\n"  # person not to consider → ignore region
            "2,3,20,20,5,10,1,7,1\n"  # static person: distractor → ignore region
            "3,4,20,20,5,10,1,3,1\n"  # a car: dropped
        )
    )
    if det is not None:
        (root / "det").mkdir()
        (root / "det" / "det.txt").write_text(det)
    if seqinfo:
        (root / "seqinfo.ini").write_text(
            "[Sequence]\nname=Synth\nimDir=img1\nframeRate=10\nseqLength=3\nimWidth=64\nimHeight=48\nimExt=.jpg\n"
        )
    return root


def test_reads_a_sequence_with_seqinfo(tmp_path: Path) -> None:
    seq = read_sequence(_write_sequence(tmp_path / "s", seqinfo=True))
    assert (seq.info.name, seq.info.frame_rate, seq.info.width, seq.info.height) == ("Synth", 10.0, 64, 48)
    assert seq.frames == (1, 2, 3) and seq.period == pytest.approx(0.1)
    gt = seq.ground_truth()
    assert gt[1].ids.tolist() == [1] and gt[1].boxes.tolist() == [[10, 10, 15, 20]]
    assert len(gt[1].ignore) == 1 and len(gt[2].ignore) == 1
    assert len(gt[3].ids) == 0 and len(gt[3].ignore) == 0
    assert not seq.has_public_detections


def test_reads_a_sequence_without_seqinfo(tmp_path: Path) -> None:
    seq = read_sequence(_write_sequence(tmp_path / "plain", seqinfo=False))
    assert (seq.info.name, seq.info.width, seq.info.height) == ("plain", 64, 48)
    assert seq.info.frame_rate == 25.0 and not seq.info.from_seqinfo and seq.info.frames_from == "images"
    assert [frame for frame, _ in seq.read_images()] == [1, 2, 3]


def test_a_folder_without_ground_truth_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SequenceError, match=r"gt/gt\.txt"):
        read_sequence(tmp_path)
    assert eval_mot_command(tmp_path, detector=None, model=None, model_format=None, json_out=None) == 2


def test_mot15_ground_truth_boxes_are_read(tmp_path: Path) -> None:
    """2DMOT2015's 10 columns: column 8 is a world x (or -1), not a class; this read no box at all before."""
    seq = read_sequence(_write_sequence(tmp_path / "mot15", seqinfo=False, gt=MOT15_GT))
    gt = seq.ground_truth()
    assert gt[1].ids.tolist() == [1, 2] and gt[1].boxes.tolist() == [[10, 10, 15, 20], [30, 10, 35, 20]]
    assert gt[2].ids.tolist() == [1] and len(gt[2].ignore) == 0
    assert len(gt[3].ids) == 0 and gt[3].ignore.tolist() == [[12, 10, 17, 20]]


def test_mot16_counts_considered_pedestrians_and_ignores_distractors(tmp_path: Path) -> None:
    gt = (
        "1,1,0,10,5,10,1,1,0.9\n"  # pedestrian, considered: counted
        "1,2,10,10,5,10,0,1,1\n"  # pedestrian not to consider: ignore region
        "1,3,20,10,5,10,1,2,1\n"  # person on vehicle: ignore region
        "1,4,30,10,5,10,1,7,1\n"  # static person: ignore region
        "1,5,40,10,5,10,1,8,1\n"  # distractor: ignore region
        "1,6,50,10,5,10,1,12,0.1\n"  # reflection: ignore region
        "1,7,0,30,5,10,1,3,1\n"  # car: dropped
        "1,8,10,30,5,10,1,9,0.5\n"  # occluder: dropped
    )
    seq = read_sequence(_write_sequence(tmp_path / "mot17", seqinfo=True, gt=gt))
    truth = seq.ground_truth()[1]
    assert seq.truth.layout == "mot16"
    assert truth.ids.tolist() == [1]
    assert truth.ignore[:, 0].tolist() == [10, 20, 30, 40, 50]


@pytest.mark.parametrize("gt", ["1,1,10,10,5,10,-1\n2,1,11,10,5,10,-1\n", "1,1,10,10,5,10\n2,1,11,10,5,10\n"])
def test_seven_and_six_column_ground_truth(tmp_path: Path, gt: str) -> None:
    truth = read_sequence(_write_sequence(tmp_path / "s", seqinfo=False, gt=gt)).ground_truth()
    assert truth[1].boxes.tolist() == [[10, 10, 15, 20]] and truth[2].ids.tolist() == [1] and len(truth[3].ids) == 0


def test_eval_mot_and_detect_print_and_report_the_layouts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seq = _write_sequence(tmp_path / "s", seqinfo=False, gt=MOT15_GT, det=MOT15_DET)
    mot_json, detect_json = tmp_path / "mot.json", tmp_path / "detect.json"
    assert eval_mot_command(seq, detector="public", model=None, model_format=None, json_out=mot_json) == 0
    printed = capsys.readouterr().out
    assert "gt/gt.txt: 4 rows, 2DMOT2015, 10 columns" in printed
    assert "det/det.txt: 3 rows, 2DMOT2015, 10 columns" in printed
    assert "frames: from images (no seqinfo.ini), 25 fps" in printed
    report = json.loads(mot_json.read_text())
    files = {"gt/gt.txt": {"layout": "mot15", "rows": 4}, "det/det.txt": {"layout": "mot15", "rows": 3}}
    assert report["files"] == files and report["frames_from"] == "images" and report["seqinfo"] is False
    assert report["metrics"]["ground_truth"] == 3
    # `eval detect` reads through the same reader: same layouts, same persons.
    assert eval_detect_command(seq, model=None, model_format=None, json_out=detect_json) == 0
    detect = json.loads(detect_json.read_text())
    assert detect["files"] == files and "gt/gt.txt: 4 rows, 2DMOT2015" in capsys.readouterr().out
    assert (detect["metrics"]["ground_truth"], detect["metrics"]["true_positives"]) == (3, 3)


def test_a_malformed_line_stops_both_commands_naming_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad_gt = _write_sequence(tmp_path / "gt", seqinfo=False, gt="1,1,10,10,5,10,1\n2,1,10,10,5,10,1,1\n")
    assert eval_mot_command(bad_gt, detector=None, model=None, model_format=None, json_out=None) == 2
    assert eval_detect_command(bad_gt, model=None, model_format=None, json_out=None) == 2
    errors = capsys.readouterr().err.splitlines()
    assert errors == [
        f"vigie eval {command}: {bad_gt / 'gt' / 'gt.txt'}, line 2: 8 columns; MOTChallenge rows have 6, 7, 9 "
        "(MOT16/17/20 ground truth) or 10 (MOT15, det.txt) columns: '2,1,10,10,5,10,1,1'"
        for command in ("mot", "detect")
    ]
    bad_det = _write_sequence(tmp_path / "det", seqinfo=False, gt=MOT15_GT, det="1,-1,10,10,5,10,0.5\n2,-1,1,1,1,1,?\n")
    assert eval_mot_command(bad_det, detector="public", model=None, model_format=None, json_out=None) == 2
    assert f"{bad_det / 'det' / 'det.txt'}, line 2: column 7 (conf) is '?', not a number" in capsys.readouterr().err


def test_frames_without_images_come_from_seqinfo_or_the_last_gt_frame(tmp_path: Path) -> None:
    """MOT15 folders may lack seqinfo.ini; public detections need no images; the length is then gt's last frame."""
    plain = _write_sequence(tmp_path / "plain", seqinfo=False, gt=MOT15_GT, det=MOT15_DET, images=0)
    seq = read_sequence(plain)
    assert seq.frames == (1, 2, 3) and seq.info.frames_from == "gt/gt.txt" and not seq.info.from_seqinfo
    assert (seq.info.width, seq.info.height, seq.info.frame_rate) == (0, 0, 25.0)
    assert eval_mot_command(plain, detector="public", model=None, model_format=None, json_out=None) == 0
    with pytest.raises(SequenceError, match="holds no images: a detector needs them"):
        next(seq.read_images())
    assert eval_mot_command(plain, detector="motion", model=None, model_format=None, json_out=None) == 2
    ini = _write_sequence(tmp_path / "ini", seqinfo=False, gt=MOT15_GT, images=0)
    (ini / "seqinfo.ini").write_text("[Sequence]\nname=Five\nframeRate=14\nseqLength=5\nimWidth=64\nimHeight=48\n")
    seq = read_sequence(ini)
    assert seq.frames == (1, 2, 3, 4, 5) and seq.info.frames_from == "seqinfo.ini"
    assert (seq.info.name, seq.info.width, seq.info.height, seq.info.frame_rate) == ("Five", 64, 48, 14.0)
    assert len(seq.ground_truth()[5].ids) == 0


def test_seqinfo_images_and_ground_truth_must_agree(tmp_path: Path) -> None:
    short = _write_sequence(tmp_path / "short", seqinfo=True, images=2)
    with pytest.raises(SequenceError, match=r"seqLength=3 but .*img1 holds 2"):
        read_sequence(short)
    outside = _write_sequence(tmp_path / "outside", seqinfo=False, gt=MOT15_GT, images=2)
    with pytest.raises(SequenceError, match=r"gt\.txt, line 4: frame 3 is outside the sequence \(2 frames from images"):
        read_sequence(outside)
    broken = _write_sequence(tmp_path / "broken", seqinfo=True)
    (broken / "seqinfo.ini").write_text("[Sequence]\nframeRate=fast\n")
    with pytest.raises(SequenceError, match=r"frameRate='fast' is not a float"):
        read_sequence(broken)
    (broken / "seqinfo.ini").write_text("frameRate=25\n")
    with pytest.raises(SequenceError, match="not a readable INI file"):
        read_sequence(broken)


@pytest.mark.skipif(not TUD_CAMPUS.is_dir(), reason=NO_TUD_CAMPUS)
def test_tud_campus_ground_truth_is_read_in_either_mot15_shape(tmp_path: Path) -> None:
    """The real sequence (7-column copy) and the same rows in the official 10-column 2DMOT2015 shape."""
    seq = read_sequence(TUD_CAMPUS)
    truth = seq.ground_truth()
    assert seq.truth.layout == "7-column" and seq.frames == tuple(range(1, 72))
    assert sum(len(t.ids) for t in truth.values()) == 359
    assert len({int(i) for t in truth.values() for i in t.ids}) == 8
    official = tmp_path / "TUD-Campus"
    (official / "gt").mkdir(parents=True)
    (official / "det").mkdir()
    (official / "img1").symlink_to(TUD_CAMPUS / "img1")
    gt_rows = (TUD_CAMPUS / "gt" / "gt.txt").read_text().splitlines()
    (official / "gt" / "gt.txt").write_text("".join(f"{row.rsplit(',', 1)[0]},1,-1,-1,-1\n" for row in gt_rows))
    det_rows = (TUD_CAMPUS / "det" / "det.txt").read_text().splitlines()
    (official / "det" / "det.txt").write_text("".join(f"{row},-1,-1,-1\n" for row in det_rows))
    mot15 = read_sequence(official)
    again = mot15.ground_truth()
    assert mot15.truth.layout == "mot15" and mot15.read_public_detections().layout == "mot15"
    for frame in seq.frames:
        assert again[frame].ids.tolist() == truth[frame].ids.tolist()
        assert again[frame].boxes.tolist() == truth[frame].boxes.tolist()


@pytest.mark.skipif(not TUD_CAMPUS.is_dir(), reason=NO_TUD_CAMPUS)
def test_tud_campus_with_public_detections(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "mot.json"
    assert eval_mot_command(TUD_CAMPUS, detector=None, model=None, model_format=None, json_out=out) == 0
    report = json.loads(out.read_text())
    metrics = report["metrics"]
    assert report["files"]["gt/gt.txt"] == {"layout": "7-column", "rows": 359} and metrics["ground_truth"] == 359
    print(f"TUD-Campus public det: MOTA {metrics['mota']:.3f} IDF1 {metrics['idf1']:.3f} HOTA {metrics['hota']:.3f}")
    assert metrics["mota"] > 0.3 and metrics["idf1"] > 0.3 and 0.2 < metrics["hota"] < 1.0
    assert "mota" in capsys.readouterr().out
    det_out = tmp_path / "det.json"
    assert eval_detect_command(TUD_CAMPUS, model=None, model_format=None, json_out=det_out) == 0
    assert 0.5 < json.loads(det_out.read_text())["metrics"]["ap50"] <= 1.0
