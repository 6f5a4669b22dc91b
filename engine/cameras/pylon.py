"""Basler cameras through pypylon: a live FrameSource with its settings applied on opening.

    settings = PylonSettings(serial="40123456", exposure_us=2000, gain_db=3,
                             roi=(0, 0, 1280, 960), trigger="software")
    with PylonSource(settings) as camera:
        camera.trigger()
        frame = next(iter(camera))    # a PylonFrame: Frame.id = the camera's block id

pypylon is imported when a source is opened (or `list_cameras()` is called), so the engine runs
without it; missing, it gives a SourceError naming the extra:
`pip install inspection-station[pylon]`.

The camera is chosen by serial number or user id (DeviceUserID), never by its position in the
device list, which changes with enumeration order. Each setting is written to its GenICam node
and checked first against the node's range, so a value the camera cannot take is a SourceError
naming the node ("ExposureTime: 5 is below the minimum 10 µs") rather than a value the camera
silently rounds or clamps. `parameters()` reads the nodes back.

Grab strategy: free run uses GrabStrategy_LatestImageOnly (pylon keeps only the newest image, so
a consumer that falls behind sees current parts, not a backlog; images it overwrote count in
`dropped`). Triggered modes use GrabStrategy_OneByOne: every trigger is a part, and every frame
it produced is delivered, in order, even if the consumer was briefly busy.

Frames (`PylonFrame`, a Frame): `id` is the camera's block id (GigE Vision block id, USB3 Vision
/ emulation frame counter; pylon's image number where the transport has none); it restarts with
each opening and wraps on GigE Vision 1.x (16 bits). `timestamp` is the wall-clock time
(`time.time()`) the frame arrived on this host, as the engine's other live sources stamp it
(the station compares it with trigger times); `camera_timestamp` is the camera's own clock in its
ticks (ns on USB3 Vision and ace 2; GevTimestampTickFrequency ticks on GigE; 0 on the emulation).
Images: Mono8 -> 2-D uint8; Mono10/12/16 -> 2-D uint16 with the camera's values (Mono12: 0-4095,
not scaled); Bayer, RGB and other colour formats -> BGR uint8 (pylon's ImageFormatConverter, or
a channel swap for RGB8). A grab result that did not succeed (incomplete or failed buffer) yields
nothing and counts in `failed`.

Threads: `close()` may be called from any thread. The iterator waits for a grab result in slices
of RETRIEVE_SLICE_MS, so a close ends an iteration blocked on a camera that sends nothing within
one slice. A camera that is removed (unplugged, powered off, GigE heartbeat lost) or stops grabbing
without `close()` raises SourceDisconnected from the iteration; so does a free-running camera that
delivers nothing for `timeout_ms`. Triggered cameras wait for triggers without a time limit.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from engine.sources import Frame, FrameSource, SourceDisconnected, SourceError

log = logging.getLogger(__name__)

EXTRA_HINT = "pip install inspection-station[pylon]"
TRIGGERS = ("free", "software", "line1", "line2", "line3")
ACTIVATIONS = {"rising": "RisingEdge", "falling": "FallingEdge"}
#: How long one RetrieveResult waits; a close() from another thread ends an iteration within it.
RETRIEVE_SLICE_MS = 50
_NO_BLOCK_ID = 2**64 - 1  # pylon's block id where the transport layer has none
_UNITS = {"us": "µs"}


def load_pypylon() -> tuple[Any, Any]:
    """pypylon's `pylon` and `genicam` modules; a SourceError naming the extra when missing."""
    try:
        from pypylon import genicam, pylon
    except ImportError as exc:
        raise SourceError(
            f"Basler pylon cameras need the pypylon package: {EXTRA_HINT} ({exc})"
        ) from None
    return pylon, genicam


def _reason(exc: BaseException) -> str:
    """A GenICam exception's message without pylon's ' : XException thrown in ... (file ...)'."""
    text = str(exc).strip()
    return text.split(" : ", 1)[0] if " : " in text else text


