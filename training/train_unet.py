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
import dataclasses
import functools
import logging
import math
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from tqdm import tqdm

from engine.bundle import Bundle, BundleError, load_bundle, write_model
from engine.imageio import ImageReadError, read_image
from engine.inspector import Inspector
from training.cpu_load import cpu_threads
from training.input_limits import limits_from_images
from training.mvtec import (
    DatasetError,
    Sample,
    add_data_argument,
    category_dir,
    default_root,
    defect_types,
    fingerprint,
    list_samples,
)
from training.onnx_export import export_onnx, parity_max_abs_diff
from training.seg_data import (
    AugmentConfig,
    SegmentationDataset,
    epoch_indices,
    input_block,
    truth_mask,
)
from training.seg_data import input_spec as make_input_spec
from training.seg_metrics import ThresholdChoice, choose_thresholds, overlap_scores
from training.split import make_split, subset
from training.unet import ProbabilityHead, UNet, UNetConfig

log = logging.getLogger(__name__)

INPUT_NAME = "image"
OUTPUT_NAME = "probability"
PARITY_LIMIT = 1e-4
PRECISIONS = ("auto", "mixed", "fp32")
DICE_POOLING = ("batch", "image")


class ParityError(Exception):
    """The exported ONNX model disagrees with torch by more than the allowed difference."""


@dataclass
class TrainConfig:
    """Everything that defines a training run; stored in checkpoints and the manifest."""

    seed: int = 0
    size: int = 256
    base_width: int = 16
    depth: int = 4
    epochs: int = 250
    patience: int = 0
    val_every: int = 10
    crop: int = 0
    batch_size: int = 8
    lr: float = 2e-3
    weight_decay: float = 1e-4
    good_ratio: float = 0.5
    val_fraction: float = 0.2
    test_fraction: float = 0.2
    mirror_prob: float = 0.0
    dice_pooling: str = "image"
    max_val_false_reject: float = 0.0
    time_limit_min: float = 27.0
    precision: str = "auto"
    threads: int = 0
    workers: int = 0
    augment: dict[str, Any] = field(default_factory=dict)

    def unet(self) -> UNetConfig:
        return UNetConfig(base_width=self.base_width, depth=self.depth)

    def augment_config(self) -> AugmentConfig:
        return AugmentConfig(**{**self.augment, "mirror_prob": self.mirror_prob})


