"""The ``login_name_failures`` table (implements ``vigie.domain.login_failures.NameFailures``): failed logins with
names that are no account, shared by every API process (issue 17)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from vigie.storage.database import for_reading, storage_errors
from vigie.storage.repositories import rowcount
from vigie.storage.tables import LoginNameFailureRow, require_aware


class SqlNameFailures:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._write = sessionmaker(engine, expire_on_commit=False)
        self._read = sessionmaker(for_reading(engine), expire_on_commit=False)

    def get(self, name_key: str) -> tuple[int, datetime] | None:
        with storage_errors(self._engine, "read failed logins"), self._read.begin() as session:
            row = session.get(LoginNameFailureRow, name_key)
            return None if row is None else (row.failures, row.until)

    def put(self, name_key: str, failures: int, until: datetime) -> None:
        at = require_aware(until, "until")
        for _ in range(2):  # a first failure of the same name on two processes at once: the second one updates
            try:
                with storage_errors(self._engine, "count a failed login"), self._write.begin() as session:
                    row = session.get(LoginNameFailureRow, name_key)
                    if row is None:
                        session.add(LoginNameFailureRow(name_key=name_key, failures=failures, until=at))
                    else:
                        row.failures, row.until = failures, at
                return
            except IntegrityError:
                continue

    def forget_before(self, until_before: datetime) -> int:
        before = require_aware(until_before, "until_before")
        with storage_errors(self._engine, "forget old failed logins"), self._write.begin() as session:
            statement = delete(LoginNameFailureRow).where(LoginNameFailureRow.until < before)
            return rowcount(session.execute(statement))
