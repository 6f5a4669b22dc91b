"""Samples for assets/ come only from images the bundle's models never saw."""

import argparse
import json
from pathlib import Path

from training.samples import run


def test_samples_are_held_out_test_images_with_the_licence(
    tiny_bundle: Path, tiny_mvtec: Path, tmp_path: Path
) -> None:
    held_out = [
        "test/good/001.png",
        "test/scratch/002.png",
        "test/spot/000.png",
        "test/spot/003.png",
        "train/good/005.png",
    ]
    manifest_path = tiny_bundle / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["models"]["segmentation"]["training"] = {
        "dataset": {
            "category": tiny_mvtec.name,
            "split": {"train": ["test/scratch/000.png"], "val": [], "test": held_out},
        }
    }
    manifest_path.write_text(json.dumps(manifest))
    out = tmp_path / "samples"
    args = argparse.Namespace(
        bundle=tiny_bundle, data=tiny_mvtec.parent, category=None, out=out, per_type=1
    )
    assert run(args) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["LICENSE-MVTEC-AD.txt", "good_001.png", "scratch_002.png", "spot_000.png"]
    assert (out / "spot_000.png").read_bytes() == (tiny_mvtec / "test/spot/000.png").read_bytes()
    assert "CC BY-NC-SA 4.0" in (out / "LICENSE-MVTEC-AD.txt").read_text()
