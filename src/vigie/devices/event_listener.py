"""Listening to the camera-side events of many cameras at once: one asyncio loop, on one thread, for all of them.

A PullPoint subscription is a long poll: each camera holds one HTTP request open on the device until an event
comes or the pull's timeout ends, so 4,891 cameras are 4,891 coroutines waiting on sockets, not 4,891 threads.
What is bounded is the costly part — connecting, reading the device's services and subscribing — at most
``max_connecting`` at a time, so a start (or a network that comes back) does not open thousands of sessions at
once. A camera that fails (unreachable, wrong account, subscription dropped) is tried again after a capped,
jittered exponential backoff; its failure is its own: the other cameras' coroutines never wait for it, and the
service never waits for any of them. Stopping cancels every subscription (each unsubscribes, within a bound) and
ends the thread.

Errors come from :func:`vigie.devices.onvif_events.camera_events` already worded for a person and with the password
redacted; anything else is logged by its type only (a library's message may quote the request).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Final, Protocol

from vigie.devices.onvif import OnvifError
from vigie.devices.onvif_events import CameraEvent, camera_events
from vigie.domain.redact import redact_text

log = logging.getLogger(__name__)

MAX_CONNECTING: Final = 32
"""Cameras connecting and subscribing at once (each a few SOAP exchanges); the others wait their turn."""
RETRY_FIRST_S: Final = 2.0
RETRY_MAX_S: Final = 300.0
"""A failing camera is tried again after 2, 4, 8… seconds, at most five minutes apart (each wait jittered by up
to half, so that cameras lost together do not all come back in the same second)."""
IO_THREADS: Final = 4
"""Threads of the loop's executor (what asyncio runs off the loop: name resolution, files)."""
STOP_TIMEOUT_S: Final = 5.0
"""At stop, how long the subscriptions may take to unsubscribe (a courtesy: they expire on the devices anyway)."""


@dataclass(frozen=True, slots=True)
class EventSource:
    """A device whose events are listened to: where its ONVIF services answer and its account. ``camera_id`` names
    the subscription (the camera, or the multi-sensor device); ``sensors``, for a device several cameras show,
    each camera's id and its video source token (None: unknown), to send each event to the sensor it is about."""

    camera_id: str
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    sensors: tuple[tuple[str, str | None], ...] = ()

    @property
    def cameras(self) -> tuple[str, ...]:
        """The cameras this device's events go to."""
        return tuple(camera for camera, _ in self.sensors) if self.sensors else (self.camera_id,)

    def targets(self, event: CameraEvent) -> tuple[str, ...]:
        """The cameras ``event`` is about: those whose video source token the event's source items name; when it
        names none of them (a device-wide event, or a token Vigie does not know), every camera of the device."""
        if not self.sensors:
            return (self.camera_id,)
        named = set(event.tokens)
        matched = tuple(camera for camera, token in self.sensors if token is not None and token in named)
        return matched or self.cameras


class SubscriptionState(enum.StrEnum):
    CONNECTING = "connecting"
    SUBSCRIBED = "subscribed"
    FAILING = "failing"
    """The last try failed; ``error`` says why, the next try comes after a backoff."""


@dataclass(frozen=True, slots=True)
class Subscription:
    """Where a camera's subscription stands: its state, the last error (never with the password), failures in a
    row."""

    camera_id: str
    state: SubscriptionState
    error: str = ""
    failures: int = 0


class Subscribe(Protocol):
    """Opens a camera's event subscription (:func:`camera_events` over ONVIF): its events as they come, and
    ``on_subscribed()`` called once the subscription is made."""

    def __call__(self, source: EventSource, on_subscribed: Callable[[], object]) -> AsyncIterator[CameraEvent]: ...


def onvif_subscribe(pull_timeout_s: float = 20.0) -> Subscribe:
    """Subscriptions over ONVIF whose pulls wait up to ``pull_timeout_s`` on the device: longer pulls mean fewer
    requests per idle camera (4,891 cameras at 20 s: about 245 requests a second), not later events — a pull
    answers as soon as an event comes."""

    def subscribe(source: EventSource, on_subscribed: Callable[[], object]) -> AsyncIterator[CameraEvent]:
        return camera_events(
            source.host,
            source.port,
            source.username,
            source.password,
            pull_timeout_s=pull_timeout_s,
            on_subscribed=on_subscribed,
        )

    return subscribe


def retry_after(failures: int, first_s: float = RETRY_FIRST_S, max_s: float = RETRY_MAX_S) -> float:
    """The longest wait before trying a camera again after ``failures`` failures in a row (jitter aside)."""
    return min(max_s, first_s * float(2 ** max(0, min(failures - 1, 30))))


