"""Reading ahead: the next items of an iterator (decoded frames) and the work done on each
(preprocessing) come from one thread while the caller handles the current one (inference).

The queue is bounded (`depth` items wait at most, one more is in the making), so a run holds
at most depth + 1 decoded images besides the current one, and stopping costs at most that
much wasted decoding. Items come out in the iterator's order; an exception raised by the
iterator comes out where its item would have, and ends the iteration.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
WAIT_S = 0.1  # how often a blocked side looks whether the other has gone
CLOSE_WAIT_S = 1.0  # how long close() waits for the item in progress


@dataclass(frozen=True)
class Prefetched(Generic[T, R]):
    item: T
    extra: R | None  # what `prepare` returned; None when it failed (the caller redoes it)
    ready: float  # time.perf_counter() when the item and its work were done


class _Raised:
    def __init__(self, error: BaseException) -> None:
        self.error = error


_END = object()


class Prefetcher(Generic[T, R]):
    """Iterate `items` on a thread, calling `prepare(item)` there too, `depth` items ahead.

    `prepare` must be safe off the caller's thread; an exception in it is logged and gives
    `extra=None` (the caller does the work itself, and reports any failure then). Use as a
    context manager, or call `close()`: it stops the thread after the item in progress.
    """

    def __init__(
        self, items: Iterable[T], prepare: Callable[[T], R], depth: int = 1, name: str = "prefetch"
    ) -> None:
        if depth < 1:
            raise ValueError(f"prefetch depth must be at least 1, got {depth}")
        self._items, self._prepare = items, prepare
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._quit = threading.Event()
        self._thread = threading.Thread(target=self._produce, name=name, daemon=True)
        self._thread.start()

    def __iter__(self) -> Iterator[Prefetched[T, R]]:
        while True:
            try:
                entry = self._queue.get(timeout=WAIT_S)
            except queue.Empty:
                if self._thread.is_alive():
                    continue
                return  # closed before the end
            if entry is _END:
                return
            if isinstance(entry, _Raised):
                raise entry.error
            yield entry

    def close(self) -> None:
        """Stop reading ahead; items not taken are dropped (they were never handed out)."""
        self._quit.set()
        while True:  # free a producer blocked on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        # A reader blocked inside its iterator (a watched folder waiting for files) ends when
        # the owner closes or stops that source, which it does next; no need to wait for it.
        self._thread.join(timeout=CLOSE_WAIT_S)
        if self._thread.is_alive():
            log.debug("%s: reader still in its iterator; ends with it", self._thread.name)

    def __enter__(self) -> Prefetcher[T, R]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _produce(self) -> None:
        try:
            for item in self._items:
                if self._quit.is_set():
                    return
                try:
                    extra = self._prepare(item)
                except Exception:
                    log.debug("prefetch: preparing %r failed", item, exc_info=True)
                    extra = None
                if not self._put(Prefetched(item, extra, time.perf_counter())):
                    return
        except BaseException as exc:  # the iterator's error goes to the caller, in order
            self._put(_Raised(exc))
            return
        self._put(_END)

    def _put(self, entry: object) -> bool:
        while not self._quit.is_set():
            try:
                self._queue.put(entry, timeout=WAIT_S)
                return True
            except queue.Full:
                continue
        return False