@dataclass
class TrainOutcome:
    """What `fit` produced: the best model and how training went."""

    model: UNet
    best_epoch: int
    best_val_dice: float
    epochs_run: int
    elapsed_s: float
    stopped: str  # why training ended: "epochs", "early stopping", "time limit"
    history: list[dict[str, float]]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `station-train unet`."""
    add_data_arguments(parser)
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


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_argument(parser)


def add_config_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """The training hyper-parameters (TrainConfig fields) and the device."""
    defaults = TrainConfig()
    parser.add_argument(
        "--seed",
        type=int,
        default=defaults.seed,
        help="seed of the split, weight init and augmentation (default %(default)s)",
    )
    parser.add_argument(
        "--size",
        type=int,
        default=defaults.size,
        help="square model input size in pixels, a multiple of 2**depth (default %(default)s)",
    )
    parser.add_argument(
        "--base-width",
        type=int,
        default=defaults.base_width,
        help="channels of the first U-Net level; doubles per level (default %(default)s)",
    )
    parser.add_argument(
        "--depth",
        type=int,
        default=defaults.depth,
        help="number of down-sampling levels (default %(default)s)",
    )
    parser.add_argument(
        "--epochs", type=int, default=defaults.epochs, help="maximum epochs (default %(default)s)"
    )
    parser.add_argument(
        "--patience",
        type=int,
        default=defaults.patience,
        help="stop after this many epochs without a better validation Dice, checked only in "
        "the second half of the schedule; 0 = off. Off by default: the cosine schedule keeps "
        "improving the model until its low-rate end, and stopping on an early peak of the "
        "noisy validation Dice cost 5-fold cross-validation folds up to 0.4 Dice "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--val-every",
        type=int,
        default=defaults.val_every,
        help="validate (and keep the best model) every this many epochs (default %(default)s)",
    )
    parser.add_argument(
        "--crop",
        type=int,
        default=defaults.crop,
        help="train on random square crops of this many pixels of the resized image, half of "
        "them centred on a defect pixel; 0 trains on whole images. Crops make a step several "
        "times cheaper; validation and inspection always see the whole image "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=defaults.batch_size,
        help="images per step (default %(default)s)",
    )
    parser.add_argument(
        "--lr", type=float, default=defaults.lr, help="AdamW learning rate (default %(default)s)"
    )
    parser.add_argument(
        "--weight-decay",
        type=float,
        default=defaults.weight_decay,
        help="AdamW weight decay (default %(default)s)",
    )
    parser.add_argument(
        "--good-ratio",
        type=float,
        default=defaults.good_ratio,
        help="good images drawn per defective image in each epoch (default %(default)s)",
    )
    parser.add_argument(
        "--val-fraction",
        type=float,
        default=defaults.val_fraction,
        help="fraction of each defect type (and of good images) for validation "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--test-fraction",
        type=float,
        default=defaults.test_fraction,
        help="fraction held out for the final test, never seen in training (default %(default)s)",
    )
    parser.add_argument(
        "--mirror-prob",
        type=float,
        default=defaults.mirror_prob,
        help="chance of mirroring a training image. Off by default: a mirrored part has "
        "the other handedness, which is how an upside-down ('flip') metal nut differs from a "
        "good one; in trials it lowered mean Dice (default %(default)s)",
    )
    parser.add_argument(
        "--dice-pooling",
        choices=DICE_POOLING,
        default=defaults.dice_pooling,
        help="soft Dice term of the loss: 'batch' pools every pixel of the batch, so large "
        "defects weigh most; 'image' averages the Dice of each defective image, so a small "
        "defect counts as much as a whole flipped part. 'image' scored higher on 4 of 5 "
        "cross-validation folds (mean Dice 0.766 against 0.725) (default %(default)s)",
    )
    parser.add_argument(
        "--max-val-false-reject",
        type=float,
        default=defaults.max_val_false_reject,
        help="fraction of good validation images the chosen thresholds may "
        "reject (default %(default)s)",
    )
    parser.add_argument(
        "--time-limit-min",
        type=float,
        default=defaults.time_limit_min,
        help="stop training (keeping the best model) before an epoch would end after this "
        "many minutes; the learning rate anneals over this budget if it is shorter than "
        "--epochs would take. 0 for no limit (default %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=defaults.workers,
        help="data-loading worker processes (default %(default)s: augment in "
        "the main process, best on a 2-core CPU)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=defaults.threads,
        help="CPU threads for torch; 0 = the cores other processes leave idle (sampled for half "
        "a second at the start), at least 1: on a shared CPU, more threads than free cores make "
        "every step several times slower (default %(default)s)",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=defaults.precision,
        help="training arithmetic: mixed = float16 autocast on a GPU, bfloat16 on a CPU; auto = "
        "mixed on a GPU or a CPU with native bf16 (AVX512-BF16/AMX), else fp32 "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--device", default=None, help="torch device, e.g. cpu or cuda (default: cuda if available)"
    )


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    names = {f.name for f in fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in vars(args).items() if k in names})


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


def soft_dice_loss(
    logits: torch.Tensor, target: torch.Tensor, pooling: str, eps: float = 1.0
) -> torch.Tensor:
    """1 - soft Dice. Pooled over the batch, good images only add to the denominator; per
    image, the mean over the defective images (good ones are left to the BCE term), so a thin
    scratch weighs as much as a whole flipped part."""
    prob = torch.sigmoid(logits.float())
    if pooling == "batch":
        inter = (prob * target).sum()
        return 1 - (2 * inter + eps) / (prob.sum() + target.sum() + eps)
    pixels = tuple(range(1, prob.ndim))
    truth = target.sum(pixels)
    defective = truth > 0
    if not defective.any():
        return prob.new_zeros(())
    dice = (2 * (prob * target).sum(pixels) + eps) / (prob.sum(pixels) + truth + eps)
    return 1 - dice[defective].mean()


def dice_bce_loss(logits: torch.Tensor, target: torch.Tensor, pooling: str) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits.float(), target) + soft_dice_loss(
        logits, target, pooling
    )


@torch.no_grad()
def validation_dice(
    model: UNet,
    loader: DataLoader,
    samples: list[Sample],
    device: torch.device,
    amp_dtype: torch.dtype | None,
    dice_pooling: str,
) -> tuple[float, float]:
    """(score, loss): score is the mean over strata (each defect type, and good) of the
    per-image Dice at probability 0.5, at model resolution; an empty prediction on an empty
    mask scores 1."""
    model.eval()
    by_type: dict[str, list[float]] = {}
    losses = []
    position = 0
    for images, targets in loader:
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            logits = model(images.to(device, memory_format=torch.channels_last))
        losses.append(float(dice_bce_loss(logits, targets.to(device), dice_pooling)))
        predicted = (logits > 0).cpu().numpy()[:, 0]
        for pred, truth in zip(predicted, targets.numpy()[:, 0] > 0.5, strict=True):
            dice, _ = overlap_scores(pred, truth)
            by_type.setdefault(samples[position].defect_type, []).append(dice)
            position += 1
    return float(np.mean([np.mean(v) for v in by_type.values()])), float(np.mean(losses))


def _checkpoint_state(
    model: UNet,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    config: TrainConfig,
    split: dict,
    progress: dict,
) -> dict:
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scaler": scaler.state_dict(),
        "config": asdict(config),
        "split": split,
        "progress": progress,
    }


def load_checkpoint(path: Path) -> dict:
    """A checkpoint written by `fit` (tensors and plain data only: no pickled code)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError) as exc:
        raise DatasetError(f"{path}: cannot read checkpoint ({exc})") from None


