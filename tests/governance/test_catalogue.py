from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml

from vigie.config.models import CameraSetting, CommuneKind
from vigie.governance.catalogue import (
    FORBIDDEN_CAPABILITIES,
    CatalogueError,
    ForbiddenCapabilityError,
    load_catalogue,
)

DECREE_EVENTS = {
    "abandoned_object",
    "weapon",
    "wrong_way",
    "intrusion",
    "person_on_ground",
    "crowd_movement",
    "density",
    "fire_start",
}
PACKAGED = Path(__file__).resolve().parents[2] / "src" / "vigie" / "governance" / "catalogue.yaml"


def test_packaged_catalogue_loads_with_version_and_date() -> None:
    catalogue = load_catalogue()
    assert catalogue.version >= 1
    assert isinstance(catalogue.updated, date)
    assert {f.id for f in catalogue.frameworks} >= {
        "loi-2023-380-art10",
        "loi-2023-380-art10-prolongation-2027",
        "cnil-statistiques-anonymes",
        "lapi-csi-l233-1",
        "site-prive",
        "detection-mouvement",
    }


def test_olympics_framework_authorises_exactly_the_eight_decree_events() -> None:
    catalogue = load_catalogue()
    for framework_id, end in (
        ("loi-2023-380-art10", date(2025, 3, 31)),
        ("loi-2023-380-art10-prolongation-2027", date(2027, 12, 31)),
    ):
        authorised = {m.id for m in catalogue.modules if framework_id in m.frameworks}
        assert authorised == DECREE_EVENTS
        framework = catalogue.framework(framework_id)
        assert framework is not None and framework.ends_on == end
    extension = catalogue.framework("loi-2023-380-art10-prolongation-2027")
    assert extension is not None and extension.note and "promulgation" in extension.note


def test_framework_end_is_midnight_paris_after_the_last_day() -> None:
    framework = load_catalogue().framework("loi-2023-380-art10")
    assert framework is not None and framework.ends_at is not None
    assert framework.ends_at.astimezone(UTC) == datetime(2025, 3, 31, 22, 0, tzinfo=UTC)  # CEST
    assert framework.in_force(datetime(2025, 3, 31, 21, 59, tzinfo=UTC))
    assert not framework.in_force(datetime(2025, 3, 31, 22, 0, tzinfo=UTC))


def test_statistics_plate_reading_and_private_sites() -> None:
    catalogue = load_catalogue()
    assert {m.id for m in catalogue.modules if "cnil-statistiques-anonymes" in m.frameworks} == {
        "line_count",
        "occupancy",
    }
    stats = catalogue.framework("cnil-statistiques-anonymes")
    assert stats is not None and stats.ends_on is None and set(stats.settings) == set(CameraSetting)
    plates = catalogue.module("plate_reading")
    assert plates is not None and plates.tenant_kinds == (CommuneKind.STATE,)
    lapi = catalogue.framework("lapi-csi-l233-1")
    assert lapi is not None and lapi.tenant_kinds == (CommuneKind.STATE,)
    private = catalogue.framework("site-prive")
    assert private is not None and private.settings == (CameraSetting.PRIVATE_SITE,)


@pytest.mark.parametrize("module", ["stationary_vehicle", "loitering", "tracking", "motion"])
def test_modules_without_a_street_framework_exist_but_have_none_for_streets(module: str) -> None:
    catalogue = load_catalogue()
    assert catalogue.module(module) is not None
    for kind in CommuneKind:
        assert catalogue.frameworks_for(module, CameraSetting.PUBLIC_STREET, kind) == ()


def _tampered(tmp_path: Path, change: dict[str, object]) -> Path:
    data = yaml.safe_load(PACKAGED.read_text(encoding="utf-8"))
    data["modules"].append({"id": "extra", "title": "t", "description": "d", "frameworks": ["site-prive"], **change})
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "law"),
    [
        ({"id": "facial_recognition"}, "L25"),
        ({"id": "emotion-recognition"}, "L26"),
        ({"capabilities": ["object_detection", "reidentification"]}, "L25"),
        ({"capabilities": ["appearance_search"]}, "L25"),
        ({"capabilities": ["age_classification"]}, "L25"),
        ({"capabilities": ["gender_classification"]}, "L25"),
        ({"capabilities": ["ethnicity_classification"]}, "L25"),
        ({"capabilities": ["biometric_identification"]}, "L25"),
        ({"capabilities": ["emotion_recognition"]}, "L26"),
    ],
)
def test_forbidden_capabilities_cannot_even_be_declared(tmp_path: Path, change: dict[str, object], law: str) -> None:
    with pytest.raises(ForbiddenCapabilityError, match=law) as err:
        load_catalogue(_tampered(tmp_path, change))
    assert "forbidden in the build" in str(err.value)


def test_forbidden_list_covers_the_law() -> None:
    for name in (
        "facial_recognition",
        "biometric_identification",
        "reidentification",
        "appearance_search",
        "age_classification",
        "gender_classification",
        "ethnicity_classification",
        "emotion_recognition",
    ):
        assert name in FORBIDDEN_CAPABILITIES


def test_other_catalogue_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="unknown frameworks: nowhere"):
        load_catalogue(_tampered(tmp_path, {"frameworks": ["nowhere"]}))
    with pytest.raises(CatalogueError, match="bypass"):
        load_catalogue(_tampered(tmp_path, {"bypass": True}))
    with pytest.raises(CatalogueError, match="cannot read"):
        load_catalogue(tmp_path / "missing.yaml")
