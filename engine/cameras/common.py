"""What both camera backends share: the settings, the frame, the camera list entry, the node
writes the settings make, the conversion of a camera's pixel formats to the engine's images, and
the source around them (CameraSource: locks, trigger checks, counters, the grab loop).

Nothing here imports a camera SDK. A backend (pylon.py, genicam.py) wraps its SDK's GenICam
nodes in `NodeView`s (`CameraNodes.look`); the order of the writes, the range checks and the
messages naming the node are made once, here, so the two backends behave and fail alike.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from engine.sources import Frame, FrameSource, SourceDisconnected, SourceError

log = logging.getLogger(__name__)

#: The camera's FrameStart trigger: free run, the station's software trigger, or an input line
#: (a light barrier wired to the camera: a hardware trigger, every frame one part).
TRIGGERS = ("free", "software", "line0", "line1", "line2", "line3", "line4")
ACTIVATIONS = {"rising": "RisingEdge", "falling": "FallingEdge"}
#: How long one wait for a frame lasts; a close() from another thread ends an iteration within it.
RETRIEVE_SLICE_MS = 50
_UNITS = {"us": "µs"}


def setup_problems(values: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, what is wrong) for each bad acquisition setting in `values` (a recipe's camera
    table or CameraSetup's fields); empty when all are good. The one check of the settings."""
    known = {f.name for f in dataclasses.fields(CameraSetup)}
    problems = [
        (key, f"unknown field (known: {', '.join(sorted(known))})")
        for key in sorted(set(values) - known)
    ]
    for key in ("exposure_us", "gain_db"):
        value = values.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            problems.append((key, f"must be a number, got {value!r}"))
        elif key == "exposure_us" and value is not None and value <= 0:
            problems.append((key, f"must be above 0 µs, got {value!r}"))
    roi = values.get("roi")
    if roi is not None and not (
        isinstance(roi, list | tuple)
        and len(roi) == 4
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in roi)
        and min(roi[2:]) > 0
    ):
        problems.append(("roi", f"[x, y, width, height] in whole pixels, size > 0; got {roi!r}"))
    binning = values.get("binning")
    if binning is not None and (
        isinstance(binning, bool) or not isinstance(binning, int) or binning < 1
    ):
        problems.append(("binning", f"a whole number ≥ 1 (1: none), got {binning!r}"))
    fmt = values.get("pixel_format")
    if fmt is not None and (not isinstance(fmt, str) or not fmt):
        problems.append(("pixel_format", f"a GenICam pixel format name, got {fmt!r}"))
    if values.get("trigger", "free") not in TRIGGERS:
        problems.append(("trigger", f"{values['trigger']!r} is not one of {', '.join(TRIGGERS)}"))
    if values.get("activation", "rising") not in ACTIVATIONS:
        problems.append(
            ("activation", f"{values['activation']!r} is not one of {', '.join(ACTIVATIONS)}")
        )
    return problems


@dataclass(frozen=True)
class CameraSetup:
    """Acquisition settings (a recipe's `[recipes.<id>.camera]` table). None leaves the camera's
    own value (its startup user set). `roi` is (x, y, width, height) in pixels after binning;
    `binning` bins as many pixels horizontally and vertically; `trigger` see TRIGGERS, on the
    `activation` edge for the lines."""

    exposure_us: float | None = None
    gain_db: float | None = None
    roi: tuple[int, int, int, int] | None = None
    binning: int | None = None
    pixel_format: str | None = None
    trigger: str = "free"
    activation: str = "rising"

    def __post_init__(self) -> None:
        if self.roi is not None:
            object.__setattr__(self, "roi", tuple(self.roi))
        problems = setup_problems(dataclasses.asdict(self))
        if problems:
            raise ValueError("; ".join(f"{key}: {message}" for key, message in problems))

    def for_station(self, software: bool) -> CameraSetup:
        """The setup a station run uses: a software-trigger run fires the camera itself; any
        other run keeps a line (hardware) trigger and free-runs the camera otherwise."""
        if software:
            trigger = "software"
        else:
            trigger = self.trigger if self.trigger.startswith("line") else "free"
        return dataclasses.replace(self, trigger=trigger)

    def table(self) -> dict[str, Any]:
        """The fields that are set, as a recipe file holds them."""
        defaults = CameraSetup()
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in dataclasses.asdict(self).items()
            if value != getattr(defaults, key)
        }


