"""The torch modules a bundle's ONNX files were exported from, rebuilt from those files.

A bundle carries no torch weights (ONNX and JSON only), but every weight the torch modules need
is an initializer of the exported graph, so the training code's own classes are rebuilt and
filled from them:

- U-Net (`training.unet.ProbabilityHead(UNet)`): conv weights by name. The exporter folded each
  BatchNorm into the conv before it (`<conv>.weight` scaled, `<conv>.weight_bias` added), so
  each BatchNorm is set to the identity plus that bias: the eager module still runs its
  BatchNorm layers, as the trained module does in eval mode.
- Anomaly model (`training.anomaly_model.AnomalyGraph`): the VGG16 convs by name (stored as
  float16, computed in float32, as the graph does), the memory bank from the matmul weight
  whose width is the bank length, the blur kernel from the separable 1-D conv weights, the
  global model from `g_*` and the centroid matmul weight; sizes from the manifest's config.

`max_abs_diff` checks a rebuilt module against onnxruntime on the same inputs.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper

from engine.bundle import Bundle
from training.anomaly_model import AnomalyGraph, GlobalModel
from training.backbone import VGGTaps
from training.train_anomaly import AnomalyConfig
from training.unet import ProbabilityHead, UNet, UNetConfig

FP16_SUFFIX = "__fp16"  # training/onnx_fp16.py's name for a float16-stored initializer
FOLDED_BIAS = "_bias"  # the exporter's name suffix for a BatchNorm folded into a conv's bias


class RebuildError(ValueError):
    """A bundle's ONNX graph lacks a weight the torch module needs; names the file and tensor."""


def initializers(model_bytes: bytes) -> dict[str, np.ndarray]:
    """Every initializer of an ONNX graph as float32 (float16-stored ones under their float32
    name, as the graph's Cast nodes produce them)."""
    graph = onnx.load_model_from_string(model_bytes).graph
    arrays = {}
    for init in graph.initializer:
        value = numpy_helper.to_array(init)
        dtype = np.float32 if value.dtype == np.float16 else value.dtype
        arrays[init.name.removesuffix(FP16_SUFFIX)] = np.array(value, dtype)  # a writable copy
    return arrays


def _take(arrays: dict[str, np.ndarray], name: str, source: str) -> torch.Tensor:
    if name not in arrays:
        raise RebuildError(f"{source}: no initializer {name!r} in the ONNX graph")
    return torch.from_numpy(np.array(arrays[name], np.float32))


def unet_from_bundle(bundle: Bundle) -> torch.nn.Module:
    """`ProbabilityHead(UNet)` in eval mode, computing what segmentation.onnx computes."""
    seg = bundle.segmentation
    if seg is None:
        raise RebuildError(f"{bundle.source}: the bundle has no segmentation model")
    source = f"{bundle.source}/{seg.file}"
    entry = bundle.manifest["models"]["segmentation"]
    arch = dict(entry.get("training", {}).get("architecture", {}))
    if arch.pop("kind", "unet") != "unet":
        raise RebuildError(f"{source}: architecture {arch} is not a U-Net")
    module = ProbabilityHead(UNet(UNetConfig(**arch)))
    arrays = initializers(bundle.model_bytes["segmentation"])
    state = {}
    for key, tensor in module.state_dict().items():
        if key.endswith("num_batches_tracked"):
            state[key] = tensor
        elif key in arrays:
            state[key] = _take(arrays, key, source)
    for key in [k for k in state if k.endswith(".weight") and f"{k}{FOLDED_BIAS}" in arrays]:
        prefix, index = key.removesuffix(".weight").rsplit(".", 1)
        norm = f"{prefix}.{int(index) + 1}"  # DoubleConv: conv, BatchNorm, ReLU, ...
        bias = _take(arrays, f"{key}{FOLDED_BIAS}", source)
        eps = module.get_submodule(norm).eps
        state |= {
            f"{norm}.weight": torch.ones_like(bias),
            f"{norm}.bias": bias,
            f"{norm}.running_mean": torch.zeros_like(bias),
            f"{norm}.running_var": torch.full_like(bias, 1.0 - eps),  # sqrt(var + eps) = 1
        }
    missing = sorted(set(module.state_dict()) - set(state))
    if missing:
        raise RebuildError(f"{source}: no initializer for {len(missing)} tensors ({missing[0]})")
    module.load_state_dict(state)
    return module.eval()


