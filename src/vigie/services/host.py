"""What a process knows of the others on its host."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

__all__ = ["process_exists", "runner_gone"]


def process_exists(pid: int) -> bool:
    """Whether a process with this id runs on this host (it may belong to another user)."""
    try:
        os.kill(pid, 0)  # signal 0: nothing is sent, only whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def runner_gone(runner: str, heartbeat_at: datetime | None, now: datetime, stale_after: timedelta) -> bool:
    """Whether the process named ``runner`` (``host:pid:…``, as the job stores write it) has stopped: silent for
    ``stale_after``, or, on this host, no process of that id (or this very process, which holds no such job)."""
    if heartbeat_at is None or now - heartbeat_at > stale_after:
        return True
    host, _, rest = runner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname()[:80] or not pid.isdigit():
        return False  # another host: only its silence tells
    return int(pid) == os.getpid() or not process_exists(int(pid))
