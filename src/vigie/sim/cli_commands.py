"""Entry points of ``vigie sim render`` and ``vigie sim serve``: exit codes and messages for people.

Exit codes: 0 success; 1 runtime failure (I/O, encoder, server died); 2 invalid scene (the message names the
file and the field, and nothing is written); 3 a system dependency of the RTSP server is missing (the message
names the Debian package).  A scene argument that is not an existing file may name a built-in scene
(``street``, ``situations``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import av

from vigie.sim.builtin import resolve_scene_path
from vigie.sim.cutouts import CutoutDataError, PhotoBank
from vigie.sim.render import render
from vigie.sim.rtsp import RtspServerError, RtspUnavailableError, serve
from vigie.sim.scene import SceneError, load_scene

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INVALID_SCENE = 2
EXIT_MISSING_DEPENDENCY = 3


def _error(command: str, message: object) -> None:
    print(f"vigie sim {command}: error: {message}", file=sys.stderr)


PHOTOREAL_HELP = (
    "DATA_DIR must hold tracking/tud-campus (people, background) and plates-fr-dev or plates-dev (photos of cars "
    "with their plate box) or video/car-detection.mp4 (cars from above)"
)


def render_command(
    scene: Path, out: Path, gt: Path | None, photoreal: Path | None = None, *, images: bool = False
) -> int:
    """Render ``scene`` to ``out`` (H.264 MP4) and its ground truth to ``gt`` (with ``images``, its frames too);
    never leaves a partial video. With ``photoreal`` (a data folder), people and vehicles are cut out of its
    footage (:mod:`vigie.sim.cutouts`)."""
    if images and gt is None:
        _error("render", "--images writes the frames beside the ground truth: give --gt DIR too")
        return EXIT_INVALID_SCENE
    try:
        loaded = load_scene(resolve_scene_path(scene))
        photo = None if photoreal is None else PhotoBank.from_data(photoreal)
        result = render(loaded, out, gt, photo, images=images)
    except SceneError as err:
        _error("render", err)
        return EXIT_INVALID_SCENE
    except CutoutDataError as err:
        _error("render", f"--photoreal: {err} ({PHOTOREAL_HELP})")
        return EXIT_INVALID_SCENE
    except (OSError, av.FFmpegError) as err:
        _error("render", f"cannot write {out}: {err}")
        return EXIT_FAILURE
    print(
        f"wrote {result.video_path}: {result.frames} frames, {result.width}x{result.height} at {result.fps} fps "
        f"in {result.elapsed_s:.1f} s"
    )
    if result.gt_dir is not None:
        print(f"ground truth in {result.gt_dir}: gt/gt.txt, seqinfo.ini, events.json ({len(result.events)} events)")
    return EXIT_OK


def serve_command(scenes: list[Path], port: int, photoreal: Path | None = None) -> int:
    """Serve the scenes over RTSP on ``port`` until Ctrl-C, printing one URL per scene (photo-real with a data
    folder)."""
    if not scenes:
        _error("serve", "give at least one scene file")
        return EXIT_INVALID_SCENE
    paths = [resolve_scene_path(scene) for scene in scenes]
    try:
        for path in paths:
            load_scene(path)  # report every invalid file before rendering anything
        photo = None if photoreal is None else PhotoBank.from_data(photoreal)
        serve(paths, port, photo=photo)
    except SceneError as err:
        _error("serve", err)
        return EXIT_INVALID_SCENE
    except CutoutDataError as err:
        _error("serve", f"--photoreal: {err} ({PHOTOREAL_HELP})")
        return EXIT_INVALID_SCENE
    except RtspUnavailableError as err:
        _error("serve", err)
        return EXIT_MISSING_DEPENDENCY
    except (RtspServerError, OSError, av.FFmpegError) as err:
        _error("serve", err)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        pass
    return EXIT_OK
