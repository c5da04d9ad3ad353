"""A dome's configuration: its ONVIF device needs an account, its privacy masks are directions (pan, tilt), and a
mask drawn on its picture is refused (it would slide off the window as soon as the dome moves)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from tests.support.configs import camera_data

from vigie.config.camera import Camera

MASK = {"id": "entree", "points": [[-38.0, -2.0], [-29.5, -2.0], [-29.5, -14.0]]}


def test_a_dome_has_masks_in_pan_tilt_and_an_onvif_device_with_its_account() -> None:
    camera = Camera.model_validate(
        camera_data(
            kind="ptz",
            credentials="cam-001",
            onvif={"host": "10.20.3.41", "port": 8080, "home_after_s": 120},
            ptz_privacy_masks=[MASK],
        )
    )
    assert camera.onvif is not None and (camera.onvif.host, camera.onvif.port) == ("10.20.3.41", 8080)
    assert camera.ptz_privacy_masks[0].points[1] == (-29.5, -2.0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"kind": "ptz", "zones": [{"kind": "privacy_mask", "id": "m", "points": [[0, 0], [0.2, 0], [0.2, 0.3]]}]},
            "drawn on the picture of a PTZ dome",
        ),
        ({"kind": "fixed", "ptz_privacy_masks": [MASK]}, "pan/tilt masks are for PTZ domes"),
        ({"kind": "ptz", "onvif": {"host": "10.20.3.41"}}, "reached with an account"),
        ({"kind": "ptz", "credentials": "c", "onvif": {"host": "http://10.20.3.41/onvif"}}, "String should match"),
        (
            {"kind": "ptz", "ptz_privacy_masks": [{"id": "m", "points": [[0, 0], [10, 95], [20, 0]]}]},
            "less than or equal to 90",
        ),
        ({"kind": "ptz", "ptz_privacy_masks": [{"id": "m", "points": [[0, 0], [10, 5]]}]}, "at least 3"),
        ({"kind": "ptz", "ptz_privacy_masks": [MASK, MASK]}, "dome mask ids"),
    ],
)
def test_what_a_dome_cannot_be_is_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Camera.model_validate(camera_data(**changes))
