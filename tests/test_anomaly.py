"""The anomaly model on the tiny generated dataset with random VGG16 weights: fit, export,
parity, bundle, station scoring, calibration, evaluation, and weight-loading errors."""

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.bundle import load_bundle
from engine.inspector import Inspector
from training import train_anomaly
from training.anomaly_metrics import aupro, pro_curve
from training.backbone import BackboneWeightsError, VGGTaps
from training.evaluate_anomaly import evaluate_anomaly
from training.train_anomaly import calibrate

SIZE = 64


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    train_anomaly.add_arguments(parser)
    return parser.parse_args(argv)


def _fit(data_root: Path, out: Path) -> int:
    return train_anomaly.run(
        _args(
            *("--data", str(data_root), "--category", "widget", "--out", str(out)),
            *("--backbone-weights", "random", "--size", str(SIZE)),
        )
    )


@pytest.fixture(scope="module")
def anomaly_bundle(tiny_mvtec: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("anomaly") / "bundle"
    assert _fit(tiny_mvtec.parent, out) == 0
    return out


def test_bundle_records_calibration_parity_and_split(anomaly_bundle: Path) -> None:
    bundle = load_bundle(anomaly_bundle)
    entry = bundle.manifest["models"]["anomaly"]
    assert bundle.anomaly.global_score_output == "global_score"
    assert entry["parity_max_abs_diff"] < 1e-3
    assert entry["calibration"]["false_reject_rate"] == 0.01
    assert entry["calibration"]["n_images"] == len(
        entry["training"]["dataset"]["split"]["calibration"]
    )
    assert entry["image_threshold"] == entry["calibration"]["threshold"]
    assert bundle.anomaly.map_low < bundle.anomaly.map_threshold <= bundle.anomaly.image_threshold
    split = entry["training"]["dataset"]["split"]
    assert not set(split["fit"]) & set(split["calibration"])
    assert all(p.startswith("train/good/") for p in split["fit"] + split["calibration"])
    assert bundle.defect_types == ["scratch", "spot"]
    assert (anomaly_bundle / "anomaly.onnx").stat().st_size < 25e6  # float16 weight storage


def test_station_flags_drawn_defects_and_passes_clean_parts(
    anomaly_bundle: Path, tiny_mvtec: Path
) -> None:
    inspector = Inspector(load_bundle(anomaly_bundle))
    threshold = inspector.thresholds.image_threshold
    for path in sorted((tiny_mvtec / "test").glob("*/*.png")):
        result = inspector.inspect_file(path)
        assert result.anomaly_map.shape == result.image_shape
        assert np.isfinite(result.global_score)
        if path.parent.name == "good":
            assert result.anomaly_score < threshold, path
        else:
            assert result.anomaly_score >= threshold, path
            assert result.verdict == "NG"


def test_refit_keeps_segmentation_model(tiny_mvtec: Path, tiny_bundle: Path) -> None:
    before = load_bundle(tiny_bundle).manifest["models"]["segmentation"]
    assert _fit(tiny_mvtec.parent, tiny_bundle) == 0
    bundle = load_bundle(tiny_bundle)
    assert bundle.manifest["models"]["segmentation"] == before
    assert bundle.anomaly.input.width == SIZE


def test_evaluation_through_inspector(anomaly_bundle: Path, tiny_mvtec: Path, tmp_path: Path):
    metrics = evaluate_anomaly(anomaly_bundle, tiny_mvtec.parent, "widget", tmp_path)
    assert metrics["all"]["image_auroc"] == 1.0
    assert metrics["false_reject_rate"] == 0.0
    assert set(metrics["per_type"]) == {"scratch", "spot"}
    assert 0.5 < metrics["all"]["pixel_auroc"] <= 1.0
    assert 0.0 < metrics["all"]["aupro"] <= 1.0
    for name in ("roc.png", "gallery/gallery.png", "report.md"):
        assert (tmp_path / name).stat().st_size > 0
    assert json.loads((tmp_path / "metrics.json").read_text())["per_type"]["spot"]["n_defective"]


def test_aupro_is_one_for_a_perfect_map_and_low_for_an_inverted_one() -> None:
    masks = np.zeros((2, 16, 16), bool)
    masks[0, 4:8, 4:8] = True
    masks[1, 10:14, 2:6] = True
    perfect = masks.astype(np.float32)
    assert aupro(*pro_curve(perfect, masks)) == pytest.approx(1.0, abs=1e-6)
    assert aupro(*pro_curve(1 - perfect, masks)) < 0.05


def test_calibration_threshold_never_below_the_empirical_quantile() -> None:
    scores = np.array([1.0, 1.1, 0.9, 1.05, 5.0])  # one outlier: normal fit would sit below it
    result = calibrate(scores, 0.01)
    assert result.threshold > 5.0
    assert result.held_back_false_reject_rate == 0.0
    assert result.n_images == 5


def test_missing_weights_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pth"
    with pytest.raises(BackboneWeightsError, match=r"nope\.pth"):
        VGGTaps(str(missing), ["relu3_3"])


def test_incomplete_weights_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "partial.pth"
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, path)
    with pytest.raises(BackboneWeightsError, match=r"partial\.pth lacks"):
        VGGTaps(str(path), ["relu2_2"])


def test_cli_reports_missing_weights_and_writes_nothing(tiny_mvtec: Path, tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    args = _args(
        *("--data", str(tiny_mvtec.parent), "--category", "widget", "--out", str(out)),
        *("--backbone-weights", str(tmp_path / "missing.pth")),
    )
    assert train_anomaly.run(args) == 2
    assert not out.exists()
