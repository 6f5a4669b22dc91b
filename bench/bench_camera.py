"""Trigger -> result through the whole station, on pylon's emulated camera and a model bundle.

The station core runs `pylon:SERIAL` in software-trigger mode, as `station serve` would: each
`Station.trigger()` fires the camera (TriggerSoftware), the frame is inspected, stored and
handed to the sinks. One trigger at a time (the next once the result is out), `--count` of
them. Per part:

- trigger -> result: from `trigger()` to the ResultReady event in a subscriber (perf_counter);
- trigger -> frame: the camera-side share, from the trigger to the frame's arrival on the host
  (the frame's wall-clock stamp against the trigger's);
- the Inspector's own stage timings (preprocess, models, postprocess).

    .venv/bin/python bench/bench_camera.py [--bundle assets/default_bundle] [--count 200]
        [--roi 0 0 700 700] [--pixel-format BayerRG8] [--exposure-us 1000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.latency import machine, print_latencies, stats  # noqa: E402
from engine.cameras.common import CameraSetup  # noqa: E402
from engine.cameras.pylon import list_cameras  # noqa: E402
from engine.events import FrameFailed, ResultReady  # noqa: E402
from engine.recipes import Recipe  # noqa: E402
from engine.recorder import open_store  # noqa: E402
from engine.station import Station  # noqa: E402


def _cpu() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        return next(line.split(":", 1)[1].strip() for line in lines if "model name" in line)
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def measure(station: Station, count: int, timeout_s: float = 10.0) -> list[tuple]:
    """(trigger -> result ms, trigger -> frame ms, stage timings) of `count` triggered parts."""
    done = threading.Event()
    parts: list = []

    def take(event: object) -> None:
        if isinstance(event, ResultReady | FrameFailed):
            parts.append((time.perf_counter(), event))
            done.set()

    unsubscribe = station.subscribe(take)
    rows = []
    try:
        for number in tqdm(range(count), desc="triggers", unit="part"):
            deadline = time.monotonic() + timeout_s
            while not station.taking_triggers:
                if time.monotonic() > deadline:
                    raise SystemExit(f"trigger {number}: station not Ready within {timeout_s} s")
                time.sleep(0.0005)
            done.clear()
            if not station.trigger(part_id=f"bench-{number}"):
                raise SystemExit(f"trigger {number} missed")
            if not done.wait(timeout_s):
                raise SystemExit(f"trigger {number}: no result within {timeout_s} s")
            arrived, event = parts[-1]
            part = event.part
            if isinstance(event, FrameFailed):
                raise SystemExit(f"trigger {number}: part failed: {part.error}")
            rows.append(
                (
                    (arrived - part.trigger.clock) * 1000,
                    (part.frame.timestamp - part.trigger.time) * 1000,
                    part.result.timings_ms,
                )
            )
    finally:
        unsubscribe()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", default=str(ROOT / "assets" / "default_bundle"))
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--roi", type=int, nargs=4, default=(0, 0, 700, 700))
    parser.add_argument("--pixel-format", default="BayerRG8")
    parser.add_argument("--exposure-us", type=float, default=1000.0)
    parser.add_argument("--provider", help="onnxruntime provider (default: the station's choice)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    os.environ.setdefault("PYLON_CAMEMU", "1")
    serial = list_cameras()[0].serial
    setup = CameraSetup(
        exposure_us=args.exposure_us, roi=tuple(args.roi), pixel_format=args.pixel_format
    )
    recipe = Recipe("bench", args.bundle, camera=setup, overlays="none", archive="none")
    with tempfile.TemporaryDirectory() as out, open_store(Path(out)) as store:
        station = Station(store, provider=args.provider)
        station.prepare(recipe, "bench")
        runner = threading.Thread(
            target=station.run, args=(f"pylon:{serial}", "software"), daemon=True
        )
        runner.start()
        measure(station, args.warmup)
        rows = measure(station, args.count)
        station.stop()
        runner.join(10)
        providers = sorted({p for ps in station.active.inspector.providers.values() for p in ps})
    to_result = [r[0] for r in rows]
    to_frame = [r[1] for r in rows]
    stages = {
        name: float(np.mean([r[2].get(name, 0.0) for r in rows]))
        for name in ("decode", "preprocess", "segmentation", "anomaly", "postprocess")
    }
    report = {
        "camera": f"pylon emulation {serial}",
        "bundle": args.bundle,
        "roi": list(args.roi),
        "pixel_format": args.pixel_format,
        "exposure_us": args.exposure_us,
        "count": args.count,
        "trigger_to_result_ms": stats(to_result),
        "trigger_to_frame_ms": stats(to_frame),
        "camera_share_of_p50": float(np.percentile(to_frame, 50) / np.percentile(to_result, 50)),
        "mean_stage_ms": stages,
        "providers": providers,
        "cpu": _cpu(),
        "machine": machine(),
    }
    print_latencies(report, ("trigger_to_result_ms", "trigger_to_frame_ms"), 22, 8)
    print(f"camera share of the p50: {report['camera_share_of_p50']:.1%}")
    print("mean stages (ms): " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()))
    print(f"{args.count} triggers, providers {providers}; {report['cpu']}; {report['machine']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
