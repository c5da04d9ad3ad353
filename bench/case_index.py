"""Query time over a case's object index (issue 22 goal: p95 ≤ 100 ms over 10 million objects, PostgreSQL).

Fills a fresh PostgreSQL database, migrated to head, with ``--objects`` objects for one case (64 cameras, 31 days;
mostly persons and cars, some vans; colours skewed to white, black and grey; a zone on about a third of the
objects, a line on a fifth) and a fiftieth as many for each of three other cases, then runs ``--queries`` searches
of each goal kind through ``vigie.storage.case_objects.SqlCaseObjects`` (the code the service runs, first page of
50, random parameters):

- ``class_colour_time``: one coloured class + one colour + a one-hour window;
- ``class_zone_direction``: one class + one zone + one direction;
- ``cameras_class``: three cameras + one class.

It prints p50/p95/p99 per kind (wall time of ``query()``: the case's longest dwell, the page, its zones and lines),
``EXPLAIN (ANALYZE, BUFFERS)`` of the page statement of one query per kind, and headline ``name: value`` lines.

Loading is fast and not what is measured: the rows are generated with numpy into fixed-width codes, written to a
temporary table with one binary ``COPY`` per million rows (``psycopg``'s copy, the buffer built by numpy in the
binary COPY format: no Python loop per row), turned into the real rows by one ``INSERT … SELECT`` per table with
the secondary indexes dropped and foreign-key triggers off (``session_replication_role = replica``: the case ids are
the bench's own), then the indexes are built again from the schema's definitions and the tables vacuumed and
analysed (the visibility map lets the searches read the indexes only).

    .venv/bin/python bench/case_index.py [URL] [--objects 10000000] [--queries 200] [--keep]

URL (SQLAlchemy form, ``postgresql+psycopg://…``) or ``VIGIE_BENCH_POSTGRES_URL``; by default the test PostgreSQL
is started with scripts/postgres.sh. A database ``vigie_bench_case_index`` is created there (dropped first if it
exists, and at the end unless ``--keep``).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import numpy as np
import psycopg
from sqlalchemy import Engine, Table, create_engine, event, text
from sqlalchemy.engine import make_url

from vigie.domain.case_objects import Direction, ObjectClass, ObjectQuery, VehicleColour
from vigie.domain.cases import AuthorityKind, Case
from vigie.storage import create_engine_for, migrate
from vigie.storage.case_objects import SqlCaseObjects
from vigie.storage.cases import SqlCaseRepo
from vigie.storage.tables import CaseObjectRow, CaseObjectZoneRow

ROOT = Path(__file__).resolve().parents[1]
DATABASE = "vigie_bench_case_index"
START = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 31
CAMERAS = [f"cam-{i:02d}" for i in range(1, 65)]
CLASSES = [ObjectClass.PERSON, ObjectClass.CAR, ObjectClass.VAN, ObjectClass.TRUCK, ObjectClass.BUS]
CLASSES += [ObjectClass.BICYCLE, ObjectClass.MOTORCYCLE, ObjectClass.BAG]
CLASS_WEIGHTS = [0.50, 0.33, 0.06, 0.02, 0.01, 0.04, 0.03, 0.01]
COLOURS = list(VehicleColour)
COLOUR_WEIGHTS = {"white": 0.27, "black": 0.2, "grey": 0.18, "silver": 0.12, "blue": 0.08, "red": 0.06}
DIRECTIONS = list(Direction)
ZONE_NAMES = [f"{camera}/{place}" for camera in CAMERAS for place in ("trottoir", "chaussee")]
LINE_NAMES = [f"{camera}/{line}" for camera in CAMERAS for line in ("passage",)]
HOURLY = np.array(
    [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.5, 3.5, 3, 2.8, 3, 3.4, 3.2, 3, 3.1, 3.4, 3.8, 3.6, 3, 2.4, 2, 1.6, 1.2]
)
CHUNK = 1_000_000
STAGING_COLUMNS = [
    ("id", "int8", ">i8"),
    ("case_id", "int8", ">i8"),
    ("cam", "int2", ">i2"),
    ("track", "int8", ">i8"),
    ("cls", "int2", ">i2"),
    ("colour", "int2", ">i2"),
    ("first_us", "int8", ">i8"),
    ("last_us", "int8", ">i8"),
    ("dir", "int2", ">i2"),
    ("bx", "float8", ">f8"),
    ("by", "float8", ">f8"),
    ("bw", "float8", ">f8"),
    ("bh", "float8", ">f8"),
    ("thumb_us", "int8", ">i8"),
    ("zone", "int2", ">i2"),
    ("line", "int2", ">i2"),
]


def base_url(given: str | None) -> str:
    url = given or os.environ.get("VIGIE_BENCH_POSTGRES_URL", "")
    if url:
        return url
    started = subprocess.run(["bash", "scripts/postgres.sh"], cwd=ROOT, capture_output=True, text=True, check=True)
    return started.stdout.strip()


def fresh_database(url: str) -> str:
    admin = create_engine(make_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    admin.dispose()
    return make_url(url).set(database=DATABASE).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    admin = create_engine(make_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
    admin.dispose()


def open_cases(engine: Engine, n: int) -> list[int]:
    repo = SqlCaseRepo(engine)
    ids = []
    for i in range(n):
        case = repo.add(
            Case(
                commune_id="bench",
                reference=f"PV-{i}",
                requisition_ref=f"REQ-{i}",
                authority="OPJ Bench",
                authority_kind=AuthorityKind.OFFICER,
                requisition_date=date(2026, 11, 2),
                purpose="bench",
                camera_ids=tuple(CAMERAS),
                start=START,
                end=START + timedelta(days=DAYS),
                opened_by="bench",
                opened_at=START + timedelta(days=DAYS + 1),
            )
        )
        assert case.id is not None
        ids.append(case.id)
    return ids


def generate(rng: np.random.Generator, first_id: int, n: int, case_id: int) -> np.ndarray:
    """``n`` objects as one binary COPY row each (a numpy structured array in the COPY layout)."""
    fields: list[tuple[str, str]] = [("nfields", ">i2")]
    for name, _, dtype in STAGING_COLUMNS:
        fields += [(f"{name}_len", ">i4"), (name, dtype)]
    rows = np.zeros(n, dtype=np.dtype(fields))
    rows["nfields"] = len(STAGING_COLUMNS)
    for name, _, dtype in STAGING_COLUMNS:
        rows[f"{name}_len"] = np.dtype(dtype).itemsize
    rows["id"] = np.arange(first_id, first_id + n)
    rows["case_id"] = case_id
    camera_weights = 1 / np.arange(1, len(CAMERAS) + 1) ** 0.6  # some streets busier than others
    cam = rng.choice(len(CAMERAS), n, p=camera_weights / camera_weights.sum())
    rows["cam"] = cam
    rows["track"] = rng.integers(1, 2**40, n)
    cls = rng.choice(len(CLASSES), n, p=CLASS_WEIGHTS)
    rows["cls"] = cls
    colour_p = np.array([COLOUR_WEIGHTS.get(c.value, 0.0) for c in COLOURS])
    colour_p += (1 - colour_p.sum()) / len(COLOURS)
    colour = rng.choice(len(COLOURS), n, p=colour_p)
    coloured = np.isin(cls, [CLASSES.index(c) for c in (ObjectClass.CAR, ObjectClass.VAN, ObjectClass.TRUCK)])
    coloured |= cls == CLASSES.index(ObjectClass.BUS)
    coloured &= rng.random(n) > 0.04  # colour unsure: none stored
    rows["colour"] = np.where(coloured, colour, -1)
    day = rng.integers(0, DAYS, n)
    hour = rng.choice(24, n, p=HOURLY / HOURLY.sum())
    first_us = (day * 86_400 + hour * 3600) * 1_000_000 + rng.integers(0, 3_600_000_000, n)
    first_us += (START - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    dwell_us = (np.exp(rng.normal(2.5, 1.0, n)).clip(0.2, 1800) * 1e6).astype(np.int64)
    parked = rng.random(n) < 0.005  # parked vehicles, loiterers: up to four hours
    dwell_us[parked] = rng.integers(600, 4 * 3600, int(parked.sum())) * 1_000_000
    rows["first_us"] = first_us
    rows["last_us"] = first_us + dwell_us
    rows["thumb_us"] = first_us + (dwell_us * rng.random(n)).astype(np.int64)
    # each camera watches a street: most travel goes along its axis, both ways
    axis = cam % 4
    along = rng.random(n) < 0.8
    heading = np.where(rng.random(n) < 0.5, axis, axis + 4)
    direction = np.where(along, heading, rng.integers(0, 8, n))
    rows["dir"] = np.where(rng.random(n) < 0.05, -1, direction)
    w, h = rng.uniform(0.02, 0.4, n), rng.uniform(0.04, 0.6, n)
    rows["bw"], rows["bh"] = w, h
    rows["bx"], rows["by"] = rng.random(n) * (1 - w), rng.random(n) * (1 - h)
    rows["zone"] = np.where(rng.random(n) < 0.35, cam * 2 + rng.integers(0, 2, n), -1)
    rows["line"] = np.where(rng.random(n) < 0.2, cam, -1)
    return rows


def _array(values: list[str]) -> str:
    return "(ARRAY[" + ", ".join(f"'{v}'" for v in values) + "])"


def load(url: str, cases: list[int], objects: int) -> dict[str, float]:
    """Fill the tables; the seconds each step took."""
    timings: dict[str, float] = {}
    object_indexes = list(cast(Table, CaseObjectRow.__table__).indexes)
    zone_indexes = list(cast(Table, CaseObjectZoneRow.__table__).indexes)
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    rng = np.random.default_rng(22)
    sizes = [(cases[0], objects)] + [(other, max(1, objects // 50)) for other in cases[1:]]
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET maintenance_work_mem = '1GB'")
        for index in object_indexes + zone_indexes:
            conn.execute(f"DROP INDEX {index.name}")
        columns = ", ".join(f"{name} {kind}" for name, kind, _ in STAGING_COLUMNS)
        conn.execute(f"CREATE UNLOGGED TABLE bench_staging ({columns})")
        started = time.perf_counter()
        next_id = 1
        for case_id, count in sizes:
            for offset in range(0, count, CHUNK):
                n = min(CHUNK, count - offset)
                rows = generate(rng, next_id, n, case_id)
                next_id += n
                with conn.cursor().copy("COPY bench_staging FROM STDIN (FORMAT BINARY)") as copy:
                    copy.write(b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8 + rows.tobytes() + b"\xff\xff")
        timings["generate_and_copy_s"] = time.perf_counter() - started
        started = time.perf_counter()
        cls, colour, direction = (_array([v.value for v in values]) for values in (CLASSES, COLOURS, DIRECTIONS))
        epoch = "timestamptz 'epoch' + interval '1 microsecond' * "
        conn.execute(
            f"""INSERT INTO case_objects (id, case_id, camera_id, track_id, object_class, colour, first_seen,
                last_seen, dwell_s, direction, box_x, box_y, box_w, box_h, thumbnail_at)
            SELECT id, case_id, {_array(CAMERAS)}[cam + 1], track, {cls}[cls + 1], {colour}[colour + 1],
                {epoch}first_us, {epoch}last_us, (last_us - first_us) / 1e6, {direction}[dir + 1],
                bx, by, bw, bh, {epoch}thumb_us
            FROM bench_staging"""
        )
        for kind, column, names in (("zone", "zone", ZONE_NAMES), ("line", "line", LINE_NAMES)):
            conn.execute(
                f"""INSERT INTO case_object_zones (object_id, kind, name, case_id, object_class, direction, first_seen)
                SELECT id, '{kind}', {_array(names)}[{column} + 1], case_id, {cls}[cls + 1], {direction}[dir + 1],
                    {epoch}first_us
                FROM bench_staging WHERE {column} >= 0"""
            )
        conn.execute("DROP TABLE bench_staging")
        conn.execute("SELECT setval(pg_get_serial_sequence('case_objects', 'id'), (SELECT max(id) FROM case_objects))")
        timings["insert_s"] = time.perf_counter() - started
        started = time.perf_counter()
        engine = create_engine(url)
        with engine.begin() as sa_conn:
            sa_conn.execute(text("SET maintenance_work_mem = '1GB'"))
            for index in object_indexes + zone_indexes:
                index.create(sa_conn)
        engine.dispose()
        timings["index_s"] = time.perf_counter() - started
        started = time.perf_counter()
        conn.execute("VACUUM (ANALYZE) case_objects")
        conn.execute("VACUUM (ANALYZE) case_object_zones")
        timings["vacuum_analyze_s"] = time.perf_counter() - started
    return timings


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run_queries(
    engine: Engine, case_id: int, count: int
) -> tuple[dict[str, list[float]], dict[str, list[int]], dict[str, ObjectQuery]]:
    store = SqlCaseObjects(engine)
    rnd = random.Random(7)
    coloured = [ObjectClass.CAR, ObjectClass.VAN, ObjectClass.TRUCK]
    colour_weights = [COLOUR_WEIGHTS.get(c.value, 0.02) for c in COLOURS]
    common = [ObjectClass.PERSON, ObjectClass.CAR, ObjectClass.VAN, ObjectClass.BICYCLE]

    def class_colour_time() -> ObjectQuery:
        hour = START + timedelta(hours=rnd.randrange(DAYS * 24))
        return ObjectQuery(
            case_id,
            classes=frozenset({rnd.choices(coloured, [0.8, 0.15, 0.05])[0]}),
            colours=frozenset({rnd.choices(COLOURS, colour_weights)[0]}),
            start=hour,
            end=hour + timedelta(hours=1),
        )

    def class_zone_direction() -> ObjectQuery:
        return ObjectQuery(
            case_id,
            classes=frozenset({rnd.choice(common)}),
            zone=rnd.choice(ZONE_NAMES),
            direction=rnd.choice(DIRECTIONS),
        )

    def cameras_class() -> ObjectQuery:
        return ObjectQuery(
            case_id, classes=frozenset({rnd.choice(common)}), camera_ids=frozenset(rnd.sample(CAMERAS, 3))
        )

    kinds: dict[str, Callable[[], ObjectQuery]] = {
        "class_colour_time": class_colour_time,
        "class_zone_direction": class_zone_direction,
        "cameras_class": cameras_class,
    }
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    sizes: dict[str, list[int]] = {kind: [] for kind in kinds}
    examples: dict[str, ObjectQuery] = {}
    full: set[str] = set()
    for _ in range(count):
        for kind, make in kinds.items():  # interleaved: no kind gets a cache the others warmed
            query = make()
            started = time.perf_counter()
            page = store.query(query)
            times[kind].append(1000 * (time.perf_counter() - started))
            sizes[kind].append(len(page.objects))
            if kind not in full and (len(page.objects) == query.limit or kind not in examples):
                examples[kind] = query  # the first query of the kind that filled its page (else the first one)
                if len(page.objects) == query.limit:
                    full.add(kind)
    return times, sizes, examples


def explain(engine: Engine, query: ObjectQuery) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the page statement ``query()`` runs for ``query``."""
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        SqlCaseObjects(engine).query(query)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    statement, parameters = next((s, p) for s, p in seen if "LIMIT" in s)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        return "\n".join(row[0] for row in cursor.fetchall())
    finally:
        raw.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", nargs="?", help="PostgreSQL server (SQLAlchemy URL); default: the test PostgreSQL")
    parser.add_argument("--objects", type=int, default=10_000_000, help="objects of the searched case")
    parser.add_argument("--queries", type=int, default=200, help="queries of each kind")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    server = base_url(args.url)
    url = fresh_database(server)
    engine = create_engine_for(url)
    try:
        migrate(engine)
        cases = open_cases(engine, 4)
        started = time.perf_counter()
        timings = load(url, cases, args.objects)
        load_s = time.perf_counter() - started
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM case_objects WHERE case_id = :c"), {"c": cases[0]})
            objects = int(stored.scalar_one())
            total = int(conn.execute(text("SELECT count(*) FROM case_objects")).scalar_one())
            marks = int(conn.execute(text("SELECT count(*) FROM case_object_zones")).scalar_one())
            size = conn.execute(text("SELECT pg_size_pretty(pg_database_size(current_database()))")).scalar_one()
            version = conn.execute(text("SHOW server_version")).scalar_one()
        print(
            f"PostgreSQL {version}; {objects:,} objects in the case, {total:,} in all, {marks:,} zone/line rows; "
            f"database {size}"
        )
        print("load: " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()) + f" (total {load_s:.1f} s)")
        times, sizes, examples = run_queries(engine, cases[0], args.queries)
        print(f"\n{'kind':<22} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} {'mean page':>10}")
        for kind, values in times.items():
            print(
                f"{kind:<22} {len(values):>5} {percentile(values, 50):>8.2f} {percentile(values, 95):>8.2f} "
                f"{percentile(values, 99):>8.2f} {max(values):>8.2f} {statistics.mean(sizes[kind]):>10.1f}"
            )
        for kind, query in examples.items():
            print(f"\nEXPLAIN {kind}: {query}\n{explain(engine, query)}")
        print()
        print(f"case_index_objects: {objects}")
        print(f"case_index_load_s: {load_s:.1f}")
        for kind, values in times.items():
            for p in (50, 95, 99):
                print(f"case_index_p{p}_ms_{kind}: {percentile(values, p):.2f}")
        worst = max(percentile(values, 95) for values in times.values())
        print(f"case_index_goal_p95_le_100ms: {'met' if worst <= 100 else 'missed'}")
    finally:
        engine.dispose()
        if not args.keep:
            drop_database(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