@dataclass(frozen=True)
class CameraSettings:
    """What to open and how to set it up: the camera by `serial` or `user_id` (DeviceUserID),
    never by its position in the device list; `producer`: the GenTL producer (.cti) for the
    genicam backend; `timeout_ms`: how long a free-running camera may send nothing before it
    counts as gone."""

    serial: str | None = None
    user_id: str | None = None
    setup: CameraSetup = field(default_factory=CameraSetup)
    producer: str | None = None
    timeout_ms: int = 5000

    def __post_init__(self) -> None:
        if not self.serial and not self.user_id:
            raise ValueError("give the camera's serial number or user id (never a list position)")
        if self.timeout_ms <= 0:
            raise ValueError(f"timeout_ms {self.timeout_ms}: must be positive")

    @property
    def wanted(self) -> str:
        return f"serial {self.serial}" if self.serial else f"user id {self.user_id}"


@dataclass
class CameraFrame(Frame):
    """A Frame with what the camera said about it. `id` is the camera's frame (block) id, which
    restarts with each opening; `timestamp` the wall time it arrived on this host, as the
    engine's other live sources stamp it; `camera_timestamp` the camera's own clock in its
    ticks (ns on USB3 Vision; 0 where the transport has none)."""

    camera_timestamp: int = 0
    image_number: int = 0  # images delivered since the acquisition started, from 1
    pixel_format: str = ""  # the camera's PixelFormat (GenICam name), before conversion


@dataclass(frozen=True)
class CameraInfo:
    """One camera a backend finds; `spec` opens it (see engine.cameras.spec)."""

    serial: str
    user_id: str
    model: str
    device_class: str
    spec: str = ""


def find_one(infos: list[CameraInfo], settings: CameraSettings, backend: str, hint: str = ""):
    """The index of the camera `settings` wants in `infos`; a SourceError listing what was
    found when none or several match."""
    if settings.serial:
        found = [i for i, c in enumerate(infos) if c.serial == settings.serial]
    else:
        found = [i for i, c in enumerate(infos) if c.user_id == settings.user_id]
    if len(found) == 1:
        return found[0]
    seen = ", ".join(f"{c.serial} ({c.user_id or 'no user id'}, {c.model})" for c in infos)
    if found:
        raise SourceError(f"{backend} camera {settings.wanted}: {len(found)} cameras match: {seen}")
    raise SourceError(
        f"{backend} camera {settings.wanted}: not found; cameras found: {seen or 'none'}{hint}"
    )


def sdk_reason(exc: BaseException) -> str:
    """A GenICam exception's message without the SDK's ' : XException thrown in ... (file ...)'."""
    text = str(exc).strip()
    return text.split(" : ", 1)[0] if " : " in text else text


def frames_skipped(previous: int | None, current: int) -> int:
    """Frame ids a camera skipped between two frames it delivered: frames it lost (a buffer
    underrun, a GigE frame never resent). A smaller id is a wrap or a restart, not a loss."""
    if previous is None or current <= previous:
        return 0
    return current - previous - 1


# --- node writes ------------------------------------------------------------------------------
@dataclass
class NodeView:
    """One GenICam node as the settings need it, whichever SDK read it. `set` raises the SDK's
    exception, which the backend's `CameraNodes.refused` recognises."""

    value: Any
    writable: bool
    set: Callable[[Any], None]
    integer: bool = False
    low: float = 0.0
    high: float = 0.0
    step: int = 1
    unit: str = ""
    symbols: tuple[str, ...] = ()


