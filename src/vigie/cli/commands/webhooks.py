"""``vigie webhooks enable NAME``: an administrator signed in with ``vigie login`` re-enables an endpoint of their
commune that a ``410 Gone`` answer disabled (:mod:`vigie.services.webhooks`). The act is audited with their name
(``integration.webhook_enabled``), a refusal as ``access.denied``; a running ``vigie serve`` resumes sending to the
endpoint within a second, from the messages written from then on.

Exit codes: 0 re-enabled; 1 refused (not an administrator of one of its communes, no such endpoint, not disabled);
2 the configuration or database cannot be used, or nobody is signed in.
"""

from __future__ import annotations

import sys
from pathlib import Path

from vigie.cli.commands.context import Opened
from vigie.cli.commands.session import EXIT_REFUSED, run_signed_in
from vigie.runtime.assembly.webhooks import open_webhook_administration
from vigie.services.access import Principal
from vigie.services.webhooks import WebhookNotDisabledError


def enable_command(config_path: Path, endpoint: str) -> int:
    def run(context: Opened, admin: Principal) -> int:
        administration = open_webhook_administration(context.config, context.engine, context.audit, context.clock)
        try:
            done = administration.reenable(admin, endpoint)
        except WebhookNotDisabledError as err:
            print(f"vigie: {err}; nothing was changed", file=sys.stderr)
            return EXIT_REFUSED
        print(
            f"re-enabled {done.endpoint} ({done.url}), disabled since {done.disabled_at.isoformat()} ({done.reason}); "
            "vigie serve sends it the messages written from now on"
        )
        return 0

    return run_signed_in(config_path, "vigie webhooks enable", run)
