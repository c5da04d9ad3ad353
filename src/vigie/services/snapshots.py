"""An alert's image: the recorded frame at the moment the alert was raised, for the person who decides it.

Nothing is stored for it: the image comes from the recording, so it lives exactly as long as the footage does
(retention, L3–L5) and carries its privacy masks (L6). Seeing it is seeing recorded video: it needs the
``playback`` permission (authorisation and training, L8–L9) besides the alert's own visibility, and every image
shown is in the audit log as a playback of one instant. No image of a camera whose prefectoral authorisation is
not in force today (L1): refused (403, audited).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from vigie.domain.audit import AuditAction, AuditEvent, format_time
from vigie.domain.ports import AuditSink
from vigie.domain.recording import SegmentIndex, SegmentStore
from vigie.domain.users import Permission
from vigie.governance.authorisation import CameraAuthorisations
from vigie.recording.snapshot import SnapshotError, still_at
from vigie.services.access import Principal
from vigie.services.alerts import AlertService
from vigie.services.cameras import require_authorised

__all__ = ["NoSnapshotError", "SnapshotService"]


class NoSnapshotError(LookupError):
    """No recorded image for that moment (not recorded, already deleted, or unreadable)."""


class SnapshotService:
    def __init__(
        self, alerts: AlertService, index: SegmentIndex, store: SegmentStore, audit: AuditSink, *,
        clock: Callable[[], datetime], authorisations: CameraAuthorisations | None = None,
    ) -> None:  # fmt: skip
        self._authorisations = authorisations
        self._alerts = alerts
        self._index = index
        self._store = store
        self._audit = audit
        self._clock = clock

    def for_alert(self, viewer: Principal, alert_id: int) -> bytes:
        """JPEG of the recorded frame at the alert's time; raise :class:`NoSnapshotError` when there is none."""
        alert = self._alerts.get_for(viewer, alert_id)
        viewer.require(Permission.PLAYBACK)
        require_authorised(self._authorisations, alert.camera_id, f"the image of alert {alert_id}")
        self._audit.append(
            AuditEvent(
                viewer.actor,
                AuditAction.PLAYBACK,
                alert.camera_id,
                {"alert": alert_id, "still": format_time(alert.at)},
                at=self._clock(),
            )
        )
        margin = timedelta(seconds=1)
        segments = [
            s
            for s in self._index.between(alert.camera_id, alert.at - margin, alert.at + margin)
            if s.start <= alert.at < s.end
        ]
        if not segments:
            raise NoSnapshotError(f"nothing recorded at the time of alert {alert_id} (or it has been deleted)")
        segment = segments[0]
        try:
            with self._store.open(segment.key) as source:
                return still_at(source, (alert.at - segment.start).total_seconds())
        except (OSError, SnapshotError) as err:
            raise NoSnapshotError(f"the recording of alert {alert_id} cannot be read: {err}") from err
