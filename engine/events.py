"""What the station core reports, and the hub that hands it to subscribers.

Subscribers are plain callables taking one event. They are called on the thread where the event
happened (the station's cycle thread, or the thread that sent a trigger), so they must be quick
and thread-safe: the window re-emits each event as a Qt signal, a line adapter queues it. A
subscriber that raises is logged and the cycle goes on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from engine.result import InspectionResult
from engine.sources import Frame
from engine.store import Counters
from engine.vision_states import VisionState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Trigger:
    """A request for one acquisition and inspection. `time` is wall-clock seconds (stored);
    `clock` is time.perf_counter() at arrival (latency is measured from it)."""

    time: float
    clock: float
    part_id: str | None = None
    job_id: str | None = None
    origin: str = "software"  # who sent it: window, stdin, file, modbus, ...
    meas_id: str | None = None  # the client's measurement id (OPC UA StartSingleJob's MeasId)


@dataclass
class PartResult:
    """One part through the cycle: inspected (`result` set) or not (`error` says why)."""

    result_id: int  # the store's row id: increases per station, never reused
    run_id: str
    recipe_id: str
    frame: Frame
    verdict: str  # OK, NG or ERROR
    result: InspectionResult | None
    error: str | None  # why it was not inspected, or what could not be saved
    trigger: Trigger | None
    latency_ms: float  # trigger (or frame arrival) to the result ready to store
    counters: Counters  # station counters after this part
    overlay: np.ndarray | None = None  # display overlay (BGR), when the station renders one
    done: int = 0  # parts of this run so far
    expected: int | None = None  # parts the source will deliver, where known


@dataclass(frozen=True)
class FrameAcquired:
    """The image of a triggered part is taken: the part may move on (a PLC's ExposureDone)."""

    trigger: Trigger
    frame_id: str
    time: float  # wall-clock seconds when the station had the frame in hand


@dataclass(frozen=True)
class ResultReady:
    part: PartResult


@dataclass(frozen=True)
class FrameFailed:
    part: PartResult  # verdict ERROR, stored


@dataclass(frozen=True)
class SourceLost:
    source: str
    reason: str


@dataclass(frozen=True)
class SourceBack:
    source: str


@dataclass(frozen=True)
class TriggerMissed:
    trigger: Trigger
    reason: str
    missed: int  # missed triggers of this station so far


@dataclass(frozen=True)
class FramesDropped:
    """Live frames replaced before the station could inspect them: uninspected parts."""

    dropped: int  # this run so far
    share: float  # dropped / (dropped + inspected) this run
    alarm: bool  # share above the configured limit


@dataclass(frozen=True)
class RecipeChanged:
    old: str | None
    new: str | None  # None: the recipe was unprepared, none is active
    requested_by: str


@dataclass(frozen=True)
class RecipeFailed:
    recipe_id: str
    reason: str
    requested_by: str


@dataclass(frozen=True)
class StateChanged:
    old: VisionState
    new: VisionState
    transition: str


@dataclass(frozen=True)
class RunStarted:
    """A run is on: from now a software-trigger run takes triggers."""

    run_id: str
    source: str  # the source key
    mode: str  # continuous, software or file


@dataclass(frozen=True)
class RunEnded:
    run_id: str
    how: str  # "done" (source ended), "stopped", "halted", "source failed"
    inspected: int
    source_error: str | None = None


Event = (
    FrameAcquired
    | ResultReady
    | FrameFailed
    | SourceLost
    | SourceBack
    | TriggerMissed
    | FramesDropped
    | RecipeChanged
    | RecipeFailed
    | StateChanged
    | RunStarted
    | RunEnded
)
Subscriber = Callable[[Event], None]


@dataclass
class EventHub:
    """Thread-safe list of subscribers; `publish` calls each in order."""

    _subscribers: list[Subscriber] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add a subscriber; returns the function that removes it again."""
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def publish(self, event: Event) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber(event)
            except Exception:  # one broken subscriber must not stop the line
                log.exception("event subscriber %r failed on %s", subscriber, type(event).__name__)
