"""Inspection off the GUI thread: the GUI only receives finished results by signals.

`BundleLoader` loads a bundle and builds its onnxruntime sessions. `InspectionRun` opens a
source, inspects its frames, renders the overlay and records each result, then finishes:

- live sources (camera, video standing in for one): a reader thread keeps only the latest
  frame; a frame replaced before the inspector took it is dropped and counted;
- folders and image files: every frame, in order, with progress, pause, single-step and cancel.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from PySide6.QtCore import Qt, QThread, Signal
from PySide6.QtGui import QImage

from engine.bundle import BundleError, load_bundle
from engine.inspector import Inspector
from engine.overlay import render_overlay
from engine.providers import ProviderError
from engine.recorder import Recorder
from engine.result import InspectionResult, Thresholds
from engine.sources import Frame, FrameSource, SourceError, open_source
from gui.image_view import bgr_to_qimage

log = logging.getLogger(__name__)

THUMBNAIL_PX = 96
POLL_S = 0.05  # how often waiting loops look at the stop flag
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
class ViewSettings:
    """What the worker needs from the GUI's controls, read under a lock for every frame."""

    thresholds: Thresholds | None = None
    overlay_mode: str = "mask"
    opacity: float = 0.45
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def update(self, **changes: object) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(self, name, value)

    def snapshot(self) -> tuple[Thresholds | None, str, float]:
        with self._lock:
            return self.thresholds, self.overlay_mode, self.opacity


@dataclass
class Inspected:
    """One finished inspection, as the GUI shows it and keeps it in the history."""

    frame: Frame
    result: InspectionResult
    overlay: QImage
    thumbnail: QImage
    latency_ms: float
    finished_at: float = field(default_factory=time.time)

    @property
    def verdict(self) -> str:
        return self.result.verdict.value


class BundleLoader(QThread):
    """Loads a bundle (hashing every file) and creates its sessions, which can take seconds."""

    loaded = Signal(object, object)  # this loader, Inspector
    failed = Signal(object, str)  # this loader, message

    def __init__(self, path: str, provider: str | None = None) -> None:
        super().__init__()
        self.path, self.provider = path, provider

    def run(self) -> None:
        yield_cpu_to_gui()
        try:
            self.loaded.emit(self, Inspector(load_bundle(self.path), self.provider))
        except (BundleError, ProviderError, OSError) as exc:
            self.failed.emit(self, str(exc))
        except Exception as exc:  # onnxruntime raises its own types for a model it cannot run
            log.exception("bundle %s failed to load", self.path)
            self.failed.emit(self, f"{self.path}: model cannot be loaded ({exc})")


class SourceEnded(Exception):
    """The live source has no more frames (a video file at its end)."""


class LatestFrame:
    """A one-frame mailbox: put() replaces what was not taken yet and counts it as dropped."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._ended = False
        self._error: Exception | None = None
        self.dropped = 0

    def put(self, frame: Frame) -> None:
        with self._cond:
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self._cond.notify()

    def end(self, error: Exception | None = None) -> None:
        with self._cond:
            self._ended, self._error = True, error
            self._cond.notify()

    def take(self, timeout: float) -> Frame | None:
        """The latest frame, or None after `timeout`. Once the reader has ended and the last
        frame was taken: raises the reader's error, or SourceEnded."""
        with self._cond:
            if self._frame is None and not self._ended:
                self._cond.wait(timeout)
            frame, self._frame = self._frame, None
            if frame is None and self._ended:
                if self._error is not None:
                    raise self._error
                raise SourceEnded
            return frame


