"""``vigie lapi …``: plate reading (LAPI) from the command line, as the account signed in with ``vigie login`` —
the same use cases as ``/api/plates`` (:class:`vigie.services.plates.PlateService`): the permission, the state
tenant (L34) and the audit of every query are the service's."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, date
from pathlib import Path

from vigie.cli.arguments import TimeArgumentError, parse_when
from vigie.cli.commands.context import Opened
from vigie.cli.commands.session import run_signed_in
from vigie.domain.plates import PlateMatch
from vigie.runtime.assembly.plates import open_plate_service
from vigie.services.access import Principal
from vigie.services.alerts import AlertService
from vigie.services.plates import PlateRequestError, PlateService
from vigie.storage import SqlAlertRepo

EXIT_REFUSED = 1


def _service(context: Opened) -> PlateService:
    alerts = AlertService(SqlAlertRepo(context.engine), context.audit, context.clock)
    return open_plate_service(context.config, context.engine, context.audit, context.clock, alerts)


def _run(config_path: Path, what: str, action: Callable[[PlateService, Principal], int]) -> int:
    def run(context: Opened, viewer: Principal) -> int:
        try:
            return action(_service(context), viewer)
        except PlateRequestError as err:
            print(f"refused: {err}", file=sys.stderr)
            return EXIT_REFUSED

    return run_signed_in(config_path, what, run)


def _describe(m: PlateMatch) -> str:
    hold = f"  held for {m.hold.reference} by {m.hold.placed_by}" if m.hold is not None else ""
    alert = f"  alert #{m.alert_id}" if m.alert_id is not None else ""
    return (
        f"#{m.id}  {m.at.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z  {m.camera_id}  {m.display} ({m.plate_format}, "
        f"{m.confidence:.2f})  list {m.list_name}: {m.reason}{alert}  until {m.expires_at.astimezone(UTC):%Y-%m-%d}"
        f"{hold}"
    )


def import_command(config_path: Path, file: Path, checksum: str | None, signature_file: Path | None) -> int:
    try:
        data = file.read_bytes()
        signature = None if signature_file is None else signature_file.read_bytes()
    except OSError as err:
        print(f"vigie: cannot read {err.filename}: {err.strerror}", file=sys.stderr)
        return EXIT_REFUSED

    def action(service: PlateService, viewer: Principal) -> int:
        stored = service.import_as(viewer, data, checksum=checksum, signature=signature)
        print(
            f"import #{stored.id}: {stored.entries} plate(s) in {', '.join(stored.list_names)} "
            f"(sha256 {stored.sha256}, {stored.verified_by})"
        )
        return 0

    return _run(config_path, "vigie lapi lists import", action)


def history_command(config_path: Path) -> int:
    def action(service: PlateService, viewer: Principal) -> int:
        imports = service.imports_for(viewer)
        for i in imports:
            print(
                f"#{i.id}  {i.imported_at.astimezone(UTC):%Y-%m-%d %H:%M}Z  {i.imported_by}  "
                f"{', '.join(i.list_names)}  {i.entries} plate(s)  sha256 {i.sha256}  {i.verified_by}"
            )
        if not imports:
            print("no hit list imported")
        return 0

    return _run(config_path, "vigie lapi lists history", action)


def matches_command(config_path: Path, camera: str | None, since: str | None, alert: int | None, limit: int) -> int:
    try:
        when = None if since is None else parse_when(since)
    except TimeArgumentError as err:
        print(f"vigie: --since: {err}", file=sys.stderr)
        return EXIT_REFUSED

    def action(service: PlateService, viewer: Principal) -> int:
        found = service.matches_for(viewer, camera_id=camera, since=when, alert_id=alert, limit=limit)
        for match in found:
            print(_describe(match))
        if not found:
            print("no match")
        return 0

    return _run(config_path, "vigie lapi matches", action)


def crop_command(config_path: Path, match_id: int, output: Path) -> int:
    def action(service: PlateService, viewer: Principal) -> int:
        crop = service.crop_for(viewer, match_id)
        output.write_bytes(crop)
        print(f"{output}: plate crop of match #{match_id} ({len(crop)} bytes)")
        return 0

    return _run(config_path, "vigie lapi crop", action)


def counts_command(config_path: Path, since: date | None, until: date | None, camera: str | None) -> int:
    def action(service: PlateService, viewer: Principal) -> int:
        first, last = service.default_period()
        rows = service.counts_for(viewer, since or first, until or last, camera_id=camera)
        print(f"{'day':10}  {'camera':16} {'reads':>7} {'matches':>7}")
        for row in rows:
            print(f"{row.day.isoformat():10}  {row.camera_id:16} {row.reads:>7} {row.matches:>7}")
        return 0

    return _run(config_path, "vigie lapi counts", action)


def hold_command(config_path: Path, match_id: int, reference: str) -> int:
    def action(service: PlateService, viewer: Principal) -> int:
        print(_describe(service.hold_as(viewer, match_id, reference)))
        return 0

    return _run(config_path, "vigie lapi hold", action)


def release_command(config_path: Path, match_id: int, reason: str) -> int:
    def action(service: PlateService, viewer: Principal) -> int:
        print(_describe(service.release_as(viewer, match_id, reason)))
        return 0

    return _run(config_path, "vigie lapi release", action)
