"""Train the U-Net defect segmentation model on an MVTec-layout category and write it into a
model bundle.

Defective images (test/<type> with ground_truth masks) and good images (empty masks) are split
into train / val / held-out test, stratified by defect type and seeded; the split goes into the
manifest. Training uses Dice + BCE loss with augmentation (rotation at any angle, placement
jitter, camera-like brightness / contrast / colour / noise / focus changes, optional mirroring),
a cosine learning rate, validation Dice every few epochs, early stopping and checkpoints
(resumable); mixed precision on a GPU or a bf16-capable CPU. The best model is exported to
ONNX with a sigmoid inside (the output is a probability) and checked against torch; its pixel
threshold and minimum defect area are chosen on the validation split by running the exported
bundle through the station's own Inspector.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch

from engine.bundle import BundleError
from engine.imageio import ImageReadError
from training.config_options import config_from_args
from training.mvtec import (
    DatasetError,
    Sample,
    add_data_argument,
    category_dir,
    default_root,
    list_samples,
)
from training.onnx_export import ParityError
from training.seg_metrics import ThresholdChoice
from training.split import make_split, subset
from training.unet_config import TrainConfig, add_config_arguments
from training.unet_export import export_bundle
from training.unet_fit import TrainOutcome, fit, load_checkpoint


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `station-train unet`."""
    add_data_argument(parser)
    parser.add_argument("--category", required=True, help="category folder name, e.g. metal_nut")
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="bundle folder to write; an anomaly model already in it is kept",
    )
    parser.add_argument(
        "--name", default=None, help="bundle name in the manifest (default: <category>-unet)"
    )
    parser.add_argument(
        "--checkpoints",
        type=Path,
        default=None,
        help="folder for last.pt / best.pt (default: <out>.checkpoints)",
    )
    parser.add_argument(
        "--resume",
        type=Path,
        default=None,
        help="continue from this last.pt; its seed, split, architecture and "
        "augmentation are used, the other options come from this command line",
    )
    add_config_arguments(parser)


def train_bundle(
    config: TrainConfig,
    cat_dir: Path,
    samples: list[Sample],
    split: dict,
    out_dir: Path,
    checkpoint_dir: Path,
    resume: dict | None = None,
    device: torch.device | str | None = None,
    name: str | None = None,
) -> tuple[TrainOutcome, ThresholdChoice]:
    """Train on `split` and write the segmentation model into the bundle at `out_dir`."""
    outcome = fit(
        config,
        subset(samples, cat_dir, split, "train"),
        subset(samples, cat_dir, split, "val"),
        split,
        checkpoint_dir,
        resume,
        device,
    )
    choice = export_bundle(outcome, config, cat_dir, samples, split, out_dir, name)
    return outcome, choice


def run(args: argparse.Namespace) -> int:
    """`station-train unet`: returns the process exit code."""
    started = time.perf_counter()
    try:
        cat_dir = category_dir(args.data or default_root(), args.category)
        samples = list_samples(cat_dir)
        resume = load_checkpoint(args.resume) if args.resume else None
        config = config_from_args(TrainConfig, args)
        if resume is not None:
            kept = {
                k: resume["config"][k]
                for k in (
                    "seed",
                    "size",
                    "base_width",
                    "depth",
                    "val_fraction",
                    "test_fraction",
                    "mirror_prob",
                    "augment",
                )
            }
            config = TrainConfig(**{**asdict(config), **kept})
            split = resume["split"]
        else:
            split = make_split(
                samples, cat_dir, config.seed, config.val_fraction, config.test_fraction
            )
        if config.size % 2**config.depth:
            raise ValueError(
                f"--size {config.size} is not a multiple of 2**depth ({2**config.depth})"
            )
        checkpoints = args.checkpoints or (
            args.resume.parent
            if args.resume
            else args.out.with_name(args.out.name + ".checkpoints")
        )
        outcome, choice = train_bundle(
            config, cat_dir, samples, split, args.out, checkpoints, resume, args.device, args.name
        )
    except (DatasetError, BundleError, ImageReadError, ParityError, ValueError) as exc:
        print(f"station-train unet: error: {exc}", file=sys.stderr)
        return 2
    print(f"bundle: {args.out}")
    print(
        f"best epoch {outcome.best_epoch} of {outcome.epochs_run} ({outcome.stopped}); "
        f"val Dice at model resolution {outcome.best_val_dice:.4f}"
    )
    print(
        f"thresholds (val, original resolution): pixel {choice.pixel_threshold:.2f}, "
        f"min area {choice.min_defect_area_px} px; recall {choice.recall:.3f}, "
        f"false rejects {choice.false_reject_rate:.3f}, mean Dice {choice.dice_mean:.3f}"
    )
    print(f"wall time {time.perf_counter() - started:.0f} s")
    return 0
