"""Plate grammar: which strings are plates, in which format, and the look-alike corrections a format allows.

A plate's *text* is normalised: upper case, letters and digits only, no separator (``AB123CD``); its *display*
puts the separators back the way the plate prints them (``AB-123-CD``). The formats:

- ``FR-SIV`` (since 2009): ``AA-123-AA``. Letters I, O and U are never issued (they read as 1, 0 and V); ``SS`` is
  issued in neither letter block (penal code: emblems of organisations guilty of crimes against humanity); ``WW`` on
  the left is kept for provisional registrations (``FR-WW``) and the number block runs 001–999.
- ``FR-W`` (garage plates of the SIV): ``W-123-AA``; ``FR-WW`` (provisional): ``WW-123-AA``.
- ``FR-FNI`` (before 2009, still on the road): ``1234 AB 56`` — 1 to 4 digits, 1 to 3 letters (no I, no O), then
  the department: 01–95 (2A, 2B for Corsica since 1976) or 971–976 overseas.
- European formats seen on the road in France: ``SK`` (Slovakia since 1997, ``BA-268IM``: 2 letters — the district
  until 2022, any letters since 2023 —, exactly 3 digits, 2 letters), ``HR`` (Croatia, ``ZG 1234-AB``: one of the 34
  area codes, 3–4 digits, 1–2 letters), ``CZ`` (Czechia, ``1B8 0338``), ``CS``
  (Czechoslovak plates of before 1993, still on old vehicles: a district of 2 or 3 letters, then digits,
  ``BSE 55-79``), and ``EU-generic`` (4 to 8 letters and digits with at least one of each) for the rest. The generic
  format never corrects anything.

Look-alike correction (0/O, 1/I, 8/B, 5/S, 2/Z, 6/G, 4/A, 7/T, 0/D/Q) is position-aware: a digit read where the format
wants a letter becomes the letter it looks like, and the other way round — and only when exactly one reading
results across the specific formats. A string that matches a format as read is never corrected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import product
from typing import Final

DIGITS: Final = frozenset("0123456789")
LETTERS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
SIV_LETTERS: Final = LETTERS - frozenset("IOU")
FNI_LETTERS: Final = LETTERS - frozenset("IO")
ALNUM: Final = DIGITS | LETTERS

LOOKALIKES: Final[dict[str, frozenset[str]]] = {
    "0": frozenset("ODQ"),
    "O": frozenset("0QD"),
    "D": frozenset("0"),
    "Q": frozenset("0"),
    "1": frozenset("IJLT"),
    "I": frozenset("1JL"),
    "U": frozenset("V"),
    "J": frozenset("1"),
    "L": frozenset("1"),
    "T": frozenset("17"),
    "8": frozenset("B"),
    "B": frozenset("8"),
    "5": frozenset("S"),
    "S": frozenset("5"),
    "2": frozenset("Z"),
    "Z": frozenset("2"),
    "6": frozenset("G"),
    "G": frozenset("6"),
    "4": frozenset("A"),
    "A": frozenset("4"),
    "7": frozenset("T"),
}
"""Characters an OCR confuses with each other on plate fonts. A correction only replaces a character the position
does not allow: a digit where a letter belongs, or a letter the format never issues (O, I, U on a SIV plate are Q or
D, J or L, V); a letter the format allows is never changed (M/N, V/Y would need the image)."""

DRAWN_ALIKE: Final = frozenset({frozenset("0O"), frozenset("1I"), frozenset("8B"), frozenset("5S")})
"""Look-alike pairs whose glyphs differ by a detail a recogniser at 48 px rarely resolves (the width of a 0 and an O,
the serifs of a 1 and an I, the flat side of an 8 and a B, the angle of a 5 and an S)."""


def closeness(read_as: str, meant: str) -> float:
    """How alike two characters are drawn on plate fonts: 1.0 for the same character and the pairs in
    :data:`DRAWN_ALIKE`, 0.8 for the other look-alikes of :data:`LOOKALIKES` (a 0 and a D, a Z and a 2), 0.0 for the
    rest. Two levels on purpose: it only ranks corrections the recogniser has no opinion on (a 0 read for certain where
    a Slovak plate has a letter is an O before a D), it was not fitted to images."""
    if read_as == meant or frozenset((read_as, meant)) in DRAWN_ALIKE:
        return 1.0
    return 0.8 if meant in LOOKALIKES.get(read_as, ()) or read_as in LOOKALIKES.get(meant, ()) else 0.0


MAX_CORRECTIONS: Final = 2
"""More swapped characters than this and the string is not read as that plate: a grammar that may rewrite a third of
a string finds a plate in anything."""

_SEPARATORS = re.compile(r"[^0-9A-Z]+")

FNI_DEPARTMENTS: Final = frozenset(
    [f"{n:02d}" for n in range(1, 96)] + ["2A", "2B"] + [str(n) for n in range(971, 977)]
)
"""Departments on FNI plates: 01–95 (20 before Corsica split in 1976, 2A/2B after) and the overseas 971–976."""


def normalise(raw: str) -> str:
    """Upper case, letters and digits only: ``"ab-123 cd"`` → ``"AB123CD"``."""
    return _SEPARATORS.sub("", raw.upper())


@dataclass(frozen=True, slots=True)
class PlateFormat:
    """One plate format: fixed-length templates (a set of allowed characters per position), a check of what the
    templates cannot say (forbidden pairs, valid departments) and how the plate prints its separators."""

    name: str
    templates: tuple[tuple[frozenset[str], ...], ...]
    valid: Callable[[str], bool]
    display: Callable[[str], str]
    corrects: bool = True

    def match(self, text: str) -> bool:
        """``text`` (normalised) is a plate of this format as it stands."""
        return any(
            len(t) == len(text) and all(c in allowed for c, allowed in zip(text, t, strict=True))
            for t in self.templates
        ) and self.valid(text)

    def corrected(self, text: str) -> set[str]:
        """Every reading of ``text`` in this format with look-alikes swapped where a position wants the other kind."""
        if not self.corrects:
            return {text} if self.match(text) else set()
        found: set[str] = set()
        for template in self.templates:
            if len(template) != len(text):
                continue
            options: list[Sequence[str]] = []
            for c, allowed in zip(text, template, strict=True):
                if c in allowed:
                    options.append((c,))
                    continue
                swaps = sorted(s for s in LOOKALIKES.get(c, ()) if s in allowed)
                if not swaps:
                    break
                options.append(swaps)
            else:
                found.update(r for r in ("".join(p) for p in product(*options)) if self.valid(r))
        return found


def _blocks(*sizes: int) -> Callable[[str], str]:
    def display(text: str) -> str:
        parts, start = [], 0
        for size in sizes:
            parts.append(text[start : start + size])
            start += size
        return "-".join(p for p in parts if p)

    return display


def _siv_valid(text: str) -> bool:
    return text[:2] not in ("SS", "WW") and text[-2:] != "SS" and text[2:5] != "000"


def _w_valid(text: str) -> bool:
    return text[-2:] != "SS" and text[-5:-2] != "000"


def _fni_display(text: str) -> str:
    match = re.fullmatch(r"(\d{1,4})([A-Z]{1,3})(\d{2}|2[AB]|97\d)", text)
    return " ".join(match.groups()) if match else text


def _fni_valid(text: str) -> bool:
    match = re.fullmatch(r"(\d{1,4})([A-Z]{1,3})(\d{2}|2[AB]|97\d)", text)
    return match is not None and match.group(3) in FNI_DEPARTMENTS and int(match.group(1)) > 0


def _cz_display(text: str) -> str:
    return f"{text[:3]} {text[3:]}"


def _cs_display(text: str) -> str:
    return f"{text[:-4]} {text[-4:-2]}-{text[-2:]}"


def _hr_display(text: str) -> str:
    match = re.fullmatch(r"([A-Z]{2})(\d{3,4})([A-Z]{1,2})", text)
    return f"{match.group(1)} {match.group(2)}-{match.group(3)}" if match else text


def _sk_display(text: str) -> str:
    return f"{text[:2]}-{text[2:]}"


HR_AREAS: Final = frozenset(
    [
        "BJ",
        "BM",
        "CK",
        "DA",
        "DE",
        "DJ",
        "DU",
        "GS",
        "IM",
        "KA",
        "KC",
        "KR",
        "KT",
        "KZ",
        "MA",
        "NA",
        "NG",
        "OG",
        "OS",
        "PU",
        "PZ",
        "RI",
        "SB",
        "SI",
        "SK",
        "SL",
        "ST",
        "VK",
        "VT",
        "VU",
        "VZ",
        "ZD",
        "ZG",
        "ZU",
    ]
)
"""The area codes of Croatian plates (Č, Š, Ž written C, S, Z, as the recogniser reads them). Without the list a
Croatian shape (3 or 4 digits, 1 or 2 letters) takes any Slovak plate whose last digit or first letter is a
look-alike: ``BA-302OZ`` read ``BA3020Z`` would be a Croatian ``BA 3020-Z``."""


def _hr_valid(text: str) -> bool:
    return text[:2] in HR_AREAS


def _generic_valid(text: str) -> bool:
    return any(c in DIGITS for c in text) and any(c in LETTERS for c in text)


D, L = DIGITS, LETTERS
SL, FL = SIV_LETTERS, FNI_LETTERS
_FNI_DEPT = ((D, D), (D, frozenset("AB")), (frozenset("9"), frozenset("7"), frozenset("123456")))

FORMATS: Final[tuple[PlateFormat, ...]] = (
    PlateFormat("FR-SIV", ((SL, SL, D, D, D, SL, SL),), _siv_valid, _blocks(2, 3, 2)),
    PlateFormat("FR-W", ((frozenset("W"), D, D, D, SL, SL),), _w_valid, _blocks(1, 3, 2)),
    PlateFormat("FR-WW", ((frozenset("W"), frozenset("W"), D, D, D, SL, SL),), _w_valid, _blocks(2, 3, 2)),
    PlateFormat(
        "FR-FNI",
        tuple(
            (D,) * digits + (FL,) * letters + dept
            for digits in range(1, 5)
            for letters in range(1, 4)
            for dept in _FNI_DEPT
        ),
        _fni_valid,
        _fni_display,
    ),
    PlateFormat("SK", ((L, L, D, D, D, L, L),), lambda t: True, _sk_display),
    PlateFormat(
        "HR",
        ((L, L, D, D, D, L), (L, L, D, D, D, L, L), (L, L, D, D, D, D, L), (L, L, D, D, D, D, L, L)),
        _hr_valid,
        _hr_display,
    ),
    PlateFormat("CZ", ((D, L, ALNUM, D, D, D, D),), lambda t: True, _cz_display),
    PlateFormat("CS", ((L, L, D, D, D, D, D), (L, L, L, D, D, D, D)), lambda t: True, _cs_display),
    PlateFormat(
        "EU-generic",
        tuple((ALNUM,) * n for n in range(4, 9)),
        _generic_valid,
        lambda t: t,
        corrects=False,
    ),
)
"""In order of preference when one text is a plate of several formats (a French system: French formats first)."""

FORMAT_NAMES: Final = tuple(f.name for f in FORMATS)

EMBLEM_GAPS: Final = (2, 3)
"""Where plates carry an emblem a recogniser may read as a character: after the area code of a Croatian plate and
the district of a Slovak one (their coats of arms, ``ZG [arms] 1234-AB``, ``RK [arms] 755AJ``) and after the first
group of a Czech plate (the inspection stickers, ``3B2 [stickers] 9485``)."""
EMBLEM_FORMATS: Final = frozenset({"SK", "HR", "CZ"})
_BY_NAME = {f.name: f for f in FORMATS}


@dataclass(frozen=True, slots=True)
class Reading:
    """A normalised text read as a plate of one format; ``corrected`` says a look-alike was swapped."""

    text: str
    plate_format: str
    corrected: bool

    @property
    def display(self) -> str:
        return _BY_NAME[self.plate_format].display(self.text)

    @property
    def specific(self) -> bool:
        """A named format (not the generic fallback)."""
        return self.plate_format != "EU-generic"


def classify(text: str) -> str | None:
    """The first format ``text`` (normalised) is a plate of, as it stands; ``None`` when none."""
    for fmt in FORMATS:
        if fmt.match(text):
            return fmt.name
    return None


def read(raw: str, formats: Iterable[str] | None = None) -> Reading | None:
    """``raw`` as a plate: as read when it matches a format, else the one look-alike correction the specific formats
    allow with the fewest characters swapped (at most :data:`MAX_CORRECTIONS`), else the generic format; ``None``
    when it is no plate or when corrections disagree (two different plates would be equally good readings, so the
    image must decide, not the grammar)."""
    text = normalise(raw)
    allowed = tuple(_BY_NAME[n] for n in formats) if formats is not None else FORMATS
    for fmt in allowed:
        if fmt.corrects and fmt.match(text):
            return Reading(text, fmt.name, corrected=False)
    corrections = _corrections(text, tuple(f.name for f in allowed))
    fewest = min((_swaps(text, fixed) for fixed in corrections), default=0)
    closest = [(fixed, name) for fixed, name in corrections.items() if _swaps(text, fixed) == fewest]
    if len(closest) == 1:
        ((fixed, name),) = closest
        return Reading(fixed, name, corrected=True)
    generic = _BY_NAME["EU-generic"]
    if not corrections and generic in allowed and generic.match(text):
        return Reading(text, generic.name, corrected=False)
    return None


def candidates(raw: str, formats: Iterable[str] | None = None) -> list[Reading]:
    """Every reading the specific formats allow for ``raw`` (as read, or with look-alikes swapped), for a caller that
    has the image's evidence (the recogniser's probabilities) to choose among several."""
    text = normalise(raw)
    names = tuple(formats) if formats is not None else FORMAT_NAMES
    return [Reading(fixed, name, corrected=fixed != text) for fixed, name in _corrections(text, names).items()]


def _swaps(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b, strict=True))


@cache
def _corrections(text: str, names: tuple[str, ...]) -> dict[str, str]:
    """Corrected text → the first format giving it, over the specific formats, with at most
    :data:`MAX_CORRECTIONS` characters swapped."""
    found: dict[str, str] = {}
    for name in names:
        fmt = _BY_NAME[name]
        if fmt.corrects:
            for fixed in sorted(fmt.corrected(text)):
                if _swaps(text, fixed) <= MAX_CORRECTIONS:
                    found.setdefault(fixed, name)
    return found


def windows(raw: str, max_trim: int = 3) -> list[tuple[int, int, str]]:
    """Sub-strings of ``normalise(raw)`` with up to ``max_trim`` characters cut at either end, longest first: a
    recogniser reading the whole plate also reads the blue band's country letter (``F``) on the left and the
    department on the right of a SIV plate. Returns (cut left, cut right, text)."""
    text = normalise(raw)
    out = [
        (left, right, text[left : len(text) - right])
        for left in range(max_trim + 1)
        for right in range(max_trim + 1)
        if len(text) - left - right >= 4
    ]
    return sorted(out, key=lambda w: (w[0] + w[1], w[0]))
