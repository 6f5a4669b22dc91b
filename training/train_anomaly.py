"""Fit the VGG16 patch anomaly model on good parts only and write it into a model bundle.

`train/good` is split into a fit part (memory bank of patch features, global PCA + K-means
model) and a held-back part on which the image threshold is calibrated, through the station's
own Inspector, at a stated false-reject rate. The model is exported as one ONNX graph
(image -> anomaly map, image score, global score), parity-checked against torch, and written
with `engine.bundle.write_model`; a segmentation model already in the bundle is kept.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import hashlib
import logging
import shlex
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.stats import norm

from engine.bundle import Bundle, BundleError, InputSpec, load_bundle, write_model
from engine.imageio import ImageReadError
from engine.inspector import Inspector
from training.anomaly_model import AnomalyGraph, greedy_coreset
from training.backbone import WEIGHTS_HELP, BackboneWeightsError, VGGTaps
from training.clustering import fit_global_model
from training.config_options import add_config_options, config_from_args, option
from training.features import extract, global_descriptor, image_tensor, patch_embedding
from training.input_limits import limits_from_images
from training.mvtec import (
    DatasetError,
    Sample,
    add_data_argument,
    category_dir,
    default_root,
    defect_types,
    list_samples,
)
from training.onnx_export import ParityError, check_parity, export_onnx
from training.onnx_fp16 import round_to_fp16, store_initializers_fp16
from training.provenance import provenance
from training.seg_data import input_spec

log = logging.getLogger(__name__)

INPUT_NAME = "image"
OUTPUTS = {"map": "anomaly_map", "score": "score", "global_score": "global_score"}
PARITY_LIMIT = 1e-3
MIN_BANK = 1000  # below this a coreset cannot cover the variety of even a simple part
SCORE_MEANING = (
    "maximum over the image of the blurred distance from each patch's VGG16 feature "
    "(relu3_3 + relu4_3, sqrt and L2-normalised) to the nearest good-part patch feature"
)
GLOBAL_MEANING = (
    "distance of the image's pooled VGG16 descriptor, in whitened PCA space, to the nearest "
    "K-means centre of good parts"
)


@dataclass(frozen=True)
class AnomalyConfig:
    """Everything that decides the fitted model; recorded in the manifest.

    Defaults measured on metal_nut (docs/anomaly.md): relu3_3 + relu4_3 beat relu2_2 + relu3_3
    and adding relu5_3; a 3 % coreset gained ~0.01 pixel AUROC over 1 %; a blur of 2 cells
    raised pixel AUROC but cost AUPRO and image AUROC, so 1 cell.
    """

    backbone_weights: str = option("imagenet", WEIGHTS_HELP)
    size: int = option(256, "model input size")
    taps: tuple[str, ...] = ("relu3_3", "relu4_3")
    smooth: int = 3
    sigma: float = option(
        1.0, "Gaussian blur of the anomaly map in patch-grid cells of 8 input pixels"
    )
    coreset_fraction: float = option(0.03, "share of good patch features kept in the memory bank")
    calibration_fraction: float = option(
        0.2, "share of train/good held back to calibrate thresholds"
    )
    false_reject_rate: float = option(
        0.01, "share of good parts allowed to be rejected; sets the image threshold"
    )
    global_variance: float = 0.99
    global_clusters: int = 0  # 0: chosen by silhouette on the fit images
    seed: int = option(0, "seed of the calibration hold-back, the coreset and the clustering")

    @property
    def grid(self) -> int:
        """Patch grid side: relu4_3's resolution (stride 8), where the memory bank lives."""
        return self.size // 8


