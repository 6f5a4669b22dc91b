"""Would averaging the U-Net over the four 90-degree rotations of its input help? And how much
does the choice of pixel threshold matter? A check on one trained model; nothing is changed.

For a bundle's segmentation model (weights from its training checkpoint), the validation and
held-out images get station-resolution probabilities twice: plain, and averaged over the input
turned by 0, 90, 180 and 270 degrees (exact on a square input; four times the inference cost).
For each, the pixel threshold and minimum area are chosen on validation by the training rule
(`training.seg_metrics.choose_thresholds`) and the held-out images are scored with them. Then,
for the plain model, the held-out scores at every pixel threshold of the grid (minimum area
chosen on validation for each) show how much the threshold choice can matter.

    PYTHONPATH=. .venv/bin/python bench/unet_rotation_average.py \
        --bundle assets/default_bundle --checkpoint runs/unet_e250.ckpt/best.pt
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from engine.bundle import load_bundle
from engine.imageio import read_image
from engine.preprocess import resize_stretch, to_model_input
from training.mvtec import add_data_argument, category_dir, default_root, list_samples
from training.seg_data import truth_mask
from training.seg_metrics import THRESHOLD_GRID, RegionTable, choose_thresholds
from training.split import subset
from training.unet import UNet, UNetConfig
from training.unet_fit import load_checkpoint

Split = tuple[list[np.ndarray], list[np.ndarray], list[str]]  # probabilities, truths, types


def probabilities(model: UNet, bundle, cat_dir: Path, name: str) -> dict[str, Split]:
    """{"plain": ..., "rot4": ...} for the split subset `name` the bundle's manifest records."""
    split = bundle.manifest["models"]["segmentation"]["training"]["dataset"]["split"]
    out: dict[str, Split] = {"plain": ([], [], []), "rot4": ([], [], [])}
    with torch.no_grad():
        for sample in subset(list_samples(cat_dir), cat_dir, split, name):
            image = read_image(sample.image)
            height, width = image.shape[:2]
            x = torch.from_numpy(to_model_input(image, bundle.segmentation.input))
            turned = [
                torch.rot90(torch.sigmoid(model(torch.rot90(x, k, (2, 3)))), -k, (2, 3))
                for k in range(4)
            ]
            for key, plane in (("plain", turned[0]), ("rot4", torch.stack(turned).mean(0))):
                probs, truths, types = out[key]
                probs.append(resize_stretch(plane[0, 0].numpy(), width, height))
                truths.append(truth_mask(sample, (height, width)))
                types.append(sample.defect_type)
    return out


def score(test: Split, threshold: float, min_area: int) -> tuple[float, float, float, dict]:
    """Held-out (mean Dice over types, recall, false-reject rate, Dice per type)."""
    dice: dict[str, list[float]] = defaultdict(list)
    flagged: dict[bool, list[bool]] = {True: [], False: []}
    for probability, truth, kind in zip(*test, strict=True):
        table = RegionTable.build(probability, truth, threshold)
        flagged[kind != "good"].append(table.flagged(min_area))
        if kind != "good":
            dice[kind].append(table.dice(min_area))
    per_type = {k: round(float(np.mean(v)), 3) for k, v in sorted(dice.items())}
    mean = float(np.mean(list(per_type.values())))
    return mean, float(np.mean(flagged[True])), float(np.mean(flagged[False])), per_type


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--checkpoint", type=Path, required=True, help="its best.pt")
    add_data_argument(parser)
    args = parser.parse_args()
    torch.set_num_threads(1)
    bundle = load_bundle(args.bundle)
    training = bundle.manifest["models"]["segmentation"]["training"]
    config = training["config"]
    model = UNet(UNetConfig(base_width=config["base_width"], depth=config["depth"]))
    model.load_state_dict(load_checkpoint(args.checkpoint)["model"])
    model.eval()
    cat_dir = category_dir(args.data or default_root(), training["dataset"]["category"])
    val = probabilities(model, bundle, cat_dir, "val")
    test = probabilities(model, bundle, cat_dir, "test")
    print("thresholds chosen on validation, scored on the held-out split:")
    for key in ("plain", "rot4"):
        choice = choose_thresholds(*val[key])
        dice, recall, false_rejects, per_type = score(
            test[key], choice.pixel_threshold, choice.min_defect_area_px
        )
        print(
            f"  {key:5s} pixel {choice.pixel_threshold:.2f} area {choice.min_defect_area_px:5d}"
            f" | Dice {dice:.3f} recall {recall:.3f} false rejects {false_rejects:.3f} {per_type}"
        )
    print("plain model, held-out scores per pixel threshold (area chosen on validation):")
    for threshold in THRESHOLD_GRID:
        choice = choose_thresholds(*val["plain"], grid=(threshold,))
        dice, recall, false_rejects, _ = score(test["plain"], threshold, choice.min_defect_area_px)
        print(
            f"  {threshold:.2f} area {choice.min_defect_area_px:5d} | Dice {dice:.3f} "
            f"recall {recall:.3f} false rejects {false_rejects:.3f}"
        )


if __name__ == "__main__":
    main()
