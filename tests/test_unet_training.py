"""U-Net training on the tiny generated dataset: split, training, export, bundle, Inspector."""

import argparse
import dataclasses
import json
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest
import torch
from sklearn.metrics import roc_auc_score

from engine.bundle import load_bundle
from engine.imageio import read_image
from engine.inspector import Inspector
from engine.preprocess import to_model_input
from training import train_unet
from training.evaluate_segmentation import evaluate_segmentation
from training.mvtec import list_samples
from training.split import SUBSETS, kfold_splits, make_split, subset
from training.unet_config import TrainConfig
from training.unet_fit import stalled
from training.unet_losses import soft_dice_loss

TINY_TRAINING = [
    "--epochs", "3", "--size", "64", "--depth", "3", "--base-width", "8", "--val-every", "1",
    "--precision", "fp32", "--time-limit-min", "0",
]  # fmt: skip


def _train(category_dir: Path, out: Path, *extra: str) -> int:
    parser = argparse.ArgumentParser()
    train_unet.add_arguments(parser)
    args = parser.parse_args(
        ["--data", str(category_dir.parent), "--category", category_dir.name, "--out", str(out),
         *TINY_TRAINING, *extra]
    )  # fmt: skip
    return train_unet.run(args)


@pytest.fixture(scope="module")
def trained_bundle(tiny_mvtec: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("unet") / "bundle"
    assert _train(tiny_mvtec, out) == 0
    return out


def _types(paths: list[str]) -> Counter:
    return Counter(Path(p).parent.name for p in paths)


def test_split_is_stratified_disjoint_and_seeded(tiny_mvtec: Path) -> None:
    samples = list_samples(tiny_mvtec)
    split = make_split(samples, tiny_mvtec, seed=0)
    every = [p for name in SUBSETS for p in split[name]]
    assert sorted(every) == sorted(s.relative(tiny_mvtec) for s in samples)
    assert len(set(every)) == len(every)
    for name in SUBSETS:  # 4 images per defect type: 2 / 1 / 1
        counts = _types(split[name])
        assert counts["scratch"] == counts["spot"] == (2 if name == "train" else 1)
        assert counts["good"] >= 1
    assert make_split(samples, tiny_mvtec, seed=0) == split
    assert make_split(samples, tiny_mvtec, seed=1)["test"] != split["test"]
    assert json.loads(json.dumps(split)) == split  # plain data for the manifest


def test_kfold_tests_partition_the_data_and_never_train_on_test(tiny_mvtec: Path) -> None:
    samples = list_samples(tiny_mvtec)
    folds = kfold_splits(samples, tiny_mvtec, folds=4, seed=3)
    tests = [p for fold in folds for p in fold["test"]]
    assert sorted(tests) == sorted(s.relative(tiny_mvtec) for s in samples)
    for fold in folds:
        assert _types(fold["test"])["scratch"] == 1 and _types(fold["test"])["spot"] == 1
        assert not set(fold["test"]) & (set(fold["train"]) | set(fold["val"]))
        assert not set(fold["train"]) & set(fold["val"])
    assert kfold_splits(samples, tiny_mvtec, folds=4, seed=3) == folds


def test_training_writes_a_bundle_the_station_runs(trained_bundle: Path, tiny_mvtec: Path) -> None:
    bundle = load_bundle(trained_bundle)
    entry = bundle.manifest["models"]["segmentation"]
    assert entry["parity_max_abs_diff"] <= 1e-4
    assert entry["output"]["kind"] == "probability"
    assert 0 < entry["pixel_threshold"] < 1 and entry["min_defect_area_px"] >= 1
    split = entry["training"]["dataset"]["split"]
    assert entry["training"]["dataset"]["category"] == tiny_mvtec.name
    assert bundle.defect_types == ["scratch", "spot"]

    held_out = tiny_mvtec / split["test"][0]
    result = Inspector(bundle).inspect_file(held_out)
    image = read_image(held_out)
    assert result.probability.shape == image.shape[:2]
    assert result.probability.min() >= 0.0 and result.probability.max() <= 1.0
    assert result.thresholds.pixel_threshold == entry["pixel_threshold"]

    # the batch axis is dynamic: two images in one run give each image's own answer
    session = ort.InferenceSession(str(trained_bundle / entry["file"]))
    tensor = to_model_input(image, bundle.segmentation.input)
    pair = session.run(None, {"image": np.concatenate([tensor, tensor[:, :, ::-1]])})[0]
    single = session.run(None, {"image": tensor})[0]
    assert pair.shape[0] == 2
    np.testing.assert_allclose(pair[:1], single, atol=1e-5)


def test_dataset_input_matches_the_station_preprocessing(tiny_mvtec: Path) -> None:
    from training.seg_data import SegmentationDataset, input_spec

    sample = next(s for s in list_samples(tiny_mvtec) if s.defect_type == "spot")
    spec = input_spec(48)
    tensor, target = SegmentationDataset([sample], spec)[0]
    expected = to_model_input(read_image(sample.image), spec)[0]
    np.testing.assert_array_equal(tensor.numpy(), expected)
    assert target.shape == (1, 48, 48) and 0 < target.sum() < target.numel()


def test_augmentation_moves_image_and_mask_together() -> None:
    from training.seg_data import AugmentConfig, augment

    image = np.full((64, 64, 3), 40, np.uint8)
    mask = np.zeros((64, 64), np.float32)
    image[10:20, 30:50], mask[10:20, 30:50] = 230, 1.0
    config = AugmentConfig(brightness=0, contrast=0, channel_gain=0, noise_std=0, blur_prob=0)
    for seed in range(5):
        out_image, out_mask = augment(image, mask, config, np.random.default_rng(seed))
        bright = out_image.mean(axis=2) > 135
        assert np.mean(bright == (out_mask >= 0.5)) > 0.97
        assert not np.array_equal(out_mask, mask)  # it did rotate


def test_per_image_dice_weighs_a_missed_small_defect_like_a_large_one() -> None:
    target = torch.zeros(3, 1, 32, 32)
    target[0, 0, 2:30, 2:30] = 1  # a flipped part: the whole nut
    target[1, 0, 10:12, 10:14] = 1  # a thin scratch
    logits = torch.where(target > 0, 20.0, -20.0)
    logits[1] = -20.0  # the scratch is missed
    logits[2, 0, 0, 0] = 20.0  # one false pixel on the good image
    pooled = soft_dice_loss(logits, target, "batch")
    per_image = soft_dice_loss(logits, target, "image")
    assert pooled < 0.02  # the scratch's 8 pixels vanish among the flip's 784
    assert per_image == pytest.approx(0.5, abs=0.06)  # one of two defective images missed
    good_only = soft_dice_loss(logits[2:], target[2:], "image")
    assert float(good_only) == 0.0  # good images are left to the BCE term


def test_early_stopping_is_off_by_default_and_waits_for_the_second_half() -> None:
    default = TrainConfig().patience
    assert not stalled(default, spent=0.9, epochs_since_best=200)
    assert not stalled(30, spent=0.4, epochs_since_best=100)  # first half: noise
    assert not stalled(30, spent=0.6, epochs_since_best=30)
    assert stalled(30, spent=0.6, epochs_since_best=31)


def test_seeded_runs_repeat_and_resume_continues(tiny_mvtec: Path, tmp_path: Path) -> None:
    assert _train(tiny_mvtec, tmp_path / "a", "--epochs", "2") == 0
    assert _train(tiny_mvtec, tmp_path / "b", "--epochs", "2") == 0
    last_a = torch.load(tmp_path / "a.checkpoints" / "last.pt", weights_only=True)
    last_b = torch.load(tmp_path / "b.checkpoints" / "last.pt", weights_only=True)
    for key, value in last_a["model"].items():
        torch.testing.assert_close(value, last_b["model"][key], rtol=0, atol=0)

    resume = tmp_path / "a.checkpoints" / "last.pt"
    assert _train(tiny_mvtec, tmp_path / "a", "--epochs", "4", "--resume", str(resume)) == 0
    resumed = torch.load(resume, weights_only=True)
    assert [h["epoch"] for h in resumed["progress"]["history"]] == [1, 2, 3, 4]
    assert resumed["split"] == last_a["split"]
    changed = any(
        not torch.equal(value, last_a["model"][key]) for key, value in resumed["model"].items()
    )
    assert changed


def test_evaluation_reports_per_type_metrics_and_gallery(
    trained_bundle: Path, tiny_mvtec: Path, tmp_path: Path
) -> None:
    summary = evaluate_segmentation(
        trained_bundle, tiny_mvtec.parent, tiny_mvtec.name, tmp_path / "report"
    )
    split = load_bundle(trained_bundle).manifest["models"]["segmentation"]["training"]["dataset"][
        "split"
    ]
    assert set(summary["per_type"]) == {"scratch", "spot"}
    assert summary["n_defective"] + summary["n_good"] == len(split["test"])
    report = json.loads((tmp_path / "report" / "metrics.json").read_text())
    rows = report["images"]
    assert [row["image"] for row in rows] == split["test"]
    assert {k: v for k, v in report.items() if k != "images"} == summary

    # each row again, from the station's Inspector and the ground-truth mask file
    inspector = Inspector(load_bundle(trained_bundle))
    pixels, truths = [], []
    for row in rows:
        image = read_image(tiny_mvtec / row["image"])
        result = inspector.inspect(image, full_resolution=True)
        name = Path(row["image"])
        defect_type = name.parent.name
        truth = np.zeros(image.shape[:2], bool)
        if defect_type != "good":
            mask = read_image(tiny_mvtec / "ground_truth" / defect_type / f"{name.stem}_mask.png")
            truth = (mask.max(axis=2) if mask.ndim == 3 else mask) > 0
        predicted = result.mask if result.mask is not None else np.zeros_like(truth)
        both, either = int((predicted & truth).sum()), int((predicted | truth).sum())
        segmentation = [r for r in result.regions if r.source == "segmentation"]
        assert row["defect_type"] == defect_type
        assert row["dice"] == pytest.approx(2 * both / (both + either) if either else 1.0), row
        assert row["iou"] == pytest.approx(both / either if either else 1.0), row
        assert row["flagged_by_segmentation"] == bool(segmentation), row
        assert row["largest_region_px"] == max((r.area_px for r in segmentation), default=0)
        assert row["station_verdict"] == result.verdict.value, row
        pixels.append(result.probability.ravel())
        truths.append(truth.ravel())

    # the summary, from the rows: Dice, IoU and recall per type, their means, image rates
    defective = [r for r in rows if r["defect_type"] != "good"]
    good = [r for r in rows if r["defect_type"] == "good"]
    assert (summary["n_defective"], summary["n_good"]) == (len(defective), len(good))
    for defect_type, stats in summary["per_type"].items():
        own = [r for r in defective if r["defect_type"] == defect_type]
        assert stats["n"] == len(own) == 1  # the split holds one of each type out
        assert stats["dice"] == pytest.approx(np.mean([r["dice"] for r in own]))
        assert stats["iou"] == pytest.approx(np.mean([r["iou"] for r in own]))
        assert stats["recall"] == np.mean([r["flagged_by_segmentation"] for r in own])
    per_type = summary["per_type"].values()
    assert summary["dice_mean"] == pytest.approx(np.mean([t["dice"] for t in per_type]))
    assert summary["iou_mean"] == pytest.approx(np.mean([t["iou"] for t in per_type]))
    flagged = [r["flagged_by_segmentation"] for r in defective]
    assert summary["image_recall"] == np.mean(flagged)
    assert summary["false_reject_rate"] == np.mean([r["flagged_by_segmentation"] for r in good])
    assert summary["station_recall"] == np.mean([r["station_verdict"] == "NG" for r in defective])
    assert summary["pixel_auroc"] == pytest.approx(
        roc_auc_score(np.concatenate(truths), np.concatenate(pixels)), abs=1e-4
    )
    gallery = sorted((tmp_path / "report" / "gallery").glob("*.png"))
    assert len(gallery) == len(split["test"])
    assert read_image(gallery[0]).shape[1] == 3 * read_image(gallery[0]).shape[0]


def _known_case(root: Path) -> list[str]:
    """A category of 64x64 images whose Dice, IoU and verdicts under the tiny bundle's pixel
    rules (segmentation: bright pixels; anomaly: any saturated channel) are known by hand."""
    cat = root / "widget"
    images = {  # name: (image rectangles (rows, cols, BGR), truth rectangles)
        "test/good/000.png": ([], []),
        "test/good/001.png": ([(slice(40, 48), slice(40, 48), (250, 250, 250))], []),
        # 512 px found, 512 px true, 256 of them both: Dice 0.5, IoU 1/3
        "test/spot/000.png": (
            [(slice(16, 48), slice(16, 32), (250, 250, 250))],
            [(slice(16, 48), slice(24, 40))],
        ),
        # pure red is not bright (missed by segmentation) but saturated (NG by the anomaly model)
        "test/scratch/000.png": (
            [(slice(8, 24), slice(8, 40), (0, 0, 255))],
            [(slice(8, 24), slice(8, 40))],
        ),
        "train/good/000.png": ([], []),
    }
    for name, (drawn, true) in images.items():
        image = np.full((64, 64, 3), 60, np.uint8)
        for rows, cols, colour in drawn:
            image[rows, cols] = colour
        (cat / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(cat / name), image)
        if true:
            mask = np.zeros((64, 64), np.uint8)
            for rows, cols in true:
                mask[rows, cols] = 255
            mask_path = (
                cat / "ground_truth" / Path(name).parent.name / f"{Path(name).stem}_mask.png"
            )
            mask_path.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(mask_path), mask)
    return [name for name in images if name.startswith("test/")]


