"""The model registry: ``vigie models list | add FILE --format F | install NAME`` (no weights are ever committed).

Models live in ``<data_dir>/models/`` with a ``registry.json`` naming each one's file, format, SHA-256, input size
and origin. ``add`` validates the file with the detector's own inspection (inputs/outputs must match the declared
format) before registering anything, so a wrong file fails at ``add``, never at run time. ``install`` downloads
from a pinned upstream URL and refuses anything whose SHA-256 differs; offline it fails with what to do instead.
Every registration is audited with the model's hash (L30: only known model versions run).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from vigie.domain.audit import AuditAction, AuditEvent
from vigie.domain.clock import Clock
from vigie.domain.digest import file_sha256 as sha256_of
from vigie.domain.ports import AuditSink
from vigie.runtime.clock import system_clock

REGISTRY_FILE: Final = "registry.json"
DOWNLOAD_TIMEOUT_S: Final = 30.0


@dataclass(frozen=True, slots=True)
class CatalogueModel:
    """A model Vigie knows how to fetch: its upstream file at a fixed commit, and the hash it must have."""

    name: str
    format: str
    url: str
    sha256: str
    licence: str


KNOWN_MODELS: Final = {
    m.name: m
    for m in (
        CatalogueModel(
            "yolox_nano",
            "yolox",
            "https://raw.githubusercontent.com/Bigisland1729/object-detection-models/"
            "7f3f2fa34b351e3d2af150893458106ad3f3a84f/yolox_nano.onnx",
            "e8af074932d4ed7e232278e3055cefcdea3edf178874a3694ae292649fb464dd",
            "unstated for this export (YOLOX upstream: Apache-2.0); evaluation use",
        ),
        CatalogueModel(
            "picodet_s_320",
            "gfl",
            "https://raw.githubusercontent.com/hpc203/picodet-onnxruntime/"
            "dfe4d6cd0a18cd4126ee381e81df8a0b1e6ad97b/coco/picodet_s_320_coco.onnx",
            "d7852a1508b36bfc2739770ad52ff28bf81e219dc5c15dd7868d5ebdf007b6c8",
            "unstated for this export (PaddleDetection upstream: Apache-2.0); evaluation use",
        ),
        CatalogueModel(
            "fastestdet",
            "fastestdet",
            "https://raw.githubusercontent.com/dog-qiuqiu/FastestDet/"
            "50473cd155cb088aa4a99e64ff6a4b3c24fa07e1/example/onnx-runtime/FastestDet.onnx",
            "31cb14c017fce347cb4c846ec62fdf00d76bb3beecdf4be21e7116ac67feb880",
            "BSD-3-Clause",
        ),
    )
}


class ModelError(Exception):
    """A model cannot be registered; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    name: str
    format: str
    file: str
    sha256: str
    bytes: int
    added_at: str
    source: str
    details: dict[str, Any]


Inspector = Callable[[Path, str], Any]
"""Validates a model file against a format and returns what it found (raises on mismatch)."""


def _default_inspector(path: Path, model_format: str) -> Any:
    from vigie.analytics.detect.onnx import inspect_model

    return inspect_model(path, model_format)


class ModelRegistry:
    def __init__(
        self, root: Path, audit: AuditSink, inspector: Inspector = _default_inspector, clock: Clock = system_clock
    ) -> None:
        self.root = root
        self._clock = clock
        self._audit = audit
        self._inspect = inspector

    def models(self) -> list[RegisteredModel]:
        return installed_models(self.root)

    def get(self, name: str) -> RegisteredModel | None:
        return next((m for m in self.models() if m.name == name), None)

    def changed(self, model: RegisteredModel) -> str | None:
        """The SHA-256 the model's file has now when it is not the registered one (``missing`` without a file), or
        None when intact. Camera workers run the same check at every load and refuse a changed file (L30)."""
        path = self.root / model.file
        if not path.is_file():
            return "missing"
        found = sha256_of(path)
        return None if found == model.sha256 else found

    def add(self, source: Path, model_format: str, name: str | None = None, origin: str = "") -> RegisteredModel:
        """Validate ``source`` as ``model_format``, copy it in and register it (replacing a same-named one)."""
        if not source.is_file():
            raise ModelError(f"no model file at {source}")
        name = name or source.stem
        try:
            info = self._inspect(source, model_format)
        except Exception as err:  # the inspector's errors name the mismatch; shown as they are
            raise ModelError(f"{source} is not a usable {model_format!r} model: {err}") from err
        digest = sha256_of(source)
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.root / f"{name}.onnx"
        partial = target.with_suffix(".onnx.partial")
        shutil.copyfile(source, partial)
        partial.replace(target)
        entry = RegisteredModel(
            name=name,
            format=model_format,
            file=target.name,
            sha256=digest,
            bytes=target.stat().st_size,
            added_at=self._clock().isoformat(),
            source=origin or str(source),
            details=_plain(info),
        )
        self._save([*(m for m in self.models() if m.name != name), entry])
        self._audit.append(
            AuditEvent(
                "cli:models",
                AuditAction.CONFIG_CHANGED,
                f"model:{name}",
                {"change": "model registered", "format": model_format, "sha256": digest, "source": entry.source},
            )
        )
        return entry

    def install(self, name: str, *, catalogue: dict[str, CatalogueModel] | None = None) -> RegisteredModel:
        """Download a known model from its pinned URL, check its SHA-256, then :meth:`add` it."""
        known = (catalogue or KNOWN_MODELS).get(name)
        if known is None:
            names = ", ".join(sorted(catalogue or KNOWN_MODELS))
            raise ModelError(f"unknown model {name!r}; installable models: {names} (or use `vigie models add FILE`)")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{name}.onnx"
            try:
                with urllib.request.urlopen(known.url, timeout=DOWNLOAD_TIMEOUT_S) as response, path.open("wb") as f:  # noqa: S310 - pinned https URL (or a test's loopback)
                    shutil.copyfileobj(response, f)
            except (urllib.error.URLError, TimeoutError, OSError) as err:
                raise ModelError(
                    f"cannot download {name} from {known.url}: {err}. On a machine without internet, fetch that "
                    f"file elsewhere, check its SHA-256 is {known.sha256}, then run "
                    f"`vigie models add FILE --format {known.format} --name {name}`"
                ) from None
            digest = sha256_of(path)
            if digest != known.sha256:
                raise ModelError(
                    f"downloaded {name} has SHA-256 {digest}, expected {known.sha256}: refused (nothing installed)"
                )
            return self.add(path, known.format, name, origin=known.url)

    def _save(self, models: list[RegisteredModel]) -> None:
        path = self.root / REGISTRY_FILE
        partial = path.with_suffix(".json.partial")
        partial.write_text(json.dumps([asdict(m) for m in models], indent=2) + "\n", encoding="utf-8")
        partial.replace(path)


def installed_models(root: Path) -> list[RegisteredModel]:
    """The models registered under ``root`` (read-only; nothing is audited for reading)."""
    path = root / REGISTRY_FILE
    if not path.exists():
        return []
    return [RegisteredModel(**entry) for entry in json.loads(path.read_text(encoding="utf-8"))]


def _plain(info: Any) -> dict[str, Any]:
    """What the inspector found, as JSON data (dataclass, mapping or anything with a repr)."""
    if info is None:
        return {}
    data = asdict(info) if hasattr(info, "__dataclass_fields__") else info if isinstance(info, dict) else None
    if data is None:
        return {"summary": str(info)}
    plain: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return plain
