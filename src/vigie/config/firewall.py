"""What the Vigie server must be allowed to reach, and be reached by, read from its configuration (L16): the plan
that ``vigie deploy firewall`` prints as an nftables ruleset (:mod:`vigie.config.nftables`).

Only the ports the configuration actually uses are opened: the console and API where ``api`` listens, each enabled
camera's streams and ONVIF service (outbound, grouped by host), the database, the S3 store, the MQTT broker, the
webhook receivers, the identity provider, the loudspeakers, the cluster's nodes, and the NTP and DNS servers the
integrator names. Everything is read from the validated configuration; nothing is resolved or connected to. Hosts
come from the URLs' host part only: a ``user:password@`` in a URL is never copied into a rule, a comment or a
warning. A rule's comment names the configuration item it comes from.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from vigie.config.camera import Camera
from vigie.config.models import S3SegmentsSettings, VigieConfig
from vigie.config.speakers import HttpDriver, SipDriver

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Protocol = Literal["tcp", "udp"]
Direction = Literal["input", "output"]

DEFAULT_PORTS: dict[str, int] = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443, "postgresql": 5432}
"""Ports a URL means when it names none (FFmpeg's RTSPS default is 322, as RFC 7826 registers)."""
SIP_PORT, SIPS_PORT, NTP_PORT, DNS_PORT, RAY_PORT = 5060, 5061, 123, 53, 6379
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
ANY_ADDRESSES = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 - compared with, never bound


class FirewallError(ValueError):
    """The ruleset cannot be derived as asked; the message says which option or setting to give."""


@dataclass(frozen=True, slots=True)
class Outbound:
    """A peer the server connects to that the configuration cannot name (``--allow-out``)."""

    address: Network
    port: int
    protocol: Protocol = "tcp"


@dataclass(frozen=True, slots=True)
class FirewallOptions:
    """What the configuration does not say about the network: given at the command line."""

    camera_net: Network | None = None
    management_net: Network | None = None
    cluster_net: Network | None = None
    ssh_port: int = 22
    proxy_ports: tuple[int, ...] = ()
    ntp_servers: tuple[Address, ...] = ()
    dns_servers: tuple[Address, ...] = ()
    allow_out: tuple[Outbound, ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    """One accept rule. ``peer``: the remote side (source of an input rule, destination of an output rule), an
    address or network, or None for any; ``local``: the address the server listens on (input rules), None for any;
    ``ports``: destination ports (``"7460-7475"`` a range), empty for every port."""

    direction: Direction
    protocol: Protocol
    peer: Network | None
    ports: tuple[str, ...]
    comment: str
    local: Address | None = None


@dataclass(frozen=True, slots=True)
class FirewallPlan:
    rules: tuple[Rule, ...]
    warnings: tuple[str, ...]
    notes: tuple[str, ...]
    options: FirewallOptions = field(default_factory=FirewallOptions)


def as_network(host: str) -> Network | None:
    """The host as a one-address network when it is an IP address literal; None for a name."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    return ipaddress.ip_network(address)


def is_local(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    network = as_network(host)
    return network is not None and network.network_address.is_loopback


def url_endpoint(url: str, default_port: int | None = None) -> tuple[str, int] | None:
    """``(host, port)`` of a URL, the port defaulted from its scheme; None for a URL without a host (``file://``).
    Only the host part is kept: never the user or password before ``@``."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if not host:
        return None
    port = port or DEFAULT_PORTS.get(parts.scheme.lower().split("+")[0], default_port or 0)
    return (host, port) if port else None


def database_endpoints(url: str) -> list[tuple[str, int]]:
    """The servers of a PostgreSQL URL (libpq accepts several, ``host1:5432,host2:5433``, and ``?host=``); empty
    for SQLite and for a Unix socket. Read by hand: :func:`urllib.parse.urlsplit` refuses a list of hosts, and the
    configuration layer does not import SQLAlchemy (import contracts)."""
    scheme, _, rest = url.strip().partition("://")
    if not scheme.lower().startswith("postgresql"):
        return []
    netloc, _, tail = rest.partition("/")
    netloc = netloc.rsplit("@", 1)[-1]
    query = parse_qs(tail.partition("?")[2])
    hosts = [h for h in netloc.split(",") if h] or [h for value in query.get("host", []) for h in value.split(",")]
    ports = [p for value in query.get("port", []) for p in value.split(",")]
    found = []
    for index, item in enumerate(hosts):
        if item.startswith("/"):
            continue  # a Unix socket's folder
        host, port = _host_port(item)
        default = ports[index] if index < len(ports) and ports[index].isdigit() else str(DEFAULT_PORTS["postgresql"])
        found.append((host.lower(), port or int(default)))
    return found


def _host_port(item: str) -> tuple[str, int | None]:
    if item.startswith("["):
        host, _, after = item[1:].partition("]")
        port = after.removeprefix(":")
    else:
        host, _, port = item.partition(":") if item.count(":") == 1 else (item, "", "")
    return host, int(port) if port.isdigit() else None


def sip_endpoint(uri: str) -> tuple[str, int, tuple[Protocol, ...]]:
    """Host, port and transports of a SIP URI (``sip:4012@pbx.example:5070;transport=tcp``)."""
    secure = uri.lower().startswith("sips:")
    hostport, *params = uri.rsplit("@", 1)[-1].split(";")
    host, port = _host_port(hostport)
    transport = next((p.split("=", 1)[1].lower() for p in params if p.lower().startswith("transport=")), "")
    protocols: tuple[Protocol, ...] = ("tcp",) if secure or transport in ("tcp", "tls") else ("udp", "tcp")
    if transport == "udp":
        protocols = ("udp",)
    return host.lower(), port or (SIPS_PORT if secure else SIP_PORT), protocols


class _Planner:
    def __init__(self, config: VigieConfig, options: FirewallOptions) -> None:
        self.config = config
        self.options = options
        self.rules: list[Rule] = []
        self.warnings: list[str] = []
        self.notes: list[str] = []
        self.names: set[str] = set()  # hosts given by name: the server needs DNS for them

    def outbound(self, what: str, host: str, port: int | None, protocols: Iterable[Protocol] = ("tcp",)) -> None:
        """A rule to ``host`` (when it is not this machine); a host given by name is allowed by port only."""
        if is_local(host):
            self.notes.append(f"{what}: on this machine (loopback, accepted)")
            return
        peer = as_network(host)
        if peer is None:
            self.names.add(host)
            self.warnings.append(
                f"{what}: {host} is a name, not an address: its rule allows port {port or 'any'} to every address; "
                "write the address in the configuration, or edit the rule"
            )
            what = f"{what} ({host})"
        ports = (str(port),) if port else ()
        for protocol in protocols:
            self.rules.append(Rule("output", protocol, peer, ports, what))

    def plan(self) -> FirewallPlan:
        self.management()
        self.cameras()
        self.storage()
        self.integrations()
        self.speakers()
        self.cluster()
        self.infrastructure()
        return FirewallPlan(tuple(self.rules), tuple(self.warnings), tuple(self.notes), self.options)

    def management(self) -> None:
        options, api = self.options, self.config.api
        net = options.management_net
        if net is None:
            self.warnings.append(
                "no --management-net: SSH and the console are open to every address that reaches this server; "
                "give the management network (e.g. --management-net 10.10.0.0/24)"
            )
        self.rules.append(Rule("input", "tcp", net, (str(options.ssh_port),), f"SSH (--ssh-port {options.ssh_port})"))
        if is_local(api.host):
            self.notes.append(
                f"api: listens on {api.host} only (loopback, accepted): a reverse proxy on this machine serves it "
                "(give its ports with --proxy-port)"
            )
        else:
            local = as_network(api.host)
            listen = None if api.host in ANY_ADDRESSES or local is None else local.network_address
            if net is not None and listen is not None and listen.version != net.version:
                listen = None
            scheme = "HTTPS, api.tls" if api.tls is not None else "plain HTTP"
            self.rules.append(
                Rule("input", "tcp", net, (str(api.port),), f"console and API: api.port {api.port} ({scheme})", listen)
            )
            if api.tls is None:
                self.warnings.append(
                    f"api: the console is served over plain HTTP on {api.host}:{api.port}: give api.tls, or keep it on "
                    "127.0.0.1 behind a TLS reverse proxy (docs/deployment.md#https)"
                )
        for port in options.proxy_ports:
            self.rules.append(Rule("input", "tcp", net, (str(port),), f"reverse proxy (--proxy-port {port})"))

    def cameras(self) -> None:
        """One rule per camera host: every port its enabled cameras' streams and ONVIF services use."""
        hosts: dict[str, dict[int, list[str]]] = {}
        uses: dict[str, list[str]] = {}
        disabled = 0
        for placement in self.config.placements():
            camera = placement.camera
            if not camera.enabled:
                disabled += 1
                continue
            for host, port, what in _camera_endpoints(camera):
                hosts.setdefault(host, {}).setdefault(port, []).append(camera.id)
                if what not in uses.setdefault(host, []):
                    uses[host].append(what)
                self.check_camera(camera, host, what)
        if disabled:
            self.notes.append(f"cameras: {disabled} disabled camera(s) left out")
        camera_net = self.options.camera_net
        if camera_net is None and hosts:
            self.warnings.append(
                "no --camera-net: the cameras' addresses were not checked against the camera network; give it "
                "(e.g. --camera-net 10.20.0.0/16)"
            )
        for host, ports in hosts.items():
            ids = sorted({camera for cameras in ports.values() for camera in cameras})
            if is_local(host):
                self.notes.append(f"cameras {', '.join(ids)}: on this machine (loopback, accepted)")
                continue
            peer = as_network(host) or camera_net
            if as_network(host) is None:
                self.names.add(host)
            label = "camera " if len(ids) == 1 else "cameras "
            named = "" if as_network(host) else f"{host}: "
            comment = f"{label}{', '.join(ids)} ({named}{', '.join(uses[host])})"
            self.rules.append(Rule("output", "tcp", peer, tuple(str(p) for p in sorted(ports)), comment))

    def check_camera(self, camera: Camera, host: str, what: str) -> None:
        camera_net = self.options.camera_net
        if camera_net is None or is_local(host):
            return
        peer = as_network(host)
        where = f"camera {camera.id} ({camera.name})"
        if peer is None:
            self.warnings.append(
                f"{where}: {what} names the host {host}, not an address: it cannot be checked against the camera "
                f"network {camera_net}, and its rule allows the whole camera network; write the camera's address"
            )
        elif peer.version != camera_net.version or not peer.subnet_of(camera_net):  # type: ignore[arg-type]
            self.warnings.append(
                f"{where}: its address {peer.network_address} ({what}) is outside the camera network {camera_net} "
                "(--camera-net): move the camera to the camera VLAN, or correct --camera-net"
            )

    def storage(self) -> None:
        for host, port in database_endpoints(self.config.storage.database_url):
            self.outbound("storage.database_url (PostgreSQL)", host, port)
        segments = self.config.storage.segments
        if isinstance(segments, S3SegmentsSettings):
            endpoint = url_endpoint(segments.endpoint_url)
            if endpoint is not None:
                self.outbound("storage.segments.endpoint_url (S3)", *endpoint)

    def integrations(self) -> None:
        mqtt = self.config.mqtt
        if mqtt.enabled and mqtt.host is not None:
            self.outbound("mqtt.host (MQTT broker)", mqtt.host, mqtt.broker_port)
        if self.config.webhooks.enabled:
            for endpoint in self.config.webhooks.endpoints:
                found = url_endpoint(endpoint.url)
                if found is not None:
                    self.outbound(f"webhooks.endpoints {endpoint.name}", *found)
        oidc = self.config.auth.oidc
        if oidc is not None:
            found = url_endpoint(oidc.issuer)
            if found is not None:
                self.outbound("auth.oidc.issuer (identity provider)", *found)

    def speakers(self) -> None:
        for speaker in self.config.speakers.devices:
            driver = speaker.driver
            if isinstance(driver, HttpDriver):
                found = url_endpoint(str(driver.url))
                if found is not None:
                    self.outbound(f"speakers.devices {speaker.id} (HTTP)", *found)
            elif isinstance(driver, SipDriver):
                host, port, protocols = sip_endpoint(driver.uri)
                self.outbound(f"speakers.devices {speaker.id} (SIP)", host, port, protocols)
                # The audio (RTP) goes to the port the speaker gives in its answer: any UDP port of that host.
                self.outbound(f"speakers.devices {speaker.id} (SIP audio, RTP)", host, None, ("udp",))

    def cluster(self) -> None:
        cluster = self.config.cluster
        if cluster is None:
            return
        net = self.options.cluster_net
        if net is None:
            raise FirewallError(
                "the configuration has a `cluster` section: give the network of the Ray nodes with --cluster-net "
                "CIDR (e.g. --cluster-net 10.0.1.0/24)"
            )
        head_host, port = _host_port(cluster.address.rsplit("://", 1)[-1])
        head_port = port or RAY_PORT
        head = as_network(head_host)
        if head is not None and (head.version != net.version or not head.subnet_of(net)):  # type: ignore[arg-type]
            self.warnings.append(f"cluster.address {head_host} is outside the cluster network {net} (--cluster-net)")
        last = cluster.live_port + cluster.live_ports - 1
        self.rules += [
            Rule(
                "input", "tcp", net, (), f"cluster (Ray): nodes to the head (cluster.address {head_host}:{head_port})"
            ),
            Rule("output", "tcp", net, (f"{cluster.live_port}-{last}",), "cluster.live_port: live relays"),
            Rule("output", "tcp", net, (), "cluster (Ray): the nodes' raylets, object managers and workers"),
        ]

    def infrastructure(self) -> None:
        options = self.options
        for server in options.ntp_servers:
            self.rules.append(
                Rule("output", "udp", ipaddress.ip_network(server), (str(NTP_PORT),), "NTP (--ntp-server)")
            )
        if not options.ntp_servers:
            self.warnings.append(
                "no --ntp-server: the server's clock dates every recording, audit entry and export; give the NTP "
                "servers it synchronises with"
            )
        for server in options.dns_servers:
            for protocol in ("udp", "tcp"):
                self.rules.append(Rule("output", protocol, ipaddress.ip_network(server), (str(DNS_PORT),), "DNS"))
        if not options.dns_servers and self.names:
            self.warnings.append(
                f"the configuration names hosts by name ({', '.join(sorted(self.names))}): the server needs DNS, give "
                "--dns-server ADDRESS"
            )
        for extra in options.allow_out:
            self.rules.append(Rule("output", extra.protocol, extra.address, (str(extra.port),), "--allow-out"))


def _camera_endpoints(camera: Camera) -> Iterator[tuple[str, int, str]]:
    for what, url in (("main_stream", camera.main_stream), ("sub_stream", camera.sub_stream)):
        found = url_endpoint(url) if url else None
        if found is not None:
            yield (*found, what)
    if camera.onvif is not None:
        yield camera.onvif.host.strip("[]").lower(), camera.onvif.port, "onvif"


def plan_firewall(config: VigieConfig, options: FirewallOptions) -> FirewallPlan:
    """The rules the configuration needs, the warnings on what it cannot check or should not do, and notes on what
    needs no rule (a service on loopback). Raises :class:`FirewallError` when an option it needs is missing."""
    return _Planner(config, options).plan()
