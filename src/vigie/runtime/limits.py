"""The process's open-file limit, raised for ``vigie serve`` and ``vigie api``.

A serve holds a socket per camera subscribed to ONVIF events (4,891 at the reference métropole), the live relays'
connections, segment files, database and broker sockets; Debian's systemd starts services with a soft limit of 1,024
open files (and a hard one of 524,288): the 1,025th would fail with "Too many open files". The soft limit is raised
to the hard one at the start, as Go's runtime does for every program; the hard limit is the administrator's
(``LimitNOFILE=`` in the unit, docs/deployment.md)."""

from __future__ import annotations

import logging
import resource

log = logging.getLogger(__name__)

WANTED = 65_536
"""Enough for the reference customer's cameras several times over; a hard limit below it is taken as it is."""


def raise_open_file_limit() -> int:
    """Raise the soft limit on open files towards the hard one (at most :data:`WANTED`, never lowered); return the
    soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = WANTED if hard == resource.RLIM_INFINITY else min(WANTED, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as err:  # a container that forbids it: said, the service goes on
            log.warning("open-file limit left at %d (could not raise it to %d: %s)", soft, target, err)
            return soft
        log.info("open-file limit raised from %d to %d", soft, target)
        return target
    return soft
