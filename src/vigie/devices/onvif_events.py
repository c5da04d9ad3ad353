"""Camera-side events over ONVIF: motion and tampering (the scene changed, the picture blurred or went dark),
pulled through a PullPoint subscription and read by onvif-parsers (the topic parsers Home Assistant uses)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from vigie.devices.onvif import OnvifError, error_for, onvif_camera, value_at

log = logging.getLogger(__name__)


EVENT_KINDS: dict[str, str] = {
    "CellMotionDetector/Motion": "motion",
    "MotionRegionDetector/Motion": "motion",
    "VideoSource/MotionAlarm": "motion",
    "VideoSource/GlobalSceneChange": "scene_change",
    "VideoSource/ImageTooBlurry": "image_too_blurry",
    "VideoSource/ImageTooDark": "image_too_dark",
    "TamperDetector/Tamper": "tamper",
}
"""The camera-side events Vigie listens to, by a part of their ONVIF topic: motion, and tampering (the scene
changed, the picture blurred or went dark: a camera turned, sprayed or covered)."""


@dataclass(frozen=True, slots=True)
class CameraEvent:
    """A camera-side event: its kind (a value of :data:`EVENT_KINDS`), whether the condition starts (``True``) or
    ends, its ONVIF topic and the entity onvif-parsers names (device, topic and video source)."""

    kind: str
    active: bool
    topic: str
    source: str
    tokens: tuple[str, ...] = ()
    """The values of the message's source items (video source, video source configuration, rule tokens): which
    sensor of a multi-sensor camera the event is about."""


def event_kind(topic: str) -> str | None:
    """The kind of an ONVIF topic (``tns1:VideoSource/GlobalSceneChange/ImagingService`` → ``scene_change``), or
    ``None`` for a topic Vigie does not listen to."""
    return next((kind for part, kind in EVENT_KINDS.items() if part in topic), None)


async def parse_notification(device: str, message: Any) -> list[CameraEvent]:
    """The events in one PullMessages ``NotificationMessage`` (onvif-parsers reads the vendor's payload); an
    unknown topic or a payload it cannot read gives none."""
    import onvif_parsers

    # Devices write the topic with trailing "/" or "//." (Home Assistant strips them the same way).
    topic = str(value_at(message, "Topic", "_value_1") or "").rstrip("/.")
    kind = event_kind(topic)
    if kind is None:
        return []
    try:
        entities = await onvif_parsers.parse(topic, device, message)
    except (onvif_parsers.errors.UnknownTopicError, AttributeError, KeyError, IndexError, TypeError) as err:
        log.debug("%s: unreadable %s event: %s", device, topic, type(err).__name__)
        return []
    tokens = source_tokens(message)
    return [CameraEvent(kind=kind, active=bool(e.value), topic=topic, source=e.uid, tokens=tokens) for e in entities]


def source_tokens(message: Any) -> tuple[str, ...]:
    """The values of a notification's ``Source`` simple items (``tt:Message/tt:Source/tt:SimpleItem/@Value``)."""
    items = value_at(message, "Message", "_value_1", "Source", "SimpleItem") or []
    if not isinstance(items, list):
        items = [items]
    return tuple(str(value) for item in items if (value := value_at(item, "Value")) is not None)


async def camera_events(
    host: str,
    port: int,
    username: str,
    password: str,
    *,
    pull_timeout_s: float = 5.0,
    timeout_s: float = 10.0,
    subscription: dt.timedelta = dt.timedelta(minutes=1),
    on_subscribed: Callable[[], object] | None = None,
) -> AsyncIterator[CameraEvent]:
    """The camera's motion and tamper events as they come, through a PullPoint subscription (renewed by the
    library before it ends). Each pull waits up to ``pull_timeout_s`` on the device; OnvifError when the device
    cannot be reached, refuses the account or drops the subscription. Closing the iterator unsubscribes.
    ``on_subscribed()`` is called once the subscription is made, before the first pull (which may wait)."""
    device = f"{host}:{port}"
    camera = onvif_camera(host, port, username, password)
    lost = asyncio.Event()
    manager: Any = None
    try:
        async with asyncio.timeout(timeout_s):
            await camera.update_xaddrs()
            manager = await camera.create_pullpoint_manager(subscription, lost.set)
        if on_subscribed is not None:
            on_subscribed()
        service = manager.get_service()
        while not lost.is_set():
            async with asyncio.timeout(pull_timeout_s + timeout_s):
                result = await service.PullMessages(
                    {"MessageLimit": 100, "Timeout": dt.timedelta(seconds=pull_timeout_s)}
                )
            for message in value_at(result, "NotificationMessage") or []:
                for event in await parse_notification(device, message):
                    yield event
        raise OnvifError(device, "the device ended the event subscription")
    except (OnvifError, GeneratorExit, asyncio.CancelledError):
        raise
    except (Exception, TimeoutError) as err:
        raise error_for(host, port, err, timeout_s, password) from None
    finally:
        if manager is not None:
            try:
                await manager.shutdown()
            except Exception as err:  # unsubscribing is a courtesy: the subscription expires on the device
                log.debug("%s: unsubscribing: %s", device, type(err).__name__)
        await camera.close()
