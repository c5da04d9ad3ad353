"""Re-enabling a webhook endpoint over the API (issue 21), as ``vigie webhooks enable`` does: only an administrator
(``manage_integrations``) of a commune the endpoint receives messages of; audited with their name; an endpoint not
disabled at its URL is a conflict; a refusal is audited and changes nothing. (Deliveries resuming against a real
receiver: tests/runtime/test_webhooks_admin.py.)"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.api.world import World, build_world
from tests.support.clocks import T0
from vigie.devices.webhooks.sender import url_digest
from vigie.domain.audit import AuditAction
from vigie.domain.webhooks import DisabledEndpoint
from vigie.storage.webhooks import SqlWebhookDeliveries

DISPATCH_URL = "https://dispatch.example/hooks/vigie?token=t"


@pytest.fixture
def world(db: Engine) -> World:
    return build_world(db)


def test_an_administrator_re_enables_an_endpoint_of_their_commune(world: World) -> None:
    store = SqlWebhookDeliveries(world.engine)
    store.disable(DisabledEndpoint("police-vil", url_digest(DISPATCH_URL), T0, "the receiver answered 410 Gone"))
    store.disable(DisabledEndpoint("bron-pm", url_digest("https://bron.example/hooks"), T0, "410"))
    operator = world.login("op.vil")
    refused = operator.post("/api/webhooks/police-vil/enable")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert store.disabled("police-vil") is not None, "an operator's refusal changes nothing"
    admin = world.login("admin.vil")
    assert admin.post("/api/webhooks/bron-pm/enable").status_code == 404, "Bron's endpoint: not Villeurbanne's"
    assert store.disabled("bron-pm") is not None
    assert admin.post("/api/webhooks/nowhere/enable").status_code == 404
    done = admin.post("/api/webhooks/police-vil/enable")
    assert done.status_code == 200, done.text
    assert done.json()["url"] == "https://dispatch.example/hooks/vigie", "never the query string (a token)"
    assert done.json()["reason"] == "the receiver answered 410 Gone"
    assert store.disabled("police-vil") is None
    again = admin.post("/api/webhooks/police-vil/enable")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_disabled"
    assert admin.post("/api/webhooks/metro/enable").status_code == 409, "never disabled"
    [enabled] = [e for e in world.audit.events if e.action is AuditAction.WEBHOOK_ENABLED]
    assert enabled.actor == "admin.vil" and enabled.target == "webhook:police-vil"
    assert "token" not in str(enabled.details)
    denied = [e for e in world.audit.events if e.action is AuditAction.ACCESS_DENIED and e.actor == "op.vil"]
    assert denied, "the operator's refusal is audited"


def test_a_410_at_an_earlier_url_is_nothing_to_re_enable(world: World) -> None:
    store = SqlWebhookDeliveries(world.engine)
    store.disable(DisabledEndpoint("police-vil", url_digest("https://old.example/hooks"), T0, "410"))
    answer = world.login("admin.vil").post("/api/webhooks/police-vil/enable")
    assert answer.status_code == 409 and "not disabled at its url" in answer.json()["error"]["message"]
