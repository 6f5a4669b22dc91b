"""Segmentation metrics at the image's own resolution, and the choice of decision thresholds.

Shared by training (threshold and minimum area chosen on the validation split) and evaluation
(held-out metrics), so both count regions the way `engine.inspector.decide` does: 8-connected
regions of at least `min_defect_area_px` pixels of probability >= `pixel_threshold`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass

import cv2
import numpy as np

THRESHOLD_GRID = tuple(round(t, 2) for t in np.arange(0.10, 0.91, 0.05))


def overlap_scores(predicted: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(Dice, IoU) of two boolean masks; both empty counts as a perfect 1.0 (a good part)."""
    inter = int(np.count_nonzero(predicted & truth))
    total = int(np.count_nonzero(predicted)) + int(np.count_nonzero(truth))
    if total == 0:
        return 1.0, 1.0
    return 2 * inter / total, inter / (total - inter)


@dataclass
class RegionTable:
    """One image's regions at one pixel threshold: area and overlap with the truth of each."""

    areas: np.ndarray  # pixels per region
    hits: np.ndarray  # truth pixels inside each region
    truth_px: int

    @classmethod
    def build(cls, probability: np.ndarray, truth: np.ndarray, threshold: float) -> RegionTable:
        binary = (probability >= threshold).astype(np.uint8)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
        hits = np.bincount(labels[truth], minlength=count)[1:]
        return cls(stats[1:, cv2.CC_STAT_AREA], hits, int(np.count_nonzero(truth)))

    def largest(self) -> int:
        return int(self.areas.max()) if self.areas.size else 0

    def dice(self, min_area: int) -> float:
        keep = self.areas >= max(min_area, 1)
        total = int(self.areas[keep].sum()) + self.truth_px
        return 1.0 if total == 0 else 2 * int(self.hits[keep].sum()) / total

    def flagged(self, min_area: int) -> bool:
        return self.largest() >= max(min_area, 1)


@dataclass(frozen=True)
class ThresholdChoice:
    """The chosen thresholds and what they gave on the split they were chosen on."""

    pixel_threshold: float
    min_defect_area_px: int
    recall: float  # defective images flagged NG
    false_reject_rate: float  # good images flagged NG
    dice_mean: float  # mean over defect types of the per-image mean Dice
    area_low: int  # smallest area that keeps the false-reject rate within the target
    area_high: int  # largest area that still flags every detectable defective image

    def to_dict(self) -> dict:
        return asdict(self)


def _type_mean(values: dict[str, list[float]]) -> float:
    return float(np.mean([np.mean(v) for v in values.values()])) if values else 0.0


def choose_thresholds(
    probabilities: list[np.ndarray],
    truths: list[np.ndarray],
    defect_types: list[str],
    max_false_reject: float = 0.0,
    grid: tuple[float, ...] = THRESHOLD_GRID,
) -> ThresholdChoice:
    """Pick (pixel threshold, minimum area) on a validation split, at original resolution.

    For each pixel threshold the minimum area sits between `area_low` (the smallest area that
    keeps false rejects of good images within `max_false_reject`) and `area_high` (the smallest
    of the largest regions of the defective images still flagged there), at their geometric
    mean: a margin on both sides rather than on the edge of either. The threshold with the
    highest (recall, mean Dice) wins. `defect_types[i]` is "good" for good images.
    """
    good = [i for i, t in enumerate(defect_types) if t == "good"]
    bad = [i for i, t in enumerate(defect_types) if t != "good"]
    if not bad:
        raise ValueError("choosing thresholds needs defective validation images")
    best: ThresholdChoice | None = None
    for threshold in grid:
        tables = [
            RegionTable.build(p, m, threshold) for p, m in zip(probabilities, truths, strict=True)
        ]
        good_largest = sorted(tables[i].largest() for i in good)
        allowed = math.floor(max_false_reject * len(good))
        # rejecting at most `allowed` good images: exceed all but the `allowed` largest of them
        low = good_largest[len(good) - allowed - 1] + 1 if len(good) > allowed else 1
        detected = [tables[i].largest() for i in bad if tables[i].largest() >= low]
        high = min(detected) if detected else low
        min_area = max(1, round(math.sqrt(max(low, 1) * max(high, low))))
        dice_by_type: dict[str, list[float]] = defaultdict(list)
        for i in bad:
            dice_by_type[defect_types[i]].append(tables[i].dice(min_area))
        choice = ThresholdChoice(
            pixel_threshold=float(threshold),
            min_defect_area_px=int(min_area),
            recall=float(np.mean([tables[i].flagged(min_area) for i in bad])),
            false_reject_rate=float(np.mean([tables[i].flagged(min_area) for i in good]))
            if good
            else 0.0,
            dice_mean=_type_mean(dice_by_type),
            area_low=int(low),
            area_high=int(high),
        )
        if best is None or (choice.recall, choice.dice_mean) > (best.recall, best.dice_mean):
            best = choice
    assert best is not None
    return best


class BinnedAuroc:
    """Pixel AUROC accumulated image by image in fixed probability bins.

    Millions of pixels per split would not fit an exact sort in memory; with 10^5 bins over
    [0, 1] the result differs from the exact AUROC only for pixels whose probabilities tie
    within 1e-5.
    """

    def __init__(self, bins: int = 100_000) -> None:
        self.bins = bins
        self.positive = np.zeros(bins, np.int64)
        self.negative = np.zeros(bins, np.int64)

    def add(self, probability: np.ndarray, truth: np.ndarray) -> None:
        index = np.clip((probability * self.bins).astype(np.int64), 0, self.bins - 1)
        self.positive += np.bincount(index[truth], minlength=self.bins)
        self.negative += np.bincount(index[~truth], minlength=self.bins)

    def value(self) -> float | None:
        """AUROC, or None when the pixels seen are all of one class."""
        n_pos, n_neg = self.positive.sum(), self.negative.sum()
        if n_pos == 0 or n_neg == 0:
            return None
        below = np.cumsum(self.negative) - self.negative  # negatives in lower bins
        wins = (self.positive * below).sum() + 0.5 * (self.positive * self.negative).sum()
        return float(wins / (n_pos * n_neg))
