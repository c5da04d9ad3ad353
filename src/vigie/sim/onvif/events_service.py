"""The Event service (``tev``): topic properties, PullPoint subscriptions, pulling, renewing, unsubscribing.

A subscription's address is ``/onvif/subscription/<id>`` on the device's port; PullMessages,
SetSynchronizationPoint, Renew and Unsubscribe are posted there (the PullPoint and the subscription manager of
one subscription share the address, as on most cameras). PullMessages waits up to its Timeout for a message, so
a client gets an event within milliseconds of the camera raising it, without polling.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Final

from lxml import etree  # type: ignore[import-untyped]  # no stubs in the lock

from vigie.sim.onvif.broker import EventMessage, SimTopic, Subscription, SubscriptionLimitError, topics_matching
from vigie.sim.onvif.device import SUBSCRIPTION_PATH, Handler, SimDevice, tt
from vigie.sim.onvif.device_service import service_capabilities
from vigie.sim.onvif.soap import (
    NSMAP,
    TEV,
    TEV_,
    TNS1,
    TT_,
    WSA_,
    WSNT,
    WSNT_,
    WSTOP,
    absolute_or_relative,
    parse_xs_duration,
    receiver_fault,
    required_text,
    sender_fault,
    xs_datetime,
)

DEFAULT_TERMINATION: Final = timedelta(minutes=1)
"""A subscription without InitialTerminationTime lives this long unless renewed."""
MAX_TERMINATION: Final = timedelta(hours=1)
"""The longest a subscription or a renewal may ask for (a longer request is shortened to it)."""
MAX_PULL_TIMEOUT: Final = timedelta(minutes=2)
MAX_MESSAGE_LIMIT: Final = 1000

CONCRETE_SET: Final = "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet"
CONCRETE: Final = "http://docs.oasis-open.org/wsn/t-1/TopicExpression/Concrete"
ITEM_FILTER: Final = "http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter"

_SOURCE_TYPES: Final = {"Rule": "xs:string"}


def _description(device: SimDevice, topic: SimTopic) -> etree._Element:
    source = TT_.Source()
    for name, _ in device.broker.source_items(topic):
        source.append(TT_.SimpleItemDescription(Name=name, Type=_SOURCE_TYPES.get(name, "tt:ReferenceToken")))
    data = TT_.Data(TT_.SimpleItemDescription(Name=topic.data_name, Type="xs:boolean"))
    return TT_.MessageDescription(source, data, IsProperty="true")


def _topic_set(device: SimDevice) -> etree._Element:
    topic_set = etree.Element(f"{{{WSTOP}}}TopicSet", nsmap=NSMAP)
    for topic in SimTopic:
        parent = topic_set
        for part in topic.path.removeprefix("tns1:").split("/"):
            found = parent.find(f"{{{TNS1}}}{part}")
            parent = found if found is not None else etree.SubElement(parent, f"{{{TNS1}}}{part}")
        parent.set(f"{{{WSTOP}}}topic", "true")
        parent.append(_description(device, topic))
    return topic_set


async def get_event_properties(device: SimDevice, request: etree._Element) -> etree._Element:
    return TEV_.GetEventPropertiesResponse(
        TEV_.TopicNamespaceLocation("http://www.onvif.org/onvif/ver10/topics/topicns.xml"),
        WSNT_.FixedTopicSet("true"),
        _topic_set(device),
        WSNT_.TopicExpressionDialect(CONCRETE_SET),
        WSNT_.TopicExpressionDialect(CONCRETE),
        TEV_.MessageContentFilterDialect(ITEM_FILTER),
        TEV_.MessageContentSchemaLocation("http://www.onvif.org/onvif/ver10/schema/onvif.xsd"),
    )


def _termination(device: SimDevice, value: str | None) -> tuple[str, str]:
    now = device.clock()
    until = now + DEFAULT_TERMINATION if value is None else absolute_or_relative(value, now)
    if until <= now:
        raise sender_fault("InvalidArgVal", "InvalidTerminationTime", reason=f"termination time {value} is past")
    return xs_datetime(now), xs_datetime(min(until, now + MAX_TERMINATION))


async def create_pull_point_subscription(device: SimDevice, request: etree._Element) -> etree._Element:
    expression = request.find(f"{{{TEV}}}Filter/{{{WSNT}}}TopicExpression")
    topics = topics_matching(None if expression is None else expression.text)
    if not topics:
        raise sender_fault("InvalidArgVal", "InvalidFilterFault", reason="the topic filter selects no topic")
    initial = request.findtext(f"{{{TEV}}}InitialTerminationTime")
    now_text, until_text = _termination(device, initial.strip() if initial else None)
    try:
        subscription = device.broker.subscribe(absolute_or_relative(until_text, device.clock()), topics)
    except SubscriptionLimitError as error:
        raise receiver_fault("Action", "TooManySubscriptions", reason=str(error)) from None
    address = f"{device.base_url}{SUBSCRIPTION_PATH}{subscription.ident}"
    return TEV_.CreatePullPointSubscriptionResponse(
        TEV_.SubscriptionReference(WSA_.Address(address)),
        WSNT_.CurrentTime(now_text),
        WSNT_.TerminationTime(until_text),
    )


def _notification(message: EventMessage) -> etree._Element:
    body = etree.Element(tt("Message"), UtcTime=xs_datetime(message.utc_time), nsmap=NSMAP)
    body.set("PropertyOperation", message.operation)
    body.append(TT_.Source(*(TT_.SimpleItem(Name=n, Value=v) for n, v in message.source)))
    body.append(TT_.Data(*(TT_.SimpleItem(Name=n, Value=v) for n, v in message.data)))
    return WSNT_.NotificationMessage(
        WSNT_.Topic(message.topic.path, Dialect=CONCRETE_SET),
        WSNT_.Message(body),
    )


def _subscription(device: SimDevice, ident: str) -> Subscription:
    subscription = device.broker.get(ident)
    if subscription is None:
        raise sender_fault(
            "InvalidArgVal", "ResourceUnknown", reason=f"no subscription {ident!r} (unsubscribed or expired)"
        )
    return subscription


async def pull_messages(device: SimDevice, ident: str, request: etree._Element) -> etree._Element:
    subscription = _subscription(device, ident)
    timeout = parse_xs_duration(required_text(request, TEV, "Timeout"))
    limit_text = required_text(request, TEV, "MessageLimit")
    try:
        limit = int(limit_text)
    except ValueError:
        raise sender_fault("InvalidArgVal", reason=f"MessageLimit {limit_text!r} is not an integer") from None
    if timeout > MAX_PULL_TIMEOUT or limit > MAX_MESSAGE_LIMIT or limit < 1 or timeout.total_seconds() < 0:
        raise sender_fault(
            "InvalidArgVal",
            reason=f"PullMessages accepts a Timeout up to {MAX_PULL_TIMEOUT} and a MessageLimit of 1 to "
            f"{MAX_MESSAGE_LIMIT}",
            detail=TEV_.PullMessagesFaultResponse(
                TEV_.MaxTimeout(f"PT{MAX_PULL_TIMEOUT.total_seconds():g}S"),
                TEV_.MaxMessageLimit(str(MAX_MESSAGE_LIMIT)),
            ),
        )
    if not subscription.queue:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(subscription.arrived.wait(), timeout.total_seconds())
    messages = subscription.take(limit)
    response = TEV_.PullMessagesResponse(
        TEV_.CurrentTime(xs_datetime(device.clock())), TEV_.TerminationTime(xs_datetime(subscription.termination))
    )
    response.extend(_notification(m) for m in messages)
    return response


async def set_synchronization_point(device: SimDevice, ident: str, request: etree._Element) -> etree._Element:
    device.broker.synchronize(_subscription(device, ident))
    return TEV_.SetSynchronizationPointResponse()


async def renew(device: SimDevice, ident: str, request: etree._Element) -> etree._Element:
    subscription = _subscription(device, ident)
    now_text, until_text = _termination(device, required_text(request, WSNT, "TerminationTime"))
    subscription.termination = absolute_or_relative(until_text, device.clock())
    return WSNT_.RenewResponse(WSNT_.TerminationTime(until_text), WSNT_.CurrentTime(now_text))


async def unsubscribe(device: SimDevice, ident: str, request: etree._Element) -> etree._Element:
    if not device.broker.unsubscribe(ident):
        raise sender_fault("InvalidArgVal", "ResourceUnknown", reason=f"no subscription {ident!r}")
    return WSNT_.UnsubscribeResponse()


async def get_service_capabilities(device: SimDevice, request: etree._Element) -> etree._Element:
    return TEV_.GetServiceCapabilitiesResponse(service_capabilities(device, TEV))


OPERATIONS: Final[dict[str, Handler]] = {
    "GetEventProperties": get_event_properties,
    "CreatePullPointSubscription": create_pull_point_subscription,
    "GetServiceCapabilities": get_service_capabilities,
}

SubscriptionHandler = Callable[[SimDevice, str, etree._Element], Awaitable[etree._Element]]

SUBSCRIPTION_OPERATIONS: Final[dict[tuple[str, str], SubscriptionHandler]] = {
    (TEV, "PullMessages"): pull_messages,
    (TEV, "SetSynchronizationPoint"): set_synchronization_point,
    (WSNT, "Renew"): renew,
    (WSNT, "Unsubscribe"): unsubscribe,
}
