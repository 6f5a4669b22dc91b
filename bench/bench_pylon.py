"""Software trigger -> frame delivered, on pylon's camera emulation, through PylonSource.

One trigger at a time (the next once the previous frame arrived), `--count` of them, two ways:

- same thread: `source.trigger()` then `next(frames)`; the time from just before trigger() to
  the frame in hand (the source's own latency: TriggerSoftware, the emulated exposure and
  transfer, the wait object, RetrieveResult, the conversion to the engine's array);
- reader thread: frames read on their own thread, as the station's LiveFeed reads a live source;
  trigger() on the main thread, the time until the reader thread has the frame.

Also the time trigger() itself takes. Needs pypylon (`pip install inspection-station[pylon]`).

    .venv/bin/python bench/bench_pylon.py [--count 200] [--roi 0 0 1024 1040]
        [--pixel-format Mono8] [--exposure-us 1000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.latency import machine, print_latencies, stats
from engine.cameras.common import CameraSettings, CameraSetup
from engine.cameras.pylon import PylonSource, list_cameras


def same_thread(source: PylonSource, count: int) -> tuple[list[float], list[float]]:
    frames = iter(source)
    latency, call = [], []
    for _ in range(count):
        start = time.perf_counter()
        source.trigger()
        call.append((time.perf_counter() - start) * 1000)
        next(frames)
        latency.append((time.perf_counter() - start) * 1000)
    return latency, call


def reader_thread(source: PylonSource, count: int) -> list[float]:
    arrived = threading.Event()
    stamp: list[float] = []

    def read() -> None:
        for _ in source:
            stamp.append(time.perf_counter())
            arrived.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    latency = []
    for i in range(count):
        arrived.clear()
        start = time.perf_counter()
        source.trigger()
        if not arrived.wait(2.0):
            raise SystemExit(f"trigger {i}: no frame within 2 s")
        latency.append((stamp[-1] - start) * 1000)
    source.close()
    reader.join(timeout=2)
    return latency


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--roi", type=int, nargs=4, default=(0, 0, 1024, 1040))
    parser.add_argument("--pixel-format", default="Mono8")
    parser.add_argument("--exposure-us", type=float, default=1000.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    os.environ.setdefault("PYLON_CAMEMU", "1")
    serial = list_cameras()[0].serial
    setup = CameraSetup(
        trigger="software",
        roi=tuple(args.roi),
        pixel_format=args.pixel_format,
        exposure_us=args.exposure_us,
    )
    settings = CameraSettings(serial=serial, setup=setup)
    with PylonSource(settings) as source:
        same_thread(source, 5)  # warm-up
        latency, call = same_thread(source, args.count)
        failed = source.failed
    source = PylonSource(settings)
    reader_thread(source, 5)
    source = PylonSource(settings)
    threaded = reader_thread(source, args.count)
    failed += source.failed
    report = {
        "camera": f"pylon emulation {serial}",
        "roi": list(args.roi),
        "pixel_format": args.pixel_format,
        "exposure_us": args.exposure_us,
        "count": args.count,
        "failed_grabs": failed,
        "trigger_to_frame_same_thread_ms": stats(latency),
        "trigger_to_frame_reader_thread_ms": stats(threaded),
        "trigger_call_ms": stats(call),
        "machine": machine(),
    }
    names = (
        "trigger_to_frame_same_thread_ms",
        "trigger_to_frame_reader_thread_ms",
        "trigger_call_ms",
    )
    print_latencies(report, names, 36, 7)
    print(f"{args.count} triggers per way, {failed} failed grabs; {report['machine']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
