"""Taking frames from a live source (a camera, or a video played as one) without going stale.

A reader thread keeps pulling frames as they come, so OpenCV's capture buffer never fills with
old images; only the newest frame is kept. In continuous mode the station takes the newest one
(latest frame wins; a frame replaced before it was taken is an uninspected part, counted). On a
software trigger it waits for the first frame that *arrived after* the trigger, so the part in
the image is the part that was triggered.
"""

from __future__ import annotations

import logging
import threading
import time

from engine.sources import Frame, FrameSource, SourceError

log = logging.getLogger(__name__)


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
            self._cond.notify_all()

    def end(self, error: Exception | None = None) -> None:
        with self._cond:
            self._ended, self._error = True, error
            self._cond.notify_all()

    @property
    def error(self) -> Exception | None:
        """The reader's error once it has ended with one (a camera that dropped out)."""
        return self._error

    def take(self, timeout: float, after: float | None = None) -> Frame | None:
        """The latest frame (with `after`: the latest that arrived at or after that wall time;
        older ones are discarded), or None after `timeout`. Once the reader has ended and no
        frame is left: raises the reader's error, or SourceEnded."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                frame = self._frame
                if frame is not None and (after is None or frame.timestamp >= after):
                    self._frame = None
                    return frame
                if frame is not None:  # taken before the trigger: not the triggered part
                    self._frame = None
                if self._ended:
                    if self._error is not None:
                        raise self._error
                    raise SourceEnded
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)


class LiveFeed:
    """Reads `source` on its own thread into a LatestFrame until closed or the source ends.
    Live sources stamp each frame with its wall-clock arrival time."""

    def __init__(self, source: FrameSource) -> None:
        self.source = source
        self.mailbox = LatestFrame()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._read, name="frame-reader", daemon=True)
        self._thread.start()

    @property
    def dropped(self) -> int:
        return self.mailbox.dropped

    @property
    def error(self) -> Exception | None:
        return self.mailbox.error

    def take(self, timeout: float, after: float | None = None) -> Frame | None:
        return self.mailbox.take(timeout, after)

    def close(self) -> None:
        """Stop reading; closing the source wakes a reader blocked on the camera."""
        self._done.set()
        self.source.close()
        self._thread.join(timeout=10)
        if self._thread.is_alive():
            log.warning("%s: frame reader did not stop within 10 s", self.source.name)

    def _read(self) -> None:
        try:
            for frame in self.source:
                if self._done.is_set():
                    break
                self.mailbox.put(frame)
        except SourceError as exc:  # includes SourceDisconnected
            self.mailbox.end(exc)
            return
        self.mailbox.end()
