"""Pick sample images that no model of a bundle trained or calibrated on, for `assets/samples`.

The anomaly model learns from `train/good` only, so every `test/` image is unseen by it; the
U-Net trains on part of `test/`, so samples come from its held-out subset recorded in the
manifest. The licence notice of the dataset is written beside the copies.
"""

import argparse
import logging
import shutil
from collections import defaultdict
from pathlib import Path

from engine.bundle import BundleError, load_bundle
from training.mvtec import DatasetError, add_data_argument, category_dir, default_root

log = logging.getLogger(__name__)

NOTICE = """Sample images from the MVTec AD dataset, category {category}
(MVTec Software GmbH, https://www.mvtec.com/company/research/datasets/mvtec-ad).
Licence: Creative Commons Attribution-NonCommercial-ShareAlike 4.0 International (CC BY-NC-SA 4.0).
Paul Bergmann, Kilian Batzner, Michael Fauser, David Sattlegger, Carsten Steger:
"The MVTec Anomaly Detection Dataset: A Comprehensive Real-World Dataset for Unsupervised
Anomaly Detection", International Journal of Computer Vision 129(4), 2021;
and "MVTec AD -- A Comprehensive Real-World Dataset for Unsupervised Anomaly Detection", CVPR 2019.

Each file is `<defect type>_<original name>`, copied unchanged from `test/<defect type>/` of
images that the default bundle's models neither trained nor calibrated on (held-out split in
the bundle manifest). They may be used for non-commercial purposes only, with this attribution.
"""


def unseen_test_images(manifest: dict) -> list[str]:
    """Relative paths under test/ that no model of the bundle trained or calibrated on."""
    models = manifest["models"]
    seg = models.get("segmentation")
    if seg is None:
        raise BundleError("the bundle has no segmentation model, so no held-out split to pick from")
    split = seg["training"]["dataset"]["split"]
    return sorted(p for p in split["test"] if p.startswith("test/"))


def pick(paths: list[str], per_type: int) -> dict[str, list[str]]:
    by_type: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        by_type[path.split("/")[1]].append(path)
    return {kind: items[:per_type] for kind, items in sorted(by_type.items())}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bundle", type=Path, required=True, help="bundle folder or .zip")
    add_data_argument(parser)
    parser.add_argument(
        "--category", default=None, help="category (default: the one the bundle's U-Net trained on)"
    )
    parser.add_argument("--out", type=Path, required=True, help="folder to fill with samples")
    parser.add_argument(
        "--per-type",
        type=int,
        default=2,
        help="images per defect type and of good parts (default %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        manifest = load_bundle(args.bundle).manifest
        category = (
            args.category or manifest["models"]["segmentation"]["training"]["dataset"]["category"]
        )
        cat_dir = category_dir(args.data or default_root(), category)
        chosen = pick(unseen_test_images(manifest), args.per_type)
    except (BundleError, DatasetError, KeyError) as exc:
        log.error("cannot pick samples: %s", exc)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for kind, paths in chosen.items():
        for rel in paths:
            shutil.copyfile(cat_dir / rel, args.out / f"{kind}_{Path(rel).name}")
    (args.out / "LICENSE-MVTEC-AD.txt").write_text(NOTICE.format(category=category))
    count = sum(len(p) for p in chosen.values())
    print(f"{count} samples ({', '.join(chosen)}) written to {args.out}")
    return 0
