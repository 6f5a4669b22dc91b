"""A tiny MVTec-AD-layout dataset with drawn defects, so tests need no real data.

Parts are textured grey disks with a hole (a nut seen from above) at a random rotation;
defects are drawn on them with their ground-truth masks, as in MVTec AD:
`train/good`, `test/good`, `test/<type>`, `ground_truth/<type>/NNN_mask.png`.
"""

from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

DefectPainter = Callable[[np.ndarray, np.ndarray, np.random.Generator], None]


def _draw_part(size: int, rng: np.random.Generator) -> np.ndarray:
    image = np.full((size, size, 3), 30, np.uint8)
    centre = (size // 2 + int(rng.integers(-2, 3)), size // 2 + int(rng.integers(-2, 3)))
    cv2.circle(image, centre, int(size * 0.38), (120, 125, 130), -1)
    cv2.circle(image, centre, int(size * 0.12), (30, 30, 30), -1)
    noise = rng.normal(0, 4, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def _scratch(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> None:
    size = image.shape[0]
    x0, y0 = (int(v) for v in rng.integers(size // 4, size // 2, 2))
    x1, y1 = x0 + int(rng.integers(size // 6, size // 4)), y0 + int(rng.integers(-4, 5))
    thickness = max(2, size // 24)
    cv2.line(image, (x0, y0), (x1, y1), (235, 235, 235), thickness)
    cv2.line(mask, (x0, y0), (x1, y1), 255, thickness)


def _spot(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> None:
    size = image.shape[0]
    centre = tuple(int(v) for v in rng.integers(size // 3, 2 * size // 3, 2))
    radius = max(3, size // 10)
    cv2.circle(image, centre, radius, (40, 60, 220), -1)
    cv2.circle(mask, centre, radius, 255, -1)


PAINTERS: dict[str, DefectPainter] = {"scratch": _scratch, "spot": _spot}


def write_tiny_mvtec(
    root: Path,
    category: str = "widget",
    size: int = 64,
    n_train_good: int = 12,
    n_test_good: int = 4,
    n_per_defect: int = 4,
    defect_types: Sequence[str] = ("scratch", "spot"),
    seed: int = 0,
) -> Path:
    """Write the dataset under `root/category` and return that category folder."""
    rng = np.random.default_rng(seed)
    cat = Path(root) / category

    def save(path: Path, image: np.ndarray) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), image)

    for i in range(n_train_good):
        save(cat / "train" / "good" / f"{i:03d}.png", _draw_part(size, rng))
    for i in range(n_test_good):
        save(cat / "test" / "good" / f"{i:03d}.png", _draw_part(size, rng))
    for defect in defect_types:
        for i in range(n_per_defect):
            image = _draw_part(size, rng)
            mask = np.zeros((size, size), np.uint8)
            PAINTERS[defect](image, mask, rng)
            save(cat / "test" / defect / f"{i:03d}.png", image)
            save(cat / "ground_truth" / defect / f"{i:03d}_mask.png", mask)
    return cat
