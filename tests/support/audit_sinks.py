"""An audit sink for tests of the services that trace (the chain itself is tested in tests/governance)."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.support.clocks import T0
from vigie.domain.audit import GENESIS_HASH, AuditEvent, AuditRecord, seal


@dataclass
class ListAudit:
    """Keeps every event it is given, and the record the real chain would make of it (sealed, chained; an event
    without a time of its own is sealed at :data:`T0`, never at the host's time)."""

    events: list[AuditEvent] = field(default_factory=list)
    records: list[AuditRecord] = field(default_factory=list)

    def append(self, event: AuditEvent) -> AuditRecord:
        prev = self.records[-1].hash if self.records else GENESIS_HASH
        record = seal(len(self.records) + 1, event, event.at or T0, prev)
        self.events.append(event)
        self.records.append(record)
        return record

    def actions(self) -> list[str]:
        return [r.action for r in self.records]