class CameraNodes(ABC):
    """Writes CameraSetup to a camera's nodes; `apply` checks each value against the node's range
    first, so a value the camera cannot take is a SourceError naming the node ("ExposureTime: 5
    is below the minimum 10 µs"), not one the camera silently rounds or clamps."""

    def __init__(self, name: str) -> None:
        self.name = name  # the camera, for messages

    @abstractmethod
    def look(self, name: str) -> NodeView | None:
        """The node, or None when the camera has no such node or it is not available now."""

    @abstractmethod
    def refused(self, exc: BaseException) -> str | None:
        """The reason, when `exc` is the SDK's exception for a refused write; else None."""

    def available(self, name: str) -> bool:
        return self.look(name) is not None

    def writable(self, name: str) -> NodeView:
        node = self.look(name)
        if node is None:
            raise SourceError(f"{self.name}: {name}: the camera has no such setting")
        if not node.writable:
            raise SourceError(f"{self.name}: {name}: not writable on this camera (now)")
        return node

    def number(self, name: str, value: float) -> None:
        node = self.writable(name)
        unit = _UNITS.get(node.unit, node.unit)
        unit = f" {unit}" if unit else ""
        if value < node.low:
            raise SourceError(
                f"{self.name}: {name}: {value:g} is below the minimum {node.low:g}{unit}"
            )
        if value > node.high:
            raise SourceError(
                f"{self.name}: {name}: {value:g} is above the maximum {node.high:g}{unit}"
            )
        if node.integer:
            if (int(value) - int(node.low)) % node.step:
                raise SourceError(
                    f"{self.name}: {name}: {value:g} is not a multiple of {node.step} "
                    f"from {node.low:g}{unit}"
                )
            value = int(value)
        self._set(node, name, value)

    def enum(self, name: str, value: str, *, required: bool = True) -> None:
        node = self.look(name)
        if (node is None and not required) or (node is not None and node.value == value):
            return  # a read-only node already right (a simulator's) needs no write
        node = self.writable(name)
        if value not in node.symbols:
            raise SourceError(
                f"{self.name}: {name}: the camera does not offer {value} "
                f"(it offers {', '.join(node.symbols)})"
            )
        self._set(node, name, value)

    def _set(self, node: NodeView, name: str, value: Any) -> None:
        try:
            node.set(value)
        except Exception as exc:
            reason = self.refused(exc)
            if reason is None:
                raise
            shown = f"{value:g}" if isinstance(value, int | float) else value
            raise SourceError(f"{self.name}: {name}: {shown} refused: {reason}") from None

    def apply(self, setup: CameraSetup) -> None:
        """Write `setup`: pixel format and binning first (they change the sizes allowed), then
        the ROI, exposure, gain and the FrameStart trigger."""
        self.enum("AcquisitionMode", "Continuous", required=False)
        if setup.pixel_format is not None:
            self.enum("PixelFormat", setup.pixel_format)
        if setup.binning is not None:
            for name in ("BinningHorizontal", "BinningVertical"):
                self.number(name, setup.binning)
        if setup.roi is not None:
            x, y, width, height = setup.roi
            offsets = (("OffsetX", x), ("OffsetY", y))
            for offset, _ in offsets:  # at their minimum, so the full width and height are allowed
                node = self.look(offset)
                if node is not None and node.value != node.low:
                    self._set(self.writable(offset), offset, int(node.low))
            self.number("Width", width)
            self.number("Height", height)
            for offset, value in offsets:  # a camera without offsets takes an ROI at (0, 0)
                if value or self.available(offset):
                    self.number(offset, value)
        if setup.exposure_us is not None:
            self.enum("ExposureAuto", "Off", required=False)
            self.number(self._exposure_node(), setup.exposure_us)
        if setup.gain_db is not None:
            self.enum("GainAuto", "Off", required=False)
            self.number("Gain", setup.gain_db)  # cameras with GainRaw only have no gain in dB
        if setup.trigger == "free" and not self.available("TriggerMode"):
            return  # a free-running camera without triggers (a simulator): nothing to switch off
        self.enum("TriggerSelector", "FrameStart")
        if setup.trigger == "free":
            self.enum("TriggerMode", "Off")
            return
        source = "Software" if setup.trigger == "software" else f"Line{setup.trigger[-1]}"
        self.enum("TriggerSource", source)
        if source != "Software":
            self.enum("TriggerActivation", ACTIVATIONS[setup.activation])
        self.enum("TriggerMode", "On")

    def _exposure_node(self) -> str:
        """SFNC's ExposureTime, or the older ExposureTimeAbs of GigE cameras that have only it."""
        old = not self.available("ExposureTime") and self.available("ExposureTimeAbs")
        return "ExposureTimeAbs" if old else "ExposureTime"

    def read_back(self) -> dict[str, Any]:
        """The camera's current values of the nodes `apply` writes."""
        names = (
            self._exposure_node(), "Gain", "Width", "Height", "OffsetX", "OffsetY",
            "BinningHorizontal", "BinningVertical", "PixelFormat", "TriggerSelector",
            "TriggerMode", "TriggerSource", "TriggerActivation",
        )  # fmt: skip
        return {name: node.value for name in names if (node := self.look(name)) is not None}


