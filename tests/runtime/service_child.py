"""The real service, started in a child process and left running until the test kills it (``kill -9``): what a
crash, the OOM killer or a power cut look like to the next start. Run as
``python -m tests.runtime.service_child CONFIG START CAMERA``."""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta
from pathlib import Path


class RunningClock:
    """The test's instant ``start``, moving on with the monotonic clock (shared by every process of the host, so
    the service and its workers agree): times far from the host's day, still moving."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.origin = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.origin)


def main(config_path: str, start: str, camera_id: str) -> None:
    from vigie.config import load_config
    from vigie.runtime.assembly.service import VigieService

    clock = RunningClock(datetime.fromisoformat(start))
    service = VigieService(load_config(Path(config_path)), simulated_cameras=frozenset({camera_id}), clock=clock)
    service.start()
    print("started", flush=True)
    while True:
        time.sleep(1.0)


if __name__ == "__main__":
    from tests.runtime.service_child import main as run  # its RunningClock, not __main__'s: workers import it

    run(*sys.argv[1:])
