"""The ``site_plans`` table (issue 24) on SQLite and PostgreSQL: a plan comes back as stored (its corners, who and
when, on the UTC instant whatever the zone it was given in), its image byte for byte and only when asked, the plans
of the communes asked for only, counted per site, and removed."""

from __future__ import annotations

from datetime import timedelta, timezone

from sqlalchemy import Engine
from tests.support.clocks import T0

from vigie.domain.site_plans import SitePlan
from vigie.storage.site_plans import SqlSitePlans

CORNERS = ((4.878, 45.768), (4.881, 45.768), (4.881, 45.765), (4.878, 45.765))


def a_plan(commune: str, site: str, name: str) -> SitePlan:
    at = T0.astimezone(timezone(timedelta(hours=1)))
    return SitePlan(None, commune, site, name, "image/png", 640, 480, 1234, "ab" * 32, CORNERS, "admin.vil", at)


def test_plans_are_stored_read_by_commune_and_removed(db: Engine) -> None:
    plans = SqlSitePlans(db)
    image = bytes(range(256)) * 40  # every byte value: stored as binary, not text
    first = plans.add(a_plan("villeurbanne", "centre", "Mairie"), image)
    plans.add(a_plan("villeurbanne", "centre", "Parking"), b"\x89PNG other")
    plans.add(a_plan("bron", "parilly", "Parc"), b"\x89PNG bron")
    assert first.id is not None
    got = plans.get(first.id)
    assert got == first and got.corners == CORNERS and got.uploaded_at == T0
    assert plans.image(first.id) == image
    assert [p.name for p in plans.list(frozenset({"villeurbanne"}))] == ["Mairie", "Parking"]
    assert {p.name for p in plans.list(frozenset({"villeurbanne", "bron"}))} == {"Mairie", "Parking", "Parc"}
    assert plans.list(frozenset()) == []
    assert plans.count("villeurbanne", "centre") == 2 and plans.count("bron", "centre") == 0
    assert plans.delete(first.id) is True and plans.delete(first.id) is False
    assert plans.get(first.id) is None and plans.image(first.id) is None
    assert plans.count("villeurbanne", "centre") == 1
