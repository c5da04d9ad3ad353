"""``vigie alerts list | confirm | dismiss | stats``: the alert lifecycle from the command line (the console, #7,
does the same through the API). A verdict is given by the account signed in with ``vigie login``, in its deciding
role (operator or supervisor, ``--as`` to choose), on an alert of a camera it sees; every verdict is in the audit
chain; ``stats`` prints the false-positive rate per module and camera (L31)."""

from __future__ import annotations

import sys
from datetime import UTC
from pathlib import Path

from vigie.cli.commands.context import Opened, run_opened
from vigie.cli.commands.session import run_signed_in
from vigie.domain.alerts import Alert, AlertAlreadyDecidedError, AlertNotFoundError, AlertState, Verdict
from vigie.services.access import Principal
from vigie.services.alerts import AlertRefusedError, AlertService
from vigie.storage import SqlAlertRepo, SqlStatisticsRepo

EXIT_REFUSED = 1


def _service(context: Opened) -> AlertService:
    return AlertService(SqlAlertRepo(context.engine), context.audit, context.clock)


def _describe(alert: Alert) -> str:
    r = alert.region
    decided = ""
    if alert.verdict is not None:
        decided = f"  {alert.verdict.value} by {alert.decided_by} ({alert.decided_role})"
    return (
        f"#{alert.id}  {alert.at.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z  {alert.camera_id}  {alert.module}  "
        f"score {alert.score:.2f}  region {r.x:.2f},{r.y:.2f} {r.w:.2f}×{r.h:.2f}  {alert.state.value}{decided}"
    )


def list_command(config_path: Path, state: str | None, camera: str | None, module: str | None, limit: int) -> int:
    def run(context: Opened) -> int:
        alerts = _service(context).search(
            state=None if state is None else AlertState(state),
            camera_ids=None if camera is None else [camera],
            module=module,
            limit=limit,
        )
        for alert in alerts:
            print(_describe(alert))
        if not alerts:
            print("no alerts")
        return 0

    return run_opened(config_path, run)


def decide_command(config_path: Path, alert_id: int, verdict: str, note: str, role: str | None = None) -> int:
    """Confirm or dismiss an alert as the signed-in account (an operator or supervisor who sees its camera)."""

    def run(context: Opened, viewer: Principal) -> int:
        service = _service(context)
        try:
            if verdict == Verdict.CONFIRMED.value:
                alert = service.confirm_as(viewer, alert_id, note=note)
            else:
                alert = service.dismiss_as(viewer, alert_id, verdict=Verdict(verdict), note=note)
        except (AlertRefusedError, AlertAlreadyDecidedError, AlertNotFoundError, ValueError) as err:
            print(f"refused: {err}", file=sys.stderr)
            return EXIT_REFUSED
        print(_describe(alert))
        return 0

    what = "vigie alerts confirm" if verdict == Verdict.CONFIRMED.value else "vigie alerts dismiss"
    return run_signed_in(config_path, what, run, role=role)


def stats_command(config_path: Path) -> int:
    def run(context: Opened) -> int:
        rows = _service(context).statistics()
        if not rows:
            print("no alerts")
            return 0
        print(f"{'module':20} {'camera':16} {'raised':>6} {'pending':>7} {'confirmed':>9} {'false+':>6} {'FP rate':>7}")
        for s in rows:
            rate = "—" if s.false_positive_rate is None else f"{100 * s.false_positive_rate:.0f} %"
            print(
                f"{s.module:20} {s.camera_id:16} {s.raised:6} {s.pending:7} {s.confirmed:9} {s.false_positives:6} "
                f"{rate:>7}"
            )
        return 0

    return run_opened(config_path, run)


def statistics_command(config_path: Path, camera: str | None, module: str | None) -> int:
    """The statistics buckets (L33) as CSV on stdout: totals only, withheld ones empty."""

    def run(context: Opened) -> int:
        buckets = SqlStatisticsRepo(context.engine).list(camera_ids=None if camera is None else [camera], module=module)
        print("camera,module,start,end,value")
        for b in buckets:
            value = "" if b.value is None else f"{b.value:g}"
            print(
                f"{b.camera_id},{b.module},{b.start.astimezone(UTC).isoformat()},{b.end.astimezone(UTC).isoformat()},{value}"
            )
        return 0

    return run_opened(config_path, run)
