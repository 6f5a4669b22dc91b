"""Batch inspection of a source (folder, video, image or camera) into an output folder.

Used by the `station-inspect` CLI and the GUI's batch view: it inspects every frame, saves
overlays and an archive of NG originals, and records every result and every failure in the
results store. A frame already in the store for the same source is skipped, so a run that was
killed resumes where it stopped without inspecting any image twice.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from engine.imageio import write_image
from engine.inspector import Inspector
from engine.overlay import render_overlay
from engine.result import InspectionResult, Verdict
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

OVERLAY_POLICIES = ("all", "ng", "none")
OVERLAY_DIR = "overlays"
NG_DIR = "ng"
DB_NAME = "results.sqlite"


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


def source_key(spec: str | Path | FrameSource) -> str:
    """How a source is named in the store: the absolute path of files, the spec of cameras."""
    if isinstance(spec, CameraSource):
        return spec.name
    text = spec.name if isinstance(spec, FrameSource) else str(spec)
    if text.isdigit() or "://" in text:
        return text
    return str(Path(text).resolve())


def output_name(frame_id: str, suffix: str = ".png") -> PurePosixPath:
    """Relative output path for a frame: its id made safe (no absolute or '..' parts), with
    `suffix` appended unless the id already ends with it (so a.jpg and a.png cannot collide)."""
    parts = [p for p in PurePosixPath(frame_id.replace("\\", "/")).parts if p not in ("/", "..")]
    path = PurePosixPath(*parts) if parts else PurePosixPath("frame")
    if path.suffix.lower() != suffix:
        path = path.with_name(path.name + suffix)
    return path


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
    if overlays not in OVERLAY_POLICIES:
        raise ValueError(f"overlays must be one of {OVERLAY_POLICIES}, got {overlays!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    own_store = store is None
    store = store or ResultStore(out_dir / DB_NAME)
    try:
        run = _Run(
            inspector, source_key(source), out_dir, store, overlays, overlay_mode, archive_ng
        )
        return run.execute(source, watch, poll_interval, progress, cancel or threading.Event())
    finally:
        if own_store:
            store.close()


class _Run:
    """State of one batch run; split out of run_batch to keep each step small."""

    def __init__(
        self,
        inspector: Inspector,
        key: str,
        out_dir: Path,
        store: ResultStore,
        overlays: str,
        overlay_mode: str,
        archive_ng: bool,
    ) -> None:
        self.inspector = inspector
        self.bundle = inspector.bundle
        self.key = key
        self.out_dir = out_dir
        self.store = store
        self.overlays = overlays
        self.overlay_mode = overlay_mode
        self.archive_ng = archive_ng
        self.run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self.latencies: list[float] = []
        self.copy_originals = False  # NG archive: copy files as they are, or write frames

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
        self.copy_originals = isinstance(source, FolderSource | ImageFileSource)
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
        common = {"run_id": self.run_id, "source": self.key, "frame_id": frame.id}
        common |= {"origin": frame.origin, "frame_time": frame.timestamp}
        common |= {"bundle_name": self.bundle.name, "bundle_digest": self.bundle.digest}
        if frame.error is not None:
            log.warning("%s: %s", frame.origin, frame.error)
            self.store.add_failure(error=frame.error, **common)
            return ERROR, frame.error, None
        try:
            result = self.inspector.inspect(frame.image)
        except Exception as exc:  # any model/conversion failure is this frame's, not the run's
            message = f"inspection failed: {exc}"
            log.warning("%s: %s", frame.origin, message)
            self.store.add_failure(error=message, **common)
            return ERROR, message, None
        timings = {"decode": frame.decode_ms, **result.timings_ms}
        overlay_path, image_path, error = self._save_outputs(frame, result, timings)
        clock = time.perf_counter()
        self.store.add_result(
            result,
            timings_ms=timings,
            overlay_path=overlay_path,
            image_path=image_path,
            error=error,
            **common,
        )
        latency = sum(timings.values()) + (time.perf_counter() - clock) * 1000
        self.latencies.append(latency)
        return result.verdict.value, error, latency

    def _save_outputs(
        self, frame: Frame, result: InspectionResult, timings: dict[str, float]
    ) -> tuple[str | None, str | None, str | None]:
        """Write the overlay and the NG archive copy as the policy says; adds their timings.
        Returns (overlay path, archived image path, error); a failed write is reported, not
        raised, so the verdict is still stored."""
        is_ng = result.verdict is Verdict.NG
        overlay_path = image_path = None
        try:
            if self.overlays == "all" or (self.overlays == "ng" and is_ng):
                clock = time.perf_counter()
                overlay = render_overlay(frame.image, result, self.overlay_mode)
                overlay_path = self.out_dir / OVERLAY_DIR / output_name(frame.id)
                _write(overlay_path, overlay)
                timings["overlay"] = (time.perf_counter() - clock) * 1000
            if self.archive_ng and is_ng:
                clock = time.perf_counter()
                image_path = self._archive(frame)
                timings["archive"] = (time.perf_counter() - clock) * 1000
        except OSError as exc:
            message = f"output not saved: {exc}"
            log.error("%s: %s", frame.origin, message)
            return _str(overlay_path), _str(image_path), message
        return _str(overlay_path), _str(image_path), None

    def _archive(self, frame: Frame) -> Path:
        """Copy an NG original byte for byte (or write a decoded video/camera frame as PNG)."""
        if self.copy_originals:
            origin = Path(frame.origin)
            target = self.out_dir / NG_DIR / output_name(frame.id, origin.suffix.lower())
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target)
            return target
        target = self.out_dir / NG_DIR / output_name(frame.id)
        _write(target, frame.image)
        return target

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


def _write(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(path, image)


def _str(path: Path | None) -> str | None:
    return None if path is None else str(path)
