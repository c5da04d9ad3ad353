"""The recording commands: place, lift and list holds (L4), export the destruction register (L5), purge now.
:mod:`vigie.cli.recording` wires them to argparse; each returns the process exit code (0 done, 1 refused, 2 the
configuration or the database is unusable or nobody is signed in).

Placing and lifting a hold act as the account signed in with ``vigie login`` (:mod:`vigie.cli.commands.session`):
it needs the export permission and must see the camera; the audit log names the account. Times must carry a time
zone (``2025-03-01T12:00+01:00``): a requisition period is a legal fact and is never guessed from the server's
zone.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy import Engine

from vigie.cli.commands.context import Opened, run_opened
from vigie.cli.commands.session import run_signed_in
from vigie.config.models import VigieConfig
from vigie.domain.actor import Actor
from vigie.domain.clock import Clock
from vigie.domain.ports import AuditSink
from vigie.domain.recording import DestructionRecord, Hold
from vigie.domain.users import Permission
from vigie.runtime.assembly.purge import build_purger
from vigie.services.access import NotVisibleError, Principal
from vigie.services.holds import HoldNotFoundError, HoldRefusedError, HoldService
from vigie.storage import (
    SqlDestructionRegister,
    SqlHoldRepo,
    SqlSegmentIndex,
)

HOLD_PERMISSION = Permission.EXPORT
"""Placing and lifting a judicial hold is the work of whoever handles requisitions: the export permission
(investigators), with a valid individual authorisation and training (L8, L9), on cameras the account sees."""

REGISTER_COLUMNS = (
    "segment_id",
    "camera_id",
    "key",
    "start",
    "end",
    "sha256",
    "transmitted_to_prosecutor_at",
    "destroyed_at",
    "reason",
)


@dataclass(frozen=True, slots=True)
class _Context:
    config: VigieConfig
    engine: Engine
    holds: HoldService
    register: SqlDestructionRegister
    audit: AuditSink
    clock: Clock


def parse_instant(value: datetime | str, what: str) -> datetime:
    """An aware datetime from a datetime or an ISO 8601 text; raise ``ValueError`` when it has no time zone."""
    try:
        at = value if isinstance(value, datetime) else datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{what} {value!r} is not an ISO 8601 date and time (e.g. 2025-03-01T12:00+01:00)") from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} {at.isoformat()} has no time zone: write it like 2025-03-01T12:00+01:00")
    return at


def _context(opened: Opened) -> _Context:
    engine = opened.engine
    holds = HoldService(SqlSegmentIndex(engine), SqlHoldRepo(engine), opened.audit, opened.clock)
    return _Context(opened.config, engine, holds, SqlDestructionRegister(engine), opened.audit, opened.clock)


def _run(config_path: Path, action: Callable[[_Context], int]) -> int:
    return run_opened(config_path, lambda opened: action(_context(opened)))


def _run_as(config_path: Path, what: str, action: Callable[[_Context, Principal], int]) -> int:
    """Run ``action`` for the account signed in at the command line (:mod:`vigie.cli.commands.session`)."""

    def with_services(opened: Opened, viewer: Principal) -> int:
        return action(_context(opened), viewer)

    return run_signed_in(config_path, what, with_services)


def _refused(message: str) -> int:
    print(f"vigie: {message}", file=sys.stderr)
    return 1


def hold_place_command(  # noqa: PLR0917 - the positional order is the documented one (brief, cli wiring)
    config_path: Path,
    camera: str,
    start: datetime | str,
    end: datetime | str,
    requisition: str,
    case: str,
    officer: str,
) -> int:
    """Place a hold on a camera's footage over [start, end) (L4), as the signed-in account: it will not be deleted
    until lifted."""

    def place(context: _Context, viewer: Principal) -> int:
        viewer.require(HOLD_PERMISSION)
        if context.config.find_camera(camera) is None:
            return _refused(f"refused: camera {camera!r} is not in the configuration")
        viewer.require_camera(camera)
        try:
            first, last = parse_instant(start, "start"), parse_instant(end, "end")
            hold = context.holds.place(
                camera,
                first,
                last,
                requisition_ref=requisition,
                case_number=case,
                officer=officer,
                by=_actor(viewer),
            )
        except (HoldRefusedError, ValueError) as err:
            return _refused(str(err) if str(err).startswith("refused") else f"refused: {err}")
        print(f"hold #{hold.id} placed: {_describe(hold)}")
        return 0

    return _run_as(config_path, "vigie hold place", place)


def hold_lift_command(config_path: Path, hold_id: int, reason: str) -> int:
    """Lift a hold, as the signed-in account: its footage falls back under normal retention (and is purged if
    already expired)."""

    def lift(context: _Context, viewer: Principal) -> int:
        viewer.require(HOLD_PERMISSION)
        held = next((h for h in context.holds.all() if h.id == hold_id), None)
        if held is not None and not viewer.sees_camera(held.camera_id):
            raise NotVisibleError(f"hold {hold_id} does not exist among the holds of the cameras you may see")
        try:
            hold = context.holds.lift(hold_id, _actor(viewer), reason)
        except (HoldRefusedError, HoldNotFoundError) as err:
            return _refused(str(err) if str(err).startswith("refused") else f"refused: {err}")
        print(f"hold #{hold.id} lifted: {_describe(hold)}")
        return 0

    return _run_as(config_path, "vigie hold lift", lift)


def _actor(viewer: Principal) -> Actor:
    return Actor(viewer.actor, commune_id=viewer.user.commune_id)


def hold_list_command(config_path: Path) -> int:
    """Every hold, active and lifted, oldest first."""

    def show(context: _Context) -> int:
        holds = context.holds.all()
        if not holds:
            print("no hold")
        for hold in holds:
            print(f"#{hold.id} {_describe(hold)}")
        return 0

    return _run(config_path, show)


def register_command(config_path: Path, out: Path | None) -> int:
    """The destruction register (L5, R252-11) as CSV, to ``out`` or to standard output."""

    def export(context: _Context) -> int:
        lines = context.register.all()
        if out is None:
            write_register_csv(lines, sys.stdout)
            return 0
        try:
            with out.open("w", encoding="utf-8", newline="") as stream:
                write_register_csv(lines, stream)
        except OSError as err:
            return _refused(f"cannot write the register to {out}: {err.strerror or err}")
        print(f"{len(lines)} register lines written to {out}", file=sys.stderr)
        return 0

    return _run(config_path, export)


def write_register_csv(lines: list[DestructionRecord], stream: TextIO) -> None:
    """One CSV row per recording, times in ISO 8601 UTC, empty when not (yet) transmitted or destroyed."""
    writer = csv.writer(stream)
    writer.writerow(REGISTER_COLUMNS)
    for r in lines:
        writer.writerow(
            (
                r.segment_id,
                r.camera_id,
                r.key,
                r.start.isoformat(),
                r.end.isoformat(),
                r.sha256,
                _iso(r.transmitted_to_prosecutor_at),
                _iso(r.destroyed_at),
                r.reason,
            )
        )


def _iso(at: datetime | None) -> str:
    return "" if at is None else at.isoformat()


def _describe(hold: Hold) -> str:
    status = (
        "active"
        if hold.lifted_at is None
        else f"lifted {hold.lifted_at.isoformat()} by {hold.lifted_by}: {hold.lift_reason}"
    )
    return (
        f"{hold.camera_id} from {hold.start.isoformat()} to {hold.end.isoformat()}; requisition "
        f"{hold.requisition_ref}, case {hold.case_number}, officer {hold.officer}; placed "
        f"{hold.placed_at.isoformat()} by {hold.placed_by}; {status}"
    )


def purge_command(config_path: Path) -> int:
    """Run the retention purge now (the service runs it every minute): expired unheld segments are destroyed,
    and, when free space is below ``storage.min_free_mb``, the oldest unheld ones too — never a held one."""

    def purge(context: _Context) -> int:
        config = context.config
        min_free = config.storage.min_free_mb * 1024 * 1024
        report = build_purger(
            config, context.engine, min_free_bytes=min_free, audit=context.audit, clock=context.clock
        ).run()
        print(
            f"destroyed {report.destroyed} segment(s), {report.freed_bytes} bytes; "
            f"{report.held_kept} held segment(s) kept"
        )
        if report.alarm:
            print(f"ALARM: {report.alarm}", file=sys.stderr)
        return 0

    return _run(config_path, purge)
