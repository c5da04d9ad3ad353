"""Cameras that are the sensors of one multi-sensor device (``device``): one housing, one address, one account.
Naming different ones is refused with the cameras and what differs, so that a typo does not split a housing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from tests.support.configs import camera_data, config_yaml

from vigie.config.issues import ConfigError
from vigie.config.loader import load_config_text
from vigie.config.models import VigieConfig
from vigie.domain.camera import CameraKind


def with_cameras(tmp_path: Path, *cameras: dict[str, object]) -> str:
    document = yaml.safe_load(config_yaml(tmp_path, ""))
    document["communes"][0]["sites"][0]["cameras"] = list(cameras)
    return yaml.safe_dump(document)


def sensor(number: int, **changes: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "id": f"quai-1-s{number}",
        "device": "quai-1",
        "credentials": "onvif-gare",
        "onvif": {"host": "10.20.3.41", "port": 80},
    }
    return camera_data(**(fields | changes))


def test_the_sensors_of_one_housing_load_as_cameras_naming_their_device(tmp_path: Path) -> None:
    config = load_config_text(
        with_cameras(
            tmp_path,
            sensor(1),
            sensor(2, kind="thermal", analysis={"detector": {"kind": "hot_blob"}}),
            sensor(3, kind="ptz", onvif={"host": "10.20.3.41", "port": 80, "ptz_profile": "Dome-main"}),
            camera_data(id="cam-002"),
        )
    )
    cameras = {p.camera.id: p.camera for p in config.placements()}
    assert {c.id: c.device for c in cameras.values()} == {
        "quai-1-s1": "quai-1",
        "quai-1-s2": "quai-1",
        "quai-1-s3": "quai-1",
        "cam-002": None,
    }
    assert [cameras[f"quai-1-s{n}"].kind for n in (1, 2, 3)] == [CameraKind.FIXED, CameraKind.THERMAL, CameraKind.PTZ]


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (
            sensor(2, credentials="onvif-other"),
            "the cameras of device quai-1 name different accounts (`credentials`): quai-1-s1: onvif-gare, "
            "quai-1-s2: onvif-other",
        ),
        (
            sensor(2, onvif={"host": "10.20.3.42", "port": 80}),
            "the cameras of device quai-1 name different ONVIF addresses (`onvif`): quai-1-s1: 10.20.3.41:80, "
            "quai-1-s2: 10.20.3.42:80",
        ),
    ],
)
def test_cameras_of_one_device_with_another_account_or_address_are_refused(
    tmp_path: Path, second: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config_text(with_cameras(tmp_path, sensor(1), second))
    assert message in str(caught.value)
    assert "give cameras of different devices different `device` ids" in str(caught.value)


def test_a_sensor_without_onvif_settings_still_belongs_to_its_device(tmp_path: Path) -> None:
    document = yaml.safe_load(with_cameras(tmp_path, sensor(1), sensor(2, onvif=None)))
    del document["communes"][0]["sites"][0]["cameras"][1]["onvif"]
    config = VigieConfig.model_validate(document)
    assert [p.camera.device for p in config.placements()] == ["quai-1", "quai-1"]
