"""A camera's account from the credentials store, never from the configuration file: `vigie cameras credentials`
stores it (audited, the name only), `vigie serve`'s composition puts it into the stream URLs, and a real RTSP server
that asks for it is recorded."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest

from tests.recording.media import write_h264
from tests.support.configs import camera_yaml, config_yaml
from tests.support.rtsp import rtsp_stack_missing
from tests.support.servers import free_port
from tests.support.waiting import wait_for
from vigie.cli import main
from vigie.config import load_config_text
from vigie.config.issues import ConfigError
from vigie.domain.recording import SegmentState
from vigie.runtime.assembly.service import ServiceError, VigieService, enabled_cameras

PASSWORD = "Rec-0rd!ng pw"
PASSPHRASE = "a passphrase for the camera accounts test"


def _config_file(tmp_path: Path, url: str, *, credentials: str | None = "cam-acct") -> Path:
    camera = camera_yaml("cam-1", url)
    if credentials is not None:
        camera = camera.replace(
            f"main_stream: {url}\n", f"main_stream: {url}\n            credentials: {credentials}\n"
        )
    path = tmp_path / "vigie.yaml"
    path.write_text(config_yaml(tmp_path, camera), encoding="utf-8")
    return path


def _set_account(config: Path, monkeypatch: pytest.MonkeyPatch, password: str = PASSWORD) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return main(["cameras", "credentials", "set", "cam-acct", "--username", "vigie-rec", "--config", str(config)])


def test_the_cli_stores_the_account_and_the_audit_names_it_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VIGIE_SECRETS_PASSPHRASE", PASSPHRASE)
    config = _config_file(tmp_path, "rtsp://10.0.0.5:554/live")
    assert _set_account(config, monkeypatch) == 0
    assert main(["cameras", "credentials", "list", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "cam-acct\tvigie-rec" in out and PASSWORD not in out
    assert _set_account(config, monkeypatch, "admin") == 0  # not the factory pair: the username is vigie-rec
    assert _set_account(config, monkeypatch, "") == 2
    assert "1–256 printable" in capsys.readouterr().err
    assert main(["cameras", "credentials", "remove", "cam-acct", "--config", str(config)]) == 0
    assert main(["cameras", "credentials", "remove", "cam-acct", "--config", str(config)]) == 1
    with sqlite3.connect(tmp_path / "vigie.db") as db:
        rows = db.execute("SELECT action, target, details FROM audit_entries WHERE target LIKE 'camera-credentials:%'")
        changes = [(action, target, details) for action, target, details in rows]
    assert [c[0] for c in changes] == ["config.changed"] * 3
    assert all(c[1] == "camera-credentials:cam-acct" for c in changes)
    assert all(PASSWORD not in str(c) and "vigie-rec" not in str(c) for c in changes)
    assert PASSWORD.encode() not in (tmp_path / "vigie.db").read_bytes()


def test_a_camera_naming_an_account_carries_none_in_its_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="carries one too"):
        load_config_text(_config_file(tmp_path, "rtsp://u:p@10.0.0.5/live").read_text(encoding="utf-8"))


def test_the_service_refuses_to_start_without_the_named_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIE_SECRETS_PASSPHRASE", PASSPHRASE)
    config = load_config_text(_config_file(tmp_path, "rtsp://10.0.0.5:554/live").read_text(encoding="utf-8"))
    with pytest.raises(ServiceError, match=r"does not hold: cam-acct; add each with `vigie cameras credentials set"):
        enabled_cameras(config)


def test_a_camera_that_asks_for_its_account_is_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vigie.sim.rtsp import RtspSimServer

    missing = rtsp_stack_missing()
    if missing:
        pytest.skip(missing)
    monkeypatch.setenv("VIGIE_SECRETS_PASSPHRASE", PASSPHRASE)
    video = write_h264(tmp_path / "cam.mp4", seconds=4.0)
    with RtspSimServer({"cam": video}, port=free_port(), account=("vigie-rec", PASSWORD)) as server:
        path = _config_file(tmp_path, server.url("cam"))
        assert _set_account(path, monkeypatch) == 0
        config = load_config_text(path.read_text(encoding="utf-8"))
        assert "vigie-rec" not in path.read_text(encoding="utf-8")
        service = VigieService(config)
        service.reconcile_recordings()
        service.supervisor.start()
        try:
            wait_for(
                lambda: service.segments.count(camera_id="cam-1", state=SegmentState.COMPLETE) >= 1,
                40,
                "a segment recorded from the camera that asks for its account",
            )
        finally:
            service.supervisor.stop()
            service.sink.close()
