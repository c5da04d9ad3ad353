"""Recording: the segment writer, retention as pure predicates, holds and the purge job (L3–L5).

Imports only ``vigie.domain`` and ``vigie.config``; the SQL index and the byte stores it works on are in
``vigie.storage`` and are handed in by the composition root (``vigie.runtime``).
"""
