"""Batch inspection of a source (folder, video, image or camera) into an output folder.

Used by the `station-inspect` CLI. It drives the station core (`engine.station`) like the window
and the service do, with a recipe made from the command line: every frame is inspected and
recorded (overlays, an archive of NG originals, a results-store row for every result and every
failure). A frame this bundle already inspected for the same source is passed over, so a run
that was killed resumes where it stopped without inspecting any image twice; another bundle on
the same output folder inspects the source anew, and each bundle's summary counts its own rows.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.events import FrameFailed, ResultReady
from engine.inspector import Inspector
from engine.recipes import Recipe
from engine.recorder import open_store
from engine.sources import FrameSource
from engine.station import RunSummary, Station, TriggerMode
from engine.store import ERROR, ResultStore

log = logging.getLogger(__name__)


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
    precisions: dict[str, str]  # what each model ran: fp32, int8 (engine.variants)
    inspected: int  # frames handled by this run, failures included
    resumed: int  # frames skipped because an earlier run stored them
    total: int
    ok: int
    ng: int
    errors: int  # frames that could not be inspected
    dropped: int = 0  # live frames replaced by newer ones before they could be inspected
    ng_ids: list[str] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)  # frame_id, origin, error
    skipped_files: list[str] = field(default_factory=list)  # non-image files in the folder
    # judged by this run but not stored (a full disk): frame_id, origin, verdict, error
    not_stored: list[dict[str, str]] = field(default_factory=list)
    mean_ms: float | None = None
    p95_ms: float | None = None
    wall_s: float = 0.0
    cancelled: bool = False
    source_error: str | None = None  # e.g. the camera dropped out

    @property
    def failed(self) -> bool:
        """True when any input could not be inspected or any output could not be saved."""
        return bool(self.failures or self.source_error or self.not_stored)


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
    realtime: bool = False,
    progress: Callable[[BatchProgress], None] | None = None,
    cancel: threading.Event | None = None,
    prefetch: int = 1,
) -> BatchSummary:
    """Inspect every frame of `source` that this bundle has not inspected yet; a summary.

    `source` is a spec for `open_source` or an open FrameSource (which the run closes). The run
    is the station core's continuous mode (file-arrival mode with `watch`). Overlays go to
    OUT/overlays (policy `overlays`: all, ng or none), NG originals to OUT/ng, results to
    `store` (default OUT/results.sqlite). Setting `cancel` stops after the current frame (and
    wakes a watched folder). `prefetch` frames are decoded and preprocessed ahead on a reader
    thread while the current one is inspected (0: none; engine.prefetch). Raises SourceError
    if the source cannot be opened, StoreError if the database cannot be written; a bad frame
    is recorded and the run goes on.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    own_store = store is None
    store = store or open_store(out_dir)
    cancel = cancel or threading.Event()
    bundle = inspector.bundle
    recipe = Recipe(
        id=bundle.name,
        bundle=str(bundle.source),
        overlays=overlays,
        archive="ng" if archive_ng else "none",
        overlay_mode=overlay_mode,
    )
    try:
        station = Station(store, out_dir, prefetch=prefetch)
        station.prepare(recipe, "station inspect", inspector)
        if progress is not None:
            station.subscribe(functools.partial(_report, progress))
        mode = TriggerMode.FILE if watch else TriggerMode.CONTINUOUS
        run = station.run(source, mode, poll_interval=poll_interval, realtime=realtime, stop=cancel)
        summary = _summary(station, run, inspector)
        summary.cancelled = cancel.is_set()
        return summary
    finally:
        if own_store:
            store.close()


def _report(progress: Callable[[BatchProgress], None], event: object) -> None:
    if isinstance(event, ResultReady | FrameFailed):
        part = event.part
        progress(
            BatchProgress(
                part.done, part.expected, part.frame.id, part.verdict, part.error, part.latency_ms
            )
        )


def _summary(station: Station, run: RunSummary, inspector: Inspector) -> BatchSummary:
    """Counts over every stored frame of the source by this bundle (earlier runs included, so a
    resumed run reports the whole folder; failures retried since are left out); latencies over
    this run."""
    digest = inspector.bundle.digest
    records = [
        r
        for r in station.store.records(source=run.source)
        if r.bundle_digest == digest and r.retried_in is None
    ]
    latencies = np.array(run.latencies_ms, dtype=float)
    return BatchSummary(
        run_id=run.run_id,
        source=run.source,
        out_dir=str(station.archive_dir),
        bundle_name=inspector.bundle.name,
        bundle_digest=digest,
        providers=inspector.providers,
        precisions=inspector.precisions,
        inspected=run.inspected,
        resumed=run.resumed,
        total=len(records),
        ok=sum(r.verdict == "OK" for r in records),
        ng=sum(r.verdict == "NG" for r in records),
        errors=sum(r.verdict == ERROR for r in records),
        dropped=run.dropped,
        ng_ids=[r.frame_id for r in records if r.verdict == "NG"],
        failures=[
            {"frame_id": r.frame_id, "origin": r.origin, "error": r.error}
            for r in records
            if r.error
        ],
        skipped_files=run.skipped_files,
        not_stored=run.unstored,
        mean_ms=float(latencies.mean()) if latencies.size else None,
        p95_ms=float(np.percentile(latencies, 95)) if latencies.size else None,
        wall_s=run.wall_s,
        source_error=run.source_error,
    )