# --- pixel formats ----------------------------------------------------------------------------
# OpenCV names a Bayer pattern by the second row's second and third pixels, GenICam (PFNC) by
# the first row's first two: PFNC BayerRG (R G / G B) is OpenCV's BayerBG.
_BAYER = {
    "RG": cv2.COLOR_BayerBG2BGR,
    "GR": cv2.COLOR_BayerGB2BGR,
    "BG": cv2.COLOR_BayerRG2BGR,
    "GB": cv2.COLOR_BayerGR2BGR,
}
_COLOUR = {"RGB8": cv2.COLOR_RGB2BGR, "RGBa8": cv2.COLOR_RGBA2BGR, "BGRa8": cv2.COLOR_BGRA2BGR}
_FORMAT = re.compile(r"(Mono|Bayer(RG|GR|BG|GB))(8|10|12|14|16)(p|Packed)?")
SUPPORTED_FORMATS = "Mono8/10/12/14/16, Bayer{RG,GR,BG,GB}8/10/12/16, RGB8, BGR8, RGBa8, BGRa8"


class PixelFormatError(SourceError):
    """A pixel format the engine does not convert; the message names it."""


def canonical_format(name: str) -> str:
    """The SFNC 2 name of a pixel format: pylon's older 'RGB8Packed' is 'RGB8'."""
    return name[: -len("Packed")] if name in ("RGB8Packed", "BGR8Packed") else name


def to_engine_image(data: np.ndarray, pixel_format: str, width: int, height: int) -> np.ndarray:
    """A camera buffer as the engine's image: Mono8 -> 2-D uint8; Mono10..16 -> 2-D uint16 with
    the camera's values (Mono12: 0-4095, not scaled, as an image file of 12 bits reads);
    Bayer -> demosaiced BGR of the same depth (8 bits: uint8, more: uint16); RGB8 / BGR8 /
    RGBa8 / BGRa8 -> BGR uint8. `data` holds the pixels as delivered: bytes (uint8), or uint16
    samples where the SDK unpacked them (packed formats must arrive unpacked)."""
    name = canonical_format(pixel_format)
    data = np.asarray(data)
    if name in ("BGR8", "RGB8", "RGBa8", "BGRa8"):
        channels = 4 if name.endswith("a8") else 3
        image = data.reshape(height, width, channels)
        if name == "BGR8":
            return np.ascontiguousarray(image)
        return cv2.cvtColor(image, _COLOUR[name])
    match = _FORMAT.fullmatch(name)
    if match is None:
        raise PixelFormatError(
            f"pixel format {pixel_format}: not converted by the station (it takes "
            f"{SUPPORTED_FORMATS}); choose one of those in the recipe's camera.pixel_format"
        )
    bits = int(match.group(3))
    if bits > 8 and data.dtype == np.uint8:
        if match.group(4):
            raise PixelFormatError(f"pixel format {pixel_format}: packed data arrived unpacked")
        data = data.view("<u2")
    image = data.reshape(height, width).astype(np.uint8 if bits == 8 else np.uint16, copy=False)
    if match.group(2):
        return cv2.cvtColor(image, _BAYER[match.group(2)])
    return np.ascontiguousarray(image)


def convert_into(frame: CameraFrame, convert: Callable[[], np.ndarray]) -> CameraFrame:
    """Fill `frame.image` by `convert` (timed in `decode_ms`). A buffer that cannot be converted
    becomes the frame's error: that part fails, naming the format, and the camera goes on."""
    start = time.perf_counter()
    try:
        frame.image = convert()
    except (PixelFormatError, ValueError) as exc:
        frame.error = f"{frame.pixel_format}: the camera's image cannot be converted ({exc})"
    frame.decode_ms = (time.perf_counter() - start) * 1000.0
    return frame


