"""People as services see them, for tests that call a service without the API: a :class:`Principal` signed in,
with a session, who may see the cameras given."""

from __future__ import annotations

from collections.abc import Iterable

from vigie.domain.users import Role, User
from vigie.services.access import CommuneInfo, Directory, Principal


def signed_in_viewer(
    camera_ids: Iterable[str],
    *,
    username: str = "op",
    commune: str = "testville",
    roles: Iterable[Role] = (Role.OPERATOR,),
    session_key: str = "session-of-op",
) -> Principal:
    """An operator of ``commune``, which owns ``camera_ids``, authorised and trained (no refusal of video), in the
    session whose key is ``session_key`` (what :meth:`AuthService.resolve` gives for a live session)."""
    user = User(username, username, commune, frozenset(roles), password_hash="")
    directory = Directory((CommuneInfo(commune, commune, "municipal"),), dict.fromkeys(camera_ids, commune))
    return Principal(user, frozenset({commune}), directory, video_refusal=None, session_key=session_key)
