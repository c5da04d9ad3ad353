"""The object detector of one camera's analysis, one settings class per detector plugin, joined by ``kind``.

* ``model`` — a registered ONNX model (``vigie models``); on a thermal camera it reads the thermal picture as
  grey replicated to three channels, which is what COCO models trained on colour can read. The advice for
  people on a thermal camera.
* ``hot_blob`` — hot blobs against a learnt background (thermal cameras only): heat itself, fire starts and hot
  spots, with a size/shape guess at persons.
* both on a thermal camera: ``{kind: model, name: NAME, hot_spots: {...hot_blob settings...}}`` (or
  ``hot_spots: true`` for the defaults) — persons and vehicles from the model, hot spots from the hot-blob detector,
  which then never classifies a blob as a person (the model does; one person is not reported twice).

The plugins live in ``vigie.analytics.detect``; their settings are declared here because the configuration
package cannot import analytics, and a single declaration serves both ``vigie config check`` and the worker.
A bare model name (``detector: yolox_nano``, the form of earlier files) is read as ``{kind: model, name: ...}``.
The model's field is ``name``, not ``model``: a key spelt like the ``kind`` tag would confuse the line numbers
of ``vigie config check``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Discriminator, Field, Tag

from vigie.config.fields import ConfigModel, NonEmptyText, invalid

_KIND_HINT = "write `kind: model` with `name: NAME` (a registered model), or `kind: hot_blob` on a thermal camera"
_PERSON_SHAPE = ("classify_persons", "person_aspect", "person_height")


class HotBlobDetectorSettings(ConfigModel):
    """Hot blobs on a thermal camera's picture: a pixel is hot when it exceeds a learnt, drift-compensated
    background by several times the frame's noise; blobs are reported as hot spots, or persons by their shape."""

    kind: Literal["hot_blob"] = Field(
        default="hot_blob",
        title="Kind",
        description="`hot_blob`: hot blobs against a learnt background; thermal cameras only.",
    )
    k_sigma: float = Field(
        default=5.0,
        gt=0,
        title="Noise multiple",
        description="A pixel is hot when it exceeds its background by this many times the frame's robust noise.",
    )
    min_contrast: float = Field(
        default=12.0,
        ge=0,
        title="Minimum contrast (8-bit)",
        description="Smallest excess over the background, in grey levels, for 8-bit frames.",
    )
    min_contrast_kelvin: float = Field(
        default=2.0,
        ge=0,
        title="Minimum contrast (radiometric)",
        description="Smallest excess over the background, in kelvin, for 16-bit radiometric frames.",
    )
    counts_per_kelvin: float = Field(
        default=100.0,
        gt=0,
        title="Radiometric resolution",
        description="Raw counts per kelvin of 16-bit radiometric frames (100 for cameras reporting 0.01 K).",
    )
    background_frames: int = Field(
        default=100,
        ge=1,
        title="Background memory",
        description="Frames over which the background adapts (a running mean with rate 1/background_frames).",
    )
    blur_size: int = Field(
        default=5,
        ge=1,
        le=31,
        title="Smoothing size",
        description="Odd size in pixels of the Gaussian smoothing applied before thresholding (1: none).",
    )
    min_area: float = Field(
        default=0.0015,
        gt=0,
        lt=1,
        title="Minimum blob area",
        description="Smallest hot blob kept, as a fraction of the frame area.",
    )
    classify_persons: bool = Field(
        default=True,
        title="Classify persons",
        description="Report blobs whose size and aspect ratio fit an upright person as `PERSON` instead of `HOT_SPOT`.",
    )
    person_aspect: tuple[float, float] = Field(
        default=(1.3, 4.5),
        title="Person aspect ratio",
        description="Range of box height / width of a blob reported as a person.",
    )
    person_height: tuple[float, float] = Field(
        default=(0.06, 0.9),
        title="Person height",
        description="Range of box height, as a fraction of the frame height, of a blob reported as a person.",
    )


def _hot_spots(value: Any) -> Any:
    """``hot_spots``: ``true`` for the defaults, ``false``/unset for none, or hot-blob settings minus what would make
    a second person detector beside the model (the identity hash then matches the same settings under
    ``kind: hot_blob, classify_persons: false``)."""
    if value is None or value is False:
        return None
    if value is True:
        value = {}
    if isinstance(value, HotBlobDetectorSettings):
        value = value.model_dump(exclude={"kind"})
    if not isinstance(value, dict):
        raise invalid("hot_spots must be `true` or a mapping of hot-blob settings", "write `hot_spots: true`")
    if "kind" in value:
        raise invalid(
            "hot_spots are always the hot_blob detector: no `kind` here",
            "remove `kind:` under hot_spots (its settings are those of `kind: hot_blob`)",
        )
    shaped = [key for key in _PERSON_SHAPE if key in value and not (key == "classify_persons" and not value[key])]
    if shaped:
        raise invalid(
            f"beside a model, hot blobs are never classified as persons ({', '.join(shaped)}): the model finds the "
            "persons, and one person must not be reported twice",
            f"remove {', '.join(f'`{key}`' for key in shaped)} under hot_spots, or use `kind: hot_blob` alone",
        )
    return {**value, "classify_persons": False}


HotSpots = Annotated[
    HotBlobDetectorSettings | None,
    BeforeValidator(_hot_spots, json_schema_input_type=bool | HotBlobDetectorSettings | None),
]
"""A model's ``hot_spots``: the hot-blob detector beside it, persons never classified by shape."""


class ModelDetectorSettings(ConfigModel):
    """A registered ONNX object detector (YOLOX, PicoDet, FastestDet, YOLOv8 exports), motion-gated."""

    kind: Literal["model"] = Field(
        default="model", title="Kind", description="`model`: objects found by a registered ONNX detection model."
    )
    name: NonEmptyText = Field(
        title="Model name",
        description="Name of a model registered with `vigie models add` or `vigie models install` (see "
        "`vigie models list`); a name that is not installed stops the start with what to run.",
    )
    score_threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        title="Score threshold",
        description="Minimum detection score; unset, the model format's default (0.3 yolox, 0.4 gfl, 0.5 "
        "fastestdet, 0.25 yolov8).",
    )
    hot_spots: HotSpots = Field(
        default=None,
        title="Hot spots beside the model",
        description="Thermal cameras only: also run the hot-blob detector on every frame and report its blobs as "
        "hot spots (`true`: its default settings; or the settings of `kind: hot_blob`, without `kind` and the "
        "person-shape ones: persons come from the model). A hot blob inside a box the model found is that "
        "object's warmth, not a hot spot. Unset: the model alone.",
    )


def _kind(value: Any) -> str | None:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return kind if isinstance(kind, str) else None


def _shorthand(value: Any) -> Any:
    """A bare name is a model; a mapping must say which detector it is (a guess would hide a typo)."""
    if isinstance(value, str):
        return {"kind": "model", "name": value}
    if isinstance(value, dict) and "kind" not in value:
        raise invalid("the detector has no `kind`", _KIND_HINT)
    return value


DetectorSettings = Annotated[
    Annotated[ModelDetectorSettings, Tag("model")] | Annotated[HotBlobDetectorSettings, Tag("hot_blob")],
    Discriminator(_kind),
]
"""One camera's object detector: ``kind: model`` or ``kind: hot_blob``."""

CameraDetector = Annotated[
    DetectorSettings | None,
    BeforeValidator(_shorthand, json_schema_input_type=str | DetectorSettings | None),
]
"""The ``analysis.detector`` field: a detector, a bare model name (shorthand), or nothing (motion only)."""
