"""What ``vigie serve`` does with the sensors' readings (issue 21): totals per time bucket, and the link rules of
the configuration carried out and audited.

**Statistics, nothing else.** A reading is added to the open bucket of its sensor and measure
(:class:`vigie.devices.sensors.statistics.SensorTotals`) and forgotten; closed buckets are written to
``sensor_statistics``. A speed, a direction, a ratio or a presence names no one: these are anonymous statistics.

**Links act on cameras only.** The actions are a closed vocabulary — show cameras on the wall, send a dome to a
preset, bookmark recordings — each an explicit rule of the ``sensors`` section, each triggering one
``sensor.link_triggered`` audit entry (rule, sensor, action, cameras, what was measured, the outcome) and one row of
``sensor_link_events`` (read by the console's live feed and by playback). A sensor never plays a message on a
loudspeaker, never dispatches anyone, never raises an alert: what it triggers is something for a person to look at.
A dome is moved as the system, below every person: never while a person drives it or it follows a target a person
designated.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from vigie.config.sensors import Bookmark, GotoPreset, SensorLink, SensorsSettings, ShowOnWall, link_cameras
from vigie.devices.sensors.links import LinkRules, Reading, measured
from vigie.devices.sensors.statistics import SensorTotals
from vigie.domain.audit import AuditAction, AuditEvent, format_time
from vigie.domain.ports import AuditSink
from vigie.domain.sensors import SensorLinkEvent, SensorLinkEventRepo, SensorStatistic, SensorStatisticsRepo
from vigie.domain.users import Permission
from vigie.services.access import NotVisibleError, Principal
from vigie.services.events import InvalidQuery
from vigie.services.ptz import PtzService

log = logging.getLogger(__name__)

ACTOR_PREFIX = "sensor-link:"
"""The audit actor of a link rule: ``sensor-link:<rule id>``."""
DONE = "done"
MAX_BOOKMARK_RANGE = timedelta(days=7)
MAX_BOOKMARKS = 1000
"""Bookmarks listed per request, at most (the first ones of the range)."""
MAX_WAITING = 10_000
"""Closed buckets kept while the database refuses them, at most (the oldest are dropped first)."""


class SensorLinkService:
    """Carries out the link rules a reading triggers (see the module docstring)."""

    def __init__(
        self,
        links: Sequence[SensorLink],
        audit: AuditSink,
        events: SensorLinkEventRepo,
        clock: Callable[[], datetime],
        *,
        ptz: PtzService | None = None,
    ) -> None:
        self._rules = LinkRules(links)
        self._audit, self._events, self._clock, self._ptz = audit, events, clock, ptz
        self.triggered: Counter[str] = Counter({link.id: 0 for link in links})
        """Triggerings per rule id (the metrics)."""

    def handle(self, reading: Reading, now: datetime) -> list[SensorLinkEvent]:
        """Carry out the rules ``reading`` triggers at ``now``; what each did."""
        return [self._carry_out(link, reading, now) for link in self._rules.triggered(reading, now)]

    def recent(self, *, camera_id: str | None = None, after_id: int = 0, limit: int = 100) -> list[SensorLinkEvent]:
        return self._events.list(camera_id=camera_id, after_id=after_id, limit=limit)

    def bookmarks_for(self, viewer: Principal, camera_id: str, start: datetime, end: datetime) -> list[SensorLinkEvent]:
        """The bookmarks the link rules put on ``camera_id``'s recordings in [start, end) (at most a week), for a
        person who may play it back. Audited as the timeline is (a ``search`` of resource ``bookmarks``; a camera
        the person may not see, ``access.denied``): a bookmark is no footage and names no one, but it says when
        something happened in front of a camera — metadata of the recordings, whose every read is traced (L11)."""
        viewer.require(Permission.PLAYBACK)
        if not viewer.sees_camera(camera_id):
            self._audit.append(
                AuditEvent(
                    viewer.actor,
                    AuditAction.ACCESS_DENIED,
                    camera_id,
                    {"resource": "bookmarks", "reason": "camera not among those this person may see"},
                )
            )
            raise NotVisibleError(f"no camera {camera_id!r} among the cameras you may see")
        if not start < end or end - start > MAX_BOOKMARK_RANGE:
            raise InvalidQuery("a bookmark range ends after it starts and spans at most 7 days")
        found = self._events.list(camera_id=camera_id, action="bookmark", start=start, end=end, limit=MAX_BOOKMARKS)
        self._audit.append(
            AuditEvent(
                viewer.actor,
                AuditAction.SEARCH,
                camera_id,
                {
                    "resource": "bookmarks",
                    "start": format_time(start),
                    "end": format_time(end),
                    "bookmarks": len(found),
                },
            )
        )
        return found

    def newest_id(self) -> int:
        """The id of the latest link event (0: none): the feed sends what comes after."""
        return self._events.newest_id()

    def _carry_out(self, link: SensorLink, reading: Reading, now: datetime) -> SensorLinkEvent:
        action = link.then
        actor = f"{ACTOR_PREFIX}{link.id}"
        label = ""
        outcome = DONE
        details: dict[str, object] = {}
        if isinstance(action, Bookmark):
            label = action.label
        elif isinstance(action, ShowOnWall):
            label = f"{reading.sensor}: {link.when.kind}"
        elif isinstance(action, GotoPreset):
            label = f"preset {action.preset}"
            details["preset"] = action.preset
            outcome = self._goto_preset(action, actor, link)
        self.triggered[link.id] += 1
        details |= {
            "rule": link.id,
            "sensor": reading.sensor,
            "condition": link.when.kind,
            "measured": measured(reading),
            "observed_at": reading.observed_at.isoformat(),
            "action": action.kind,
            "cameras": list(link_cameras(link)),
            "outcome": outcome,
        }
        if label:
            details["label"] = label
        # the audit first: what was done is traced even when its record for the feed and playback cannot be written
        self._audit.append(AuditEvent(actor, AuditAction.SENSOR_LINK_TRIGGERED, f"sensor:{reading.sensor}", details))
        event = self._events.add(
            SensorLinkEvent(
                link.id, reading.sensor, action.kind, link_cameras(link), label, now, reading.observed_at, outcome
            )
        )
        log.info(
            "sensors: link %s triggered by %s (%s on %s): %s",
            link.id,
            reading.sensor,
            action.kind,
            ", ".join(link_cameras(link)),
            outcome,
        )
        return event

    def _goto_preset(self, action: GotoPreset, actor: str, link: SensorLink) -> str:
        if self._ptz is None:
            return "not done: no dome is driven by this process"
        try:
            return self._ptz.system_preset(action.camera, action.preset, actor, {"rule": link.id})
        except Exception as err:  # a dome that does not answer: the link is recorded with why
            log.warning("sensors: link %s could not move %s: %s", link.id, action.camera, err)
            return f"failed: {str(err)[:200]}"


class SensorReadings:
    """The subscriber's handler: each reading counted in its bucket and given to the link rules; closed buckets
    written at each tick, the open ones at the stop."""

    def __init__(
        self,
        settings: SensorsSettings,
        statistics: SensorStatisticsRepo,
        links: SensorLinkService,
    ) -> None:
        self._totals = SensorTotals(settings.bucket_s, settings.min_count)
        self._statistics, self.links = statistics, links
        self._waiting: list[SensorStatistic] = []
        """Closed buckets not yet written (the database refused them): written at the next tick."""
        self.stored = 0
        """Buckets written since the start (the metrics)."""
        self._failing = False

    def reading(self, reading: Reading, received_at: datetime) -> None:
        self._waiting += self._totals.add(reading, received_at)
        self.links.handle(reading, received_at)

    def tick(self, now: datetime) -> None:
        self._waiting += self._totals.closed(now)
        self._write()

    def close(self) -> None:
        self._waiting += self._totals.all()
        self._write()

    def _write(self) -> None:
        if not self._waiting:
            return
        waiting, self._waiting = self._waiting, []
        try:
            self._statistics.add_many(waiting)
        except Exception as err:  # the database away: kept (bounded) and written at a later tick
            self._waiting = (waiting + self._waiting)[-MAX_WAITING:]
            if not self._failing:
                log.warning(
                    "sensors: %d statistics bucket(s) not written (%s); tried again every second",
                    len(self._waiting),
                    type(err).__name__,
                )
            self._failing = True
            return
        if self._failing:
            log.info("sensors: statistics written again")
        self._failing = False
        self.stored += len(waiting)