@dataclass(frozen=True)
class Calibration:
    """A threshold and how it was chosen on the held-back good images."""

    threshold: float
    method: str
    false_reject_rate: float
    n_images: int
    held_back_false_reject_rate: float
    score_mean: float
    score_std: float
    score_max: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def calibrate(scores: np.ndarray, false_reject_rate: float) -> Calibration:
    """Threshold at the (1 - rate) quantile of a normal fit to good scores, never below the
    empirical quantile: with ~40 held-back images the empirical 99 % point is just the maximum,
    which new good parts exceed far more often than 1 % of the time."""
    scores = np.asarray(scores, np.float64)
    mean, std = float(scores.mean()), float(scores.std(ddof=1)) if len(scores) > 1 else 0.0
    gaussian = mean + float(norm.ppf(1 - false_reject_rate)) * std
    # Just above the empirical quantile: NG means score >= threshold, so the image at the
    # quantile itself must pass.
    empirical = float(
        np.nextafter(np.quantile(scores, 1 - false_reject_rate, method="higher"), np.inf)
    )
    threshold = max(gaussian, empirical)
    return Calibration(
        threshold=threshold,
        method="max(normal-fit quantile, empirical quantile) at 1 - false_reject_rate "
        "of held-back train/good scores computed by the station's Inspector",
        false_reject_rate=false_reject_rate,
        n_images=len(scores),
        held_back_false_reject_rate=float(np.mean(scores >= threshold)),
        score_mean=mean,
        score_std=std,
        score_max=float(scores.max()),
    )


def split_good(
    train_good: list[Sample], fraction: float, seed: int
) -> tuple[list[Sample], list[Sample]]:
    """(fit, held back): a seeded random `fraction` of train/good is held back (at least 1)."""
    if not 0 < fraction < 1:
        raise ValueError(f"calibration fraction must be in (0, 1), got {fraction}")
    ordered = sorted(train_good, key=lambda s: s.image.as_posix())
    order = np.random.default_rng(seed).permutation(len(ordered))
    n_held = max(1, round(len(ordered) * fraction))
    if len(ordered) - n_held < 2:
        raise DatasetError(f"train/good has {len(ordered)} images; need at least 3")
    held = sorted((ordered[i] for i in order[:n_held]), key=lambda s: s.image.as_posix())
    fit = sorted((ordered[i] for i in order[n_held:]), key=lambda s: s.image.as_posix())
    return fit, held


def fit_graph(config: AnomalyConfig, fit_samples: list[Sample], spec: InputSpec) -> AnomalyGraph:
    """Memory bank and global model from the fit images; returns the exportable graph."""
    backbone = VGGTaps(config.backbone_weights, config.taps)

    def reduce(taps: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        patches = patch_embedding(taps, config.grid, config.smooth)
        return patches.permute(0, 2, 3, 1).flatten(0, 2), global_descriptor(taps)

    patches, descriptors = extract(fit_samples, spec, backbone, reduce, desc="fit features")
    n_bank = min(len(patches), max(MIN_BANK, round(len(patches) * config.coreset_fraction)))
    started = time.perf_counter()
    # Rounded to float16 here, before the graph derives anything from it: the bundle stores it so.
    bank = patches[greedy_coreset(patches, n_bank, seed=config.seed)].half().float()
    log.info(
        "coreset: %d of %d patch features in %.1f s",
        n_bank,
        len(patches),
        time.perf_counter() - started,
    )
    global_model = fit_global_model(
        descriptors.double().numpy(),
        config.global_variance,
        config.global_clusters or None,
        config.seed,
    )
    sigma_px = config.sigma * config.size / config.grid
    return AnomalyGraph(
        backbone, config.size, config.grid, config.smooth, sigma_px, bank, global_model
    )


def export_graph(graph: AnomalyGraph, onnx_path: Path, parity_batch: torch.Tensor) -> float:
    """Export with float16 storage of the backbone and memory bank (already rounded at fit);
    return the torch/onnxruntime parity, or raise ParityError."""
    round_to_fp16(graph.backbone.parameters())
    size = graph.size
    with warnings.catch_warnings():
        # The tracer warns that tap sizes become constants: they are, for the fixed input size.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        export_onnx(
            graph, torch.zeros(1, 3, size, size), onnx_path, INPUT_NAME, list(OUTPUTS.values())
        )
    store_initializers_fp16(onnx_path)
    return check_parity(graph, onnx_path, parity_batch, PARITY_LIMIT)