def test_evaluation_metrics_on_a_known_case(tiny_bundle: Path, tmp_path: Path) -> None:
    tested = _known_case(tmp_path / "data")
    manifest_path = tiny_bundle / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["models"]["segmentation"]["training"] = {"dataset": {"split": {"test": tested}}}
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")

    summary = evaluate_segmentation(tiny_bundle, tmp_path / "data", "widget", tmp_path / "report")
    rows = {
        row["image"]: row
        for row in json.loads((tmp_path / "report" / "metrics.json").read_text())["images"]
    }
    expected = {  # image: (dice, iou, flagged by segmentation, station verdict, largest region)
        "test/good/000.png": (1.0, 1.0, False, "OK", 0),
        "test/good/001.png": (0.0, 0.0, True, "NG", 64),
        "test/spot/000.png": (0.5, 1 / 3, True, "NG", 512),
        "test/scratch/000.png": (0.0, 0.0, False, "NG", 0),
    }
    for image, (dice, iou, flagged, verdict, largest) in expected.items():
        row = rows[image]
        assert row["dice"] == pytest.approx(dice) and row["iou"] == pytest.approx(iou), row
        assert row["flagged_by_segmentation"] is flagged and row["station_verdict"] == verdict
        assert row["largest_region_px"] == largest, row
    assert summary["per_type"] == {
        "scratch": {"n": 1, "dice": 0.0, "iou": 0.0, "recall": 0.0},
        "spot": {"n": 1, "dice": 0.5, "iou": pytest.approx(1 / 3), "recall": 1.0},
    }
    assert (summary["n_defective"], summary["n_good"]) == (2, 2)
    assert summary["dice_mean"] == 0.25  # over defect types: good images do not count
    assert summary["iou_mean"] == pytest.approx(1 / 6)
    assert summary["image_recall"] == 0.5 and summary["false_reject_rate"] == 0.5
    assert summary["station_recall"] == 1.0 and summary["station_false_reject_rate"] == 0.5
    # pixel AUROC is recomputed exactly in the test above; here: better than chance, not perfect
    assert 0.5 < summary["pixel_auroc"] < 1.0


