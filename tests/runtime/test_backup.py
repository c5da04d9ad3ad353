"""``vigie backup create`` and ``vigie backup restore`` as an integrator runs them: a backup of one node restored on
a fresh one (SQLite and PostgreSQL), taken while a service writes, checked against the last published audit head;
a changed backup and a target that holds data are refused; the passphrase and the database password never leave."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support.clocks import T0, FakeClock
from tests.support.configs import config_yaml
from vigie.cli import main
from vigie.cli.commands.context import commands_on, opened
from vigie.domain.audit import AuditAction, AuditEvent, AuditRecord
from vigie.services.backup import PENDING_FILE, pending_restore

PASSPHRASE = "a secrets passphrase of forty characters"
POSTGRES_ENV = "VIGIE_TEST_POSTGRES_URL"


@dataclass(frozen=True)
class Node:
    root: Path
    config: Path
    data_dir: Path


def make_node(root: Path, database_url: str | None = None) -> Node:
    """A node's folder: its configuration (database, data folder under ``root``) and its secrets key file beside the
    data folder, ``<data_dir>.secrets-key``, as ``vigie demo`` writes it."""
    root.mkdir(parents=True)
    key = root / "data.secrets-key"
    key.write_text(PASSPHRASE + "\n", encoding="utf-8")
    key.chmod(0o600)
    text_ = config_yaml(root, "") + f"security:\n  secrets_key_file: {key}\n"
    if database_url is not None:
        text_ = text_.replace(f"sqlite:///{root / 'vigie.db'}", database_url)
    config = root / "vigie.yaml"
    config.write_text(text_, encoding="utf-8")
    return Node(root, config, root / "data")


@pytest.fixture
def postgres_urls() -> Iterator[tuple[str, str]]:
    """Two empty PostgreSQL databases (the old node's and the fresh one's), dropped after the test."""
    base_text = os.environ.get(POSTGRES_ENV, "")
    if not base_text:
        if os.environ.get("CI") == "true":
            pytest.fail(f"set {POSTGRES_ENV}: PostgreSQL tests cannot be skipped in CI")
        pytest.skip(f"set {POSTGRES_ENV} (bash scripts/postgres.sh prints it)")
    base = make_url(base_text)
    names = [f"vigie_b_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield tuple(base.set(database=n).render_as_string(hide_password=False) for n in names)  # type: ignore[misc]
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def vigie(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def write_entries(node: Node, clock: FakeClock, count: int, start: int = 0) -> None:
    with opened(node.config, clock) as context:
        for i in range(start, start + count):
            clock.advance(seconds=1)
            context.audit.append(AuditEvent("cli:test", AuditAction.CONFIG_CHANGED, f"thing-{i}", {"i": i}))


def chain_of(node: Node, clock: FakeClock) -> list[AuditRecord]:
    with opened(node.config, clock) as context:
        return list(context.audit.store.records())


def publish_head(capsys: pytest.CaptureFixture[str], node: Node, out: Path) -> dict[str, object]:
    code, _, err = vigie(capsys, "audit", "head", "--config", str(node.config), "-o", str(out))
    assert code == 0, err
    head: dict[str, object] = json.loads(out.read_text(encoding="utf-8"))
    return head


def every_byte(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str], old_url: str | None, new_url: str | None) -> None:
    clock = FakeClock(T0)
    old = make_node(tmp_path / "old", old_url)
    new = make_node(tmp_path / "new", new_url)
    with commands_on(clock):
        write_entries(old, clock, 130)  # past a checkpoint (every 100)
        head = publish_head(capsys, old, tmp_path / "head.json")
        backup = tmp_path / "backup"
        code, out, err = vigie(capsys, "backup", "create", "--config", str(old.config), "-o", str(backup))
        assert code == 0, err
        assert "NOT in it: the secrets passphrase" in out and "recordings" in out
        manifest = json.loads((backup / "manifest.json").read_text(encoding="utf-8"))
        assert set(manifest["files"]) >= {"keys/signing-key.pem", "audit-heads.jsonl", "config/vigie.yaml"}
        assert (backup / "keys" / "signing-key.pem").read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY")
        assert PASSPHRASE.encode() not in every_byte(backup), "the passphrase is kept apart"
        before = chain_of(old, clock)
        assert before[-1].action == AuditAction.BACKUP_CREATED
        assert before[-1].details["manifest_sha256"] and before[-1].details["includes_passphrase"] is False

        code, out, err = vigie(
            capsys, "backup", "restore", str(backup), "--config", str(new.config), "--head", str(tmp_path / "head.json")
        )
        assert code == 0, err
        assert "verified" in out and "backup.restored" in out
        after = chain_of(new, clock)
    backed_up = [r for r in before if r.seq < before[-1].seq]  # all but backup.created, written after the copy
    assert [r.hash for r in after[: len(backed_up)]] == [r.hash for r in backed_up]
    restored = next(r for r in after if r.action == AuditAction.BACKUP_RESTORED)
    assert restored.details["restored_last_seq"] == backed_up[-1].seq
    assert {"seq": head["seq"], "hash": head["hash"], "at": head["at"]} in restored.details["heads_checked"]
    assert restored.details["missing"] is None
    assert pending_restore(new.data_dir) is None
    if old_url is not None:
        said = out + err + json.dumps(manifest) + json.dumps(before[-1].details) + json.dumps(restored.details)
        password = make_url(old_url).password
        assert f":{password}@" not in said and "***@" in said, "the database password is redacted"


def test_round_trip_on_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    round_trip(tmp_path, capsys, None, None)


@pytest.mark.postgres
def test_round_trip_on_postgresql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], postgres_urls: tuple[str, str]
) -> None:
    round_trip(tmp_path, capsys, *postgres_urls)


def test_backup_while_a_service_writes_restores_a_whole_chain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A writer appends entries (with their checkpoints) through its own connection all along the backup: the copy
    is one transaction's database, whose chain verifies whole."""
    clock = FakeClock(T0)
    old, new = make_node(tmp_path / "old"), make_node(tmp_path / "new")
    stop, written = threading.Event(), [0]
    with commands_on(clock):
        write_entries(old, clock, 2000)
        publish_head(capsys, old, tmp_path / "head.json")

        def service() -> None:
            with opened(old.config, clock) as context:
                while not stop.is_set():
                    context.audit.append(AuditEvent("service", AuditAction.SEARCH, "cam", {"n": written[0]}))
                    written[0] += 1

        writer = threading.Thread(target=service)
        writer.start()
        try:
            while written[0] < 50:
                stop.wait(0.01)
            code, _, err = vigie(capsys, "backup", "create", "--config", str(old.config), "-o", str(tmp_path / "b"))
            during = written[0]
        finally:
            stop.set()
            writer.join()
        assert code == 0, err
        assert during > 50
        code, out, err = vigie(
            capsys,
            "backup",
            "restore",
            str(tmp_path / "b"),
            "--config",
            str(new.config),
            "--head",
            str(tmp_path / "head.json"),
        )
    assert code == 0, err
    assert "verified" in out


