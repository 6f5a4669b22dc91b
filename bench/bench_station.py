"""Station core benchmark: trigger-to-result latency, the core's own overhead, triggers too fast.

Three measurements in one run, with the same loaded Inspector throughout:

1. Software triggers on a video played as a live camera (MJPG .avi written from the sample
   images, opened with VideoFileSource(path, realtime=True)): one trigger at a time, each once
   the previous result arrived and the station is Ready again, so none is missed. Reports
   PartResult.latency_ms (trigger to result ready to store) p50/p99, the trigger-to-event time
   (after the store row and sinks), and the wait for the frame (frame arrival - trigger; the
   frame's timestamp is its arrival, so this is also its staleness and must be >= 0).
2. The core's overhead per part against a bare `read_image` + `Inspector.inspect` loop on the
   same folder of K images, in rounds whose order rotates (bare, station without images,
   station with the default archive policy) to cancel drift on a shared machine. Overhead =
   (station wall - bare wall) / K, and the same with each side's measured decode and inference
   time taken out first (robust against inference noise, which is far larger than 3 ms).
   The default policy (NG overlays + NG originals) is reported apart: writing PNGs is policy
   work, not core overhead.
3. Triggers at twice the station's rate (the rate measured in 1) from a thread on the video:
   checks missed triggers == triggers - results exactly, from the store.

    .venv/bin/python bench/bench_station.py --bundle assets/default_bundle \
        [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import queue
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make `engine` importable
    sys.path.insert(0, str(REPO))

from engine.bundle import load_bundle  # noqa: E402
from engine.events import FrameFailed, PartResult, ResultReady  # noqa: E402
from engine.imageio import read_image, to_bgr8  # noqa: E402
from engine.inspector import Inspector  # noqa: E402
from engine.recipes import Recipe  # noqa: E402
from engine.recorder import open_store  # noqa: E402
from engine.sources import IMAGE_EXTENSIONS, VideoFileSource  # noqa: E402
from engine.station import RunSummary, Station  # noqa: E402
from engine.store import ResultStore  # noqa: E402

GOAL_OVERHEAD_MS = 3.0
INSPECT_STAGES = ("preprocess", "segmentation", "anomaly", "postprocess")  # Inspector.inspect
POLICY_STAGES = ("overlay", "archive")  # the recorder's image writing
# Overhead: many short rounds (order rotated) cancel drift better than a few long ones.
FULL = {"triggers": 200, "warmup_triggers": 3, "overload_triggers": 60, "images": 10, "rounds": 9}
QUICK = {"triggers": 20, "warmup_triggers": 2, "overload_triggers": 16, "images": 10, "rounds": 2}

log = logging.getLogger("bench_station")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", default=str(REPO / "assets/default_bundle"), help="bundle")
    parser.add_argument("--provider", help="onnxruntime provider: cpu, cuda, ... (default: auto)")
    parser.add_argument(
        "--samples", type=Path, default=REPO / "assets/samples", help="folder of sample images"
    )
    parser.add_argument("--triggers", type=int, help="software triggers timed (default: 200)")
    parser.add_argument("--warmup-triggers", type=int, help="untimed triggers first (default: 3)")
    parser.add_argument(
        "--overload-triggers", type=int, help="triggers fired at the faster rate (default: 60)"
    )
    parser.add_argument(
        "--overload-factor", type=float, default=2.0, help="trigger rate / station rate (2)"
    )
    parser.add_argument("--images", type=int, help="K, images of the overhead folder (10)")
    parser.add_argument("--rounds", type=int, help="rounds of the overhead comparison (9)")
    parser.add_argument("--fps", type=float, default=20.0, help="video frame rate (default: 20)")
    parser.add_argument(
        "--video-margin",
        type=float,
        default=3.0,
        help="video length / the calibrated time the triggers need (default: 3)",
    )
    parser.add_argument("--quick", action="store_true", help="small smoke run (about a minute)")
    parser.add_argument("--keep", type=Path, help="keep the scratch files in this folder")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument(
        "--report", type=Path, help="only print the tables of a JSON this script wrote"
    )
    args = parser.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


# --- helpers ----------------------------------------------------------------------------------
def stats(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "mean": None, "p50": None, "p99": None, "min": None, "max": None}
    array = np.asarray(values, dtype=float)
    return {
        "n": int(array.size),
        "mean": float(array.mean()),
        "p50": float(np.percentile(array, 50)),
        "p99": float(np.percentile(array, 99)),
        "min": float(array.min()),
        "max": float(array.max()),
    }


def load_samples(folder: Path) -> list[tuple[Path, np.ndarray]]:
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
    samples = [(p, to_bgr8(read_image(p))) for p in paths]
    if not samples:
        raise SystemExit(f"{folder}: no sample images")
    return samples


def write_video(path: Path, images: list[np.ndarray], fps: float, seconds: float) -> int:
    """An MJPG .avi of `seconds` at `fps`, cycling through `images` (resized to the first's
    size); returns the frame count."""
    height, width = images[0].shape[:2]
    frames = [
        cv2.resize(i, (width, height)) if i.shape[:2] != (height, width) else i for i in images
    ]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    if not writer.isOpened():
        raise SystemExit(f"{path}: cv2.VideoWriter cannot write MJPG")
    count = max(1, int(seconds * fps))
    for index in range(count):
        writer.write(frames[index % len(frames)])
    writer.release()
    return count


class Parts:
    """Collects ResultReady / FrameFailed parts with the time they reached the subscriber."""

    def __init__(self, station: Station) -> None:
        self.queue: queue.Queue[tuple[PartResult, float | None]] = queue.Queue()
        self.count = 0
        self._lock = threading.Lock()
        self.unsubscribe = station.subscribe(self._on_event)

    def _on_event(self, event: object) -> None:
        if isinstance(event, ResultReady | FrameFailed):
            part = event.part
            seen = time.perf_counter()
            seen_ms = (seen - part.trigger.clock) * 1000 if part.trigger else None
            with self._lock:
                self.count += 1
            self.queue.put((part, seen_ms))


@dataclass
class Running:
    thread: threading.Thread | None = None
    summary: RunSummary | None = None
    error: BaseException | None = None


def start_run(station: Station, source, mode: str) -> Running:
    """Station.run(source, mode) on its own thread; waits until the run is on."""
    running = Running()

    def target() -> None:
        try:
            running.summary = station.run(source, mode)
        except BaseException as exc:  # reported by the caller
            running.error = exc

    running.thread = threading.Thread(name="station-run", target=target, daemon=True)
    running.thread.start()
    deadline = time.monotonic() + 30
    while not station.running and running.thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)
    if running.error is not None:
        raise running.error
    return running


def wait_ready(station: Station, timeout: float) -> bool:
    """Until the station takes the next trigger (its PLC Ready: `taking_triggers`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if station.taking_triggers:
            return True
        time.sleep(0.0005)
    return False


def run_rows(store: ResultStore, run_id: str) -> list:
    return [r for r in store.records() if r.run_id == run_id]


def finish_run(station: Station, running: Running) -> RunSummary:
    station.stop()
    running.thread.join(60)
    if running.thread.is_alive():
        raise SystemExit("station run did not end within 60 s of stop()")
    if running.error is not None:
        raise running.error
    return running.summary


# --- 0: calibration ---------------------------------------------------------------------------
def calibrate(inspector: Inspector, images: list[np.ndarray], warmup: int = 3) -> dict:
    for _ in range(warmup):
        inspector.inspect(images[0])
    times = []
    for image in images[:5]:
        clock = time.perf_counter()
        inspector.inspect(image)
        times.append((time.perf_counter() - clock) * 1000)
    return {"inspect_ms_median": float(np.median(times)), "inspect_ms": times}


# --- 1: software trigger latency --------------------------------------------------------------
def software_latency(
    inspector: Inspector, bundle: str, video: Path, triggers: int, warmup: int, out: Path
) -> dict:
    store = open_store(out)
    station = Station(store, out)
    station.prepare(
        Recipe(id="bench-latency", bundle=bundle, overlays="none", archive="none"),
        "bench",
        inspector=inspector,
    )
    parts = Parts(station)
    running = start_run(station, VideoFileSource(video, realtime=True), "software")
    rows: list[dict] = []
    refused = 0
    problem = None
    started = time.perf_counter()
    for index in range(warmup + triggers):
        if index == warmup:
            started = time.perf_counter()  # throughput of the timed triggers only
        if not running.thread.is_alive():
            problem = f"run ended after {index} triggers (video too short?)"
            break
        if not wait_ready(station, 30):
            problem = f"station not ready 30 s after trigger {index - 1}"
            break
        if not station.trigger(part_id=f"latency-{index}"):
            refused += 1
            continue
        try:
            part, seen_ms = parts.queue.get(timeout=station.trigger_timeout_s + 60)
        except queue.Empty:
            problem = f"no result for trigger {index}"
            break
        if index < warmup:
            continue
        timings = part.result.timings_ms if part.result else {}
        wait_ms = (part.frame.timestamp - part.trigger.time) * 1000
        rows.append(
            {
                "latency_ms": part.latency_ms,
                "trigger_to_event_ms": seen_ms,
                "frame_wait_ms": wait_ms,
                "inspect_ms": sum(timings.get(s, 0.0) for s in INSPECT_STAGES),
                "verdict": part.verdict,
                "error": part.error,
            }
        )
    elapsed = time.perf_counter() - started
    wait_ready(station, 10)
    summary = finish_run(station, running)
    parts.unsubscribe()
    stored = run_rows(store, summary.run_id)
    missed = store.missed_triggers(run_id=summary.run_id)
    store.close()

    latency = [r["latency_ms"] for r in rows]
    waits = [r["frame_wait_ms"] for r in rows]
    after_frame = [r["latency_ms"] - r["frame_wait_ms"] for r in rows]
    remainder = [r["latency_ms"] - r["frame_wait_ms"] - r["inspect_ms"] for r in rows]
    mean_latency_s = float(np.mean(latency)) / 1000 if latency else None
    return {
        "triggers": triggers,
        "warmup_triggers": warmup,
        "timed_parts": len(rows),
        "problem": problem,
        "refused_triggers": refused,
        "missed_in_store": len(missed),
        "missed_reasons": sorted({m.reason for m in missed}),
        "result_rows": len(stored),
        "error_parts": sum(r["verdict"] == "ERROR" for r in rows),
        "latency_ms": stats(latency),
        "trigger_to_event_ms": stats([r["trigger_to_event_ms"] for r in rows]),
        "frame_wait_ms": stats(waits),
        "stale_frames": sum(w < 0 for w in waits),  # frames older than their trigger: must be 0
        "after_frame_ms": stats(after_frame),  # frame arrival to result ready to store
        "inspect_ms": stats([r["inspect_ms"] for r in rows]),
        "core_remainder_ms": stats(remainder),  # latency - frame wait - Inspector.inspect
        "station_rate_hz": 1 / mean_latency_s if mean_latency_s else None,
        "throughput_hz": len(rows) / elapsed if elapsed and rows else None,  # incl. dead time
        "run_id": summary.run_id,
        "parts": rows,
    }


# --- 3: triggers faster than the station ------------------------------------------------------
def overload(
    inspector: Inspector,
    bundle: str,
    video: Path,
    count: int,
    station_rate_hz: float,
    factor: float,
    out: Path,
) -> dict:
    store = open_store(out)
    station = Station(store, out)
    station.prepare(
        Recipe(id="bench-overload", bundle=bundle, overlays="none", archive="none"),
        "bench",
        inspector=inspector,
    )
    parts = Parts(station)
    running = start_run(station, VideoFileSource(video, realtime=True), "software")
    wait_ready(station, 30)
    period = 1 / (station_rate_hz * factor)
    taken: list[bool] = []
    sent: list[float] = []

    def fire() -> None:
        start = time.perf_counter()
        for index in range(count):
            due = start + index * period
            while (left := due - time.perf_counter()) > 0:
                time.sleep(min(left, 0.005))
            sent.append(time.perf_counter())
            taken.append(station.trigger(part_id=f"overload-{index}"))

    trigger_thread = threading.Thread(target=fire, name="bench-triggers")
    trigger_thread.start()
    trigger_thread.join()
    deadline = time.monotonic() + station.trigger_timeout_s + 30
    while parts.count < sum(taken) and running.thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    wait_ready(station, 10)
    summary = finish_run(station, running)
    parts.unsubscribe()
    stored = run_rows(store, summary.run_id)
    results = len(stored)
    missed = store.missed_triggers(run_id=summary.run_id)
    store.close()
    achieved_hz = (len(sent) - 1) / (sent[-1] - sent[0]) if len(sent) > 1 else None
    return {
        "triggers": count,
        "factor_asked": factor,
        "station_rate_hz": station_rate_hz,
        "trigger_period_ms": period * 1000,
        "trigger_rate_hz": achieved_hz,
        "rate_ratio_achieved": achieved_hz / station_rate_hz if achieved_hz else None,
        "accepted_by_trigger": sum(taken),
        "refused_by_trigger": count - sum(taken),
        "result_rows": results,
        "missed_in_store": len(missed),
        "missed_in_summary": summary.missed,
        "missed_reasons": sorted({m.reason for m in missed}),
        "missed_equals_triggers_minus_results": len(missed) == count - results,
        "result_share": results / count if count else None,
        # A part slower than two trigger periods lets the next free trigger come one period
        # later: the share is 1/2 only when every part takes under two periods.
        "latency_ms": stats([r.latency_ms for r in stored if r.latency_ms is not None]),
        "run_id": summary.run_id,
    }


# --- 2: core overhead against a bare loop -----------------------------------------------------
def make_folder(folder: Path, samples: list[tuple[Path, np.ndarray]], count: int) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    for index in range(count):
        origin = samples[index % len(samples)][0]
        target = folder / f"img{index:03d}_{origin.name}"
        shutil.copyfile(origin, target)
        paths.append(target)
    return paths


def bare_pass(inspector: Inspector, paths: list[Path]) -> dict:
    decode = model = 0.0
    cpu = time.process_time()
    started = time.perf_counter()
    for path in paths:
        clock = time.perf_counter()
        image = read_image(path)
        decode += time.perf_counter() - clock
        result = inspector.inspect(image)
        model += sum(result.timings_ms.get(s, 0.0) for s in INSPECT_STAGES) / 1000
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    return {"wall_s": wall, "cpu_s": cpu, "decode_s": decode, "inspect_s": model, "policy_s": 0.0}


def station_pass(
    inspector: Inspector, bundle: str, folder: Path, out: Path, default_policy: bool
) -> dict:
    store = open_store(out)
    station = Station(store, out)
    if default_policy:
        recipe = Recipe(id="bench-default", bundle=bundle)  # NG overlays + NG originals
    else:
        recipe = Recipe(id="bench-none", bundle=bundle, overlays="none", archive="none")
    station.prepare(recipe, "bench", inspector=inspector)
    cpu = time.process_time()
    started = time.perf_counter()
    summary = station.run(folder, "continuous")
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    rows = run_rows(store, summary.run_id)
    store.close()
    timings = [r.timings_ms or {} for r in rows]
    decode = sum(t.get("decode", 0.0) for t in timings) / 1000
    model = sum(sum(t.get(s, 0.0) for s in INSPECT_STAGES) for t in timings) / 1000
    policy = sum(sum(t.get(s, 0.0) for s in POLICY_STAGES) for t in timings) / 1000
    # Per part from the row: latency (decode start to result ready to store) minus every timed
    # stage = the core's bookkeeping before the store insert.
    bookkeeping = [
        r.latency_ms - sum((r.timings_ms or {}).values()) for r in rows if r.latency_ms is not None
    ]
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "summary_wall_s": summary.wall_s,
        "decode_s": decode,
        "inspect_s": model,
        "policy_s": policy,
        "parts": len(rows),
        "verdicts": {v: sum(r.verdict == v for r in rows) for v in ("OK", "NG", "ERROR")},
        "bookkeeping_ms_p50": float(np.median(bookkeeping)) if bookkeeping else None,
        "bookkeeping_ms_max": float(np.max(bookkeeping)) if bookkeeping else None,
    }