class InspectionRun(QThread):
    """Runs one source through the inspector until it ends, fails or is stopped."""

    inspected = Signal(object)  # Inspected
    frame_failed = Signal(str, str)  # origin, reason: a corrupt file; the run goes on
    source_failed = Signal(str)  # the source could not be opened or disconnected
    progress = Signal(int, int)  # frames done, frames expected (0: unknown)
    dropped = Signal(int)  # stale live frames dropped so far

    def __init__(
        self,
        inspector: Inspector,
        spec: str,
        view: ViewSettings,
        *,
        live: bool,
        recorder: Recorder | None = None,
        realtime: bool = False,
        start_paused: bool = False,
        open_source_fn: Callable[[str], FrameSource] = open_source,
    ) -> None:
        super().__init__()
        self.inspector, self.spec, self.view, self.live = inspector, spec, view, live
        self.recorder = recorder
        self.realtime = realtime
        self._open = open_source_fn
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._paused = start_paused
        self._steps = 0
        self._source: FrameSource | None = None
        self.done = 0

    # --- control, called from the GUI thread -------------------------------------------------
    def stop(self) -> None:
        """Ask the run to end; closing the source wakes a reader blocked on a camera."""
        self._stop.set()
        source = self._source
        if source is not None:
            source.close()
        with self._cond:
            self._cond.notify_all()

    @property
    def paused(self) -> bool:
        return self._paused

    def set_paused(self, paused: bool) -> None:
        with self._cond:
            self._paused = paused
            self._cond.notify_all()

    def step(self) -> None:
        """Inspect one more frame, then stay paused."""
        with self._cond:
            self._paused = True
            self._steps += 1
            self._cond.notify_all()

    # --- the worker thread -------------------------------------------------------------------
    def run(self) -> None:
        yield_cpu_to_gui()
        try:
            self._source = self._open(self.spec)
        except SourceError as exc:
            self._fail_source(str(exc))
            return
        try:
            if self._stop.is_set():
                return
            frames = self._live_frames() if self.live else self._all_frames()
            for frame in frames:
                self._process(frame)
        except SourceError as exc:  # includes SourceDisconnected
            if not self._stop.is_set():
                self._fail_source(str(exc))
        finally:
            self._source.close()

    def _fail_source(self, message: str) -> None:
        log.error("source failed: %s", message)
        self._record_failure(None, message)
        self.source_failed.emit(message)

    def _record_failure(self, frame: Frame | None, reason: str) -> None:
        """Store a failed frame, or (`frame` None) the failure of the source itself."""
        if self.recorder is None:
            return
        origin = frame.origin if frame else self.spec
        try:
            self.recorder.record_failure(frame, reason, origin=origin)
        except Exception:  # the store failing too must not end the run; the log has it
            log.exception("could not record the failure of %s", origin)

    def _wait_turn(self) -> bool:
        """Block while paused (and no step is granted); False when the run should end."""
        with self._cond:
            while self._paused and self._steps == 0 and not self._stop.is_set():
                self._cond.wait(POLL_S * 4)
            if self._steps:
                self._steps -= 1
        return not self._stop.is_set()

    def _all_frames(self) -> Iterator[Frame]:
        expected = self._source.expected or 0
        self.progress.emit(0, expected)
        for frame in self._source:
            if not self._wait_turn():
                return
            yield frame
            self.progress.emit(self.done, max(expected, self.done))

    def _live_frames(self) -> Iterator[Frame]:
        mailbox = LatestFrame()
        reader_done = threading.Event()
        reader = threading.Thread(
            target=self._read_live, args=(mailbox, reader_done), name="frame-reader"
        )
        reader.start()
        try:
            while self._wait_turn():  # a granted step is used by exactly one frame
                frame = None
                while frame is None:
                    if self._stop.is_set():
                        return
                    try:
                        frame = mailbox.take(POLL_S)
                    except SourceEnded:
                        return
                self.dropped.emit(mailbox.dropped)
                yield frame
        finally:
            reader_done.set()
            self._source.close()  # wakes a reader blocked on the camera
            reader.join()

    def _read_live(self, mailbox: LatestFrame, done: threading.Event) -> None:
        """Reader thread: pull frames as they come. With `realtime` (a video file standing in
        for a camera) each frame is delivered at its presentation time, as a camera would."""
        yield_cpu_to_gui()
        first: tuple[float, float] | None = None  # (video time, clock) of the first frame
        try:
            for frame in self._source:
                if self.realtime:
                    first = first or (frame.timestamp, time.perf_counter())
                    due = first[1] + frame.timestamp - first[0]
                    done.wait(max(0.0, due - time.perf_counter()))
                if done.is_set() or self._stop.is_set():
                    break
                frame.timestamp = time.time()  # arrival (wall) time: stored, and latency's start
                mailbox.put(frame)
        except SourceError as exc:
            mailbox.end(exc)
            return
        mailbox.end()

    def _frame_failed(self, frame: Frame, reason: str) -> None:
        log.warning("frame failed: %s: %s", frame.origin, reason)
        self._record_failure(frame, reason)
        self.frame_failed.emit(frame.origin, f"{frame.origin}: {reason}")

    def _process(self, frame: Frame) -> None:
        started = frame.timestamp if self.live else time.time() - frame.decode_ms / 1000
        self.done += 1
        if frame.image is None:
            self._frame_failed(frame, frame.error or "unreadable")
            return
        thresholds, mode, opacity = self.view.snapshot()
        try:
            result = self.inspector.inspect(frame.image, thresholds)
            if frame.decode_ms:
                result.timings_ms = {"decode": frame.decode_ms, **result.timings_ms}
            clock = time.perf_counter()
            overlay = render_overlay(frame.image, result, mode, opacity, banner=False)
            result.timings_ms["overlay"] = (time.perf_counter() - clock) * 1000
        except Exception as exc:  # one bad frame (odd shape, runtime error) must not end the run
            log.exception("inspection of %s failed", frame.origin)
            self._frame_failed(frame, f"inspection failed ({exc})")
            return
        if self.recorder:
            try:
                error = self.recorder.record(frame, result)
            except Exception as exc:  # a locked or broken store: show it, keep inspecting
                log.exception("recording %s failed", frame.origin)
                error = f"not recorded ({exc})"
            if error:  # e.g. a full disk: the row is stored, the images are not
                self.frame_failed.emit(frame.origin, f"{frame.origin}: {error}")
        image = bgr_to_qimage(overlay)
        thumb = image.scaled(
            THUMBNAIL_PX,
            THUMBNAIL_PX,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        latency = (time.time() - started) * 1000
        self.inspected.emit(Inspected(frame, result, image, thumb, latency))
