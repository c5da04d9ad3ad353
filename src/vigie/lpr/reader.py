"""Find and read number plates in an image: PaddleOCR's PP-OCRv4 text detector and recogniser (the ONNX files inside
the ``rapidocr_onnxruntime`` wheel, so nothing is downloaded) and the plate grammar of :mod:`vigie.lpr.formats`.

Why not RapidOCR's own pipeline: it reads every text line of the picture with the generic decoder, and on plates that
loses what matters — the blue EU band and the dashes get read as characters, and a 0 read where the format wants a
letter cannot be fixed from the string alone. Here the models run through onnxruntime sessions opened by this module
(one intra-op thread by default, so that a worker's cores are counted), the detector's post-processing is RapidOCR's
(:class:`~rapidocr_onnxruntime.ch_ppocr_det.utils.DBPostProcess`), and the recogniser's output is decoded here,
keeping each character's probabilities so that the grammar can pick among the readings it allows.

Localisation: text lines from the detector are kept when their shape is a plate's (wide, not too thin), neighbours on
one line are merged (``1234 AB 56`` may come out in three pieces), each line is rectified from its quadrilateral,
blue bands at either end are cut, and the line is recognised. A line is a plate when a window of what was read (the
band's ``F`` and the department may be read around the number) is a plate of a known format.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

import cv2
import numpy as np
import onnxruntime as ort  # type: ignore[import-untyped]
import rapidocr_onnxruntime  # type: ignore[import-untyped]
from rapidocr_onnxruntime.ch_ppocr_det.utils import DBPostProcess  # type: ignore[import-untyped]

from vigie.lpr import formats

Box = tuple[int, int, int, int]

_MODELS: Final = Path(str(rapidocr_onnxruntime.__file__)).parent / "models"
DETECTOR_FILE: Final = "ch_PP-OCRv4_det_infer.onnx"
RECOGNISER_FILE: Final = "ch_PP-OCRv4_rec_infer.onnx"
_REC_HEIGHT: Final = 48
_SEPARATORS: Final = frozenset("-·.:' ")

FORMAT_PRIOR: Final[dict[str, float]] = {"EU-generic": 0.55}
"""How much a read in a format is believed, before the characters' probabilities: a string that fits a named format
is far more likely a plate than one that only has letters and digits."""


LOOKALIKE_WEIGHT: Final = 0.6
"""What a grammar-corrected character is worth, relative to the probability of the character it was read as."""
WIDER_PADS: Final = (1.4, 2.0)
"""Margins (in line heights, each side) a line is read again with when no named format reads it at the reader's own
``pad``: the text detector's line often ends a character short of the plate (``FN-979-X`` for ``FN-979-XC``)."""
CLOSENESS_SPREAD: Final = 0.1
"""How far the look-alikes' closeness moves a correction's worth: from :data:`LOOKALIKE_WEIGHT` (drawn alike) down to
0.9 times it (the least alike pair). Enough to rank corrections the recogniser has no opinion on, too little to
overrule the probability of a character it did see."""
FOREIGN_WITH_FRENCH_BAND: Final = 0.7
"""A plate with the blue right band of French plates is French: other formats' readings of it count for less."""
PLATE_DETECT_HEIGHT: Final = 96
"""How high (px) a plate is made for the detector when its area is known (an annotated box, a second look); 128
and 160 gave nothing more on the tuning half and cost more."""
BAND_SATURATION: Final = 100
STICKER_SATURATION: Final = 110
TRIM_WEIGHT: Final = 0.8
"""What each character read but left out of the plate costs (the band's F, the department): a plate is the longest
format reading, not a shorter one that skips an uncertain last character."""


class PlateReaderError(RuntimeError):
    """The models cannot be loaded or the image cannot be read."""


@dataclass(frozen=True, slots=True, eq=False)
class PlateCandidate:
    """One plate found in an image: ``text`` normalised (``AB123CD``), ``display`` as printed (``AB-123-CD``),
    ``confidence`` 0..1 (the recogniser's probabilities times the format's prior), ``box`` (x, y, w, h) in image
    coordinates and ``crop`` the plate only (rectified, BGR) — never the vehicle or its occupants."""

    text: str
    display: str
    plate_format: str
    confidence: float
    box: Box
    crop: np.ndarray = field(repr=False)
    corrected: bool = False
    raw: str = ""