def overhead(
    inspector: Inspector,
    bundle: str,
    samples: list[tuple[Path, np.ndarray]],
    count: int,
    rounds: int,
    scratch: Path,
) -> dict:
    paths = make_folder(scratch / "images", samples, count)
    kinds = ["bare", "none", "default"]
    passes: list[dict] = []
    for round_index in range(rounds):
        shift = round_index % len(kinds)
        order = kinds[shift:] + kinds[:shift]  # rotate the order each round
        for kind in order:
            if kind == "bare":
                figures = bare_pass(inspector, paths)
            else:
                out = scratch / f"overhead-{kind}-{round_index}"
                figures = station_pass(inspector, bundle, paths[0].parent, out, kind == "default")
            passes.append({"round": round_index, "kind": kind, **figures})

    def per_round(
        kind: str, *, net: bool, no_policy: bool = False, clock: str = "wall_s"
    ) -> list[float]:
        """Per-part ms of `kind` minus bare, for each round; `net` takes each side's measured
        decode and inference out first; `no_policy` also the image writing; `clock` wall_s or
        cpu_s (process CPU time, all threads)."""
        values = []
        for round_index in range(rounds):
            by_kind = {p["kind"]: p for p in passes if p["round"] == round_index}

            def rest(p: dict) -> float:
                taken = (p["decode_s"] + p["inspect_s"]) if net else 0.0
                return p[clock] - taken - (p["policy_s"] if no_policy else 0.0)

            values.append((rest(by_kind[kind]) - rest(by_kind["bare"])) / count * 1000)
        return values

    def per_part(kind: str) -> list[float]:
        return [p["wall_s"] / count * 1000 for p in passes if p["kind"] == kind]

    def median(values: list[float]) -> float:
        return float(np.median(values))

    figures = {
        "images": count,
        "rounds": rounds,
        "per_part_ms": {kind: per_part(kind) for kind in kinds},
        "inspect_per_part_ms": {
            kind: [p["inspect_s"] / count * 1000 for p in passes if p["kind"] == kind]
            for kind in kinds
        },
        "overhead_wall_ms": per_round("none", net=False),
        "overhead_net_ms": per_round("none", net=True),
        "overhead_cpu_ms": per_round("none", net=False, clock="cpu_s"),
        "default_overhead_cpu_ms": per_round("default", net=False, clock="cpu_s"),
        "default_overhead_wall_ms": per_round("default", net=False),
        "default_overhead_net_ms": per_round("default", net=True),
        "default_overhead_net_without_policy_ms": per_round("default", net=True, no_policy=True),
        "default_policy_ms_per_part": [
            p["policy_s"] / count * 1000 for p in passes if p["kind"] == "default"
        ],
        "bookkeeping_ms_p50": [p["bookkeeping_ms_p50"] for p in passes if p["kind"] == "none"],
        "passes": passes,
    }
    for key in (
        "overhead_wall_ms",
        "overhead_net_ms",
        "overhead_cpu_ms",
        "default_overhead_cpu_ms",
        "default_overhead_wall_ms",
        "default_overhead_net_ms",
        "default_overhead_net_without_policy_ms",
        "default_policy_ms_per_part",
        "bookkeeping_ms_p50",
    ):
        figures[key + "_median"] = median(figures[key])
        q1, q3 = np.percentile(figures[key], [25, 75])
        figures[key + "_iqr"] = float(q3 - q1)
    bare = per_part("bare")
    figures["bare_per_part_spread_ms"] = float(np.max(bare) - np.min(bare))  # the noise floor
    return figures


