"""Frame sources: image file, folder, video file and camera behind one iterator interface.

Every source yields `Frame`s and is closed with `close()` (or by leaving a `with` block). A file
that cannot be decoded becomes a Frame with `error` set and `image=None`, so a batch run records
it and goes on. A source that cannot be opened raises `SourceError`; a camera that stops
delivering frames raises `SourceDisconnected` after a bounded number of retries, never hangs.

A file's identity is its path and its content signature (size and modification time): a new
image written under an old name is a new frame, and a resumed run passes over a file only when
the signature it was inspected with still matches. Frame ids and source names are `printable`
(file names that are not UTF-8 keep their bytes as `\\xNN`); `Frame.path` is the real path.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import cv2
import numpy as np

from engine.cameras.spec import CameraSpecError, is_camera_spec, open_camera, parse_camera_spec
from engine.imageio import ImageReadError, read_image
from engine.text import printable

if TYPE_CHECKING:  # engine.cameras.common imports this module
    from engine.cameras.common import CameraSetup

log = logging.getLogger(__name__)

# Extensions cv2.imread decodes; other files in a folder are skipped (and logged), not failed.
IMAGE_EXTENSIONS = frozenset(
    [
        ".bmp",
        ".dib",
        ".jpeg",
        ".jpg",
        ".jpe",
        ".jp2",
        ".png",
        ".webp",
        ".avif",
        ".pbm",
        ".pgm",
        ".ppm",
        ".pxm",
        ".pnm",
        ".pfm",
        ".sr",
        ".ras",
        ".tiff",
        ".tif",
        ".exr",
        ".hdr",
        ".pic",
    ]
)
VIDEO_EXTENSIONS = frozenset(
    [
        ".mp4",
        ".m4v",
        ".avi",
        ".mov",
        ".mkv",
        ".webm",
        ".mpg",
        ".mpeg",
        ".wmv",
        ".flv",
        ".mjpeg",
        ".mjpg",
        ".ts",
        ".3gp",
        ".ogv",
    ]
)
CAMERA_URL_SCHEMES = frozenset({"rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt"})


class SourceError(Exception):
    """A source could not be opened or read; the message names the source and the reason."""


class SourceDisconnected(SourceError):
    """A live source (camera) stopped delivering frames after it had been opened."""


@dataclass
class Frame:
    """One image from a source. `image` is None exactly when `error` says why it is missing."""

    id: str
    timestamp: float
    origin: str
    image: np.ndarray | None = None
    error: str | None = None
    decode_ms: float = 0.0
    path: str | None = None  # the file this frame was read from (image and folder sources)
    signature: str | None = None  # that file's "size:mtime_ns" when it was read


#: Frames already done, for a resumed run: frame id -> the file signature it was inspected
#: with (None: any, e.g. video frames, which have no file of their own).
Done = Mapping[str, str | None]
#: How long a file that fails to decode may still be being written: watch mode retries it
#: until it has not changed for this long, then records the failure.
SETTLE_S = 5.0


def file_signature(info: os.stat_result) -> str:
    """What identifies one version of a file: its size and modification time."""
    return f"{info.st_size}:{info.st_mtime_ns}"


def _is_done(done: Done, frame_id: str, signature: str | None) -> bool:
    if frame_id not in done:
        return False
    wanted = done[frame_id]
    return wanted is None or wanted == signature


def natural_key(text: str) -> list[int | str]:
    """Sort key that orders 'img2' before 'img10' (digit runs compare as numbers)."""
    # re.split with a capture group alternates text and digit runs, so positions align by type.
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


def _decode(path: Path, frame_id: str, timestamp: float, signature: str | None) -> Frame:
    start = time.perf_counter()
    frame = Frame(frame_id, timestamp, printable(str(path)), path=str(path), signature=signature)
    try:
        frame.image = read_image(path)
    except ImageReadError as exc:
        frame.error = exc.reason
    frame.decode_ms = _ms_since(start)
    return frame


def _ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


SOURCE_KINDS = ("image", "folder", "video", "camera")


def classify(spec: str | Path) -> str:
    """The kind of source `spec` names: 'camera' (a digit string, a stream URL or an industrial
    camera: `pylon:SERIAL`, `genicam:SERIAL@producer.cti`, engine.cameras.spec), 'folder',
    'video' (by extension) or 'image' (anything else). The one place sources are classified."""
    text = str(spec)
    if text.isdigit() or urlsplit(text).scheme.lower() in CAMERA_URL_SCHEMES:
        return "camera"
    if is_camera_spec(text):
        return "camera"
    path = Path(text)
    if path.is_dir():
        return "folder"
    return "video" if path.suffix.lower() in VIDEO_EXTENSIONS else "image"


def source_key(spec: str | Path) -> str:
    """How a source is named in the store: the absolute path of files, the spec of cameras."""
    text = str(spec)
    return printable(text if classify(text) == "camera" else str(Path(text).resolve()))


class FrameSource(ABC):
    """Iterator of Frames with `close()`; also a context manager.

    A source describes itself: `kind` (one of SOURCE_KINDS), `live` (frames come at the
    source's pace and are gone if not taken: a camera, or a video played as one) and `key`
    (its name in the results store). Frames of image and folder sources carry their file `path`.
    """

    #: Human-readable description of the source (a path or camera spec), used in messages.
    name: str = ""
    kind: str = ""
    live: bool = False
    passed_over: int = 0  # frames a resumed run will not yield: done before, unchanged since
    #: A camera in software-trigger mode: it exposes a frame only when `trigger()` fires it, so
    #: the station's software trigger calls `trigger()` (engine.cameras).
    fired: bool = False
    #: Frames the source itself reports lost (an industrial camera's dropped or incomplete
    #: frames): parts never inspected, which the station counts with its own dropped frames.
    lost: int = 0

    @property
    def key(self) -> str:
        return source_key(self.name)

    @abstractmethod
    def __iter__(self) -> Iterator[Frame]: ...

    @property
    def expected(self) -> int | None:
        """How many frames the source will yield, where known in advance (None otherwise)."""
        return None

    def trigger(self) -> None:
        """Fire the camera's software trigger (sources with `fired`); SourceError otherwise."""
        raise SourceError(f"{self.name}: cannot be triggered by software")

    def configure(self, setup: CameraSetup) -> None:  # noqa: B027 - only industrial cameras
        """Apply a recipe's camera settings (engine.cameras.common.CameraSetup) to an open
        camera; SourceError naming the node it refuses. Other sources have none to apply."""

    def close(self) -> None:  # noqa: B027 - sources without resources need no close
        """Release the source; safe to call more than once and from another thread."""

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class ImageFileSource(FrameSource):
    """A single image file: one Frame whose id is the file name."""

    kind = "image"

    def __init__(self, path: Path | str, done: Done | None = None) -> None:
        self.path = Path(path)
        self.name = printable(str(self.path))
        self._id = printable(self.path.name)
        try:
            self._signature: str | None = file_signature(self.path.stat())
        except OSError:
            self._signature = None  # the read says why
        self._skip = _is_done(done or {}, self._id, self._signature)
        self.passed_over = int(self._skip)

    @property
    def expected(self) -> int:
        return 0 if self._skip else 1

    def __iter__(self) -> Iterator[Frame]:
        if not self._skip:
            yield _decode(self.path, self._id, time.time(), self._signature)


# A folder entry: (size, mtime_ns) of an image file, or the message why it cannot be read.
_Entry = tuple[int, int] | str


class FolderSource(FrameSource):
    """Image files under a folder (recursively), in natural order of their relative paths.

    Frame id = path relative to the folder, with '/' separators. Hidden entries (dot files) are
    ignored; files that are not images by extension are skipped and listed in `skipped`; a
    sub-folder that cannot be listed, a broken link or a special file (FIFO, socket, device)
    with an image's extension becomes an error Frame (id = its relative path), and `listed`
    holds the sub-folders (and ".") that were listed.

    With `watch=True` the folder is polled every `poll_interval` seconds until `close()` is
    called (or `stop` is set). A file is read once its size and modification time stop
    changing; one that then fails to decode but changed less than `settle_s` ago may still be
    being written (a camera pausing mid-file), so it is retried on later polls and reported only
    once it has been still for `settle_s`. A file written again under the same name is a new
    frame with the same id.
    """

    kind = "folder"

    def __init__(
        self,
        path: Path | str,
        *,
        watch: bool = False,
        poll_interval: float = 0.5,
        done: Done | None = None,
        exclude: Collection[Path | str] = (),
        stop: threading.Event | None = None,
        settle_s: float = SETTLE_S,
    ) -> None:
        self.path = Path(path)
        self.name = printable(str(self.path))
        self.watch = watch
        self.poll_interval = poll_interval
        self.settle_s = settle_s
        self.skipped: list[str] = []
        self.listed: set[str] = set()
        self._done: dict[str, str | None] = dict(done or {})  # passed over or emitted
        self._reported: set[str] = set()  # unreadable entries already emitted as errors
        self._exclude = {Path(p).resolve() for p in exclude}
        self._closed = threading.Event()
        self._stop = stop  # the caller's event: watched, never set by this source
        try:
            mode = self.path.stat().st_mode
            if not stat.S_ISDIR(mode):
                raise SourceError(f"{self.name}: not a folder")
            os.scandir(self.path).close()
        except OSError as exc:
            raise SourceError(f"{self.name}: cannot read folder ({exc.strerror or exc})") from None
        self._pending = {} if watch else self._scan()
        # Watch mode passes over done files as it finds them; they are not counted in advance.
        self.passed_over = 0 if watch else self._passed

    @property
    def expected(self) -> int | None:
        return None if self.watch else len(self._pending)

    def close(self) -> None:
        self._closed.set()

    def _stopped(self) -> bool:
        return self._closed.is_set() or (self._stop is not None and self._stop.is_set())

    def _pause(self) -> None:
        """Sleep one poll interval, waking within 50 ms when closed or stopped."""
        deadline = time.monotonic() + self.poll_interval
        while not self._stopped() and (left := deadline - time.monotonic()) > 0:
            self._closed.wait(min(left, 0.05))

    def __iter__(self) -> Iterator[Frame]:
        if not self.watch:
            yield from self._emit(self._pending)
            return
        previous: dict[str, _Entry] = {}
        first = True
        while not self._stopped():
            current = self._scan()
            if first:  # done files found now are passed over; later ones are new files
                self.passed_over, first = self._passed, False
            settled = {
                rel: entry
                for rel, entry in current.items()
                if isinstance(entry, str) or previous.get(rel) == entry
            }
            yield from self._emit(settled)
            previous = current
            self._pause()

    def _emit(self, entries: dict[str, _Entry]) -> Iterator[Frame]:
        """Yield Frames for the given relative paths in natural order of their parts."""
        for rel in sorted(entries, key=lambda i: [natural_key(p) for p in i.split("/")]):
            if self._stopped():
                return
            frame_id, entry = printable(rel), entries[rel]
            if isinstance(entry, str):
                self._reported.add(rel)
                origin = printable(str(self.path / rel))
                yield Frame(frame_id, time.time(), origin, error=entry)
                continue
            size, mtime_ns = entry
            frame = _decode(self.path / rel, frame_id, time.time(), f"{size}:{mtime_ns}")
            if self.watch and not self._settled(frame, mtime_ns):
                continue
            self._done[frame_id] = frame.signature
            yield frame

    def _settled(self, frame: Frame, mtime_ns: int) -> bool:
        """Watch mode: False (read it again on a later poll) when the file changed while it was
        read, or failed to decode while it may still be being written."""
        try:
            changed = file_signature(os.stat(frame.path)) != frame.signature
        except OSError:
            changed = False  # gone: the failure the read gave stands
        if changed:
            log.debug("%s: changed while read; read again", frame.origin)
            return False
        if frame.error and time.time_ns() - mtime_ns < self.settle_s * 1e9:
            log.debug("%s: %s; retried: may be half-written", frame.origin, frame.error)
            return False
        return True

    def _scan(self) -> dict[str, _Entry]:
        """Image files not done yet as {relative path: (size, mtime_ns)}, entries that cannot be
        read (and were not reported yet) as {relative path: error message}."""
        found: dict[str, _Entry] = {}
        visited: set[tuple[int, int]] = set()  # (device, inode): guards against symlink loops
        self._passed = 0

        def unreadable(rel: str, reason: str) -> None:
            if rel not in self._reported:
                found[rel] = reason

        def walk(folder: Path, prefix: str) -> None:
            folder_id = prefix.rstrip("/") or "."
            try:
                info = folder.stat()
                if (info.st_dev, info.st_ino) in visited or folder.resolve() in self._exclude:
                    return
                visited.add((info.st_dev, info.st_ino))
                with os.scandir(folder) as listing:
                    children = list(listing)
            except OSError as exc:
                unreadable(folder_id, f"cannot read ({exc.strerror or exc})")
                return
            self.listed.add(printable(folder_id))
            self._reported.discard(folder_id)
            for child in children:
                rel = prefix + child.name
                if child.name.startswith("."):
                    continue
                try:
                    if child.is_dir():
                        walk(Path(child.path), rel + "/")
                    else:
                        self._add_file(found, rel, child, unreadable)
                except OSError as exc:  # e.g. a symlink loop: stat fails with ELOOP
                    unreadable(rel, f"cannot read ({exc.strerror or exc})")

        walk(self.path, "")
        return found

    def _add_file(
        self,
        found: dict[str, _Entry],
        rel: str,
        entry: os.DirEntry,
        unreadable: Callable[[str, str], None],
    ) -> None:
        if Path(rel).suffix.lower() not in IMAGE_EXTENSIONS:
            name = printable(rel)
            if name not in self.skipped:
                self.skipped.append(name)
                log.info("%s/%s: skipped, not an image file by its extension", self.name, name)
            return
        if not entry.is_file():
            unreadable(rel, _not_a_file(Path(entry.path)))
            return
        info = entry.stat()
        self._reported.discard(rel)
        if _is_done(self._done, printable(rel), file_signature(info)):
            self._passed += 1
        else:
            found[rel] = (info.st_size, info.st_mtime_ns)


def _not_a_file(path: Path) -> str:
    """Why `path` (an entry that is neither a folder nor a regular file) cannot be read."""
    if path.is_symlink() and not path.exists():
        return f"broken link: its target {printable(os.readlink(path))} does not exist"
    return f"not a regular file ({special_kind(path.stat().st_mode)})"


SPECIAL_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def special_kind(mode: int) -> str:
    """What a file that is neither a folder nor a regular file is (its `st_mode`), in words:
    reading one could block, so the station names it and leaves it alone."""
    return next((name for test, name in SPECIAL_KINDS if test(mode)), "a special file")


class _CaptureSource(FrameSource):
    """Shared read loop of video files and cameras over cv2.VideoCapture."""

    def __init__(self, capture: cv2.VideoCapture, name: str) -> None:
        self._capture = capture
        self._lock = threading.Lock()
        self.name = name

    def close(self) -> None:
        with self._lock:
            self._capture.release()

    def _read(self) -> np.ndarray | None:
        with self._lock:
            if not self._capture.isOpened():
                return None
            ok, image = self._capture.read()
        return image if ok and image is not None else None


class VideoFileSource(_CaptureSource):
    """Frames of a video file. Frame id = frame index; timestamp = position in the video (s).

    With `realtime` the video stands in for a camera: each frame is delivered at its
    presentation time, stamped with the wall-clock time it arrived, and the source is live.
    """

    kind = "video"

    def __init__(
        self, path: Path | str, done: Done | None = None, *, realtime: bool = False
    ) -> None:
        path = Path(path)
        name = printable(str(path))
        if not path.is_file():
            raise SourceError(f"{name}: video file not found")
        capture = cv2.VideoCapture(str(path))
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"{name}: cannot open video (unsupported or corrupt file)")
        super().__init__(capture, name)
        self._skip = set(done or ())
        self.live = realtime
        self._closed = threading.Event()
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        # Container frame counts are estimates for some codecs; only use plausible ones.
        self._count = count if count > 0 else None
        self.passed_over = sum(1 for i in self._skip if i.isdigit() and int(i) < (count or 0))

    @property
    def expected(self) -> int | None:
        if self._count is None:
            return None
        return sum(1 for i in range(self._count) if str(i) not in self._skip)

    def close(self) -> None:
        self._closed.set()
        super().close()

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        first: tuple[float, float] | None = None  # (video time, clock) of the first frame
        while not self._closed.is_set():
            frame_id = str(index)
            if frame_id in self._skip:
                # grab() advances without decoding, so resuming a long video stays cheap.
                with self._lock:
                    if not self._capture.grab():
                        return self._ended(index)
                index += 1
                continue
            start = time.perf_counter()
            image = self._read()
            if image is None:
                return self._ended(index)
            # After a read, POS_MSEC is the presentation time of the frame just decoded.
            position_s = self._capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            decode_ms = _ms_since(start)
            if self.live:
                first = first or (position_s, time.perf_counter())
                due = first[1] + position_s - first[0]
                if self._closed.wait(max(0.0, due - time.perf_counter())):
                    return
                position_s = time.time()  # arrival time, as a camera stamps it
            yield Frame(frame_id, position_s, self.name, image, decode_ms=decode_ms)
            index += 1

    def _ended(self, read: int) -> None:
        """At the end of the readable frames: a file that promised more is truncated or
        corrupt, which must not pass for a complete video."""
        if self._count is not None and read < self._count and not self._closed.is_set():
            raise SourceError(
                f"{self.name}: video ended after {read} of the {self._count} frames its header "
                "announces (truncated or corrupt file)"
            )


