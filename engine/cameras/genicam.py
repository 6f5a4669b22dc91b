"""GenICam cameras of any vendor through a GenTL producer (.cti) and harvesters: a live
FrameSource with the same settings, frames and behaviour as the pylon backend.

    settings = CameraSettings(serial="21A0034", producer="/opt/vendor/lib/producer.cti",
                              setup=CameraSetup(exposure_us=2000, trigger="software"))
    with GenicamSource(settings) as camera:
        camera.trigger()
        frame = next(iter(camera))    # a CameraFrame: Frame.id = the buffer's frame id

harvesters and genicam are imported when a source is opened or `list_cameras()` is called;
missing, a SourceError names the extra: `pip install inspection-station[genicam]`. The producer
comes with the camera vendor's SDK (GigE Vision / USB3 Vision); without one given, the producers
on GENICAM_GENTL64_PATH (the GenTL standard's variable, folders separated by ':') are searched.
The genicam wheel ships a simulated producer, `genicam/viky.cti` (`SIMULATOR`): three cameras,
serials 0-2, free-running at 20 fps, Mono8 and RGBa8, no triggers, no exposure or gain.

One harvesters Harvester per producer serves every camera opened through it: a second Harvester
on the same .cti in one process sees no devices. Its device list is refreshed when no camera of
that producer is open (harvesters' update() drops every open acquirer), so a lost camera is found
again once its source was closed, which the station's reconnect does.

Frames: `id` is the GenTL buffer's frame id (it restarts with each opening); `camera_timestamp`
the buffer's timestamp in the producer's ticks (0 where it has none). Images as
`to_engine_image` makes them (harvesters unpacks packed formats). A buffer the producer marks
incomplete counts in `failed`: in free run an uninspected part (`lost`), triggered the triggered
part, yielded as a Frame with `error` set. Frame ids skipped between delivered frames (a buffer
underrun, a GigE frame never resent) count in `lost`.

Faults: a free-running camera that delivers nothing for `timeout_ms`, one whose acquisition
stopped, and a fetch or trigger the producer fails raise SourceDisconnected. A GenTL producer
has no standard "device removed" signal, so a hardware-triggered camera that is unplugged while
no trigger comes shows up at the next trigger or open.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from engine.cameras.common import (
    RETRIEVE_SLICE_MS,
    CameraFrame,
    CameraInfo,
    CameraNodes,
    CameraSettings,
    CameraSetup,
    CameraSource,
    NodeView,
    convert_into,
    find_one,
    frames_skipped,
    sdk_reason,
    to_engine_image,
)
from engine.cameras.spec import PRODUCER_PATH_VARIABLE
from engine.sources import Frame, SourceDisconnected, SourceError

log = logging.getLogger(__name__)

EXTRA_HINT = "pip install inspection-station[genicam]"


def load_harvesters() -> tuple[Any, Any, Any]:
    """harvesters' Harvester class and genicam's genapi and gentl modules; a SourceError naming
    the extra when missing."""
    try:
        from genicam import genapi, gentl
        from harvesters.core import Harvester
    except ImportError as exc:
        raise SourceError(
            f"GenICam cameras need the harvesters and genicam packages: {EXTRA_HINT} ({exc})"
        ) from None
    return Harvester, genapi, gentl


def simulator() -> str:
    """The path of the simulated producer the genicam wheel ships (viky.cti)."""
    load_harvesters()
    import genicam

    return str(Path(genicam.__file__).with_name("viky.cti"))


def producers(producer: str | None) -> list[str]:
    """The .cti files to look through: `producer`, else those on GENICAM_GENTL64_PATH. A
    SourceError says what is missing."""
    if producer:
        path = Path(producer).expanduser()
        if not path.is_file():
            raise SourceError(f"GenTL producer {producer}: no such file")
        return [str(path.resolve())]
    folders = [f for f in os.environ.get(PRODUCER_PATH_VARIABLE, "").split(os.pathsep) if f]
    found = sorted(str(p.resolve()) for f in folders for p in Path(f).glob("*.cti"))
    if not found:
        raise SourceError(
            f"no GenTL producer: give one (genicam:SERIAL@/path/producer.cti) or set "
            f"{PRODUCER_PATH_VARIABLE} to its folder (it comes with the camera vendor's SDK)"
        )
    return found


class _Producer:
    """One Harvester on one .cti, shared by every source opened through it (see the module
    docstring); `users` counts the open sources."""

    lock = threading.Lock()

    def __init__(self, path: str, harvester_class: Any) -> None:
        self.path = path
        self.harvester = harvester_class()
        self.harvester.add_file(path)
        self.harvester.update()
        self.users = 0

    @classmethod
    def get(cls, path: str, harvester_class: Any) -> _Producer:
        """The producer at `path`, its device list refreshed when none of its cameras is open.
        Call with `lock` held."""
        producer = _LOADED.get(path)
        if producer is None:
            producer = _LOADED[path] = cls(path, harvester_class)
        elif producer.users == 0:
            producer.harvester.update()
        return producer

    def cameras(self) -> list[CameraInfo]:
        return [self._info(d) for d in self.harvester.device_info_list]

    def _info(self, device: Any) -> CameraInfo:
        known = device.property_dict  # None where the producer does not say (raises otherwise)
        serial = str(known.get("serial_number") or "")
        return CameraInfo(
            serial,
            str(known.get("user_defined_name") or ""),
            f"{known.get('vendor') or ''} {known.get('model') or ''}".strip(),
            str(known.get("tl_type") or ""),
            spec=f"genicam:{serial}@{self.path}",
        )

    def release(self) -> None:
        with self.lock:
            self.users -= 1


_LOADED: dict[str, _Producer] = {}  # by .cti path, for the life of the process


def list_cameras(producer: str | None = None) -> list[CameraInfo]:
    """The cameras the producer(s) find now (see `producers`); each `spec` opens it."""
    harvester_class, _, _ = load_harvesters()
    found: list[CameraInfo] = []
    with _Producer.lock:
        for path in producers(producer):
            found.extend(_Producer.get(path, harvester_class).cameras())
    return found


class _GenicamNodes(CameraNodes):
    """genicam's (harvesters') node map as CameraNodes sees it."""

    def __init__(self, name: str, nodes: Any, genapi: Any) -> None:
        super().__init__(name)
        self._nodes, self._genapi = nodes, genapi

    def look(self, name: str) -> NodeView | None:
        genapi = self._genapi
        if not self._nodes.has_node(name):
            return None
        node = self._nodes.get_node(name)
        if not genapi.is_available(node):
            return None

        def write(value: Any) -> None:
            node.value = value

        view = NodeView(
            value=node.value if genapi.is_readable(node) else None,
            writable=genapi.is_writable(node),
            set=write,
        )
        if isinstance(node, genapi.IEnumeration):
            view.symbols = tuple(node.symbolics)
        elif isinstance(node, genapi.IInteger):
            view.low, view.high, view.integer, view.step = node.min, node.max, True, node.inc
        elif isinstance(node, genapi.IFloat):
            view.low, view.high, view.unit = node.min, node.max, node.unit
        return view

    def refused(self, exc: BaseException) -> str | None:
        return sdk_reason(exc) if isinstance(exc, self._genapi.GenericException) else None


class GenicamSource(CameraSource):
    """A GenICam camera through a GenTL producer; see the module docstring.

    Counters as PylonSource's: `delivered`, `failed` (incomplete buffers), `lost`, `triggers`.
    `acquirer` is harvesters' ImageAcquirer, for nodes the settings do not cover.
    """

    backend = "genicam"

    def __init__(self, settings: CameraSettings) -> None:
        harvester_class, self._genapi, self._gentl = load_harvesters()
        self._begin(settings)
        self._errors = (self._genapi.GenericException, self._gentl.GenericException)
        self._incomplete = 0  # incomplete buffers the producer discarded, by harvesters' callback
        self._seen_incomplete = 0  # of those, the ones the iteration has turned into frames
        self._last_id: int | None = None
        self._acquirer: Any = None
        self._producer: _Producer | None = None
        with _Producer.lock:
            loaded = [_Producer.get(p, harvester_class) for p in producers(settings.producer)]
            cameras = [(p, i, info) for p in loaded for i, info in enumerate(p.cameras())]
            index = find_one([info for _, _, info in cameras], settings, "genicam")
            self._producer, position, info = cameras[index]  # in the list just enumerated
            self._producer.users += 1
        self._found(info)
        harvester = self._producer.harvester

        def connect() -> None:
            self._acquirer = harvester.create(harvester.device_info_list[position])

        def prepare() -> None:
            node_map = self._acquirer.remote_device.node_map
            self._nodes = _GenicamNodes(self.name, node_map, self._genapi)
            self._acquirer.add_callback(
                self._acquirer.Events.INCOMPLETE_BUFFER, _callback(self._count_incomplete)
            )
            self._start(settings.setup)

        self._open(self._errors, connect, prepare, "acquiring", also_on_open=(ValueError,))

    def _count_incomplete(self) -> None:
        self._incomplete += 1

    def _start(self, setup: CameraSetup) -> None:
        self._nodes.apply(setup)
        self.pixel_format: str = self._nodes.look("PixelFormat").value
        if setup.trigger == "software":
            self._nodes.writable("TriggerSoftware")  # SourceError naming it when missing
        self._last_id = None
        self._acquirer.start()

    def _stop(self) -> None:
        self._acquirer.stop()

    @property
    def acquirer(self) -> Any:
        return self._acquirer

    def _fire(self) -> None:
        try:
            self._acquirer.remote_device.node_map.get_node("TriggerSoftware").execute()
        except self._errors as exc:
            raise SourceDisconnected(f"{self.name}: TriggerSoftware: {sdk_reason(exc)}") from None

    def _teardown(self) -> None:
        acquirer, self._acquirer = self._acquirer, None
        if acquirer is not None:
            try:
                acquirer.stop()
                acquirer.destroy()
            except self._errors as exc:
                log.debug("%s: release: %s", self.name, sdk_reason(exc))
        producer, self._producer = self._producer, None
        if producer is not None:
            producer.release()

    def __iter__(self) -> Iterator[Frame]:
        self._seen_incomplete = self._incomplete  # those before this iteration are no parts
        yield from super().__iter__()

    def _poll(self, free: bool) -> CameraFrame | None:
        acquirer = self._acquirer
        try:
            buffer = acquirer.try_fetch(timeout=RETRIEVE_SLICE_MS / 1000)
        except self._errors as exc:
            raise SourceDisconnected(f"{self.name}: camera lost: {sdk_reason(exc)}") from None
        arrived = time.time()
        if buffer is not None:
            self._heard = time.monotonic()
            try:
                return self._frame(buffer, arrived)
            finally:
                buffer.queue()
        if self._incomplete > self._seen_incomplete:
            self._heard = time.monotonic()
            self._seen_incomplete += 1
            return self._incomplete_frame(arrived, free)
        if not acquirer.is_acquiring():
            raise SourceDisconnected(f"{self.name}: the camera stopped acquiring")
        self._check_heard(free)
        return None

    def _frame(self, buffer: Any, arrived: float) -> CameraFrame:
        frame_id = int(buffer.module.frame_id)
        self.lost += frames_skipped(self._last_id, frame_id)
        self._last_id = frame_id
        component = buffer.payload.components[0]
        frame = CameraFrame(
            str(frame_id),
            arrived,
            self.name,
            camera_timestamp=int(buffer.timestamp),
            image_number=self.delivered + 1,
            pixel_format=component.data_format,
        )
        width, height = component.width, component.height
        # A copy: the buffer goes back to the producer when queued.
        return convert_into(
            frame,
            lambda: to_engine_image(component.data.copy(), frame.pixel_format, width, height),
        )

    def _incomplete_frame(self, arrived: float, free: bool) -> CameraFrame | None:
        self._count_failed("incomplete buffer")
        if free:
            self.lost += 1
            return None
        error = "the camera's frame was incomplete (the producer discarded the buffer)"
        return CameraFrame(
            f"incomplete-{self.failed}", arrived, self.name, error=error, pixel_format=""
        )


def _callback(call: Callable[[], None]) -> Any:
    """A harvesters Callback (the type it insists on) that calls `call`."""
    from harvesters.core import Callback

    class Calling(Callback):
        def emit(self, context: Any = None) -> None:
            call()

    return Calling()
