"""MOTChallenge text files (``gt.txt``, ``det.txt``): which published layout a file uses, and its rows as columns.

Every layout starts with ``frame, id, bb_left, bb_top, bb_width, bb_height`` (1-based pixels) and they differ after:

- 2DMOT2015 (MOT15) ground truth and detections: 10 columns, ``conf, x, y, z`` — world coordinates, or -1 where the
  sequence has none. MOT16/17/20 ``det.txt`` files keep this shape (``-1`` for id and world coordinates).
- MOT16/17/20 ground truth: 9 columns, ``consider, class, visibility``.
- Copies in the wild drop the trailing columns: 7 columns (``conf``) or 6 (no confidence at all).

The column count is the one thing that tells them apart, so it decides the layout; the columns that carry meaning in
that layout are then checked, because reading one layout as another is what silently produced zero ground-truth
boxes (MOT15's world x taken for MOT16's class). A malformed file is refused with its path, the line and what is
wrong, rather than scored as if it were empty.
"""

from __future__ import annotations

import enum
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt


class SequenceError(ValueError):
    """A folder or file that is not readable MOTChallenge data; the message says which file and what is wrong."""


class MotFileError(SequenceError):
    """A MOTChallenge text file that cannot be read; the message names the file and, when one is at fault, the line."""


class MotLayout(enum.StrEnum):
    """The MOTChallenge row layouts, named as reports show them."""

    MOT15 = "mot15"
    MOT16 = "mot16"
    SEVEN_COLUMNS = "7-column"
    SIX_COLUMNS = "6-column"
    EMPTY = "empty"

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    MotLayout.MOT15: "2DMOT2015, 10 columns: frame, id, x, y, w, h, conf, world x, y, z (or -1)",
    MotLayout.MOT16: "MOT16/17/20 ground truth, 9 columns: frame, id, x, y, w, h, consider, class, visibility",
    MotLayout.SEVEN_COLUMNS: "7 columns: frame, id, x, y, w, h, conf",
    MotLayout.SIX_COLUMNS: "6 columns: frame, id, x, y, w, h (no confidence: every row counts)",
    MotLayout.EMPTY: "no rows",
}
_BY_COLUMNS = {10: MotLayout.MOT15, 9: MotLayout.MOT16, 7: MotLayout.SEVEN_COLUMNS, 6: MotLayout.SIX_COLUMNS}
_COLUMN_NAMES = {
    10: ("frame", "id", "bb_left", "bb_top", "bb_width", "bb_height", "conf", "world x", "world y", "world z"),
    9: ("frame", "id", "bb_left", "bb_top", "bb_width", "bb_height", "consider", "class", "visibility"),
    7: ("frame", "id", "bb_left", "bb_top", "bb_width", "bb_height", "conf"),
    6: ("frame", "id", "bb_left", "bb_top", "bb_width", "bb_height"),
}
_SHAPES = "MOTChallenge rows have 6, 7, 9 (MOT16/17/20 ground truth) or 10 (MOT15, det.txt) columns"
PEDESTRIAN = 1
"""MOT16+ class of a pedestrian; layouts without a class column hold pedestrians only."""


@dataclass(frozen=True, slots=True)
class MotFile:
    """The rows of one file as columns; columns its layout lacks take the value that changes nothing.

    ``confidence`` is the detector's score in a det file and the *consider* flag in ground truth (0: ignore this
    box); it is 1 for 6-column files. ``classes`` is 1 (pedestrian) and ``visibility`` 1 where the layout has none.
    """

    path: Path
    layout: MotLayout
    frames: npt.NDArray[np.int64]
    ids: npt.NDArray[np.int64]
    boxes: npt.NDArray[np.float64]
    """x1, y1, x2, y2 in pixels."""
    confidence: npt.NDArray[np.float64]
    classes: npt.NDArray[np.int64]
    visibility: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.frames)

    def rows_by_frame(self, frames: Sequence[int]) -> dict[int, npt.NDArray[np.intp]]:
        """Row indices of each of ``frames`` (empty where a frame has none), in file order; one sort, not a scan
        per frame, so MOT20's million-row files stay fast."""
        order = np.argsort(self.frames, kind="stable")
        ordered = self.frames[order]
        wanted = np.asarray(frames, np.int64)
        starts = np.searchsorted(ordered, wanted, "left")
        ends = np.searchsorted(ordered, wanted, "right")
        return {int(f): order[s:e] for f, s, e in zip(wanted, starts, ends, strict=True)}

    def line_of(self, row: int) -> tuple[int, str]:
        """(line number, text) of data row ``row``: found again only when an error has to name it."""
        return _data_lines(self.path)[row]


