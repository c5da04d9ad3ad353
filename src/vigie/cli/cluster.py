"""``vigie cluster nodes | drain | undrain | live-key | stop-recording``: see where camera groups run on a Ray
cluster, take a node out of service for a rolling restart, give the nodes the key of their live relays, stop the
recording that goes on without the control plane (docs/cluster.md;
:mod:`vigie.cli.commands.cluster`)."""

from __future__ import annotations

import argparse

from vigie.cli.arguments import Subparsers, with_config


def register(commands: Subparsers) -> None:
    cluster = commands.add_parser(
        "cluster", help="cluster mode: the nodes and their camera groups; drain a node before restarting it"
    ).add_subparsers(metavar="COMMAND", required=True)
    nodes = with_config(cluster.add_parser("nodes", help="list the Ray nodes and the camera groups each runs"))
    nodes.set_defaults(handler=list_nodes)
    drain = with_config(
        cluster.add_parser(
            "drain", help="move a node's camera groups to other nodes (each stopped cleanly first), to restart it"
        )
    )
    drain.add_argument("node", metavar="NODE", help="the node's id, or a unique prefix of 6 characters or more")
    drain.set_defaults(handler=drain_node, drain=True)
    undrain = with_config(cluster.add_parser("undrain", help="let a drained node take camera groups again"))
    undrain.add_argument("node", metavar="NODE", help="the node's id or the prefix given to `drain`")
    undrain.set_defaults(handler=drain_node, drain=False)
    live_key = with_config(
        cluster.add_parser(
            "live-key",
            help="print the live tap key each node needs in its environment as VIGIE_LIVE_TAP_KEY (a secret: "
            "keep it out of logs and shell history)",
        )
    )
    live_key.set_defaults(handler=print_live_key)
    stop_recording = with_config(
        cluster.add_parser(
            "stop-recording",
            help="stop the recording groups that go on while `vigie serve` is stopped (maintenance): each finishes "
            "and uploads its last segments, which are indexed, then its actor ends",
        )
    )
    stop_recording.set_defaults(handler=stop_recording_groups)


def list_nodes(args: argparse.Namespace) -> int:
    from vigie.cli.commands.cluster import nodes_command

    return nodes_command(args.config)


def drain_node(args: argparse.Namespace) -> int:
    from vigie.cli.commands.cluster import drain_command

    return drain_command(args.config, args.node, drain=args.drain)


def print_live_key(args: argparse.Namespace) -> int:
    from vigie.cli.commands.cluster import live_key_command

    return live_key_command(args.config)


def stop_recording_groups(args: argparse.Namespace) -> int:
    from vigie.cli.commands.cluster import stop_recording_command

    return stop_recording_command(args.config)
