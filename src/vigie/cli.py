"""The ``vigie`` command. It parses arguments and hands over to the runtime; no logic lives here."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from vigie import __version__

CONFIG_HELP = "YAML configuration file (the demo writes var/demo/vigie.yaml)"
TIME_HELP = "date or date-time, ISO 8601; without a time zone it is Europe/Paris local time"


def _with_config(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--config", type=Path, required=True, metavar="FILE", help=CONFIG_HELP)
    return parser


SIGNED_IN = "acts as the account signed in with `vigie login`"


def _with_role(parser: argparse.ArgumentParser) -> None:
    """``--as ROLE``: the role an account holding several acts in; never a name (the account is the one signed in)."""
    parser.add_argument(
        "--as",
        dest="acting_as",
        metavar="ROLE",
        help="act in this role of the signed-in account (one it holds), e.g. dpo or authority; default: the first "
        "of its roles that may do it",
    )


def _session_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    login = _with_config(
        commands.add_parser(
            "login",
            help="sign in at the command line (password, and code for administrators and DPOs) for 15 minutes",
            description="Asks the password (and the 6-digit code where the account has a second factor) at the "
            "terminal, or reads them from the first two lines of standard input when it is not a terminal. The "
            "session token is kept in a file of mode 0600 ($VIGIE_SESSION_FILE, else in $XDG_RUNTIME_DIR/vigie "
            "or ~/.config/vigie/sessions) and ends after 15 minutes.",
        )
    )
    login.add_argument("--user", metavar="NAME", help="the account's username (asked when omitted)")
    login.set_defaults(handler="login")
    _with_config(commands.add_parser("logout", help="end the command-line session")).set_defaults(handler="logout")
    _with_config(commands.add_parser("whoami", help="the account signed in at the command line")).set_defaults(
        handler="whoami"
    )


def _service_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser("demo", help="run the service on simulated cameras (SQLite, local storage)")
    demo.add_argument("--data-dir", type=Path, default=Path("var/demo"), help="where the demo keeps its data")
    demo.add_argument("--host", default="127.0.0.1", help="address of the web console and API")
    demo.add_argument("--port", type=int, default=8080, help="port of the web console and API")
    demo.add_argument(
        "--cameras", type=int, default=2, choices=range(1, 9), metavar="N", help="simulated cameras (1-8)"
    )
    demo.add_argument("--rtsp-port", type=int, default=8554, help="port of the simulated cameras' RTSP server")
    demo.add_argument("--no-rtsp", action="store_true", help="replay the simulated footage from files instead of RTSP")
    demo.set_defaults(handler="demo")

    serve = _with_config(commands.add_parser("serve", help="run the service from a configuration file"))
    serve.add_argument(
        "--new-database",
        action="store_true",
        help="start on an empty database even though the data folder shows a previous life (audit keys, "
        "recordings, published heads): a new audit chain, whose first entry names the previous one's last head",
    )
    serve.set_defaults(handler="serve")

    config = commands.add_parser("config", help="configuration tools").add_subparsers(metavar="COMMAND", required=True)
    check = config.add_parser("check", help="validate a configuration file and report every error")
    check.add_argument("file", type=Path, metavar="FILE")
    check.set_defaults(handler="config_check")


def _sim_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sim = commands.add_parser("sim", help="simulated cameras").add_subparsers(metavar="COMMAND", required=True)
    render = sim.add_parser("render", help="render a scene to H.264 with its ground truth")
    render.add_argument("scene", type=Path, metavar="SCENE.yaml", help="scene file or built-in scene name")
    render.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.mp4")
    render.add_argument("--gt", type=Path, metavar="DIR", help="write MOTChallenge ground truth and events here")
    render.set_defaults(handler="sim_render")
    serve = sim.add_parser("serve", help="publish scenes as live RTSP streams")
    serve.add_argument("scenes", type=Path, nargs="+", metavar="SCENE.yaml")
    serve.add_argument("--port", type=int, default=8554, help="RTSP port")
    serve.set_defaults(handler="sim_serve")


def _audit_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = commands.add_parser("audit", help="the audit log: export, verify offline, report").add_subparsers(
        metavar="COMMAND", required=True
    )
    export = _with_config(audit.add_parser("export", help="export a signed extract of the audit log"))
    export.add_argument("--from", dest="since", required=True, metavar="WHEN", help=TIME_HELP)
    export.add_argument("--to", dest="until", required=True, metavar="WHEN", help=TIME_HELP)
    export.add_argument("-o", "--output", type=Path, required=True, metavar="FILE")
    export.set_defaults(handler="audit_export")
    verify = audit.add_parser("verify", help="verify an exported audit file offline, without the database")
    verify.add_argument("file", type=Path, metavar="FILE")
    verify.add_argument("--pubkey", type=Path, action="append", required=True, metavar="KEY", help="public key PEM")
    verify.add_argument(
        "--head",
        type=Path,
        action="append",
        default=[],
        metavar="HEAD.json",
        help="a signed head published earlier (`vigie audit head -o`, the public page, or the heads file): the "
        "export must contain its entry with the same hash (repeatable)",
    )
    verify.set_defaults(handler="audit_verify")
    head = _with_config(audit.add_parser("head", help="sign the chain's current head, for the DPO to archive"))
    head.add_argument("-o", "--output", type=Path, required=True, metavar="HEAD.json")
    head.set_defaults(handler="audit_head")
    report = _with_config(audit.add_parser("report", help="compliance report: what ran, where, when, on what basis"))
    report.add_argument("--from", dest="since", required=True, metavar="WHEN", help=TIME_HELP)
    report.add_argument("--to", dest="until", required=True, metavar="WHEN", help=TIME_HELP)
    report.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.html")
    report.set_defaults(handler="audit_report")
    keys = _with_config(audit.add_parser("keys", help="write the audit public keys (PEM) for auditors"))
    keys.add_argument("-o", "--output", type=Path, required=True, metavar="DIR")
    keys.set_defaults(handler="audit_keys")
    rotate = _with_config(audit.add_parser("rotate-key", help="start signing with a new key"))
    rotate.set_defaults(handler="audit_rotate_key")


def _governance_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    compliance = commands.add_parser("compliance", help="what analysis is active, register of processing")
    sub = compliance.add_subparsers(metavar="COMMAND", required=True)
    _with_config(sub.add_parser("status", help="which modules are active on which cameras")).set_defaults(
        handler="compliance_status"
    )
    register = _with_config(sub.add_parser("register", help="record of processing (GDPR art. 30)"))
    register.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE (.md or .html)")
    register.set_defaults(handler="compliance_register")

    activation = commands.add_parser("activation", help="activations of analysis modules under a legal basis")
    act = activation.add_subparsers(metavar="COMMAND", required=True)
    request = _with_config(act.add_parser("request", help=f"request the activation of a module ({SIGNED_IN})"))
    request.add_argument("--tenant", help="commune (tenant) id: the signed-in account's own (the default)")
    for flag, helptext in [
        ("--module", "module id from the legal catalogue"),
        ("--cameras", "comma-separated camera ids"),
        ("--framework", "legal framework id from the catalogue"),
        ("--decision", "prefectoral decision number"),
        ("--decision-date", "prefectoral decision date (YYYY-MM-DD)"),
        ("--dpia", "DPIA reference (L21)"),
        ("--purpose", "purpose of the processing"),
        ("--start", TIME_HELP),
        ("--end", TIME_HELP),
    ]:
        request.add_argument(flag, required=True, help=helptext)
    request.add_argument(
        "--zones", default="", help="comma-separated analysis zone ids the activation is limited to (default: none)"
    )
    request.add_argument(
        "--calibration",
        type=int,
        metavar="SEQ",
        help="audit entry of the on-site calibration run this request is based on, as `vigie calibrate` printed (L32)",
    )
    _with_role(request)
    request.set_defaults(handler="activation_request")
    approve = _with_config(act.add_parser("approve", help=f"approve a requested activation ({SIGNED_IN})"))
    approve.add_argument("activation_id", metavar="ID")
    _with_role(approve)
    approve.set_defaults(handler="activation_approve")
    revoke = _with_config(act.add_parser("revoke", help=f"revoke an activation now ({SIGNED_IN})"))
    revoke.add_argument("activation_id", metavar="ID")
    revoke.add_argument("--reason", required=True)
    _with_role(revoke)
    revoke.set_defaults(handler="activation_revoke")
    _with_config(act.add_parser("list", help="list activations and their state")).set_defaults(
        handler="activation_list"
    )
    for name, helptext in [("stop", "engage the stop switch (L29)"), ("resume", "release the stop switch")]:
        switch = _with_config(commands.add_parser(name, help=f"{helptext} ({SIGNED_IN})"))
        target = switch.add_mutually_exclusive_group(required=True)
        target.add_argument("--camera", metavar="ID", help="one camera")
        target.add_argument("--all", action="store_true", help="every camera (global switch)")
        switch.add_argument("--reason", required=True)
        _with_role(switch)
        switch.set_defaults(handler=name)


def _alert_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    alerts = commands.add_parser("alerts", help="alerts of the event modules: list, confirm, dismiss (L28, L31)")
    sub = alerts.add_subparsers(metavar="COMMAND", required=True)
    listing = _with_config(sub.add_parser("list", help="alerts, newest first"))
    listing.add_argument("--state", choices=["pending", "confirmed", "dismissed"])
    listing.add_argument("--camera", metavar="ID")
    listing.add_argument("--module", metavar="NAME")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(handler="alerts_list")
    confirm = _with_config(sub.add_parser("confirm", help=f"a real event: record it and dispatch it ({SIGNED_IN})"))
    dismiss = _with_config(
        sub.add_parser("dismiss", help=f"not to act on: record why; nothing is dispatched ({SIGNED_IN})")
    )
    dismiss.add_argument(
        "--verdict", default="false_positive", choices=["false_positive", "not_actionable", "duplicate"]
    )
    for parser, handler in ((confirm, "alerts_confirm"), (dismiss, "alerts_dismiss")):
        parser.add_argument("alert_id", type=int, metavar="ID")
        _with_role(parser)
        parser.add_argument("--note", default="", help="why (kept with the verdict)")
        parser.set_defaults(handler=handler)
    _with_config(sub.add_parser("stats", help="verdicts and false-positive rate per module and camera")).set_defaults(
        handler="alerts_stats"
    )
    stats = _with_config(
        commands.add_parser("statistics", help="totals of the counting modules per time bucket, as CSV (L33)")
    )
    stats.add_argument("--camera", metavar="ID")
    stats.add_argument("--module", choices=["line_count", "occupancy"])
    stats.set_defaults(handler="statistics")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: write YYYY-MM-DD") from None


def _user_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = commands.add_parser("users", help="accounts: first administrator, agents, sharing agreements (L8-L10)")
    sub = users.add_subparsers(metavar="COMMAND", required=True)
    admin = _with_config(
        sub.add_parser("create-admin", help="create the first administrator (once, on an empty database; no sign-in)")
    )
    add = _with_config(sub.add_parser("add", help=f"create an account (a named person) ({SIGNED_IN})"))
    admin.add_argument("--commune", required=True, metavar="ID", help="tenant the person belongs to")
    add.add_argument("--commune", metavar="ID", help="tenant the person belongs to: the administrator's own (default)")
    for parser in (admin, add):
        parser.add_argument("--username", required=True)
        parser.add_argument("--name", required=True, help="first and last name of the person")
        parser.add_argument(
            "--password-stdin", action="store_true", help="read the password from the first line of standard input"
        )
    admin.set_defaults(handler="users_create_admin")
    add.add_argument("--roles", required=True, help="comma-separated: operator, supervisor, investigator, dpo, ...")
    add.add_argument("--authorised-until", type=_day, metavar="DAY", help="end of the video authorisation (L8)")
    add.add_argument("--trained-on", type=_day, metavar="DAY", help="data-protection training date (L9)")
    add.set_defaults(handler="users_add")
    _with_config(sub.add_parser("list", help="accounts, their roles and dates")).set_defaults(handler="users_list")
    reset = _with_config(
        sub.add_parser("reset-password", help=f"set a new password (ends the user's sessions) ({SIGNED_IN})")
    )
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true", help="read it from the first line of standard input")
    reset.set_defaults(handler="users_reset_password")
    update = _with_config(
        sub.add_parser("update", help=f"authorisation, training, disable, enable, unlock ({SIGNED_IN})")
    )
    update.add_argument("username")
    update.add_argument("--authorised-until", type=_day, metavar="DAY")
    update.add_argument("--trained-on", type=_day, metavar="DAY")
    state = update.add_mutually_exclusive_group()
    state.add_argument("--disable", dest="disabled", action="store_const", const=True, default=None)
    state.add_argument("--enable", dest="disabled", action="store_const", const=False)
    update.add_argument("--unlock", action="store_true", help="clear a lockout after failed logins")
    update.set_defaults(handler="users_update")
    share = _with_config(
        sub.add_parser("share", help=f"record a sharing agreement between tenants (L10) ({SIGNED_IN})")
    )
    share.add_argument("--owner", metavar="ID", help="tenant whose cameras are shared: the administrator's own")
    share.add_argument("--partner", required=True, metavar="ID", help="tenant whose users will see them")
    share.add_argument("--reference", required=True, help="reference of the signed agreement")
    share.add_argument("--from", dest="starts_on", type=_day, required=True, metavar="DAY")
    share.add_argument("--to", dest="ends_on", type=_day, required=True, metavar="DAY")
    share.set_defaults(handler="users_share")


def _recording_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    hold = commands.add_parser("hold", help="judicial holds that exempt recordings from deletion (L4)")
    holds = hold.add_subparsers(metavar="COMMAND", required=True)
    place = _with_config(
        holds.add_parser("place", help=f"place a hold on a camera's recordings over a period ({SIGNED_IN})")
    )
    place.add_argument("--camera", required=True, metavar="ID")
    place.add_argument("--from", dest="since", required=True, metavar="WHEN", help=TIME_HELP)
    place.add_argument("--to", dest="until", required=True, metavar="WHEN", help=TIME_HELP)
    place.add_argument("--requisition", required=True, help="requisition reference")
    place.add_argument("--case", required=True, help="case number")
    place.add_argument("--officer", required=True, help="requesting officer")
    place.set_defaults(handler="hold_place")
    lift = _with_config(holds.add_parser("lift", help=f"lift a hold ({SIGNED_IN})"))
    lift.add_argument("hold_id", metavar="ID")
    lift.add_argument("--reason", required=True)
    lift.set_defaults(handler="hold_lift")
    _with_config(holds.add_parser("list", help="list holds")).set_defaults(handler="hold_list")

    recording = commands.add_parser("recording", help="recordings: destruction register (L5)")
    rec = recording.add_subparsers(metavar="COMMAND", required=True)
    register = _with_config(rec.add_parser("register", help="the destruction register as CSV (L5)"))
    register.add_argument("-o", "--output", type=Path, metavar="FILE.csv")
    register.set_defaults(handler="recording_register")
    _with_config(
        rec.add_parser("purge", help="run the retention purge now (the service runs it every minute)")
    ).set_defaults(handler="recording_purge")

    export = commands.add_parser("export", help="signed exports of recordings (L13, L14)")
    exp = export.add_subparsers(metavar="COMMAND", required=True)
    create = _with_config(
        exp.add_parser("create", help=f"export a time range of cameras as signed MP4 files ({SIGNED_IN})")
    )
    create.add_argument("--cameras", required=True, help="comma-separated camera ids")
    create.add_argument("--from", dest="since", required=True, metavar="WHEN", help=TIME_HELP)
    create.add_argument("--to", dest="until", required=True, metavar="WHEN", help=TIME_HELP)
    create.add_argument("-o", "--output", type=Path, required=True, metavar="DIR")
    create.add_argument("--reason", required=True, help="why (L13)")
    create.add_argument("--requisition", required=True, help="requisition reference (L13)")
    create.set_defaults(handler="export_create")
    transmitted = _with_config(
        exp.add_parser("transmitted", help=f"record the day an export was handed to the prosecutor (L5) ({SIGNED_IN})")
    )
    transmitted.add_argument(
        "export_id", metavar="EXPORT_ID", help="the export's id (API), or its manifest's SHA-256 (`export create`)"
    )
    transmitted.add_argument("--on", type=_day, required=True, metavar="DAY", help="the day it was handed over")
    transmitted.add_argument("--requisition", required=True, help="the requisition reference (the export's own)")
    transmitted.set_defaults(handler="export_transmitted")
    verify = exp.add_parser(
        "verify", help="verify an export offline, its folder or its zip package (files, manifest, signature)"
    )
    verify.add_argument("directory", type=Path, metavar="FOLDER_OR_ZIP")
    verify.add_argument("--pubkey", type=Path, action="append", required=True, metavar="KEY", help="public key PEM")
    verify.set_defaults(handler="export_verify")


def _model_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    models = commands.add_parser("models", help="detection models: list, add a local file, install a known one")
    sub = models.add_subparsers(metavar="COMMAND", required=True)
    _with_config(sub.add_parser("list", help="installed and installable models")).set_defaults(handler="models_list")
    add = _with_config(sub.add_parser("add", help="validate and register a local ONNX model file"))
    add.add_argument("file", type=Path, metavar="FILE")
    add.add_argument("--format", required=True, choices=["yolox", "gfl", "fastestdet", "yolov8"])
    add.add_argument("--name", help="registry name (default: the file name)")
    add.set_defaults(handler="models_add")
    install = _with_config(sub.add_parser("install", help="download a known model (pinned URL and SHA-256)"))
    install.add_argument("name", metavar="NAME")
    install.set_defaults(handler="models_install")


def _eval_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    evaluate = commands.add_parser("eval", help="evaluate detection and tracking on MOTChallenge-format folders")
    sub = evaluate.add_subparsers(metavar="COMMAND", required=True)
    mot = sub.add_parser("mot", help="MOTA, IDF1, HOTA for persons (detector + tracker)")
    mot.add_argument("sequence", type=Path, metavar="SEQ_DIR", help="folder with img1/ and gt/gt.txt")
    mot.add_argument("--detector", choices=["public", "motion", "onnx"], help="default: det/det.txt if present")
    detect = sub.add_parser("detect", help="precision, recall and AP@0.5 for persons")
    detect.add_argument("sequence", type=Path, metavar="SEQ_DIR")
    for parser in (mot, detect):
        parser.add_argument("--model", type=Path, help="ONNX model file")
        parser.add_argument("--format", choices=["yolox", "gfl", "fastestdet", "yolov8"], help="model format")
        parser.add_argument("--json", type=Path, metavar="OUT.json", help="also write the results as JSON")
    mot.set_defaults(handler="eval_mot")
    detect.set_defaults(handler="eval_detect")
    events = sub.add_parser(
        "events", help="per-event precision, recall and delay of one event module (audited with --config)"
    )
    events.add_argument("video", type=Path, metavar="VIDEO")
    events.add_argument("truth", type=Path, metavar="GT.json", help="events.json (format of `vigie sim render --gt`)")
    _module_run_arguments(events)
    events.set_defaults(handler="eval_events")
    calibrate = commands.add_parser(
        "calibrate",
        help="what an event module would raise on recorded footage, without alerting (L32; audited with --config)",
    )
    calibrate.add_argument("video", type=Path, metavar="VIDEO")
    _module_run_arguments(calibrate)
    calibrate.set_defaults(handler="calibrate")


def _module_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--module", required=True, metavar="NAME", help="event module id, e.g. intrusion")
    parser.add_argument("--settings", type=Path, metavar="FILE.yaml", help="module settings (or {module: settings})")
    parser.add_argument("--boxes", type=Path, metavar="BOXES.txt", help="objects from a MOTChallenge box file")
    parser.add_argument("--model", type=Path, help="objects from this ONNX model")
    parser.add_argument("--format", choices=["yolox", "gfl", "fastestdet", "yolov8"], help="model format")
    parser.add_argument("--fps", type=float, default=5.0, help="analysed frames per second (default 5)")
    parser.add_argument("--json", type=Path, metavar="OUT.json", help="also write the results as JSON")
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="the Vigie configuration whose footage this is: the run is for the account signed in with `vigie "
        "login` (supervisor or dpo) and recorded in the audit log with the files' SHA-256; needed for footage "
        "recorded or exported by Vigie",
    )
    parser.add_argument("--camera", metavar="ID", help="with --config: the camera the footage comes from")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vigie", description="Vigie: video protection whose analysis is off by default and governed by law."
    )
    parser.add_argument("--version", action="version", version=f"vigie {__version__}")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    commands = parser.add_subparsers(metavar="COMMAND", required=True)
    _service_commands(commands)
    _session_commands(commands)
    _sim_commands(commands)
    _audit_commands(commands)
    _governance_commands(commands)
    _recording_commands(commands)
    _model_commands(commands)
    _eval_commands(commands)
    _alert_commands(commands)
    _user_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLevelName(args.log_level)))
    from vigie.runtime import commands

    handler = getattr(commands, args.handler)
    code: int = handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
