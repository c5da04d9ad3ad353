"""A clip turned into a camera's sub-stream for the benches: 640×360 H.264, the simulator's settings (veryfast, a
key frame every 2 s)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av


def scaled_substream(source: Path, out: Path, seconds: float, *, fixed_gop: bool = False) -> Path:
    """The first ``seconds`` of ``source`` scaled to 640×360 H.264 in an MP4 at ``out``. ``fixed_gop``: a key frame
    exactly every 2 s and none between (x264's scene-cut off), as a camera encoder set to a fixed GOP gives — what a
    search decoding key frames only relies on."""
    with av.open(str(source)) as src, av.open(str(out), mode="w", format="mp4") as dst:
        in_stream = src.streams.video[0]
        fps = Fraction(in_stream.average_rate or 25)
        gop = round(2 * float(fps))
        options = {"preset": "veryfast"}
        if fixed_gop:
            options["x264-params"] = f"keyint={gop}:min-keyint={gop}:scenecut=0"
        else:
            options["g"] = str(gop)
        stream = dst.add_stream("libx264", rate=fps, options=options)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.codec_context.time_base = 1 / fps
        for index, frame in enumerate(src.decode(in_stream)):
            if frame.time is not None and frame.time >= seconds:
                break
            scaled = frame.reformat(width=640, height=360, format="yuv420p")
            scaled.pts, scaled.time_base = index, 1 / fps
            dst.mux(stream.encode(scaled))
        dst.mux(stream.encode(None))
    return out
