"""The supervised split of an MVTec-layout category: train / val / held-out test, and k folds.

MVTec AD has defective images only under `test/`, so a supervised model needs its own split.
Defective images are split stratified by defect type; good images (empty masks) from
`train/good` and `test/good` are split the same way as one more stratum. The split is a plain
dict of relative image paths per subset, written into the bundle manifest so anyone can see
which images a model never saw, and read back by evaluation to find the held-out images.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from training.mvtec import DatasetError, Sample

SUBSETS = ("train", "val", "test")


def _strata(samples: list[Sample], seed: int) -> dict[str, list[Sample]]:
    """Samples grouped by defect type ("good" is a stratum too), each group shuffled by `seed`.

    Groups are sorted by path before shuffling and visited in name order, so the result depends
    only on the dataset and the seed, never on file-system listing order.
    """
    groups: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        groups[sample.defect_type].append(sample)
    rng = np.random.default_rng(seed)
    shuffled = {}
    for name in sorted(groups):
        group = sorted(groups[name], key=lambda s: s.image.as_posix())
        shuffled[name] = [group[i] for i in rng.permutation(len(group))]
    return shuffled


def _cut(n: int, fraction: float) -> int:
    """How many of `n` items a subset of `fraction` gets: rounded, at least one when n >= 3."""
    count = round(n * fraction)
    return max(count, 1) if n >= 3 and fraction > 0 else count


def _as_dict(parts: dict[str, list[Sample]], cat_dir: Path, meta: dict[str, Any]) -> dict[str, Any]:
    return {
        **meta,
        **{name: sorted(s.relative(cat_dir) for s in parts[name]) for name in SUBSETS},
    }


def make_split(
    samples: list[Sample],
    cat_dir: Path,
    seed: int = 0,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
) -> dict[str, Any]:
    """Split every defect type (and the good images) into train / val / test by fraction.

    Returns {"seed", "val_fraction", "test_fraction", "train": [...], "val": [...],
    "test": [...]} with image paths relative to the category folder.
    """
    if not 0 < val_fraction < 1 or not 0 < test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise ValueError(
            f"val_fraction {val_fraction} and test_fraction {test_fraction} must be in (0, 1) "
            "and leave images for training"
        )
    parts: dict[str, list[Sample]] = {name: [] for name in SUBSETS}
    for group in _strata(samples, seed).values():
        n_test = _cut(len(group), test_fraction)
        n_val = _cut(len(group), val_fraction)
        parts["test"] += group[:n_test]
        parts["val"] += group[n_test : n_test + n_val]
        parts["train"] += group[n_test + n_val :]
    meta = {"seed": seed, "val_fraction": val_fraction, "test_fraction": test_fraction}
    return _as_dict(parts, cat_dir, meta)


def kfold_splits(
    samples: list[Sample],
    cat_dir: Path,
    folds: int = 5,
    seed: int = 0,
    val_fraction: float = 0.2,
) -> list[dict[str, Any]]:
    """k stratified folds; fold i is the test subset of split i, the rest is train + val.

    Each returned split has the same form as `make_split`'s, plus "fold" and "folds"; the val
    subset is `val_fraction` of all images, taken stratified from the non-test folds.
    """
    if folds < 2:
        raise ValueError(f"k-fold needs at least 2 folds, got {folds}")
    strata = _strata(samples, seed)
    splits = []
    for fold in range(folds):
        parts: dict[str, list[Sample]] = {name: [] for name in SUBSETS}
        for group in strata.values():
            test = group[fold::folds]
            rest = [s for i, s in enumerate(group) if i % folds != fold]
            n_val = _cut(len(group), val_fraction)
            parts["test"] += test
            parts["val"] += rest[:n_val]
            parts["train"] += rest[n_val:]
        meta = {"seed": seed, "fold": fold, "folds": folds, "val_fraction": val_fraction}
        splits.append(_as_dict(parts, cat_dir, meta))
    return splits


def subset(samples: list[Sample], cat_dir: Path, split: dict[str, Any], name: str) -> list[Sample]:
    """The samples a split lists under `name`, in the split's order.

    Raises DatasetError naming the first listed image the dataset does not have (a split
    recorded for another copy of the data).
    """
    by_path = {s.relative(cat_dir): s for s in samples}
    missing = [p for p in split[name] if p not in by_path]
    if missing:
        raise DatasetError(
            f"{cat_dir}: split subset '{name}' lists {len(missing)} image(s) not in the dataset, "
            f"e.g. {missing[0]}"
        )
    return [by_path[p] for p in split[name]]
