"""Anomaly metrics: image/pixel AUROC and AUPRO (per-region overlap, integrated to 30 % FPR).

AUPRO follows the MVTec AD definition (Bergmann et al.): for each threshold, the per-region
overlap is the share of each ground-truth connected component flagged, averaged over all
components; the false-positive rate is over all defect-free pixels. The PRO curve is integrated
over FPR in [0, limit] and divided by `limit`, so 1.0 is perfect.
"""

from __future__ import annotations

import cv2
import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

PRO_BINS = 2000


def auroc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC AUC, or None when only one class is present."""
    labels = np.asarray(labels, bool)
    if labels.all() or not labels.any():
        return None
    return float(roc_auc_score(labels, scores))


def roc_points(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(FPR, TPR) for plotting; pixel-sized inputs are fine (sklearn drops redundant points)."""
    fpr, tpr, _ = roc_curve(np.asarray(labels, bool), scores)
    return fpr, tpr


def pro_curve(maps: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(FPR, PRO) at PRO_BINS thresholds (quantiles of the map values), FPR ascending."""
    edges = np.unique(np.quantile(maps, np.linspace(0.0, 1.0, PRO_BINS + 1)))
    negatives = np.histogram(maps[~masks], edges)[0]
    region_hists = []
    for plane, mask in zip(maps, masks, strict=True):
        count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
        for region in range(1, count):
            values = plane[labels == region]
            region_hists.append(np.histogram(values, edges)[0] / len(values))
    # Share at or above each bin's lower edge: reverse cumulative sums, thresholds descending.
    fpr = np.cumsum(negatives[::-1]) / max(negatives.sum(), 1)
    if not region_hists:
        return fpr, np.zeros_like(fpr)
    pro = np.cumsum(np.mean(region_hists, axis=0)[::-1])
    return np.concatenate([[0.0], fpr]), np.concatenate([[0.0], pro])


def aupro(fpr: np.ndarray, pro: np.ndarray, limit: float = 0.3) -> float:
    """Area under the PRO curve for FPR in [0, limit], divided by `limit`."""
    stop = np.searchsorted(fpr, limit, side="right")
    xs = np.concatenate([fpr[:stop], [limit]])
    ys = np.concatenate([pro[:stop], [np.interp(limit, fpr, pro)]])
    return float(np.trapezoid(ys, xs) / limit)


def f1_at(labels: np.ndarray, predicted: np.ndarray) -> float:
    labels, predicted = np.asarray(labels, bool), np.asarray(predicted, bool)
    tp = int(np.sum(labels & predicted))
    fp = int(np.sum(~labels & predicted))
    fn = int(np.sum(labels & ~predicted))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0
