"""Evaluate a bundle as shipped, through the station's own Inspector.

Runs the segmentation evaluation (held-out split recorded in the manifest) and the anomaly
evaluation (the category's test/ folder) for whichever models the bundle holds, writes one
report folder, and with --record stores the metrics in the bundle for the GUI to show.
"""

import argparse
import json
import logging
from pathlib import Path

from engine.bundle import BundleError, load_bundle, set_metrics
from training.mvtec import DatasetError, add_data_argument, default_root

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bundle", type=Path, required=True, help="bundle folder or .zip")
    add_data_argument(parser)
    parser.add_argument(
        "--category",
        default=None,
        help="category folder under --data (default: the bundle's training category)",
    )
    parser.add_argument("--out", type=Path, required=True, help="report folder to write")
    parser.add_argument(
        "--record",
        action="store_true",
        help="also write the metrics into the bundle's manifest (bundle folders only)",
    )


def _training_category(manifest: dict) -> str | None:
    for model in manifest["models"].values():
        category = model.get("training", {}).get("dataset", {}).get("category")
        if category:
            return category
    return None


def evaluate(bundle_path: Path, data_root: Path, category: str, out_dir: Path) -> dict:
    """Evaluate every model in the bundle; return {role: {split: metrics}}."""
    bundle = load_bundle(bundle_path)
    results: dict[str, dict] = {}
    if bundle.segmentation:
        from training.evaluate_segmentation import evaluate_segmentation

        results["segmentation"] = {
            "heldout": evaluate_segmentation(
                bundle_path, data_root, category, out_dir / "segmentation"
            )
        }
    if bundle.anomaly:
        from training.evaluate_anomaly import evaluate_anomaly

        results["anomaly"] = {
            "test": evaluate_anomaly(bundle_path, data_root, category, out_dir / "anomaly")
        }
    return results


def run(args: argparse.Namespace) -> int:
    try:
        manifest = load_bundle(args.bundle).manifest
        category = args.category or _training_category(manifest)
        if not category:
            log.error("%s: the manifest names no training category; pass --category", args.bundle)
            return 2
        args.out.mkdir(parents=True, exist_ok=True)
        results = evaluate(args.bundle, args.data or default_root(), category, args.out)
    except (BundleError, DatasetError) as exc:
        log.error("%s", exc)
        return 2
    (args.out / "metrics.json").write_text(json.dumps(results, indent=2) + "\n")
    if args.record:
        for role, splits in results.items():
            for split, metrics in splits.items():
                set_metrics(args.bundle, role, split, metrics)
    print(f"report written to {args.out}")
    return 0