def test_subset_names_images_missing_from_the_dataset(tiny_mvtec: Path) -> None:
    from training.mvtec import DatasetError

    samples = list_samples(tiny_mvtec)
    with pytest.raises(DatasetError, match=r"test/scratch/999\.png"):
        subset(samples, tiny_mvtec, {"test": ["test/scratch/999.png"]}, "test")


def test_cross_validation_trains_and_scores_every_fold(tiny_mvtec: Path, tmp_path: Path) -> None:
    from training.evaluate_segmentation import cross_validate

    config = TrainConfig(
        epochs=1, size=64, depth=3, base_width=8, val_every=1, precision="fp32", time_limit_min=0
    )
    alone = cross_validate(
        config, tiny_mvtec.parent, tiny_mvtec.name, tmp_path, folds=2, only_fold=1
    )
    assert not (tmp_path / "fold_0").exists() and not (tmp_path / "kfold.json").exists()
    fold_1_model = next((tmp_path / "fold_1" / "bundle").glob("*.onnx"))
    written = fold_1_model.stat().st_mtime_ns

    report = cross_validate(config, tiny_mvtec.parent, tiny_mvtec.name, tmp_path, folds=2)
    assert len(report["per_fold"]) == 2
    assert fold_1_model.stat().st_mtime_ns == written  # the fold run alone was kept
    assert report["per_fold"][1]["dice_mean"] == alone["dice_mean"]
    for key in ("dice_mean", "image_recall", "false_reject_rate"):
        values = [fold[key] for fold in report["per_fold"]]
        assert report[key]["mean"] == pytest.approx(np.mean(values))
        assert report[key]["std"] == pytest.approx(np.std(values))
    tested = [
        load_bundle(tmp_path / f"fold_{i}" / "bundle").manifest["models"]["segmentation"][
            "training"
        ]["dataset"]["split"]["test"]
        for i in range(2)
    ]
    assert not set(tested[0]) & set(tested[1])
    assert json.loads((tmp_path / "kfold.json").read_text())["folds"] == 2
    assert report["per_fold"][0]["training"]["epochs_run"] == 1


