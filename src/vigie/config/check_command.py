"""`vigie config check FILE`: validate a configuration file without starting anything or writing anything."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from vigie.config.issues import ConfigError, format_issues
from vigie.config.loader import ExtraCheck, config_warnings, load_config
from vigie.config.signage import unsigned_cameras

EXIT_OK = 0
EXIT_INVALID = 2


def check_command(
    path: Path, stdout: TextIO | None = None, stderr: TextIO | None = None, checks: Sequence[ExtraCheck] = ()
) -> int:
    """Print ``OK: N communes, M cameras`` to stdout and return 0, or print every issue to stderr, one
    ``FILE:LINE:COL: field: message (hint: ...)`` per line, and return 2. A valid file may still draw warnings,
    printed to stderr as ``warning: FILE:LINE:COL: ...`` (exit 0): each camera covered by no signage record, which
    the service will not commission (L7).

    Only reads ``path``; never writes to disk, never connects to a camera or a database.
    """
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    try:
        config = load_config(path, checks)
    except ConfigError as error:
        print(format_issues(error.issues), file=err)
        return EXIT_INVALID
    for warning in config_warnings(path, config, [unsigned_cameras]):
        print(f"warning: {warning.format()}", file=err)
    print(f"OK: {len(config.communes)} communes, {config.camera_count} cameras", file=out)
    return EXIT_OK
