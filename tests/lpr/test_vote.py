"""One plate per track: the voter clusters a track's reads, the best cluster wins, agreement makes confidence."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigie.lpr.formats import read
from vigie.lpr.reader import PlateCandidate
from vigie.lpr.vote import TrackVoter, edit_distance


def candidate(text: str, confidence: float = 0.9) -> PlateCandidate:
    reading = read(text)
    assert reading is not None
    crop = np.full((48, 200, 3), int(confidence * 255), dtype=np.uint8)
    return PlateCandidate(reading.text, reading.display, reading.plate_format, confidence, (0, 0, 200, 48), crop)


def test_the_plate_read_most_wins_over_misreads() -> None:
    voter = TrackVoter()
    for t, text in enumerate(["AB123CD", "AB123CO", "AB123CD", "A8123CD", "AB123CD"]):
        voter.add(7, candidate(text), t * 0.2)
    voted = voter.finish(7)
    assert voted is not None
    assert (voted.text, voted.display, voted.plate_format) == ("AB123CD", "AB-123-CD", "FR-SIV")
    assert (voted.frames, voted.votes) == (5, 4)  # "A8123CD" reads as AB123CD once corrected
    assert voted.first_seen == 0.0
    assert voted.last_seen == pytest.approx(0.8)


def test_agreement_makes_confidence() -> None:
    alone, agreed, disputed = TrackVoter(), TrackVoter(), TrackVoter()
    alone.add(1, candidate("AB123CD", 0.8), 0.0)
    for t in range(4):
        agreed.add(1, candidate("AB123CD", 0.8), t)
    for t, text in enumerate(["AB123CD", "XY987ZW", "AB123CD", "XY987ZW"]):
        disputed.add(1, candidate(text, 0.8), t)
    one, four, fight = alone.finish(1), agreed.finish(1), disputed.finish(1)
    assert one is not None and four is not None and fight is not None
    assert four.confidence > one.confidence > fight.confidence
    assert fight.confidence <= 0.5  # two plates half each: never sure


def test_a_cluster_of_near_reads_beats_one_frequent_misread() -> None:
    voter = TrackVoter()
    for t, text in enumerate(["FS066SR", "FS066SB", "FS066SR", "FS088SR", "ZZ999ZZ", "ZZ999ZZ"]):
        voter.add(3, candidate(text), t)
    voted = voter.finish(3)
    assert voted is not None and voted.text == "FS066SR"


def test_best_crop_is_that_of_the_most_confident_agreeing_read() -> None:
    voter = TrackVoter()
    voter.add(1, candidate("AB123CD", 0.6), 0.0)
    voter.add(1, candidate("AB123CD", 0.95), 1.0)
    voter.add(1, candidate("AB123CE", 0.99), 2.0)
    voted = voter.finish(1)
    assert voted is not None
    assert voted.text == "AB123CD"
    assert int(voted.crop[0, 0, 0]) == int(0.95 * 255)


def test_vanished_tracks_are_finished_by_age_and_forgotten() -> None:
    voter = TrackVoter(max_age_s=2.0)
    voter.add(1, candidate("AB123CD"), 0.0)
    voter.add(2, candidate("EF456GH"), 1.5)
    assert voter.expire(1.0) == []
    done = voter.expire(2.5)
    assert [(track, v.text) for track, v in done] == [(1, "AB123CD")]
    assert len(voter) == 1
    assert voter.finish(1) is None  # already finished


def test_reads_without_a_vehicle_track_are_tracked_by_their_text() -> None:
    """A plate-reading camera: two cars side by side in one moving region, read on the same frames, stay two tracks;
    a misread frame joins its car's track; a car read again after the track ended is a new passage."""
    voter = TrackVoter(max_age_s=1.0)
    tracks: dict[str, set[int]] = {"AB123CD": set(), "EF456GH": set()}
    for step, (left, right) in enumerate(
        [("AB123CD", "EF456GH"), ("AB123CO", "EF456GH"), ("AB123CD", "EF456GK"), ("AB123CD", "EF456GH")]
    ):
        t = step * 0.2
        tracks["AB123CD"].add(voter.add_by_text(candidate(left), t))
        tracks["EF456GH"].add(voter.add_by_text(candidate(right), t))
    assert len(tracks["AB123CD"]) == 1 and len(tracks["EF456GH"]) == 1
    assert tracks["AB123CD"] != tracks["EF456GH"]
    # Two plates within two edits of each other on one frame are still two vehicles.
    twins = {voter.add_by_text(candidate("XY123ZA"), 5.0), voter.add_by_text(candidate("XY123ZB"), 5.0)}
    assert len(twins) == 2
    done = {v.text: (v.frames, v.votes) for _, v in voter.expire(10.0)}
    assert done == {"AB123CD": (4, 3), "EF456GH": (4, 3), "XY123ZA": (1, 1), "XY123ZB": (1, 1)}
    later = voter.add_by_text(candidate("AB123CD"), 20.0)
    assert later not in tracks["AB123CD"]


def test_memory_is_bounded_in_tracks_and_reads() -> None:
    voter = TrackVoter(max_tracks=3, max_reads=4, max_age_s=1000.0)
    finished: list[int] = []
    for track in range(10):
        for t in range(20):
            voter.add(track, candidate("AB123CD" if t % 5 else "AB123CE", 0.5 + t / 100), track * 100 + t)
            finished += [done for done, _ in voter.expire(track * 100 + t)]  # once a frame, as a pipeline does
    assert len(voter) == 3
    assert finished == list(range(7))  # the least recently read went first, none lost
    assert voter.dropped == 0
    voted = voter.finish(9)
    assert voted is not None
    assert voted.frames == 20
    assert voted.votes <= 4  # only the 4 most confident reads were kept


def test_tracks_finished_early_without_expire_are_counted_not_hoarded() -> None:
    voter = TrackVoter(max_tracks=2)
    for track in range(6):
        voter.add(track, candidate("AB123CD"), 0.0)
    assert len(voter.expire(0.0)) == 2
    assert voter.dropped == 2


@given(st.text(alphabet="AB12", max_size=8), st.text(alphabet="AB12", max_size=8))
def test_edit_distance_is_a_distance(a: str, b: str) -> None:
    assert edit_distance(a, b) == edit_distance(b, a)
    assert (edit_distance(a, b) == 0) == (a == b)
    assert abs(len(a) - len(b)) <= edit_distance(a, b) <= max(len(a), len(b))


def test_invalid_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="max_tracks"):
        TrackVoter(max_tracks=0)
    with pytest.raises(ValueError, match="max_age_s"):
        TrackVoter(max_age_s=0)
