"""The access-request rules as pure functions (L19): the deadline is one calendar month after receipt (the month's
last day when it has no such day), three when extended once; days left count in whole days, 0 on the last day; a
request is flagged 7 days ahead; a box is a non-empty region of the picture."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.support.clocks import T0
from vigie.domain.access_requests import (
    REMINDER_DAYS,
    AccessRequest,
    IdentityDocument,
    NormalisedBox,
    answer_deadline,
    box_problem,
    days_left,
    due_soon,
)


@pytest.mark.parametrize(
    ("received", "deadline", "extended"),
    [
        (date(2026, 3, 15), date(2026, 4, 15), date(2026, 6, 15)),
        (date(2026, 1, 31), date(2026, 2, 28), date(2026, 4, 30)),
        (date(2028, 1, 31), date(2028, 2, 29), date(2028, 4, 30)),  # a leap year
        (date(2026, 12, 10), date(2027, 1, 10), date(2027, 3, 10)),  # across the year's end
        (date(2026, 11, 30), date(2026, 12, 30), date(2027, 2, 28)),
    ],
)
def test_the_deadline_is_one_calendar_month_three_when_extended(received: date, deadline: date, extended: date) -> None:
    assert answer_deadline(received) == deadline
    assert answer_deadline(received, extended=True) == extended


def test_days_left_and_the_reminder() -> None:
    today = T0.date()
    deadline = today + timedelta(days=REMINDER_DAYS)
    assert days_left(deadline, today) == REMINDER_DAYS and due_soon(deadline, today)
    assert not due_soon(deadline + timedelta(days=1), today)
    assert days_left(today, today) == 0 and due_soon(today, today)
    assert days_left(today - timedelta(days=3), today) == -3 and due_soon(today - timedelta(days=3), today)


def test_a_requests_deadline_follows_its_extension() -> None:
    request = AccessRequest("vil", "n", "c", IdentityDocument.ID_CARD, "agent", T0.date(), "d", "dpo", T0)
    assert request.deadline == answer_deadline(T0.date()) and not request.ended
    extended = AccessRequest(
        "vil", "n", "c", IdentityDocument.ID_CARD, "agent", T0.date(), "d", "dpo", T0, extended_because="many"
    )
    assert extended.deadline == answer_deadline(T0.date(), extended=True)


@pytest.mark.parametrize(
    ("box", "problem"),
    [
        (NormalisedBox("c", 0.1, 0.1, 0.2, 0.2), None),
        (NormalisedBox("c", 0.0, 0.0, 1.0, 1.0, 2.0, 3.5), None),
        (NormalisedBox("c", 0.2, 0.1, 0.2, 0.3), "x1 must be less than x2"),
        (NormalisedBox("c", 0.1, 0.4, 0.2, 0.3), "x1 must be less than x2 and y1 less than y2"),
        (NormalisedBox("c", -0.1, 0.1, 0.2, 0.3), "from 0 to 1"),
        (NormalisedBox("c", 0.1, 0.1, 1.2, 0.3), "from 0 to 1"),
        (NormalisedBox("c", 0.1, 0.1, 0.2, 0.3, 4.0, 4.0), "end_s"),
    ],
)
def test_a_box_is_a_region_of_the_picture(box: NormalisedBox, problem: str | None) -> None:
    found = box_problem(box)
    assert (found is None) if problem is None else (found is not None and problem in found)
