"""The demo's dome without the RTSP stack: its camera entry is a PTZ dome of the demo's commune that names its ONVIF
device and its account; the account, made at each start, is sealed in the demo's credentials store, and the ONVIF
client Vigie drives domes with moves the simulated dome with it (and nothing else)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from vigie.devices.onvif import OnvifError, OnvifPtz
from vigie.domain.camera import CameraKind
from vigie.domain.ptz import PtzVector
from vigie.governance.camera_credentials import CameraCredentialStore
from vigie.runtime.assembly.audit import keys_folder
from vigie.runtime.assembly.demo import demo_config, demo_secrets_key, write_config
from vigie.runtime.assembly.demo_dome import DOME_CAMERA, DemoDome

STREAM = "rtsp://127.0.0.1:8554/dome1"


def test_the_demo_dome_is_driven_over_onvif_with_the_account_made_at_its_start(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    data.mkdir()
    with DemoDome() as dome:  # its feed goes to a UDP port nobody reads here
        dome.start_device(STREAM)
        config = demo_config(
            data,
            "127.0.0.1",
            8080,
            {"sim1": "file:///street.mp4"},
            secrets_key_file=demo_secrets_key(data),
            dome=dome.camera(),
        )
        dome.store_account(config)
        [placement] = [p for p in config.placements() if p.camera.id == DOME_CAMERA]
        camera = placement.camera
        assert camera.kind is CameraKind.PTZ and placement.commune.id == "demo"
        assert camera.main_stream == STREAM and camera.credentials == "dome1"
        assert camera.onvif is not None and (camera.onvif.host, camera.onvif.port) == ("127.0.0.1", dome.onvif_port)

        store = CameraCredentialStore(keys_folder(config))
        account = store.accounts()["dome1"]
        assert account.password.encode() not in Path(store.path).read_bytes(), "sealed, not in clear"
        write_config(config, data / "vigie.yaml")
        assert account.password not in (data / "vigie.yaml").read_text(encoding="utf-8")

        ptz = OnvifPtz(camera.onvif.host, camera.onvif.port, account.username, account.password)
        try:
            ptz.absolute_move(PtzVector(0.25, -0.2, 0.4))
            deadline = time.monotonic() + 10
            while dome.dome.status().moving and time.monotonic() < deadline:
                time.sleep(0.05)
            position = dome.dome.status().position
            assert (position.pan, position.tilt, position.zoom) == pytest.approx((0.25, -0.2, 0.4), abs=1e-6)
            reported = ptz.status().position
            assert (reported.pan, reported.tilt, reported.zoom) == pytest.approx((0.25, -0.2, 0.4), abs=1e-6), (
                "the device reports the dome's position"
            )
        finally:
            ptz.close()
        with pytest.raises(OnvifError, match="wrong username or password"):
            OnvifPtz(camera.onvif.host, camera.onvif.port, account.username, account.password + "x").close()
        assert dome.feed.running
    assert not dome.feed.running, "the feed stops with the dome"

    with DemoDome() as again:  # the next start makes another password
        again.start_device(STREAM)
        again.store_account(config)
        assert store.accounts()["dome1"].password != account.password
