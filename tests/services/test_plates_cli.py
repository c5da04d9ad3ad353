"""``vigie lapi …`` as the signed-in account: a state tenant's supervisor imports a list and sees the matches and
counts (each query audited); a commune's supervisor is refused (L34); a file that does not verify is refused with
the reason."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.support.activations import NOW, config_text
from tests.support.cli_accounts import CliAccounts, signed_in_world
from tests.support.clocks import FakeClock
from vigie.cli import main
from vigie.cli.commands.context import opened
from vigie.config import load_config
from vigie.domain.audit import AuditAction
from vigie.domain.plates import MODULE, PlateRead
from vigie.governance.gate import ActivationGate, GateRules, Window
from vigie.runtime.assembly.plates import hit_list_key_folder, open_plate_service
from vigie.services.alerts import AlertService
from vigie.storage import SqlAlertRepo, SqlAuditStore

LIST = "plate\treason\tlist\nAB-123-CD\tvol déclaré\tvoles\n".encode()
CROP = b"\xff\xd8\xff\xe0 plate"


class LapiActivation:
    def rules(self, now: datetime) -> GateRules:
        return GateRules(windows={(MODULE, "cam-lapi"): (Window(1, NOW, NOW + timedelta(days=30)),)})


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "vigie.yaml"
    storage = f"storage:\n  database_url: sqlite:///{tmp_path / 'v.db'}\n  data_dir: {tmp_path / 'data'}\n"
    path.write_text(config_text(NOW.date()).replace("version: 1\n", f"version: 1\n{storage}", 1), encoding="utf-8")
    return path


@pytest.fixture
def accounts(config_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliAccounts]:
    with signed_in_world(config_path, tmp_path / "sessions", FakeClock(NOW), monkeypatch) as world:
        world.add("sup.pn", "supervisor", commune="police")
        world.add("sup.ville", "supervisor", commune="belvedere")
        yield world


def store_reads(config_path: Path, clock: FakeClock) -> None:
    """What the analysis workers hand over: a read that matches the list and one that does not."""
    with opened(config_path, clock) as context:
        alerts = AlertService(SqlAlertRepo(context.engine), context.audit, clock)
        gate = ActivationGate(LapiActivation(), clock, cache_ttl_s=0)
        plates = open_plate_service(context.config, context.engine, context.audit, clock, alerts, gate=gate)
        for text in ("AB123CD", "EF456GH"):
            plates.record(PlateRead("cam-lapi", "police", clock(), text, text, "FR-SIV", 0.9, 5, CROP, 1))


def actions(config_path: Path, clock: FakeClock, action: AuditAction) -> list[dict[str, object]]:
    with opened(config_path, clock) as context:
        return [dict(r.details) for r in SqlAuditStore(context.engine).records() if r.action == action]


def test_a_state_supervisor_imports_and_reads_matches_and_counts(
    accounts: CliAccounts, config_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    accounts.sign_in("sup.pn")
    file = tmp_path / "voles.tsv"
    file.write_bytes(LIST)
    digest = hashlib.sha256(LIST).hexdigest()
    config = ["--config", str(config_path)]
    assert main(["lapi", "lists", "import", str(file), "--checksum", digest, *config]) == 0
    assert f"sha256 {digest}" in capsys.readouterr().out
    clock = accounts.clock
    assert isinstance(clock, FakeClock)
    store_reads(config_path, clock)
    assert main(["lapi", "matches", *config]) == 0
    out = capsys.readouterr().out
    assert "AB123CD" in out and "list voles: vol déclaré" in out and "EF456GH" not in out
    assert main(["lapi", "counts", *config]) == 0
    assert f"{NOW.date().isoformat()}  cam-lapi               2       1" in capsys.readouterr().out
    [seen] = [d["matches"] for d in actions(config_path, clock, AuditAction.PLATE_MATCHES_READ)]
    assert isinstance(seen, list) and len(seen) == 1, "the list of matches shown is audited with their ids"
    match_id = seen[0]
    crop = tmp_path / "crop.jpg"
    assert main(["lapi", "crop", str(match_id), "--output", str(crop), *config]) == 0
    assert crop.read_bytes() == CROP and len(actions(config_path, clock, AuditAction.PLATE_CROP_VIEWED)) == 1
    assert [d["entries"] for d in actions(config_path, clock, AuditAction.HIT_LIST_IMPORTED)] == [1]
    assert len(actions(config_path, clock, AuditAction.PLATE_COUNTS_READ)) == 1

    assert main(["lapi", "lists", "import", str(file), "--checksum", "0" * 64, *config]) == 1
    assert f"SHA-256 is {digest}" in capsys.readouterr().err


def test_a_communes_supervisor_is_refused(
    accounts: CliAccounts, config_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    accounts.sign_in("sup.ville")
    capsys.readouterr()
    assert main(["lapi", "matches", "--config", str(config_path)]) == 1
    assert "L34" in capsys.readouterr().err


def test_a_list_signed_by_a_key_the_tenant_registered_is_imported(
    accounts: CliAccounts, config_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    issuer, stranger = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    folder = hit_list_key_folder(load_config(config_path), "police")
    folder.mkdir(parents=True)
    pem = issuer.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (folder / "issuer.pem").write_bytes(pem)
    file, signature = tmp_path / "voles.tsv", tmp_path / "voles.tsv.sig"
    file.write_bytes(LIST)
    accounts.sign_in("sup.pn")
    config = ["--config", str(config_path)]
    signature.write_bytes(base64.b64encode(stranger.sign(LIST)))
    assert main(["lapi", "lists", "import", str(file), "--signature", str(signature), *config]) == 1
    assert "verifies with none of the 1 registered key(s)" in capsys.readouterr().err
    signature.write_bytes(base64.b64encode(issuer.sign(LIST)))
    assert main(["lapi", "lists", "import", str(file), "--signature", str(signature), *config]) == 0
    assert "signature:" in capsys.readouterr().out
    assert main(["lapi", "lists", "history", *config]) == 0
    assert "1 plate(s)" in capsys.readouterr().out