def _anomaly_only(bundle: Bundle) -> Bundle:
    """The bundle without its segmentation model: calibration must see the anomaly model alone."""
    return dataclasses.replace(bundle, segmentation=None)


@dataclass(frozen=True)
class StationOutputs:
    """What the station computes for the held-back good images."""

    scores: np.ndarray
    global_scores: np.ndarray
    map_pixels: np.ndarray  # a fixed-stride sample of every image's raw anomaly-map pixels


def station_outputs(bundle_dir: Path, samples: list[Sample]) -> StationOutputs:
    inspector = Inspector(_anomaly_only(load_bundle(bundle_dir)))
    scores, global_scores, pixels = [], [], []
    for sample in samples:
        result = inspector.inspect_file(sample.image)
        scores.append(result.anomaly_score)
        global_scores.append(result.global_score)
        pixels.append(result.anomaly_map[::4, ::4].ravel())
    return StationOutputs(np.array(scores), np.array(global_scores), np.concatenate(pixels))


def map_calibration(pixels: np.ndarray, threshold: float) -> dict[str, float]:
    """Heat-map normalisation and region threshold from good parts' map pixels.

    low = median good pixel (heat 0 is typical of good parts); high puts the image threshold at
    heat 0.5, so 1 is as far above the threshold as the threshold is above typical; regions
    are drawn where the map exceeds what 0.1 % of good pixels reach.
    """
    low = float(np.median(pixels))
    high = low + 2 * max(threshold - low, 1e-6)
    region = float(np.quantile(pixels, 0.999))
    return {"low": low, "high": high, "map_threshold": min(region, threshold)}


