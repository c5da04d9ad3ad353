"""``vigie backup create | restore``: back up an installation (database, keys, configuration, published heads) and
restore it on a fresh node, verified against the last published audit head (:mod:`vigie.cli.commands.backup`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from vigie.cli.arguments import Subparsers, with_config


def register(commands: Subparsers) -> None:
    backup = commands.add_parser(
        "backup", help="back up the database, keys, configuration and heads; restore on a fresh node"
    ).add_subparsers(metavar="COMMAND", required=True)
    create = with_config(
        backup.add_parser("create", help="write a backup folder (the service may keep running; see docs/backup.md)")
    )
    create.add_argument("-o", "--output", type=Path, required=True, metavar="DIR", help="a new or empty folder")
    create.set_defaults(handler=create_backup)
    restore = backup.add_parser(
        "restore", help="restore a backup, verify its audit chain against the last published head"
    )
    restore.add_argument("folder", type=Path, metavar="BACKUP", help="the folder written by `vigie backup create`")
    restore.add_argument(
        "--config",
        type=Path,
        required=True,
        metavar="FILE",
        help="the node's configuration file; when it does not exist, the backup's is written there first",
    )
    restore.add_argument(
        "--head",
        type=Path,
        action="append",
        required=True,
        metavar="HEAD.json",
        help="the last audit head published outside the server (the DPO's archive of the heads file, "
        "`vigie audit head -o`, or the public page's head): the restored chain is checked against it (repeatable)",
    )
    restore.add_argument(
        "--pubkey",
        type=Path,
        action="append",
        default=[],
        metavar="KEY",
        help="an audit public key (PEM, or a folder of them) the backup does not hold: one rotated in after it",
    )
    restore.add_argument(
        "--replace", action="store_true", help="replace a database that holds data and a keys folder that holds keys"
    )
    restore.add_argument(
        "--accept-missing",
        action="store_true",
        help="the backup is older than the head given: serve without the entries after it, recording their loss "
        "in the audit log (backup.restored, with the missing seqs)",
    )
    restore.set_defaults(handler=restore_backup)


def create_backup(args: argparse.Namespace) -> int:
    from vigie.cli.commands.backup import create_command

    return create_command(args.config, args.output)


def restore_backup(args: argparse.Namespace) -> int:
    from vigie.cli.commands.backup import RestoreRequest, restore_command

    request = RestoreRequest(args.folder, args.config, args.head, args.pubkey, args.replace, args.accept_missing)
    return restore_command(request)
