"""Parts per second of a batch run of a bundle (the path of `station inspect`: run_batch, the
station core's continuous mode, overlays and NG copies as by default), in one process:

* fp32            both models fp32, frames decoded and preprocessed on the run's thread;
* fp32+pipelined  the same, the next frame read ahead on a reader thread (engine.prefetch);
* int8            the variants the station picks on the CPU (engine.variants), no reading ahead;
* int8+pipelined  what `station inspect` does by default on a CPU.

Each configuration inspects the same images into a fresh output folder; rounds rotate the
order, so drift on a shared machine falls on every configuration alike. Read the ratios: the
absolute figures depend on what else the CPU is doing, so each run also records the load
average and this process's CPU time per part (all threads), which other jobs disturb far less
than wall time.

    .venv/bin/python bench/bench_throughput.py --bundle assets/default_bundle \
        --images /work/shared/data/mvtec_ad/metal_nut/test --limit 40 --rounds 3 --json out.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make `engine` importable
    sys.path.insert(0, str(REPO))

import onnxruntime as ort  # noqa: E402

from engine.batch import run_batch  # noqa: E402
from engine.bundle import load_bundle  # noqa: E402
from engine.inspector import Inspector  # noqa: E402
from engine.sources import IMAGE_EXTENSIONS  # noqa: E402
from training.quantize import cpu_description  # noqa: E402

GOAL_PARTS_PER_S = 6.0  # issue 19, 2-core CPU with VNNI


@dataclass(frozen=True)
class Config:
    name: str
    variant: str  # for Inspector: fp32 or auto
    prefetch: int


CONFIGS = (
    Config("fp32", "fp32", 0),
    Config("fp32+pipelined", "fp32", 1),
    Config("int8", "auto", 0),
    Config("int8+pipelined", "auto", 1),
)


def image_folder(images: Path, limit: int, into: Path) -> Path:
    """A folder of links to `limit` images of `images` (recursive, evenly spread), so every
    configuration reads the same files from where they are."""
    paths = sorted(p for p in images.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
    if limit and len(paths) > limit:
        step = len(paths) / limit
        paths = [paths[int(i * step)] for i in range(limit)]
    into.mkdir(parents=True)
    for i, path in enumerate(paths):
        (into / f"{i:04d}_{path.parent.name}_{path.name}").symlink_to(path)
    return into


def measure(bundle_dir: Path, images: Path, limit: int, rounds: int, provider: str) -> dict:
    bundle = load_bundle(bundle_dir)
    inspectors = {v: Inspector(bundle, provider, v) for v in {c.variant for c in CONFIGS}}
    runs: dict[str, list[dict]] = {c.name: [] for c in CONFIGS}
    with tempfile.TemporaryDirectory(prefix="bench-throughput.") as tmp:
        folder = image_folder(images, limit, Path(tmp) / "images")
        n = len(list(folder.iterdir()))
        first = next(folder.iterdir())
        for inspector in inspectors.values():  # warm the sessions
            inspector.inspect_file(first)
        for r in range(rounds):
            order = CONFIGS[r % len(CONFIGS) :] + CONFIGS[: r % len(CONFIGS)]
            for config in order:
                out = Path(tmp) / f"out-{r}-{config.name}"
                cpu = time.process_time()
                summary = run_batch(
                    inspectors[config.variant], folder, out, prefetch=config.prefetch
                )
                cpu = time.process_time() - cpu
                assert summary.inspected == n and not summary.failed, summary.failures
                runs[config.name].append(
                    {
                        "parts_per_s": summary.inspected / summary.wall_s,
                        "wall_s": summary.wall_s,
                        "mean_ms": summary.mean_ms,
                        "cpu_ms_per_part": cpu * 1000 / n,
                        "load_average_1min": os.getloadavg()[0],
                    }
                )
                last = runs[config.name][-1]
                print(
                    f"round {r + 1} {config.name:15s} {last['parts_per_s']:.2f} parts/s, "
                    f"CPU {last['cpu_ms_per_part']:.0f} ms/part, "
                    f"load {last['load_average_1min']:.1f}",
                    flush=True,
                )
    base = statistics.median(x["parts_per_s"] for x in runs["fp32"])
    table = {}
    for config in CONFIGS:
        rates = [x["parts_per_s"] for x in runs[config.name]]
        rate = statistics.median(rates)
        table[config.name] = {
            "parts_per_s": rate,
            "vs_fp32": rate / base,
            "min": min(rates),
            "max": max(rates),
            "mean_latency_ms": statistics.median(x["mean_ms"] for x in runs[config.name]),
            "cpu_ms_per_part": statistics.median(x["cpu_ms_per_part"] for x in runs[config.name]),
            "precisions": inspectors[config.variant].precisions,
            "prefetch": config.prefetch,
        }
    return {
        "bundle": str(bundle_dir),
        "images": n,
        "rounds": rounds,
        "cpu": cpu_description(),
        "onnxruntime": ort.__version__,
        "providers": next(iter(inspectors.values())).providers,
        "configs": table,
        "runs": runs,
    }


def markdown(result: dict) -> str:
    lines = [
        f"{result['images']} images, {result['rounds']} rounds (median), {result['cpu']}, "
        f"onnxruntime {result['onnxruntime']}",
        "",
        "| configuration | precisions | parts/s | vs fp32 | range | mean latency ms "
        "| CPU ms/part |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in result["configs"].items():
        precisions = ", ".join(f"{k} {v}" for k, v in row["precisions"].items())
        lines.append(
            f"| {name} | {precisions} | {row['parts_per_s']:.2f} | {row['vs_fp32']:.2f}x | "
            f"{row['min']:.2f}–{row['max']:.2f} | {row['mean_latency_ms']:.0f} | "
            f"{row['cpu_ms_per_part']:.0f} |"
        )
    best = max(row["parts_per_s"] for row in result["configs"].values())
    lines.append("")
    loads = [x["load_average_1min"] for rs in result["runs"].values() for x in rs]
    lines.append(
        f"goal {GOAL_PARTS_PER_S:g} parts/s: best {best:.2f}; load average during the runs "
        f"{min(loads):.1f}–{max(loads):.1f} on {os.cpu_count()} CPUs"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=REPO / "assets/default_bundle")
    parser.add_argument(
        "--images", type=Path, default=Path("/work/shared/data/mvtec_ad/metal_nut/test")
    )
    parser.add_argument("--limit", type=int, default=40, help="images per run (0: all)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--provider", default="cpu")
    parser.add_argument("--json", type=Path, help="write the result here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    result = measure(args.bundle, args.images, args.limit, args.rounds, args.provider)
    print(markdown(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