def _weights_record(weights: str) -> dict[str, str]:
    if weights in ("imagenet", "random"):
        return {"source": weights}
    path = Path(weights)
    return {"source": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


@dataclass(frozen=True)
class FitOutcome:
    bundle_dir: Path
    calibration: Calibration
    global_calibration: Calibration
    parity: float
    bank_size: int
    fit_seconds: float
    onnx_mb: float


def train_anomaly(
    config: AnomalyConfig, cat_dir: Path, out_dir: Path, name: str | None = None
) -> FitOutcome:
    """Fit on train/good, export, calibrate through the Inspector and write the bundle."""
    started = time.perf_counter()
    samples = list_samples(cat_dir)
    fit_samples, held = split_good(
        [s for s in samples if s.split == "train"], config.calibration_fraction, config.seed
    )
    spec = input_spec(config.size, INPUT_NAME)
    log.info("fitting on %d good images, %d held back for calibration", len(fit_samples), len(held))
    graph = fit_graph(config, fit_samples, spec)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = Path(tmp) / "anomaly.onnx"
        parity_batch = torch.stack([image_tensor(s, spec) for s in held[:2]])
        parity = export_graph(graph, onnx_path, parity_batch)
        fit_seconds = time.perf_counter() - started
        entry = _entry(
            config, spec, parity, cat_dir, fit_samples, held, len(graph.bank), fit_seconds
        )
        types = defect_types(samples)
        bundle_name = name or f"{cat_dir.name}-default"
        limits = limits_from_images(s.image for s in fit_samples + held)
        # Provisional thresholds first: the Inspector's raw outputs do not depend on them.
        write = functools.partial(
            write_model,
            out_dir,
            "anomaly",
            onnx_path,
            name=bundle_name,
            defect_types=types,
            input_limits=limits,
        )
        write(entry)
        outputs = station_outputs(out_dir, held)
        calibration = calibrate(outputs.scores, config.false_reject_rate)
        global_calibration = calibrate(outputs.global_scores, config.false_reject_rate)
        maps = map_calibration(outputs.map_pixels, calibration.threshold)
        entry.update(
            image_threshold=calibration.threshold,
            calibration=calibration.to_dict(),
            map_normalization={"low": maps["low"], "high": maps["high"], "method": MAP_METHOD},
            map_threshold=maps["map_threshold"],
            global_threshold=global_calibration.threshold,
            global_calibration=global_calibration.to_dict(),
        )
        write(entry)
        onnx_mb = onnx_path.stat().st_size / 1e6
    log.info(
        "anomaly model: %d bank patches, %.1f MB, parity %.1e, threshold %.4g "
        "(global %.4g), fitted and calibrated in %.0f s",
        len(graph.bank),
        onnx_mb,
        parity,
        calibration.threshold,
        global_calibration.threshold,
        time.perf_counter() - started,
    )
    return FitOutcome(
        out_dir, calibration, global_calibration, parity, len(graph.bank), fit_seconds, onnx_mb
    )


MAP_METHOD = (
    "low = median raw map value over held-back good images; high = low + 2 * (image_threshold "
    "- low), so heat 0.5 is the image threshold; map_threshold = 99.9th percentile of good "
    "pixels (capped at image_threshold)"
)


def _entry(
    config: AnomalyConfig,
    spec: InputSpec,
    parity: float,
    cat_dir: Path,
    fit_samples: list[Sample],
    held: list[Sample],
    bank_size: int,
    fit_seconds: float,
) -> dict[str, Any]:
    """The manifest entry with provisional thresholds (replaced after calibration)."""
    used = [s.image for s in fit_samples + held]
    split = {
        "fit": [s.relative(cat_dir) for s in fit_samples],
        "calibration": [s.relative(cat_dir) for s in held],
    }
    return {
        "input": spec.to_manifest(),
        "outputs": dict(OUTPUTS),
        "score_meaning": SCORE_MEANING,
        "global_score_meaning": GLOBAL_MEANING,
        "image_threshold": 1.0,
        "calibration": {"method": "provisional"},
        "map_normalization": {"low": 0.0, "high": 1.0},
        "map_threshold": 1.0,
        "parity_max_abs_diff": parity,
        "training": {
            **provenance(shlex.join(["station-train", *sys.argv[1:]]), cat_dir, used, split),
            "config": asdict(config),
            "backbone": {"architecture": "vgg16", **_weights_record(config.backbone_weights)},
            "memory_bank_patches": bank_size,
            "fit_seconds": round(fit_seconds, 1),
        },
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `station-train anomaly`."""
    add_data_argument(parser)
    parser.add_argument("--category", required=True, help="category folder under --data")
    parser.add_argument(
        "--out", type=Path, required=True, help="bundle folder (a segmentation model in it is kept)"
    )
    parser.add_argument("--name", default=None, help="bundle name (default: CATEGORY-default)")
    add_config_options(parser, AnomalyConfig)


def run(args: argparse.Namespace) -> int:
    """`station-train anomaly`: returns the process exit code."""
    config = config_from_args(AnomalyConfig, args)
    try:
        if not 0 < config.false_reject_rate < 1:
            raise ValueError(
                f"--false-reject-rate must be in (0, 1), got {config.false_reject_rate}"
            )
        if config.size % 8 or config.size < 32:
            raise ValueError(f"--size must be a multiple of 8 and at least 32, got {config.size}")
        cat_dir = category_dir(args.data or default_root(), args.category)
        outcome = train_anomaly(config, cat_dir, args.out, args.name)
    except (
        BackboneWeightsError,
        BundleError,
        DatasetError,
        ImageReadError,
        ParityError,
        ValueError,
    ) as exc:
        log.error("%s", exc)
        return 2
    print(
        f"anomaly model written to {outcome.bundle_dir} ({outcome.onnx_mb:.1f} MB, "
        f"parity {outcome.parity:.1e}, threshold {outcome.calibration.threshold:.4g} at "
        f"{outcome.calibration.false_reject_rate:.1%} false rejects on "
        f"{outcome.calibration.n_images} held-back good images; fit {outcome.fit_seconds:.0f} s)"
    )
    return 0
