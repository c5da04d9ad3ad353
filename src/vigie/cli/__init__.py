"""The ``vigie`` command. Each command family is a module of this package with a ``register(subparsers)`` that
declares its parsers and sets ``handler`` to the function that runs the command; :func:`main` parses and calls it.

The family modules import only the standard library, and their handlers import what the command needs when it
runs (:mod:`vigie.cli.commands`), so that ``vigie --help`` or ``vigie --version`` load no database, video or web
library.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Sequence
from types import ModuleType

from vigie import __version__
from vigie.cli import (
    alerts,
    audit,
    backup,
    cameras,
    cluster,
    deploy,
    devices,
    evaluation,
    exports,
    governance,
    lapi,
    models,
    recording,
    service,
    session,
    sim,
    users,
    webhooks,
)

FAMILIES: tuple[ModuleType, ...] = (
    service,
    session,
    sim,
    audit,
    governance,
    recording,
    exports,
    models,
    evaluation,
    alerts,
    users,
    backup,
    cluster,
    lapi,
    cameras,
    devices,
    webhooks,
    deploy,
)
"""The command families, in the order ``vigie --help`` lists their commands."""

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vigie", description="Vigie: video protection whose analysis is off by default and governed by law."
    )
    parser.add_argument("--version", action="version", version=f"vigie {__version__}")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    commands = parser.add_subparsers(metavar="COMMAND", required=True)
    for family in FAMILIES:
        family.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLevelName(args.log_level)))
    handler: Handler = args.handler
    return handler(args)
