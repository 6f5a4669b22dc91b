"""Reliability soak through the station core: memory stays flat, every part is accounted for.

Two stations run side by side in one process, each on its own loaded bundle and output folder,
for --minutes (default 30):

1. camera: a video played as a live camera (VideoFileSource realtime) in continuous mode, run
   after run (each run is one pass of the video). The newest frame wins; per run, inspected +
   dropped must equal the frames the video holds, and every stored frame id is unique.
2. folder: a watched folder (file-arrival mode) fed by a writer thread that writes each image
   in two or three chunks with pauses (some longer than the poll interval, so a half file is
   seen, fails to decode and must be retried), now and then overwrites `latest.png` (once the
   station has taken the previous one, as a camera with a handshake does) and now and then
   leaves a broken file that never completes. Every version the writer finished must have
   exactly one row with its (name, size:mtime) signature: inspected, or failed with a reason.

RSS (the process's resident memory, from /proc/self/statm) is sampled every 5 s; growth =
(mean of the last 10 % of samples - mean of the samples in the minute after warm-up) / that
mean, with warm-up the first --warmup-minutes (default 3).

    .venv/bin/python bench/bench_soak.py --bundle assets/default_bundle \
        --data ../shared/data/mvtec_ad/metal_nut [--minutes 30] [--json soak.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make `engine` importable
    sys.path.insert(0, str(REPO))

from engine.bundle import load_bundle  # noqa: E402
from engine.events import FrameFailed, ResultReady  # noqa: E402
from engine.imageio import read_image, to_bgr8  # noqa: E402
from engine.inspector import Inspector  # noqa: E402
from engine.recipes import Recipe  # noqa: E402
from engine.recorder import open_store  # noqa: E402
from engine.sources import IMAGE_EXTENSIONS, file_signature  # noqa: E402
from engine.station import Station, TriggerMode  # noqa: E402

RSS_EVERY_S = 5.0
POLL_S = 0.2
GOAL_RSS_GROWTH = 0.05


@dataclass
class Ledger:
    """What the writer finished (name, signature) and what it left broken on purpose."""

    written: list[tuple[str, str]] = field(default_factory=list)
    broken: list[tuple[str, str]] = field(default_factory=list)
    half_seen: int = 0  # chunked writes whose pause was longer than two polls


def _rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _station(bundle: Path, out: Path, recipe_id: str) -> Station:
    inspector = Inspector(load_bundle(bundle))
    station = Station(open_store(out), out)
    recipe = Recipe(id=recipe_id, bundle=str(bundle), overlays="ng", archive="ng")
    station.prepare(recipe, "soak", inspector)
    return station


def _images(data: Path | None, count: int) -> list[np.ndarray]:
    """Sample parts from the dataset's test folders, or synthetic ones without data."""
    paths = sorted(p for p in data.rglob("test/*/*") if p.suffix.lower() in IMAGE_EXTENSIONS)
    if paths:
        picked = random.Random(0).sample(paths, min(count, len(paths)))
        return [to_bgr8(read_image(p)) for p in picked]
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (256, 256, 3), dtype=np.uint8) for _ in range(count)]


