"""Worker processes (bench/runtimes/worker.py), one per runtime and model, timed in turn.

Each lane is its own process, so each has its own peak RSS and its own environment, and only
one runs at a time: the driver asks each lane in turn for one image (round robin over images,
the lane order rotated every image), so machine-wide slowdowns from other work on a shared CPU
fall on every lane alike and the ratios within one run stay fair.
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

log = logging.getLogger(__name__)
WORKER = Path(__file__).with_name("worker.py")


@dataclass
class Lane:
    """One row of the table: a runtime running one model, and what was measured."""

    key: str  # e.g. "ort-fp32/anomaly"
    runtime: str  # as the table names it, e.g. "onnxruntime fp32 (CPU EP)"
    role: str  # segmentation | anomaly
    python: Path
    args: list[str]
    ms: list[float] = field(default_factory=list)
    info: dict = field(default_factory=dict)
    error: str | None = None
    peak_rss_mb: float | None = None
    outputs: Path | None = None


def _slug(key: str) -> str:
    return key.replace("/", "_")


class Worker:
    """A running worker.py for one lane; start() does not wait, ready() does."""

    def __init__(self, lane: Lane, inputs: Path, outputs: Path, options: list[str], logs: Path):
        self.lane = lane
        lane.outputs = outputs
        self.log_path = logs / f"{_slug(lane.key)}.log"
        command = [str(lane.python), str(WORKER), *lane.args, "--role", lane.role, *options]
        command += ["--inputs", str(inputs), "--outputs", str(outputs)]
        self._stderr = self.log_path.open("w")
        self._stderr.write("$ " + " ".join(command) + "\n")
        self._stderr.flush()
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True
        )

    def _read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            tail = self.log_path.read_text(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError(
                f"worker exited ({self.process.returncode}); {self.log_path}: " + " | ".join(tail)
            )
        message = json.loads(line)
        if "error" in message:
            raise RuntimeError(f"{message['error']} (log: {self.log_path})")
        return message

    def ready(self) -> bool:
        """Wait for the worker to load; on failure record why in the lane and stop it."""
        try:
            self.lane.info = self._read()
            return True
        except RuntimeError as exc:
            self.lane.error = str(exc)
            self.close()
            return False

    def time_one(self, index: int) -> float:
        self.process.stdin.write(f"{index}\n")
        self.process.stdin.flush()
        return float(self._read()["ms"])

    def finish(self) -> None:
        """Ask for the outputs and the peak RSS, then end the process."""
        self.process.stdin.write("quit\n")
        self.process.stdin.flush()
        self.lane.peak_rss_mb = float(self._read()["peak_rss_mb"])
        self.close()

    def close(self) -> None:
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._stderr.close()


def start_all(
    lanes: Sequence[Lane], inputs: dict[str, Path], work: Path, warmup: int, threads: int = 0
) -> list[Worker]:
    """Start every lane's worker (they load in parallel) and keep those that became ready.
    `threads`: intra-op threads of every runtime (0: each runtime's default)."""
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    options = ["--warmup", str(warmup), "--threads", str(threads)]
    workers = [
        Worker(lane, inputs[lane.role], work / f"out_{_slug(lane.key)}.npz", options, logs)
        for lane in lanes
    ]
    ready = []
    for worker in workers:
        if worker.ready():
            ready.append(worker)
            log.info("%s ready (%.0f s to load)", worker.lane.key, worker.lane.info["load_s"])
        else:
            log.warning("%s could not start: %s", worker.lane.key, worker.lane.error)
    return ready


def round_robin(workers: Sequence[Worker], indices: Sequence[int], pause_s: float) -> None:
    """Time every worker on every image: image by image, the lanes in a rotating order.

    `pause_s` between runs lets the previous runtime's thread pool stop spinning before the
    next one starts, so no run pays for another's idle threads.
    """
    alive = list(workers)
    for step, index in enumerate(tqdm(indices, desc="round robin", unit="image")):
        turn = step % len(alive) if alive else 0
        for worker in alive[turn:] + alive[:turn]:
            try:
                worker.lane.ms.append(worker.time_one(index))
            except (RuntimeError, BrokenPipeError) as exc:
                worker.lane.error = f"failed on image {index}: {exc}"
                log.warning("%s: %s", worker.lane.key, worker.lane.error)
                alive.remove(worker)
                worker.close()
            time.sleep(pause_s)
    for worker in alive:
        try:
            worker.finish()
        except (RuntimeError, BrokenPipeError) as exc:
            worker.lane.error = f"failed at the end: {exc}"
