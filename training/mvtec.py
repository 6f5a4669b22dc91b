"""Reading any category laid out as MVTec AD: train/good, test/<type>, ground_truth/<type>."""

import argparse
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}
GOOD = "good"
DEFAULT_ROOT = Path("../shared/data/mvtec_ad")


class DatasetError(Exception):
    """The dataset folder does not have the MVTec layout; the message names the path."""


@dataclass(frozen=True)
class Sample:
    """One image of the category; `mask` is None for good images."""

    image: Path
    split: str  # "train" or "test"
    defect_type: str  # "good" or the defect folder name
    mask: Path | None

    @property
    def is_good(self) -> bool:
        return self.defect_type == GOOD

    def relative(self, category_dir: Path) -> str:
        return self.image.relative_to(category_dir).as_posix()


def default_root() -> Path:
    """Dataset root: env MVTEC_ROOT, else ../shared/data/mvtec_ad."""
    return Path(os.environ.get("MVTEC_ROOT", DEFAULT_ROOT))


def add_data_argument(parser: argparse.ArgumentParser) -> None:
    """The --data option every station-train command shares; None means `default_root()`."""
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="dataset root holding category folders in MVTec AD layout "
        "(default: env MVTEC_ROOT, else ../shared/data/mvtec_ad)",
    )


def category_dir(root: Path | str, category: str) -> Path:
    path = Path(root) / category
    if not (path / "train" / GOOD).is_dir():
        raise DatasetError(f"{path}: not an MVTec-layout category (no train/good folder)")
    return path


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def list_samples(cat_dir: Path) -> list[Sample]:
    """All train and test images of a category, with mask paths for defective ones."""
    samples = [Sample(p, "train", GOOD, None) for p in _images(cat_dir / "train" / GOOD)]
    test_dir = cat_dir / "test"
    if not test_dir.is_dir():
        raise DatasetError(f"{test_dir}: missing test folder")
    for type_dir in sorted(d for d in test_dir.iterdir() if d.is_dir()):
        for image in _images(type_dir):
            mask = None
            if type_dir.name != GOOD:
                mask = cat_dir / "ground_truth" / type_dir.name / f"{image.stem}_mask.png"
                if not mask.is_file():
                    raise DatasetError(f"{mask}: ground-truth mask missing for {image}")
            samples.append(Sample(image, "test", type_dir.name, mask))
    return samples


def defect_types(samples: list[Sample]) -> list[str]:
    return sorted({s.defect_type for s in samples if not s.is_good})


def fingerprint(paths: list[Path], base: Path) -> str:
    """sha256 over the sorted relative paths and bytes of the images used."""
    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda p: p.relative_to(base).as_posix()):
        digest.update(path.relative_to(base).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
