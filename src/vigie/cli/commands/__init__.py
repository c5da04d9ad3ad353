"""What the commands do, imported by the handlers of :mod:`vigie.cli` when a command runs (never for ``--help``):
the opened configuration, database and audit chain (:mod:`.context`), the signed-in account (:mod:`.session`),
and one module per command family."""
