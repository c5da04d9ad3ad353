"""Tiny hand-made ONNX models and the shared real-data locations for the ONNX detector tests."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
MODELS = DATA / "models"
TUD = DATA / "tracking" / "tud-campus"
REAL_MODELS = {"yolox": "yolox_nano.onnx", "gfl": "picodet_s_320_coco.onnx", "fastestdet": "FastestDet.onnx"}


def require(path: Path) -> Path:
    """Skip when the development data is absent; under CI=true, fail if the folder exists but ``path`` is missing."""
    if not MODELS.is_dir():
        pytest.skip(f"development data not found at {DATA} (see ../shared/data/README.md)")
    if not path.exists():
        message = f"{path} is missing although {MODELS} exists"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def constant_model(path: Path, output: np.ndarray, input_shape: list[int | str], output_name: str = "out") -> Path:
    """An ONNX model with one float input that outputs ``output`` (tiled over a dynamic batch) whatever the input.

    The output is ``Expand(constant, [batch, ...])`` with ``batch`` read from the input's shape, so the model has a
    real dynamic batch axis when ``input_shape[0]`` is a name.
    """
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    const = numpy_helper.from_array(output.astype(np.float32)[None], "value")
    rest = numpy_helper.from_array(np.asarray(output.shape, np.int64), "rest")
    nodes = [
        helper.make_node("Shape", ["images"], ["in_shape"]),
        helper.make_node("Slice", ["in_shape", "zero", "one"], ["batch"]),
        helper.make_node("Concat", ["batch", "rest"], ["target"], axis=0),
        helper.make_node("Expand", ["value", "target"], [output_name]),
    ]
    inits = [
        const,
        rest,
        numpy_helper.from_array(np.array([0], np.int64), "zero"),
        numpy_helper.from_array(np.array([1], np.int64), "one"),
    ]
    out_shape: list[int | str] = [input_shape[0], *output.shape]
    graph = helper.make_graph(
        nodes,
        "constant",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, input_shape)],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, out_shape)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
