"""``vigie lapi lists import | lists history | matches | crop | counts | hold | release``: plate reading (LAPI) for
a state tenant's people, as the account signed in with ``vigie login`` (:mod:`vigie.cli.commands.lapi`). Every
query is audited; a read that matched no list is never shown, only counted (L35); a commune's account is refused
(L34)."""

from __future__ import annotations

import argparse
from pathlib import Path

from vigie.cli.arguments import SIGNED_IN, Subparsers, day, with_config


def register(commands: Subparsers) -> None:
    lapi = commands.add_parser(
        "lapi", help=f"plate reading for state tenants: hit lists, matches, counts ({SIGNED_IN})"
    )
    sub = lapi.add_subparsers(metavar="COMMAND", required=True)
    lists = sub.add_parser("lists", help="your tenant's hit lists")
    lists_sub = lists.add_subparsers(metavar="COMMAND", required=True)
    importing = with_config(
        lists_sub.add_parser("import", help="import a hit-list file, replacing the lists it names (audited)")
    )
    importing.add_argument(
        "file", type=Path, metavar="FILE", help="UTF-8 text: a header plate/reason/list, then plates"
    )
    vouch = importing.add_mutually_exclusive_group(required=True)
    vouch.add_argument("--checksum", metavar="SHA256", help="the file's SHA-256, as the list's issuer gave it")
    vouch.add_argument(
        "--signature",
        type=Path,
        metavar="SIGFILE",
        help="a detached Ed25519 signature of the file (raw or base64), by a key in keys/hit-lists/<tenant>/",
    )
    importing.set_defaults(handler=import_lists)
    with_config(
        lists_sub.add_parser("history", help="imports of your tenant's lists: digests and counts")
    ).set_defaults(handler=history)
    matches = with_config(sub.add_parser("matches", help="reads that matched your tenant's lists (audited)"))
    matches.add_argument("--camera", metavar="ID")
    matches.add_argument("--since", metavar="TIME", help="ISO 8601; without a time zone, Paris time")
    matches.add_argument("--alert", type=int, metavar="ID", help="the match(es) behind one alert")
    matches.add_argument("--limit", type=int, default=50)
    matches.set_defaults(handler=list_matches)
    crop = with_config(sub.add_parser("crop", help="write the plate crop of a match to a JPEG file (audited)"))
    crop.add_argument("match_id", type=int, metavar="MATCH")
    crop.add_argument("--output", type=Path, required=True, metavar="FILE")
    crop.set_defaults(handler=write_crop)
    counts = with_config(sub.add_parser("counts", help="plates read and matched per camera per day (audited)"))
    counts.add_argument("--since", type=day, metavar="DAY", help="first Paris day (default: 14 days ago)")
    counts.add_argument("--until", type=day, metavar="DAY", help="last Paris day (default: today)")
    counts.add_argument("--camera", metavar="ID")
    counts.set_defaults(handler=list_counts)
    hold = with_config(sub.add_parser("hold", help="keep a match past its month for a procedure (L35, audited)"))
    hold.add_argument("match_id", type=int, metavar="MATCH")
    hold.add_argument("--reference", required=True, help="the procedure's case or requisition number")
    hold.set_defaults(handler=hold_match)
    release = with_config(sub.add_parser("release", help="lift a match's hold (audited)"))
    release.add_argument("match_id", type=int, metavar="MATCH")
    release.add_argument("--reason", required=True, help="why (the procedure ended…)")
    release.set_defaults(handler=release_match)


def import_lists(args: argparse.Namespace) -> int:
    from vigie.cli.commands.lapi import import_command

    return import_command(args.config, args.file, args.checksum, args.signature)


def history(args: argparse.Namespace) -> int:
    from vigie.cli.commands.lapi import history_command

    return history_command(args.config)


def list_matches(args: argparse.Namespace) -> int:
    from vigie.cli.commands.lapi import matches_command

    return matches_command(args.config, args.camera, args.since, args.alert, args.limit)


def write_crop(args: argparse.Namespace) -> int:
    from vigie.cli.commands.lapi import crop_command

    return crop_command(args.config, args.match_id, args.output)


def list_counts(args: argparse.Namespace) -> int:
    from vigie.cli.commands.lapi import counts_command

    return counts_command(args.config, args.since, args.until, args.camera)


def hold_match(args: argparse.Namespace) -> int:
    from vigie.cli.commands.lapi import hold_command

    return hold_command(args.config, args.match_id, args.reference)


def release_match(args: argparse.Namespace) -> int:
    from vigie.cli.commands.lapi import release_command

    return release_command(args.config, args.match_id, args.reason)
