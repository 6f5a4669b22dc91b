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

import logging
import os
import time
from typing import Any

import numpy as np

from engine.cameras.common import (
    RETRIEVE_SLICE_MS,
    CameraFrame,
    CameraInfo,
    CameraNodes,
    CameraSettings,
    CameraSetup,
    CameraSource,
    NodeView,
    PixelFormatError,
    convert_into,
    find_one,
    frames_skipped,
    sdk_reason,
    to_engine_image,
)
from engine.sources import SourceDisconnected, SourceError

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


class PylonSource(CameraSource):
    """A Basler camera through pypylon; see the module docstring.

    Counters: `delivered` frames yielded, `failed` grab results that did not succeed, `dropped`
    images pylon skipped because a newer one came first (free run), `lost` (FrameSource) the
    camera's frames no part will have (dropped, failed in free run, block ids skipped),
    `triggers` software triggers sent. `camera` is pypylon's InstantCamera, for nodes the
    settings do not cover, while the source is open.
    """

    backend = "pylon"

    def __init__(self, settings: CameraSettings) -> None:
        self._pylon, self._genicam = load_pypylon()
        self._begin(settings)
        self.dropped = 0
        self._converters: dict[int, Any] = {}
        self._camera: Any = None
        self._last_block: int | None = None
        pylon, genicam = self._pylon, self._genicam
        factory = pylon.TlFactory.GetInstance()
        devices = factory.EnumerateDevices()
        hint = "" if os.environ.get("PYLON_CAMEMU") is None else " (PYLON_CAMEMU is set)"
        device = devices[find_one([_camera_info(d) for d in devices], settings, "pylon", hint)]
        self._found(_camera_info(device))

        def connect() -> None:
            self._camera = pylon.InstantCamera(factory.CreateDevice(device))
            self._camera.Open()

        def prepare() -> None:
            self._nodes = _PylonNodes(self.name, self._camera.GetNodeMap(), genicam)
            self._software = self._camera.GetNodeMap().GetNode("TriggerSoftware")
            self._wait_ready = True  # until the camera turns out not to support the wait
            self._start(settings.setup)

        self._open((genicam.GenericException,), connect, prepare, "grabbing")

    def _start(self, setup: CameraSetup) -> None:
        self._nodes.apply(setup)
        self.pixel_format: str = self._nodes.look("PixelFormat").value
        self._last_block = None
        pylon = self._pylon
        free = setup.trigger == "free"
        strategy = pylon.GrabStrategy_LatestImageOnly if free else pylon.GrabStrategy_OneByOne
        self._camera.StartGrabbing(strategy)

    def _stop(self) -> None:
        self._camera.StopGrabbing()

    @property
    def camera(self) -> Any:
        return self._camera

    def _fire(self) -> None:
        """A camera ignores a trigger while it cannot take one (still exposing or reading out,
        or within its frame-rate limit: the emulation's 100 fps), so this first waits, up to
        `timeout_ms`, until the camera is ready for a frame trigger (pylon's
        WaitForFrameTriggerReady, about 1 ms on the emulation); a camera not ready in that time
        is a SourceError and no trigger is sent."""
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

    def _teardown(self) -> None:
        camera, self._camera = self._camera, None
        if camera is None:
            return
        for step in (camera.StopGrabbing, camera.Close, camera.DestroyDevice):
            try:
                step()
            except self._genicam.GenericException as exc:
                log.debug("%s: %s: %s", self.name, step.__name__, sdk_reason(exc))

    def _poll(self, free: bool) -> CameraFrame | None:
        pylon, camera = self._pylon, self._camera
        try:
            # Removal is checked before every wait: a removed emulated camera in free run goes
            # on delivering valid frames. The result is taken once the wait object says it is
            # there.
            if camera.IsCameraDeviceRemoved():
                raise SourceDisconnected(f"{self.name}: camera removed (unplugged?)")
            ready = camera.GetGrabResultWaitObject().Wait(RETRIEVE_SLICE_MS)
            result = camera.RetrieveResult(0, pylon.TimeoutHandling_Return) if ready else None
        except self._genicam.GenericException as exc:
            raise SourceDisconnected(f"{self.name}: camera lost: {sdk_reason(exc)}") from None
        arrived = time.time()
        try:
            if result is not None and result.IsValid():
                self._heard = time.monotonic()
                return self._frame(result, arrived, free)
            if camera.IsCameraDeviceRemoved():
                raise SourceDisconnected(f"{self.name}: camera removed (unplugged?)")
            if not camera.IsGrabbing():
                raise SourceDisconnected(f"{self.name}: the camera stopped grabbing")
            self._check_heard(free)
            return None
        finally:
            if result is not None and result.IsValid():
                result.Release()

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
            reason = f"{result.GetErrorDescription()} (0x{result.GetErrorCode():x})"
            self._count_failed(f"grab failed: {reason}")
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
