"""One turn of the review loop, end to end, on the real MVTec AD metal_nut data.

1. Split metal_nut (seeded) into three parts per defect type and for the good images:
   - the champion's data: about a third of each defect type's images and half of train/good
     (the U-Net trains on its own split of this, the anomaly model on its train/good);
   - a production stream: the rest of the defective images but the held-out ones, and the
     other train/good images, shuffled;
   - a held-out set neither bundle ever sees: 30 % of each defect type, test/good and some
     train/good images.
2. Train the champion with `station-train unet` and `station-train anomaly` on a SHORT schedule
   (--time-limit-min, see --unet-minutes: the whole loop must fit in about half an hour on a
   2-core CPU; the default bundle trains 27 min for its U-Net alone), so its figures are below
   the shipped bundle's.
3. Run the production stream through the station core (`Station`, continuous folder run) with a
   recipe whose review policy queues disagreements, scores near a threshold and an audit share.
4. Review every queued part with a scripted reviewer answering from MVTec's ground truth: the
   label, the defect type and the ground-truth mask as the painted mask.
5. `station export-dataset --merge` the reviewed parts into a copy of the champion's data and
   train the challenger on it with the same commands and schedule.
6. `station-train compare --record` both on the held-out set appended (numbered on) to that
   dataset, and report the queue's reasons and both bundles' recall, false-reject rate and
   Dice on the held-out images.

    .venv/bin/python bench/bench_review_loop.py [--work runs/review_loop] [--unet-minutes 5]

Writes WORK/summary.json and WORK/summary.md, the comparison report under WORK/compare/.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from engine.export_dataset import add_image, export_dataset
from engine.recipes import Recipe
from engine.recorder import open_store
from engine.review import ReviewPolicy, ReviewQueue
from engine.station import Station
from training.mvtec import GOOD, Sample, list_samples

ROOT = Path(__file__).resolve().parent.parent
TRAIN = ROOT / ".venv" / "bin" / "station-train"
CATEGORY = "metal_nut"
REVIEWER = "scripted reviewer (MVTec ground truth)"
ROLES = ("champion", "challenger")

log = logging.getLogger("bench.review_loop")


def split_data(samples: list[Sample], seed: int) -> dict[str, list[Sample]]:
    """Champion / production / held-out parts, per defect type and for good images."""
    rng = np.random.default_rng(seed)
    parts: dict[str, list[Sample]] = {"champion": [], "production": [], "heldout": []}
    kinds = sorted({s.defect_type for s in samples} - {GOOD})
    for kind in kinds:
        group = sorted((s for s in samples if s.defect_type == kind), key=lambda s: s.image.name)
        group = [group[i] for i in rng.permutation(len(group))]
        n_held, n_champion = round(len(group) * 0.3), round(len(group) * 0.35)
        parts["heldout"] += group[:n_held]
        parts["champion"] += group[n_held : n_held + n_champion]
        parts["production"] += group[n_held + n_champion :]
    train_good = sorted((s for s in samples if s.is_good and s.split == "train"),
                        key=lambda s: s.image.name)  # fmt: skip
    train_good = [train_good[i] for i in rng.permutation(len(train_good))]
    half = len(train_good) // 2
    parts["champion"] += train_good[:half]
    parts["heldout"] += [s for s in samples if s.is_good and s.split == "test"]
    parts["heldout"] += train_good[half : half + 18]  # 40 good held-out images in all
    parts["production"] += train_good[half + 18 :]
    production = parts["production"]
    parts["production"] = [production[i] for i in rng.permutation(len(production))]
    return parts


def add_samples(cat_dir: Path, samples: list[Sample], good: str = "train/good") -> list[str]:
    """Add samples to an MVTec-layout category: good images to `good`, defective ones to
    test/<type> with their masks, numbered on as an export numbers; returns the new names."""
    names = []
    for sample in samples:
        folder = cat_dir / (good if sample.is_good else f"test/{sample.defect_type}")
        new = add_image(folder, sample.image)
        if sample.mask is not None:
            mask = cat_dir / "ground_truth" / sample.defect_type / f"{new.stem}_mask.png"
            mask.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(sample.mask, mask)
        names.append(new.relative_to(cat_dir).as_posix())
    (cat_dir / "test").mkdir(parents=True, exist_ok=True)
    return names


def train(data_dir: Path, bundle: Path, name: str, args: argparse.Namespace) -> dict[str, float]:
    """Both models of a bundle with the project's own training commands; seconds per step."""
    common = ["--data", str(data_dir), "--category", CATEGORY, "--out", str(bundle)]
    steps = {
        "unet": [str(TRAIN), "unet", *common, "--name", name, "--epochs", str(args.unet_epochs),
                 "--time-limit-min", str(args.unet_minutes), "--val-every", "5",
                 "--checkpoints", str(bundle.with_name(bundle.name + ".checkpoints"))],
        "anomaly": [str(TRAIN), "anomaly", *common, "--name", name,
                    "--backbone-weights", str(args.weights)],
    }  # fmt: skip
    seconds = {}
    for step, command in steps.items():
        started = time.perf_counter()
        log.info("%s %s: %s", name, step, " ".join(command))
        subprocess.run(command, check=True, cwd=ROOT)
        seconds[step] = round(time.perf_counter() - started, 1)
    return seconds


