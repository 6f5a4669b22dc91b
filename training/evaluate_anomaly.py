"""Evaluate a bundle's anomaly model on a category's `test/` folder, through the Inspector.

The station's own code computes every score and map (the bundle as shipped, onnxruntime,
the engine's preprocessing); this module only compares them with the ground truth.
Pixel metrics are computed on maps and masks resized to EVAL_SIDE pixels on the longer side
(as anomalib does at its model size), which keeps 100+ images of 700x700 within memory.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections import defaultdict
from pathlib import Path
from typing import Any

import cv2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from tqdm import tqdm

from engine.bundle import load_bundle
from engine.imageio import read_image, write_image
from engine.inspector import Inspector
from engine.result import Verdict
from training.anomaly_metrics import aupro, auroc, f1_at, pro_curve, roc_points
from training.gallery import GalleryStyle, gallery_row
from training.mvtec import GOOD, DatasetError, Sample, category_dir, list_samples
from training.seg_data import truth_mask

log = logging.getLogger(__name__)

EVAL_SIDE = 256
GALLERY = GalleryStyle("heatmap", "anomaly heat map", side=240, font_scale=0.45, antialias=False)
GALLERY_PER_TYPE = 3


@dataclasses.dataclass
class Collected:
    """The station's outputs for every test image, with the ground truth beside them."""

    samples: list[Sample]
    scores: np.ndarray
    global_scores: np.ndarray | None
    verdicts: np.ndarray  # NG by the anomaly score at the bundle's threshold
    maps: np.ndarray  # [N, h, w] raw anomaly maps at evaluation size
    masks: np.ndarray  # [N, h, w] bool ground truth at evaluation size
    anomaly_ms: np.ndarray

    @property
    def labels(self) -> np.ndarray:
        return np.array([not s.is_good for s in self.samples])

    @property
    def types(self) -> np.ndarray:
        return np.array([s.defect_type for s in self.samples])


def _eval_size(shape: tuple[int, int]) -> tuple[int, int]:
    """(width, height) with the longer side EVAL_SIDE."""
    height, width = shape
    factor = EVAL_SIDE / max(height, width)
    return max(1, round(width * factor)), max(1, round(height * factor))


