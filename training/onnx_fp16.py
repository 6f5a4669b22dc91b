"""Halving an exported ONNX file by storing its large float32 weights as float16.

Computation stays float32: each converted initializer feeds a Cast back to float32, which
onnxruntime folds once at session start. The caller chooses which tensors may lose precision by
rounding them with `round_to_fp16` before export; `store_initializers_fp16` then converts only
initializers that float16 holds exactly, so nothing else (e.g. tiny standardisation scales that
would underflow) changes, and the parity check compares two models with identical weights.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

MIN_ELEMENTS = 1024  # small tensors (biases, kernels) are not worth a Cast node


def round_to_fp16(tensors: Iterable[torch.Tensor]) -> None:
    """Round float32 tensors in place to the nearest float16-representable values."""
    with torch.no_grad():
        for tensor in tensors:
            tensor.copy_(tensor.half().float())


def store_initializers_fp16(path: Path | str, min_elements: int = MIN_ELEMENTS) -> Path:
    """Rewrite the ONNX file at `path` storing as float16 every large float32 initializer whose
    values float16 represents exactly."""
    path = Path(path)
    model = onnx.load(str(path))
    graph = model.graph
    casts = []
    kept = []
    for init in graph.initializer:
        size = int(np.prod(init.dims)) if init.dims else 1
        if init.data_type != TensorProto.FLOAT or size < min_elements:
            kept.append(init)
            continue
        values = numpy_helper.to_array(init)
        halved = values.astype(np.float16)
        if not np.array_equal(halved.astype(np.float32), values):
            kept.append(init)
            continue
        half = numpy_helper.from_array(halved, f"{init.name}__fp16")
        kept.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    for node in reversed(casts):
        graph.node.insert(0, node)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
