"""Hit lists at a national size (issue 18): a file of N plates (500,000 by default, a stolen-vehicle export)
parsed and verified, imported, imported again (it replaces the list), and the lookup made for every plate read.

Prints, last lines ``name: value``: seconds to parse and verify, to import, to replace; ms per lookup through
``SqlPlateRepo.hits`` (its session included) and as one bare SQL statement using the (tenant, plate, list) index vs
the same statement forced to scan the table (SQLite's ``NOT INDEXED``), and their ratio.

    .venv/bin/python bench/hit_lists.py [--plates 500000] [--lookups 2000]
    (under flock /work/notes/bench.lock on a shared machine)
"""

from __future__ import annotations

import argparse
import hashlib
import random
import string
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from vigie.domain.plates import HitListImport
from vigie.lpr.hitlists import read_hit_list
from vigie.storage import create_engine_for, migrate
from vigie.storage.plates import SqlPlateRepo

TENANT = "gendarmerie"


def siv_plates(count: int, seed: int = 18) -> list[str]:
    rnd, letters, found = random.Random(seed), "ABCDEFGHJKLMNPQRSTVXYZ", set[str]()
    while len(found) < count:
        found.add(
            f"{rnd.choice(letters)}{rnd.choice(letters)}{rnd.randrange(1, 1000):03d}"
            f"{rnd.choice(letters)}{rnd.choice(letters)}"
        )
    return sorted(found)


def per_lookup_ms(run: Callable[[str], object], plates: list[str]) -> float:
    start = time.perf_counter()
    for plate in plates:
        run(plate)
    return 1000 * (time.perf_counter() - start) / len(plates)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--plates", type=int, default=500_000)
    parser.add_argument("--lookups", type=int, default=2000)
    args = parser.parse_args()
    plates = siv_plates(args.plates)
    data = ("plate\treason\tlist\n" + "".join(f"{p[:2]}-{p[2:5]}-{p[5:]}\tvol\tvoles\n" for p in plates)).encode()
    folder = Path(tempfile.mkdtemp(prefix="vigie-hit-lists-"))
    engine = create_engine_for(f"sqlite:///{folder / 'vigie.db'}")
    migrate(engine)
    repo = SqlPlateRepo(engine)

    start = time.perf_counter()
    parsed = read_hit_list(data, checksum=hashlib.sha256(data).hexdigest())
    parse_s = time.perf_counter() - start
    record = HitListImport(TENANT, (), 0, parsed.sha256, parsed.verified_by, "bench", datetime.now(UTC))
    start = time.perf_counter()
    repo.replace_lists(record, parsed.entries)
    import_s = time.perf_counter() - start
    start = time.perf_counter()
    repo.replace_lists(record, parsed.entries)
    replace_s = time.perf_counter() - start

    rnd = random.Random(1)
    asked = [
        rnd.choice(plates) if i % 2 else "".join(rnd.choice(string.ascii_uppercase) for _ in range(7))
        for i in range(args.lookups)
    ]
    repo_ms = per_lookup_ms(lambda p: repo.hits(TENANT, p), asked)
    with engine.connect() as conn:

        def sql(index: str) -> Callable[[str], object]:
            statement = text(
                f"SELECT plate, reason, list_name FROM hit_list_entries {index} WHERE commune_id = :c AND plate = :p"
            )
            return lambda p: conn.execute(statement, {"c": TENANT, "p": p}).all()

        indexed_ms = per_lookup_ms(sql(""), asked)
        scan_ms = per_lookup_ms(sql("NOT INDEXED"), asked[: max(20, args.lookups // 100)])
    engine.dispose()
    print(f"plates: {len(parsed.entries)}")
    print(f"file_mb: {len(data) / 1e6:.1f}")
    print(f"parse_verify_s: {parse_s:.2f}")
    print(f"import_s: {import_s:.2f}")
    print(f"replace_s: {replace_s:.2f}")
    print(f"lookup_repo_ms: {repo_ms:.3f}")
    print(f"lookup_sql_indexed_ms: {indexed_ms:.4f}")
    print(f"lookup_sql_scan_ms: {scan_ms:.2f}")
    print(f"scan_over_indexed: {scan_ms / indexed_ms:.0f}")


if __name__ == "__main__":
    main()
