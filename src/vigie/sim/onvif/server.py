"""The simulator: many ONVIF devices served by aiohttp on one event loop in a background thread.

Each device has its own TCP port (``http://host:port/onvif/device_service``), as a real camera does: ONVIF
clients, onvif-zeep-async included, build the device service address from a host and a port and cannot be given
a path. aiohttp is the HTTP stack because it serves any number of listening sockets from one event loop (100
devices start in well under a second and answer concurrently); it is already installed with the ONVIF client.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime
from types import TracebackType
from typing import Final, Self, TypeVar

from aiohttp import web
from lxml import etree  # type: ignore[import-untyped]  # no stubs in the lock

from vigie.domain.clock import Clock
from vigie.sim.onvif import device_service, events_service, media_service, ptz_service, thermal_service
from vigie.sim.onvif.broker import EventBroker, SimTopic
from vigie.sim.onvif.device import (
    DEVICE_PATH,
    EVENTS_PATH,
    MEDIA_PATH,
    PTZ_PATH,
    SUBSCRIPTION_PATH,
    THERMAL_PATH,
    Handler,
    SimDevice,
    source_configuration_token,
)
from vigie.sim.onvif.discovery import DiscoveryResponder, discovery_socket
from vigie.sim.onvif.security import check_username_token
from vigie.sim.onvif.soap import (
    MAX_BODY_BYTES,
    TDS,
    TEV,
    TPTZ,
    TRT,
    TTH,
    SoapFault,
    action_not_supported,
    envelope,
    fault_envelope,
    parse_envelope,
    receiver_fault,
    sender_fault,
)
from vigie.sim.onvif.spec import SimDeviceSpec

log = logging.getLogger(__name__)

CONTENT_TYPE: Final = "application/soap+xml; charset=utf-8"
START_TIMEOUT_S: Final = 30.0
SHUTDOWN_TIMEOUT_S: Final = 1.0
"""How long stop() lets requests in flight finish (a PullMessages may wait minutes for an event)."""

_T = TypeVar("_T")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _services(device: SimDevice) -> dict[str, tuple[str, dict[str, Handler]]]:
    services = {
        DEVICE_PATH: (TDS, device_service.OPERATIONS),
        MEDIA_PATH: (TRT, media_service.OPERATIONS),
        EVENTS_PATH: (TEV, events_service.OPERATIONS),
    }
    if device.ptz is not None:
        services[PTZ_PATH] = (TPTZ, ptz_service.OPERATIONS)
    if device.spec.thermal:
        services[THERMAL_PATH] = (TTH, thermal_service.OPERATIONS)
    return services


def _reply(payload: bytes, status: int = 200) -> web.Response:
    return web.Response(body=payload, status=status, headers={"Content-Type": CONTENT_TYPE})


def _fault_reply(fault: SoapFault, status: int | None = None) -> web.Response:
    return _reply(fault_envelope(fault), status or fault.http_status)


async def _answer(device: SimDevice, path: str, body: bytes) -> etree._Element:
    """The response element for one request, or a SoapFault."""
    header, request = parse_envelope(body)
    qname = etree.QName(request)
    services = _services(device)
    if qname.namespace == TDS and qname.localname in device_service.UNAUTHENTICATED and path == DEVICE_PATH:
        return await device_service.OPERATIONS[qname.localname](device, request)
    check_username_token(header, device.spec.username, device.spec.password, device.clock(), device.nonces)
    if path.startswith(SUBSCRIPTION_PATH):
        handler = events_service.SUBSCRIPTION_OPERATIONS.get((qname.namespace or "", qname.localname))
        if handler is None:
            raise action_not_supported(qname.localname)
        return await handler(device, path.removeprefix(SUBSCRIPTION_PATH), request)
    namespace, operations = services[path]
    operation = operations.get(qname.localname) if qname.namespace == namespace else None
    if operation is None:
        raise action_not_supported(qname.localname)
    return await operation(device, request)


def _handler(device: SimDevice) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        if request.path not in _services(device) and not request.path.startswith(SUBSCRIPTION_PATH):
            fault = receiver_fault("ActionNotSupported", "NoSuchService", reason=f"no ONVIF service at {request.path}")
            return _fault_reply(fault, 404)
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return _fault_reply(sender_fault(reason=f"request body over {MAX_BODY_BYTES} bytes"), 413)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _fault_reply(sender_fault(reason=f"request body over {MAX_BODY_BYTES} bytes"), 413)
        try:
            return _reply(envelope(await _answer(device, request.path, body)))
        except SoapFault as fault:
            log.debug("%s: fault %s %s: %s", device.spec.name, fault.code, fault.subcodes, fault.reason)
            return _fault_reply(fault)
        except Exception:
            log.exception("%s: the simulated device failed on a request to %s", device.spec.name, request.path)
            return _fault_reply(receiver_fault(reason="internal error of the simulated device"))

    return handle


class OnvifSimulator:
    """Simulated ONVIF devices, each on its own port, plus an optional WS-Discovery responder.

    ``clock`` is the devices' wall clock (GetSystemDateAndTime, UsernameToken freshness, subscription
    lifetimes). ``discovery_port``: None for no responder, 0 for a free UDP port (read it from
    :attr:`discovery_address`); ``discovery_multicast`` joins 239.255.255.250 (port normally 3702).
    """

    def __init__(
        self,
        devices: Sequence[SimDeviceSpec],
        host: str = "127.0.0.1",
        *,
        clock: Clock = _utc_now,
        discovery_port: int | None = None,
        discovery_multicast: bool = False,
    ) -> None:
        names = [d.name for d in devices]
        if len(set(names)) != len(names):
            raise ValueError(f"simulated device names must be distinct: {sorted(names)}")
        self._specs = list(devices)
        self._host = host
        self._clock = clock
        self._discovery_port = discovery_port
        self._discovery_multicast = discovery_multicast
        self._devices: dict[str, SimDevice] = {}
        self._runners: list[web.AppRunner] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._discovery: asyncio.DatagramTransport | None = None
        self._discovery_address: tuple[str, int] | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def host(self) -> str:
        return self._host

    def start(self) -> None:
        """Bind every device's port (and the discovery socket) and serve them; returns once all listen."""
        if self._loop is not None:
            raise RuntimeError("the simulator is already started")
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="onvif-simulator", daemon=True)
        self._thread.start()
        try:
            self._call(self._start_all())
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Close every port and the discovery socket, and end the thread (idempotent)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            self._call(self._stop_all())
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=START_TIMEOUT_S)
        loop.close()
        self._loop = self._thread = None
        self._devices.clear()

    def _call(self, coroutine: Awaitable[_T]) -> _T:
        if self._loop is None:
            raise RuntimeError("the simulator is not started")
        if threading.current_thread() is self._thread:
            raise RuntimeError("call the simulator from another thread than its own (it would wait on itself)")

        async def run() -> _T:
            return await coroutine

        future: Future[_T] = asyncio.run_coroutine_threadsafe(run(), self._loop)
        return future.result(timeout=START_TIMEOUT_S)

    async def _start_all(self) -> None:
        for spec in self._specs:
            sock = socket.create_server((self._host, spec.port), backlog=128)
            port = sock.getsockname()[1]
            sensors = [(source.token, source_configuration_token(spec, source)) for source in spec.sources]
            broker = EventBroker(self._clock, sensors)
            device = SimDevice(spec, self._host, port, self._clock, broker)
            app = web.Application(client_max_size=MAX_BODY_BYTES)
            app.router.add_route("POST", "/{tail:.*}", _handler(device))
            runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
            await runner.setup()
            await web.SockSite(runner, sock).start()
            self._runners.append(runner)
            self._devices[spec.name] = device
        if self._discovery_port is not None:
            sock = discovery_socket(self._host, self._discovery_port, self._discovery_multicast)
            self._discovery_address = (self._host, sock.getsockname()[1])
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_datagram_endpoint(
                lambda: DiscoveryResponder(lambda: list(self._devices.values()), instance_id=1), sock=sock
            )
            self._discovery = transport

    async def _stop_all(self) -> None:
        if self._discovery is not None:
            self._discovery.close()
            self._discovery = None
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()

    def _device(self, name: str) -> SimDevice:
        try:
            return self._devices[name]
        except KeyError:
            raise KeyError(f"no simulated device {name!r} (started: {sorted(self._devices)})") from None

    def address(self, name: str) -> tuple[str, int]:
        """The host and port of device ``name`` (what an ONVIF client is given)."""
        device = self._device(name)
        return device.host, device.port

    def device_url(self, name: str) -> str:
        """The device service address of ``name`` (``http://host:port/onvif/device_service``)."""
        return self._device(name).device_xaddr

    @property
    def discovery_address(self) -> tuple[str, int]:
        """Where the WS-Discovery responder listens (a Probe sent there is answered)."""
        if self._discovery_address is None:
            raise RuntimeError("the simulator was started without a discovery responder (discovery_port=None)")
        return self._discovery_address

    def raise_event(self, name: str, topic: SimTopic, value: bool, source: str | None = None) -> None:
        """Set a property topic of device ``name`` (motion seen, scene changed…) about its sensor ``source`` (a
        video source token; the first by default) and notify its subscribers; returns once every subscription
        holds the message."""
        device = self._device(name)

        async def publish() -> None:
            device.broker.publish(topic, value, source)

        self._call(publish())