def test_a_backup_older_than_the_published_head_is_reported_and_blocks_the_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock(T0)
    old, new = make_node(tmp_path / "old"), make_node(tmp_path / "new")
    with commands_on(clock):
        write_entries(old, clock, 40)
        backup = tmp_path / "backup"
        assert vigie(capsys, "backup", "create", "--config", str(old.config), "-o", str(backup))[0] == 0
        in_backup = json.loads((backup / "manifest.json").read_text(encoding="utf-8"))["audit_head"]["seq"]
        write_entries(old, clock, 25, start=40)
        later = publish_head(capsys, old, tmp_path / "later.json")
        restore = (
            "backup",
            "restore",
            str(backup),
            "--config",
            str(new.config),
            "--head",
            str(tmp_path / "later.json"),
        )
        code, _, err = vigie(capsys, *restore)
        assert code == 3, err
        # The backup's chain ends at its head's checkpoint (nothing was written between it and the copy).
        first_missing = in_backup + 1
        expected = f"at least {int(str(later['seq'])) - first_missing + 1} entries, from seq {first_missing}"
        assert expected in err and "INCOMPLETE" in err
        assert (new.data_dir / PENDING_FILE).is_file()
        code, _, err = vigie(capsys, "serve", "--config", str(new.config))
        assert code == 2 and "older than the last published audit head" in err and "--accept-missing" in err
        assert chain_of(new, clock)[-1].seq == in_backup, "nothing is written to the chain before a decision"

        code, _, err = vigie(capsys, *restore)
        assert code == 2 and "holds data" in err, err
        code, out, err = vigie(capsys, *restore, "--replace", "--accept-missing")
        assert code == 0, err
        assert "ACCEPTED and recorded" in out
        restored = [r for r in chain_of(new, clock) if r.action == AuditAction.BACKUP_RESTORED]
    assert len(restored) == 1
    assert restored[0].seq == in_backup + 1
    assert restored[0].details["missing"] == {
        "from_seq": first_missing,
        "head_seq": later["seq"],
        "head_at": later["at"],
        "at_least": int(str(later["seq"])) - first_missing + 1,
    }
    assert pending_restore(new.data_dir) is None


