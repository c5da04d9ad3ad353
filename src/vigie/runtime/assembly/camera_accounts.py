"""Camera accounts from the credentials store into the stream URLs the service opens
(:mod:`vigie.governance.camera_credentials`): the configuration names an account, the password never is in it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from vigie.config.models import CameraPlacement, VigieConfig
from vigie.governance.camera_credentials import CameraAccount, CameraCredentialStore, with_account
from vigie.runtime.assembly.audit import keys_folder


class CameraAccountError(Exception):
    """Cameras name accounts the store does not hold; the message names them and the command that adds them."""


def camera_accounts(config: VigieConfig, placements: Sequence[CameraPlacement]) -> dict[str, CameraAccount]:
    """The accounts the cameras of ``placements`` name, by name (the store is read only when one names an account);
    :class:`CameraAccountError` naming those the store lacks."""
    named = {p.camera.credentials for p in placements if p.camera.credentials}
    if not named:
        return {}
    accounts = CameraCredentialStore(keys_folder(config)).accounts()
    missing = sorted(str(name) for name in named - accounts.keys())
    if missing:
        raise CameraAccountError(
            f"the configuration names camera accounts the credentials store does not hold: {', '.join(missing)}; "
            "add each with `vigie cameras credentials set NAME --username USER --config FILE` (the password is asked)"
        )
    return {name: accounts[name] for name in named if name}


def with_camera_accounts(
    placements: Sequence[CameraPlacement], accounts: Mapping[str, CameraAccount]
) -> list[CameraPlacement]:
    """``placements`` with each named account (of :func:`camera_accounts`) put into its camera's stream URLs."""
    out = []
    for p in placements:
        name = p.camera.credentials
        if name:
            account = accounts[name]
            sub = p.camera.sub_stream
            camera = p.camera.model_copy(
                update={
                    "main_stream": with_account(p.camera.main_stream, account),
                    "sub_stream": with_account(sub, account) if sub else None,
                }
            )
            p = replace(p, camera=camera)  # noqa: PLW2901 (the placement with the account in its URLs)
        out.append(p)
    return out
