"""The simulated camera's PullPoint events, pulled the way Home Assistant pulls them (onvif-zeep-async's
PullPointManager) and read by onvif-parsers: the current state of each topic first, then each change raised."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta
from typing import Any

import onvif_parsers
import pytest
import zeep.exceptions
from lxml import etree  # type: ignore[import-untyped]

from tests.sim.onvif_rig import camera_spec, connect
from vigie.sim.onvif import OnvifSimulator, SimTopic

MOTION = "tns1:RuleEngine/CellMotionDetector/Motion"
SCENE = "tns1:VideoSource/GlobalSceneChange/ImagingService"


async def parsed(messages: list[Any]) -> list[tuple[str, str, bool]]:
    """(topic, PropertyOperation, value) of each notification, the value read by onvif-parsers."""
    out = []
    for message in messages:
        topic = message.Topic._value_1
        (entity,) = await onvif_parsers.parse(topic, "uid", message)
        out.append((topic, message.Message._value_1.PropertyOperation, entity.value))
    return out


def test_subscribers_get_the_initial_state_then_raised_events() -> None:
    with OnvifSimulator([camera_spec("cam-1")]) as sim:

        async def scenario() -> dict[str, Any]:
            seen: dict[str, Any] = {}
            camera = await connect(sim, "cam-1")
            manager = await camera.create_pullpoint_manager(timedelta(seconds=60), lambda: None)
            try:
                pullpoint = manager.get_service()
                properties = await (await camera.create_events_service()).GetEventProperties()
                seen["topic_set"] = properties.TopicSet
                first = await pullpoint.PullMessages({"MessageLimit": 100, "Timeout": timedelta(seconds=1)})
                seen["initial"] = await parsed(first.NotificationMessage)
                await asyncio.to_thread(sim.raise_event, "cam-1", SimTopic.MOTION, True)
                await asyncio.to_thread(sim.raise_event, "cam-1", SimTopic.GLOBAL_SCENE_CHANGE, True)
                changed = await pullpoint.PullMessages({"MessageLimit": 100, "Timeout": timedelta(seconds=1)})
                seen["changed"] = await parsed(changed.NotificationMessage)

                # A pull waiting for events returns as soon as one is raised, not at its timeout.
                timer = threading.Timer(0.3, sim.raise_event, ("cam-1", SimTopic.MOTION, False))
                started = time.perf_counter()
                timer.start()
                waited = await pullpoint.PullMessages({"MessageLimit": 10, "Timeout": timedelta(seconds=20)})
                seen["wait_s"] = time.perf_counter() - started
                seen["waited"] = await parsed(waited.NotificationMessage)
            finally:
                await manager.shutdown()  # Unsubscribe
                try:
                    await pullpoint.PullMessages({"MessageLimit": 10, "Timeout": timedelta(seconds=0)})
                except zeep.exceptions.Fault as fault:
                    seen["after_unsubscribe"] = [q.localname for q in fault.subcodes]
                await camera.close()
            return seen

        seen = asyncio.run(scenario())

    assert sorted(seen["initial"]) == sorted(
        [
            (MOTION, "Initialized", False),
            (SCENE, "Initialized", False),
            ("tns1:VideoSource/ImageTooBlurry/ImagingService", "Initialized", False),
            ("tns1:VideoSource/ImageTooDark/ImagingService", "Initialized", False),
        ]
    )
    assert seen["changed"] == [(MOTION, "Changed", True), (SCENE, "Changed", True)]
    assert seen["waited"] == [(MOTION, "Changed", False)]
    assert seen["wait_s"] < 5.0
    assert seen["after_unsubscribe"] == ["InvalidArgVal", "ResourceUnknown"]


def test_renew_extends_a_subscription_and_a_topic_filter_selects_what_is_delivered() -> None:
    with OnvifSimulator([camera_spec("cam-1")]) as sim:

        async def scenario() -> dict[str, Any]:
            seen: dict[str, Any] = {}
            camera = await connect(sim, "cam-1")
            try:
                events = await camera.create_events_service()
                created = await events.CreatePullPointSubscription(
                    {
                        "Filter": {"_value_1": _topic_filter(MOTION)},
                        "InitialTerminationTime": "PT10S",
                    }
                )
                seen["lifetime"] = created.TerminationTime - created.CurrentTime
                camera.xaddrs["http://www.onvif.org/ver10/events/wsdl/PullPointSubscription"] = (
                    created.SubscriptionReference.Address._value_1
                )
                manager = await camera.create_subscription_service("PullPointSubscription")
                renewed = await manager.Renew("PT300S")
                seen["renewed"] = renewed.TerminationTime - renewed.CurrentTime
                pullpoint = await camera.create_pullpoint_service()
                await asyncio.to_thread(sim.raise_event, "cam-1", SimTopic.IMAGE_TOO_DARK, True)
                await asyncio.to_thread(sim.raise_event, "cam-1", SimTopic.MOTION, True)
                pulled = await pullpoint.PullMessages({"MessageLimit": 100, "Timeout": timedelta(seconds=1)})
                seen["pulled"] = await parsed(pulled.NotificationMessage)
                try:
                    await pullpoint.PullMessages({"MessageLimit": 100, "Timeout": timedelta(hours=1)})
                except zeep.exceptions.Fault as fault:
                    seen["too_long"] = [q.localname for q in fault.subcodes]
                await manager.Unsubscribe()
            finally:
                await camera.close()
            return seen

        seen = asyncio.run(scenario())

    assert seen["lifetime"] == pytest.approx(timedelta(seconds=10), abs=timedelta(seconds=1))
    assert seen["renewed"] == pytest.approx(timedelta(seconds=300), abs=timedelta(seconds=1))
    assert seen["pulled"] == [(MOTION, "Initialized", False), (MOTION, "Changed", True)]
    assert seen["too_long"] == ["InvalidArgVal"]


def _topic_filter(path: str) -> Any:
    element = etree.Element(
        "{http://docs.oasis-open.org/wsn/b-2}TopicExpression",
        Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet",
        nsmap={"wsnt": "http://docs.oasis-open.org/wsn/b-2", "tns1": "http://www.onvif.org/ver10/topics"},
    )
    element.text = path
    return element
