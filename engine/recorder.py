"""Recording inspections: the images a policy asks for, and one results-store row per frame.

The batch CLI and the station window both record through `Recorder`, so a run has the same
run id format, source key, folder names and file names wherever it ran.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from engine.bundle import Bundle
from engine.imageio import write_image
from engine.overlay import render_overlay
from engine.result import InspectionResult, Verdict
from engine.review import REVIEW_DIR, ReviewError, ReviewPolicy, ReviewQueue
from engine.review_rules import review_reasons
from engine.sources import Frame
from engine.store import ResultStore, StoreError

log = logging.getLogger(__name__)

POLICIES = ("all", "ng", "none")  # which frames get an overlay / an archived original
OVERLAY_DIR = "overlays"
NG_DIR = "ng"  # originals of NG parts
ALL_DIR = "all"  # originals of OK parts, when every original is archived
REVIEW_ORIGINALS = f"{REVIEW_DIR}/images"  # originals of queued parts no policy archived
DB_NAME = "results.sqlite"


def new_run_id() -> str:
    """Sortable by start time, unique across runs started in the same second."""
    return time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


def output_name(frame_id: str, suffix: str = ".png") -> PurePosixPath:
    """Relative output path for a frame: its id made safe (no absolute or '..' parts), with
    `suffix` appended unless the id already ends with it (so a.jpg and a.png cannot collide)."""
    # Frame ids separate folders with '/'; a backslash is part of a name (e.g. a printable byte).
    parts = [p for p in PurePosixPath(frame_id).parts if p not in ("/", "..")]
    path = PurePosixPath(*parts) if parts else PurePosixPath("frame")
    if path.suffix.lower() != suffix:
        path = path.with_name(path.name + suffix)
    return path


@dataclass(frozen=True)
class Recorded:
    """What recording one frame gave: its row id, why an image could not be saved (or None),
    and the latency from `started` to the row being ready (None without `started`); for a part
    the review policy queues, why and where its original went (`Recorder.queue_for_review`)."""

    row_id: int
    error: str | None = None
    latency_ms: float | None = None
    review_reasons: tuple[str, ...] = ()
    image_path: Path | None = None


def open_store(output_dir: str | Path) -> ResultStore:
    """The store of an output folder (created if missing), held for writing by this process
    alone; raises StoreError (e.g. another station writes there) or OSError."""
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return ResultStore(folder / DB_NAME, exclusive=True)


@dataclass
class Recorder:
    """Records one run's frames into `store`, saving images under `out_dir`:
    `overlays/` the engine's overlay (policy `overlays`), `ng/` and `all/` the originals of NG
    and OK parts (policy `originals`). Originals of frames read from a file (`Frame.path`) are
    copied byte for byte, keeping their suffix; decoded video and camera frames are written as
    PNG. Every image is written under a temporary name and then renamed, so a full disk or a
    kill leaves no truncated image behind; an image never replaces another one (the same file
    name inspected again, or two sources with the same names): the new one gets a free name.
    With a `review` policy, a part it queues (engine.review_rules) keeps its original whatever
    `originals` says (under review/images/ when the policy keeps none) and is put in the
    review queue by `queue_for_review` once its result has been handed on.

    Safe to call from a worker thread: the store serialises its own access.
    """

    store: ResultStore
    out_dir: Path
    source: str  # the source key (`source_key`)
    bundle: Bundle
    run_id: str = field(default_factory=new_run_id)
    overlays: str = "ng"
    originals: str = "ng"
    overlay_mode: str = "mask"
    review: ReviewPolicy | None = None  # queue parts for review (engine.review); None: never

    def __post_init__(self) -> None:
        for name in ("overlays", "originals"):
            if getattr(self, name) not in POLICIES:
                raise ValueError(f"{name} must be one of {POLICIES}, got {getattr(self, name)!r}")
        self.out_dir = Path(self.out_dir)
        self._queue = ReviewQueue(self.store) if self.review is not None else None
        self._audit = random.Random(self.review.seed if self.review is not None else None)

    def record(
        self,
        frame: Frame,
        result: InspectionResult,
        timings: dict[str, float] | None = None,
        *,
        started: float | None = None,
        **trigger: object,
    ) -> Recorded:
        """Save the frame's images as the policies say and store its row with `timings`
        (default: the result's) plus the time spent saving (`overlay`, `archive`); `trigger`
        holds the store's trigger columns (part_id, job_id, recipe_id, trigger_time). With
        `started` (a time.perf_counter() reading: the trigger or the frame's arrival) the row
        gets the latency from then to the result ready to store.

        The row is stored even when an image could not be saved (with that error), so the
        verdict is never lost; StoreError is raised if the row cannot be stored, and then the
        images saved for it are removed (a rerun inspects the frame again and saves its own).
        """
        timings = dict(result.timings_ms if timings is None else timings)
        reasons = review_reasons(result, self.review, self._audit) if self.review else []
        overlay_path, image_path, error = self._save(frame, result, timings, bool(reasons))
        latency = _latency(started)
        try:
            row_id = self.store.add_result(
                result,
                timings_ms=timings,
                overlay_path=_str(overlay_path),
                image_path=_str(image_path),
                error=error,
                **self._common(frame.id, frame.origin, frame.timestamp),
                file_sig=frame.signature,
                latency_ms=latency,
                **trigger,
            )
        except StoreError:
            for path in (overlay_path, image_path):
                if path is not None:
                    path.unlink(missing_ok=True)
            raise
        return Recorded(row_id, error, latency, tuple(reasons), image_path)

    def queue_for_review(self, recorded: Recorded, result: InspectionResult) -> None:
        """Queue a stored part the policy chose (`recorded.review_reasons`). The station calls
        this after the part's result has gone to the line: writing its U-Net mask and heat map
        is no part of the trigger-to-result time. A part whose original could not be archived
        is not queued (a reviewer could not see it), and a queue that cannot be written never
        stops the run."""
        if not recorded.review_reasons or self._queue is None:
            return
        if recorded.image_path is None:
            log.error("result %d not queued for review: no original saved", recorded.row_id)
            return
        try:
            self._queue.add(
                recorded.row_id,
                list(recorded.review_reasons),
                image_path=recorded.image_path,
                result=result,
                folder=self.out_dir,
                bundle=self.bundle,
            )
        except (StoreError, ReviewError) as exc:
            log.error("result %d not queued for review: %s", recorded.row_id, exc)

    def record_failure(
        self,
        frame: Frame | None,
        message: str,
        origin: str | None = None,
        *,
        started: float | None = None,
        **trigger: object,
    ) -> Recorded:
        """Store a frame that could not be inspected, or (`frame` None) a failure of the source
        itself, noted under `origin` (default: the source key); `started` and `trigger` as for
        `record`."""
        if frame is None:
            common = self._common("-", origin or self.source)
        else:
            common = self._common(frame.id, frame.origin, frame.timestamp)
            common["file_sig"] = frame.signature
        latency = _latency(started)
        row_id = self.store.add_failure(error=message, **common, latency_ms=latency, **trigger)
        return Recorded(row_id, message, latency)

    def _common(
        self, frame_id: str, origin: str, frame_time: float | None = None
    ) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "source": self.source,
            "frame_id": frame_id,
            "origin": origin,
            "frame_time": frame_time,
            "bundle_name": self.bundle.name,
            "bundle_digest": self.bundle.digest,
        }

    def _save(
        self,
        frame: Frame,
        result: InspectionResult,
        timings: dict[str, float],
        for_review: bool = False,
    ) -> tuple[Path | None, Path | None, str | None]:
        """Returns (overlay path, archived original path, error); a failed write is reported,
        not raised. Only images really written get a path. A part `for_review` keeps its
        original whatever the policy (under review/images/ when the policy keeps none)."""
        is_ng = result.verdict is Verdict.NG
        overlay_path = image_path = None
        try:
            if _applies(self.overlays, is_ng):
                clock = time.perf_counter()
                target = self.out_dir / OVERLAY_DIR / output_name(frame.id)
                image = render_overlay(frame.image, result, self.overlay_mode)
                overlay_path = _write(target, image)
                _add_ms(timings, "overlay", clock)
            kept = _applies(self.originals, is_ng)
            if kept or for_review:
                clock = time.perf_counter()
                folder = (NG_DIR if is_ng else ALL_DIR) if kept else REVIEW_ORIGINALS
                image_path = self._archive(frame, folder)
                _add_ms(timings, "archive", clock)
        except OSError as exc:
            message = f"output not saved: {exc}"
            log.error("%s: %s", frame.origin, message)
            return overlay_path, image_path, message
        return overlay_path, image_path, None

    def _archive(self, frame: Frame, folder: str) -> Path:
        if frame.path is not None:
            origin = Path(frame.path)
            target = self.out_dir / folder / output_name(frame.id, origin.suffix.lower())
            return _publish(target, lambda temp: shutil.copy2(origin, temp))
        return _write(self.out_dir / folder / output_name(frame.id), frame.image)


def _latency(started: float | None) -> float | None:
    return None if started is None else (time.perf_counter() - started) * 1000


def _applies(policy: str, is_ng: bool) -> bool:
    return policy == "all" or (policy == "ng" and is_ng)


def _add_ms(timings: dict[str, float], key: str, since: float) -> None:
    """Adds to what is there: the GUI has already timed the overlay it shows."""
    timings[key] = timings.get(key, 0.0) + (time.perf_counter() - since) * 1000


def _write(path: Path, image: np.ndarray) -> Path:
    return _publish(path, lambda temp: write_image(temp, image))


def _publish(target: Path, make: Callable[[Path], object]) -> Path:
    """Have `make` write a temporary file beside `target`, then rename it to `target` or, if
    that exists, to the first free `name-2.ext`, `name-3.ext`...; returns the path written.
    A failed write removes the temporary file and raises OSError."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp{target.suffix}")
    try:
        make(temp)
        final, number = target, 1
        while not _claim(temp, final):
            number += 1
            final = target.with_name(f"{target.stem}-{number}{target.suffix}")
    finally:
        temp.unlink(missing_ok=True)
    return final


def _claim(temp: Path, final: Path) -> bool:
    """Give `temp`'s content the name `final` unless that name is taken."""
    try:  # link() fails if the name exists, so two writers cannot take the same name
        os.link(temp, final)
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links (some network shares)
        if final.exists():
            return False
        os.replace(temp, final)  # a rename: still never a half-written image
    return True


def _str(path: Path | None) -> str | None:
    return None if path is None else str(path)
