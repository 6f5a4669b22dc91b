"""Basler cameras through pypylon: a live FrameSource with its settings applied on opening.

    settings = CameraSettings(serial="40123456", setup=CameraSetup(
        exposure_us=2000, gain_db=3, roi=(0, 0, 1280, 960), trigger="software"))
    with PylonSource(settings) as camera:
        camera.trigger()
        frame = next(iter(camera))    # a CameraFrame: Frame.id = the camera's block id

pypylon is imported when a source is opened (or `list_cameras()` is called), so the engine runs
without it; missing, it gives a SourceError naming the extra:
`pip install inspection-station[pylon]`. Settings, frames and the node writes are shared with
the GenICam backend (engine.cameras.common); a spec `pylon:SERIAL` opens one from anywhere a
source is chosen (engine.cameras.spec).

Grab strategy: free run uses GrabStrategy_LatestImageOnly (pylon keeps only the newest image, so
a consumer that falls behind sees current parts, not a backlog; images it overwrote count in
`dropped`). Triggered modes use GrabStrategy_OneByOne: every trigger is a part, and every frame
it produced is delivered, in order, even if the consumer was briefly busy.

Frames: `id` is the camera's block id (GigE Vision block id, USB3 Vision / emulation frame
counter; pylon's image number where the transport has none); it restarts with each opening and
wraps on GigE Vision 1.x (16 bits). `camera_timestamp` is the camera's clock in its ticks (ns on
USB3 Vision and ace 2; GevTimestampTickFrequency ticks on GigE; 0 on the emulation). Images as
`to_engine_image` makes them; packed and YUV formats through pylon's ImageFormatConverter.
A grab result that did not succeed (an incomplete GigE frame, a buffer underrun) counts in
`failed`: in free run it yields nothing and is an uninspected part (`lost`); triggered, it is
the triggered part, yielded as a Frame with `error` set, so the station stores a failure row for
it. Block ids skipped between two triggered frames are frames the camera lost: `lost` too.

Threads: `close()` may be called from any thread. The iteration waits for a grab result in slices
of RETRIEVE_SLICE_MS, so a close ends an iteration blocked on a camera that sends nothing within
one slice. A camera that is removed (unplugged, powered off, GigE heartbeat lost) or stops grabbing
without `close()` raises SourceDisconnected from the iteration; so does a free-running camera that
delivers nothing for `timeout_ms`. Triggered cameras wait for triggers without a time limit.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from engine.cameras.common import (
    RETRIEVE_SLICE_MS,
    CameraFrame,
    CameraInfo,
    CameraNodes,
    CameraSettings,
    CameraSetup,
    NodeView,
    PixelFormatError,
    convert_into,
    find_one,
    frames_skipped,
    sdk_reason,
    to_engine_image,
)
from engine.sources import Frame, FrameSource, SourceDisconnected, SourceError

log = logging.getLogger(__name__)

EXTRA_HINT = "pip install inspection-station[pylon]"
_NO_BLOCK_ID = 2**64 - 1  # pylon's block id where the transport layer has none


def load_pypylon() -> tuple[Any, Any]:
    """pypylon's `pylon` and `genicam` modules; a SourceError naming the extra when missing."""
    try:
        from pypylon import genicam, pylon
    except ImportError as exc:
        raise SourceError(
            f"Basler pylon cameras need the pypylon package: {EXTRA_HINT} ({exc})"
        ) from None
    return pylon, genicam


def list_cameras() -> list[CameraInfo]:
    """The cameras pylon finds now (with PYLON_CAMEMU=n set before the first call: n emulated)."""
    pylon, _ = load_pypylon()
    return [_camera_info(d) for d in pylon.TlFactory.GetInstance().EnumerateDevices()]


def _camera_info(device: Any) -> CameraInfo:
    serial = device.GetSerialNumber()
    return CameraInfo(
        serial,
        device.GetUserDefinedName(),
        device.GetModelName(),
        device.GetDeviceClass(),
        spec=f"pylon:{serial}",
    )


