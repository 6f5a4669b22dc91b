"""`station-train quantize`: int8 variant of the anomaly model on the tiny dataset (random
VGG16 weights): graph groups, exact fp16 fold, manifest entry, bundle still loads."""

import argparse
import json
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest

from engine.bundle import load_bundle, pack_bundle, sha256_bytes
from engine.inspector import Inspector
from training import train_anomaly
from training.cli import main
from training.quantize import fold_fp16_initializers, node_groups, session


@pytest.fixture(scope="module")
def anomaly_bundle(tiny_mvtec: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("quantize") / "bundle"
    parser = argparse.ArgumentParser()
    train_anomaly.add_arguments(parser)
    args = parser.parse_args(
        [
            "--data",
            str(tiny_mvtec.parent),
            "--category",
            "widget",
            "--out",
            str(out),
            "--backbone-weights",
            "random",
            "--size",
            "64",
        ]
    )
    assert train_anomaly.run(args) == 0
    return out


def test_groups_and_exact_fold(anomaly_bundle: Path) -> None:
    model = onnx.load(anomaly_bundle / "anomaly.onnx")
    groups = node_groups(model)
    assert len(groups["backbone_convs"]) == 10  # VGG16 up to relu4_3
    assert len(groups["bank_matmul"]) == 1
    assert len(groups["tail_convs"]) == 2  # the map's separable blur
    folded = fold_fp16_initializers(model)
    assert not any(n.op_type == "Cast" and n.input[0].endswith("__fp16") for n in folded.graph.node)
    x = np.random.default_rng(0).normal(size=(1, 3, 64, 64)).astype(np.float32)
    a = session(model.SerializeToString()).run(None, {"image": x})
    b = session(folded.SerializeToString()).run(None, {"image": x})
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)


def test_quantize_adds_a_measured_int8_variant(anomaly_bundle: Path, tiny_mvtec: Path) -> None:
    before = load_bundle(anomaly_bundle)
    code = main(
        [
            "quantize",
            "--bundle",
            str(anomaly_bundle),
            "--data",
            str(tiny_mvtec.parent),
            "--category",
            "widget",
            "--calib-images",
            "4",
            "--timing-runs",
            "2",
        ]
    )
    assert code == 0
    manifest = json.loads((anomaly_bundle / "manifest.json").read_text())
    entry = manifest["models"]["anomaly"]
    assert entry["sha256"] == before.manifest["models"]["anomaly"]["sha256"]  # fp32 still runs
    (variant,) = entry["variants"]
    assert variant["precision"] == "int8" and variant["recipe"]["name"] == "bb_bank_minmax"
    path = anomaly_bundle / variant["file"]
    assert sha256_bytes(path.read_bytes()) == variant["sha256"]
    assert variant["calibration_images"] and all(
        p.startswith("train/good/") for p in variant["calibration_images"]
    )
    for precision in ("int8", "fp32"):
        assert 0.0 <= variant["metrics"][precision]["image_auroc"] <= 1.0
    assert variant["speed"]["ms_int8"] > 0
    ops = {n.op_type for n in onnx.load(path).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    Inspector(load_bundle(anomaly_bundle))  # the bundle still loads and opens
    packed = pack_bundle(anomaly_bundle, anomaly_bundle.parent / "packed.zip")
    with zipfile.ZipFile(packed) as archive:  # the variant travels with the bundle
        assert variant["file"] in archive.namelist()