# --- the source -------------------------------------------------------------------------------
class CameraSource(FrameSource):
    """What PylonSource and GenicamSource do alike: the closed flag and its locks, the settings
    read back and rewritten, the software trigger's checks, the counters and the grab loop. A
    backend opens its camera in `__init__` (after `_begin`) and supplies `_start`, `_stop`,
    `_fire`, `_poll` and `_teardown`.

    Threads: `_state` guards the closed flag against trigger() and close(); `_io` the SDK's
    fetch against the teardown and configure(). A frame is yielded outside both, so close() is
    not held up by a consumer."""

    kind = "camera"
    live = True
    backend = ""  # "pylon", "genicam": the spec's prefix, and in the source's name
    _nodes: CameraNodes  # the camera's nodes, set by the backend once it has opened it

    def _begin(self, settings: CameraSettings) -> None:
        self.settings = settings
        self.fired = settings.setup.trigger == "software"  # the station's trigger fires it
        self.delivered = self.failed = self.triggers = 0
        self._closed = threading.Event()
        self._state = threading.Lock()
        self._io = threading.Lock()
        self._heard = time.monotonic()  # the last grab result of any kind

    def _found(self, info: CameraInfo) -> None:
        self.serial = info.serial
        user = f" ({info.user_id})" if info.user_id else ""
        self.name = f"{self.backend} camera {info.serial}{user}"

    def _open(
        self,
        errors: tuple[type[BaseException], ...],
        connect: Callable[[], None],
        prepare: Callable[[], None],
        starting: str,
        also_on_open: tuple[type[BaseException], ...] = (),
    ) -> None:
        """`connect` (the SDK opens the camera), then `prepare` (its nodes, the settings, the
        start of `starting`). A failure releases what was opened; the SDK's `errors` (and,
        from `connect`, `also_on_open`) become a SourceError naming the camera."""
        try:
            connect()
        except (*errors, *also_on_open) as exc:
            self._teardown()
            raise SourceError(
                f"{self.name}: cannot open ({sdk_reason(exc)}); in use by another program?"
            ) from None
        try:
            prepare()
        except errors as exc:
            self._teardown()
            raise SourceError(f"{self.name}: cannot start {starting}: {sdk_reason(exc)}") from None
        except BaseException:
            self._teardown()
            raise

    @abstractmethod
    def _start(self, setup: CameraSetup) -> None:
        """Write `setup` to the camera and start acquiring."""

    @abstractmethod
    def _stop(self) -> None:
        """Stop acquiring (for configure())."""

    @abstractmethod
    def _fire(self) -> None:
        """Send TriggerSoftware; SourceError or SourceDisconnected saying why not."""

    @abstractmethod
    def _poll(self, free: bool) -> CameraFrame | None:
        """Wait up to RETRIEVE_SLICE_MS for the camera's next frame; None when none came (or
        one came that no part will have). SourceDisconnected when the camera is gone."""

    @abstractmethod
    def _teardown(self) -> None:
        """Release the camera; safe when it was never opened."""

    @property
    def key(self) -> str:
        return f"{self.backend}:{self.serial}"

    def parameters(self) -> dict[str, Any]:
        """The camera's current values of the nodes the settings write (read back)."""
        with self._state:
            if self._closed.is_set():
                raise SourceError(f"{self.name}: closed")
            return self._nodes.read_back()

    def configure(self, setup: CameraSetup) -> None:
        """Apply a recipe's acquisition settings: acquisition stops, the nodes are written, it
        starts again. A software-triggered camera stays one (`CameraSetup.for_station`). When
        the camera refuses a setting: SourceError naming the node, the old settings back."""
        setup = setup.for_station(self.fired)
        with self._state, self._io:
            if self._closed.is_set():
                raise SourceError(f"{self.name}: closed")
            self._stop()
            try:
                self._start(setup)
            except SourceError:
                self._start(self.settings.setup)  # what it had, so the run goes on
                raise
            self.settings = dataclasses.replace(self.settings, setup=setup)

    def trigger(self) -> None:
        """Execute TriggerSoftware: the camera takes one frame, which the iteration yields.
        Only with trigger="software"."""
        if not self.fired:
            raise SourceError(
                f"{self.name}: trigger() needs trigger='software' "
                f"(this camera is set to {self.settings.setup.trigger!r})"
            )
        with self._state:
            if self._closed.is_set():
                raise SourceError(f"{self.name}: closed; no trigger sent")
            self._fire()
            self.triggers += 1

    def close(self) -> None:
        """Stop acquiring and release the camera; safe twice and from another thread (an
        iteration blocked on the camera ends within RETRIEVE_SLICE_MS)."""
        with self._state:
            if self._closed.is_set():
                return
            self._closed.set()
            with self._io:
                self._teardown()

    def __iter__(self) -> Iterator[Frame]:
        self._heard = time.monotonic()
        while True:
            with self._io:
                if self._closed.is_set():
                    return
                frame = self._poll(self.settings.setup.trigger == "free")
            if frame is not None:  # yielded without the lock, so close() is not held up
                self.delivered += 1
                yield frame

    def _check_heard(self, free: bool) -> None:
        """SourceDisconnected when a free-running camera sent nothing for `timeout_ms`."""
        if free and time.monotonic() - self._heard > self.settings.timeout_ms / 1000:
            raise SourceDisconnected(
                f"{self.name}: no frame for {self.settings.timeout_ms} ms in free run"
            )

    def _count_failed(self, what: str) -> None:
        """One more frame the camera did not deliver whole; logged, but not every one."""
        self.failed += 1
        if self.failed <= 10 or self.failed % 100 == 0:
            log.warning("%s: %s (%d so far)", self.name, what, self.failed)
