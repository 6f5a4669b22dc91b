"""Evaluate a bundle's segmentation model through the station's Inspector, on the held-out split
recorded in its manifest; or cross-validate the U-Net recipe with k stratified folds.

The held-out report (metrics.json and a PNG gallery of image | ground truth | prediction) uses
the bundle exactly as shipped: the engine's preprocessing, onnxruntime, the manifest's pixel
threshold and minimum defect area. Cross-validation retrains one bundle per fold (each fold's
training can be kept short with --epochs / --time-limit-min) and reports the mean and spread
of Dice and of image-level recall over the folds.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from engine.bundle import BundleError, load_bundle
from engine.imageio import ImageReadError, read_image, write_image
from engine.inspector import Inspector
from training.config_options import config_from_args
from training.gallery import GalleryStyle, gallery_row
from training.mvtec import (
    DatasetError,
    add_data_argument,
    category_dir,
    default_root,
    list_samples,
)
from training.seg_data import truth_mask
from training.seg_metrics import BinnedAuroc, overlap_scores
from training.split import kfold_splits, subset

log = logging.getLogger(__name__)

GALLERY = GalleryStyle("mask", "prediction", side=320, font_scale=0.5, antialias=True)


@dataclass(frozen=True)
class ImageScore:
    """One held-out image: what the station decided and how well the mask matches."""

    image: str
    defect_type: str
    dice: float
    iou: float
    flagged_by_segmentation: bool
    station_verdict: str
    largest_region_px: int


def _summary(scores: list[ImageScore], auroc: BinnedAuroc) -> dict[str, Any]:
    by_type: dict[str, list[ImageScore]] = defaultdict(list)
    for score in scores:
        by_type[score.defect_type].append(score)
    per_type = {
        name: {
            "n": len(items),
            "dice": float(np.mean([s.dice for s in items])),
            "iou": float(np.mean([s.iou for s in items])),
            "recall": float(np.mean([s.flagged_by_segmentation for s in items])),
        }
        for name, items in sorted(by_type.items())
        if name != "good"
    }
    good = by_type.get("good", [])
    defective = [s for s in scores if s.defect_type != "good"]
    return {
        "n_defective": len(defective),
        "n_good": len(good),
        "dice_mean": float(np.mean([t["dice"] for t in per_type.values()])) if per_type else None,
        "iou_mean": float(np.mean([t["iou"] for t in per_type.values()])) if per_type else None,
        "per_type": per_type,
        "pixel_auroc": auroc.value(),
        "image_recall": float(np.mean([s.flagged_by_segmentation for s in defective]))
        if defective
        else None,
        "false_reject_rate": float(np.mean([s.flagged_by_segmentation for s in good]))
        if good
        else None,
        "station_recall": float(np.mean([s.station_verdict == "NG" for s in defective]))
        if defective
        else None,
        "station_false_reject_rate": float(np.mean([s.station_verdict == "NG" for s in good]))
        if good
        else None,
    }


def evaluate_segmentation(
    bundle_path: Path | str,
    data_root: Path | str,
    category: str,
    out_dir: Path | str,
    subset_name: str = "test",
    gallery: bool = True,
    provider: str | None = None,
) -> dict[str, Any]:
    """Run the bundle through `Inspector` on the split subset its manifest records.

    Writes `out_dir/metrics.json` (summary plus one row per image) and, with `gallery`,
    `out_dir/gallery/<split>_<type>_<name>.png`. Returns the summary: per-defect-type Dice, IoU and
    recall, their means over types, pixel AUROC, image recall and false-reject rate of the
    segmentation model, and the same two rates for the station's whole verdict.
    Dice/IoU are per image at the original resolution after the bundle's thresholds, averaged
    per type; a good image scores 1 when nothing is flagged.
    """
    bundle = load_bundle(bundle_path)
    if bundle.segmentation is None:
        raise BundleError(f"{bundle_path}: the bundle has no segmentation model")
    try:
        split = bundle.manifest["models"]["segmentation"]["training"]["dataset"]["split"]
    except KeyError:
        raise BundleError(
            f"{bundle_path}: field 'models.segmentation.training.dataset.split' is missing, "
            "so the held-out images are unknown"
        ) from None
    cat_dir = category_dir(data_root, category)
    samples = subset(list_samples(cat_dir), cat_dir, split, subset_name)
    inspector = Inspector(bundle, provider)
    out_dir = Path(out_dir)
    gallery_dir = out_dir / "gallery"
    (gallery_dir if gallery else out_dir).mkdir(parents=True, exist_ok=True)
    auroc = BinnedAuroc()
    scores = []
    for sample in tqdm(samples, desc="evaluate segmentation", unit="image"):
        image = read_image(sample.image)
        result = inspector.inspect(image, full_resolution=True)  # scored against full masks
        truth = truth_mask(sample, image.shape[:2])
        predicted = result.mask if result.mask is not None else np.zeros_like(truth)
        dice, iou = overlap_scores(predicted, truth)
        seg_regions = [r for r in result.regions if r.source == "segmentation"]
        auroc.add(result.probability, truth)
        score = ImageScore(
            image=sample.relative(cat_dir),
            defect_type=sample.defect_type,
            dice=dice,
            iou=iou,
            flagged_by_segmentation=bool(seg_regions),
            station_verdict=result.verdict.value,
            largest_region_px=max((r.area_px for r in seg_regions), default=0),
        )
        scores.append(score)
        if gallery:
            caption = f"{score.image}  Dice {dice:.2f}"
            name = Path(score.image).with_suffix(".png").as_posix().replace("/", "_")
            write_image(gallery_dir / name, gallery_row(image, truth, result, caption, GALLERY))
    summary = {
        "split": subset_name,
        "bundle": bundle.name,
        "pixel_threshold": bundle.segmentation.pixel_threshold,
        "min_defect_area_px": bundle.segmentation.min_defect_area_px,
        **_summary(scores, auroc),
    }
    report = {**summary, "images": [dataclasses.asdict(s) for s in scores]}
    (out_dir / "metrics.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    log.info(
        "held-out %s: mean Dice %s, recall %s, false rejects %s",
        subset_name,
        summary["dice_mean"],
        summary["image_recall"],
        summary["false_reject_rate"],
    )
    return summary


# settings that change only how fast a fold trains, not what it learns
_SPEED_SETTINGS = ("time_limit_min", "precision", "threads", "workers")


def _fold_checkpoint(path: Path, config: Any) -> dict | None:
    """The last checkpoint of a fold trained before with the same recipe, to resume from.

    Raises ValueError naming the checkpoint when it holds another recipe: mixing two recipes in
    one report would make its mean meaningless.
    """
    if not path.exists():
        return None
    from training.unet_fit import load_checkpoint

    checkpoint = load_checkpoint(path)
    wanted = dataclasses.asdict(config)
    changed = sorted(
        key
        for key, value in checkpoint["config"].items()
        if key not in _SPEED_SETTINGS and wanted.get(key) != value
    )
    if changed:
        raise ValueError(
            f"{path}: this fold was trained with other settings ({', '.join(changed)}); "
            "give another --report folder or delete this one"
        )
    return checkpoint


def _training_record(bundle_path: Path) -> dict[str, Any]:
    """How a fold's training went (epochs run, best epoch, why it stopped, seconds)."""
    training = load_bundle(bundle_path).manifest["models"]["segmentation"]["training"]
    return {k: training.get(k) for k in ("epochs_run", "best_epoch", "stopped", "train_seconds")}


