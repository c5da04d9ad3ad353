"""``vigie deploy firewall``: the nftables ruleset of the Vigie server, derived from its configuration (L16;
:mod:`vigie.cli.commands.deploy`, docs/deployment.md#network-and-security-l16)."""

from __future__ import annotations

import argparse
import ipaddress

from vigie.cli.arguments import Subparsers, with_config


def network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """An argparse type: a network in CIDR form (``10.20.0.0/16``), or one address."""
    try:
        return ipaddress.ip_network(text.strip(), strict=True)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a network: write it in CIDR form with its host bits zero, e.g. 10.20.0.0/16"
        ) from None


def address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an IP address (e.g. 10.10.0.2)") from None


def port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (1..65535)")
    return int(text)


def outbound(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, int, str]:
    """``ADDRESS[/PREFIX]:PORT[/udp]`` (an IPv6 address in brackets): a peer the configuration does not name."""
    host, _, number = text.removesuffix("/udp").rpartition(":")
    try:
        peer = ipaddress.ip_network(host.strip("[]"), strict=True) if host else None
    except ValueError:
        peer = None
    if peer is None or not number.isdigit() or not 1 <= int(number) <= 65535:
        raise argparse.ArgumentTypeError(
            f"{text!r}: write ADDRESS:PORT, NETWORK:PORT or [IPv6]:PORT, and /udp for UDP (e.g. 10.10.0.9:3128, "
            "10.10.0.7:514/udp)"
        )
    return peer, int(number), "udp" if text.endswith("/udp") else "tcp"


def register(commands: Subparsers) -> None:
    deploy = commands.add_parser("deploy", help="deployment tools: the server's firewall").add_subparsers(
        metavar="COMMAND", required=True
    )
    firewall = with_config(
        deploy.add_parser(
            "firewall",
            help="print the nftables ruleset for the ports the configuration uses (nothing is applied)",
            description="Print an nftables ruleset (`nft -f`) for the Vigie server: the console and API, the "
            "cameras (outbound, by host), database, S3, MQTT, webhooks, identity provider, loudspeakers, cluster, "
            "NTP and DNS, each rule naming its configuration item; everything else dropped. Warnings go to "
            "standard error. Never prints a password.",
        )
    )
    firewall.add_argument("--camera-net", type=network, metavar="CIDR", help="the camera VLAN: every camera's "
                          "address is checked to lie in it (a camera outside is a warning naming it)")  # fmt: skip
    firewall.add_argument(
        "--management-net", type=network, metavar="CIDR", help="who may reach the console, the API and SSH"
    )
    firewall.add_argument("--cluster-net", type=network, metavar="CIDR", help="the Ray nodes' network (cluster mode)")
    firewall.add_argument("--ssh-port", type=port, default=22, metavar="PORT", help="SSH's port (default 22)")
    firewall.add_argument(
        "--proxy-port",
        type=port,
        action="append",
        default=[],
        metavar="PORT",
        help="a port of a reverse proxy on this machine in front of the API (e.g. 443; repeatable)",
    )
    firewall.add_argument("--ntp-server", type=address, action="append", default=[], metavar="ADDRESS",
                          help="an NTP server the clock follows (repeatable)")  # fmt: skip
    firewall.add_argument("--dns-server", type=address, action="append", default=[], metavar="ADDRESS",
                          help="a DNS resolver (repeatable)")  # fmt: skip
    firewall.add_argument(
        "--allow-out",
        type=outbound,
        action="append",
        default=[],
        metavar="ADDRESS:PORT[/udp]",
        help="another peer the server reaches (package mirror, proxy, syslog collector; repeatable)",
    )
    firewall.add_argument(
        "--strict", action="store_true", help="treat every warning as an error: exit status 1, nothing printed"
    )
    firewall.set_defaults(handler=firewall_ruleset)


def firewall_ruleset(args: argparse.Namespace) -> int:
    from vigie.cli.commands.deploy import firewall_command
    from vigie.config.firewall import FirewallOptions, Outbound

    options = FirewallOptions(
        camera_net=args.camera_net,
        management_net=args.management_net,
        cluster_net=args.cluster_net,
        ssh_port=args.ssh_port,
        proxy_ports=tuple(args.proxy_port),
        ntp_servers=tuple(args.ntp_server),
        dns_servers=tuple(args.dns_server),
        allow_out=tuple(Outbound(peer, number, protocol) for peer, number, protocol in args.allow_out),
    )
    return firewall_command(args.config, options, strict=args.strict)
