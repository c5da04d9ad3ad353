"""The demo's footage: the built-in scenes its simulated cameras show, rendered at every start (proven simulated,
:func:`vigie.sim.rtsp.proven_render`), and the photo-real cut-out bank of ``--photoreal``.

A light module on purpose (the simulator, no service): ``vigie demo`` starts the renders
(:func:`demo_renders`) before it imports the rest of the platform, so the renders, in processes of their own,
run while this one loads the service (about 3.5 s of imports on a 2-core machine), on the way to the demo's first
event (within 30 s of start, README)."""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from vigie.sim import builtin_scene_path, load_scene
from vigie.sim.cutouts import CutoutDataError, PhotoBank, unpinned_sources
from vigie.sim.rtsp import ProvenRender, proven_render, render_cache_path

log = logging.getLogger(__name__)
DEMO_SCENES = ("street", "situations")
PHOTOREAL_SCENES = ("plaza", "situations", "street")
"""The scenes of the demo's cameras with ``--photoreal``: the plaza (laid out for its real background) first."""
LAPI_CAMERA = "lapi1"
LAPI_SCENE = "lane"
"""The plate-reading camera and its scene (always drawn: its plates are the ground truth)."""


def demo_scene_names(count: int, photo: bool) -> list[str]:
    """The scene each of ``count`` simulated cameras shows (sim1, sim2, …)."""
    scenes = PHOTOREAL_SCENES if photo else DEMO_SCENES
    return [scenes[index % len(scenes)] for index in range(count)]


class DemoRenders:
    """The renders of the demo's scenes, under way in processes of their own (:func:`demo_renders`)."""

    def __init__(self, data_dir: Path, count: int, extra: dict[str, str], photo: PhotoBank | None) -> None:
        self._names = demo_scene_names(count, photo is not None)
        self._extra = dict(extra)
        self._real = photo is not None
        names = [(name, self._real) for name in self._names] + [(name, False) for name in self._extra.values()]
        jobs = list(dict.fromkeys(names))  # each scene once, in the order given: the longest first
        cache = data_dir / "scenes"
        self._cache = cache
        self._inputs = {
            (name, photoreal): (load_scene(builtin_scene_path(name)), photo if photoreal else None)
            for name, photoreal in jobs
        }
        # In processes, not threads: drawing a frame is mostly Python holding the GIL (two render threads took
        # 10.5 s for about 7 s of work per core). Spawned, not forked: the caller may already run threads.
        self._pool = ProcessPoolExecutor(
            max_workers=max(1, min(len(jobs), os.cpu_count() or 1)), mp_context=multiprocessing.get_context("spawn")
        )
        self._jobs: dict[tuple[str, bool], Future[ProvenRender]] = {}
        self._footage: dict[str, Path] | None = None
        try:
            for job, (scene, bank) in self._inputs.items():
                self._jobs[job] = self._pool.submit(proven_render, scene, cache, bank)
        except BaseException:
            self.cancel()
            raise
        self._pool.shutdown(wait=False)  # its processes end with the last render

    def planned(self) -> dict[str, Path]:
        """Where each camera's footage will be once rendered (the renders' cache paths), before they are."""
        paths = {job: render_cache_path(scene, self._cache, photo) for job, (scene, photo) in self._inputs.items()}
        out = {f"sim{index + 1}": paths[(name, self._real)] for index, name in enumerate(self._names)}
        return out | {camera_id: paths[(name, False)] for camera_id, name in self._extra.items()}

    def footage(self) -> dict[str, Path]:
        """Wait for the renders: each camera's footage (``sim1``…, then the extra cameras), each proof logged once.
        A render that failed raises its error here."""
        if self._footage is not None:
            return dict(self._footage)
        rendered = {job: future.result() for job, future in self._jobs.items()}
        for (name, photoreal), proof in rendered.items():
            _log_proof(f"{name} (photo-real)" if photoreal else name, proof)
        out: dict[str, Path] = {}
        for index, name in enumerate(self._names):
            log.info("simulated camera sim%d shows the scene %r", index + 1, name)
            out[f"sim{index + 1}"] = rendered[(name, self._real)].path
        for camera_id, name in self._extra.items():
            log.info("simulated camera %s shows the scene %r", camera_id, name)
            out[camera_id] = rendered[(name, False)].path
        self._footage = out
        return dict(out)

    def cancel(self) -> None:
        """The demo did not start: the renders not begun are dropped, those under way end on their own."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def demo_renders(data_dir: Path, cameras: int, photo: PhotoBank | None = None) -> DemoRenders:
    """Start rendering ``vigie demo``'s footage: its ``cameras`` street cameras and its plate-reading camera."""
    return DemoRenders(data_dir, cameras, {LAPI_CAMERA: LAPI_SCENE}, photo)


def render_demo_scenes(
    data_dir: Path, count: int, extra: dict[str, str] | None = None, photo: PhotoBank | None = None
) -> dict[str, Path]:
    """The footage of ``count`` simulated cameras, each scene rendered here and now (proven simulated: what the scene
    cache held before is replaced, with a warning when it was not that render); ``extra``: more cameras by id and the
    scene each shows. With ``photo`` the cameras' scenes are photo-real (cut-outs of the pinned public footage)."""
    return DemoRenders(data_dir, count, extra or {}, photo).footage()


def _log_proof(scene: str, proof: ProvenRender) -> None:
    if proof.verdict == "replaced":
        log.warning(
            "scene %r: %s held a video that is not the render of the scene (SHA-256 %s…, the render is %s…): it is "
            "not proven simulated footage, so it was discarded and replaced by the render; only renders made by "
            "this start are analysed without an activation",
            scene,
            proof.path,
            proof.found_sha256[:16],
            proof.sha256[:16],
        )
    else:
        log.info("scene %r %s: %s (SHA-256 %s…)", scene, proof.verdict, proof.path, proof.sha256[:16])


def demo_photo_bank(folder: Path) -> PhotoBank | None:
    """The cut-out bank of ``vigie demo --photoreal``, or None (logged) when the folder cannot give one or holds
    anything but the pinned public footage: the demo analyses its cameras without an activation because their
    footage is simulated, and people cut out of one's own recordings are real people."""
    log.info("photo-real scenes: cutting people and vehicles out of %s (about a minute)", folder)
    try:
        bank = PhotoBank.from_data(folder)
    except (CutoutDataError, OSError) as err:
        log.error("--photoreal %s: %s; the demo was not started", folder, err)
        return None
    strangers = unpinned_sources(bank)
    if strangers:
        log.error(
            "--photoreal %s: %d file(s) are not the pinned public footage (e.g. %s): the demo analyses its cameras "
            "without an activation, so it composites only the footage it knows (sim/photo-sources.json); render other "
            "footage with `vigie sim render --photoreal` and analyse it under an activation. The demo was not started",
            folder,
            len(strangers),
            ", ".join(strangers[:3]),
        )
        return None
    log.info("photo-real scenes: %d people and %d vehicles cut out", len(bank.people), len(bank.vehicles))
    return bank
