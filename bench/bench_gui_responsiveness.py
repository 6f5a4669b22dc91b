"""Longest stall of the Qt event loop while the station runs a live source.

A 5 ms QTimer records how late each tick fires while the real MainWindow inspects a video file
standing in for a camera (latest frame wins, models on the CPU). The stall is a tick's lateness:
how long the GUI thread could not react. Goal: the longest stall stays under 50 ms.

The statistics are on screen meanwhile (their window with a lot open: counters, times, the yield
trend and NG-by-reason charts, refreshed after each part), with the per-model table, the legend
and the alarms, unless --no-statistics.

    PYTHONPATH=. .venv/bin/python bench/bench_gui_responsiveness.py \
        [--bundle BUNDLE] [--video VIDEO | --images DIR] [--seconds 20] [--fps 10]

Without --video, a video is written from the images (default: metal_nut test images) at --fps.
Without --bundle the tiny test bundle is used, whose models are trivial: use a real bundle for
the figure that counts. Qt runs offscreen unless QT_QPA_PLATFORM says otherwise.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from gui.assets import apply_style  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402
from gui.settings import StationSettings  # noqa: E402

DEFAULT_IMAGES = Path(os.environ.get("MVTEC_ROOT", REPO.parent / "shared/data/mvtec_ad"))
TICK_MS = 5
GOAL_MS = 50.0


def write_video(images: Path, path: Path, fps: float) -> Path:
    """An MJPG video of the images (sorted by path), resized to the first one's size."""
    files = sorted(p for p in images.rglob("*.png") if "ground_truth" not in p.parts)
    if not files:
        raise SystemExit(f"{images}: no PNG images to make a video from")
    first = cv2.imread(str(files[0]))
    size = (first.shape[1], first.shape[0])
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    for file in files:
        writer.write(cv2.resize(cv2.imread(str(file)), size))
    writer.release()
    return path


class StallMeter:
    """Lateness of a TICK_MS timer: each tick's interval minus TICK_MS, in ms."""

    def __init__(self) -> None:
        self.clock = QElapsedTimer()
        self.lateness: list[float] = []
        self.at_s: list[float] = []  # when each tick fired, seconds from start
        self.timer = QTimer(interval=TICK_MS)
        self.timer.timeout.connect(self._tick)
        self._last = 0

    def start(self) -> None:
        self.clock.start()
        self._last = self.clock.nsecsElapsed()
        self.timer.start()

    def _tick(self) -> None:
        now = self.clock.nsecsElapsed()
        self.lateness.append((now - self._last) / 1e6 - TICK_MS)
        self.at_s.append(now / 1e9)
        self._last = now

    def stop(self) -> None:
        self.timer.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, help="model bundle (default: tiny test bundle)")
    parser.add_argument("--video", type=Path, help="video file standing in for the camera")
    parser.add_argument("--images", type=Path, default=DEFAULT_IMAGES / "metal_nut" / "test")
    parser.add_argument("--fps", type=float, default=10.0, help="frame rate of the written video")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured duration")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument(
        "--no-statistics", action="store_true", help="leave the statistics window closed"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    app = QApplication.instance() or QApplication([sys.argv[0]])
    apply_style(app)
    with tempfile.TemporaryDirectory(prefix="station-bench-") as scratch:
        scratch = Path(scratch)
        bundle = args.bundle
        if bundle is None:
            from training.tiny_bundle import make_tiny_bundle

            bundle = make_tiny_bundle(scratch / "tiny_bundle")
        video = args.video or write_video(args.images, scratch / "line.avi", args.fps)
        store = QSettings(str(scratch / "station.ini"), QSettings.Format.IniFormat)
        settings = StationSettings(bundle=str(bundle), output_dir=str(scratch / "out"))
        settings.provider = "cpu"
        # A camera stand-in: played at its own rate, newest frame wins, and every loop of it
        # inspected again (not passed over as frames this bundle already judged).
        settings.video_as_camera, settings.skip_inspected = True, False
        window = MainWindow(store, settings)
        window.resize(1400, 900)
        window.show()
        window.load_bundle(str(bundle))
        while window.inspector is None:
            if window.errors.messages:
                raise SystemExit(f"bundle did not load: {window.errors.messages[0]}")
            app.processEvents()
            time.sleep(0.01)
        window.set_source(str(video))
        snapshots = []
        if not args.no_statistics:
            window.statistics.show()
            window.statistics.view.lot_name.setText("bench")
            window.statistics.view.start_button.click()
            window.statistics.feed.ready.connect(snapshots.append)
            # Measured from when they are on screen: opening a window is not the steady state.
            while not snapshots:
                app.processEvents()
                time.sleep(0.01)
        meter = StallMeter()
        meter.start()
        window.start()
        dropped = 0
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            if window.run is None:  # the video ended: play it again, as a camera never ends
                dropped += int(window.status.labels["dropped"].text().split()[-1])
                window.start()
            app.processEvents()
            time.sleep(0.001)
        meter.stop()
        dropped += int(window.status.labels["dropped"].text().split()[-1])
        counts = window.counters.counts
        latency = window.status.labels["latency"].text()
        window.close()

    stalls = np.array(meter.lateness)
    figures = {
        "bundle": str(args.bundle or "tiny test bundle"),
        "provider": window.status.labels["provider"].text(),
        "seconds": args.seconds,
        "ticks": int(stalls.size),
        "longest_stall_ms": float(stalls.max()),
        "p99_stall_ms": float(np.percentile(stalls, 99)),
        "mean_stall_ms": float(stalls.mean()),
        "worst_5_at_s": [
            f"{meter.at_s[i]:.2f}s:{stalls[i]:.0f}ms" for i in np.argsort(stalls)[::-1][:5]
        ],
        "inspected": counts.ok + counts.ng,
        "dropped": dropped,
        "last_latency": latency,
        "statistics_shown": not args.no_statistics,
        "statistics_snapshots": len(snapshots),
        "goal_ms": GOAL_MS,
    }
    for key, value in figures.items():
        print(f"{key:>18}: {value:.1f}" if isinstance(value, float) else f"{key:>18}: {value}")
    verdict = "MET" if figures["longest_stall_ms"] < GOAL_MS else "MISSED"
    longest = figures["longest_stall_ms"]
    print(f"longest event-loop stall {longest:.1f} ms: goal < {GOAL_MS:.0f} ms {verdict}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
