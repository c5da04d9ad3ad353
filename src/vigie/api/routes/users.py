"""Accounts and sharing agreements of the caller's tenant (administrators only; L8–L10, L17).

A new account's TOTP URI (administrators and DPOs) is in the creation answer only: it is never shown again.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Request

from vigie.api.schemas import AgreementIn, AgreementOut, NewUserOut, RoleOut, UserIn, UserOut, UserPatchIn
from vigie.api.security import CurrentPrincipal, auth_service
from vigie.domain.users import (
    ROLE_PERMISSIONS,
    SECOND_FACTOR_ROLES,
    VIDEO_ROLES,
    Permission,
    Role,
    SharingAgreement,
    User,
)

router = APIRouter(tags=["users"])


def user_out(user: User, now_locked: bool = False) -> UserOut:
    return UserOut(
        username=user.username,
        display_name=user.display_name,
        commune_id=user.commune_id,
        roles=sorted(r.value for r in user.roles),
        authorised_until=user.authorised_until,
        trained_on=user.trained_on,
        second_factor=user.totp_secret is not None,
        disabled=user.disabled,
        locked=now_locked,
    )


def agreement_out(a: SharingAgreement, today: date) -> AgreementOut:
    return AgreementOut(
        id=a.id or 0,
        owner_commune=a.owner_commune,
        partner_commune=a.partner_commune,
        reference=a.reference,
        starts_on=a.starts_on,
        ends_on=a.ends_on,
        recorded_by=a.recorded_by,
        revoked=a.revoked_at is not None,
        in_force=a.in_force(today),
    )


@router.get("/api/users", response_model=list[UserOut], summary="Accounts of your tenant")
def list_users(request: Request, principal: CurrentPrincipal) -> list[UserOut]:
    service = auth_service(request)
    return [user_out(u, service.is_locked(u)) for u in service.users(principal)]


@router.post("/api/users", response_model=NewUserOut, status_code=201, summary="Create an account in your tenant")
def create_user(request: Request, principal: CurrentPrincipal, body: UserIn) -> NewUserOut:
    created = auth_service(request).add_user(
        principal,
        username=body.username,
        display_name=body.display_name,
        commune_id=principal.user.commune_id,
        roles=[Role(r) for r in body.roles],
        password=body.password,
        authorised_until=body.authorised_until,
        trained_on=body.trained_on,
    )
    return NewUserOut(user=user_out(created.user), totp_uri=created.totp_uri)


@router.patch("/api/users/{username}", response_model=UserOut, summary="Authorisation, training, disable, unlock")
def update_user(
    request: Request,
    principal: CurrentPrincipal,
    username: Annotated[str, Path(max_length=64)],
    body: UserPatchIn,
) -> UserOut:
    service = auth_service(request)
    user = service.update_user(
        principal,
        username,
        authorised_until=body.authorised_until,
        trained_on=body.trained_on,
        disabled=body.disabled,
        unlock=body.unlock,
    )
    return user_out(user, service.is_locked(user))


@router.get("/api/sharing-agreements", response_model=list[AgreementOut], summary="Agreements involving your tenant")
def list_agreements(request: Request, principal: CurrentPrincipal) -> list[AgreementOut]:
    principal.require(Permission.READ_GOVERNANCE)
    service = auth_service(request)
    mine = principal.user.commune_id
    today = service.today()
    return [agreement_out(a, today) for a in service.agreements() if mine in {a.owner_commune, a.partner_commune}]


@router.post(
    "/api/sharing-agreements",
    response_model=AgreementOut,
    status_code=201,
    summary="Share your tenant's cameras with another tenant (L10)",
)
def record_agreement(request: Request, principal: CurrentPrincipal, body: AgreementIn) -> AgreementOut:
    service = auth_service(request)
    agreement = service.record_agreement(
        principal,
        partner_commune=body.partner_commune,
        reference=body.reference,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
    )
    return agreement_out(agreement, service.today())


@router.post(
    "/api/sharing-agreements/{agreement_id}/revoke", response_model=AgreementOut, summary="End a sharing agreement"
)
def revoke_agreement(
    request: Request, principal: CurrentPrincipal, agreement_id: Annotated[int, Path(ge=1, le=2**62)]
) -> AgreementOut:
    service = auth_service(request)
    return agreement_out(service.revoke_agreement(principal, agreement_id), service.today())


@router.get("/api/roles", response_model=list[RoleOut], summary="The roles and what each one allows")
def list_roles(principal: CurrentPrincipal) -> list[RoleOut]:
    """The closed vocabulary of roles (any logged-in person may read it: it is how the console explains why a
    button is absent)."""
    return [
        RoleOut(
            role=role.value,
            permissions=sorted(p.value for p in ROLE_PERMISSIONS[role]),
            second_factor=role in SECOND_FACTOR_ROLES,
            video=role in VIDEO_ROLES,
        )
        for role in Role
    ]
