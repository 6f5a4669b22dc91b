"""Batch inspection of a source (folder, video, image or camera) into an output folder.

Used by the `station-inspect` CLI: it inspects every frame and records it through
`engine.recorder` (overlays, an archive of NG originals, a results-store row for every result
and every failure). A frame already in the store for the same source is skipped, so a run that was
killed resumes where it stopped without inspecting any image twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.inspector import Inspector
from engine.recorder import Recorder, open_store, source_key
from engine.sources import (
    CameraSource,
    FolderSource,
    Frame,
    FrameSource,
    ImageFileSource,
    SourceDisconnected,
    open_source,
)
from engine.store import ERROR, ResultStore

log = logging.getLogger(__name__)


class BatchError(Exception):
    """The batch run cannot start (e.g. the output folder holds another bundle's results)."""


@dataclass
class BatchProgress:
    """Reported after each frame. `total` is None when unknown (camera, watched folder)."""

    done: int
    total: int | None
    frame_id: str
    verdict: str
    error: str | None
    latency_ms: float | None


@dataclass
class BatchSummary:
    """Counts, NG list and failures cover every stored frame of the source (earlier runs
    included, so a resumed run reports the whole folder); latencies cover this run."""

    run_id: str
    source: str
    out_dir: str
    bundle_name: str
    bundle_digest: str
    providers: dict[str, list[str]]
    inspected: int  # frames handled by this run, failures included
    resumed: int  # frames skipped because an earlier run stored them
    total: int
    ok: int
    ng: int
    errors: int  # frames that could not be inspected
    ng_ids: list[str] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)  # frame_id, origin, error
    skipped_files: list[str] = field(default_factory=list)  # non-image files in the folder
    mean_ms: float | None = None
    p95_ms: float | None = None
    wall_s: float = 0.0
    cancelled: bool = False
    source_error: str | None = None  # e.g. the camera dropped out

    @property
    def failed(self) -> bool:
        """True when any input could not be inspected or any output could not be saved."""
        return bool(self.failures or self.source_error)


