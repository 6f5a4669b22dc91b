"""The runtime benchmark's torch path: the training modules rebuilt from a bundle's ONNX files
compute what onnxruntime computes, and the worker processes time them round robin.

The bundle is the tiny one with its models replaced by a real (random-weight) U-Net and VGG16
anomaly graph, exported as training exports them (BatchNorm folded into convs; VGG16 and the
memory bank stored as float16), so the rebuild meets the same graph shapes as the default
bundle's. No separate environments are created.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.runtimes.pool import Lane, round_robin, start_all
from bench.runtimes.torch_models import (
    RebuildError,
    anomaly_graph_from_bundle,
    max_abs_diff,
    unet_from_bundle,
)
from engine.bundle import load_bundle, write_model
from training.anomaly_model import AnomalyGraph, GlobalModel
from training.backbone import VGGTaps
from training.onnx_export import export_onnx
from training.tiny_bundle import SIZE, make_tiny_bundle
from training.train_anomaly import export_graph
from training.unet import ProbabilityHead, UNet, UNetConfig

TAPS = ("relu3_3", "relu4_3")
GRID = SIZE // 8


def _entry(bundle_dir: Path, role: str) -> dict:
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    return {k: v for k, v in manifest["models"][role].items() if k not in ("file", "sha256")}


def _unet(out: Path) -> Path:
    torch.manual_seed(0)
    config = UNetConfig(base_width=4, depth=2)
    head = ProbabilityHead(UNet(config)).eval()
    for module in head.modules():  # trained-looking BatchNorm statistics, so folding matters
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    return export_onnx(head, torch.zeros(1, 3, SIZE, SIZE), out, "image", ["probability"])


def _anomaly(out: Path) -> Path:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    k, clusters = 6, 3
    global_model = GlobalModel(
        mean=rng.normal(size=1536).astype(np.float32),
        scale=rng.uniform(0.5, 2, size=1536).astype(np.float32),
        projection=rng.normal(size=(1536, k)).astype(np.float32),
        offset=rng.normal(size=k).astype(np.float32),
        centroids=rng.normal(size=(clusters, k)).astype(np.float32),
    )
    bank = torch.rand(1200, 768).half().float()  # as fit_graph rounds it
    backbone = VGGTaps("random", TAPS)
    for module in backbone.features:  # distinct biases: the exporter shares equal initializers
        if isinstance(module, torch.nn.Conv2d):
            module.bias.data.uniform_(-0.1, 0.1)
    graph = AnomalyGraph(backbone, SIZE, GRID, 3, 8.0, bank, global_model)
    export_graph(graph, out, torch.rand(2, 3, SIZE, SIZE))
    return out


@pytest.fixture(scope="module")
def real_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("runtimes")
    bundle_dir = make_tiny_bundle(work / "bundle")
    seg = _entry(bundle_dir, "segmentation")
    seg["training"] = {
        "architecture": {"kind": "unet", "in_channels": 3, "base_width": 4, "depth": 2}
    }
    write_model(bundle_dir, "segmentation", _unet(work / "unet.onnx"), seg)
    ano = _entry(bundle_dir, "anomaly")
    ano["training"] = {"config": {"size": SIZE, "taps": list(TAPS), "smooth": 3, "sigma": 1.0}}
    write_model(bundle_dir, "anomaly", _anomaly(work / "anomaly.onnx"), ano)
    return bundle_dir


def _inputs(n: int) -> np.ndarray:
    return np.random.default_rng(1).normal(size=(n, 3, SIZE, SIZE)).astype(np.float32)


def test_rebuilt_modules_match_onnxruntime(real_bundle: Path) -> None:
    bundle = load_bundle(real_bundle)
    x = _inputs(2)
    unet = unet_from_bundle(bundle)
    assert max_abs_diff(unet, bundle.model_bytes["segmentation"], x) < 1e-5
    graph = anomaly_graph_from_bundle(bundle)
    assert graph.bank.shape == (1200, 768) and graph.has_global
    assert max_abs_diff(graph, bundle.model_bytes["anomaly"], x) < 1e-4


def test_a_graph_without_the_bank_is_a_clear_error(tiny_bundle: Path) -> None:
    bundle = load_bundle(tiny_bundle)  # its anomaly "model" is a pixel rule, no bank
    with pytest.raises(RebuildError, match=r"anomaly\.onnx: expected one initializer for the bank"):
        anomaly_graph_from_bundle(bundle)


def test_workers_time_every_lane_on_every_image_and_save_outputs(
    real_bundle: Path, tmp_path: Path
) -> None:
    inputs = tmp_path / "inputs.npy"
    np.save(inputs, _inputs(3))
    onnx_file = real_bundle / "segmentation.onnx"
    lanes = [
        Lane("torch/segmentation", "torch", "segmentation", Path(sys.executable),
             ["--backend", "torch", "--bundle", str(real_bundle)]),
        Lane("ort-fp32/segmentation", "ort", "segmentation", Path(sys.executable),
             ["--backend", "ort", "--model", str(onnx_file)]),
        Lane("broken/segmentation", "broken", "segmentation", Path(sys.executable),
             ["--backend", "ort", "--model", str(tmp_path / "missing.onnx")]),
    ]  # fmt: skip
    workers = start_all(lanes, {"segmentation": inputs}, tmp_path, warmup=1)
    assert [w.lane.key for w in workers] == ["torch/segmentation", "ort-fp32/segmentation"]
    assert "missing.onnx" in lanes[2].error
    round_robin(workers, [2, 0, 1], pause_s=0)
    for lane in lanes[:2]:
        assert len(lane.ms) == 3 and all(ms > 0 for ms in lane.ms)
        assert lane.peak_rss_mb > 50 and lane.error is None
    torch_out, ort_out = (np.load(lane.outputs) for lane in lanes[:2])
    assert list(torch_out["index"]) == [0, 1, 2]
    assert np.abs(torch_out["probability"] - ort_out["probability"]).max() < 1e-5
