"""A :class:`~vigie.config.firewall.FirewallPlan` written as an nftables ruleset that ``nft -f`` loads (L16).

One table, ``inet vigie`` (IPv4 and IPv6), replaced as a whole at each load and touching no other table: input and
output chains that drop by default and accept replies, loopback, the neighbour discovery IPv6 needs and the plan's
rules; a forward chain that drops everything (the server stands between the camera network and the others and
routes nothing between them); refused packets logged at a bounded rate. Written by hand rather than through the
``nftables`` Python binding: that binding needs the library and the privileges of the machine it runs on, and this
text is meant to be read, reviewed and loaded elsewhere.
"""

from __future__ import annotations

import re

from vigie.config.firewall import FirewallPlan, Network, Rule

TABLE = "vigie"
COMMENT_MAX = 120
"""nftables keeps at most 128 bytes of a comment."""
_UNSAFE = re.compile(r"[^A-Za-z0-9 _.,:;()/+=@'<>\[\]-]")


def comment(text: str) -> str:
    """A quoted comment nftables accepts: printable ASCII without quotes or backslashes, cut to fit."""
    cleaned = _UNSAFE.sub("?", text)
    if len(cleaned) > COMMENT_MAX:
        cleaned = cleaned[: COMMENT_MAX - 3] + "..."
    return f'comment "{cleaned}"'


def _family(network: Network) -> str:
    return "ip" if network.version == 4 else "ip6"


def _peer(network: Network) -> str:
    """One address without its ``/32`` or ``/128``, a network in CIDR form."""
    return str(network.network_address if network.num_addresses == 1 else network)


def _ports(ports: tuple[str, ...]) -> str:
    return ports[0] if len(ports) == 1 else "{ " + ", ".join(ports) + " }"


def rule_line(rule: Rule) -> str:
    parts = []
    remote = "saddr" if rule.direction == "input" else "daddr"
    if rule.peer is not None:
        parts.append(f"{_family(rule.peer)} {remote} {_peer(rule.peer)}")
    if rule.local is not None:
        parts.append(f"{'ip' if rule.local.version == 4 else 'ip6'} daddr {rule.local}")
    parts.append(f"{rule.protocol} dport {_ports(rule.ports)}" if rule.ports else f"meta l4proto {rule.protocol}")
    parts += ["accept", comment(rule.comment)]
    return " ".join(parts)


_NEIGHBOURS = "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert }"


def _chain(name: str, hook: str, rules: list[Rule], loopback: str) -> list[str]:
    lines = [
        f"\tchain {name} {{",
        f"\t\ttype filter hook {hook} priority filter; policy drop;",
        f"\t\tct state established,related accept {comment('replies to the connections allowed below')}",
        f"\t\tct state invalid drop {comment('packets of no known connection')}",
        f'\t\t{loopback} "lo" accept {comment("loopback: this machine to itself")}',
        f"\t\t{_NEIGHBOURS} ip6 hoplimit 255 accept {comment('IPv6 neighbour discovery')}",
        f"\t\ticmp type echo-request limit rate 5/second accept {comment('ping (rate-limited)')}",
        f"\t\ticmpv6 type echo-request limit rate 5/second accept {comment('ping (rate-limited)')}",
    ]
    lines += [f"\t\t{rule_line(rule)}" for rule in rules]
    prefix = f"vigie {name} refused: "
    lines += [f'\t\tlimit rate 10/minute log prefix "{prefix}" {comment("refused, logged at most 10 a minute")}']
    lines.append("\t}")
    return lines


def render_nftables(plan: FirewallPlan, source: str) -> str:
    """The ruleset: a header of comments (where it comes from, the options, notes), then the table."""
    options = plan.options
    given = [
        ("management network (--management-net)", options.management_net),
        ("camera network (--camera-net)", options.camera_net),
        ("cluster network (--cluster-net)", options.cluster_net),
    ]
    header = [
        "#!/usr/sbin/nft -f",
        f"# Vigie firewall for the server running `vigie serve`, from {_UNSAFE.sub('?', source)}",
        "# (`vigie deploy firewall`, docs/deployment.md#network-and-security-l16). Check it with `nft -c -f FILE`,",
        f"# load it with `nft -f FILE`: it replaces the table inet {TABLE} and touches no other table.",
    ]
    header += [f"# {what}: {value}" for what, value in given if value is not None]
    header += [f"# needs no rule: {_UNSAFE.sub('?', note)}" for note in plan.notes]
    inbound = [r for r in plan.rules if r.direction == "input"]
    outbound = [r for r in plan.rules if r.direction == "output"]
    lines = [
        *header,
        "",
        f"table inet {TABLE}",
        f"delete table inet {TABLE}",
        "",
        f"table inet {TABLE} {{",
        *_chain("input", "input", inbound, "iif"),
        "",
        *_chain("output", "output", outbound, "oif"),
        "",
        "\tchain forward {",
        "\t\ttype filter hook forward priority filter; policy drop;",
        f'\t\tlimit rate 10/minute log prefix "vigie forward refused: " {comment("this server routes nothing")}',
        "\t}",
        "}",
    ]
    return "\n".join(lines) + "\n"