@dataclass(frozen=True)
class PylonSettings:
    """What to open and how to set it up. None leaves the camera's own value (its user set).

    `serial` or `user_id` (DeviceUserID) chooses the camera; `roi` is (x, y, width, height) in
    pixels; `trigger` "free" (free run), "software" (`PylonSource.trigger()`) or "line1".."line3"
    (hardware input, on the `activation` edge); `timeout_ms`: how long a free-running camera may
    send nothing before it counts as gone.
    """

    serial: str | None = None
    user_id: str | None = None
    exposure_us: float | None = None
    gain_db: float | None = None
    roi: tuple[int, int, int, int] | None = None
    pixel_format: str | None = None
    trigger: str = "free"
    activation: str = "rising"
    timeout_ms: int = 5000

    def __post_init__(self) -> None:
        if not self.serial and not self.user_id:
            raise ValueError("give the camera's serial number or user id (never a list position)")
        if self.trigger not in TRIGGERS:
            raise ValueError(f"trigger {self.trigger!r}: one of {', '.join(TRIGGERS)}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation {self.activation!r}: one of {', '.join(ACTIVATIONS)}")
        if self.roi is not None and (
            len(self.roi) != 4 or any(int(v) != v for v in self.roi) or min(self.roi[2:]) <= 0
        ):
            raise ValueError(f"roi {self.roi!r}: (x, y, width, height) in whole pixels, size > 0")
        if self.timeout_ms <= 0:
            raise ValueError(f"timeout_ms {self.timeout_ms}: must be positive")


@dataclass
class PylonFrame(Frame):
    """A Frame with what the camera said about it (see the module docstring)."""

    camera_timestamp: int = 0  # the camera's clock, in its ticks
    image_number: int = 0  # pylon's count of images grabbed since StartGrabbing, from 1
    pixel_format: str = ""  # the camera's PixelFormat (GenICam name), before conversion


@dataclass(frozen=True)
class CameraInfo:
    serial: str
    user_id: str
    model: str
    device_class: str


def list_cameras() -> list[CameraInfo]:
    """The cameras pylon finds now (with PYLON_CAMEMU=n set before the first call: n emulated)."""
    pylon, _ = load_pypylon()
    return [_camera_info(d) for d in pylon.TlFactory.GetInstance().EnumerateDevices()]


def _camera_info(device: Any) -> CameraInfo:
    return CameraInfo(
        device.GetSerialNumber(),
        device.GetUserDefinedName(),
        device.GetModelName(),
        device.GetDeviceClass(),
    )


