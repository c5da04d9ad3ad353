"""Arguments that several command families share, declared once: ``--config``, ``--as ROLE``, days and times.

Only the standard library at import: ``vigie --help`` loads every family's parsers and nothing else.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TypeAlias

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What ``add_subparsers`` returns: each family's ``register`` adds its commands to it."""

CONFIG_HELP = "YAML configuration file (the demo writes var/demo/vigie.yaml)"
TIME_HELP = "date or date-time, ISO 8601; without a time zone it is Europe/Paris local time"
SIGNED_IN = "acts as the account signed in with `vigie login`"
MODEL_FORMATS = ["yolox", "gfl", "fastestdet", "yolov8"]


def with_config(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--config", type=Path, required=True, metavar="FILE", help=CONFIG_HELP)
    return parser


def with_role(parser: argparse.ArgumentParser) -> None:
    """``--as ROLE``: the role an account holding several acts in; never a name (the account is the one signed in)."""
    parser.add_argument(
        "--as",
        dest="acting_as",
        metavar="ROLE",
        help="act in this role of the signed-in account (one it holds), e.g. dpo or authority; default: the first "
        "of its roles that may do it",
    )


def day(text: str) -> date:
    """An argparse type: a calendar day written YYYY-MM-DD."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: write YYYY-MM-DD") from None


def comma_list(text: str) -> list[str]:
    """``a, b,,c`` → ``["a", "b", "c"]``: the ids of a comma-separated option."""
    return [part.strip() for part in text.split(",") if part.strip()]


class TimeArgumentError(ValueError):
    pass


def parse_when(text: str, *, end_of_day: bool = False) -> datetime:
    """ISO 8601 date or date-time; without a time zone it is Europe/Paris local time (what a DPO means).

    A bare date means the start of that day, or with ``end_of_day`` the start of the next one, so that
    ``--from 2026-11-01 --to 2026-11-30`` covers the whole of November.
    """
    from vigie.domain.clock import LEGAL_TIME_ZONE  # zoneinfo: loaded when a command needs it, not for --help

    try:
        if len(text) == 10:
            when_day = date.fromisoformat(text)
            if end_of_day:
                when_day = date.fromordinal(when_day.toordinal() + 1)
            return datetime.combine(when_day, time(), LEGAL_TIME_ZONE).astimezone(UTC)
        when = datetime.fromisoformat(text)
    except ValueError:
        raise TimeArgumentError(
            f"{text!r} is not a date or date-time; write 2026-11-28 or 2026-11-28T14:30 or 2026-11-28T13:30Z"
        ) from None
    return (when if when.tzinfo else when.replace(tzinfo=LEGAL_TIME_ZONE)).astimezone(UTC)


def period(since: str, until: str, *, until_end_of_day: bool = True) -> tuple[datetime, datetime] | None:
    """``--from``/``--to`` as UTC times (a bare ``--to`` day included whole unless ``until_end_of_day`` is false);
    None, said on standard error, when one is not a time."""
    try:
        return parse_when(since), parse_when(until, end_of_day=until_end_of_day)
    except TimeArgumentError as err:
        print(f"vigie: {err}", file=sys.stderr)
        return None
