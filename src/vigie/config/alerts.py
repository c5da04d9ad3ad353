"""The ``alerts`` section: how urgent each analysis module's alerts are in the operators' queue (issue 24).

A priority only orders what a person looks at first in the console's alarm pop-up; it never acts and never sends
anything (L28). Absent, the built-in priorities of :data:`vigie.domain.alerts.DEFAULT_PRIORITIES` apply: weapon and
fire start critical; person on the ground, crowd movement, intrusion, abandoned object and plate reading high;
every other module normal. Module ids are checked against the legal catalogue when the service starts.
"""

from __future__ import annotations

from pydantic import Field

from vigie.config.camera import ModuleId
from vigie.config.fields import ConfigModel
from vigie.domain.alerts import AlertPriorities, AlertPriority


class AlertSettings(ConfigModel):
    """The priority of alerts in the operators' queue, per analysis module."""

    priorities: dict[ModuleId, AlertPriority] = Field(
        default_factory=dict,
        title="Priorities",
        description="Priority (critical, high, normal or low) of the alerts of each named analysis module, e.g. "
        "`{intrusion: critical, loitering: low}`; a module not named keeps its built-in priority.",
    )
    default_priority: AlertPriority = Field(
        default=AlertPriority.NORMAL,
        title="Default priority",
        description="Priority of the alerts of a module that has neither a priority here nor a built-in one.",
    )

    def policy(self) -> AlertPriorities:
        return AlertPriorities(dict(self.priorities), self.default_priority)
