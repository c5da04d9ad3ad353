"""What each ``vigie`` command does, composed from the parts. ``vigie.cli`` calls ``<handler>(args)``.

Imports are local so that ``vigie --version`` or ``vigie config check`` do not load video or web libraries.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, time

from vigie.domain.clock import LEGAL_TIME_ZONE

LOCAL = LEGAL_TIME_ZONE


class TimeArgumentError(ValueError):
    pass


def parse_when(text: str, *, end_of_day: bool = False) -> datetime:
    """ISO 8601 date or date-time; without a time zone it is Europe/Paris local time (what a DPO means).

    A bare date means the start of that day, or with ``end_of_day`` the start of the next one, so that
    ``--from 2026-11-01 --to 2026-11-30`` covers the whole of November.
    """
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            if end_of_day:
                day = date.fromordinal(day.toordinal() + 1)
            return datetime.combine(day, time(), LOCAL).astimezone(UTC)
        when = datetime.fromisoformat(text)
    except ValueError:
        raise TimeArgumentError(
            f"{text!r} is not a date or date-time; write 2026-11-28 or 2026-11-28T14:30 or 2026-11-28T13:30Z"
        ) from None
    return (when if when.tzinfo else when.replace(tzinfo=LOCAL)).astimezone(UTC)


def _times(*pairs: tuple[str, bool]) -> list[datetime] | None:
    try:
        return [parse_when(text, end_of_day=end) for text, end in pairs]
    except TimeArgumentError as err:
        print(f"vigie: {err}", file=sys.stderr)
        return None


def serve(args: argparse.Namespace) -> int:
    from vigie.config import ConfigError, format_issues, load_config
    from vigie.governance.keys_folder import KeyStorageError
    from vigie.runtime.assembly.module_settings import check_module_settings
    from vigie.runtime.assembly.service import ServiceError, VigieService

    try:
        config = load_config(args.config, [check_module_settings])
    except ConfigError as err:
        print(format_issues(err.issues), file=sys.stderr)
        print("vigie: the configuration is invalid; nothing was started", file=sys.stderr)
        return 2
    try:
        service = VigieService(config, new_database=args.new_database)
    except (ServiceError, KeyStorageError) as err:  # KeyStorageError: the private keys as stored or given (L15)
        print(f"vigie: {err}; nothing was started", file=sys.stderr)
        return 2
    return service.run()


def demo(args: argparse.Namespace) -> int:
    from vigie.runtime.assembly.demo import run_demo

    return run_demo(
        data_dir=args.data_dir,
        host=args.host,
        port=args.port,
        cameras=args.cameras,
        rtsp_port=args.rtsp_port,
        use_rtsp=not args.no_rtsp,
    )


def config_check(args: argparse.Namespace) -> int:
    from vigie.config.check_command import check_command
    from vigie.runtime.assembly.module_settings import check_module_settings

    return check_command(args.file, checks=[check_module_settings])


def sim_render(args: argparse.Namespace) -> int:
    from vigie.sim.cli_commands import render_command

    return render_command(args.scene, args.output, args.gt)


def sim_serve(args: argparse.Namespace) -> int:
    from vigie.sim.cli_commands import serve_command

    return serve_command(args.scenes, args.port)


def audit_export(args: argparse.Namespace) -> int:
    from vigie.runtime.audit_commands import export_command

    times = _times((args.since, False), (args.until, True))
    return 2 if times is None else export_command(args.config, times[0], times[1], args.output)


def audit_verify(args: argparse.Namespace) -> int:
    from vigie.runtime.audit_commands import verify_command

    return verify_command(args.file, args.pubkey, args.head)


def audit_head(args: argparse.Namespace) -> int:
    from vigie.runtime.audit_commands import head_command

    return head_command(args.config, args.output)


def audit_report(args: argparse.Namespace) -> int:
    from vigie.runtime.audit_commands import cli_actor
    from vigie.runtime.report_command import report_command

    times = _times((args.since, False), (args.until, True))
    return 2 if times is None else report_command(args.config, times[0], times[1], args.output, cli_actor())


def audit_keys(args: argparse.Namespace) -> int:
    from vigie.runtime.audit_commands import keys_command

    return keys_command(args.config, args.output)


def audit_rotate_key(args: argparse.Namespace) -> int:
    from vigie.runtime.audit_commands import rotate_key_command

    return rotate_key_command(args.config)


def compliance_status(args: argparse.Namespace) -> int:
    from vigie.runtime.governance_commands import compliance_status_command

    return compliance_status_command(args.config)


def compliance_register(args: argparse.Namespace) -> int:
    from vigie.runtime.governance_commands import compliance_register_command

    return compliance_register_command(args.config, args.output)


def activation_request(args: argparse.Namespace) -> int:
    from vigie.runtime.governance_commands import activation_request_command

    times = _times((args.start, False), (args.end, False))
    if times is None:
        return 2
    try:
        decision_date = date.fromisoformat(args.decision_date)
    except ValueError:
        print(f"vigie: --decision-date {args.decision_date!r} is not a date; write it as 2026-03-15", file=sys.stderr)
        return 2
    return activation_request_command(
        args.config,
        tenant=args.tenant,
        module=args.module,
        cameras=[c.strip() for c in args.cameras.split(",") if c.strip()],
        framework=args.framework,
        decision=args.decision,
        decision_date=decision_date,
        dpia=args.dpia,
        purpose=args.purpose,
        start=times[0],
        end=times[1],
        role=args.acting_as,
        zones=[z.strip() for z in args.zones.split(",") if z.strip()],
        calibration=args.calibration,
    )


def _activation_id(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        print(f"vigie: activation id {text!r} is not a number; see `vigie activation list`", file=sys.stderr)
        return None


def activation_approve(args: argparse.Namespace) -> int:
    from vigie.runtime.governance_commands import activation_approve_command

    activation_id = _activation_id(args.activation_id)
    return 2 if activation_id is None else activation_approve_command(args.config, activation_id, args.acting_as)


def activation_revoke(args: argparse.Namespace) -> int:
    from vigie.runtime.governance_commands import activation_revoke_command

    activation_id = _activation_id(args.activation_id)
    if activation_id is None:
        return 2
    return activation_revoke_command(args.config, activation_id, args.reason, args.acting_as)


def activation_list(args: argparse.Namespace) -> int:
    from vigie.runtime.governance_commands import activation_list_command

    return activation_list_command(args.config)


def stop(args: argparse.Namespace) -> int:
    from vigie.runtime.governance_commands import stop_command

    return stop_command(args.config, None if args.all else args.camera, args.reason, args.acting_as)


def resume(args: argparse.Namespace) -> int:
    from vigie.runtime.governance_commands import resume_command

    return resume_command(args.config, None if args.all else args.camera, args.reason, args.acting_as)


def hold_place(args: argparse.Namespace) -> int:
    from vigie.runtime.recording_commands import hold_place_command

    times = _times((args.since, False), (args.until, True))
    if times is None:
        return 2
    return hold_place_command(args.config, args.camera, times[0], times[1], args.requisition, args.case, args.officer)


def hold_lift(args: argparse.Namespace) -> int:
    from vigie.runtime.recording_commands import hold_lift_command

    try:
        hold_id = int(args.hold_id)
    except ValueError:
        print(f"vigie: hold id {args.hold_id!r} is not a number; see `vigie hold list`", file=sys.stderr)
        return 2
    return hold_lift_command(args.config, hold_id, args.reason)


def hold_list(args: argparse.Namespace) -> int:
    from vigie.runtime.recording_commands import hold_list_command

    return hold_list_command(args.config)


def recording_register(args: argparse.Namespace) -> int:
    from vigie.runtime.recording_commands import register_command

    return register_command(args.config, args.output)


def recording_purge(args: argparse.Namespace) -> int:
    from vigie.runtime.recording_commands import purge_command

    return purge_command(args.config)


def export_create(args: argparse.Namespace) -> int:
    from vigie.runtime.export_commands import export_create_command

    times = _times((args.since, False), (args.until, False))
    if times is None:
        return 2
    cameras = [c.strip() for c in args.cameras.split(",") if c.strip()]
    return export_create_command(args.config, cameras, times[0], times[1], args.output, args.reason, args.requisition)


def export_transmitted(args: argparse.Namespace) -> int:
    from vigie.runtime.export_commands import export_transmitted_command

    return export_transmitted_command(args.config, args.export_id, args.on, args.requisition)


def export_verify(args: argparse.Namespace) -> int:
    from vigie.runtime.export_commands import export_verify_command

    return export_verify_command(args.directory, args.pubkey)


def models_list(args: argparse.Namespace) -> int:
    from vigie.runtime.assembly.models import models_list_command

    return models_list_command(args.config)


def models_add(args: argparse.Namespace) -> int:
    from vigie.runtime.assembly.models import models_add_command

    return models_add_command(args.config, args.file, args.format, args.name)


def models_install(args: argparse.Namespace) -> int:
    from vigie.runtime.assembly.models import models_install_command

    return models_install_command(args.config, args.name)


def eval_mot(args: argparse.Namespace) -> int:
    from vigie.runtime.eval_commands import eval_mot_command

    return eval_mot_command(
        args.sequence, detector=args.detector, model=args.model, model_format=args.format, json_out=args.json
    )


def eval_detect(args: argparse.Namespace) -> int:
    from vigie.runtime.eval_commands import eval_detect_command

    return eval_detect_command(args.sequence, model=args.model, model_format=args.format, json_out=args.json)


def eval_events(args: argparse.Namespace) -> int:
    from vigie.runtime.event_eval import eval_events_command

    return eval_events_command(
        args.video,
        args.truth,
        module=args.module,
        config_file=args.settings,
        boxes=args.boxes,
        model=args.model,
        model_format=args.format,
        fps=args.fps,
        json_out=args.json,
        config_path=args.config,
        camera=args.camera,
    )


def calibrate(args: argparse.Namespace) -> int:
    from vigie.runtime.event_eval import calibrate_command

    return calibrate_command(
        args.video,
        module=args.module,
        config_file=args.settings,
        boxes=args.boxes,
        model=args.model,
        model_format=args.format,
        fps=args.fps,
        json_out=args.json,
        config_path=args.config,
        camera=args.camera,
    )


def alerts_list(args: argparse.Namespace) -> int:
    from vigie.runtime.alert_commands import list_command

    return list_command(args.config, args.state, args.camera, args.module, args.limit)


def alerts_confirm(args: argparse.Namespace) -> int:
    from vigie.runtime.alert_commands import decide_command

    return decide_command(args.config, args.alert_id, "confirmed", args.note, args.acting_as)


def alerts_dismiss(args: argparse.Namespace) -> int:
    from vigie.runtime.alert_commands import decide_command

    return decide_command(args.config, args.alert_id, args.verdict, args.note, args.acting_as)


def alerts_stats(args: argparse.Namespace) -> int:
    from vigie.runtime.alert_commands import stats_command

    return stats_command(args.config)


def statistics(args: argparse.Namespace) -> int:
    from vigie.runtime.alert_commands import statistics_command

    return statistics_command(args.config, args.camera, args.module)


def users_create_admin(args: argparse.Namespace) -> int:
    from vigie.runtime.user_commands import create_admin_command

    return create_admin_command(
        args.config, username=args.username, name=args.name, commune=args.commune, password_stdin=args.password_stdin
    )


def users_add(args: argparse.Namespace) -> int:
    from vigie.runtime.user_commands import add_command

    return add_command(
        args.config,
        username=args.username,
        name=args.name,
        commune=args.commune,
        roles=args.roles,
        authorised_until=args.authorised_until,
        trained_on=args.trained_on,
        password_stdin=args.password_stdin,
    )


def users_list(args: argparse.Namespace) -> int:
    from vigie.runtime.user_commands import list_command

    return list_command(args.config)


def users_update(args: argparse.Namespace) -> int:
    from vigie.runtime.user_commands import update_command

    return update_command(
        args.config,
        args.username,
        authorised_until=args.authorised_until,
        trained_on=args.trained_on,
        disabled=args.disabled,
        unlock=args.unlock,
    )


def users_share(args: argparse.Namespace) -> int:
    from vigie.runtime.user_commands import share_command

    return share_command(
        args.config,
        owner=args.owner,
        partner=args.partner,
        reference=args.reference,
        starts_on=args.starts_on,
        ends_on=args.ends_on,
    )


def users_reset_password(args: argparse.Namespace) -> int:
    from vigie.runtime.user_commands import reset_password_command

    return reset_password_command(args.config, args.username, password_stdin=args.password_stdin)


def login(args: argparse.Namespace) -> int:
    from vigie.runtime.cli_session import login_command

    return login_command(args.config, args.user)


def logout(args: argparse.Namespace) -> int:
    from vigie.runtime.cli_session import logout_command

    return logout_command(args.config)


def whoami(args: argparse.Namespace) -> int:
    from vigie.runtime.cli_session import whoami_command

    return whoami_command(args.config)
