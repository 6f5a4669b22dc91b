"""Segmentation metrics and the choice of pixel threshold and minimum defect area."""

import numpy as np
from sklearn.metrics import roc_auc_score

from training.seg_metrics import BinnedAuroc, RegionTable, choose_thresholds, overlap_scores


def _blob(shape: tuple[int, int], top: int, left: int, size: int, value: float) -> np.ndarray:
    plane = np.zeros(shape, np.float32)
    plane[top : top + size, left : left + size] = value
    return plane


def test_overlap_scores_count_empty_on_empty_as_perfect() -> None:
    empty = np.zeros((8, 8), bool)
    half = empty.copy()
    half[:4] = True
    assert overlap_scores(empty, empty) == (1.0, 1.0)
    assert overlap_scores(half, empty) == (0.0, 0.0)
    dice, iou = overlap_scores(half, np.ones((8, 8), bool))
    assert dice == 2 * 32 / (32 + 64) and iou == 0.5


def test_region_table_drops_regions_below_min_area() -> None:
    truth = _blob((40, 40), 5, 5, 10, 1) > 0
    probability = _blob((40, 40), 5, 5, 10, 0.9) + _blob((40, 40), 30, 30, 3, 0.9)
    table = RegionTable.build(probability, truth, 0.5)
    assert sorted(table.areas.tolist()) == [9, 100]
    assert table.dice(min_area=10) == 1.0
    assert table.dice(min_area=1) == 2 * 100 / (109 + 100)
    assert table.flagged(100) and not table.flagged(101)


def test_thresholds_separate_good_noise_from_defects() -> None:
    shape = (60, 60)
    probabilities, truths, types = [], [], []
    for i in range(4):  # defects of 12x12 = 144 px found at probability 0.8
        probabilities.append(_blob(shape, 10 + i, 10, 12, 0.8))
        truths.append(_blob(shape, 10 + i, 10, 12, 1) > 0)
        types.append("scratch")
    for i in range(6):  # good parts with specks of up to 4x4 = 16 px at probability 0.9
        probabilities.append(_blob(shape, 40, 40 - i, 2 + i % 3, 0.9))
        truths.append(np.zeros(shape, bool))
        types.append("good")
    choice = choose_thresholds(probabilities, truths, types)
    assert choice.recall == 1.0 and choice.false_reject_rate == 0.0
    assert choice.area_low == 17 and choice.area_high == 144
    assert 17 <= choice.min_defect_area_px <= 144
    assert choice.dice_mean == 1.0


def test_binned_auroc_matches_the_exact_value() -> None:
    rng = np.random.default_rng(0)
    truth = rng.random((2, 50, 50)) < 0.1
    probability = np.clip(rng.normal(0.3 + 0.3 * truth, 0.2), 0, 1).astype(np.float32)
    auroc = BinnedAuroc()
    for p, t in zip(probability, truth, strict=True):
        auroc.add(p, t)
    assert abs(auroc.value() - roc_auc_score(truth.ravel(), probability.ravel())) < 1e-4
    assert BinnedAuroc().value() is None
