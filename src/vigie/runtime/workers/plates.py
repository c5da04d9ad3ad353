"""The plate reader and voter a camera's ``plate_reading`` runs with (:class:`vigie.analytics.plates.PlateTools`).

Built in the camera's worker thread, once per camera (the reader's onnxruntime sessions are one thread's, with one
intra-op thread: a camera's plate reading costs at most one core, counted). The models are PaddleOCR's PP-OCRv4, in
the ``rapidocr_onnxruntime`` wheel: nothing is downloaded, and their identity goes with every read (L30).
"""

from __future__ import annotations

from importlib import metadata

from vigie.analytics.plates import PlateTools


def model_version() -> str:
    """The reader's models as recorded with each read: the wheel that ships them, and its version."""
    try:
        return f"pp-ocrv4@rapidocr-onnxruntime-{metadata.version('rapidocr-onnxruntime')}"
    except metadata.PackageNotFoundError:  # an unpackaged checkout: the models are still the wheel's files
        return "pp-ocrv4@rapidocr-onnxruntime"


def plate_tools(detect_side: int = 640) -> PlateTools:
    """A reader (text detection on vehicle boxes scaled to ``detect_side``, the module's setting) and a voter factory
    for one camera. Imported here: only the processes of cameras that read plates load the OCR's modules."""
    from vigie.lpr.reader import PlateReader
    from vigie.lpr.vote import TrackVoter

    def voter(track_end_s: float) -> TrackVoter:
        return TrackVoter(max_age_s=track_end_s)

    return PlateTools(PlateReader(threads=1, detect_side=detect_side), voter, model_version())
