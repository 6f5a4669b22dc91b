"""Which judged parts go to the review queue, and why (the queue itself: engine.review).

- disagreement: one model says NG, the other OK (the station rejects when either does, so
  these are NG parts that only one model would have rejected);
- near_threshold: the anomaly score lies within `near_margin` (relative) of the image
  threshold, or the largest U-Net region within `near_margin` of the minimum defect area;
- audit_sample: a random share of the OK parts none of the rules above queued, so parts the
  models agree on are checked too (a seeded draw, for reproducible runs).

An operator's flag is the fourth reason; it comes from the window, not from these rules.
"""

from __future__ import annotations

import random

import cv2
import numpy as np

from engine.result import InspectionResult, Verdict
from engine.review import ReviewPolicy, model_verdicts


def review_reasons(result: InspectionResult, policy: ReviewPolicy, rng: random.Random) -> list[str]:
    """The reasons to queue a judged part under `policy`; empty when it is not queued.
    `rng` draws the audit sample (one draw per OK part, so a seed gives the same sample)."""
    if not policy.enabled:
        return []
    reasons = []
    unet, anomaly = model_verdicts(result)
    if unet is not None and anomaly is not None and unet != anomaly:
        reasons.append("disagreement")
    if _score_near(result, policy.near_margin) or _area_near(result, policy.near_margin):
        reasons.append("near_threshold")
    if result.verdict is Verdict.OK:
        drawn = rng.random() < policy.audit_share
        if drawn and not reasons:
            reasons.append("audit_sample")
    return reasons


def _score_near(result: InspectionResult, margin: float) -> bool:
    score, limit = result.anomaly_score, result.image_threshold
    if score is None or limit is None or limit <= 0:
        return False
    return abs(score - limit) <= margin * limit


def _area_near(result: InspectionResult, margin: float) -> bool:
    """The largest U-Net region (before the minimum area removes it) near that minimum."""
    limit = result.thresholds.min_defect_area_px
    if limit <= 0:
        return False
    largest = largest_unet_area(result)
    return largest > 0 and abs(largest - limit) <= margin * limit


def largest_unet_area(result: InspectionResult) -> int:
    """Area in image pixels of the largest region of the U-Net's thresholded probability,
    whatever its size (0 without a U-Net or with no defect pixel)."""
    threshold = result.thresholds.pixel_threshold
    if result.probability is None or threshold is None:
        return 0
    raw = (result.probability >= threshold).view(np.uint8)
    if not raw.any():
        return 0
    _, _, stats, _ = cv2.connectedComponentsWithStats(raw, connectivity=8)
    height, width = result.image_shape
    scale = (height * width) / raw.size  # planes may be at a reduced working resolution
    return round(int(stats[1:, cv2.CC_STAT_AREA].max()) * scale)
