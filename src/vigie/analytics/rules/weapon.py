"""``weapon`` (décret 2023-828): presence of a weapon, only with a model file the deployer has approved.

Vigie ships no weapon model. The module is built from a model file and the SHA-256 recorded when it was approved
(``vigie models add`` records it); without one, or when the file on disk no longer has that hash, it refuses to be
built with a reason that says what to do — so an activation can never switch on a module that has nothing behind
it. Detections of the model's weapon class are reported as they come, one hit per track.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from vigie.analytics.rules.base import BoundedMemory, RuleConfig, RuleHit, RuleInput, normalised
from vigie.domain.digest import file_sha256


class ModuleUnavailable(RuntimeError):
    """A module that cannot run as configured; the message says why and what to do."""


class WeaponConfig(RuleConfig):
    model_path: Path | None = Field(default=None, title="Model file", description="The approved weapon model.")
    model_sha256: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$", title="Approved SHA-256", description="Hash recorded at approval."
    )
    class_id: int = Field(default=0, ge=0, title="Weapon class", description="Class id of weapons in the model.")
    min_score: float = Field(default=0.6, ge=0.0, le=1.0, title="Score", description="Least score reported.")


def check_weapon_model(config: WeaponConfig) -> None:
    """Raise ``ModuleUnavailable`` unless an approved model file is configured and still has its approved hash."""
    if config.model_path is None or config.model_sha256 is None:
        raise ModuleUnavailable(
            "weapon: no approved model — Vigie ships none; register one with `vigie models add FILE --format F` "
            "and set model_path and model_sha256 of the weapon module to the registered file and hash"
        )
    if not config.model_path.is_file():
        raise ModuleUnavailable(f"weapon: the approved model file {config.model_path} is missing")
    found = file_sha256(config.model_path)
    if found != config.model_sha256:
        raise ModuleUnavailable(
            f"weapon: {config.model_path.name} has SHA-256 {found[:16]}…, not the approved {config.model_sha256[:16]}…;"
            " a changed model must be approved again"
        )


class Weapon:
    module: ClassVar[str] = "weapon"
    needs_frame: ClassVar[bool] = False
    kind: ClassVar[str] = "weapon"

    def __init__(self, config: WeaponConfig) -> None:
        check_weapon_model(config)
        self.config = config
        self._reported: BoundedMemory[bool] = BoundedMemory(forget_after_s=30.0)

    def update(self, data: RuleInput) -> list[RuleHit]:
        """``data.tracks`` are the weapon model's tracked detections (its own class ids)."""
        self._reported.expire(data.at)
        tracks = data.tracks
        hits = []
        for i, track_id in enumerate(tracks.track_ids.tolist()):
            if int(tracks.class_ids[i]) != self.config.class_id or float(tracks.scores[i]) < self.config.min_score:
                continue
            if self._reported.get(track_id) is None:
                hits.append(RuleHit(self.kind, normalised(tracks.boxes[i], data.frame_size), float(tracks.scores[i])))
            self._reported.put(track_id, True, data.at)
        return hits

    def reset(self) -> None:
        self._reported.clear()
