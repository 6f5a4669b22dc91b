"""The operator's 'largest defect' line compares like with like: segmented regions only."""

import numpy as np

from engine.result import InspectionResult, Region, Thresholds, Verdict
from gui.verdict_banner import describe_score, largest_region


def _region(area: int, source: str) -> Region:
    return Region(np.zeros((4, 2), np.int32), (0, 0, 10, 10), area, source)


def test_largest_defect_ignores_anomaly_regions() -> None:
    result = InspectionResult(
        verdict=Verdict.NG,
        reasons=[],
        image_shape=(100, 100),
        thresholds=Thresholds(0.5, 0.5, 40, 0.5),
        anomaly_score=0.9,
        mask=np.zeros((100, 100), bool),
        regions=[_region(120, "segmentation"), _region(900, "anomaly")],
    )
    assert largest_region(result) == 120
    assert "largest defect 120 px (counted from 40 px)" in describe_score(result)