def mixed_precision_dtype(device: torch.device, precision: str) -> torch.dtype | None:
    """The autocast dtype for `precision` ("auto", "mixed" or "fp32") on `device`, or None.

    "auto" uses float16 on CUDA and bfloat16 on CPUs with native bf16 instructions (AVX512-BF16
    or AMX), where oneDNN runs this U-Net's convolutions about 2.5x faster than in fp32; other
    CPUs emulate bf16 slowly, so they stay in fp32. The exported model is always fp32.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r} is not one of {PRECISIONS}")
    if precision == "fp32":
        return None
    if device.type == "cuda":
        return torch.float16
    native = (
        getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
        or getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
    )
    return torch.bfloat16 if precision == "mixed" or native else None


def cosine_lr(peak: float, fraction: float) -> float:
    """Learning rate after `fraction` of the budget: cosine from `peak` to `peak / 100`."""
    floor = peak * 0.01
    return floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * fraction))


def stalled(patience: int, spent: float, epochs_since_best: int) -> bool:
    """Early stopping: `patience` epochs (0 = never) without a better validation Dice, counted
    only once half the budget is `spent`: at a high learning rate validation Dice swings widely."""
    return patience > 0 and spent > 0.5 and epochs_since_best > patience


def train_one_epoch(
    model: UNet,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    device: torch.device,
    amp_dtype: torch.dtype | None,
    dice_pooling: str,
) -> float:
    """One pass over `loader` (mixed precision if `amp_dtype`; gradients clipped); returns the
    mean loss."""
    model.train()
    losses = []
    for images, targets in loader:
        images = images.to(device, memory_format=torch.channels_last)
        targets = targets.to(device)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            logits = model(images)
        loss = dice_bce_loss(logits, targets, dice_pooling)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        scaler.step(optimizer)
        scaler.update()
        losses.append(loss.item())
    return float(np.mean(losses))


def fit(
    config: TrainConfig,
    train_samples: list[Sample],
    val_samples: list[Sample],
    split: dict,
    checkpoint_dir: Path,
    resume: dict | None = None,
    device: torch.device | str | None = None,
) -> TrainOutcome:
    """Train until `config.epochs`, early stopping or the time limit; return the best model.

    The learning rate follows a cosine from `lr` down to 1 % of it over the run's budget:
    `epochs`, or the time limit if that would run out first, so a run cut by the time limit
    still ends with a small learning rate. Validation runs every `val_every` epochs and on the
    last one.
    """
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    _seed_everything(config.seed)
    spec = make_input_spec(config.size, INPUT_NAME)
    train_set = SegmentationDataset(
        train_samples, spec, config.augment_config(), config.seed, crop=config.crop
    )
    val_set = SegmentationDataset(val_samples, spec)
    loader_options = {"num_workers": config.workers, "pin_memory": device.type == "cuda"}
    val_loader = DataLoader(val_set, batch_size=config.batch_size, **loader_options)

    amp_dtype = mixed_precision_dtype(device, config.precision)
    torch.set_num_threads(cpu_threads(config.threads))
    log.info(
        "training on %s (%d CPU threads), %s",
        device,
        torch.get_num_threads(),
        f"mixed precision {amp_dtype}" if amp_dtype else "fp32",
    )
    # channels-last suits oneDNN on CPUs and tensor cores on GPUs alike
    model = UNet(config.unet()).to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
    progress = {"epoch": 0, "best_score": -1.0, "best_epoch": 0, "elapsed_s": 0.0, "history": []}
    if resume is not None:
        model.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        scaler.load_state_dict(resume["scaler"])
        progress = resume["progress"]
        log.info(
            "resuming after epoch %d (best val Dice %.4f at epoch %d)",
            progress["epoch"],
            progress["best_score"],
            progress["best_epoch"],
        )
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    limit_s = config.time_limit_min * 60 if config.time_limit_min > 0 else math.inf
    start = time.perf_counter() - progress["elapsed_s"]
    stopped, epoch_s = "epochs", 0.0
    bar = tqdm(
        range(progress["epoch"] + 1, config.epochs + 1),
        desc="unet",
        unit="epoch",
        initial=progress["epoch"],
        total=config.epochs,
    )
    for epoch in bar:
        # the fraction of the budget spent when this epoch ends, by epochs or by the clock
        spent = max(epoch / config.epochs, (time.perf_counter() - start + epoch_s) / limit_s)
        if stalled(config.patience, spent, epoch - progress["best_epoch"]):
            stopped = "early stopping"
            break
        if spent > 1 and epoch > 1 and epoch < config.epochs:
            stopped = "time limit"
            break
        for group in optimizer.param_groups:
            group["lr"] = cosine_lr(config.lr, min(spent, 1.0))
        epoch_start = time.perf_counter()
        train_set.set_epoch(epoch)
        order = epoch_indices(train_samples, config.good_ratio, config.seed, epoch)
        loader = DataLoader(
            train_set,
            batch_size=config.batch_size,
            sampler=order,
            drop_last=len(order) > config.batch_size,
            **loader_options,
        )
        record = {
            "epoch": epoch,
            "train_loss": train_one_epoch(
                model, loader, optimizer, scaler, device, amp_dtype, config.dice_pooling
            ),
        }
        record["lr"] = optimizer.param_groups[0]["lr"]
        if epoch % config.val_every == 0 or epoch == config.epochs:
            record["val_dice"], record["val_loss"] = validation_dice(
                model, val_loader, val_samples, device, amp_dtype, config.dice_pooling
            )
            if record["val_dice"] > progress["best_score"]:
                progress.update(best_score=record["val_dice"], best_epoch=epoch)
                torch.save(
                    {"model": model.state_dict(), "config": asdict(config), "split": split},
                    checkpoint_dir / "best.pt",
                )
        epoch_s = time.perf_counter() - epoch_start
        record["seconds"] = epoch_s
        progress["history"].append(record)
        progress.update(epoch=epoch, elapsed_s=time.perf_counter() - start)
        torch.save(
            _checkpoint_state(model, optimizer, scaler, config, split, progress),
            checkpoint_dir / "last.pt",
        )
        bar.set_postfix(loss=f"{record['train_loss']:.3f}", best=f"{progress['best_score']:.3f}")
        log.debug("epoch %d: %s", epoch, record)
        if "val_dice" in record:
            log.info(
                "epoch %d: train loss %.4f, val loss %.4f, val Dice %.4f (best %.4f at %d)",
                epoch,
                record["train_loss"],
                record["val_loss"],
                record["val_dice"],
                progress["best_score"],
                progress["best_epoch"],
            )
    bar.close()
    if not progress["best_epoch"]:  # stopped before the first validation: keep what there is
        progress.update(best_epoch=progress["epoch"])
        torch.save({"model": model.state_dict()}, checkpoint_dir / "best.pt")
    best = load_checkpoint(checkpoint_dir / "best.pt")
    model = UNet(config.unet())
    model.load_state_dict(best["model"])
    return TrainOutcome(
        model=model.eval(),
        best_epoch=progress["best_epoch"],
        best_val_dice=progress["best_score"],
        epochs_run=progress["epoch"],
        elapsed_s=time.perf_counter() - start,
        stopped=stopped,
        history=progress["history"],
    )


def station_probabilities(inspector: Inspector, samples: list[Sample]) -> list[np.ndarray]:
    """Segmentation probabilities at original resolution, as the station computes them."""
    return [
        inspector.inspect(read_image(s.image), full_resolution=True).probability for s in samples
    ]


def reproduce_command(cat_dir: Path, out_dir: Path, config: TrainConfig) -> str:
    """The `station-train unet` command line that trains this configuration again."""
    words = ["station-train", "unet", "--data", str(cat_dir.parent), "--category", cat_dir.name,
             "--out", str(out_dir)]  # fmt: skip
    for name, value in asdict(config).items():
        if not isinstance(value, dict):
            words += [f"--{name.replace('_', '-')}", str(value)]
    return shlex.join(words)


def _package_version() -> str:
    try:
        return metadata.version("inspection-station")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def export_bundle(
    outcome: TrainOutcome,
    config: TrainConfig,
    cat_dir: Path,
    samples: list[Sample],
    split: dict,
    out_dir: Path,
    name: str | None = None,
) -> ThresholdChoice:
    """Export the model into the bundle, check parity, then choose thresholds on val through
    the station's Inspector and record them. Returns the chosen thresholds."""
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = make_input_spec(config.size, INPUT_NAME)
    val_samples = subset(samples, cat_dir, split, "val")
    head = ProbabilityHead(outcome.model).eval()
    onnx_path = out_dir / "segmentation.onnx"
    export_onnx(
        head, torch.zeros(1, 3, spec.height, spec.width), onnx_path, INPUT_NAME, [OUTPUT_NAME]
    )
    val_set = SegmentationDataset(val_samples[:4], spec)
    parity_batch = torch.stack([val_set[i][0] for i in range(len(val_set))])
    parity = parity_max_abs_diff(head, onnx_path, parity_batch)
    if parity > PARITY_LIMIT:
        raise ParityError(
            f"{onnx_path}: torch and onnxruntime differ by {parity:.2e} (limit {PARITY_LIMIT:.0e})"
        )
    used = [
        s.image
        for s in samples
        if s.relative(cat_dir) in {p for part in ("train", "val", "test") for p in split[part]}
    ]
    entry = {
        "input": input_block(spec),
        "output": {"name": OUTPUT_NAME, "kind": "probability"},
        "pixel_threshold": 0.5,
        "min_defect_area_px": 1,
        "parity_max_abs_diff": parity,
        "training": {
            "command": reproduce_command(cat_dir, out_dir, config),
            "package_version": _package_version(),
            "torch_version": torch.__version__,
            "dataset": {
                "name": cat_dir.parent.name,
                "category": cat_dir.name,
                "fingerprint": fingerprint(used, cat_dir),
                "split": split,
            },
            "config": asdict(config),
            "architecture": {"kind": "unet", **config.unet().to_dict()},
            "best_epoch": outcome.best_epoch,
            "epochs_run": outcome.epochs_run,
            "stopped": outcome.stopped,
            "best_val_dice_model_resolution": outcome.best_val_dice,
            "train_seconds": round(outcome.elapsed_s, 1),
        },
    }
    types = defect_types(samples)
    bundle_name = name or f"{cat_dir.name}-unet"
    limits = limits_from_images(used)
    write = functools.partial(
        write_model,
        out_dir,
        "segmentation",
        onnx_path,
        name=bundle_name,
        defect_types=types,
        input_limits=limits,
    )
    write(entry)
    inspector = Inspector(_segmentation_only(load_bundle(out_dir)))
    probabilities = station_probabilities(inspector, val_samples)
    choice = choose_thresholds(
        probabilities,
        [truth_mask(s, p.shape) for s, p in zip(val_samples, probabilities, strict=True)],
        [s.defect_type for s in val_samples],
        max_false_reject=config.max_val_false_reject,
    )
    entry.update(
        pixel_threshold=choice.pixel_threshold, min_defect_area_px=choice.min_defect_area_px
    )
    entry["training"]["threshold_selection"] = {
        "split": "val",
        "method": "per pixel threshold: minimum area at the geometric mean of the smallest area "
        "keeping good-image false rejects within the target and the smallest largest region "
        "of detected defective images; best (recall, mean Dice over defect types) wins",
        "max_false_reject": config.max_val_false_reject,
        **choice.to_dict(),
    }
    write(entry)
    log.info(
        "parity %.2e; thresholds on val: pixel %.2f, min area %d px "
        "(recall %.3f, false rejects %.3f, Dice %.3f)",
        parity,
        choice.pixel_threshold,
        choice.min_defect_area_px,
        choice.recall,
        choice.false_reject_rate,
        choice.dice_mean,
    )
    return choice


def _segmentation_only(bundle: Bundle) -> Bundle:
    """The bundle with its anomaly model left out, so thresholds depend on segmentation alone."""
    return dataclasses.replace(bundle, anomaly=None)


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
        config = config_from_args(args)
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
