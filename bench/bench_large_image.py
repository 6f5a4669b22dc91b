"""Peak memory and time of one large image through read_image + Inspector.inspect + overlays.

Issue 13 (item 18): a 12000x12000 image took 3.1 GB and 11.7 s. This measures how memory and
time grow with the image: each size runs in a fresh subprocess (peak RSS is a high-water mark,
so sizes measured in one process would hide each other), on a PNG made by enlarging a real
metal-nut sample. The bundle's `input_limits` (the default bundle judges at most 1400 px a
side) are lifted, since this measures memory and time, not judgement. Each child loads the
bundle, warms onnxruntime up on a small image, notes its
RSS, then runs read_image, Inspector.inspect and render_overlay ("mask" and "heatmap" mode)
--repeats times, keeping each stage's fastest time. The table gives ratios against the first
size, because absolute figures on a shared machine drift from run to run.

    .venv/bin/python bench/bench_large_image.py [--bundle assets/default_bundle] \
        [--sizes 700 4000 7000] [--repeats 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make `engine` importable
    sys.path.insert(0, str(REPO))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from engine.bundle import load_bundle  # noqa: E402
from engine.imageio import read_image  # noqa: E402
from engine.inspector import Inspector  # noqa: E402
from engine.overlay import render_overlay  # noqa: E402

SAMPLE = REPO / "assets" / "samples" / "bent_004.png"
OVERLAY_MODES = ("mask", "heatmap")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=REPO / "assets" / "default_bundle")
    parser.add_argument("--sizes", type=int, nargs="+", default=[700, 4000, 7000])
    parser.add_argument("--repeats", type=int, default=3, help="runs per size (fastest kept)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)  # one measurement
    return parser.parse_args(argv)


def _rss_mb() -> float:
    """Current resident set size (Linux /proc); the baseline the peak is compared with."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status (this benchmark needs Linux)")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def measure_child(image_path: Path, bundle: Path, repeats: int) -> dict[str, float]:
    """One image through the station's path, in this (fresh) process."""
    inspector = Inspector(dataclasses.replace(load_bundle(bundle), input_limits=None))
    inspector.inspect(np.full((256, 256, 3), 90, np.uint8))  # onnxruntime allocates untimed
    loaded_mb = _rss_mb()
    runs = [_one_pass(inspector, image_path) for _ in range(max(1, repeats))]
    figures: dict[str, float] = {
        stage: min(run[stage] for run in runs) for stage in ("read_s", "inspect_s", "overlay_s")
    }
    figures["total_s"] = figures["read_s"] + figures["inspect_s"] + figures["overlay_s"]
    figures["loaded_mb"] = loaded_mb
    figures["peak_mb"] = _peak_rss_mb()
    figures["peak_above_loaded_mb"] = figures["peak_mb"] - loaded_mb
    figures["verdict"] = runs[0]["verdict"]
    figures["regions"] = runs[0]["regions"]
    return figures


def _one_pass(inspector: Inspector, image_path: Path) -> dict[str, Any]:
    clock = time.perf_counter()
    image = read_image(image_path)
    read_s = time.perf_counter() - clock
    clock = time.perf_counter()
    result = inspector.inspect(image)
    inspect_s = time.perf_counter() - clock
    clock = time.perf_counter()
    for mode in OVERLAY_MODES:
        render_overlay(image, result, mode)
    overlay_s = time.perf_counter() - clock
    return {
        "read_s": read_s,
        "inspect_s": inspect_s,
        "overlay_s": overlay_s,
        "verdict": result.verdict.value,
        "regions": len(result.regions),
    }


def make_image(size: int, folder: Path) -> Path:
    """The real sample enlarged to size x size, written as PNG (the station's usual format)."""
    sample = cv2.imread(str(SAMPLE), cv2.IMREAD_COLOR)
    if sample is None:
        raise SystemExit(f"{SAMPLE}: cannot read the sample image")
    path = folder / f"part_{size}.png"
    cv2.imwrite(str(path), cv2.resize(sample, (size, size), interpolation=cv2.INTER_LINEAR))
    return path


def run_size(size: int, bundle: Path, folder: Path, repeats: int) -> dict[str, float]:
    """Measure one size in a fresh interpreter so its peak RSS is its own."""
    path = make_image(size, folder)
    command = [sys.executable, __file__, "--child", str(path), "--bundle", str(bundle)]
    command += ["--repeats", str(repeats)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"size {size}: child failed\n{done.stderr}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["size"] = size
    figures["file_mb"] = path.stat().st_size / 2**20
    return figures


def print_table(rows: list[dict[str, float]]) -> None:
    base = rows[0]
    print(
        f"{'size':>11} {'file MB':>8} {'read s':>7} {'inspect s':>9} {'overlay s':>9} "
        f"{'total s':>8} {'peak MB':>8} {'+loaded MB':>10} "
        f"{'pixels x':>8} {'time x':>7} {'peak x':>7} {'+MB x':>7}  verdict"
    )
    for row in rows:
        pixels = (row["size"] / base["size"]) ** 2
        print(
            f"{row['size']:>5}x{row['size']:<5} {row['file_mb']:>8.1f} {row['read_s']:>7.2f} "
            f"{row['inspect_s']:>9.2f} {row['overlay_s']:>9.2f} {row['total_s']:>8.2f} "
            f"{row['peak_mb']:>8.0f} {row['peak_above_loaded_mb']:>10.0f} {pixels:>8.1f} "
            f"{row['total_s'] / base['total_s']:>7.1f} {row['peak_mb'] / base['peak_mb']:>7.2f} "
            f"{row['peak_above_loaded_mb'] / base['peak_above_loaded_mb']:>7.1f}  "
            f"{row['verdict']} ({row['regions']} regions)"
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(measure_child(args.child, args.bundle, args.repeats)))
        return 0
    print(f"{platform.node()}: {platform.processor() or platform.machine()}, Python "
          f"{platform.python_version()}, bundle {args.bundle}")  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        rows = [run_size(size, args.bundle, Path(folder), args.repeats) for size in args.sizes]
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
