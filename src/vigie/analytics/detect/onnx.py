"""Deep object detection with an ONNX model run by onnxruntime (YOLOX, PicoDet/NanoDet-GFL, FastestDet, YOLOv8).

One ``OnnxDetector`` per model and process; it is stateless between frames, so many camera pipelines can share it
(``detect_batch`` groups their frames into one session call when the model has a dynamic batch axis). The model
file is checked against its declared format when the detector is built — and by ``inspect_model``, which is what
``vigie models add`` calls — so a wrong file fails at configuration time with a message naming what was expected
and what was found, never with an odd shape error on the first frame.

With an approved ``sha256`` (the hash ``vigie models add`` registered), every load reads the file once, hashes those
bytes and hands the very same bytes to onnxruntime: a file changed since its approval raises
``ModelIntegrityError`` and nothing is loaded (L30: only approved model versions run), and nothing can swap the
file between the check and the load.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import numpy.typing as npt
import onnxruntime as ort  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field

from vigie.analytics.detect.classes import coco_lookup, kept_coco_ids
from vigie.analytics.detect.decoders import Decoder, ModelFormatError, Shape, check_layout, make_decoder
from vigie.analytics.detect.letterbox import FrameError, InputTransform, ModelFormat, as_bgr, preprocess
from vigie.analytics.detect.nms import batched_nms
from vigie.domain.detections import Detections, ObjectClass

__all__ = [
    "FrameError",
    "ModelFormat",
    "ModelFormatError",
    "ModelInfo",
    "ModelIntegrityError",
    "OnnxDetector",
    "OnnxDetectorConfig",
    "inspect_model",
]

log = logging.getLogger(__name__)

Provider = Literal["tensorrt", "cuda", "cpu"]
_ORT_PROVIDERS: dict[Provider, str] = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
DEFAULT_SCORE: dict[ModelFormat, float] = {"yolox": 0.3, "gfl": 0.4, "fastestdet": 0.5, "yolov8": 0.25}
"""Score thresholds used when the configuration gives none (YOLOX/PicoDet as in their SOURCE notes)."""
_NCHW = 4
_ORT_WARNING = 2


class OnnxDetectorConfig(BaseModel):
    """An ONNX object detector: which file, how its tensors are laid out, and how it should run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_path: Path = Field(title="Model file", description="Path of the .onnx file.")
    format: ModelFormat = Field(
        title="Output format",
        description="yolox (undecoded grid cells), gfl (PicoDet/NanoDet distribution boxes), fastestdet "
        "(one obj/box/class map) or yolov8 (Ultralytics [4+C, N], no objectness).",
    )
    input_size: Annotated[tuple[int, int] | None, Field(title="Input size")] = Field(
        default=None,
        description="Model input (height, width) in pixels; by default read from the model (needed when dynamic).",
    )
    score_threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        title="Score threshold",
        description="Minimum detection score; by default 0.3 (yolox), 0.4 (gfl), 0.5 (fastestdet), 0.25 (yolov8).",
    )
    nms_iou: float = Field(
        default=0.45, gt=0.0, le=1.0, title="NMS IoU", description="Overlap above which a same-class box is dropped."
    )
    max_detections: int = Field(default=300, ge=1, title="Max detections", description="Per frame, after NMS.")
    providers: tuple[Provider, ...] = Field(
        default=("cuda", "cpu"),
        min_length=1,
        title="Execution providers",
        description="Preference order among tensorrt, cuda, cpu; those onnxruntime lacks are skipped and CPU is "
        "always the last resort. The provider actually used is logged.",
    )
    intra_op_threads: int = Field(
        default=1,
        ge=0,
        title="Intra-op threads",
        description="onnxruntime threads per inference (0 = onnxruntime decides). 1 suits many cameras per host.",
    )
    sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        title="Approved SHA-256",
        description="The hash registered for the file (``vigie models add``); when given, the file is hashed at "
        "every load and refused unless it still has it.",
    )
    classes: frozenset[ObjectClass] | None = Field(
        default=None,
        title="Class filter",
        description="Only report these Vigie classes (default: all of person, bicycle, car, motorcycle, bus, "
        "truck, bag).",
    )


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What ``inspect_model`` found in a model file that matches its declared format."""

    path: Path
    format: ModelFormat
    input_name: str
    input_size: tuple[int, int]
    """(height, width) in pixels."""
    batch_size: int | None
    """Fixed batch size, or None when the batch axis is dynamic (one session call per batch)."""
    num_classes: int
    outputs: tuple[tuple[str, Shape], ...]
    gfl_levels: int = 0


def _shape(value: Sequence[int | str | None]) -> Shape:
    return tuple(v if isinstance(v, int | str) or v is None else None for v in value)


def _describe(session: ort.InferenceSession, path: Path, fmt: ModelFormat, size: tuple[int, int] | None) -> ModelInfo:
    inputs = session.get_inputs()
    outputs = tuple((o.name, _shape(o.shape)) for o in session.get_outputs())
    found = ", ".join(f"{i.name} {list(i.shape)} {i.type}" for i in inputs)
    if len(inputs) != 1 or len(inputs[0].shape) != _NCHW or inputs[0].type != "tensor(float)":
        raise ModelFormatError(f"{path.name}: expected one float32 input [batch, 3, height, width]; found {found}")
    shape = _shape(inputs[0].shape)
    if shape[1] not in (3, None) and not isinstance(shape[1], str):
        raise ModelFormatError(f"{path.name}: expected a 3-channel input [batch, 3, height, width]; found {found}")
    h, w = shape[2], shape[3]
    if size is None:
        if not (isinstance(h, int) and isinstance(w, int) and h > 0 and w > 0):
            raise ModelFormatError(f"{path.name}: the input size is dynamic ({found}); set input_size in the config")
        size = (h, w)
    elif (isinstance(h, int) and h > 0 and h != size[0]) or (isinstance(w, int) and w > 0 and w != size[1]):
        raise ModelFormatError(f"{path.name}: input_size {size} given, but the model's input is fixed: {found}")
    try:
        classes, levels = check_layout(fmt, size, outputs)
    except ModelFormatError as err:
        raise ModelFormatError(f"{path.name}: {err}") from None
    batch = shape[0] if isinstance(shape[0], int) and shape[0] > 0 else None
    return ModelInfo(path, fmt, inputs[0].name, size, batch, classes, outputs, levels)


class ModelIntegrityError(Exception):
    """A model file whose SHA-256 is not the approved one (L30): it is not loaded. The message says what to do."""

    def __init__(self, path: Path, expected: str, found: str) -> None:
        self.path, self.expected, self.found = path, expected, found
        super().__init__(
            f"{path}: SHA-256 {found[:16]}…, not the approved {expected[:16]}… registered for it — the file changed "
            "since it was registered, so it is refused; put the approved file back, or approve this one with "
            "`vigie models add FILE --format F --name NAME` (or `vigie models install NAME`)"
        )


def _session(path: Path, providers: Sequence[str], threads: int, sha256: str | None = None) -> ort.InferenceSession:
    if not path.is_file():
        raise ModelFormatError(f"model file not found: {path}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # the PicoDet export floods warnings about initializers listed as inputs
    source: str | bytes = str(path)
    if sha256 is not None:  # hash the bytes that are loaded, not the file a moment before
        source = path.read_bytes()
        found = hashlib.sha256(source).hexdigest()
        if found != sha256:
            raise ModelIntegrityError(path, sha256, found)
    try:
        return ort.InferenceSession(source, sess_options=options, providers=list(providers))
    except Exception as err:  # onnxruntime raises its own untyped errors for unreadable files
        raise ModelFormatError(f"{path.name}: onnxruntime cannot load it ({err})") from err


FORMATS: tuple[ModelFormat, ...] = ("yolox", "gfl", "fastestdet", "yolov8")


def inspect_model(path: Path | str, format: str, input_size: tuple[int, int] | None = None) -> ModelInfo:
    """Check that ``path`` is a ``format`` model without running a frame; raise ``ModelFormatError`` if not.

    ``format`` is a plain string so command lines can pass what the user typed; unknown names are refused here.
    """
    fmt = next((f for f in FORMATS if f == format), None)
    if fmt is None:
        raise ModelFormatError(f"unknown model format {format!r}; expected one of {', '.join(FORMATS)}")
    path = Path(path)
    return _describe(_session(path, ["CPUExecutionProvider"], 1), path, fmt, input_size)


def choose_providers(preference: Sequence[Provider]) -> list[str]:
    """onnxruntime provider names in preference order, limited to those available, CPU always last."""
    available = set(ort.get_available_providers())
    chosen = [_ORT_PROVIDERS[p] for p in preference if _ORT_PROVIDERS[p] in available]
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen


class OnnxDetector:
    """Objects in BGR frames, as Vigie classes, boxes in frame pixels."""

    def __init__(self, config: OnnxDetectorConfig) -> None:
        self.config = config
        wanted = choose_providers(config.providers)
        self._session = _session(config.model_path, wanted, config.intra_op_threads, config.sha256)
        self.info = _describe(self._session, config.model_path, config.format, config.input_size)
        self.provider = self._session.get_providers()[0]
        if self.provider != wanted[0] or self.provider != _ORT_PROVIDERS[config.providers[0]]:
            log.warning(
                "%s runs on %s (preferred %s; onnxruntime offers %s)",
                config.model_path.name,
                self.provider,
                config.providers[0],
                ", ".join(ort.get_available_providers()),
            )
        log.info("%s (%s) runs on %s", config.model_path.name, config.format, self.provider)
        kept = kept_coco_ids(config.classes, self.info.num_classes)
        self._to_vigie = coco_lookup(self.info.num_classes)
        self._decoder: Decoder = make_decoder(config.format, self.info.input_size, kept, self.info.gfl_levels)
        self._threshold = DEFAULT_SCORE[config.format] if config.score_threshold is None else config.score_threshold
        self._output_names = [name for name, _ in self.info.outputs]
        self._local = threading.local()

    @property
    def input_size(self) -> tuple[int, int]:
        return self.info.input_size

    @property
    def batch_size(self) -> int | None:
        """None when one session call can take any number of frames."""
        return self.info.batch_size

    def detect(self, frame_bgr: npt.NDArray[np.generic]) -> Detections:
        """Objects in one frame (grey is expanded, alpha dropped; other dtypes/shapes raise ``FrameError``)."""
        return self.detect_batch([frame_bgr])[0]

    def detect_batch(self, frames: Sequence[npt.NDArray[np.generic]]) -> list[Detections]:
        """Objects in each frame; one session call per ``batch_size`` frames (all at once if the axis is dynamic)."""
        images = [as_bgr(f) for f in frames]
        chunk = self.info.batch_size or max(1, len(images))
        results: list[Detections] = []
        for start in range(0, len(images), chunk):
            results.extend(self._run(images[start : start + chunk], chunk))
        return results

    def prepare(
        self, frames: Sequence[npt.NDArray[np.uint8]], batch: int
    ) -> tuple[npt.NDArray[np.float32], list[InputTransform]]:
        """The input tensor for up to ``batch`` BGR frames (zero-padded to ``batch``) and each frame's mapping.

        The tensor is this thread's reusable buffer: the next call on the same thread overwrites it."""
        h, w = self.info.input_size
        tensor = self._buffer(batch, (h, w))
        transforms = [preprocess(f, self.config.format, (h, w), tensor[i])[1] for i, f in enumerate(frames)]
        tensor[len(frames) :] = 0.0
        return tensor, transforms

    def _buffer(self, batch: int, size: tuple[int, int]) -> npt.NDArray[np.float32]:
        """This thread's input tensor for ``batch`` frames, reused from call to call: a fresh 1.5 MB array per
        frame costs page faults and cache misses worth a tenth of a small model's run time. Per thread, so
        pipelines sharing the detector from several threads never write into each other's input."""
        buffers: dict[int, npt.NDArray[np.float32]] = self._local.__dict__.setdefault("buffers", {})
        tensor = buffers.get(batch)
        if tensor is None:
            tensor = buffers[batch] = np.zeros((batch, 3, *size), np.float32)
        return tensor

    def _run(self, images: Sequence[npt.NDArray[np.uint8]], batch: int) -> list[Detections]:
        tensor, transforms = self.prepare(images, batch)
        raw = self._session.run(self._output_names, {self.info.input_name: tensor})
        return [self._finish([np.asarray(o[i], np.float32) for o in raw], t) for i, t in enumerate(transforms)]

    def _finish(self, outputs: Sequence[npt.NDArray[np.float32]], transform: InputTransform) -> Detections:
        found = self._decoder.decode(outputs, self._threshold)
        if len(found.scores) == 0:
            return Detections()
        classes = self._to_vigie[found.coco_ids]
        keep = batched_nms(found.boxes, found.scores, classes, self.config.nms_iou, self.config.max_detections)
        boxes = transform.to_frame(found.boxes[keep])
        return Detections.create(boxes, found.scores[keep], classes[keep])