def run_production(bundle: Path, stream: list[Sample], work: Path, policy: ReviewPolicy):
    """The stream through the station core; returns (store, frame name -> sample, counts)."""
    folder = work / "stream"
    folder.mkdir(parents=True)
    truth = {}
    for index, sample in enumerate(stream):
        name = f"part_{index:04d}.png"
        os.link(sample.image, folder / name)
        truth[name] = sample
    store = open_store(work / "station")
    station = Station(store, provider="cpu", name="bench-line")
    recipe = Recipe(CATEGORY, str(bundle), archive="none", overlays="none", review=policy)
    station.prepare(recipe, "bench")
    summary = station.run(folder)
    verdicts = Counter(r.verdict for r in store.records())
    log.info("production: %d parts, %s, %.0f s", summary.inspected, dict(verdicts), summary.wall_s)
    return store, truth, dict(verdicts)


def _score_near(item, margin: float) -> bool:
    if item.score is None or item.threshold is None:
        return False
    return "near_threshold" in item.reasons and abs(item.score - item.threshold) <= (
        margin * item.threshold
    )


def review(store, truth: dict[str, Sample], policy: ReviewPolicy) -> dict[str, object]:
    """Decide every queued part from the ground truth; returns what the queue held."""
    queue = ReviewQueue(store)
    reasons: Counter[str] = Counter()
    actually: Counter[str] = Counter()
    by_reason_defective: Counter[str] = Counter()
    near_score = 0  # near_threshold by the anomaly score; the others by the U-Net's area
    for item in queue.items(pending=True):
        sample = truth[store.get(item.inspection_id).frame_id]
        reasons.update(item.reasons)
        near_score += _score_near(item, policy.near_margin)
        actually[sample.defect_type] += 1
        if sample.is_good:
            queue.decide(item.id, "good", reviewer=REVIEWER)
            continue
        by_reason_defective.update(item.reasons)
        mask = cv2.imread(str(sample.mask), cv2.IMREAD_GRAYSCALE) > 0
        queue.decide(
            item.id, "defective", reviewer=REVIEWER, defect_type=sample.defect_type, mask=mask
        )
    stream_types = Counter(s.defect_type for s in truth.values())
    return {
        "queued": queue.count(),
        "of_stream": len(truth),
        "reasons": dict(reasons),
        "near_threshold_by_score": near_score,
        "reasons_of_defective_parts": dict(by_reason_defective),
        "queued_by_truth": dict(actually),
        "stream_by_truth": dict(stream_types),
    }


def heldout_figures(report: dict, names: set[str]) -> dict[str, dict]:
    """Recall, false-reject rate and Dice per type of both bundles on the held-out names."""
    rows = [r for r in report["images"] if r["image"] in names]
    figures = {}
    for role in ROLES:
        good = [r for r in rows if r["defect_type"] == GOOD]
        bad = [r for r in rows if r["defect_type"] != GOOD]
        types = sorted({r["defect_type"] for r in bad})
        dice = {t: float(np.mean([r["dice"][role] for r in bad if r["defect_type"] == t]))
                for t in types}  # fmt: skip
        figures[role] = {
            "n_good": len(good),
            "n_defective": len(bad),
            "recall": float(np.mean([r["verdict"][role] == "NG" for r in bad])),
            "false_reject_rate": float(np.mean([r["verdict"][role] == "NG" for r in good])),
            "dice_per_type": dice,
            "dice_mean": float(np.mean(list(dice.values()))),
        }
    return figures


