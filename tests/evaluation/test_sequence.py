"""The MOTChallenge folder reader, with and without seqinfo.ini, and a real run on TUD-Campus when available."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from vigie.evaluation.sequence import SequenceError, read_sequence
from vigie.runtime.eval_commands import eval_detect_command, eval_mot_command

TUD_CAMPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "tracking" / "tud-campus"


def _write_sequence(root: Path, *, seqinfo: bool) -> Path:
    (root / "img1").mkdir(parents=True)
    (root / "gt").mkdir()
    for frame in (1, 2, 3):
        cv2.imwrite(str(root / "img1" / f"{frame:06d}.jpg"), np.zeros((48, 64, 3), np.uint8))
    (root / "gt" / "gt.txt").write_text(
        "1,1,10,10,5,10,1,1,1\n"  # person
        "1,2,30,10,5,10,0,1,1\n"  # person not to consider → ignore region
        "2,3,20,20,5,10,1,7,1\n"  # static person: distractor → ignore region
        "3,4,20,20,5,10,1,3,1\n"  # a car: dropped
    )
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
    assert seq.info.frame_rate == 25.0 and not seq.info.from_seqinfo
    assert [frame for frame, _ in seq.read_images()] == [1, 2, 3]


def test_a_folder_without_ground_truth_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SequenceError, match=r"gt/gt\.txt"):
        read_sequence(tmp_path)
    assert eval_mot_command(tmp_path, detector=None, model=None, model_format=None, json_out=None) == 2


@pytest.mark.skipif(not TUD_CAMPUS.is_dir(), reason="TUD-Campus is not in ../shared/data/tracking (development data)")
def test_tud_campus_with_public_detections(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "mot.json"
    assert eval_mot_command(TUD_CAMPUS, detector=None, model=None, model_format=None, json_out=out) == 0
    metrics = json.loads(out.read_text())["metrics"]
    print(f"TUD-Campus public det: MOTA {metrics['mota']:.3f} IDF1 {metrics['idf1']:.3f} HOTA {metrics['hota']:.3f}")
    assert metrics["mota"] > 0.3 and metrics["idf1"] > 0.3 and 0.2 < metrics["hota"] < 1.0
    assert "mota" in capsys.readouterr().out
    det_out = tmp_path / "det.json"
    assert eval_detect_command(TUD_CAMPUS, model=None, model_format=None, json_out=det_out) == 0
    assert 0.5 < json.loads(det_out.read_text())["metrics"]["ap50"] <= 1.0
