"""The plate reader and voter a camera's ``plate_reading`` runs with (:class:`vigie.analytics.plates.PlateTools`).

Built in the camera's worker thread, once per camera (the reader's onnxruntime sessions are one thread's, with one
intra-op thread: a camera's plate reading costs at most one core, counted). The models are PaddleOCR's PP-OCRv4, in
the ``rapidocr_onnxruntime`` wheel: nothing is downloaded, and their identity goes with every read (L30).
"""

from __future__ import annotations

from importlib import metadata

from vigie.analytics.plates import PlateTools

DETECT_SIDE = 640
"""The longer side a vehicle's box is scaled to for the text detector: a plate a third of a car's width is then
about 200 px wide, plenty for the recogniser, at less than half the cost of 1024 (measured on the lane scene: the
same 34/34 plates read, 284 against 667 ms a read on a loaded 2-core machine)."""


def model_version() -> str:
    """The reader's models as recorded with each read: the wheel that ships them, and its version."""
    try:
        return f"pp-ocrv4@rapidocr-onnxruntime-{metadata.version('rapidocr-onnxruntime')}"
    except metadata.PackageNotFoundError:  # an unpackaged checkout: the models are still the wheel's files
        return "pp-ocrv4@rapidocr-onnxruntime"


def plate_tools() -> PlateTools:
    """A reader and a voter factory for one camera. Imported here: only the processes of cameras that read plates
    load the OCR's modules."""
    from vigie.lpr.reader import PlateReader
    from vigie.lpr.vote import TrackVoter

    def voter(track_end_s: float) -> TrackVoter:
        return TrackVoter(max_age_s=track_end_s)

    return PlateTools(PlateReader(threads=1, detect_side=DETECT_SIDE), voter, model_version())