def _write_video(path: Path, images: list[np.ndarray], fps: float) -> int:
    height, width = images[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    for image in images:
        writer.write(cv2.resize(image, (width, height)))
    writer.release()
    return len(images)


def _camera_loop(station: Station, video: Path, frames: int, deadline: float) -> dict:
    runs, inspected, dropped, short = 0, 0, 0, 0
    while time.monotonic() < deadline:
        summary = station.run(str(video), TriggerMode.CONTINUOUS, realtime=True)
        runs += 1
        inspected += summary.inspected
        dropped += summary.dropped
        short += summary.inspected + summary.dropped != frames
    return {
        "runs": runs,
        "inspected": inspected,
        "dropped": dropped,
        "runs_not_adding_up": short,
    }


class Writer:
    """Feeds the watched folder as a camera with a file share would, and keeps the ledger."""

    def __init__(self, folder: Path, images: list[bytes], station: Station, rate_s: float):
        self.folder, self.images, self.rate_s = folder, images, rate_s
        self.ledger = Ledger()
        self._taken = threading.Event()
        self._rng = random.Random(1)
        station.subscribe(self._on_event)

    def _on_event(self, event: object) -> None:
        if isinstance(event, ResultReady | FrameFailed) and event.part.frame.id == "latest.png":
            self._taken.set()

    def run(self, deadline: float) -> None:
        number = 0
        while time.monotonic() < deadline:
            roll = self._rng.random()
            data = self.images[number % len(self.images)]
            if roll < 0.15:
                self._overwrite_latest(data)
            elif roll < 0.18:
                self._write_broken(f"broken_{number:05d}.png", data)
            else:
                self._write_chunked(f"part_{number:05d}.png", data)
            number += 1
            time.sleep(self._rng.uniform(0.5, 1.5) * self.rate_s)

    def _write_chunked(self, name: str, data: bytes) -> None:
        path = self.folder / name
        cuts = sorted(self._rng.sample(range(1, len(data)), self._rng.choice((1, 2))))
        pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
        with path.open("wb") as handle:
            for index, piece in enumerate(pieces):
                handle.write(piece)
                handle.flush()
                if index < len(pieces) - 1:
                    pause = self._rng.choice((0.02, 0.1, 3 * POLL_S, 1.0))
                    self.ledger.half_seen += pause > 2 * POLL_S
                    time.sleep(pause)
        self.ledger.written.append((name, file_signature(path.stat())))

    def _overwrite_latest(self, data: bytes) -> None:
        latest = self.folder / "latest.png"
        if latest.exists() and not self._taken.wait(timeout=60):
            return  # the station never took the previous one: the ledger will say so
        self._taken.clear()
        staged = self.folder / ".latest.tmp.png"
        staged.write_bytes(data)
        staged.replace(latest)
        self.ledger.written.append(("latest.png", file_signature(latest.stat())))

    def _write_broken(self, name: str, data: bytes) -> None:
        path = self.folder / name
        path.write_bytes(data[: len(data) // 3])
        self.ledger.broken.append((name, file_signature(path.stat())))


def _account(db: Path, ledger: Ledger) -> dict:
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT frame_id, file_sig, verdict, error FROM inspections WHERE frame_id != '-'"
        ).fetchall()
    seen = Counter((frame_id, sig) for frame_id, sig, _, _ in rows)
    verdicts = {(frame_id, sig): (verdict, error) for frame_id, sig, verdict, error in rows}
    expected = ledger.written + ledger.broken
    missing = [key for key in expected if key not in seen]
    broken_ok = all(
        verdicts.get(key, ("", ""))[0] == "ERROR" and verdicts[key][1] for key in ledger.broken
    )
    written_judged = sum(verdicts.get(key, ("",))[0] in ("OK", "NG") for key in ledger.written)
    return {
        "versions_written": len(ledger.written),
        "broken_written": len(ledger.broken),
        "chunked_writes_seen_half": ledger.half_seen,
        "rows": len(rows),
        "written_judged": written_judged,
        "missing": len(missing),
        "duplicates": sum(count - 1 for count in seen.values() if count > 1),
        "unexpected_rows": len(set(seen) - set(expected)),
        "broken_failed_with_reason": broken_ok,
        "missing_examples": missing[:5],
    }


def _camera_duplicates(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        (duplicates,) = connection.execute(
            "SELECT COUNT(*) - COUNT(DISTINCT frame_id) FROM inspections WHERE frame_id != '-'"
        ).fetchone()
    return int(duplicates)


def _growth(samples: list[tuple[float, float]], warmup_s: float) -> dict:
    after = [rss for t, rss in samples if warmup_s <= t < warmup_s + 60]
    tail = [rss for _, rss in samples[-max(1, len(samples) // 10) :]]
    base = float(np.mean(after)) if after else samples[0][1]
    growth = (float(np.mean(tail)) - base) / base
    return {
        "rss_after_warmup_mb": round(base, 1),
        "rss_end_mb": round(float(np.mean(tail)), 1),
        "rss_peak_mb": round(max(rss for _, rss in samples), 1),
        "rss_growth": round(growth, 4),
        "rss_goal_met": growth < GOAL_RSS_GROWTH,
        "samples": len(samples),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bundle", type=Path, default=REPO / "assets" / "default_bundle")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("MVTEC_ROOT", "")))
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--warmup-minutes", type=float, default=3.0)
    parser.add_argument("--fps", type=float, default=5.0, help="the video camera's frame rate")
    parser.add_argument("--file-every", type=float, default=1.0, help="writer: mean seconds")
    parser.add_argument("--work", type=Path, help="work folder (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="write the report here too")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s %(message)s")

    work = args.work or Path(tempfile.mkdtemp(prefix="soak-"))
    folder = work / "incoming"
    folder.mkdir(parents=True, exist_ok=True)
    images = _images(args.data, 24)
    video = work / "camera.avi"
    frames = _write_video(video, images, args.fps)
    encoded = [cv2.imencode(".png", image)[1].tobytes() for image in images]
    camera = _station(args.bundle, work / "out_camera", "camera")
    watched = _station(args.bundle, work / "out_folder", "folder")
    deadline = time.monotonic() + args.minutes * 60
    started = time.monotonic()
    writer = Writer(folder, encoded, watched, args.file_every)

    camera_report: dict = {}
    threads = [
        threading.Thread(
            target=lambda: camera_report.update(_camera_loop(camera, video, frames, deadline))
        ),
        threading.Thread(
            target=watched.run,
            args=(str(folder), TriggerMode.FILE),
            kwargs={"poll_interval": POLL_S},
        ),
        threading.Thread(target=writer.run, args=(deadline,)),
    ]
    for thread in threads:
        thread.start()
    samples: list[tuple[float, float]] = []
    while time.monotonic() < deadline:
        samples.append((time.monotonic() - started, _rss_mb()))
        time.sleep(RSS_EVERY_S)
    threads[2].join()
    time.sleep(8.0)  # the last files settle (a broken one needs SETTLE_S) and are taken
    watched.stop()
    for thread in threads:
        thread.join()

    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "minutes": args.minutes,
        "bundle": str(args.bundle),
        "camera": {
            **camera_report,
            "video_frames": frames,
            "fps": args.fps,
            "duplicates": _camera_duplicates(camera.store.path),
        },
        "folder": _account(watched.store.path, writer.ledger),
        "memory": _growth(samples, args.warmup_minutes * 60),
        "work": str(work),
    }
    camera.store.close()
    watched.store.close()
    text = json.dumps(report, indent=2, default=str)
    print(text)
    if args.json:
        args.json.write_text(text, encoding="utf-8")
    folder_ok = report["folder"]["missing"] == 0 and report["folder"]["duplicates"] == 0
    camera_ok = report["camera"]["duplicates"] == 0 and not camera_report["runs_not_adding_up"]
    return 0 if folder_ok and camera_ok and report["memory"]["rss_goal_met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
