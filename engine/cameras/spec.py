"""Industrial cameras named as a source spec: one syntax for both backends, wherever a source is
chosen (`station inspect`, `station serve`'s [source] spec, the window's source picker).

    pylon:40123456                          Basler camera, serial number 40123456
    pylon:user=top-cam                      ... by its user id (DeviceUserID)
    genicam:40123456@/opt/x/producer.cti    GenICam camera through that GenTL producer
    genicam:user=top-cam                    ... through the producers on GENICAM_GENTL64_PATH

A camera is chosen by serial number or user id, never by its position in the device list. The
producer path is taken as written (relative: to the working folder). engine.sources classifies
these specs as cameras and opens them here; the vendor SDKs are imported only when one opens.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # engine.cameras.common imports engine.sources, which imports this module
    from engine.cameras.common import CameraInfo, CameraSetup
    from engine.sources import FrameSource

SCHEMES = ("pylon", "genicam")
SOURCE_CLASSES = {"pylon": "PylonSource", "genicam": "GenicamSource"}  # in engine.cameras.<name>
USER = "user="
#: The GenTL standard's variable: folders (separated by ':') holding producers (.cti).
PRODUCER_PATH_VARIABLE = "GENICAM_GENTL64_PATH"


class CameraSpecError(ValueError):
    """A camera spec that names no camera; the message shows the syntax."""


@dataclass(frozen=True)
class CameraSpec:
    backend: str  # one of SCHEMES
    serial: str | None = None
    user_id: str | None = None
    producer: str | None = None  # genicam: the GenTL producer (.cti); None: GENICAM_GENTL64_PATH

    def __str__(self) -> str:
        who = self.serial if self.serial else f"{USER}{self.user_id}"
        return f"{self.backend}:{who}" + (f"@{self.producer}" if self.producer else "")


def is_camera_spec(text: str) -> bool:
    """Does `text` name an industrial camera (whether or not the rest of it is right)?"""
    scheme, colon, _ = text.partition(":")
    return bool(colon) and scheme.lower() in SCHEMES


def parse_camera_spec(text: str) -> CameraSpec:
    """The camera `text` names; CameraSpecError saying what is wrong and how to write it."""
    scheme, _, rest = text.strip().partition(":")
    backend = scheme.lower()
    if backend not in SCHEMES:
        raise CameraSpecError(f"{text}: not a camera spec ({' or '.join(SCHEMES)}:SERIAL)")
    who, at, producer = rest.partition("@")
    if at and backend != "genicam":
        raise CameraSpecError(f"{text}: only genicam: cameras take a producer (@path.cti)")
    if at and not producer.strip():
        raise CameraSpecError(f"{text}: no producer after '@' (genicam:SERIAL@/path/x.cti)")
    who = who.strip()
    user = who[len(USER) :].strip() if who.startswith(USER) else None
    if not who or user == "":
        raise CameraSpecError(
            f"{text}: name the camera by serial number or user id: {backend}:SERIAL or "
            f"{backend}:{USER}NAME"
        )
    return CameraSpec(
        backend,
        serial=None if user is not None else who,
        user_id=user,
        producer=producer.strip() or None,
    )


def _backend(name: str) -> ModuleType:
    """The backend module of a scheme, imported by name: importing engine.sources or the GUI
    then imports no backend, and a backend's SDK loads only when one of its cameras is opened
    or listed (the camera-extras-optional contract in pyproject.toml)."""
    return importlib.import_module(f"engine.cameras.{name}")


def open_camera(spec: CameraSpec, setup: CameraSetup | None, software: bool) -> FrameSource:
    """Open the camera `spec` names with `setup` (None: the camera's own settings) as a station
    run uses it (`software`: fired by the station's software trigger; else free run, or
    hardware-triggered on a line)."""
    from engine.cameras.common import CameraSettings, CameraSetup

    setup = (setup or CameraSetup()).for_station(software)
    settings = CameraSettings(spec.serial, spec.user_id, setup, producer=spec.producer)
    return getattr(_backend(spec.backend), SOURCE_CLASSES[spec.backend])(settings)


def list_all(producer: str | None = None) -> tuple[list[CameraInfo], list[str]]:
    """Every camera both backends find now (genicam: through `producer`, else the producers on
    GENICAM_GENTL64_PATH), and one line for each backend that could not look (its extra not
    installed, no producer found): what the source picker lists."""
    from engine.sources import SourceError

    found: list[CameraInfo] = []
    problems: list[str] = []
    for backend in SCHEMES:
        module = _backend(backend)
        try:
            found.extend(module.list_cameras(producer) if backend == "genicam" else
                         module.list_cameras())  # fmt: skip
        except SourceError as exc:
            problems.append(f"{backend}: {exc}")
    return found, problems
