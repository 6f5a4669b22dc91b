"""Per-stage timings of the Inspector on real images, as the station runs them.

Stages: decode (frame source), preprocess, one per model, postprocess (from the Inspector's
own timings), overlay (render_overlay) and store (one ResultStore row in a WAL database).
Prints mean and p95 per stage and the share of everything that is not model inference; the
goal is at most 15 % with real models on 700x700 PNGs.

    PYTHONPATH=. .venv/bin/python bench/bench_inspector.py /path/to/metal_nut/test \
        --bundle BUNDLE [--provider cpu] [--limit N] [--json out.json]

Without --bundle the tiny generated test bundle is used (its models are trivial, so its
non-inference share says nothing about real models).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make `engine` and `tests` importable
    sys.path.insert(0, str(REPO))

from engine.bundle import load_bundle  # noqa: E402
from engine.inspector import Inspector  # noqa: E402
from engine.overlay import render_overlay  # noqa: E402
from engine.sources import Frame, open_source  # noqa: E402
from engine.store import ResultStore  # noqa: E402

DEFAULT_DATA = Path(os.environ.get("MVTEC_ROOT", REPO.parent / "shared/data/mvtec_ad"))
GOAL_SHARE = 0.15
MODEL_STAGES = ("segmentation", "anomaly")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "data",
        nargs="?",
        type=Path,
        default=DEFAULT_DATA / "metal_nut" / "test",
        help="folder of test images, searched recursively (default: $MVTEC_ROOT/metal_nut/test)",
    )
    parser.add_argument("--bundle", help="bundle folder or .zip (default: tiny test bundle)")
    parser.add_argument("--provider", help="onnxruntime provider: cpu, cuda, ... (default: auto)")
    parser.add_argument("--limit", type=int, help="time at most this many images")
    parser.add_argument(
        "--warmup", type=int, default=3, help="untimed runs on the first image (default: 3)"
    )
    parser.add_argument("--overlay-mode", default="mask", help="overlay mode (default: mask)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    return parser.parse_args(argv)


def measure(
    inspector: Inspector, data: Path, limit: int | None, warmup: int, overlay_mode: str
) -> tuple[dict[str, list[float]], int]:
    """Time each stage per image; returns ({stage: [ms per image]}, images that failed)."""
    stages: dict[str, list[float]] = {}
    failed = 0
    with (
        tempfile.TemporaryDirectory() as scratch,
        ResultStore(Path(scratch) / "bench.sqlite") as store,
        open_source(data) as source,
    ):
        for frame in source:
            if frame.error is not None:
                logging.warning("%s: %s", frame.origin, frame.error)
                failed += 1
                continue
            if not stages:  # first image: let onnxruntime allocate and tune untimed
                for _ in range(warmup):
                    inspector.inspect(frame.image)
            for stage, ms in _time_one(inspector, store, frame, overlay_mode).items():
                stages.setdefault(stage, []).append(ms)
            if limit and len(stages["decode"]) >= limit:
                break
    if not stages:
        raise SystemExit(f"{data}: no readable images")
    return stages, failed


def _time_one(
    inspector: Inspector, store: ResultStore, frame: Frame, overlay_mode: str
) -> dict[str, float]:
    result = inspector.inspect(frame.image)
    clock = time.perf_counter()
    render_overlay(frame.image, result, overlay_mode)
    overlay_ms = (time.perf_counter() - clock) * 1000
    clock = time.perf_counter()
    store.add_result(
        result, run_id="bench", source=frame.origin, frame_id=frame.id, origin=frame.origin
    )
    store_ms = (time.perf_counter() - clock) * 1000
    return {
        "decode": frame.decode_ms,
        **result.timings_ms,
        "overlay": overlay_ms,
        "store": store_ms,
    }


def report(stages: dict[str, list[float]]) -> dict:
    """Mean/p95 per stage and of the per-image total, and the non-inference share."""
    table = {s: {"mean_ms": float(np.mean(v)), "p95_ms": float(np.percentile(v, 95))}
             for s, v in stages.items()}  # fmt: skip
    totals = np.sum([stages[s] for s in stages], axis=0)
    total_mean = float(totals.mean())
    inference = sum(table[s]["mean_ms"] for s in MODEL_STAGES if s in table)
    return {
        "stages": table,
        "total": {"mean_ms": total_mean, "p95_ms": float(np.percentile(totals, 95))},
        "non_inference_share": (total_mean - inference) / total_mean,
    }


def print_table(figures: dict, header: str) -> None:
    total = figures["total"]["mean_ms"]
    print(header)
    print(f"{'stage':<14}{'mean ms':>10}{'p95 ms':>10}{'share':>9}")
    for stage, row in figures["stages"].items():
        share = row["mean_ms"] / total
        print(f"{stage:<14}{row['mean_ms']:>10.2f}{row['p95_ms']:>10.2f}{share:>9.1%}")
    print(f"{'total':<14}{total:>10.2f}{figures['total']['p95_ms']:>10.2f}{1:>9.0%}")
    share = figures["non_inference_share"]
    verdict = "meets" if share <= GOAL_SHARE else "misses"
    print(f"non-inference share: {share:.1%} ({verdict} the goal of <= {GOAL_SHARE:.0%})")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    with tempfile.TemporaryDirectory() as scratch:
        if args.bundle:
            bundle_path = Path(args.bundle)
        else:
            from training.tiny_bundle import make_tiny_bundle

            bundle_path = make_tiny_bundle(Path(scratch) / "tiny")
        inspector = Inspector(load_bundle(bundle_path), args.provider)
    stages, failed = measure(inspector, args.data, args.limit, args.warmup, args.overlay_mode)
    figures = report(stages)
    figures |= {
        "bundle": inspector.bundle.name,
        "bundle_path": str(args.bundle or "tiny test bundle"),
        "providers": inspector.providers,
        "data": str(args.data),
        "images": len(stages["decode"]),
        "unreadable_images": failed,
        "warmup": args.warmup,
        "host": {"machine": platform.machine(), "cpus": os.cpu_count(), "python": sys.version},
    }
    header = (
        f"{figures['images']} images from {args.data}, bundle {figures['bundle']}, "
        f"providers {inspector.main_provider}"
    )
    print_table(figures, header)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
