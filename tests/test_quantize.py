"""`station-train quantize`: int8 variants of the anomaly model (random VGG16 weights) and the
U-Net on the tiny dataset: graph groups, exact fp16 fold, the gate deciding what is kept,
manifest entries, and the station running what the gate allows."""

import argparse
import json
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest

from engine.bundle import load_bundle, pack_bundle, sha256_bytes
from engine.inspector import Inspector
from engine.variants import check_gate
from training import train_anomaly, train_unet
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


def quantize(bundle: Path, tiny_mvtec: Path, *extra: str) -> int:
    return main(
        [
            "quantize",
            "--bundle",
            str(bundle),
            "--data",
            str(tiny_mvtec.parent),
            "--category",
            "widget",
            "--calib-images",
            "4",
            "--timing-runs",
            "2",
            *extra,
        ]
    )


def test_a_variant_is_kept_only_when_it_passes_the_gate(
    anomaly_bundle: Path, tiny_mvtec: Path, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    assert quantize(anomaly_bundle, tiny_mvtec, "--model", "anomaly", "--report", str(report)) == 0
    measured = json.loads(report.read_text())["anomaly"]
    kept = load_bundle(anomaly_bundle).anomaly.variants
    assert measured["gate"]["passed"] == bool(kept)  # random weights: usually far outside it
    if kept:
        assert kept[0].metrics == measured["metrics"]


def test_quantize_adds_a_measured_int8_variant(anomaly_bundle: Path, tiny_mvtec: Path) -> None:
    before = load_bundle(anomaly_bundle)
    assert quantize(anomaly_bundle, tiny_mvtec, "--model", "anomaly", "--keep-failing") == 0
    manifest = json.loads((anomaly_bundle / "manifest.json").read_text())
    entry = manifest["models"]["anomaly"]
    assert entry["sha256"] == before.manifest["models"]["anomaly"]["sha256"]  # fp32 kept
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
    spec = load_bundle(anomaly_bundle).anomaly.variants[0]
    assert variant["gate"]["passed"] == check_gate("anomaly", spec).passed
    auto = Inspector(load_bundle(anomaly_bundle), "cpu")  # the station decides by the gate
    assert auto.precisions["anomaly"] == ("int8" if variant["gate"]["passed"] else "fp32")
    forced = Inspector(load_bundle(anomaly_bundle), "cpu", "int8")
    assert forced.precisions["anomaly"] == "int8"
    packed = pack_bundle(anomaly_bundle, anomaly_bundle.parent / "packed.zip")
    with zipfile.ZipFile(packed) as archive:  # the variant travels with the bundle
        assert variant["file"] in archive.namelist()


def test_the_unet_gets_an_int8_variant_measured_by_held_out_dice(
    anomaly_bundle: Path, tiny_mvtec: Path
) -> None:
    parser = argparse.ArgumentParser()
    train_unet.add_arguments(parser)
    args = parser.parse_args(
        ["--data", str(tiny_mvtec.parent), "--category", "widget", "--out", str(anomaly_bundle),
         "--epochs", "2", "--size", "64", "--depth", "3", "--base-width", "8",
         "--val-every", "1", "--precision", "fp32", "--time-limit-min", "0"]
    )  # fmt: skip
    assert train_unet.run(args) == 0
    code = quantize(anomaly_bundle, tiny_mvtec, "--model", "segmentation", "--keep-failing")
    assert code == 0
    bundle = load_bundle(anomaly_bundle)
    (variant,) = bundle.segmentation.variants
    assert variant.file == "segmentation.int8.onnx"
    assert set(variant.metrics["int8"]) >= {"dice_mean", "pixel_auroc"}
    assert variant.metrics["fp32"]["dice_mean"] is not None
    model = onnx.load(anomaly_bundle / variant.file)
    dequantized = {n.output[0] for n in model.graph.node if n.op_type == "DequantizeLinear"}
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    assert convs[0].input[1] in dequantized  # the U-Net's convs run int8 ...
    assert convs[-1].input[1] not in dequantized  # ... but its head stays float
    forced = Inspector(bundle, "cpu", "int8")
    assert forced.precisions["segmentation"] == "int8"
    image = next((tiny_mvtec / "test").rglob("*.png"))
    result = forced.inspect_file(image)
    assert result.probability is not None and np.isfinite(result.probability).all()
