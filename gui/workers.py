"""Inspection off the GUI thread: the GUI only receives finished results by signals.

`RecipeLoader` prepares a recipe (loads its bundle) on the station core. `StationRun` runs the
station core's cycle (`engine.station`, the same one `station inspect` and `station serve`
drive) on a QThread, and `StationBridge` turns the core's events into Qt signals. Nothing here
inspects, decides or records: the core does.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Qt, QThread, Signal
from PySide6.QtGui import QImage

from engine.events import (
    FrameFailed,
    FramesDropped,
    PartResult,
    RecipeChanged,
    RecipeFailed,
    ResultReady,
    RunEnded,
    SourceBack,
    SourceLost,
    StateChanged,
    TriggerMissed,
)
from engine.recipes import Recipe, RecipeError
from engine.result import InspectionResult
from engine.sources import Frame, FrameSource, SourceError
from engine.station import Station, TriggerMode
from engine.store import StoreError
from engine.vision_states import TransitionError
from gui.image_view import bgr_to_qimage

log = logging.getLogger(__name__)

THUMBNAIL_PX = 96
WORKER_NICENESS = 5  # how much less CPU priority inspection gets than the GUI thread


def yield_cpu_to_gui() -> None:
    """Lower the calling thread's CPU priority (Linux: niceness is per thread).

    On a busy CPU the GUI thread then wins, and onnxruntime's pool threads, created by the
    loader thread, inherit the lower priority. Elsewhere a no-op: the OS schedules as it does.
    """
    if not sys.platform.startswith("linux"):
        return
    tid = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(current + WORKER_NICENESS, 19))
    except OSError as exc:
        log.debug("thread priority unchanged: %s", exc)


@dataclass
class Inspected:
    """One finished inspection, as the GUI shows it and keeps it in the history."""

    frame: Frame
    result: InspectionResult
    overlay: QImage
    thumbnail: QImage
    latency_ms: float
    finished_at: float = field(default_factory=time.time)
    result_id: int | None = None  # the store's row (what a flag for review names)

    @property
    def verdict(self) -> str:
        return self.result.verdict.value


def to_inspected(part: PartResult) -> Inspected:
    """What the window shows of an inspected part: its overlay (rendered by the core) and a
    history thumbnail."""
    image = bgr_to_qimage(part.overlay)
    thumb = image.scaled(
        THUMBNAIL_PX,
        THUMBNAIL_PX,
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )
    return Inspected(
        part.frame, part.result, image, thumb, part.latency_ms, result_id=part.result_id
    )


class RecipeLoader(QThread):
    """Prepares a recipe on the station core: its bundle loads (every file hashed, sessions
    built: seconds) off the GUI thread; the core records the switch, done or failed."""

    done = Signal(object, object, str)  # this loader, the Active recipe or None, error message

    def __init__(self, station: Station, recipe: Recipe, requested_by: str = "window") -> None:
        super().__init__()
        self.station, self.recipe, self.requested_by = station, recipe, requested_by
        # The provider asked for as this load began: the station's may change while it runs.
        self.provider = station.provider

    def run(self) -> None:
        yield_cpu_to_gui()
        try:
            active = self.station.prepare(self.recipe, self.requested_by)
        except RecipeError as exc:
            self.done.emit(self, None, str(exc))
            return
        self.done.emit(self, active, "")


class StationRun(QThread):
    """Runs `Station.run` off the GUI thread; the station's events arrive via `StationBridge`."""

    cannot_start = Signal(str)  # the source could not be opened, or the state forbids a run

    def __init__(self, station: Station, source: str | FrameSource, mode: TriggerMode, **options):
        super().__init__()
        self.station, self.source, self.mode, self.options = station, source, mode, options

    def run(self) -> None:
        yield_cpu_to_gui()
        try:
            self.station.run(self.source, self.mode, **self.options)
        except (SourceError, TransitionError, StoreError) as exc:
            self.cannot_start.emit(str(exc))


class StationBridge(QObject):
    """Re-emits the station's events as Qt signals, which Qt queues into the GUI thread."""

    part_done = Signal(object)  # PartResult, inspected
    part_failed = Signal(object)  # PartResult, not inspected (stored as ERROR)
    source_lost = Signal(str)
    source_back = Signal(str)
    trigger_missed = Signal(object)  # TriggerMissed
    dropped = Signal(object)  # FramesDropped
    state_changed = Signal(str)  # the new state's path, e.g. "Operational/Ready"
    recipe_changed = Signal(object)  # RecipeChanged or RecipeFailed
    run_ended = Signal(object)  # RunEnded

    def __init__(self, station: Station) -> None:
        super().__init__()
        self.unsubscribe = station.subscribe(self._emit)

    def _emit(self, event: object) -> None:
        match event:
            case ResultReady(part=part):
                self.part_done.emit(part)
            case FrameFailed(part=part):
                self.part_failed.emit(part)
            case SourceLost(source=source, reason=reason):
                self.source_lost.emit(f"{source}: {reason}" if source not in reason else reason)
            case SourceBack(source=source):
                self.source_back.emit(source)
            case TriggerMissed():
                self.trigger_missed.emit(event)
            case FramesDropped():
                self.dropped.emit(event)
            case StateChanged(new=state):
                self.state_changed.emit(state.path)
            case RecipeChanged() | RecipeFailed():
                self.recipe_changed.emit(event)
            case RunEnded():
                self.run_ended.emit(event)