def run_batch(
    inspector: Inspector,
    source: str | Path | FrameSource,
    out_dir: str | Path,
    *,
    overlays: str = "ng",
    overlay_mode: str = "mask",
    archive_ng: bool = True,
    store: ResultStore | None = None,
    watch: bool = False,
    poll_interval: float = 0.5,
    progress: Callable[[BatchProgress], None] | None = None,
    cancel: threading.Event | None = None,
) -> BatchSummary:
    """Inspect every frame of `source` not yet in the store and return a summary.

    `source` is a spec for `open_source` or an open FrameSource (which the run closes).

    Overlays go to OUT/overlays (policy `overlays`: all, ng or none), NG originals to OUT/ng,
    results to `store` (default OUT/results.sqlite). Setting `cancel` stops after the current
    frame (and wakes a watched folder). Raises SourceError if the source cannot be opened,
    BatchError if OUT holds results of another bundle for this source, StoreError if the
    database cannot be written; a bad frame is recorded and the run goes on.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    own_store = store is None
    store = store or open_store(out_dir)
    try:
        recorder = Recorder(
            store,
            out_dir,
            source_key(source),
            inspector.bundle,
            overlays=overlays,
            originals="ng" if archive_ng else "none",
            overlay_mode=overlay_mode,
        )
        run = _Run(inspector, recorder)
        return run.execute(source, watch, poll_interval, progress, cancel or threading.Event())
    finally:
        if own_store:
            store.close()


class _Run:
    """State of one batch run; split out of run_batch to keep each step small."""

    def __init__(self, inspector: Inspector, recorder: Recorder) -> None:
        self.inspector = inspector
        self.bundle = inspector.bundle
        self.recorder = recorder
        self.key = recorder.source
        self.out_dir = recorder.out_dir
        self.store = recorder.store
        self.run_id = recorder.run_id
        self.latencies: list[float] = []

    def execute(
        self,
        spec: str | Path | FrameSource,
        watch: bool,
        poll_interval: float,
        progress: Callable[[BatchProgress], None] | None,
        cancel: threading.Event,
    ) -> BatchSummary:
        others = self.store.bundle_digests(self.key) - {self.bundle.digest}
        if others:
            raise BatchError(
                f"{self.out_dir}: holds results of {self.key} from another bundle "
                f"(digest {sorted(others)[0][:12]}); use a new output folder"
            )
        done = self.store.done_frame_ids(self.key)
        started = time.perf_counter()
        if isinstance(spec, FrameSource):
            source = spec
        else:
            source = open_source(
                spec,
                watch,
                skip_ids=done,
                exclude=[self.out_dir],
                stop=cancel,
                poll_interval=poll_interval,
            )
        live = isinstance(source, CameraSource)
        # archive originals of files byte for byte; decoded video/camera frames as PNG
        self.recorder.copy_files = isinstance(source, FolderSource | ImageFileSource)
        total = source.expected
        if done and not live:
            log.info("%s: resuming, %d frame(s) already inspected", self.key, len(done))
        inspected, source_error = 0, None
        with source:
            try:
                for frame in source:
                    if cancel.is_set():
                        break
                    if frame.id in done and not live:  # only for a source opened by the caller
                        continue
                    if live:  # camera ids restart at 0 on each opening: make them unique
                        frame.id = f"{self.run_id}/{frame.id}"
                    verdict, error, latency = self._handle(frame)
                    inspected += 1
                    if progress:
                        progress(BatchProgress(inspected, total, frame.id, verdict, error, latency))
            except SourceDisconnected as exc:
                log.error("%s", exc)
                source_error = str(exc)
        summary = self._summary(inspected, 0 if live else len(done), source_error)
        summary.skipped_files = list(getattr(source, "skipped", []))
        summary.cancelled = cancel.is_set()
        summary.wall_s = time.perf_counter() - started
        return summary

    def _handle(self, frame: Frame) -> tuple[str, str | None, float | None]:
        """Inspect and record one frame; returns (verdict, error, latency in ms)."""
        if frame.error is not None:
            log.warning("%s: %s", frame.origin, frame.error)
            self.recorder.record_failure(frame, frame.error)
            return ERROR, frame.error, None
        try:
            result = self.inspector.inspect(frame.image)
        except Exception as exc:  # any model/conversion failure is this frame's, not the run's
            message = f"inspection failed: {exc}"
            log.warning("%s: %s", frame.origin, message)
            self.recorder.record_failure(frame, message)
            return ERROR, message, None
        timings = {"decode": frame.decode_ms, **result.timings_ms}
        clock = time.perf_counter()
        error = self.recorder.record(frame, result, timings)
        latency = sum(timings.values()) + (time.perf_counter() - clock) * 1000
        self.latencies.append(latency)
        return result.verdict.value, error, latency

    def _summary(self, inspected: int, resumed: int, source_error: str | None) -> BatchSummary:
        records = self.store.records(source=self.key)
        latencies = np.array(self.latencies)
        return BatchSummary(
            run_id=self.run_id,
            source=self.key,
            out_dir=str(self.out_dir),
            bundle_name=self.bundle.name,
            bundle_digest=self.bundle.digest,
            providers=self.inspector.providers,
            inspected=inspected,
            resumed=resumed,
            total=len(records),
            ok=sum(r.verdict == "OK" for r in records),
            ng=sum(r.verdict == "NG" for r in records),
            errors=sum(r.verdict == ERROR for r in records),
            ng_ids=[r.frame_id for r in records if r.verdict == "NG"],
            failures=[
                {"frame_id": r.frame_id, "origin": r.origin, "error": r.error}
                for r in records
                if r.error
            ],
            mean_ms=float(latencies.mean()) if latencies.size else None,
            p95_ms=float(np.percentile(latencies, 95)) if latencies.size else None,
            source_error=source_error,
        )
