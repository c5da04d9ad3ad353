"""SIV numbers, the French plates issued since 2009 (``AB-123-CD``): their grammar and random valid ones.

Kept apart from the plate's picture so that scene validation (pure) can check a scripted plate.
"""

from __future__ import annotations

import re
from typing import Final

import numpy as np

SIV_LETTERS: Final = "ABCDEFGHJKLMNPQRSTVWXYZ"
"""Letters of SIV numbers: I, O and U are never used (they read as 1, 0 and V)."""
SIV_PATTERN: Final = re.compile(rf"^[{SIV_LETTERS}]{{2}}-(?!000)\d{{3}}-[{SIV_LETTERS}]{{2}}$")


def siv_problem(text: str) -> str | None:
    """Why ``text`` is not a valid SIV number as printed (``AB-123-CD``), or None."""
    if not SIV_PATTERN.match(text):
        return (
            f"{text!r} is not an SIV number: two letters, three digits (not 000) and two letters, separated by "
            f"dashes, e.g. AB-123-CD; letters among {SIV_LETTERS} (no I, O or U)"
        )
    left, right = text[:2], text[-2:]
    if "SS" in (left, right):
        return f"{text!r}: SS is never issued on an SIV plate"
    if left == "WW":
        return f"{text!r}: WW is reserved for temporary registrations (W garage), not for a vehicle's plate"
    return None


def random_siv(rng: np.random.Generator) -> str:
    """A valid SIV number drawn from ``rng`` (deterministic for a seeded generator)."""
    while True:
        letters = "".join(SIV_LETTERS[int(i)] for i in rng.integers(0, len(SIV_LETTERS), size=4))
        text = f"{letters[:2]}-{int(rng.integers(1, 1000)):03d}-{letters[2:]}"
        if siv_problem(text) is None:
            return text


def normalised(text: str) -> str:
    """The plate without separators (``AB123CD``), as readers and hit lists write it."""
    return text.replace("-", "").replace(" ", "")