def test_a_changed_backup_is_refused_before_anything_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock(T0)
    old, new = make_node(tmp_path / "old"), make_node(tmp_path / "new")
    with commands_on(clock):
        write_entries(old, clock, 30)
        publish_head(capsys, old, tmp_path / "head.json")
        backup = tmp_path / "backup"
        assert vigie(capsys, "backup", "create", "--config", str(old.config), "-o", str(backup))[0] == 0
        restore = ("backup", "restore", str(backup), "--config", str(new.config), "--head", str(tmp_path / "head.json"))

        copy = backup / "database" / "vigie.sqlite3"
        with sqlite3.connect(copy) as conn:
            conn.execute("UPDATE audit_entries SET actor = 'someone-else' WHERE seq = 5")
        code, _, err = vigie(capsys, *restore)
        assert code == 1 and "REFUSED" in err and "database/vigie.sqlite3 was changed" in err
        assert not new.data_dir.exists() and not (new.root / "vigie.db").exists(), "nothing was changed"

        manifest_path = backup / "manifest.json"
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        manifest["files"]["database/vigie.sqlite3"] = hashlib.sha256(copy.read_bytes()).hexdigest()
        manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
        code, _, err = vigie(capsys, *restore)
        assert code == 1 and "signature does not verify" in err, "a manifest re-hashed without the key is refused"

        (backup / "keys" / "extra.pem").write_text("x", encoding="ascii")
        code, _, err = vigie(capsys, *restore)
        assert code == 1 and "keys/extra.pem was added" in err