def test_cross_validation_keeps_finished_folds_and_refuses_another_recipe(
    tiny_mvtec: Path, tmp_path: Path
) -> None:
    from training.evaluate_segmentation import cross_validate

    config = TrainConfig(
        epochs=1, size=64, depth=3, base_width=8, val_every=1, precision="fp32", time_limit_min=0
    )
    first = cross_validate(config, tiny_mvtec.parent, tiny_mvtec.name, tmp_path, folds=2)
    onnx_files = sorted(tmp_path.glob("fold_*/bundle/*.onnx"))
    written = [f.stat().st_mtime_ns for f in onnx_files]
    (tmp_path / "fold_1" / "report" / "metrics.json").unlink()  # as if stopped in fold 1

    again = cross_validate(config, tiny_mvtec.parent, tiny_mvtec.name, tmp_path, folds=2)
    assert again["per_fold"][0] == first["per_fold"][0]
    assert onnx_files[0].stat().st_mtime_ns == written[0]  # fold 0 was not retrained
    assert onnx_files[1].stat().st_mtime_ns != written[1]  # fold 1 was finished again
    assert again["per_fold"][1]["training"]["epochs_run"] == 1

    other = dataclasses.replace(config, lr=config.lr / 2)
    with pytest.raises(ValueError, match=r"fold_0.*last\.pt.*lr"):
        cross_validate(other, tiny_mvtec.parent, tiny_mvtec.name, tmp_path, folds=2)
