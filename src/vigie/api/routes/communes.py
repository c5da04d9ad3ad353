"""Tenants (communes, inter-communal bodies, state services) and their sites, as the caller may see them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from vigie.api.schemas import CommuneOut
from vigie.api.security import CurrentPrincipal
from vigie.domain.users import Permission

router = APIRouter(prefix="/api/communes", tags=["communes"])


@router.get("", response_model=list[CommuneOut], summary="Your tenant and those sharing cameras with it")
def list_communes(
    principal: CurrentPrincipal,
    every: Annotated[
        bool,
        Query(
            alias="all",
            description="every tenant of the installation (names only for those you do not see): the partners an "
            "agreement may name",
        ),
    ] = False,
) -> list[CommuneOut]:
    principal.require(Permission.VIEW_CAMERAS)
    return [
        CommuneOut(
            id=c.id,
            name=c.name,
            kind=c.kind,
            sites=list(c.sites) if principal.sees_commune(c.id) else [],
            own=c.id == principal.user.commune_id,
        )
        for c in principal.directory.communes
        if every or principal.sees_commune(c.id)
    ]
