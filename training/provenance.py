"""Where a trained model came from: the record every trainer writes into its manifest entry."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from training.mvtec import fingerprint


def package_version() -> str:
    """The installed inspection-station version, or a note that it is not installed."""
    try:
        return metadata.version("inspection-station")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def provenance(
    command: str, cat_dir: Path, used: list[Path], split: dict[str, Any]
) -> dict[str, Any]:
    """The start of a manifest entry's `training` record: the command that trained it, the
    package and torch versions, and the dataset (category, fingerprint of the images `used`,
    and how they were split)."""
    return {
        "command": command,
        "package_version": package_version(),
        "torch_version": torch.__version__,
        "dataset": {
            "name": cat_dir.parent.name,
            "category": cat_dir.name,
            "fingerprint": fingerprint(used, cat_dir),
            "split": split,
        },
    }
