"""The event side of a simulated device: property topics, their current state, and PullPoint subscriptions.

ONVIF motion and tamper topics are *properties*: a subscriber first receives each property's current state
(``PropertyOperation="Initialized"``), then each change (``"Changed"``). A subscription lives until its
termination time on the device clock (Renew moves it); expired ones are forgotten. Everything here runs on the
server's event loop (the simulator hands events raised from other threads to the loop), so no lock is needed.
Every queue is bounded: a subscriber that stops pulling loses the oldest messages, never the device's memory.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Final

from vigie.domain.clock import Clock

MAX_SUBSCRIPTIONS: Final = 16
"""PullPoint subscriptions a device holds at once (cameras allow a handful; a 17th is refused)."""

MAX_QUEUED_MESSAGES: Final = 1000
"""Messages kept per subscription until pulled (the oldest dropped first)."""


class SimTopic(Enum):
    """The topics a simulated camera raises: ``(topic path, data item name)``."""

    MOTION = ("tns1:RuleEngine/CellMotionDetector/Motion", "IsMotion")
    GLOBAL_SCENE_CHANGE = ("tns1:VideoSource/GlobalSceneChange/ImagingService", "State")
    IMAGE_TOO_BLURRY = ("tns1:VideoSource/ImageTooBlurry/ImagingService", "State")
    IMAGE_TOO_DARK = ("tns1:VideoSource/ImageTooDark/ImagingService", "State")

    @property
    def path(self) -> str:
        return self.value[0]

    @property
    def data_name(self) -> str:
        return self.value[1]


@dataclass(frozen=True, slots=True)
class EventMessage:
    """One notification: a topic, when, Initialized or Changed, its source and data items (name, value)."""

    topic: SimTopic
    utc_time: datetime
    operation: str
    source: tuple[tuple[str, str], ...]
    data: tuple[tuple[str, str], ...]


@dataclass(slots=True)
class Subscription:
    """A PullPoint subscription: its messages wait here until pulled."""

    ident: str
    termination: datetime
    topics: frozenset[SimTopic]
    queue: deque[EventMessage] = field(default_factory=lambda: deque(maxlen=MAX_QUEUED_MESSAGES))
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def push(self, message: EventMessage) -> None:
        self.queue.append(message)
        self.arrived.set()

    def take(self, limit: int) -> list[EventMessage]:
        taken = [self.queue.popleft() for _ in range(min(limit, len(self.queue)))]
        if not self.queue:
            self.arrived.clear()
        return taken


class SubscriptionLimitError(Exception):
    """The device holds :data:`MAX_SUBSCRIPTIONS` live subscriptions."""


class EventBroker:
    """A device's property topics and subscriptions (one per device). Each sensor (video source) has its own
    properties: a multi-sensor camera's events say which sensor they are about (their source items)."""

    def __init__(self, clock: Clock, sources: Sequence[tuple[str, str]]) -> None:
        """``sources``: each sensor's (video source token, video source configuration token), the first one the
        sensor an event is about when none is named."""
        if not sources:
            raise ValueError("a device has at least one video source")
        self._clock = clock
        self._sources = dict(sources)
        self._first = sources[0][0]
        self._state: dict[tuple[SimTopic, str], bool] = {(t, s): False for t in SimTopic for s, _ in sources}
        self._state_at: dict[tuple[SimTopic, str], datetime] = {}
        self._subscriptions: dict[str, Subscription] = {}
        self._ids = itertools.count(1)

    def source_items(self, topic: SimTopic, source: str | None = None) -> tuple[tuple[str, str], ...]:
        """The source items of ``topic``'s messages about sensor ``source`` (the first by default): what the ONVIF
        topic set describes for it."""
        token = source or self._first
        if topic is SimTopic.MOTION:
            return (
                ("VideoSourceConfigurationToken", self._sources[token]),
                ("VideoAnalyticsConfigurationToken", "VideoAnalyticsToken"),
                ("Rule", "MyMotionDetectorRule"),
            )
        return (("Source", token),)

    def _message(self, topic: SimTopic, source: str, operation: str) -> EventMessage:
        at = self._state_at.get((topic, source)) or self._clock()
        value = "true" if self._state[topic, source] else "false"
        return EventMessage(topic, at, operation, self.source_items(topic, source), ((topic.data_name, value),))

    def subscribe(self, termination: datetime, topics: frozenset[SimTopic]) -> Subscription:
        """A new subscription, holding the current state of each of its topics (``Initialized``)."""
        self._purge()
        if len(self._subscriptions) >= MAX_SUBSCRIPTIONS:
            raise SubscriptionLimitError(f"the device holds {MAX_SUBSCRIPTIONS} subscriptions already")
        subscription = Subscription(f"sub{next(self._ids)}", termination, topics)
        self._subscriptions[subscription.ident] = subscription
        self.synchronize(subscription)
        return subscription

    def synchronize(self, subscription: Subscription) -> None:
        """Queue the current state of each of the subscription's topics (SetSynchronizationPoint)."""
        for topic in SimTopic:
            if topic in subscription.topics:
                for source in self._sources:
                    subscription.push(self._message(topic, source, "Initialized"))

    def get(self, ident: str) -> Subscription | None:
        """The live subscription ``ident``, or None (unknown, unsubscribed or expired)."""
        self._purge()
        return self._subscriptions.get(ident)

    def unsubscribe(self, ident: str) -> bool:
        subscription = self._subscriptions.pop(ident, None)
        if subscription is None:
            return False
        subscription.arrived.set()  # a pull waiting on it answers now (nothing), not at the end of its timeout
        return True

    def publish(self, topic: SimTopic, value: bool, source: str | None = None) -> None:
        """Set a property of sensor ``source`` (the first by default) and notify every live subscription to it
        (``Changed``), even when the value is the same (a camera re-announces a motion it sees again)."""
        token = source or self._first
        if token not in self._sources:
            raise KeyError(f"no video source {token!r}; the device's are {', '.join(self._sources)}")
        self._purge()
        self._state[topic, token] = value
        self._state_at[topic, token] = self._clock()
        message = self._message(topic, token, "Changed")
        for subscription in self._subscriptions.values():
            if topic in subscription.topics:
                subscription.push(message)

    def _purge(self) -> None:
        now = self._clock()
        for ident in [i for i, s in self._subscriptions.items() if s.termination <= now]:
            del self._subscriptions[ident]


def topics_matching(expression: str | None) -> frozenset[SimTopic]:
    """The topics a WS-BaseNotification ``TopicExpression`` (ONVIF concrete set: paths joined by ``|``, a path
    may end in ``//.`` for its whole subtree) selects; None selects all."""
    if expression is None or not expression.strip():
        return frozenset(SimTopic)
    selected: set[SimTopic] = set()
    for raw in expression.split("|"):
        path = raw.strip()
        subtree = path.endswith("//.")
        path = path.removesuffix("//.").rstrip("/")
        for topic in SimTopic:
            if topic.path == path or (subtree and topic.path.startswith(path + "/")):
                selected.add(topic)
    return frozenset(selected)
