"""The plate store (LAPI, L35) on both backends: reads kept until they expire, matches a month unless held for a
procedure, counts per camera per Paris day that outlive the reads, hit lists replaced whole by each import."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from tests.support.clocks import T0

from vigie.domain.plates import (
    HitListEntry,
    HitListImport,
    MatchHold,
    PlateRead,
    PurgeResult,
    legal_day_of,
    match_expiry,
    non_match_expiry,
)
from vigie.storage.plates import MatchNotFoundError, SqlPlateRepo

CROP = b"\xff\xd8\xff\xe0" + b"plate" * 10


def plate_read(text: str = "AB123CD", camera: str = "lapi-1", minutes: float = 0) -> PlateRead:
    return PlateRead(
        camera_id=camera,
        commune_id="gendarmerie",
        at=T0 + timedelta(minutes=minutes),
        text=text,
        display=text,
        plate_format="FR-SIV",
        confidence=0.9,
        frames=5,
        crop_jpeg=CROP + text.encode(),
        activation_id=7,
    )


def imported(repo: SqlPlateRepo, *entries: HitListEntry) -> HitListImport:
    record = HitListImport("gendarmerie", (), len(entries), "0" * 64, "checksum", "adj. Martin", T0)
    return repo.replace_lists(record, entries)


def test_an_import_replaces_the_lists_it_names_and_keeps_the_others(db: Engine) -> None:
    repo = SqlPlateRepo(db)
    first = imported(repo, HitListEntry("AB123CD", "vol", "voles"), HitListEntry("EF456GH", "recherche", "recherches"))
    assert first.id is not None and first.list_names == ("recherches", "voles")
    imported(repo, HitListEntry("XY789ZT", "vol", "voles"))
    assert repo.hits("gendarmerie", "AB123CD") == [], "replaced by the second import of 'voles'"
    assert repo.hits("gendarmerie", "XY789ZT") == [HitListEntry("XY789ZT", "vol", "voles")]
    assert repo.hits("gendarmerie", "EF456GH") == [HitListEntry("EF456GH", "recherche", "recherches")]
    assert repo.hits("douanes", "EF456GH") == [], "another tenant's lists are not this one's"
    assert [i.entries for i in repo.imports("gendarmerie")] == [1, 2], "newest first"


def test_reads_expire_at_their_time_matches_a_month_and_held_ones_stay(db: Engine) -> None:
    repo = SqlPlateRepo(db)
    plain = plate_read("EF456GH")
    sought = plate_read("AB123CD", minutes=1)
    held = plate_read("XY789ZT", minutes=2)
    repo.add_read(plain, expires_at=non_match_expiry(plain.at))
    ids = {}
    for read in (sought, held):
        read_id = repo.add_read(read, expires_at=non_match_expiry(read.at))
        ids[read.text] = repo.add_match(
            read_id, HitListEntry(read.text, "vol", "voles"), expires_at=match_expiry(read.at)
        )
    repo.hold(ids["XY789ZT"], MatchHold("PV 2025/118", "lt. Durand", T0))

    assert repo.purge(non_match_expiry(plain.at) - timedelta(seconds=1)).reads == 0
    assert repo.purge(non_match_expiry(plain.at)).reads == 1, "the read that matched nothing, at 15 days"
    assert len(repo.matches(["lapi-1"])) == 2
    result = repo.purge(match_expiry(held.at) + timedelta(days=1))
    assert (result.reads, result.matches) == (1, 1), "the held match and its read stay"
    [left] = repo.matches(["lapi-1"])
    assert left.text == "XY789ZT" and left.hold == MatchHold("PV 2025/118", "lt. Durand", T0)
    assert repo.match_crop(left.id) == held.crop_jpeg

    repo.hold(left.id, None)
    assert repo.purge(match_expiry(held.at) + timedelta(days=1)).matches == 1, "lifted: purged at once"
    assert repo.matches(["lapi-1"]) == [] and repo.match_crop(left.id) is None
    with pytest.raises(MatchNotFoundError):
        repo.hold(left.id, MatchHold("PV", "lt. Durand", T0))


def test_counts_are_per_camera_per_paris_day_and_outlive_the_reads(db: Engine) -> None:
    repo = SqlPlateRepo(db)
    for minutes, camera in ((0, "lapi-1"), (1, "lapi-1"), (2, "lapi-2")):
        read = plate_read(camera=camera, minutes=minutes)
        read_id = repo.add_read(read, expires_at=non_match_expiry(read.at))
        if minutes == 1:
            repo.add_match(read_id, HitListEntry(read.text, "vol", "voles"), expires_at=match_expiry(read.at))
    repo.purge(T0 + timedelta(days=400))
    day = legal_day_of(T0)
    assert [(c.camera_id, c.reads, c.matches) for c in repo.counts(["lapi-1", "lapi-2"], day, day)] == [
        ("lapi-1", 2, 1),
        ("lapi-2", 1, 0),
    ]
    assert repo.counts(["lapi-2"], day + timedelta(days=1), day + timedelta(days=2)) == []


def test_matches_are_filtered_by_camera_time_and_alert(db: Engine) -> None:
    repo = SqlPlateRepo(db)
    made = []
    for minutes, camera in ((0, "lapi-1"), (5, "lapi-2")):
        read = plate_read(camera=camera, minutes=minutes)
        match_id = repo.add_match(
            repo.add_read(read, expires_at=non_match_expiry(read.at)),
            HitListEntry(read.text, "vol", "voles"),
            expires_at=match_expiry(read.at),
        )
        repo.set_alert(match_id, 100 + minutes)
        made.append(match_id)
    assert [m.id for m in repo.matches(["lapi-1", "lapi-2"])] == made[::-1]
    assert [m.id for m in repo.matches(["lapi-2"])] == [made[1]]
    assert [m.id for m in repo.matches(["lapi-1", "lapi-2"], since=T0 + timedelta(minutes=1))] == [made[1]]
    assert [m.id for m in repo.matches(["lapi-1", "lapi-2"], alert_id=100)] == [made[0]]
    match = repo.match(made[0])
    assert match is not None and (match.alert_id, match.list_name, match.expires_at) == (100, "voles", match_expiry(T0))


def test_a_read_and_its_matches_are_stored_together_and_counted(db: Engine) -> None:
    repo = SqlPlateRepo(db)
    read = plate_read()
    hits = [HitListEntry(read.text, "vol", "voles"), HitListEntry(read.text, "recherche", "recherches")]
    read_id, match_ids = repo.add_read_with_matches(read, hits, expires_at=match_expiry(read.at))
    assert len(match_ids) == 2
    assert {(m.read_id, m.list_name) for m in repo.matches(["lapi-1"])} == {(read_id, "voles"), (read_id, "recherches")}
    day = legal_day_of(read.at)
    [count] = repo.counts(["lapi-1"], day, day)
    assert (count.reads, count.matches) == (1, 2)
    assert repo.purge(match_expiry(read.at) - timedelta(seconds=1)).reads == 0
    assert repo.purge(match_expiry(read.at)) == PurgeResult(reads=1, matches=2)
