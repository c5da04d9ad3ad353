"""``vigie models list | add | install``: the registry of detection models at the command line. Adding and
installing are recorded in the audit log (:class:`ModelRegistry`); only registered models run (L30)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from vigie.cli.commands.context import run_opened
from vigie.runtime.assembly.models import KNOWN_MODELS, ModelError, ModelRegistry


def _with_registry(config_path: Path, action: Callable[[ModelRegistry], int]) -> int:
    """Run ``action`` on the configured registry (an unusable configuration or database gives exit code 2)."""
    return run_opened(
        config_path,
        lambda opened: action(
            ModelRegistry(opened.config.storage.data_dir / "models", opened.audit, clock=opened.clock)
        ),
    )


def models_list_command(config_path: Path) -> int:
    def show(registry: ModelRegistry) -> int:
        models = registry.models()
        if not models:
            print("No model installed: analysis uses the motion detector (no model needed).")
        for m in models:
            print(f"{m.name}\t{m.format}\t{m.bytes} bytes\tsha256 {m.sha256}\tfrom {m.source}")
            found = registry.changed(m)
            if found is not None:
                now = "is missing" if found == "missing" else f"now has SHA-256 {found}"
                print(
                    f"  CHANGED: {registry.root / m.file} {now}: camera workers refuse it (L30); put the registered "
                    f"file back, or register this one with `vigie models add FILE --format {m.format} --name {m.name}`"
                )
        installable = ", ".join(f"{k} ({v.format})" for k, v in sorted(KNOWN_MODELS.items()))
        print(f"installable with `vigie models install NAME`: {installable}")
        return 0

    return _with_registry(config_path, show)


def models_add_command(config_path: Path, file: Path, model_format: str, name: str | None) -> int:
    def add(registry: ModelRegistry) -> int:
        try:
            entry = registry.add(file, model_format, name)
        except ModelError as err:
            print(f"vigie models add: {err}; nothing was registered", file=sys.stderr)
            return 2
        print(f"registered {entry.name} ({entry.format}), sha256 {entry.sha256}")
        return 0

    return _with_registry(config_path, add)


def models_install_command(config_path: Path, name: str) -> int:
    def install(registry: ModelRegistry) -> int:
        try:
            entry = registry.install(name)
        except ModelError as err:
            print(f"vigie models install: {err}", file=sys.stderr)
            return 1
        print(f"installed {entry.name} ({entry.format}) from {entry.source}, sha256 {entry.sha256}")
        return 0

    return _with_registry(config_path, install)