def collect(inspector: Inspector, samples: list[Sample], gallery_dir: Path) -> Collected:
    """Inspect every sample; write the overlay gallery rows on the way (first few per type)."""
    scores, global_scores, verdicts, maps, masks, times = [], [], [], [], [], []
    shown: dict[str, int] = defaultdict(int)
    rows = []
    for sample in tqdm(samples, desc="evaluate anomaly", unit="image", leave=False):
        image = read_image(sample.image)
        result = inspector.inspect(image)
        truth = truth_mask(sample, image.shape[:2])
        size = _eval_size(image.shape[:2])
        maps.append(cv2.resize(result.anomaly_map, size, interpolation=cv2.INTER_AREA))
        masks.append(cv2.resize(truth.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0.5)
        scores.append(result.anomaly_score)
        global_scores.append(result.global_score)
        verdicts.append(result.verdict == Verdict.NG)
        times.append(result.timings_ms.get("anomaly", float("nan")))
        if shown[sample.defect_type] < GALLERY_PER_TYPE:
            shown[sample.defect_type] += 1
            caption = f"{sample.defect_type}/{sample.image.name} {result.anomaly_score:.3g}"
            rows.append(gallery_row(image, truth, result, caption, GALLERY))
    gallery_dir.mkdir(parents=True, exist_ok=True)
    if rows:
        write_image(gallery_dir / "gallery.png", np.vstack(rows))
    has_global = all(g is not None for g in global_scores)
    return Collected(
        samples=samples,
        scores=np.array(scores),
        global_scores=np.array(global_scores, float) if has_global else None,
        verdicts=np.array(verdicts),
        maps=np.stack(maps) if len({m.shape for m in maps}) == 1 else _pad(maps),
        masks=np.stack(masks) if len({m.shape for m in masks}) == 1 else _pad(masks),
        anomaly_ms=np.array(times),
    )


def _pad(planes: list[np.ndarray]) -> np.ndarray:
    """Stack planes of different sizes into one array (images of mixed aspect ratios),
    padding with the smallest value so padding is never counted as a detection."""
    height = max(p.shape[0] for p in planes)
    width = max(p.shape[1] for p in planes)
    fill = min(p.min() for p in planes)
    out = np.full((len(planes), height, width), fill, planes[0].dtype)
    for i, p in enumerate(planes):
        out[i, : p.shape[0], : p.shape[1]] = p
    return out


def _metrics(data: Collected, keep: np.ndarray, limit: float) -> dict[str, Any]:
    """Metrics over the images selected by `keep` (good images plus some defect types)."""
    labels = data.labels[keep]
    maps, masks = data.maps[keep], data.masks[keep]
    fpr, pro = pro_curve(maps, masks)
    out: dict[str, Any] = {
        "n_good": int((~labels).sum()),
        "n_defective": int(labels.sum()),
        "image_auroc": auroc(labels, data.scores[keep]),
        "pixel_auroc": auroc(masks.ravel(), maps.ravel()),
        "aupro": aupro(fpr, pro, limit) if masks.any() else None,
        "recall_at_threshold": float(data.verdicts[keep][labels].mean()) if labels.any() else None,
    }
    if data.global_scores is not None:
        out["global_image_auroc"] = auroc(labels, data.global_scores[keep])
    return out


def _plot_rocs(data: Collected, out_dir: Path, limit: float) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    good = data.types == GOOD
    for name in sorted(set(data.types) - {GOOD}):
        keep = good | (data.types == name)
        fpr, tpr = roc_points(data.labels[keep], data.scores[keep])
        axes[0].plot(fpr, tpr, label=f"{name} ({auroc(data.labels[keep], data.scores[keep]):.3f})")
    fpr, tpr = roc_points(data.labels, data.scores)
    axes[0].plot(fpr, tpr, "k", lw=2, label=f"all ({auroc(data.labels, data.scores):.3f})")
    if data.global_scores is not None:
        fpr, tpr = roc_points(data.labels, data.global_scores)
        value = auroc(data.labels, data.global_scores)
        axes[0].plot(fpr, tpr, "k--", label=f"global score, all ({value:.3f})")
    axes[0].set(title="image ROC (anomaly score)", xlabel="false-positive rate", ylabel="TPR")
    axes[0].legend(loc="lower right", fontsize=8)
    step = max(1, data.maps.size // 2_000_000)  # ROC drawing needs no more points than this
    fpr, tpr = roc_points(data.masks.ravel()[::step], data.maps.ravel()[::step])
    axes[1].plot(fpr, tpr, "k")
    axes[1].set(title="pixel ROC (all test images)", xlabel="false-positive rate", ylabel="TPR")
    fpr, pro = pro_curve(data.maps, data.masks)
    axes[2].plot(fpr, pro, "k")
    axes[2].axvline(limit, color="r", ls=":", label=f"AUPRO limit {limit:.0%}")
    axes[2].set(title="per-region overlap", xlabel="false-positive rate", ylabel="PRO", xlim=(0, 1))
    axes[2].legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out_dir / "roc.png", dpi=110)
    plt.close(fig)


def _markdown(metrics: dict[str, Any], bundle_name: str, category: str) -> str:
    def fmt(value: Any) -> str:
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    keys = ["image_auroc", "pixel_auroc", "aupro", "recall_at_threshold", "global_image_auroc"]
    lines = [
        f"# Anomaly evaluation: {bundle_name} on {category}/test",
        "",
        f"Image threshold {metrics['image_threshold']:.4g} (calibrated on held-back good images); "
        f"F1 {metrics['f1_at_threshold']:.3f}, false-reject rate "
        f"{metrics['false_reject_rate']:.3f} on {metrics['all']['n_good']} good test images. "
        f"Pixel metrics at {EVAL_SIDE} px; AUPRO to {metrics['aupro_fpr_limit']:.0%} FPR.",
        "",
        "| subset | n defective | " + " | ".join(keys) + " |",
        "|---" * (len(keys) + 2) + "|",
    ]
    rows = {"all": metrics["all"], **metrics["per_type"]}
    for name, row in rows.items():
        cells = [fmt(row.get(k)) for k in keys]
        lines.append(f"| {name} | {row['n_defective']} | " + " | ".join(cells) + " |")
    lines += ["", "![ROC curves](roc.png)", "", "![overlay gallery](gallery/gallery.png)", ""]
    return "\n".join(lines)


def evaluate_anomaly(
    bundle_path: Path | str,
    data_root: Path | str,
    category: str,
    out_dir: Path | str,
    aupro_limit: float = 0.3,
) -> dict[str, Any]:
    """Metrics of the bundle's anomaly model on `category/test`, overall and per defect type.

    The anomaly model is run alone (a segmentation model in the bundle is left out), so the
    figures describe it; writes roc.png, gallery/gallery.png, metrics.json and report.md.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    bundle = load_bundle(bundle_path)
    if bundle.anomaly is None:
        raise DatasetError(f"{bundle_path}: the bundle has no anomaly model to evaluate")
    inspector = Inspector(dataclasses.replace(bundle, segmentation=None))
    samples = [s for s in list_samples(category_dir(data_root, category)) if s.split == "test"]
    data = collect(inspector, samples, out_dir / "gallery")
    good = data.types == GOOD
    metrics: dict[str, Any] = {
        "split": f"{category}/test",
        "image_threshold": bundle.anomaly.image_threshold,
        "global_threshold": bundle.anomaly.global_threshold,
        "pixel_eval_side": EVAL_SIDE,
        "aupro_fpr_limit": aupro_limit,
        "f1_at_threshold": f1_at(data.labels, data.verdicts),
        "false_reject_rate": float(data.verdicts[good].mean()) if good.any() else None,
        "anomaly_ms_mean": float(np.nanmean(data.anomaly_ms)),
        "all": _metrics(data, np.ones(len(samples), bool), aupro_limit),
        "per_type": {
            name: _metrics(data, good | (data.types == name), aupro_limit)
            for name in sorted(set(data.types) - {GOOD})
        },
    }
    if data.global_scores is not None and bundle.anomaly.global_threshold is not None:
        flagged = data.global_scores >= bundle.anomaly.global_threshold
        metrics["global_f1_at_threshold"] = f1_at(data.labels, flagged)
        metrics["global_false_reject_rate"] = float(flagged[good].mean()) if good.any() else None
    _plot_rocs(data, out_dir, aupro_limit)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (out_dir / "report.md").write_text(_markdown(metrics, bundle.name, category))
    log.info(
        "anomaly on %s/test: image AUROC %.3f, pixel AUROC %.3f, AUPRO %.3f",
        category,
        metrics["all"]["image_auroc"] or float("nan"),
        metrics["all"]["pixel_auroc"] or float("nan"),
        metrics["all"]["aupro"] or float("nan"),
    )
    return metrics
