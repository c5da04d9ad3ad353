"""Webhook endpoints (issue 21): an administrator re-enables an endpoint of their commune that a ``410 Gone``
answer disabled, as ``vigie webhooks enable`` does. The service checks ``manage_integrations`` and the commune, and
audits the act (``integration.webhook_enabled``); a refusal is ``access.denied``. 409 ``not_disabled`` when the
endpoint is not disabled at its configured URL."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path, Request
from fastapi.routing import APIRouter
from pydantic import BaseModel, Field

from vigie.api.deps import configured
from vigie.api.security import CurrentPrincipal
from vigie.services.webhooks import WebhookAdministration

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])


class ReenabledOut(BaseModel):
    endpoint: str = Field(description="the endpoint's name in the configuration")
    url: str = Field(description="scheme, host, port and path of the endpoint: never its query string")
    disabled_at: datetime = Field(description="when the receiver had answered 410 Gone")
    reason: str = Field(description="why it was disabled")


@router.post(
    "/{name}/enable",
    response_model=ReenabledOut,
    summary="Re-enable a webhook endpoint of your commune that answered 410 Gone (an administrator; audited)",
    responses={409: {"description": "the endpoint is not disabled at its url: error `not_disabled`"}},
)
def webhook_enable(
    request: Request, principal: CurrentPrincipal, name: Annotated[str, Path(min_length=1, max_length=64)]
) -> ReenabledOut:
    service = configured(request, "webhooks", WebhookAdministration, "webhook endpoints are")
    done = service.reenable(principal, name)
    return ReenabledOut(endpoint=done.endpoint, url=done.url, disabled_at=done.disabled_at, reason=done.reason)
