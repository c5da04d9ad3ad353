"""``vigie models``: validate at add time, pinned downloads, clear offline failure, every registration audited."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.audit_sinks import ListAudit
from tests.support.clocks import FakeClock
from vigie.runtime.assembly.models import CatalogueModel, ModelError, ModelRegistry, sha256_of

MODELS = Path(__file__).resolve().parents[3] / "shared" / "data" / "models"
YOLOX = MODELS / "yolox_nano.onnx"
FASTEST = MODELS / "FastestDet.onnx"
needs_models = pytest.mark.skipif(not YOLOX.exists(), reason=f"development models not found in {MODELS}")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """A loopback HTTP server serving a copy of the model: the download path, for real, without internet."""
    site = tmp_path / "site"
    site.mkdir()
    if YOLOX.exists():
        shutil.copy(YOLOX, site / "yolox_nano.onnx")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@needs_models
def test_add_validates_copies_hashes_and_audits(tmp_path: Path) -> None:
    audit = ListAudit()
    registry = ModelRegistry(tmp_path / "models", audit, clock=FakeClock())
    entry = registry.add(YOLOX, "yolox")
    assert entry.sha256 == sha256_of(YOLOX) and (tmp_path / "models" / "yolox_nano.onnx").exists()
    assert [m.name for m in registry.models()] == ["yolox_nano"]
    assert audit.records[-1].details["sha256"] == entry.sha256


@needs_models
def test_a_model_of_the_wrong_format_is_refused_at_add(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path / "models", ListAudit())
    with pytest.raises(ModelError, match="not a usable 'yolox' model"):
        registry.add(FASTEST, "yolox")
    assert registry.models() == []
    with pytest.raises(ModelError, match="no model file"):
        registry.add(tmp_path / "missing.onnx", "yolox")


@needs_models
def test_install_downloads_checks_the_hash_and_registers(tmp_path: Path, served: str) -> None:
    registry = ModelRegistry(tmp_path / "models", ListAudit())
    good = CatalogueModel("yolox_nano", "yolox", f"{served}/yolox_nano.onnx", sha256_of(YOLOX), "test")
    entry = registry.install("yolox_nano", catalogue={"yolox_nano": good})
    assert entry.source == good.url and entry.sha256 == good.sha256

    tampered = CatalogueModel("yolox_nano", "yolox", good.url, "0" * 64, "test")
    other = ModelRegistry(tmp_path / "other", ListAudit())
    with pytest.raises(ModelError, match="expected 0000"):
        other.install("yolox_nano", catalogue={"yolox_nano": tampered})
    assert other.models() == []


def test_install_offline_says_what_to_do(tmp_path: Path) -> None:
    from tests.support.servers import free_port

    registry = ModelRegistry(tmp_path / "models", ListAudit())
    unreachable = CatalogueModel("m", "yolox", f"http://127.0.0.1:{free_port()}/m.onnx", "a" * 64, "test")
    with pytest.raises(ModelError) as err:
        registry.install("m", catalogue={"m": unreachable})
    assert "cannot download m" in str(err.value) and "vigie models add FILE --format yolox --name m" in str(err.value)
    with pytest.raises(ModelError, match="installable models: m"):
        registry.install("nope", catalogue={"m": unreachable})
