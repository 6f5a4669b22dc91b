"""The station core: the one per-part cycle that the window, `station inspect` and `station serve`
all drive.

    trigger (or next frame) -> acquire -> inspect -> decide -> record -> sinks -> events

The station owns the active recipe (its Inspector and thresholds), the run's source, the
recorder and the result sinks. Its state is the OPC 40100-1 vision state machine
(`engine.vision_states`). `run()` blocks on the calling thread until the source ends or
`stop()` / `abort()` / `halt()` is called from another thread; `trigger()`, `prepare()` and the
other controls are safe from any thread.

Trigger modes:
- continuous: free-run. A live source: the newest frame wins, replaced frames are uninspected
  parts (counted, reported). A folder or video file: every frame in order (a batch).
- software: one acquisition and one inspection per `trigger()`. On a live source the frame is
  the first to arrive after the trigger. A trigger while busy is a missed trigger: stored,
  counted and reported, never silently dropped.
- file: a watched folder; every new file is one trigger.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from engine.acquisition import LiveFeed, SourceEnded
from engine.bundle import BundleError, load_bundle
from engine.events import (
    EventHub,
    FrameAcquired,
    FrameFailed,
    FramesDropped,
    PartResult,
    RecipeChanged,
    RecipeFailed,
    ResultReady,
    RunEnded,
    RunStarted,
    SourceBack,
    SourceLost,
    StateChanged,
    Trigger,
    TriggerMissed,
)
from engine.input_limits import CannotJudge
from engine.inspector import Inspector, PreparedInput
from engine.overlay import render_overlay
from engine.prefetch import Prefetcher
from engine.providers import ProviderError
from engine.recipes import Recipe, RecipeError
from engine.recorder import Recorded, Recorder, new_run_id
from engine.result import InspectionResult, Thresholds
from engine.sources import (
    Frame,
    FrameSource,
    SourceDisconnected,
    SourceError,
    open_source,
    source_key,
)
from engine.store import ERROR, Counters, ResultStore, StoreError
from engine.text import printable
from engine.vision_states import EXECUTING, TransitionError, VisionState, VisionStateMachine

log = logging.getLogger(__name__)

WAIT_S = 0.1  # how often waiting loops look at the stop flag
LATENCIES_KEPT = 100_000  # per run, for the summary's mean and p95
RECONNECT_BACKOFF = 8  # a lost source is retried every reconnect_s, backing off to 8 times that
JOB_ENDINGS = {"Stop": "SingleExecutionToReadyStop", "Abort": "SingleExecutionToReadyAbort"}


class TriggerMode(StrEnum):
    CONTINUOUS = "continuous"
    SOFTWARE = "software"
    FILE = "file"


class Sink(Protocol):
    """Takes every finished part inside the cycle (e.g. a PLC handshake writes the result)."""

    def deliver(self, part: PartResult) -> None: ...


@dataclass(frozen=True)
class Active:
    """The prepared recipe: swapped whole between parts, so no part sees half of a switch."""

    recipe: Recipe
    inspector: Inspector
    thresholds: Thresholds


@dataclass(frozen=True)
class Display:
    """Ask the cycle to render a display overlay for each part (the window does)."""

    mode: str = "mask"
    opacity: float = 0.45


@dataclass
class RunSummary:
    run_id: str
    source: str  # the source key
    mode: str
    how: str = "done"  # done, stopped, halted, source failed
    inspected: int = 0  # parts of this run (failed frames included)
    resumed: int = 0  # frames passed over: this bundle had already inspected them
    dropped: int = 0  # live frames replaced before they could be inspected, or a camera lost
    missed: int = 0  # triggers missed during this run
    source_error: str | None = None
    skipped_files: list[str] = field(default_factory=list)
    # parts judged but not stored (a full disk, a broken store): frame_id, origin, verdict, error
    unstored: list[dict[str, str]] = field(default_factory=list)
    latencies_ms: deque = field(default_factory=lambda: deque(maxlen=LATENCIES_KEPT))
    wall_s: float = 0.0


@dataclass
class _Run:
    summary: RunSummary
    source: FrameSource
    mode: TriggerMode
    archive_dir: Path
    feed: LiveFeed | None = None
    recorder: Recorder | None = None  # for the Active it was made for
    recorder_for: Active | None = None
    jobs: int = 0
    reopened: int = 0  # times the live source came back after a drop-out
    lost_before: int = 0  # frames dropped by the sources this run had before the last reopen
    failed: set[str] = field(default_factory=set)  # frame ids with failures not yet retried
    meas_id: str | None = None  # the line's measurement id of the run's untriggered parts
    # The last part the review policy chose, queued once its result has been published.
    review_due: tuple[Recorder, Recorded, InspectionResult] | None = None


class Station:
    """See the module docstring. Results go to `store`; images to `archive_dir` (default the
    store's folder), or with `archive_per_run` to a folder per run beneath it. In continuous
    and file mode a folder or video is read `prefetch` frames ahead (decoded and preprocessed
    on a reader thread while the current part is inspected; 0: on the run's thread)."""

    def __init__(
        self,
        store: ResultStore,
        archive_dir: Path | str | None = None,
        *,
        sinks: tuple[Sink, ...] = (),
        provider: str | None = None,
        archive_per_run: bool = False,
        drop_alarm_share: float = 0.5,
        trigger_timeout_s: float = 5.0,
        name: str = "station",
        prefetch: int = 1,
    ) -> None:
        self.store = store
        self.prefetch = prefetch
        self.archive_dir = Path(archive_dir) if archive_dir else store.path.parent
        self.archive_per_run = archive_per_run
        self.sinks = list(sinks)
        self.provider = provider
        self.drop_alarm_share = drop_alarm_share
        self.trigger_timeout_s = trigger_timeout_s
        self.name = name
        self.display: Display | None = None
        self.events = EventHub()
        self._machine = VisionStateMachine(self._state_changed)
        self._cond = threading.Condition()
        self._active: Active | None = None
        self._run: _Run | None = None
        self._trigger: Trigger | None = None
        self._busy = False
        self._stop = threading.Event()
        self._end_cause: str | None = None  # Stop, Abort or Halt: how the run was asked to end
        self._paused = False
        self._steps = 0
        self._counters = store.counters()
        self.missed = len(store.missed_triggers())
        self._machine.fire("PreoperationalToInitializedAuto")

    # --- what it is doing ---------------------------------------------------------------------
    @property
    def state(self) -> VisionState:
        return self._machine.state

    @property
    def active(self) -> Active | None:
        return self._active

    @property
    def recipe(self) -> Recipe | None:
        return self._active.recipe if self._active else None

    @property
    def running(self) -> bool:
        return self._run is not None

    @property
    def taking_triggers(self) -> bool:
        """A software-trigger run is waiting and not busy: the PLC's Ready signal."""
        with self._cond:
            run = self._run
            return (
                run is not None
                and run.mode is TriggerMode.SOFTWARE
                and not self._busy
                and self._trigger is None
                and self._machine.state is VisionState.READY
            )

    @property
    def counters(self) -> Counters:
        with self._cond:
            return dataclasses.replace(self._counters)

    def subscribe(self, subscriber):
        """Add an event subscriber (see engine.events); returns the function removing it."""
        return self.events.subscribe(subscriber)

    def allowed_methods(self) -> list[str]:
        return self._machine.allowed_methods()

    # --- recipes ------------------------------------------------------------------------------
    def prepare(
        self, recipe: Recipe, requested_by: str, inspector: Inspector | None = None
    ) -> Active:
        """Load `recipe`'s bundle (or take `inspector`, already loaded for it), then make it the
        active recipe for the next part. A failed load keeps the old recipe, is stored and
        reported, and raises RecipeError."""
        old = self._active.recipe.id if self._active else None
        try:
            if self.state in (VisionState.HALTED, VisionState.ERROR, VisionState.PREOPERATIONAL):
                raise RecipeError(f"not possible in state {self.state.path}; Reset first")
            if inspector is None:
                inspector = Inspector(load_bundle(recipe.bundle), self.provider)
        except (RecipeError, BundleError, ProviderError, OSError) as exc:
            reason = str(exc)
        except Exception as exc:  # onnxruntime raises its own types for a model it cannot run
            reason = f"{recipe.bundle}: model bundle cannot be loaded ({exc})"
        else:
            reason = None
        if reason is not None:
            self._record_switch(old, recipe.id, requested_by, None, reason)
            self.events.publish(RecipeFailed(recipe.id, reason, requested_by))
            raise RecipeError(f"recipe {recipe.id!r} not prepared: {reason}") from None
        active = Active(recipe, inspector, recipe.apply_thresholds(inspector.thresholds))
        self._configure_camera(recipe, old, requested_by)
        with self._cond:
            self._active = active
        self._record_switch(old, recipe.id, requested_by, inspector.bundle.digest, None)
        if self.state is VisionState.INITIALIZED:
            self._machine.fire("InitializedToReadyRecipe")
        log.info(
            "recipe %s active (bundle %s), asked by %s", recipe.id, recipe.bundle, requested_by
        )
        self.events.publish(RecipeChanged(old, recipe.id, requested_by))
        return active

    def _configure_camera(self, recipe: Recipe, old: str | None, requested_by: str) -> None:
        """Apply the recipe's camera settings to the run's open camera (sources without settings
        ignore them); a setting the camera refuses fails the switch like a bundle that does not
        load: the old recipe and settings stay."""
        run = self._run
        if run is None or self._active is None or self._active.recipe.camera == recipe.camera:
            return
        try:
            run.source.configure(recipe.camera)
        except SourceError as exc:
            self._record_switch(old, recipe.id, requested_by, None, str(exc))
            self.events.publish(RecipeFailed(recipe.id, str(exc), requested_by))
            raise RecipeError(f"recipe {recipe.id!r} not prepared: {exc}") from None

    def unprepare(self, requested_by: str) -> None:
        """Unload the active recipe (OPC 40100 UnprepareRecipe): Ready -> Initialized, where
        no run starts until a recipe is prepared again. Refused while a run is on (Stop it
        first), and RecipeError when no recipe is prepared. Stored in `recipe_switches` with
        an empty `to_recipe`."""
        with self._cond:
            if self._run is not None:
                raise TransitionError("UnprepareRecipe is not possible while a run is on; Stop it")
            active = self._active
            if active is None:
                raise RecipeError("no recipe is prepared")
            self._machine.fire("ReadyToInitializedRecipe")  # TransitionError unless Ready
            self._active = None
        self._record_switch(active.recipe.id, "", requested_by, None, None)
        log.info("recipe %s unprepared, asked by %s", active.recipe.id, requested_by)
        self.events.publish(RecipeChanged(active.recipe.id, None, requested_by))

    def set_thresholds(self, thresholds: Thresholds) -> None:
        """Engineer's live thresholds for the active recipe; they apply from the next part."""
        with self._cond:
            if self._active is not None:
                self._active = dataclasses.replace(self._active, thresholds=thresholds)

    def _record_switch(
        self, old: str | None, new: str, by: str, digest: str | None, error: str | None
    ) -> None:
        try:
            self.store.add_recipe_switch(
                from_recipe=old, to_recipe=new, requested_by=by, bundle_digest=digest, error=error
            )
        except StoreError as exc:
            log.error("recipe switch not stored: %s", exc)

    # --- control from any thread --------------------------------------------------------------
    def trigger(
        self,
        part_id: str | None = None,
        job_id: str | None = None,
        origin: str = "software",
        meas_id: str | None = None,
    ) -> bool:
        """Ask for one part. True when taken; False when missed (busy, or not waiting for
        triggers), in which case it is stored, counted and reported. `meas_id` is the line's
        measurement id, stored with the part's row."""
        trig = Trigger(time.time(), time.perf_counter(), part_id, job_id, origin, meas_id)
        with self._cond:
            run = self._run
            if run is None or run.mode is not TriggerMode.SOFTWARE:
                reason = f"station not waiting for triggers (state {self.state.path})"
            elif self._busy or self._trigger is not None:
                reason = "station busy with the previous part"
            elif self._machine.state not in (VisionState.READY, VisionState.SINGLE_EXECUTION):
                reason = f"station not ready (state {self.state.path})"
            else:
                self._trigger = trig
                self._cond.notify_all()
                return True
        self._missed(trig, reason, run)
        return False

    def refuse_trigger(
        self,
        part_id: str | None = None,
        job_id: str | None = None,
        origin: str = "software",
        reason: str = "refused",
    ) -> None:
        """Store, count and report a trigger that a line adapter refused before it reached the
        core (e.g. a PLC raising Trigger with Enable off), so every trigger is accounted for."""
        trig = Trigger(time.time(), time.perf_counter(), part_id, job_id, origin)
        self._missed(trig, reason, self._run)

    def stop(self) -> None:
        """End the run after the current part (OPC 40100 Stop)."""
        self._request_end("Stop")

    def abort(self) -> None:
        """End the run at once; a part already inspected is still recorded (Abort)."""
        self._request_end("Abort")

    def halt(self) -> None:
        """Stop and go to Halted: no triggers are taken until Reset."""
        if self._run is None:
            self._machine.call("Halt")
            return
        self._request_end("Halt")

    def reset(self) -> None:
        """From Halted, Error or Operational back to Ready (via Preoperational and Initialized),
        the prepared recipe kept. Refused while a run is on: stop it first."""
        if self._run is not None:
            raise TransitionError("Reset is not possible while a run is on; Stop it first")
        self._machine.call("Reset")
        self._machine.fire("PreoperationalToInitializedAuto")
        if self._active is not None:
            self._machine.fire("InitializedToReadyRecipe")

    def set_paused(self, paused: bool) -> None:
        """Hold a folder or video run between parts (the window's pause)."""
        with self._cond:
            self._paused = paused
            self._cond.notify_all()

    @property
    def paused(self) -> bool:
        return self._paused

    def step(self) -> None:
        """One more part of a paused folder or video run, then stay paused."""
        with self._cond:
            self._paused = True
            self._steps += 1
            self._cond.notify_all()

    def reset_counters(self) -> None:
        self.store.reset_counters()
        with self._cond:
            self._counters = Counters(0, 0, 0, 0)

    def _request_end(self, cause: str) -> None:
        with self._cond:
            run = self._run
            if run is None:
                return
            self._end_cause = self._end_cause or cause
            self._stop.set()
            self._cond.notify_all()
        if cause != "Stop" or run.feed is not None:
            run.source.close()  # wakes a blocked camera read or a watched folder's wait

    # --- the run ------------------------------------------------------------------------------
    def run(
        self,
        source: FrameSource | str | Path,
        mode: TriggerMode | str = TriggerMode.CONTINUOUS,
        *,
        resume: bool = True,
        realtime: bool = False,
        poll_interval: float = 0.5,
        reconnect_s: float | None = None,
        stop: threading.Event | None = None,
        meas_id: str | None = None,
    ) -> RunSummary:
        """Run `source` until it ends or the run is stopped; blocks the calling thread.

        `source` is an open FrameSource (the run closes it) or a spec for `open_source`, opened
        with `resume` (pass over frames this bundle already inspected), `realtime` (a video
        played as a camera) and `poll_interval` (file mode). With `reconnect_s` a live source
        that drops out is reopened every so many seconds (state Error meanwhile) instead of
        ending the run. Setting `stop` (the caller's event) ends the run after the current part,
        as `stop()` does. `meas_id` (a line's measurement id, e.g. OPC UA StartContinuous's) is
        stored with every part of the run that has no trigger of its own. To start paused,
        call set_paused(True) first. Raises TransitionError when the state does not allow a
        run, SourceError when the source cannot be opened.
        """
        mode = TriggerMode(mode)
        active = self._active
        if active is None or self.state is not VisionState.READY:
            raise TransitionError(
                f"cannot start a run in state {self.state.path}"
                + ("; no recipe prepared" if active is None else "")
                + f"; methods allowed now: {', '.join(self.allowed_methods()) or 'none'}"
            )
        started = time.perf_counter()
        run_id = new_run_id()
        spec = source
        stop = stop if stop is not None else threading.Event()
        try:
            source = self._open(spec, mode, active, resume, realtime, poll_interval, stop)
        except SourceError as exc:  # stored too: the store is the station's log of faults
            self._log_fault(run_id, printable(str(spec)), str(exc), active)
            raise
        summary = RunSummary(run_id, source.key, mode.value)
        archive = self.archive_dir / run_id if self.archive_per_run else self.archive_dir
        run = _Run(summary, source, mode, archive, meas_id=meas_id)
        if not source.live:
            run.failed = self.store.failed_frames(source.key, active.inspector.bundle.digest)
        with self._cond:
            if self._run is not None:
                source.close()
                raise TransitionError("a run is already on; stop it first")
            self._run, self._trigger, self._busy = run, None, False
            self._stop = stop
            self._end_cause = None
        self.events.publish(RunStarted(run_id, summary.source, mode.value))
        try:
            self._execute(run, spec, realtime, reconnect_s)
        finally:
            if run.feed is not None:
                run.feed.close()
            run.source.close()
            self._retry_listed(run, getattr(source, "listed", set()))
            self._finish(run)
            summary.skipped_files = list(getattr(source, "skipped", []))
            summary.resumed = source.passed_over
            summary.wall_s = time.perf_counter() - started
        return summary

    def _open(
        self,
        spec: FrameSource | str | Path,
        mode: TriggerMode,
        active: Active,
        resume: bool,
        realtime: bool,
        poll_interval: float,
        stop: threading.Event,
    ) -> FrameSource:
        if isinstance(spec, FrameSource):
            return spec
        done: dict[str, str | None] = {}
        if resume:
            done = self.store.done_frames(source_key(spec), active.inspector.bundle.digest)
        source = open_source(
            spec,
            watch=mode is TriggerMode.FILE,
            done=done,
            exclude=[self.archive_dir],
            stop=stop,
            poll_interval=poll_interval,
            realtime=realtime,
            camera_setup=active.recipe.camera,
            software=mode is TriggerMode.SOFTWARE,
        )
        if source.passed_over:
            log.info("%s: resuming, %d frame(s) already inspected", source.key, source.passed_over)
        return source

    def _execute(self, run: _Run, spec, realtime: bool, reconnect_s: float | None) -> None:
        continuous = run.mode is not TriggerMode.SOFTWARE
        start = "ReadyToContinuousExecution"
        while True:
            if run.source.live:
                run.feed = LiveFeed(run.source)
            if continuous:
                self._machine.fire(start)
                start = "ReadyToContinuousExecutionAuto"  # resuming after the source is back
            try:
                if continuous:
                    self._continuous(run)
                else:
                    self._software(run)
                return
            except SourceError as exc:  # a camera that dropped out, or a folder gone
                if self._stop.is_set():
                    return
                if not self._source_lost(run, exc, spec, realtime, reconnect_s):
                    return

    def _source_lost(
        self, run: _Run, exc: SourceError, spec, realtime: bool, reconnect_s: float | None
    ) -> bool:
        """Report the loss; with `reconnect_s`, wait in Error until the source is back (True)
        or the run is stopped (False)."""
        message = str(exc)
        log.error("%s", message)
        run.summary.source_error = message
        self._record_failure(run, None, message)
        self._machine.fire("OperationalToErrorAuto")
        self.events.publish(SourceLost(run.summary.source, message))
        if run.feed is not None:
            run.feed.close()
            run.feed = None
        if reconnect_s is None or isinstance(spec, FrameSource):
            return False
        run.lost_before = run.summary.dropped
        delay = reconnect_s  # doubled after each failed attempt, up to RECONNECT_BACKOFF times
        while not self._stop.wait(delay):
            try:  # the same camera (a spec names it by serial), with the recipe's settings
                run.source = open_source(
                    spec,
                    realtime=realtime,
                    camera_setup=self._active.recipe.camera,
                    software=run.mode is TriggerMode.SOFTWARE,
                )
            except SourceError as again:
                delay = min(delay * 2, reconnect_s * RECONNECT_BACKOFF)
                log.warning("still lost (next try in %.2g s): %s", delay, again)
                continue
            run.summary.source_error = None
            run.reopened += 1
            self._machine.fire("ErrorToOperationalAuto")
            log.info("%s: source back", run.summary.source)
            self.events.publish(SourceBack(run.summary.source))
            return True
        return False

    def _ending(self) -> str | None:
        """How the run was asked to end: Stop, Abort or Halt (the caller's stop event: Stop)."""
        return self._end_cause or ("Stop" if self._stop.is_set() else None)

    def _finish(self, run: _Run) -> None:
        with self._cond:
            cause = self._ending()
            missed_trigger = self._trigger  # taken but never started: the run ended first
            self._run, self._trigger, self._busy = None, None, False
            self._paused, self._steps = False, 0
        if missed_trigger is not None:
            self._missed(missed_trigger, "run ended before the part was taken", run)
        state = self.state
        if cause == "Halt" and state is not VisionState.HALTED:
            self._machine.call("Halt")
        elif state in EXECUTING:
            suffix = {"Stop": "Stop", "Abort": "Abort"}.get(cause or "", "Auto")
            self._machine.fire(f"{state.value}ToReady{suffix}")
        summary = run.summary
        if summary.source_error:
            summary.how = "source failed"
        elif cause:
            summary.how = "halted" if cause == "Halt" else "stopped"
        self.events.publish(
            RunEnded(summary.run_id, summary.how, summary.inspected, summary.source_error)
        )

    # --- acquisition per mode -----------------------------------------------------------------
    def _continuous(self, run: _Run) -> None:
        file_mode = run.mode is TriggerMode.FILE
        frames = self._live_frames(run) if run.feed else self._frames_in_order(run)
        for frame, prepared, ready in frames:
            trig = None
            if file_mode:  # a new file is the trigger; its detection time is the trigger time
                clock = ready - frame.decode_ms / 1000
                trig = Trigger(frame.timestamp, clock, origin="file")
            self._publish_part(run, self._part(run, frame, trig, prepared))

    def _frames_in_order(self, run: _Run) -> Iterator[tuple[Frame, PreparedInput | None, float]]:
        """The source's frames in order, each with its model inputs when made ahead and the
        perf_counter time it was read; with `prefetch`, a reader thread decodes and preprocesses
        the next frames while this one is inspected (engine.prefetch)."""
        if not self.prefetch:
            for frame in run.source:
                ready = time.perf_counter()
                if not self._wait_turn():
                    return
                yield frame, None, ready
            return
        with Prefetcher(run.source, self._prepare_ahead, self.prefetch, "frame-prefetch") as ahead:
            for frame in ahead:
                if not self._wait_turn():
                    return
                yield frame.item, frame.extra, frame.ready

    def _prepare_ahead(self, frame: Frame) -> PreparedInput | None:
        """On the reader thread: the frame's model inputs for the recipe active now (the part
        redoes them if the recipe changes before it is inspected)."""
        active = self._active
        if frame.image is None or active is None:
            return None
        return active.inspector.prepare(frame.image)

    def _wait_turn(self) -> bool:
        """Block while paused (and no step is granted); False when the run should end."""
        with self._cond:
            while self._paused and self._steps == 0 and not self._stop.is_set():
                self._cond.wait(WAIT_S)
            if self._steps:
                self._steps -= 1
        return not self._stop.is_set()

    def _live_frames(self, run: _Run) -> Iterator[tuple[Frame, None, float]]:
        reported = 0
        while self._wait_turn():
            try:
                frame = run.feed.take(WAIT_S)
            except SourceEnded:
                return
            if frame is None:
                continue
            # Replaced frames, and those an industrial camera lost (dropped, incomplete).
            dropped = run.lost_before + run.feed.dropped + run.source.lost
            run.summary.dropped = dropped
            if dropped > reported:
                reported = dropped
                share = dropped / (dropped + run.summary.inspected + 1)
                alarm = share > self.drop_alarm_share
                if alarm:
                    log.warning("%d frames not inspected (%.0f%%)", dropped, share * 100)
                self.events.publish(FramesDropped(dropped, share, alarm))
            yield frame, None, time.perf_counter()

    def _software(self, run: _Run) -> None:
        frames = None if run.feed else iter(run.source)
        while True:
            with self._cond:
                while self._trigger is None and not self._stop.is_set():
                    if run.feed is not None and run.feed.error is not None:
                        raise run.feed.error  # the camera went while waiting for a trigger
                    self._cond.wait(WAIT_S)
                trig = self._trigger
                if trig is None:
                    return
                self._trigger, self._busy = None, True
            event = None
            try:
                self._machine.fire("ReadyToSingleExecution")
                run.jobs += 1
                frame = self._acquire(run, frames, trig)
                if frame is None:
                    return  # a finite source has no more frames; the trigger was recorded
                self.events.publish(FrameAcquired(trig, frame.id, time.time()))
                event = self._part(run, frame, trig)
            finally:
                with self._cond:
                    self._busy = False
            # The result and Ready are published once the station is free, so a trigger sent
            # on either (a PLC adapter answering the result) is taken, not missed as busy.
            self._publish_part(run, event)
            cause = self._ending() if self._stop.is_set() else None
            self._machine.fire(JOB_ENDINGS.get(cause, "SingleExecutionToReadyAuto"))

    def _acquire(self, run: _Run, frames: Iterator[Frame] | None, trig: Trigger) -> Frame | None:
        """The triggered frame: on a live source the first to arrive after the trigger; else
        the source's next one. A frame that does not come is an ERROR part of the trigger."""
        if frames is not None:
            frame = next(frames, None)
            if frame is None:
                self._missed(trig, "source has no more frames", run)
            return frame
        try:
            if run.source.fired:  # the camera exposes only when fired: the frame is this part
                try:
                    run.source.trigger()
                except SourceDisconnected:
                    raise
                except SourceError as exc:  # not ready, trigger refused: this part, not the run
                    return Frame(f"job-{run.jobs}", time.time(), run.source.name, error=str(exc))
            frame = run.feed.take(self.trigger_timeout_s, after=trig.time)
        except SourceError as exc:  # the camera dropped out: the triggered part is an ERROR
            lost = Frame(f"job-{run.jobs}", time.time(), run.source.name, error=str(exc))
            self._publish_part(run, self._part(run, lost, trig))
            raise
        except SourceEnded:
            self._missed(trig, "source has no more frames", run)
            return None
        if frame is None:
            reason = f"no frame within {self.trigger_timeout_s:g} s of the trigger"
            return Frame(f"job-{run.jobs}", time.time(), run.source.name, error=reason)
        return frame

    # --- one part -----------------------------------------------------------------------------
    def _publish_part(self, run: _Run, event: ResultReady | FrameFailed) -> None:
        """Publish a part's event, then queue it for review if the policy chose it: the line
        has its result before the review images are written."""
        self.events.publish(event)
        due, run.review_due = run.review_due, None
        if due is not None:
            recorder, recorded, result = due
            recorder.queue_for_review(recorded, result)

    def _part(
        self,
        run: _Run,
        frame: Frame,
        trig: Trigger | None,
        prepared: PreparedInput | None = None,
    ) -> ResultReady | FrameFailed:
        """Inspect, decide, record and hand one frame to the sinks; returns the event for the
        caller to publish (`prepared`: the frame's model inputs, made ahead). Nothing here ends
        the run."""
        active = self._active  # one snapshot: the whole part uses one recipe
        if run.source.live:  # live frame ids restart per opening: make them unique
            again = f"{run.reopened}-" if run.reopened else ""  # ids restart per opening
            frame.id = f"{run.summary.run_id}/{again}{frame.id}"
        if trig is not None:
            started = trig.clock
        elif run.source.live:
            started = time.perf_counter() - max(0.0, time.time() - frame.timestamp)
        else:
            started = time.perf_counter() - frame.decode_ms / 1000
        recorder = self._recorder(run, active)
        extras = {
            "recipe_id": active.recipe.id,
            "part_id": trig.part_id if trig else None,
            "job_id": trig.job_id if trig else None,
            "meas_id": trig.meas_id if trig else run.meas_id,
            "trigger_time": trig.time if trig else None,
        }
        result: InspectionResult | None = None
        overlay = None
        error = frame.error
        if frame.image is not None:
            try:
                result = active.inspector.inspect(frame.image, active.thresholds, prepared=prepared)
                if frame.decode_ms:
                    result.timings_ms = {"decode": frame.decode_ms, **result.timings_ms}
                if self.display is not None:
                    clock = time.perf_counter()
                    overlay = render_overlay(
                        frame.image, result, self.display.mode, self.display.opacity, banner=False
                    )
                    result.timings_ms["overlay"] = (time.perf_counter() - clock) * 1000
            except CannotJudge as exc:  # outside what the bundle was trained on: no verdict
                result, error = None, str(exc)
            except Exception as exc:  # a model/conversion failure is this frame's, not the run's
                log.warning("%s: inspection failed", frame.origin, exc_info=True)
                result, error = None, f"inspection failed: {exc}"
        try:
            if result is None:
                error = error or "unreadable"
                log.warning("%s: %s", frame.origin, error)
                recorded = recorder.record_failure(frame, error, started=started, **extras)
            else:
                recorded = recorder.record(frame, result, started=started, **extras)
                error = recorded.error
        except StoreError as exc:  # a full disk, a locked or broken store: report, keep inspecting
            log.error("%s: not recorded: %s", frame.origin, exc)
            error = f"not recorded ({exc})"
            recorded = Recorded(0, error, (time.perf_counter() - started) * 1000)
        verdict = result.verdict.value if result is not None else ERROR
        if recorded.review_reasons and result is not None:
            run.review_due = (recorder, recorded, result)
        summary = run.summary
        if recorded.row_id:  # counted from what was stored: nothing counted twice or unsaved
            self._count_stored(run, frame, verdict, recorded.row_id)
        else:
            summary.unstored.append(
                {"frame_id": frame.id, "origin": frame.origin, "verdict": verdict, "error": error}
            )
        with self._cond:
            counters = dataclasses.replace(self._counters)
        summary.inspected += 1
        summary.latencies_ms.append(recorded.latency_ms)
        part = PartResult(
            result_id=recorded.row_id,
            run_id=summary.run_id,
            recipe_id=active.recipe.id,
            frame=frame,
            verdict=verdict,
            result=result,
            error=error,
            trigger=trig,
            latency_ms=recorded.latency_ms,
            counters=counters,
            overlay=overlay,
            done=summary.inspected,
            expected=None if run.source.live else run.source.expected,
        )
        for sink in tuple(self.sinks):  # a sink may be removed meanwhile
            try:
                sink.deliver(part)
            except Exception:  # a broken sink is reported; the part is stored already
                log.exception("result sink %r failed on result %d", sink, part.result_id)
        return FrameFailed(part) if result is None else ResultReady(part)

    def _count_stored(self, run: _Run, frame: Frame, verdict: str, row_id: int) -> None:
        """Count a stored part; a frame that had failed before makes that failure history."""
        with self._cond:
            self._counters = _count(self._counters, verdict)
        if frame.id in run.failed:
            self._retried(run, frame.id, frame.signature, row_id)
        if verdict == ERROR:
            run.failed.add(frame.id)

    def _retried(
        self, run: _Run, frame_id: str, signature: str | None, row_id: int | None = None
    ) -> None:
        """A frame that had failed was tried again: its old failure is history, not a count."""
        try:
            counted = self.store.retry_failures(
                run.summary.source,
                frame_id,
                bundle_digest=self._active.inspector.bundle.digest,
                file_sig=signature,
                run_id=run.summary.run_id,
                before=row_id,
            )
        except StoreError as exc:
            log.error("%s: earlier failure not marked retried: %s", frame_id, exc)
            return
        run.failed.discard(frame_id)
        if counted:
            with self._cond:
                self._counters = self.store.counters()

    def _retry_listed(self, run: _Run, listed: set[str]) -> None:
        """Sub-folders that could not be listed before and could now: their failures are done."""
        for folder_id in listed & run.failed:
            self._retried(run, folder_id, None)

    def _recorder(self, run: _Run, active: Active) -> Recorder:
        if run.recorder_for is not active:
            recipe = active.recipe
            run.recorder = Recorder(
                self.store,
                run.archive_dir,
                run.summary.source,
                active.inspector.bundle,
                run.summary.run_id,
                overlays=recipe.overlays,
                originals=recipe.archive,
                overlay_mode=recipe.overlay_mode,
                review=recipe.review,
            )
            run.recorder_for = active
        return run.recorder

    def _record_failure(self, run: _Run, frame: Frame | None, message: str) -> None:
        try:
            recorded = self._recorder(run, self._active).record_failure(
                frame, message, origin=run.summary.source, recipe_id=self._active.recipe.id
            )
        except StoreError as exc:
            log.error("failure not stored: %s", exc)
            return
        if recorded.row_id:
            with self._cond:
                self._counters = _count(self._counters, ERROR)

    def _log_fault(self, run_id: str, origin: str, message: str, active: Active) -> None:
        try:
            self.store.add_failure(
                run_id=run_id,
                source=origin,
                frame_id="-",
                origin=origin,
                error=message,
                bundle_name=active.inspector.bundle.name,
                bundle_digest=active.inspector.bundle.digest,
                recipe_id=active.recipe.id,
            )
        except StoreError as exc:
            log.error("fault not stored: %s", exc)
            return
        with self._cond:
            self._counters = _count(self._counters, ERROR)

    def _missed(self, trig: Trigger, reason: str, run: _Run | None) -> None:
        log.warning("trigger missed (%s): part %s", reason, trig.part_id or "-")
        try:
            self.store.add_missed_trigger(
                origin=trig.origin,
                reason=reason,
                run_id=run.summary.run_id if run else None,
                recipe_id=self.recipe.id if self.recipe else None,
                part_id=trig.part_id,
                job_id=trig.job_id,
            )
        except StoreError as exc:
            log.error("missed trigger not stored: %s", exc)
        with self._cond:
            self.missed += 1
            missed = self.missed
            if run is not None:
                run.summary.missed += 1
        self.events.publish(TriggerMissed(trig, reason, missed))

    def _state_changed(self, old: VisionState, new: VisionState, transition: str) -> None:
        log.info("state %s -> %s (%s)", old.path, new.path, transition)
        self.events.publish(StateChanged(old, new, transition))


def _count(counters: Counters, verdict: str) -> Counters:
    return Counters(
        total=counters.total + 1,
        ok=counters.ok + (verdict == "OK"),
        ng=counters.ng + (verdict == "NG"),
        errors=counters.errors + (verdict == ERROR),
    )