def _by_shape(arrays: dict[str, np.ndarray], shape_test, what: str, source: str) -> np.ndarray:
    found = [a for a in arrays.values() if shape_test(a.shape)]
    if len(found) != 1:
        raise RebuildError(f"{source}: expected one initializer for {what}, found {len(found)}")
    return found[0]


def anomaly_graph_from_bundle(bundle: Bundle) -> AnomalyGraph:
    """`AnomalyGraph` in eval mode, computing what anomaly.onnx computes."""
    ano = bundle.anomaly
    if ano is None:
        raise RebuildError(f"{bundle.source}: the bundle has no anomaly model")
    source = f"{bundle.source}/{ano.file}"
    training = bundle.manifest["models"]["anomaly"].get("training", {})
    fields = set(AnomalyConfig.__dataclass_fields__)
    config = AnomalyConfig(
        **{k: v for k, v in training.get("config", {}).items() if k in fields},
    )
    arrays = initializers(bundle.model_bytes["anomaly"])
    bank_len = arrays["bank_sq"].shape[0] if "bank_sq" in arrays else -1
    bank = _by_shape(arrays, lambda s: len(s) == 2 and s[1] == bank_len, "the bank", source)
    global_model = None
    if "g_projection" in arrays:
        k = arrays["g_projection"].shape[1]
        centroids_t = _by_shape(
            arrays, lambda s: len(s) == 2 and s[0] == k and s[1] != bank_len, "centroids", source
        )
        global_model = GlobalModel(
            *(arrays[f"g_{n}"] for n in ("mean", "scale", "projection", "offset")),
            centroids=centroids_t.T,
        )
    kernel = _by_shape(arrays, lambda s: len(s) == 4 and s[:3] == (1, 1, 1), "the blur", source)
    # VGGTaps builds VGG16 with random weights here (replaced below); its warning is for
    # models trained on random weights, which this is not.
    backbone_log = logging.getLogger("training.backbone")
    level = backbone_log.level
    backbone_log.setLevel(logging.ERROR)
    try:
        backbone = VGGTaps("random", config.taps)
    finally:
        backbone_log.setLevel(level)
    sigma_px = config.sigma * config.size / config.grid  # as training.train_anomaly.fit_graph
    graph = AnomalyGraph(
        backbone,
        config.size,
        config.grid,
        config.smooth,
        sigma_px,
        torch.from_numpy(np.ascontiguousarray(bank.T)),
        global_model,
    )
    if graph.kernel.numel() != kernel.size:
        raise RebuildError(
            f"{source}: blur kernel has {kernel.size} taps, the config gives {graph.kernel.numel()}"
        )
    state = graph.state_dict()
    for key in state:
        if key.startswith("backbone."):
            state[key] = _take(arrays, key, source)
    state["bank_sq"] = _take(arrays, "bank_sq", source)
    state["kernel"] = torch.from_numpy(kernel.ravel().copy())
    graph.load_state_dict(state)
    return graph.eval()


def max_abs_diff(module: torch.nn.Module, model_bytes: bytes | Path, inputs: np.ndarray) -> float:
    """Largest |torch - onnxruntime (CPU)| over every output on `inputs` [N, 3, H, W]."""
    data = model_bytes.read_bytes() if isinstance(model_bytes, Path) else model_bytes
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    worst = 0.0
    for i in range(len(inputs)):
        with torch.inference_mode():
            expected = module(torch.from_numpy(inputs[i : i + 1]))
        expected = (expected,) if isinstance(expected, torch.Tensor) else expected
        got = session.run(None, {name: inputs[i : i + 1]})
        for e, g in zip(expected, got, strict=True):
            worst = max(worst, float(np.max(np.abs(e.numpy() - g))))
    return worst
