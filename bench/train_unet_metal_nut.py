"""Full real-data run: train the default U-Net on an MVTec category, then evaluate the bundle.

    PYTHONPATH=. nice -n 10 .venv/bin/python bench/train_unet_metal_nut.py \
        --data /work/shared/data/mvtec_ad --out runs/metal_nut_unet [-- EXTRA TRAIN OPTIONS]

Prints wall time and process CPU time of training and of evaluation (on a shared CPU the wall
time includes waiting for other jobs; CPU time / cores is the uncontended estimate), the
per-defect-type held-out table, and writes `<out>-report/` (metrics.json, gallery/) and
`<out>-report/bench.json`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import sys
import time
from pathlib import Path

import torch

from training import train_unet
from training.evaluate_segmentation import evaluate_segmentation
from training.mvtec import default_root


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime


def _timed(step):
    wall, cpu = time.perf_counter(), _cpu_seconds()
    value = step()
    return value, time.perf_counter() - wall, _cpu_seconds() - cpu


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ours, extra = (
        (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    )
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="dataset root (default: env MVTEC_ROOT or ../shared/data/mvtec_ad)",
    )
    parser.add_argument("--category", default="metal_nut", help="category (default %(default)s)")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("runs/metal_nut_unet"),
        help="bundle folder to write, keep it out of git (default %(default)s)",
    )
    args = parser.parse_args(ours)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    data = args.data or default_root()
    train_parser = argparse.ArgumentParser(prog="station-train unet")
    train_unet.add_arguments(train_parser)
    train_args = train_parser.parse_args(
        ["--data", str(data), "--category", args.category, "--out", str(args.out), *extra]
    )
    code, train_wall, train_cpu = _timed(lambda: train_unet.run(train_args))
    if code:
        return code
    report_dir = args.out.with_name(args.out.name + "-report")
    summary, eval_wall, eval_cpu = _timed(
        lambda: evaluate_segmentation(args.out, data, args.category, report_dir)
    )

    print(
        f"\nheld-out split ({summary['n_defective']} defective, {summary['n_good']} good), "
        f"pixel threshold {summary['pixel_threshold']}, min area "
        f"{summary['min_defect_area_px']} px"
    )
    print(f"{'type':<10}{'n':>4}{'Dice':>8}{'IoU':>8}{'recall':>8}")
    for name, row in summary["per_type"].items():
        print(f"{name:<10}{row['n']:>4}{row['dice']:>8.3f}{row['iou']:>8.3f}{row['recall']:>8.3f}")
    print(
        f"{'mean':<10}{'':>4}{summary['dice_mean']:>8.3f}{summary['iou_mean']:>8.3f}"
        f"{summary['image_recall']:>8.3f}"
    )
    print(
        f"false-reject rate on good images: {summary['false_reject_rate']:.3f}; "
        f"pixel AUROC {summary['pixel_auroc']:.4f}"
    )
    cores = torch.get_num_threads()
    print(
        f"training: wall {train_wall / 60:.1f} min, CPU {train_cpu / 60:.1f} min "
        f"({cores} torch threads, device {train_args.device or 'auto'}); "
        f"evaluation: wall {eval_wall:.0f} s; load average now {os.getloadavg()[0]:.1f}"
    )
    bench = {
        "train_wall_s": train_wall,
        "train_cpu_s": train_cpu,
        "eval_wall_s": eval_wall,
        "eval_cpu_s": eval_cpu,
        "torch_threads": cores,
        "argv": argv,
        "cuda": torch.cuda.is_available(),
        "heldout": summary,
    }
    (report_dir / "bench.json").write_text(json.dumps(bench, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
