"""Loudspeakers: the messages and speakers a person may use, and playing a message (issue 21).

Playing is a person's act: the route takes the logged-in person's session (cookie and CSRF header) and the service
checks the session again, the permission ``play_speaker_message``, the message's roles and the speakers' commune.
Every play is audited by the service before any speaker is asked (``speaker.play_ordered``) and after
(``speaker.play_result``); a refusal is audited as ``access.denied``. 503 ``unavailable`` when no speaker took the
order (each one's reason in the message)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from vigie.api.deps import configured
from vigie.api.schemas import RequestModel
from vigie.api.security import CurrentPrincipal
from vigie.services.speakers import MAX_SPEAKERS_PER_PLAY, SpeakerService

router = APIRouter(prefix="/api/speakers", tags=["speakers"])
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")]


def _service(request: Request) -> SpeakerService:
    if getattr(request.app.state.services, "speakers", None) is None:
        raise HTTPException(status_code=503, detail="loudspeakers are not configured on this server")
    return configured(request, "speakers", SpeakerService, "Loudspeakers are")


class MessageOut(BaseModel):
    id: str
    titles: dict[str, str]
    languages: list[str]
    roles: list[str]


class SpeakerOut(BaseModel):
    id: str
    name: str
    zone: str
    cameras: list[str]
    driver: str


class CatalogueOut(BaseModel):
    messages: list[MessageOut]
    speakers: list[SpeakerOut]


class PlayIn(RequestModel):
    """A message of your commune's catalogue, on speakers of your commune; ``alert_id``: the alert it answers."""

    message_id: Id
    speaker_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_SPEAKERS_PER_PLAY)]
    alert_id: Annotated[int, Field(ge=1, le=2**53)] | None = None


class OutcomeOut(BaseModel):
    speaker_id: str
    played: bool
    detail: str


class PlayOut(BaseModel):
    message_id: str
    outcomes: list[OutcomeOut]
    elapsed_ms: float


@router.get("", response_model=CatalogueOut, summary="The messages and speakers you may use")
async def speakers_catalogue(request: Request, principal: CurrentPrincipal) -> CatalogueOut:
    """Empty lists without ``play_speaker_message``; only your commune's messages opened to one of your roles."""
    service = _service(request)
    return CatalogueOut(
        messages=[
            MessageOut(id=m.id, titles=m.titles, languages=list(m.languages), roles=sorted(m.roles))
            for m in service.messages_for(principal)
        ],
        speakers=[
            SpeakerOut(id=s.id, name=s.name, zone=s.zone, cameras=list(s.cameras), driver=s.driver)
            for s in service.speakers_for(principal)
        ],
    )


@router.post(
    "/play",
    response_model=PlayOut,
    summary="Play a pre-recorded message on speakers (a person only; audited)",
    responses={503: {"description": "no speaker took the order: error `unavailable`, each one's reason"}},
)
async def speakers_play(request: Request, principal: CurrentPrincipal, body: PlayIn) -> PlayOut:
    result = await run_in_threadpool(
        _service(request).play, principal, body.message_id, body.speaker_ids, body.alert_id
    )
    return PlayOut(
        message_id=result.message_id,
        outcomes=[OutcomeOut(speaker_id=o.speaker_id, played=o.played, detail=o.detail) for o in result.outcomes],
        elapsed_ms=round(result.elapsed_ms, 3),
    )