class CameraEventListener:
    """Every camera's events, on one background thread (see the module docstring). ``on_event(camera_id, event)``
    is called on that thread and must be quick and thread-safe (hand the event over, do not process it there)."""

    def __init__(
        self,
        sources: Sequence[EventSource],
        on_event: Callable[[str, CameraEvent], None],
        *,
        subscribe: Subscribe | None = None,
        max_connecting: int = MAX_CONNECTING,
        retry_first_s: float = RETRY_FIRST_S,
        retry_max_s: float = RETRY_MAX_S,
    ) -> None:
        ids = [s.camera_id for s in sources]
        if len(set(ids)) != len(ids):
            raise ValueError("each camera is listened to once: the sources name a camera twice")
        if max_connecting < 1:
            raise ValueError("max_connecting must be at least 1")
        self._sources = tuple(sources)
        self._on_event = on_event
        self._subscribe = subscribe or onvif_subscribe()
        self._max_connecting = max_connecting
        self._retry = (retry_first_s, retry_max_s)
        self._states: dict[str, Subscription] = {
            s.camera_id: Subscription(s.camera_id, SubscriptionState.CONNECTING) for s in sources
        }
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def cameras(self) -> list[str]:
        return [s.camera_id for s in self._sources]

    def subscriptions(self) -> list[Subscription]:
        """Every camera's subscription as it stands now (any thread)."""
        with self._lock:
            return list(self._states.values())

    def start(self) -> None:
        """Start the thread and every camera's subscription; returns at once (nothing waits for a camera)."""
        if self._thread is not None:
            raise RuntimeError("the camera event listener is already started")
        if not self._sources:
            return
        loop = asyncio.new_event_loop()
        self._loop, self._stopping = loop, asyncio.Event()  # bound to the loop at its first use, in the thread
        self._thread = threading.Thread(target=self._run, args=(loop,), name="camera-events", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Cancel every subscription (each unsubscribes, for at most ``timeout_s`` together) and end the thread.
        Idempotent."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        stopping = self._stopping
        if stopping is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stopping.set)  # run as soon as the loop runs, if it has not started yet
        thread.join(timeout_s + 2.0)
        if thread.is_alive():  # pragma: no cover - a library that ignores cancellation
            log.error("camera events: the listener's thread did not end within %.0f s", timeout_s + 2.0)
            return
        self._loop = self._thread = None

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        # the loop's blocking helpers (name resolution, the library's WSDL files): a few named threads, ended below
        loop.set_default_executor(ThreadPoolExecutor(IO_THREADS, thread_name_prefix="camera-events-io"))
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    async def _main(self) -> None:
        if self._stopping is None:  # pragma: no cover - set by start()
            return
        slots = asyncio.Semaphore(self._max_connecting)
        self._tasks = [
            asyncio.create_task(self._listen(source, slots), name=f"events-{source.camera_id}")
            for source in self._sources
        ]
        await self._stopping.wait()
        for task in self._tasks:
            task.cancel()
        _, late = await asyncio.wait(self._tasks, timeout=STOP_TIMEOUT_S)
        for task in late:  # a device that does not answer the unsubscription: cancelled again, not waited for
            task.cancel()
        if late:
            await asyncio.wait(late, timeout=1.0)

    def _state(self, camera_id: str, state: SubscriptionState, error: str = "", failures: int = 0) -> None:
        with self._lock:
            self._states[camera_id] = Subscription(camera_id, state, error, failures)

    async def _listen(self, source: EventSource, slots: asyncio.Semaphore) -> None:
        """One camera, for the life of the listener: subscribe, pass its events on, and after a failure wait and
        subscribe again."""
        camera_id, failures, last_error = source.camera_id, 0, ""
        while True:
            error, subscribed = await self._session(source, slots)
            failures = 1 if subscribed else failures + 1  # a subscription that worked, then ended: soon again
            wait = retry_after(failures, *self._retry) * random.uniform(0.5, 1.0)  # jitter
            self._state(camera_id, SubscriptionState.FAILING, error, failures)
            if error != last_error:
                log.warning("camera events: %s; tried again in %.0f s", error, wait)
            else:
                log.debug("camera events: %s (%d failures in a row); tried again in %.0f s", error, failures, wait)
            last_error = error
            await asyncio.sleep(wait)
            self._state(camera_id, SubscriptionState.CONNECTING, error, failures)

    async def _session(self, source: EventSource, slots: asyncio.Semaphore) -> tuple[str, bool]:
        """One subscription of one camera, until it ends: why (for a person, never with the password), and
        whether it had been made."""
        camera_id = source.camera_id
        await slots.acquire()
        held, subscribed = True, False

        def on_subscribed() -> None:
            nonlocal held, subscribed
            subscribed = True
            if held:
                slots.release()
                held = False
            self._state(camera_id, SubscriptionState.SUBSCRIBED)
            log.debug("camera events: camera %s subscribed", camera_id)

        events = self._subscribe(source, on_subscribed)
        try:
            async for event in events:
                for target in source.targets(event):
                    self._on_event(target, event)
            error = f"camera {camera_id}: the event subscription ended"
        except OnvifError as err:
            error = f"camera {camera_id}: {err}"
        except Exception as err:  # not the device's: the callback's; this camera's trouble, never the others'
            error = redact_text(f"camera {camera_id}: internal error {type(err).__name__}")
            log.warning("camera events: %s", error, exc_info=True)
        finally:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()
            if held:
                slots.release()
        return error, subscribed
