"""Compare a challenger bundle with the champion on the same images, through the Inspector.

Both bundles judge every image of the dataset that neither trained on: the images each
manifest records as used for training (the U-Net's train and val subsets, the anomaly model's
fit and calibration images) are left out, which leaves the held-out split and the reviewed
parts added since (`station export-dataset --merge` keeps every existing name, so the recorded
splits still name the same images). Before trusting those names the images they list are
fingerprinted and checked against the manifest: a dataset that is not the one (or a merge of
the one) a bundle trained on is refused.

Writes `compare.json` (headline and per-type figures of both, every image's verdicts) and
`report.md` side by side: station recall and false-reject rate, U-Net Dice per defect type,
image AUROC of the anomaly score, pixel AUROC of the U-Net probability and of the anomaly heat,
the images on which the two verdicts differ (overlays under `disagreements/`) and a plot.
With --record the summary goes into the challenger's manifest under `comparison`, where the
window shows it when a recipe switches to that bundle.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from tqdm import tqdm

from engine.bundle import (
    MANIFEST,
    Bundle,
    BundleError,
    load_bundle,
    set_section,
)
from engine.imageio import ImageReadError, read_image, write_image
from engine.inspector import Inspector
from engine.result import InspectionResult
from training.anomaly_metrics import auroc
from training.gallery import GalleryStyle, gallery_row, label
from training.mvtec import GOOD, DatasetError, Sample, category_dir, fingerprint, list_samples
from training.seg_data import truth_mask
from training.seg_metrics import BinnedAuroc, overlap_scores

log = logging.getLogger(__name__)

TRAINED_SUBSETS = {"segmentation": ("train", "val"), "anomaly": ("fit", "calibration")}
HEADLINE = {  # the figures compared first, with what they mean
    "recall": "station recall (defective parts NG)",
    "false_reject_rate": "false-reject rate (good parts NG)",
    "dice_mean": "U-Net Dice, mean over defect types",
    "image_auroc": "image AUROC (anomaly score)",
    "pixel_auroc_unet": "pixel AUROC (U-Net probability)",
    "pixel_auroc_anomaly": "pixel AUROC (anomaly heat)",
}
GALLERY = GalleryStyle("mask", "", side=256, font_scale=0.45, antialias=True)


@dataclass
class ImageRow:
    """One compared image: what each bundle made of it."""

    image: str
    defect_type: str
    verdict: dict[str, str] = field(default_factory=dict)  # champion / challenger -> OK / NG
    score: dict[str, float | None] = field(default_factory=dict)
    dice: dict[str, float | None] = field(default_factory=dict)


@dataclass
class _Tally:
    """What one bundle's evaluation accumulates image by image."""

    pixel_unet: BinnedAuroc = field(default_factory=BinnedAuroc)
    pixel_anomaly: BinnedAuroc = field(default_factory=BinnedAuroc)


def trained_images(bundle: Bundle, cat_dir: Path) -> set[str]:
    """Relative paths of the images `bundle` trained on, after checking that `cat_dir` holds
    the very images its manifest recorded (same names, same bytes). Raises DatasetError."""
    used: set[str] = set()
    for role, subsets in TRAINED_SUBSETS.items():
        entry = bundle.manifest["models"].get(role)
        if entry is None:
            continue
        dataset = entry.get("training", {}).get("dataset", {})
        split = dataset.get("split")
        if not isinstance(split, dict):
            raise DatasetError(
                f"{bundle.source}: models.{role}.training.dataset.split is missing, so the "
                "images it trained on are unknown"
            )
        listed = sorted({p for name in split if isinstance(split[name], list) for p in split[name]})
        missing = [p for p in listed if not (cat_dir / p).is_file()]
        if missing:
            raise DatasetError(
                f"{cat_dir}: lacks {len(missing)} image(s) {bundle.name}'s {role} model was "
                f"trained or tested on, e.g. {missing[0]}: not the dataset it trained on"
            )
        if fingerprint([cat_dir / p for p in listed], cat_dir) != dataset.get("fingerprint"):
            raise DatasetError(
                f"{cat_dir}: the images {bundle.name}'s {role} model lists differ from the ones "
                "it trained on (fingerprint mismatch): not the dataset it trained on"
            )
        used |= {p for name in subsets for p in split.get(name, [])}
    return used


