"""What the camera backend tests share: a reader thread with bounded waits, a fixture body that
closes every source it opened, and a station running on a camera."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.cameras.common import CameraSetup
from engine.sources import FrameSource
from engine.store import ResultStore


class Reader:
    """Iterates a source on its own thread; frames and the error that ended it go to a queue."""

    def __init__(self, source) -> None:
        self.source = source
        self.items: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for frame in self.source:
                self.items.put(frame)
        except Exception as exc:
            self.items.put(exc)
        self.items.put(None)  # the iteration ended

    def frame(self, timeout: float = 2.0):
        item = self.items.get(timeout=timeout)
        if isinstance(item, Exception):
            raise item
        assert item is not None, "the iteration ended"
        return item

    def nothing_within(self, seconds: float) -> bool:
        try:
            self.items.get(timeout=seconds)
        except queue.Empty:
            return True
        return False

    def stop(self) -> None:
        self.source.close()
        self.thread.join(timeout=2)
        assert not self.thread.is_alive(), "iteration did not end after close()"


def closing_all(open_one: Callable[..., FrameSource]) -> Iterator[Callable[..., FrameSource]]:
    """A fixture's body: yields `open_one`, and closes every source it opened at the end, even
    when the test failed (`yield from closing_all(...)`)."""
    sources: list[FrameSource] = []

    def open_(*args, **kwargs) -> FrameSource:
        source = open_one(*args, **kwargs)
        sources.append(source)
        return source

    yield open_
    for source in sources:
        source.close()


@contextmanager
def station_on(store: ResultStore, bundle_folder: Path, source, mode: str | None = None,
               camera: CameraSetup | None = None):  # fmt: skip
    """A Station on a tiny bundle (made in `bundle_folder`) running `source` (a spec or a
    FrameSource) on a thread into `store`; yields (station, parts), the parts as ResultReady
    gave them. On leaving, the station is stopped and its run must end within 5 s."""
    from engine.events import ResultReady
    from engine.recipes import Recipe
    from engine.station import Station
    from training.tiny_bundle import make_tiny_bundle

    bundle = make_tiny_bundle(bundle_folder)
    station = Station(store, provider="cpu")
    station.prepare(Recipe("cam", str(bundle), camera=camera or CameraSetup()), "test")
    parts: list = []
    station.subscribe(lambda e: parts.append(e.part) if isinstance(e, ResultReady) else None)
    args = (source,) if mode is None else (source, mode)
    runner = threading.Thread(target=station.run, args=args, daemon=True)
    runner.start()
    try:
        yield station, parts
    finally:
        station.stop()
        runner.join(5)
    assert not runner.is_alive()
