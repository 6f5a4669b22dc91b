"""Writing a trained U-Net into a bundle: ONNX export with a sigmoid inside, the torch /
onnxruntime parity check, and the pixel threshold and minimum defect area chosen on the
validation split through the station's own Inspector."""

from __future__ import annotations

import dataclasses
import functools
import logging
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from engine.bundle import Bundle, load_bundle, write_model
from engine.imageio import read_image
from engine.inspector import Inspector
from training.input_limits import limits_from_images
from training.mvtec import Sample, defect_types
from training.onnx_export import check_parity, export_onnx
from training.provenance import provenance
from training.seg_data import SegmentationDataset, truth_mask
from training.seg_metrics import ThresholdChoice, choose_thresholds
from training.split import subset
from training.unet import ProbabilityHead
from training.unet_config import INPUT_NAME, TrainConfig, reproduce_command
from training.unet_fit import TrainOutcome

log = logging.getLogger(__name__)

OUTPUT_NAME = "probability"
PARITY_LIMIT = 1e-4


def station_probabilities(inspector: Inspector, samples: list[Sample]) -> list[np.ndarray]:
    """Segmentation probabilities at original resolution, as the station computes them."""
    return [
        inspector.inspect(read_image(s.image), full_resolution=True).probability for s in samples
    ]


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
    spec = config.input_spec()
    val_samples = subset(samples, cat_dir, split, "val")
    head = ProbabilityHead(outcome.model).eval()
    onnx_path = out_dir / "segmentation.onnx"
    export_onnx(
        head, torch.zeros(1, 3, spec.height, spec.width), onnx_path, INPUT_NAME, [OUTPUT_NAME]
    )
    val_set = SegmentationDataset(val_samples[:4], spec)
    parity_batch = torch.stack([val_set[i][0] for i in range(len(val_set))])
    parity = check_parity(head, onnx_path, parity_batch, PARITY_LIMIT)
    used = [
        s.image
        for s in samples
        if s.relative(cat_dir) in {p for part in ("train", "val", "test") for p in split[part]}
    ]
    entry = {
        "input": spec.to_manifest(),
        "output": {"name": OUTPUT_NAME, "kind": "probability"},
        "pixel_threshold": 0.5,
        "min_defect_area_px": 1,
        "parity_max_abs_diff": parity,
        "training": {
            **provenance(reproduce_command(cat_dir, out_dir, config), cat_dir, used, split),
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