def compare(
    champion_path: Path,
    challenger_path: Path,
    cat_dir: Path,
    out_dir: Path,
    provider: str | None = None,
) -> dict[str, Any]:
    """Run both bundles on the images neither trained on; write the report; return it."""
    bundles = {"champion": load_bundle(champion_path), "challenger": load_bundle(challenger_path)}
    excluded = set().union(*(trained_images(b, cat_dir) for b in bundles.values()))
    samples = [s for s in list_samples(cat_dir) if s.relative(cat_dir) not in excluded]
    if not samples:
        raise DatasetError(f"{cat_dir}: every image was used to train one of the bundles")
    inspectors = {role: Inspector(b, provider) for role, b in bundles.items()}
    tallies = {role: _Tally() for role in bundles}
    rows: list[ImageRow] = []
    disagreement_dir = out_dir / "disagreements"
    disagreement_dir.mkdir(parents=True, exist_ok=True)
    for sample in tqdm(samples, desc="compare", unit="image"):
        rows.append(_judge(sample, cat_dir, inspectors, tallies, disagreement_dir))
    report = {
        "data": str(cat_dir),
        "champion": _identity(bundles["champion"], champion_path),
        "challenger": _identity(bundles["challenger"], challenger_path),
        "n_images": len(rows),
        "n_good": sum(r.defect_type == GOOD for r in rows),
        "n_defective": sum(r.defect_type != GOOD for r in rows),
        "excluded_trained": len(excluded),
        "metrics": {role: _metrics(rows, role, tallies[role]) for role in bundles},
        "disagreements": [r.image for r in rows if len(set(r.verdict.values())) > 1],
        "images": [asdict(r) for r in rows],
    }
    _plot(report, out_dir / "compare.png")
    (out_dir / "compare.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out_dir / "report.md").write_text(_markdown(report), encoding="utf-8")
    return report


def _judge(
    sample: Sample,
    cat_dir: Path,
    inspectors: dict[str, Inspector],
    tallies: dict[str, _Tally],
    disagreement_dir: Path,
) -> ImageRow:
    """Both bundles on one image; its overlays are kept when their verdicts differ."""
    image = read_image(sample.image)
    truth = truth_mask(sample, image.shape[:2])
    row = ImageRow(sample.relative(cat_dir), sample.defect_type)
    results: dict[str, InspectionResult] = {}
    for role, inspector in inspectors.items():
        result = inspector.inspect(image, full_resolution=True)  # scored against full masks
        results[role] = result
        row.verdict[role] = result.verdict.value
        row.score[role] = result.anomaly_score
        row.dice[role] = None if result.mask is None else overlap_scores(result.mask, truth)[0]
        if result.probability is not None:
            tallies[role].pixel_unet.add(result.probability, truth)
        if result.heat is not None:
            tallies[role].pixel_anomaly.add(result.heat, truth)
    if len(set(row.verdict.values())) > 1:
        panels = [gallery_row(image, truth, results["champion"], row.image, GALLERY)]
        challenger = gallery_row(image, truth, results["challenger"], "", GALLERY)
        side = GALLERY.side
        panels.append(challenger[:, 2 * side :])
        strip = np.hstack(panels)
        for role, column in (("champion", 2), ("challenger", 3)):
            title = f"{role} {row.verdict[role]}"
            label(strip[:, column * side : (column + 1) * side], title, GALLERY)
        write_image(disagreement_dir / (row.image.replace("/", "_")), strip)
    return row


def _metrics(rows: list[ImageRow], role: str, tally: _Tally) -> dict[str, Any]:
    good = [r for r in rows if r.defect_type == GOOD]
    defective = [r for r in rows if r.defect_type != GOOD]
    by_type: dict[str, list[ImageRow]] = defaultdict(list)
    for r in defective:
        by_type[r.defect_type].append(r)
    per_type = {
        name: {
            "n": len(items),
            "recall": float(np.mean([r.verdict[role] == "NG" for r in items])),
            "dice": _mean([r.dice[role] for r in items]),
        }
        for name, items in sorted(by_type.items())
    }
    scored = [r for r in rows if r.score[role] is not None]
    labels = np.array([r.defect_type != GOOD for r in scored])
    dice = [t["dice"] for t in per_type.values() if t["dice"] is not None]
    return {
        "recall": float(np.mean([r.verdict[role] == "NG" for r in defective]))
        if defective
        else None,
        "false_reject_rate": float(np.mean([r.verdict[role] == "NG" for r in good]))
        if good
        else None,
        "dice_mean": float(np.mean(dice)) if dice else None,
        "image_auroc": auroc(labels, np.array([r.score[role] for r in scored])) if scored else None,
        "pixel_auroc_unet": tally.pixel_unet.value(),
        "pixel_auroc_anomaly": tally.pixel_anomaly.value(),
        "per_type": per_type,
    }


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def _identity(bundle: Bundle, path: Path) -> dict[str, str]:
    return {"name": bundle.name, "digest": bundle.digest, "path": str(path)}


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def _markdown(report: dict[str, Any]) -> str:
    champion, challenger = report["metrics"]["champion"], report["metrics"]["challenger"]
    names = report["champion"]["name"], report["challenger"]["name"]
    lines = [
        f"# Champion {names[0]} vs challenger {names[1]}",
        "",
        f"On {report['n_images']} images of `{report['data']}` that neither bundle trained on "
        f"({report['n_defective']} defective, {report['n_good']} good; "
        f"{report['excluded_trained']} training images left out), each judged by the station's "
        "Inspector with the bundle's own thresholds.",
        "",
        "| figure | champion | challenger |",
        "|---|---|---|",
    ]
    for key, words in HEADLINE.items():
        lines.append(f"| {words} | {_fmt(champion[key])} | {_fmt(challenger[key])} |")
    lines += [
        "",
        "| defect type | n | recall, champion / challenger | Dice, champion / challenger |",
        "|---|---|---|---|",
    ]
    for name, row in champion["per_type"].items():
        other = challenger["per_type"][name]
        lines.append(
            f"| {name} | {row['n']} | {_fmt(row['recall'])} / {_fmt(other['recall'])} | "
            f"{_fmt(row['dice'])} / {_fmt(other['dice'])} |"
        )
    lines += ["", "![comparison](compare.png)", ""]
    differ = report["disagreements"]
    lines.append(f"## Verdicts that differ: {len(differ)}")
    lines.append("")
    verdicts = {r["image"]: r["verdict"] for r in report["images"]}
    for image in differ:
        shown = f"disagreements/{image.replace('/', '_')}"
        lines.append(f"- `{image}`: champion {verdicts[image]['champion']}, challenger "
                     f"{verdicts[image]['challenger']} ![]({shown})")  # fmt: skip
    return "\n".join(lines) + "\n"


def _plot(report: dict[str, Any], path: Path) -> None:
    """Headline figures and Dice per defect type, champion beside challenger."""
    metrics = report["metrics"]
    types = list(metrics["champion"]["per_type"])
    groups = [
        (HEADLINE, lambda m, k: m[k], "headline"),
        (types, lambda m, k: m["per_type"][k]["dice"], "U-Net Dice per defect type"),
    ]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    for axis, (keys, value, title) in zip(axes, groups, strict=True):
        x = np.arange(len(keys))
        for offset, role in ((-0.2, "champion"), (0.2, "challenger")):
            values = [value(metrics[role], k) for k in keys]
            bars = axis.bar(x + offset, [v or 0.0 for v in values], 0.4,
                            label=f"{role} {report[role]['name']}")  # fmt: skip
            axis.bar_label(bars, ["–" if v is None else f"{v:.2f}" for v in values], fontsize=7)
        axis.set_xticks(x, [k.replace("_", "\n") for k in keys], fontsize=8)
        axis.set(ylim=(0, 1.3), title=title)
        axis.legend(fontsize=8, loc="upper center", ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def record_comparison(challenger_dir: Path, report: dict[str, Any], report_path: Path) -> None:
    """Write the comparison summary into the challenger's manifest under `comparison`,
    validated like any manifest change (the engine's own manifest writing code)."""
    if not (Path(challenger_dir) / MANIFEST).is_file():
        raise BundleError(f"{challenger_dir}: --record needs a bundle folder (not a .zip)")
    summary = {
        "champion": {k: report["champion"][k] for k in ("name", "digest", "path")},
        "data": report["data"],
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "n_images": report["n_images"],
        "n_good": report["n_good"],
        "n_defective": report["n_defective"],
        "disagreements": len(report["disagreements"]),
        "champion_metrics": {k: report["metrics"]["champion"][k] for k in HEADLINE},
        "challenger_metrics": {k: report["metrics"]["challenger"][k] for k in HEADLINE},
        "report": str(report_path),
    }
    set_section(challenger_dir, "comparison", summary)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--champion", type=Path, required=True, help="the bundle in service")
    parser.add_argument("--challenger", type=Path, required=True, help="the candidate bundle")
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        help="category folder in MVTec AD layout (e.g. the merged export), or a root holding "
        "--category",
    )
    parser.add_argument("--category", default=None, help="category folder under --data")
    parser.add_argument("--out", type=Path, required=True, help="report folder to write")
    parser.add_argument(
        "--record",
        action="store_true",
        help="write the summary into the challenger's manifest under 'comparison'",
    )
    parser.add_argument("--provider", default=None, help="onnxruntime provider (default: auto)")


def run(args: argparse.Namespace) -> int:
    try:
        cat_dir = category_dir(args.data, args.category) if args.category else args.data
        category_dir(cat_dir.parent, cat_dir.name)  # the MVTec layout check
        args.out.mkdir(parents=True, exist_ok=True)
        report = compare(args.champion, args.challenger, cat_dir, args.out, args.provider)
        if args.record:
            record_comparison(args.challenger, report, args.out / "report.md")
    except (BundleError, DatasetError, ImageReadError) as exc:
        log.error("%s", exc)
        return 2
    for role in ("champion", "challenger"):
        m = report["metrics"][role]
        print(
            f"{role} {report[role]['name']}: recall {_fmt(m['recall'])}, false rejects "
            f"{_fmt(m['false_reject_rate'])}, Dice {_fmt(m['dice_mean'])}, image AUROC "
            f"{_fmt(m['image_auroc'])}"
        )
    print(f"{len(report['disagreements'])} verdict(s) differ; report {args.out / 'report.md'}")
    return 0
