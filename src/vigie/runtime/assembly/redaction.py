"""The redacted copies of access requests (L19) as ``vigie serve`` makes them: the configured cameras' footage from
the segment index and store, exported and signed like any export, redacted with the model the configuration names
(``privacy.redaction_model``, a registered model checked against its SHA-256 at load, L30) at its score threshold
(``privacy.redaction_score``), on the execution providers of the shared detectors (``workers.detector``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import av

from vigie.analytics.detect.decoders import ModelFormatError
from vigie.analytics.detect.onnx import ModelIntegrityError, OnnxDetector, OnnxDetectorConfig
from vigie.config.models import VigieConfig
from vigie.domain.access_requests import AccessRequestError
from vigie.domain.recording import SegmentIndex, SegmentStore
from vigie.recording.manifest import CameraIdentity, ManifestSigner
from vigie.runtime.assembly.models import ModelRegistry
from vigie.services.redacted_copies import ClipInfo, RedactedCopyMaker, RedactionModel, RedactionModelError


def open_copy_maker(  # noqa: PLR0917 - the parts it joins, each named once
    config: VigieConfig,
    index: SegmentIndex,
    store: SegmentStore,
    signer: ManifestSigner,
    registry: ModelRegistry,
    clock: Callable[[], datetime],
) -> RedactedCopyMaker:
    """The copy maker over the configured cameras (enabled or not: a disabled camera may still have footage),
    ``index`` and ``store``, signing with ``signer`` (the audit chain's current key). The redaction model is loaded
    from ``registry`` at the first copy, not here: a server without it starts, and preparing a copy says what to
    install."""
    cameras = [CameraIdentity.of(placement.camera) for placement in config.placements()]
    return RedactedCopyMaker(index, store, signer, cameras, model_loader(config, registry), clip_info, clock)


def model_loader(config: VigieConfig, registry: ModelRegistry) -> Callable[[], RedactionModel]:
    """The configured redaction model, loaded once (again only when its registration changes), hash-checked."""
    name, score = config.privacy.redaction_model, config.privacy.redaction_score
    settings = config.workers.detector
    lock = threading.Lock()
    loaded: dict[tuple[str, str], RedactionModel] = {}

    def load() -> RedactionModel:
        entry = registry.get(name)
        if entry is None:
            installed = ", ".join(sorted(m.name for m in registry.models())) or "none"
            raise RedactionModelError(
                f"the redaction model {name!r} (privacy.redaction_model) is not installed (installed: {installed}): "
                f"install it: vigie models install {name} (or `vigie models add FILE --format F --name {name}`)"
            )
        key = (entry.file, entry.sha256)
        with lock:
            if key not in loaded:
                try:
                    detector = OnnxDetector(
                        OnnxDetectorConfig(
                            model_path=registry.root / entry.file,
                            format=entry.format,
                            score_threshold=score,
                            sha256=entry.sha256,
                            providers=tuple(settings.providers),
                            intra_op_threads=settings.intra_op_threads,
                        )
                    )
                except (ModelIntegrityError, ModelFormatError) as err:
                    raise RedactionModelError(f"the redaction model {name!r} cannot be used: {err}") from err
                loaded.clear()
                loaded[key] = RedactionModel(detector, f"{entry.name}@{entry.sha256}", score)
            return loaded[key]

    return load


def clip_info(path: Path) -> ClipInfo:
    """Frame count (from the MP4's index; counted by demuxing when it has none), size and rate of a clip."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            rate = float(stream.average_rate or stream.guessed_rate or 0)
            frames = stream.frames or sum(1 for p in container.demux(stream) if p.size)
            return ClipInfo(int(frames), stream.codec_context.width, stream.codec_context.height, rate)
    except (av.FFmpegError, IndexError) as err:
        raise AccessRequestError(f"the exported clip {path.name} cannot be read: {err}") from err