class CameraSource(_CaptureSource):
    """A live camera: OpenCV device index or stream URL (rtsp://, http://, ...).

    Any other OpenCV capture target (e.g. a video file) works too, which tests use to stand in
    for a camera. Frame ids count from 0 per opening; timestamps are wall time. A failed read is
    retried `retries` times, `retry_delay` seconds apart; then SourceDisconnected is raised.
    URL streams get open and read timeouts so a dead network camera cannot block forever.
    """

    kind = "camera"
    live = True

    def __init__(
        self,
        target: int | str,
        *,
        timeout_ms: int = 5000,
        retries: int = 3,
        retry_delay: float = 0.2,
    ) -> None:
        self.retries = retries
        self.retry_delay = retry_delay
        self.target = str(target)
        name = f"camera {target}" if isinstance(target, int) else str(target)
        if isinstance(target, str) and urlsplit(target).scheme in CAMERA_URL_SCHEMES:
            params = [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                timeout_ms,
                cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                timeout_ms,
            ]
            capture = cv2.VideoCapture(target, cv2.CAP_FFMPEG, params)
        else:
            capture = cv2.VideoCapture(target)
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"{name}: cannot open camera (not connected, busy or wrong address)")
        super().__init__(capture, name)
        self._closed = threading.Event()

    @property
    def key(self) -> str:
        return self.target  # the spec it was opened with, as `source_key` names cameras

    def close(self) -> None:
        self._closed.set()
        super().close()

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        while not self._closed.is_set():
            start = time.perf_counter()
            image = self._read_with_retries()
            if image is None:
                if self._closed.is_set():
                    return
                raise SourceDisconnected(
                    f"{self.name}: camera stopped delivering frames "
                    f"(no frame after {self.retries + 1} attempts)"
                )
            yield Frame(str(index), time.time(), self.name, image, decode_ms=_ms_since(start))
            index += 1

    def _read_with_retries(self) -> np.ndarray | None:
        for attempt in range(self.retries + 1):
            image = self._read()
            if image is not None or self._closed.is_set():
                return image
            if attempt < self.retries:
                log.warning("%s: no frame, retrying (%d/%d)", self.name, attempt + 1, self.retries)
                self._closed.wait(self.retry_delay)
        return None