def cross_validate(
    config: Any,
    data_root: Path | str,
    category: str,
    out_dir: Path | str,
    folds: int = 5,
    device: Any = None,
    only_fold: int | None = None,
) -> dict[str, Any]:
    """Retrain one bundle per stratified fold and evaluate each on its own test fold.

    `config` is a `training.unet_config.TrainConfig`. Writes `out_dir/fold_<i>/` (bundle,
    checkpoints, report) and `out_dir/kfold.json`; returns mean and standard deviation over
    folds of the mean Dice and of the image-level recall, with each fold's numbers. Run again
    on the same `out_dir`, it keeps the folds already evaluated and resumes an interrupted one
    from its last checkpoint, so a multi-hour run survives a stop.

    `only_fold` trains and evaluates that fold alone and returns its metrics without writing
    `kfold.json`, so folds can run in parallel processes or on other machines; a later run
    without it keeps them all and writes the summary.
    """
    from training.train_unet import train_bundle  # torch is needed only here

    if only_fold is not None and not 0 <= only_fold < folds:
        raise ValueError(f"fold {only_fold} is not one of folds 0 to {folds - 1}")
    out_dir = Path(out_dir)
    cat_dir = category_dir(data_root, category)
    samples = list_samples(cat_dir)
    per_fold = []
    for split in kfold_splits(samples, cat_dir, folds, config.seed, config.val_fraction):
        if only_fold is not None and split["fold"] != only_fold:
            continue
        fold_dir = out_dir / f"fold_{split['fold']}"
        resume = _fold_checkpoint(fold_dir / "checkpoints" / "last.pt", config)
        metrics = fold_dir / "report" / "metrics.json"
        if resume is not None and metrics.exists():
            log.info(
                "fold %d of %d: done before, report kept (%s)", split["fold"] + 1, folds, metrics
            )
            per_fold.append(json.loads(metrics.read_text(encoding="utf-8")))
            continue
        log.info("fold %d of %d", split["fold"] + 1, folds)
        train_bundle(
            config,
            cat_dir,
            samples,
            split,
            fold_dir / "bundle",
            fold_dir / "checkpoints",
            resume,
            device=device,
            name=f"{category}-unet-fold{split['fold']}",
        )
        per_fold.append(
            evaluate_segmentation(
                fold_dir / "bundle", data_root, category, fold_dir / "report", gallery=False
            )
        )
    if only_fold is not None:
        return per_fold[0]

    def spread(key: str) -> dict[str, float]:
        values = [f[key] for f in per_fold]
        return {
            "mean": float(np.mean(values)),
            "std": float(np.std(values)),
            "min": float(np.min(values)),
            "max": float(np.max(values)),
        }

    types = sorted({t for f in per_fold for t in f["per_type"]})
    report = {
        "folds": folds,
        "seed": config.seed,
        "dice_mean": spread("dice_mean"),
        "image_recall": spread("image_recall"),
        "false_reject_rate": spread("false_reject_rate"),
        "dice_per_type": {
            t: float(np.mean([f["per_type"][t]["dice"] for f in per_fold if t in f["per_type"]]))
            for t in types
        },
        "per_fold": [
            {
                **{k: f[k] for k in ("dice_mean", "image_recall", "false_reject_rate", "per_type")},
                "training": _training_record(out_dir / f"fold_{i}" / "bundle"),
            }
            for i, f in enumerate(per_fold)
        ],
    }
    (out_dir / "kfold.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options for evaluating one bundle, or for k-fold cross-validation (--kfold)."""
    from training.unet_config import add_config_arguments

    add_data_argument(parser)
    parser.add_argument(
        "--category",
        default=None,
        help="category folder under --data (default: the bundle's training "
        "category; required with --kfold)",
    )
    parser.add_argument(
        "--bundle",
        type=Path,
        default=None,
        help="bundle folder or .zip to evaluate on its recorded held-out split",
    )
    parser.add_argument(
        "--report",
        type=Path,
        required=True,
        help="report folder to write (metrics.json, gallery/ or kfold.json)",
    )
    parser.add_argument(
        "--kfold",
        type=int,
        default=0,
        metavar="K",
        help="instead of --bundle: retrain and evaluate on K stratified folds "
        "(5 is usual); the training options below apply to every fold",
    )
    parser.add_argument(
        "--fold",
        type=int,
        default=None,
        metavar="I",
        help="with --kfold: run only fold I (0-based), to spread folds over processes or "
        "machines; run again without --fold on the same --report to write the summary",
    )
    parser.add_argument("--no-gallery", action="store_true", help="skip the overlay PNGs")
    parser.add_argument(
        "--provider",
        default=None,
        help="onnxruntime provider override for evaluation, e.g. cpu or cuda",
    )
    add_config_arguments(parser.add_argument_group("training options (with --kfold)"))


def _bundle_category(bundle_path: Path) -> str:
    try:
        return load_bundle(bundle_path).manifest["models"]["segmentation"]["training"]["dataset"][
            "category"
        ]
    except KeyError:
        raise BundleError(
            f"{bundle_path}: the manifest names no training category; pass --category"
        ) from None


def run(args: argparse.Namespace) -> int:
    """Evaluate a bundle or cross-validate; returns the process exit code."""
    data_root = args.data or default_root()
    if bool(args.kfold) == bool(args.bundle):
        print("error: give either --bundle B or --kfold K", file=sys.stderr)
        return 2
    try:
        if args.kfold:
            from training.onnx_export import ParityError
            from training.unet_config import TrainConfig

            if not args.category:
                raise DatasetError("--kfold needs --category")
            try:
                report = cross_validate(
                    config_from_args(TrainConfig, args),
                    data_root,
                    args.category,
                    args.report,
                    args.kfold,
                    args.device,
                    args.fold,
                )
            except ParityError as exc:
                raise BundleError(str(exc)) from None
            per_type = "dice_per_type" if args.fold is None else "per_type"
            shown = {
                k: report[k] for k in ("dice_mean", "image_recall", "false_reject_rate", per_type)
            }
        else:
            category = args.category or _bundle_category(args.bundle)
            shown = evaluate_segmentation(
                args.bundle,
                data_root,
                category,
                args.report,
                gallery=not args.no_gallery,
                provider=args.provider,
            )
    except (BundleError, DatasetError, ImageReadError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(shown, indent=2))
    print(f"report written to {args.report}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.evaluate_segmentation", description=__doc__
    )
    add_arguments(parser)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