def read_mot_file(path: Path, *, truth: bool) -> MotFile:
    """Read ``path`` in whichever layout its column count names; ``truth`` adds the ground-truth checks (identities,
    MOT16 classes and visibility, one box per identity and frame). Raises :class:`MotFileError`."""
    path = Path(path)
    if not path.is_file():
        raise MotFileError(f"{path} is missing")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # numpy warns on an empty file: it is an empty table here
            rows = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float64, comments="#", encoding="utf-8")
    except ValueError as err:  # also UnicodeDecodeError: find the line at fault and say what is wrong with it
        raise _diagnose(path, str(err)) from err
    if rows.size == 0:
        return _empty(path)
    layout = _BY_COLUMNS.get(rows.shape[1])
    if layout is None:
        raise _line_error(path, 0, f"{rows.shape[1]} columns; {_SHAPES}")
    _check(path, rows, layout, truth=truth)
    n = len(rows)
    boxes = rows[:, 2:6].copy()
    boxes[:, 2:] += boxes[:, :2]
    return MotFile(
        path,
        layout,
        rows[:, 0].astype(np.int64),
        rows[:, 1].astype(np.int64),
        boxes,
        rows[:, 6].copy() if rows.shape[1] > 6 else np.ones(n),
        rows[:, 7].astype(np.int64) if layout is MotLayout.MOT16 else np.full(n, PEDESTRIAN, np.int64),
        rows[:, 8].copy() if layout is MotLayout.MOT16 else np.ones(n),
    )


def _check(path: Path, rows: npt.NDArray[np.float64], layout: MotLayout, *, truth: bool) -> None:
    """Refuse the first row whose meaningful columns make no sense in ``layout``, naming its line."""
    names = _COLUMN_NAMES[rows.shape[1]]

    def whole(column: int) -> npt.NDArray[np.bool_]:
        values = rows[:, column]
        result: npt.NDArray[np.bool_] = values == np.round(values)
        return result

    checks: list[tuple[npt.NDArray[np.bool_], int, str]] = [
        (~np.asarray(np.isfinite(rows).all(1), np.bool_), -1, "a value is not a finite number"),
        (~whole(0) | (rows[:, 0] < 0), 0, "must be a whole frame number"),
        (rows[:, 4] < 0, 4, "a box cannot have a negative width"),
        (rows[:, 5] < 0, 5, "a box cannot have a negative height"),
    ]
    if truth:
        checks.append(
            (
                ~whole(1) | (rows[:, 1] < 0),
                1,
                "ground truth needs a whole identity ≥ 0 per box (-1 is a detection file's 'no identity')",
            )
        )
    if truth and layout is MotLayout.MOT16:
        checks += [
            (
                ~whole(7) | (rows[:, 7] < 1),
                7,
                "a 9-column file is read as MOT16/17/20 ground truth, whose column 8 is a class from 1 "
                "(a MOT15 file has 10 columns: frame, id, x, y, w, h, conf, world x, y, z)",
            ),
            ((rows[:, 8] < 0) | (rows[:, 8] > 1), 8, "MOT16/17/20 visibility is a fraction from 0 to 1"),
        ]
    for bad, column, what in checks:
        if bad.any():
            row = int(np.argmax(bad))
            where = "" if column < 0 else f"column {column + 1} ({names[column]}) is {rows[row, column]:g}: "
            raise _line_error(path, row, where + what)
    if truth:
        _check_unique_identities(path, rows)


def _check_unique_identities(path: Path, rows: npt.NDArray[np.float64]) -> None:
    """Two boxes for one identity in one frame would make the matching count one person twice."""
    keys = np.stack([rows[:, 0], rows[:, 1]], 1)
    _, first, counts = np.unique(keys, axis=0, return_index=True, return_counts=True)
    if (counts > 1).any():
        frame, identity = keys[first[int(np.argmax(counts > 1))]]
        repeated = np.flatnonzero((keys[:, 0] == frame) & (keys[:, 1] == identity))
        other, _ = _data_lines(path)[int(repeated[0])]
        raise _line_error(
            path, int(repeated[1]), f"identity {identity:g} already has a box in frame {frame:g} (line {other})"
        )


def _diagnose(path: Path, numpy_message: str) -> MotFileError:
    """The first line that numpy could not read, and why, in words a person can act on."""
    try:
        lines = _data_lines(path)
    except UnicodeDecodeError:
        return MotFileError(f"{path} is not a UTF-8 text file")
    expected: tuple[int, int] | None = None
    for number, text in lines:
        fields = text.split(",")
        if len(fields) not in _COLUMN_NAMES:
            return MotFileError(f"{path}, line {number}: {len(fields)} columns; {_SHAPES}: {text!r}")
        if expected is None:
            expected = (len(fields), number)
        elif len(fields) != expected[0]:
            return MotFileError(
                f"{path}, line {number}: {len(fields)} columns where line {expected[1]} has {expected[0]}: {text!r}"
            )
        for column, value in enumerate(fields):
            try:
                float(value)
            except ValueError:
                name = _COLUMN_NAMES[len(fields)][column]
                return MotFileError(
                    f"{path}, line {number}: column {column + 1} ({name}) is {value.strip()!r}, not a number: {text!r}"
                )
    return MotFileError(f"{path} is not comma-separated MOTChallenge rows: {numpy_message}")


def _data_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of each row as ``np.loadtxt`` sees them: comments cut, blank lines skipped."""
    out = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = raw.split("#", 1)[0].strip()
        if text:
            out.append((number, text))
    return out


def _line_error(path: Path, row: int, what: str) -> MotFileError:
    number, text = _data_lines(path)[row]
    return MotFileError(f"{path}, line {number}: {what}: {text!r}")


def _empty(path: Path) -> MotFile:
    return MotFile(
        path,
        MotLayout.EMPTY,
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        np.zeros((0, 4)),
        np.zeros(0),
        np.zeros(0, np.int64),
        np.zeros(0),
    )
