"""Where each camera's live tap is served in cluster mode (issue 17): the control plane records a recording group's
relay when the group is placed or moves, and clears it when its node is lost; what one process writes, another
reads. Both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from vigie.domain.live_endpoint import LiveEndpoint
from vigie.storage.live_endpoints import SqlLiveEndpoints
from vigie.storage.tables import CAMERA_ID_LENGTH

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def test_a_placement_is_read_by_another_process_and_a_move_replaces_it(db: Engine) -> None:
    control_plane, api = SqlLiveEndpoints(db), SqlLiveEndpoints(db)
    assert api.get("cam-1") is None
    control_plane.put("rec-0", ("cam-1", "cam-2"), "10.0.0.5", 7460, T0)
    assert api.get("cam-1") == LiveEndpoint("cam-1", "10.0.0.5", 7460, "rec-0", T0)
    assert api.get("cam-2") == LiveEndpoint("cam-2", "10.0.0.5", 7460, "rec-0", T0)
    control_plane.put("rec-0", ("cam-1", "cam-2"), "10.0.0.7", 7461, T0 + timedelta(seconds=4))  # moved
    moved = api.get("cam-1")
    assert moved is not None and (moved.authority, moved.since) == ("10.0.0.7:7461", T0 + timedelta(seconds=4))


def test_a_lost_node_clears_its_cameras_but_not_a_newer_placement_by_another_group(db: Engine) -> None:
    endpoints = SqlLiveEndpoints(db)
    endpoints.put("rec-0", ("cam-1", "cam-2"), "10.0.0.5", 7460, T0)
    endpoints.put("rec-1", ("cam-2",), "10.0.0.6", 7460, T0 + timedelta(seconds=1))  # regrouped elsewhere
    assert endpoints.clear(("cam-1", "cam-2"), group="rec-0") == 1
    assert endpoints.get("cam-1") is None
    assert endpoints.get("cam-2") == LiveEndpoint("cam-2", "10.0.0.6", 7460, "rec-1", T0 + timedelta(seconds=1))
    assert endpoints.clear(("cam-2",)) == 1
    assert endpoints.get("cam-2") is None


def test_ipv6_hosts_and_long_camera_ids_are_kept_as_given(db: Engine) -> None:
    endpoints = SqlLiveEndpoints(db)
    camera = "c" * CAMERA_ID_LENGTH
    endpoints.put("rec-0", (camera,), "fd00::5", 7460, T0)
    found = endpoints.get(camera)
    assert found is not None and found.authority == "[fd00::5]:7460"
