"""``python -m vigie.cli``: the ``vigie`` command without its console script (the tests and benches use it)."""

import sys

from vigie.cli import main

sys.exit(main())