@dataclass(frozen=True, slots=True)
class _Line:
    """A recognised text line: the characters kept (letters and digits), their probability rows over the letters and
    digits, and the probability of each as read."""

    chars: str
    gaps: frozenset[int]
    rows: np.ndarray
    probs: np.ndarray
    raw: str


class PlateReader:
    """Localise and read plates. One instance per worker thread (the onnxruntime sessions are shared by its calls).

    ``threads``: intra-op threads of each session (1 = one core). ``detect_side``: the longer side the image (or the
    region) is scaled to for text detection — a plate 60 px wide in a 1500 px photo needs about 1000;
    ``detect_max_side`` (default: ``detect_side``): a larger image is detected at its own size up to this side instead
    (small plates in large photos; the cost grows with the area). ``min_confidence`` drops weaker candidates;
    ``formats_allowed`` restricts the grammar (names of :data:`vigie.lpr.formats.FORMAT_NAMES`).
    """

    def __init__(
        self,
        *,
        threads: int = 1,
        detect_side: int = 1024,
        detect_max_side: int | None = None,
        min_confidence: float = 0.3,
        pad: float = 0.7,
        second_looks: int = 3,
        formats_allowed: Sequence[str] | None = None,
        model_dir: Path | None = None,
    ) -> None:
        if threads < 1:
            raise ValueError(f"threads must be 1 or more, not {threads}")
        unknown = sorted(set(formats_allowed or ()) - set(formats.FORMAT_NAMES))
        if unknown:
            raise ValueError(f"unknown plate formats {unknown}: choose among {list(formats.FORMAT_NAMES)}")
        directory = model_dir or _MODELS
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._det = ort.InferenceSession(
                str(directory / DETECTOR_FILE), options, providers=["CPUExecutionProvider"]
            )
            self._rec = ort.InferenceSession(
                str(directory / RECOGNISER_FILE), options, providers=["CPUExecutionProvider"]
            )
        except Exception as err:  # onnxruntime raises its own untyped errors for a missing or broken file
            raise PlateReaderError(f"cannot load the plate models from {directory}: {err}") from err
        charset = self._rec.get_modelmeta().custom_metadata_map.get("character")
        if not charset:
            raise PlateReaderError(f"{directory / RECOGNISER_FILE} has no character list in its metadata")
        chars = ["", *charset.splitlines(), " "]
        self._alnum = np.array([i for i, c in enumerate(chars) if c in formats.ALNUM], dtype=np.int64)
        self._index = {chars[i]: k for k, i in enumerate(self._alnum)}
        self._separator = np.array([i for i, c in enumerate(chars) if c in _SEPARATORS], dtype=np.int64)
        self._chars = chars
        self._post = DBPostProcess(thresh=0.3, box_thresh=0.5, unclip_ratio=1.6, use_dilation=True)
        self.detect_side = detect_side
        self.detect_max_side = detect_max_side or detect_side
        self.pad = pad
        self.second_looks = second_looks
        self.min_confidence = min_confidence
        self.formats_allowed = tuple(formats_allowed) if formats_allowed else formats.FORMAT_NAMES

    # -- public -----------------------------------------------------------------------------------------------------

    def read(self, image_bgr: np.ndarray, region: Box | None = None) -> list[PlateCandidate]:
        """Plates in ``image_bgr`` (in ``region``, a vehicle box x, y, w, h, when given), best first."""
        image = _bgr(image_bgr)
        ox, oy = 0, 0
        if region is not None:
            x, y, w, h = (int(v) for v in region)
            x0, y0 = max(0, x), max(0, y)
            x1, y1 = min(image.shape[1], x + w), min(image.shape[0], y + h)
            if x1 - x0 < 8 or y1 - y0 < 8:
                return []
            image, ox, oy = image[y0:y1, x0:x1], x0, y0
        found = self._candidates(image, None)
        # Second look at the best lines: the detector, run on the whole picture, often cuts a plate's line short
        # (an oblique plate, a dash read as the end); around the line, at a scale where the plate is a few text
        # lines high, it sees the whole of it.
        found.sort(key=lambda c: -c.confidence)
        for i, first in enumerate(found[: self.second_looks]):
            better = self._around(image, first.box)
            if better is not None and better.confidence > first.confidence:
                found[i] = better
        kept = [c for c in found if c.confidence >= self.min_confidence]
        if ox or oy:
            kept = [replace(c, box=(c.box[0] + ox, c.box[1] + oy, c.box[2], c.box[3])) for c in kept]
        return _distinct(sorted(kept, key=lambda c: -c.confidence))

    def _candidates(self, image: np.ndarray, side: int | None) -> list[PlateCandidate]:
        found: list[PlateCandidate] = []
        for quad in self._lines(image, side):
            candidate = self._read_line(image, quad)
            if candidate is not None and candidate.confidence >= self.min_confidence / 2:
                found.append(candidate)
        return found

    def _around(self, image: np.ndarray, box: Box) -> PlateCandidate | None:
        """:meth:`recognise` on the neighbourhood of ``box`` (a third of its width and its height on each side)."""
        x, y, w, h = box
        x0, y0 = max(0, x - w // 3), max(0, y - h)
        x1, y1 = min(image.shape[1], x + w + w // 3), min(image.shape[0], y + 2 * h)
        if x1 - x0 < 8 or y1 - y0 < 8:
            return None
        found = self._plate_area(image[y0:y1, x0:x1], h, whole=False)
        if found is None:
            return None
        return replace(found, box=(found.box[0] + x0, found.box[1] + y0, found.box[2], found.box[3]))

    def recognise(self, plate_bgr: np.ndarray) -> PlateCandidate | None:
        """Recognition alone, on an image of the plate (the box of an annotation, a crop from another localiser)."""
        crop = _bgr(plate_bgr)
        return self._plate_area(crop, crop.shape[0], whole=True)

    def _plate_area(self, crop: np.ndarray, plate_height: int, *, whole: bool) -> PlateCandidate | None:
        """The best plate of an area about ``plate_height`` px high; ``whole``: the area may be the plate itself,
        so it is also read as one line."""
        h, w = crop.shape[:2]
        # The whole plate is one line: look for it inside (margins, screws and frame are not text), at a scale
        # where the plate is about 4 lines of text high rather than the full-image detection side.
        side = max(64, min(self.detect_side, round(max(h, w) * PLATE_DETECT_HEIGHT / max(plate_height, 1))))
        inner = [q for q in self._lines(crop, side) if _plate_shaped(q)]
        quad = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
        best: PlateCandidate | None = None
        for q in [*inner, quad] if whole else inner:
            candidate = (
                self._read_line(crop, q) if q is not quad else self._recognise(_rectify(crop, q, 0.0), q, pad=0.0)
            )
            if candidate is not None and (best is None or candidate.confidence > best.confidence):
                best = candidate
        return best

    # -- detection --------------------------------------------------------------------------------------------------

    def _lines(self, image: np.ndarray, side: int | None = None) -> list[np.ndarray]:
        """Quadrilaterals (4×2, clockwise from top-left) of the plate-shaped text lines, merged lines included; the
        image is scaled so that its longer side is ``side`` — by default its own size, enlarged to :attr:`detect_side`
        and reduced to :attr:`detect_max_side`."""
        h, w = image.shape[:2]
        longest = max(h, w)
        target = side or min(max(longest, self.detect_side), max(self.detect_max_side, self.detect_side))
        scale = min(target / longest, 4.0)
        nh, nw = max(32, round(h * scale / 32) * 32), max(32, round(w * scale / 32) * 32)
        resized = cv2.resize(image, (nw, nh))
        blob = ((resized.astype(np.float32) / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[np.newaxis]
        pred = self._det.run(None, {self._det.get_inputs()[0].name: blob})[0]
        boxes, _scores = self._post(pred, (h, w))
        quads = [_order(np.asarray(b, dtype=np.float32)) for b in boxes]
        shaped = [q for q in quads if _plate_shaped(q) or _piece_shaped(q)]
        return _merged(shaped)

    # -- recognition ------------------------------------------------------------------------------------------------

    def _read_line(self, image: np.ndarray, quad: np.ndarray) -> PlateCandidate | None:
        """A text line read with the reader's margin, and again with wider ones (:data:`WIDER_PADS`) while no named
        format reads it: a detector's line often stops short of a plate's last character."""
        best: PlateCandidate | None = None
        for pad in (self.pad, *(p for p in WIDER_PADS if p > self.pad)):
            candidate = self._recognise(_rectify(image, quad, pad), quad, pad=pad)
            if candidate is not None and (best is None or candidate.confidence > best.confidence):
                best = candidate
            if best is not None and best.plate_format != "EU-generic":
                break
        return best

    def _recognise(self, crop: np.ndarray, quad: np.ndarray, *, pad: float) -> PlateCandidate | None:
        trimmed, french = _cut_bands(crop, round(pad * _REC_HEIGHT / 1.2))
        line = self._line(trimmed)
        best: tuple[float, formats.Reading] | None = None
        generic: tuple[float, formats.Reading] | None = None
        for left, right, text in formats.windows(line.chars):
            if best is not None and best[0] >= 0.9:
                break
            positions = list(range(left, left + len(text)))
            options = [(text, positions, left + right)]
            # An emblem or sticker between a plate's groups (a Croatian city's coat of arms, a Czech plate's
            # inspection stickers) is read as one more character: the same window without it, at the cost of a trim.
            for gap in formats.EMBLEM_GAPS:
                if len(text) > gap + 4:
                    options.append(
                        (text[:gap] + text[gap + 1 :], positions[:gap] + positions[gap + 1 :], left + right + 1)
                    )
            for option, kept, trims in options:
                for reading in self._readings(option):
                    if reading.plate_format not in formats.EMBLEM_FORMATS and option is not text:
                        continue
                    score = self._score(line, kept, reading) * (TRIM_WEIGHT**trims)
                    siv_dashes = {left + 2, left + 5} <= line.gaps
                    if (french or siv_dashes) and not reading.plate_format.startswith("FR-"):
                        score *= FOREIGN_WITH_FRENCH_BAND
                    if not reading.specific:
                        if generic is None or score > generic[0]:
                            generic = (score, reading)
                    elif best is None or score > best[0]:
                        best = (score, reading)
        # The generic format is the fallback of a line no named format can read, not a rival to them.
        best = best or generic
        if best is None:
            return None
        score, reading = best
        return PlateCandidate(
            text=reading.text,
            display=reading.display,
            plate_format=reading.plate_format,
            confidence=float(score),
            box=_plate_box(quad),
            crop=trimmed,
            corrected=reading.corrected,
            raw=line.raw,
        )

    def _readings(self, text: str) -> list[formats.Reading]:
        """What the grammar allows for ``text``: its reading as it stands, plus every look-alike correction the
        formats allow — for the recogniser's probabilities and the plate's French marks to choose (a SIV plate read
        ``BO-360-YO`` is a Croatian plate as read, and ``BQ-360-YQ`` once the Os no SIV plate has are corrected)."""
        found = formats.candidates(text, self.formats_allowed)
        single = formats.read(text, self.formats_allowed)
        if single is not None and all(r.text != single.text for r in found):
            found.append(single)
        return found

    def _score(self, line: _Line, kept: Sequence[int], reading: formats.Reading) -> float:
        """Geometric mean over the characters of how well the image supports the reading, times the format's prior.

        A character kept as read counts its probability; one the grammar swapped counts the larger of its own
        probability and :data:`LOOKALIKE_WEIGHT` times that of the character read, a little less for pairs drawn
        less alike (:func:`formats.closeness`, :data:`CLOSENESS_SPREAD`): the recogniser is sure of the shape, the
        grammar says which side of the look-alike pair it is, and among several corrections the recogniser's own
        second choice decides, or when it has none (a 0 read for certain: an O, a D or a Q?) the closest look-alike."""
        logs = 0.0
        for i, c in zip(kept, reading.text, strict=True):
            row = line.rows[i]
            p = float(row[self._index[c]])
            read_as = line.chars[i]
            if read_as != c:
                alike = LOOKALIKE_WEIGHT * (1.0 - CLOSENESS_SPREAD * (1.0 - formats.closeness(read_as, c)))
                p = max(p, alike * float(row[self._index[read_as]])) + 1e-3 * p
            logs += math.log(max(p, 1e-6))
        mean = math.exp(logs / max(1, len(reading.text)))
        return mean * FORMAT_PRIOR.get(reading.plate_format, 1.0)

    def _line(self, crop: np.ndarray) -> _Line:
        h, w = crop.shape[:2]
        width = max(_REC_HEIGHT, min(math.ceil(_REC_HEIGHT * w / max(h, 1)), 640))
        resized = cv2.resize(crop, (width, _REC_HEIGHT))
        blob = ((resized.astype(np.float32) / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[np.newaxis]
        out = self._rec.run(None, {self._rec.get_inputs()[0].name: blob})[0][0]
        return _decode(out, self._chars, self._alnum)


def _decode(probs: np.ndarray, chars: Sequence[str], alnum: np.ndarray) -> _Line:
    """Greedy CTC: the characters kept are letters and digits; each keeps its step's probabilities over them (the
    highest of its repeated steps), renormalised, so that a 0 read where a letter belongs still says how O it looked."""
    best = probs.argmax(axis=1)
    kept: list[str] = []
    rows: list[np.ndarray] = []
    peaks: list[float] = []
    raw: list[str] = []
    gaps: set[int] = set()
    previous = -1
    for t, index in enumerate(best):
        if index not in (previous, 0):
            raw.append(chars[index])
            if chars[index] in _SEPARATORS:
                gaps.add(len(kept))
            if chars[index] in formats.ALNUM:
                row = probs[t, alnum]
                kept.append(chars[index])
                rows.append(row / max(float(row.sum()), 1e-6) * min(1.0, float(row.sum()) + float(probs[t, 0])))
                peaks.append(float(probs[t, index]))
        elif index == previous and index != 0 and chars[index] in formats.ALNUM and rows:
            row = probs[t, alnum]
            if float(probs[t, index]) > peaks[-1]:
                rows[-1] = row / max(float(row.sum()), 1e-6) * min(1.0, float(row.sum()) + float(probs[t, 0]))
                peaks[-1] = float(probs[t, index])
        previous = int(index)
    matrix = np.stack(rows) if rows else np.zeros((0, len(alnum)), dtype=np.float32)
    return _Line("".join(kept), frozenset(gaps), matrix, np.array(peaks, dtype=np.float32), "".join(raw))


# -- geometry --------------------------------------------------------------------------------------------------------


def _bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise PlateReaderError(f"expected a BGR image (H×W×3), got an array of shape {image.shape}")
    return image[:, :, :3] if image.shape[2] == 4 else image


def _order(quad: np.ndarray) -> np.ndarray:
    """Top-left, top-right, bottom-right, bottom-left."""
    s = quad.sum(axis=1)
    d = np.diff(quad, axis=1).ravel()
    return np.array([quad[s.argmin()], quad[d.argmin()], quad[s.argmax()], quad[d.argmax()]], dtype=np.float32)


def _size(quad: np.ndarray) -> tuple[float, float]:
    width = (np.linalg.norm(quad[1] - quad[0]) + np.linalg.norm(quad[2] - quad[3])) / 2
    height = (np.linalg.norm(quad[3] - quad[0]) + np.linalg.norm(quad[2] - quad[1])) / 2
    return float(width), float(height)


def _plate_shaped(quad: np.ndarray) -> bool:
    """A line of 4 to 10 characters on one row: between twice and ten times as wide as high, 8 px high at least."""
    w, h = _size(quad)
    return h >= 8 and 1.6 <= w / max(h, 1.0) <= 11.0


def _piece_shaped(quad: np.ndarray) -> bool:
    """A piece of a plate (``56`` of ``1234 AB 56``): short, at least 8 px high."""
    w, h = _size(quad)
    return h >= 8 and 0.4 <= w / max(h, 1.0) < 1.6


def _merged(quads: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The lines, plus each run of neighbours on one row (similar heights, gap under 1.2 heights) merged into one."""
    if not quads:
        return []
    ordered = sorted(quads, key=lambda q: float(q[:, 0].min()))
    out = [q for q in ordered if _plate_shaped(q)]
    for i, first in enumerate(ordered):
        run = [first]
        for other in ordered[i + 1 :]:
            last = run[-1]
            (_, h1), (_, h2) = _size(last), _size(other)
            cy1, cy2 = float(last[:, 1].mean()), float(other[:, 1].mean())
            gap = float(other[:, 0].min() - last[:, 0].max())
            if 0.7 <= h1 / max(h2, 1.0) <= 1.45 and abs(cy1 - cy2) < 0.5 * max(h1, h2) and -0.3 * h1 < gap < 1.2 * h1:
                run.append(other)
                hull = _order(cv2.boxPoints(cv2.minAreaRect(np.concatenate(run).astype(np.float32))))
                if _plate_shaped(hull):
                    out.append(hull)
            elif float(other[:, 0].min()) > float(last[:, 0].max()) + 1.2 * h1:
                break
    return out


def _rectify(image: np.ndarray, quad: np.ndarray, pad_x: float = 0.1) -> np.ndarray:
    w, h = _size(quad)
    px, py = pad_x * h, 0.1 * h
    src = quad.astype(np.float32)
    across = (src[1] - src[0] + src[2] - src[3]) / 2
    down = (src[3] - src[0] + src[2] - src[1]) / 2
    ux = across / max(float(np.linalg.norm(across)), 1e-6)
    uy = down / max(float(np.linalg.norm(down)), 1e-6)
    grown = src + np.array([-px * ux - py * uy, px * ux - py * uy, px * ux + py * uy, -px * ux + py * uy])
    out_h = _REC_HEIGHT
    out_w = max(8, round(out_h * (w + 2 * px) / max(h + 2 * py, 1.0)))
    dst = np.array([[0, 0], [out_w - 1, 0], [out_w - 1, out_h - 1], [0, out_h - 1]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(grown.astype(np.float32), dst)
    return cv2.warpPerspective(image, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _cut_bands(crop: np.ndarray, margin: int = 0) -> tuple[np.ndarray, bool]:
    """Cut the blue EU band (left) and the blue department band (right of a French SIV plate): the columns near
    either end (the ``margin`` added around the text line, plus a fifth of the line) that are mostly blue and far
    more saturated than the plate itself (a plate in blue light is not a band). Returns the crop and whether a right
    band was found (a French plate's mark: other EU plates have none)."""
    h, w = crop.shape[:2]
    if w < 2 * h:
        return crop, False
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
    saturation = hsv[:, :, 1].astype(np.int16)
    plate = float(np.median(saturation[h // 4 : h - h // 4, w // 3 : w - w // 3]))
    strong = saturation >= max(BAND_SATURATION, plate + 60)
    blue = (hsv[:, :, 0] >= 95) & (hsv[:, :, 0] <= 130) & strong & (hsv[:, :, 2] >= 80)
    column = blue[h // 6 : h - h // 6].mean(axis=0)
    limit = min(w // 2 - 1, margin + (w - 2 * margin) // 5)
    left = 0
    for x in range(limit):
        if column[x] >= 0.4:
            left = x + 1
    right = w
    for x in range(w - 1, w - 1 - limit, -1):
        if column[x] >= 0.4:
            right = x
    if right - left < w // 2:
        return crop, False
    band_right = right < w and column[right : min(w, right + h // 2)].mean() >= 0.5
    return _whiten_stickers(crop[:, left:right], plate), bool(band_right)


def _whiten_stickers(crop: np.ndarray, plate_saturation: float) -> np.ndarray:
    """Paint what is far more saturated than the plate (what is left of a band, a sticker, a coloured frame) in the
    plate's background colour: plate characters are dark, and a coloured blob next to them reads as a character."""
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
    coloured = (hsv[:, :, 1] >= max(STICKER_SATURATION, plate_saturation + 80)) & (hsv[:, :, 2] >= 90)
    if not coloured.any():
        return crop
    out = crop.copy()
    bright = hsv[:, :, 2] >= np.percentile(hsv[:, :, 2], 75)
    background = np.median(crop[bright & ~coloured], axis=0) if (bright & ~coloured).any() else (255, 255, 255)
    out[coloured] = np.asarray(background, dtype=np.uint8)
    return out


def _plate_box(quad: np.ndarray) -> Box:
    """The plate's box from its text line: the line's bounding box, widened for the band and margins that the text
    does not cover (calibrated on the tuning half of the development sets, docs/plates.md)."""
    x0, y0 = float(quad[:, 0].min()), float(quad[:, 1].min())
    x1, y1 = float(quad[:, 0].max()), float(quad[:, 1].max())
    w, h = x1 - x0, y1 - y0
    x0 -= 0.08 * w
    x1 += 0.04 * w
    y0 -= 0.12 * h
    y1 += 0.12 * h
    return round(x0), round(y0), round(x1 - x0), round(y1 - y0)


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0, min(ax1, bx1) - max(a[0], b[0]))
    ih = max(0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def _distinct(candidates: Iterable[PlateCandidate]) -> list[PlateCandidate]:
    """Best first, dropping a candidate whose box overlaps a better one (a merged line and its pieces)."""
    kept: list[PlateCandidate] = []
    for c in candidates:
        if all(iou(c.box, k.box) < 0.3 and c.text != k.text for k in kept):
            kept.append(c)
    return kept