def open_source(
    spec: str | Path,
    watch: bool = False,
    *,
    done: Done | None = None,
    exclude: Collection[Path | str] = (),
    stop: threading.Event | None = None,
    poll_interval: float = 0.5,
    realtime: bool = False,
    camera_setup: CameraSetup | None = None,
    software: bool = False,
) -> FrameSource:
    """Open the source `spec` names, of the kind `classify` gives.

    `done` are frames to pass over without decoding (resume); `exclude`, `stop` and
    `poll_interval` apply to folders (e.g. exclude an output folder inside the source folder);
    `realtime` plays a video file at its own rate as a live camera stand-in. Anything that is
    neither a folder nor a regular file (a FIFO, a device) is refused: reading it could block.
    An industrial camera opens with `camera_setup` (a recipe's CameraSetup; None: the camera's
    own settings), fired by the station's software trigger with `software`.
    """
    text = str(spec)
    kind = classify(text)
    if is_camera_spec(text):
        try:
            camera = parse_camera_spec(text)
        except CameraSpecError as exc:
            raise SourceError(str(exc)) from None
        return open_camera(camera, camera_setup, software)
    if kind == "camera":
        return CameraSource(int(text) if text.isdigit() else text)
    path = Path(text)
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        reason = "not found" if isinstance(exc, FileNotFoundError) else exc.strerror or str(exc)
        raise SourceError(f"{printable(text)}: {reason}") from None
    if kind == "folder" and stat.S_ISDIR(mode):
        return FolderSource(
            path, watch=watch, poll_interval=poll_interval, done=done, exclude=exclude, stop=stop
        )
    if not stat.S_ISREG(mode):
        raise SourceError(
            f"{printable(text)}: not a regular file or folder ({special_kind(mode)}); "
            "give an image file, a video file, a folder or a camera"
        )
    if kind == "video":
        return VideoFileSource(path, done, realtime=realtime)
    return ImageFileSource(path, done)