def _headline(metrics: dict) -> dict:
    return {k: metrics[k] for k in ("recall", "false_reject_rate", "dice_mean", "image_auroc")}


def markdown(summary: dict) -> str:
    queue, held = summary["queue"], summary["heldout"]
    lines = [
        "# Review loop on metal_nut",
        "",
        f"Production stream: {queue['of_stream']} parts {summary['production_verdicts']}; "
        f"queued {queue['queued']}: reasons {queue['reasons']} (a part may have several); "
        f"queued parts by truth {queue['queued_by_truth']}.",
        f"Exported {summary['export']}.",
        "",
        f"Held-out set neither saw ({held['champion']['n_defective']} defective, "
        f"{held['champion']['n_good']} good):",
        "",
        "| bundle | recall | false-reject rate | mean Dice | Dice per type |",
        "|---|---|---|---|---|",
    ]
    for role in ROLES:
        f = held[role]
        per_type = ", ".join(f"{t} {d:.3f}" for t, d in f["dice_per_type"].items())
        lines.append(f"| {role} | {f['recall']:.3f} | {f['false_reject_rate']:.3f} | "
                     f"{f['dice_mean']:.3f} | {per_type} |")  # fmt: skip
    lines += ["", f"Step seconds: {summary['seconds']}", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/mvtec_ad")
    parser.add_argument(
        "--weights", type=Path, default=ROOT.parent / "shared/weights/vgg16_imagenet_features.pth"
    )
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "review_loop")
    parser.add_argument("--unet-minutes", type=float, default=5.0, help="U-Net time limit each")
    parser.add_argument("--unet-epochs", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    started = time.perf_counter()
    work = args.work.resolve()
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    seconds: dict[str, object] = {}

    parts = split_data(list_samples(args.data / CATEGORY), args.seed)
    data0 = work / "data0"
    add_samples(data0 / CATEGORY, parts["champion"])
    log.info("parts: %s", {k: Counter(s.defect_type for s in v) for k, v in parts.items()})

    champion = work / "champion"
    seconds["champion"] = train(data0, champion, "metal_nut-champion", args)

    clock = time.perf_counter()
    policy = ReviewPolicy(near_margin=0.1, audit_share=0.05, seed=args.seed)
    store, truth, verdicts = run_production(champion, parts["production"], work, policy)
    seconds["production"] = round(time.perf_counter() - clock, 1)
    queue = review(store, truth, policy)
    log.info("review queue: %s", queue)

    data1 = work / "data1"
    exported = export_dataset(store, data1 / CATEGORY, merge=data0 / CATEGORY, station="bench")
    store.close()
    export = {"good": exported.good, "defective": exported.defective}
    log.info("exported %s", export)

    challenger = work / "challenger"
    seconds["challenger"] = train(data1, challenger, "metal_nut-challenger", args)

    evaluation = work / "eval" / CATEGORY
    shutil.copytree(data1 / CATEGORY, evaluation, copy_function=os.link)
    held_names = set(add_samples(evaluation, parts["heldout"], good="test/good"))
    clock = time.perf_counter()
    out = work / "compare"
    subprocess.run(
        [str(TRAIN), "compare", "--champion", str(champion), "--challenger", str(challenger),
         "--data", str(evaluation), "--out", str(out), "--record", "--provider", "cpu"],
        check=True, cwd=ROOT,
    )  # fmt: skip
    seconds["compare"] = round(time.perf_counter() - clock, 1)
    report = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    seconds["total"] = round(time.perf_counter() - started, 1)
    summary = {
        "production_verdicts": verdicts,
        "queue": queue,
        "export": export,
        "heldout": heldout_figures(report, held_names),
        "all_unseen": {role: _headline(report["metrics"][role]) for role in ROLES},
        "all_unseen_n": report["n_images"],
        "seconds": seconds,
        "unet_schedule": {"minutes": args.unet_minutes, "epochs": args.unet_epochs},
    }
    (work / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (work / "summary.md").write_text(markdown(summary), encoding="utf-8")
    print(markdown(summary))
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