class _PylonNodes(CameraNodes):
    """pypylon's node map as CameraNodes sees it."""

    def __init__(self, name: str, nodes: Any, genicam: Any) -> None:
        super().__init__(name)
        self._nodes, self._genicam = nodes, genicam

    def look(self, name: str) -> NodeView | None:
        node = self._nodes.GetNode(name)
        genicam = self._genicam
        if node is None or not genicam.IsAvailable(node):
            return None
        view = NodeView(
            value=node.GetValue() if genicam.IsReadable(node) else None,
            writable=genicam.IsWritable(node),
            set=node.SetValue,
        )
        if isinstance(node, genicam.IEnumeration):
            view.symbols = tuple(node.GetSymbolics())
        elif isinstance(node, genicam.IInteger | genicam.IFloat):
            view.low, view.high, view.unit = node.GetMin(), node.GetMax(), node.GetUnit()
            if isinstance(node, genicam.IInteger):
                view.integer, view.step = True, node.GetInc()
        return view

    def refused(self, exc: BaseException) -> str | None:
        return sdk_reason(exc) if isinstance(exc, self._genicam.GenericException) else None


class PylonSource(FrameSource):
    """A Basler camera through pypylon; see the module docstring.

    Counters: `delivered` frames yielded, `failed` grab results that did not succeed, `dropped`
    images pylon skipped because a newer one came first (free run), `lost` (FrameSource) the
    camera's frames no part will have (dropped, failed in free run, block ids skipped),
    `triggers` software triggers sent. `camera` is pypylon's InstantCamera, for nodes the
    settings do not cover, while the source is open.
    """

    kind = "camera"
    live = True

    def __init__(self, settings: CameraSettings) -> None:
        self._pylon, self._genicam = load_pypylon()
        self.settings = settings
        self.fired = settings.setup.trigger == "software"  # the station's trigger fires it
        self.delivered = self.failed = self.dropped = self.triggers = 0
        self._closed = threading.Event()
        self._state = threading.Lock()  # the closed flag against trigger() and close()
        self._io = threading.Lock()  # RetrieveResult against the teardown and configure()
        self._converters: dict[int, Any] = {}
        self._camera: Any = None
        self._last_block: int | None = None
        pylon, genicam = self._pylon, self._genicam
        factory = pylon.TlFactory.GetInstance()
        devices = factory.EnumerateDevices()
        hint = "" if os.environ.get("PYLON_CAMEMU") is None else " (PYLON_CAMEMU is set)"
        device = devices[find_one([_camera_info(d) for d in devices], settings, "pylon", hint)]
        info = _camera_info(device)
        self.serial = info.serial
        self.name = f"pylon camera {info.serial}" + (f" ({info.user_id})" if info.user_id else "")
        try:
            self._camera = pylon.InstantCamera(factory.CreateDevice(device))
            self._camera.Open()
        except genicam.GenericException as exc:
            self._teardown()
            raise SourceError(
                f"{self.name}: cannot open ({sdk_reason(exc)}); in use by another program?"
            ) from None
        try:
            self._nodes = _PylonNodes(self.name, self._camera.GetNodeMap(), genicam)
            self._software = self._camera.GetNodeMap().GetNode("TriggerSoftware")
            self._wait_ready = True  # until the camera turns out not to support the wait
            self._start(settings.setup)
        except genicam.GenericException as exc:
            self._teardown()
            raise SourceError(f"{self.name}: cannot start grabbing: {sdk_reason(exc)}") from None
        except BaseException:
            self._teardown()
            raise

    def _start(self, setup: CameraSetup) -> None:
        self._nodes.apply(setup)
        self.pixel_format: str = self._nodes.look("PixelFormat").value
        self._last_block = None
        pylon = self._pylon
        free = setup.trigger == "free"
        strategy = pylon.GrabStrategy_LatestImageOnly if free else pylon.GrabStrategy_OneByOne
        self._camera.StartGrabbing(strategy)

    # --- the source ---------------------------------------------------------------------------
    @property
    def key(self) -> str:
        return f"pylon:{self.serial}"

    @property
    def camera(self) -> Any:
        return self._camera

    def parameters(self) -> dict[str, Any]:
        """The camera's current values of the nodes the settings write (read back)."""
        with self._state:
            if self._closed.is_set():
                raise SourceError(f"{self.name}: closed")
            return self._nodes.read_back()

    def configure(self, setup: CameraSetup) -> None:
        """Apply a recipe's acquisition settings: grabbing stops, the nodes are written, grabbing
        starts again. A software-triggered camera stays one (`CameraSetup.for_station`). When
        the camera refuses a setting: SourceError naming the node, the old settings back."""
        setup = setup.for_station(self.fired)
        with self._state, self._io:
            if self._closed.is_set():
                raise SourceError(f"{self.name}: closed")
            self._camera.StopGrabbing()
            try:
                self._start(setup)
            except SourceError:
                self._start(self.settings.setup)  # what it had, so the run goes on
                raise
            self.settings = dataclasses.replace(self.settings, setup=setup)

    def trigger(self) -> None:
        """Execute TriggerSoftware: the camera takes one frame, which the iteration yields.

        Only with trigger="software". A camera ignores a trigger while it cannot take one (still
        exposing or reading out, or within its frame-rate limit: the emulation's 100 fps), so
        this first waits, up to `timeout_ms`, until the camera is ready for a frame trigger
        (pylon's WaitForFrameTriggerReady, about 1 ms on the emulation); a camera not ready in
        that time is a SourceError and no trigger is sent."""
        if not self.fired:
            raise SourceError(
                f"{self.name}: trigger() needs trigger='software' "
                f"(this camera is set to {self.settings.setup.trigger!r})"
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
                        log.warning("%s: trigger sent unchecked: %s", self.name, sdk_reason(exc))
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
                raise SourceError(f"{self.name}: TriggerSoftware: {sdk_reason(exc)}") from None
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
                log.debug("%s: %s: %s", self.name, step.__name__, sdk_reason(exc))

    def __iter__(self) -> Iterator[Frame]:
        pylon = self._pylon
        last = time.monotonic()  # the last grab result of any kind
        while True:
            with self._io:
                if self._closed.is_set():
                    return
                camera = self._camera
                free = self.settings.setup.trigger == "free"
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
                    reason = sdk_reason(exc)
                    raise SourceDisconnected(f"{self.name}: camera lost: {reason}") from None
                arrived = time.time()
                frame = None
                try:
                    if result is not None and result.IsValid():
                        last = time.monotonic()
                        frame = self._frame(result, arrived, free)
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

    def _frame(self, result: Any, arrived: float, free: bool) -> CameraFrame | None:
        skipped = result.GetNumberOfSkippedImages()
        self.dropped += skipped
        self.lost += skipped
        block = result.GetBlockID()
        number = result.GetImageNumber()
        frame_id = number if block == _NO_BLOCK_ID else block
        if not free:
            self.lost += frames_skipped(self._last_block, frame_id)
            self._last_block = frame_id
        frame = CameraFrame(
            str(frame_id),
            arrived,
            self.name,
            camera_timestamp=result.GetTimeStamp(),
            image_number=number,
            pixel_format=self.pixel_format,
        )
        if not result.GrabSucceeded():
            self.failed += 1
            reason = f"{result.GetErrorDescription()} (0x{result.GetErrorCode():x})"
            if self.failed <= 10 or self.failed % 100 == 0:
                log.warning("%s: grab failed (%d so far): %s", self.name, self.failed, reason)
            if free:
                self.lost += 1
                return None
            frame.error = f"the camera's frame was incomplete: {reason}"
            return frame
        return convert_into(frame, lambda: self._image(result))

    def _image(self, result: Any) -> np.ndarray:
        try:
            array = result.GetArray()
        except Exception:  # pypylon makes no array of packed formats (Mono12p ...): pylon unpacks
            array = None
        if array is not None:
            try:
                return to_engine_image(
                    array, self.pixel_format, result.GetWidth(), result.GetHeight()
                )
            except PixelFormatError:  # YUV, RGB16 ...: pylon's converter makes BGR8 of them
                pass
        pylon = self._pylon
        ptype = result.GetPixelType()
        if pylon.IsMono(ptype) and not pylon.IsBayer(ptype):
            wide = pylon.BitDepth(ptype) > 8
            image = self._convert(result, pylon.PixelType_Mono16 if wide else pylon.PixelType_Mono8)
            return image.astype(np.uint16 if wide else np.uint8, copy=False)
        return self._convert(result, pylon.PixelType_BGR8packed)

    def _convert(self, result: Any, out: int) -> np.ndarray:
        converter = self._converters.get(out)
        if converter is None:
            converter = self._converters[out] = self._pylon.ImageFormatConverter()
            converter.OutputPixelFormat = out
        return converter.Convert(result).GetArray()