def test_a_backup_of_a_rewritten_chain_is_refused_and_blocks_the_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rows changed in the database before the backup: the manifest is whole, the chain is not."""
    clock = FakeClock(T0)
    old, new = make_node(tmp_path / "old"), make_node(tmp_path / "new")
    with commands_on(clock):
        write_entries(old, clock, 30)
        publish_head(capsys, old, tmp_path / "head.json")
        with sqlite3.connect(old.root / "vigie.db") as conn:
            conn.execute("UPDATE audit_entries SET target = 'elsewhere' WHERE seq = 7")
        backup = tmp_path / "backup"
        assert vigie(capsys, "backup", "create", "--config", str(old.config), "-o", str(backup))[0] == 0
        restore = ("backup", "restore", str(backup), "--config", str(new.config), "--head", str(tmp_path / "head.json"))
        code, _, err = vigie(capsys, *restore, "--accept-missing")
        assert code == 1 and "does not verify" in err and "seq 7" in err
        code, _, err = vigie(capsys, "serve", "--config", str(new.config))
    assert code == 2 and "refused" in err


def test_a_target_that_holds_data_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clock = FakeClock(T0)
    old, new = make_node(tmp_path / "old"), make_node(tmp_path / "new")
    with commands_on(clock):
        write_entries(old, clock, 10)
        publish_head(capsys, old, tmp_path / "head.json")
        backup = tmp_path / "backup"
        assert vigie(capsys, "backup", "create", "--config", str(old.config), "-o", str(backup))[0] == 0
        write_entries(new, clock, 3)  # the new node has a life of its own
        before = chain_of(new, clock)
        code, _, err = vigie(
            capsys, "backup", "restore", str(backup), "--config", str(new.config), "--head", str(tmp_path / "head.json")
        )
        assert code == 2 and "holds data" in err and "--replace" in err and "nothing was changed" in err
        assert chain_of(new, clock) == before


def test_the_backup_configuration_is_written_where_the_node_has_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock(T0)
    old = make_node(tmp_path / "old")
    with commands_on(clock):
        write_entries(old, clock, 5)
        publish_head(capsys, old, tmp_path / "head.json")
        backup = tmp_path / "backup"
        assert vigie(capsys, "backup", "create", "--config", str(old.config), "-o", str(backup))[0] == 0
        shutil.rmtree(old.data_dir)  # the node is lost: its disk is replaced
        (old.root / "vigie.db").unlink()
        for wal in old.root.glob("vigie.db-*"):
            wal.unlink()
        old.config.unlink()
        code, out, err = vigie(
            capsys, "backup", "restore", str(backup), "--config", str(old.config), "--head", str(tmp_path / "head.json")
        )
        assert code == 0, err
    assert f"wrote the backup's configuration to {old.config}" in out
    assert old.config.read_bytes() == (backup / "config" / "vigie.yaml").read_bytes()


def test_a_head_of_another_installation_is_refused_before_anything_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock(T0)
    old, other, new = make_node(tmp_path / "old"), make_node(tmp_path / "other"), make_node(tmp_path / "new")
    with commands_on(clock):
        write_entries(old, clock, 5)
        write_entries(other, clock, 5)
        publish_head(capsys, other, tmp_path / "other-head.json")
        backup = tmp_path / "backup"
        assert vigie(capsys, "backup", "create", "--config", str(old.config), "-o", str(backup))[0] == 0
        code, _, err = vigie(
            capsys,
            "backup",
            "restore",
            str(backup),
            "--config",
            str(new.config),
            "--head",
            str(tmp_path / "other-head.json"),
        )
    assert code == 2 and "which the backup does not hold" in err and "--pubkey" in err
    assert not new.data_dir.exists() and not (new.root / "vigie.db").exists(), "nothing was changed"


def test_encrypted_keys_without_a_passphrase_are_refused_before_anything_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VIGIE_SECRETS_PASSPHRASE", raising=False)
    clock = FakeClock(T0)
    old, new = make_node(tmp_path / "old"), make_node(tmp_path / "new")
    new.config.write_text(new.config.read_text(encoding="utf-8").split("security:")[0], encoding="utf-8")
    with commands_on(clock):
        write_entries(old, clock, 5)
        publish_head(capsys, old, tmp_path / "head.json")
        backup = tmp_path / "backup"
        assert vigie(capsys, "backup", "create", "--config", str(old.config), "-o", str(backup))[0] == 0
        code, _, err = vigie(
            capsys, "backup", "restore", str(backup), "--config", str(new.config), "--head", str(tmp_path / "head.json")
        )
    assert code == 2 and "encrypted and no passphrase is given" in err and "secrets_key_file" in err
    assert not new.data_dir.exists() and not (new.root / "vigie.db").exists(), "nothing was changed"
