"""What one inspection produces: verdict, scores, mask, anomaly map, regions, timings."""

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np


class Verdict(StrEnum):
    OK = "OK"
    NG = "NG"


@dataclass(frozen=True)
class Thresholds:
    """Decision thresholds; None where the bundle has no model that uses it."""

    image_threshold: float | None
    pixel_threshold: float | None
    min_defect_area_px: int
    map_threshold: float | None


@dataclass(frozen=True)
class Region:
    """One connected defect region at the image's own resolution."""

    contour: np.ndarray  # (N, 2) int32 x, y points of the outer boundary
    bbox: tuple[int, int, int, int]  # x, y, width, height
    area_px: int
    source: str  # "segmentation" or "anomaly"


@dataclass
class InspectionResult:
    verdict: Verdict
    reasons: list[str]
    image_shape: tuple[int, int]  # height, width
    thresholds: Thresholds
    anomaly_score: float | None = None
    global_score: float | None = None
    # The planes are at the inspector's working resolution: the image's own size up to a long
    # side of 2048 px, smaller beyond (engine.inspector.working_size); regions are in image px.
    probability: np.ndarray | None = None  # segmentation probability, float32
    mask: np.ndarray | None = None  # segmentation defect mask after thresholds, bool
    anomaly_map: np.ndarray | None = None  # raw anomaly map, float32
    heat: np.ndarray | None = None  # anomaly map normalised to [0, 1] by the bundle
    regions: list[Region] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    # Set by `decide`, for the per-model table and the store: the models that rejected the part
    # ("segmentation", "anomaly"), and the largest U-Net region below the minimum area in image
    # px (a near miss the verdict does not count; None without a segmentation model).
    rejected_by: tuple[str, ...] = ()
    near_miss_px: int | None = None

    @property
    def image_threshold(self) -> float | None:
        return self.thresholds.image_threshold

    @property
    def total_ms(self) -> float:
        return sum(self.timings_ms.values())