class PylonSource(FrameSource):
    """A Basler camera through pypylon; see the module docstring.

    Counters: `delivered` frames yielded, `failed` grab results that did not succeed (nothing
    yielded), `dropped` images pylon skipped because a newer one came first (free run),
    `triggers` software triggers sent. `camera` is pypylon's InstantCamera, for nodes the
    settings do not cover, while the source is open.
    """

    kind = "camera"
    live = True

    def __init__(self, settings: PylonSettings) -> None:
        self._pylon, self._genicam = load_pypylon()
        self.settings = settings
        self.fired = settings.trigger == "software"  # the station's software trigger fires it
        self.delivered = self.failed = self.dropped = self.triggers = 0
        self._closed = threading.Event()
        self._state = threading.Lock()  # the closed flag against trigger() and close()
        self._io = threading.Lock()  # RetrieveResult against the teardown
        self._converters: dict[int, Any] = {}
        self._camera: Any = None
        pylon, genicam = self._pylon, self._genicam
        wanted = f"serial {settings.serial}" if settings.serial else f"user id {settings.user_id}"
        factory = pylon.TlFactory.GetInstance()
        device = self._find(factory.EnumerateDevices(), wanted)
        info = _camera_info(device)
        self.serial = info.serial
        self.name = f"pylon camera {info.serial}" + (f" ({info.user_id})" if info.user_id else "")
        try:
            self._camera = pylon.InstantCamera(factory.CreateDevice(device))
            self._camera.Open()
        except genicam.GenericException as exc:
            self._teardown()
            raise SourceError(
                f"{self.name}: cannot open ({_reason(exc)}); in use by another program?"
            ) from None
        try:
            self._nodes = self._camera.GetNodeMap()
            self._apply()
            self._software = self._nodes.GetNode("TriggerSoftware")
            self._wait_ready = True  # until the camera turns out not to support the wait
            self.pixel_format: str = self._nodes.GetNode("PixelFormat").GetValue()
            free = settings.trigger == "free"
            strategy = pylon.GrabStrategy_LatestImageOnly if free else pylon.GrabStrategy_OneByOne
            self._camera.StartGrabbing(strategy)
        except genicam.GenericException as exc:
            self._teardown()
            raise SourceError(f"{self.name}: cannot start grabbing: {_reason(exc)}") from None
        except BaseException:
            self._teardown()
            raise

    # --- opening ------------------------------------------------------------------------------
    def _find(self, devices: Any, wanted: str) -> Any:
        settings = self.settings
        if settings.serial:
            found = [d for d in devices if d.GetSerialNumber() == settings.serial]
        else:
            found = [d for d in devices if d.GetUserDefinedName() == settings.user_id]
        if len(found) == 1:
            return found[0]
        seen = ", ".join(
            f"{i.serial} ({i.user_id or 'no user id'}, {i.model})"
            for i in map(_camera_info, devices)
        )
        if found:
            raise SourceError(f"pylon camera {wanted}: {len(found)} cameras match: {seen}")
        hint = "" if os.environ.get("PYLON_CAMEMU") is None else " (PYLON_CAMEMU is set)"
        raise SourceError(
            f"pylon camera {wanted}: not found; cameras found: {seen or 'none'}{hint}"
        )

    def _apply(self) -> None:
        s = self.settings
        self._enum("AcquisitionMode", "Continuous", required=False)
        if s.pixel_format is not None:
            self._enum("PixelFormat", s.pixel_format)
        if s.roi is not None:
            x, y, width, height = (int(v) for v in s.roi)
            for offset in ("OffsetX", "OffsetY"):  # so the full width and height are allowed
                node = self._writable(offset)
                if node.GetValue() != node.GetMin():
                    node.SetValue(node.GetMin())
            self._number("Width", width)
            self._number("Height", height)
            self._number("OffsetX", x)
            self._number("OffsetY", y)
        if s.exposure_us is not None:
            self._enum("ExposureAuto", "Off", required=False)
            name = "ExposureTime" if self._available("ExposureTime") else "ExposureTimeAbs"
            self._number(name, s.exposure_us)
        if s.gain_db is not None:
            self._enum("GainAuto", "Off", required=False)
            self._number("Gain", s.gain_db)  # cameras with GainRaw only have no gain in dB
        self._enum("TriggerSelector", "FrameStart")
        if s.trigger == "free":
            self._enum("TriggerMode", "Off")
        else:
            source = "Software" if s.trigger == "software" else f"Line{s.trigger[-1]}"
            self._enum("TriggerSource", source)
            if source != "Software":
                self._enum("TriggerActivation", ACTIVATIONS[s.activation])
            self._enum("TriggerMode", "On")

    def _available(self, name: str) -> bool:
        node = self._nodes.GetNode(name)
        return node is not None and self._genicam.IsAvailable(node)

    def _writable(self, name: str) -> Any:
        node = self._nodes.GetNode(name)
        if node is None or not self._genicam.IsAvailable(node):
            raise SourceError(f"{self.name}: {name}: the camera has no such setting")
        if not self._genicam.IsWritable(node):
            raise SourceError(f"{self.name}: {name}: not writable on this camera (now)")
        return node

    def _number(self, name: str, value: float) -> None:
        node = self._writable(name)
        unit = _UNITS.get(node.GetUnit(), node.GetUnit())
        unit = f" {unit}" if unit else ""
        low, high = node.GetMin(), node.GetMax()
        if value < low:
            raise SourceError(f"{self.name}: {name}: {value:g} is below the minimum {low:g}{unit}")
        if value > high:
            raise SourceError(f"{self.name}: {name}: {value:g} is above the maximum {high:g}{unit}")
        if isinstance(node, self._pylon.IntegerParameter):
            step = node.GetInc()
            if (int(value) - low) % step:
                raise SourceError(
                    f"{self.name}: {name}: {value:g} is not a multiple of {step} from {low}{unit}"
                )
            value = int(value)
        try:
            node.SetValue(value)
        except self._genicam.GenericException as exc:
            raise SourceError(f"{self.name}: {name}: {value:g} refused: {_reason(exc)}") from None

    def _enum(self, name: str, value: str, *, required: bool = True) -> None:
        if not required and not self._available(name):
            return
        node = self._writable(name)
        offered = node.GetSymbolics()
        if value not in offered:
            raise SourceError(
                f"{self.name}: {name}: the camera does not offer {value} "
                f"(it offers {', '.join(offered)})"
            )
        if node.GetValue() != value:
            try:
                node.SetValue(value)
            except self._genicam.GenericException as exc:
                raise SourceError(f"{self.name}: {name}: {value} refused: {_reason(exc)}") from None

    # --- the source ---------------------------------------------------------------------------
    @property
    def key(self) -> str:
        return f"pylon:{self.serial}"

    @property
    def camera(self) -> Any:
        return self._camera

    def parameters(self) -> dict[str, Any]:
        """The camera's current values of the nodes the settings write (read back)."""
        exposure = "ExposureTime" if self._available("ExposureTime") else "ExposureTimeAbs"
        names = (
            exposure, "Gain", "Width", "Height", "OffsetX", "OffsetY",
            "PixelFormat", "TriggerSelector", "TriggerMode", "TriggerSource", "TriggerActivation",
        )  # fmt: skip
        values: dict[str, Any] = {}
        with self._state:
            if self._closed.is_set():
                raise SourceError(f"{self.name}: closed")
            for name in names:
                node = self._nodes.GetNode(name)
                if node is not None and self._genicam.IsReadable(node):
                    values[name] = node.GetValue()
        return values

    def trigger(self) -> None:
        """Execute TriggerSoftware: the camera takes one frame, which the iteration yields.

        Only with trigger="software". A camera ignores a trigger while it cannot take one (still
        exposing or reading out, or within its frame-rate limit: the emulation's 100 fps), so
        this first waits, up to `timeout_ms`, until the camera is ready for a frame trigger
        (pylon's WaitForFrameTriggerReady, about 1 ms on the emulation); a camera not ready in
        that time is a SourceError and no trigger is sent."""
        if self.settings.trigger != "software":
            raise SourceError(
                f"{self.name}: trigger() needs trigger='software' "
                f"(this camera is set to {self.settings.trigger!r})"
            )
        with self._state:
            if self._closed.is_set():
                raise SourceError(f"{self.name}: closed; no trigger sent")
            pylon = self._pylon
            try:
                if self._wait_ready:
                    try:
                        ready = self._camera.WaitForFrameTriggerReady(
                            self.settings.timeout_ms, pylon.TimeoutHandling_Return
                        )
                    except self._genicam.LogicalErrorException as exc:  # camera cannot say
                        log.warning("%s: trigger sent unchecked: %s", self.name, _reason(exc))
                        self._wait_ready, ready = False, True
                    if not ready:
                        raise SourceError(
                            f"{self.name}: not ready for a trigger within "
                            f"{self.settings.timeout_ms} ms; no trigger sent"
                        )
                self._software.Execute()
            except self._genicam.GenericException as exc:
                if self._camera.IsCameraDeviceRemoved():
                    raise SourceDisconnected(f"{self.name}: camera removed") from None
                raise SourceError(f"{self.name}: TriggerSoftware: {_reason(exc)}") from None
            self.triggers += 1

    def close(self) -> None:
        """Stop grabbing and close the camera; safe twice and from another thread (an iteration
        blocked on the camera ends within RETRIEVE_SLICE_MS)."""
        with self._state:
            if self._closed.is_set():
                return
            self._closed.set()
            with self._io:
                self._teardown()

    def _teardown(self) -> None:
        camera, self._camera = self._camera, None
        if camera is None:
            return
        for step in (camera.StopGrabbing, camera.Close, camera.DestroyDevice):
            try:
                step()
            except self._genicam.GenericException as exc:
                log.debug("%s: %s: %s", self.name, step.__name__, _reason(exc))

    def __iter__(self) -> Iterator[PylonFrame]:
        pylon = self._pylon
        free = self.settings.trigger == "free"
        last = time.monotonic()  # the last grab result of any kind
        while True:
            with self._io:
                if self._closed.is_set():
                    return
                camera = self._camera
                try:
                    # Removal is checked before every wait: a removed emulated camera in free
                    # run goes on delivering valid frames. The result is taken once the wait
                    # object says it is there.
                    if camera.IsCameraDeviceRemoved():
                        raise SourceDisconnected(f"{self.name}: camera removed (unplugged?)")
                    ready = camera.GetGrabResultWaitObject().Wait(RETRIEVE_SLICE_MS)
                    result = (
                        camera.RetrieveResult(0, pylon.TimeoutHandling_Return) if ready else None
                    )
                except self._genicam.GenericException as exc:
                    raise SourceDisconnected(f"{self.name}: camera lost: {_reason(exc)}") from None
                arrived = time.time()
                frame = None
                try:
                    if result is not None and result.IsValid():
                        last = time.monotonic()
                        frame = self._frame(result, arrived)
                    elif camera.IsCameraDeviceRemoved():
                        raise SourceDisconnected(f"{self.name}: camera removed (unplugged?)")
                    elif not camera.IsGrabbing():
                        raise SourceDisconnected(f"{self.name}: the camera stopped grabbing")
                    elif free and time.monotonic() - last > self.settings.timeout_ms / 1000:
                        raise SourceDisconnected(
                            f"{self.name}: no frame for {self.settings.timeout_ms} ms in free run"
                        )
                finally:
                    if result is not None and result.IsValid():
                        result.Release()
            if frame is not None:  # yielded without the lock, so close() is not held up
                self.delivered += 1
                yield frame

    def _frame(self, result: Any, arrived: float) -> PylonFrame | None:
        self.dropped += result.GetNumberOfSkippedImages()
        if not result.GrabSucceeded():
            self.failed += 1
            if self.failed <= 10 or self.failed % 100 == 0:
                log.warning(
                    "%s: grab failed (%d so far): %s (0x%x)",
                    self.name,
                    self.failed,
                    result.GetErrorDescription(),
                    result.GetErrorCode(),
                )
            return None
        start = time.perf_counter()
        image = self._image(result)
        block = result.GetBlockID()
        number = result.GetImageNumber()
        return PylonFrame(
            str(number if block == _NO_BLOCK_ID else block),
            arrived,
            self.name,
            image,
            decode_ms=(time.perf_counter() - start) * 1000.0,
            camera_timestamp=result.GetTimeStamp(),
            image_number=number,
            pixel_format=self.pixel_format,
        )

    def _image(self, result: Any) -> np.ndarray:
        pylon = self._pylon
        ptype = result.GetPixelType()
        if pylon.IsMono(ptype) and not pylon.IsBayer(ptype):
            wide = pylon.BitDepth(ptype) > 8
            try:
                image = result.GetArray()
            except Exception:  # packed formats (Mono12p ...): unpack with pylon's converter
                out = pylon.PixelType_Mono16 if wide else pylon.PixelType_Mono8
                image = self._convert(result, out)
            return image.astype(np.uint16 if wide else np.uint8, copy=False)
        if ptype == pylon.PixelType_BGR8packed:
            return result.GetArray()
        if ptype == pylon.PixelType_RGB8packed:
            return cv2.cvtColor(result.GetArray(), cv2.COLOR_RGB2BGR)
        return self._convert(result, pylon.PixelType_BGR8packed)  # Bayer, YUV, RGB16, BGRA ...

    def _convert(self, result: Any, out: int) -> np.ndarray:
        converter = self._converters.get(out)
        if converter is None:
            converter = self._converters[out] = self._pylon.ImageFormatConverter()
            converter.OutputPixelFormat = out
        return converter.Convert(result).GetArray()