# --- report -----------------------------------------------------------------------------------
def _f(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_report(figures: dict) -> None:
    lat, ovl, ovh = figures["latency"], figures["overload"], figures["overhead"]
    goal = GOAL_OVERHEAD_MS
    print()
    print(f"## Station core benchmark ({figures['bundle']}, {figures['provider']})")
    print()
    print(
        f"video {figures['video']['frames']} frames at {figures['video']['fps']:g} fps "
        f"({figures['video']['width']}x{figures['video']['height']} MJPG), "
        f"calibrated inspect {figures['calibration']['inspect_ms_median']:.0f} ms, "
        f"load average {figures['host']['loadavg_start']} -> {figures['host']['loadavg_end']}"
    )
    print()
    print("### 1. Software trigger to result (video as camera)")
    print()
    print("| figure | p50 | p99 | min | max |")
    print("|---|---:|---:|---:|---:|")
    for label, key in (
        ("latency_ms (trigger -> result ready to store)", "latency_ms"),
        ("trigger -> ResultReady event", "trigger_to_event_ms"),
        ("wait for frame = staleness (arrival - trigger)", "frame_wait_ms"),
        ("frame arrival -> result", "after_frame_ms"),
        ("Inspector.inspect stages", "inspect_ms"),
        ("rest (latency - wait - inspect)", "core_remainder_ms"),
    ):
        s = lat[key]
        print(f"| {label} | {_f(s['p50'])} | {_f(s['p99'])} | {_f(s['min'])} | {_f(s['max'])} |")
    print()
    print(
        f"{lat['timed_parts']} timed parts of {lat['triggers']} triggers "
        f"(+{lat['warmup_triggers']} warm-up); refused {lat['refused_triggers']}, "
        f"missed in store {lat['missed_in_store']}, stale frames {lat['stale_frames']}, "
        f"ERROR parts {lat['error_parts']}; station rate {_f(lat['station_rate_hz'], 2)} Hz "
        f"(1 / mean latency), achieved {_f(lat['throughput_hz'], 2)} Hz one trigger at a time"
        + (f"; PROBLEM: {lat['problem']}" if lat["problem"] else "")
    )
    print()
    print("### 2. Core overhead per part against a bare read_image + inspect loop")
    print()
    print("| figure (ms per part) | median | per round |")
    print("|---|---:|---|")

    def row(label: str, key: str, digits: int = 2) -> None:
        values = ", ".join(_f(v, digits) for v in ovh[key])
        print(f"| {label} | {_f(ovh[key + '_median'], digits)} | {values} |")

    print(
        f"| bare loop per part | {_f(float(np.median(ovh['per_part_ms']['bare'])))} | "
        + ", ".join(_f(v) for v in ovh["per_part_ms"]["bare"])
        + " |"
    )
    row("overhead, wall ((station - bare) / K), no images", "overhead_wall_ms")
    row("overhead, net of decode + inference, no images", "overhead_net_ms")
    row("overhead, process CPU time ((station - bare) / K), no images", "overhead_cpu_ms")
    row("bookkeeping in the row (latency - timed stages), no images", "bookkeeping_ms_p50")
    row("default policy: overhead, wall", "default_overhead_wall_ms")
    row("default policy: overhead, net of decode + inference", "default_overhead_net_ms")
    row("default policy: overhead, process CPU time", "default_overhead_cpu_ms")
    row("default policy: image writing (overlay + archive)", "default_policy_ms_per_part")
    row(
        "default policy: net overhead without the image writing",
        "default_overhead_net_without_policy_ms",
    )
    print()
    print(
        f"K = {ovh['images']} images, {ovh['rounds']} rounds (order rotated); bare per-part "
        f"spread between rounds {ovh['bare_per_part_spread_ms']:.1f} ms. Goal <= {goal:g} ms:"
    )
    for label, key in (("net", "overhead_net_ms"), ("wall", "overhead_wall_ms"),
                       ("CPU time", "overhead_cpu_ms")):  # fmt: skip
        q1, q3 = np.percentile(ovh[key], [25, 75])
        value, iqr = ovh[key + "_median"], float(q3 - q1)
        if iqr > goal:
            verdict = f"cannot tell: rounds spread over {iqr:.1f} ms (IQR), noise > goal"
        else:
            verdict = "meets" if value <= goal else "misses"
        print(f"- {label}: {value:.2f} ms, {verdict}")
    print()
    print(f"### 3. Triggers at {ovl['factor_asked']:g}x the station's rate")
    print()
    print("| figure | value |")
    print("|---|---:|")
    yes_no = "yes" if ovl["missed_equals_triggers_minus_results"] else "NO"
    for label, value in (
        ("station rate (from 1)", f"{ovl['station_rate_hz']:.2f} Hz"),
        ("trigger rate achieved", f"{_f(ovl['trigger_rate_hz'], 2)} Hz"),
        ("rate ratio achieved", f"{_f(ovl['rate_ratio_achieved'], 2)}x"),
        ("triggers", ovl["triggers"]),
        ("results (rows of the run)", ovl["result_rows"]),
        ("missed (store, this run)", ovl["missed_in_store"]),
        ("missed (run summary)", ovl["missed_in_summary"]),
        ("refused by trigger()", ovl["refused_by_trigger"]),
        ("missed == triggers - results", yes_no),
        ("results / triggers", f"{_f(ovl['result_share'], 3)}"),
        (
            "latency p50 / max in this run",
            f"{_f(ovl['latency_ms']['p50'])} / "
            f"{_f(ovl['latency_ms']['max'])} ms "
            f"(2 periods = {2 * ovl['trigger_period_ms']:.0f} ms)",
        ),
    ):
        print(f"| {label} | {value} |")
    print()


def _loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report:
        print_report(json.loads(args.report.read_text(encoding="utf-8")))
        return 0
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    logging.getLogger("engine.station").setLevel(logging.ERROR)  # one warning per missed trigger
    loadavg_start = _loadavg()
    bundle = str(Path(args.bundle).resolve())
    inspector = Inspector(load_bundle(bundle), args.provider)
    samples = load_samples(args.samples)
    images = [image for _, image in samples]
    scratch_root = args.keep or Path(tempfile.mkdtemp(prefix="bench_station_"))
    scratch_root.mkdir(parents=True, exist_ok=True)
    try:
        print("calibrating ...", flush=True)
        calibration = calibrate(inspector, images)
        cycle_s = calibration["inspect_ms_median"] / 1000 + 1 / args.fps + 0.02
        needed_s = max(
            (args.warmup_triggers + args.triggers) * cycle_s,
            args.overload_triggers * cycle_s / args.overload_factor + 2 * cycle_s,
        )
        seconds = args.video_margin * needed_s + 5
        video = scratch_root / "camera.avi"
        frames = write_video(video, images, args.fps, seconds)
        height, width = images[0].shape[:2]
        print(f"video: {frames} frames ({seconds:.0f} s at {args.fps:g} fps)", flush=True)

        loadavg = {"video written": _loadavg()}
        print(f"1. {args.triggers} software triggers ...", flush=True)
        latency = software_latency(
            inspector,
            bundle,
            video,
            args.triggers,
            args.warmup_triggers,
            scratch_root / "latency",
        )
        rate = latency["station_rate_hz"] or 1000 / (calibration["inspect_ms_median"] + 20)

        loadavg["1 done"] = _loadavg()
        print(f"3. {args.overload_triggers} triggers at {args.overload_factor:g}x ...", flush=True)
        overloaded = overload(
            inspector,
            bundle,
            video,
            args.overload_triggers,
            rate,
            args.overload_factor,
            scratch_root / "overload",
        )

        loadavg["3 done"] = _loadavg()
        print(f"2. overhead: {args.rounds} rounds of {args.images} images ...", flush=True)
        overheads = overhead(
            inspector, bundle, samples, args.images, args.rounds, scratch_root / "overhead"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(scratch_root, ignore_errors=True)

    figures = {
        "bundle": inspector.bundle.name,
        "bundle_path": bundle,
        "provider": inspector.main_provider,
        "providers": inspector.providers,
        "quick": args.quick,
        "calibration": calibration,
        "video": {"frames": frames, "fps": args.fps, "width": width, "height": height},
        "latency": latency,
        "overload": overloaded,
        "overhead": overheads,
        "goal_overhead_ms": GOAL_OVERHEAD_MS,
        "host": {
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "python": sys.version,
            "opencv": cv2.__version__,
            "loadavg_start": loadavg_start,
            "loadavg_end": _loadavg(),
            "loadavg_between_sections": loadavg,
        },
        "command": " ".join([sys.executable, *sys.argv]),
    }
    print_report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
        print(f"figures written to {args.json}")
    failed = (
        latency["problem"] is not None
        or latency["stale_frames"] > 0
        or latency["refused_triggers"] > 0
        or not overloaded["missed_equals_triggers_minus_results"]
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
