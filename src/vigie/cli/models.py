"""``vigie models list | add | install``: the registry of detection models (:mod:`vigie.cli.commands.models`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from vigie.cli.arguments import MODEL_FORMATS, Subparsers, with_config


def register(commands: Subparsers) -> None:
    models = commands.add_parser("models", help="detection models: list, add a local file, install a known one")
    sub = models.add_subparsers(metavar="COMMAND", required=True)
    with_config(sub.add_parser("list", help="installed and installable models")).set_defaults(handler=list_models)
    add_parser = with_config(sub.add_parser("add", help="validate and register a local ONNX model file"))
    add_parser.add_argument("file", type=Path, metavar="FILE")
    add_parser.add_argument("--format", required=True, choices=MODEL_FORMATS)
    add_parser.add_argument("--name", help="registry name (default: the file name)")
    add_parser.set_defaults(handler=add)
    install_parser = with_config(sub.add_parser("install", help="download a known model (pinned URL and SHA-256)"))
    install_parser.add_argument("name", metavar="NAME")
    install_parser.set_defaults(handler=install)


def list_models(args: argparse.Namespace) -> int:
    from vigie.cli.commands.models import models_list_command

    return models_list_command(args.config)


def add(args: argparse.Namespace) -> int:
    from vigie.cli.commands.models import models_add_command

    return models_add_command(args.config, args.file, args.format, args.name)


def install(args: argparse.Namespace) -> int:
    from vigie.cli.commands.models import models_install_command

    return models_install_command(args.config, args.name)
