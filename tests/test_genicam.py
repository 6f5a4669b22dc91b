"""The GenICam camera source (harvesters) against the genicam wheel's simulated producer.

viky.cti gives three cameras (serials 0, 1, 2) that free-run at 20 fps in Mono8 or RGBa8, with
Width / Height but no offsets, triggers, exposure or gain. No GenTL producer with triggers can be
installed here: none is on PyPI, and Debian 12's aravis 0.8 has a fake GigE Vision camera but no
GenTL producer to reach it through. So the trigger tests run only against a camera named by
STATION_TEST_GENTL_CAMERA (a spec, `genicam:SERIAL@/path/producer.cti`, for a real camera on the
bench) and are skipped otherwise; the pylon tests cover the trigger path on pylon's emulation.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import time

import numpy as np
import pytest

from engine.sources import SourceDisconnected, SourceError, open_source
from tests.cameras import Reader, closing_all, station_on
from tests.waiting import wait_until

HAVE_HARVESTERS = all(importlib.util.find_spec(m) for m in ("harvesters", "genicam"))
pytestmark = pytest.mark.skipif(
    not HAVE_HARVESTERS, reason="harvesters not installed (pip install inspection-station[genicam])"
)
BENCH_CAMERA = os.environ.get("STATION_TEST_GENTL_CAMERA")
needs_trigger_camera = pytest.mark.skipif(
    not BENCH_CAMERA,
    reason="no GenTL producer with triggers installs here (viky.cti has none); set "
    "STATION_TEST_GENTL_CAMERA=genicam:SERIAL@/path/producer.cti to run against a real camera",
)


@pytest.fixture(scope="module")
def cti() -> str:
    from engine.cameras.genicam import simulator

    return simulator()


@pytest.fixture
def opened(cti):
    """Opens GenicamSources (serial 1, 128×100 Mono8 by default) and closes every one."""
    from engine.cameras.common import CameraSettings, CameraSetup
    from engine.cameras.genicam import GenicamSource

    def open_(serial="1", producer=cti, timeout_ms=5000, **setup):
        setup.setdefault("roi", (0, 0, 128, 100))
        setup.setdefault("pixel_format", "Mono8")
        setup = CameraSetup(**setup)
        return GenicamSource(CameraSettings(serial, None, setup, producer, timeout_ms))

    yield from closing_all(open_)


def test_missing_harvesters_names_the_extra(monkeypatch):
    from engine.cameras import genicam as module

    monkeypatch.setitem(sys.modules, "harvesters.core", None)
    with pytest.raises(SourceError, match=r"pip install inspection-station\[genicam\]"):
        module.load_harvesters()


def test_discovery_lists_the_simulated_cameras_with_specs_that_open_them(cti):
    from engine.cameras.genicam import list_cameras

    cameras = list_cameras(cti)
    assert [c.serial for c in cameras] == ["0", "1", "2"]
    assert all("Viky" in c.model for c in cameras)
    assert cameras[2].spec == f"genicam:2@{cti}"
    with open_source(cameras[2].spec) as source:
        assert (source.kind, source.live, source.key) == ("camera", True, "genicam:2")
        assert source.serial == "2"


def test_producers_come_from_the_spec_or_the_gentl_path(cti, monkeypatch, tmp_path):
    from engine.cameras.genicam import list_cameras

    monkeypatch.setenv("GENICAM_GENTL64_PATH", str(tmp_path))
    with pytest.raises(SourceError, match=r"no GenTL producer.*GENICAM_GENTL64_PATH"):
        list_cameras()
    with pytest.raises(SourceError, match=r"nowhere\.cti: no such file"):
        list_cameras(str(tmp_path / "nowhere.cti"))
    monkeypatch.setenv("GENICAM_GENTL64_PATH", os.path.dirname(cti))
    assert [c.serial for c in list_cameras()] == ["0", "1", "2"]
    with open_source("genicam:0") as source:  # no producer in the spec: the path's
        assert source.serial == "0"


def test_an_unknown_serial_lists_the_cameras_found(opened):
    with pytest.raises(SourceError, match=r"genicam camera serial 9: not found.*0 .*1 .*2 "):
        opened(serial="9")


def test_free_run_yields_frames_with_the_cameras_ids(opened):
    source = opened()
    reader = Reader(source)
    before = time.time()
    frames = [reader.frame() for _ in range(4)]
    reader.stop()
    ids = [int(f.id) for f in frames]
    assert ids == sorted(ids) and len(set(ids)) == 4
    assert ids[0] == 1  # the producer's frame id, from the first buffer of this opening
    for frame in frames:
        assert before - 0.1 <= frame.timestamp <= time.time()
        assert frame.image.shape == (100, 128) and frame.image.dtype == np.uint8
        assert frame.pixel_format == "Mono8" and frame.camera_timestamp == 0  # viky has none
    assert source.delivered >= 4 and source.failed == 0


def test_rgba8_becomes_bgr_and_settings_read_back(opened):
    source = opened(pixel_format="RGBa8", roi=(0, 0, 160, 120))
    assert source.parameters() == {"Width": 160, "Height": 120, "PixelFormat": "RGBa8"}
    reader = Reader(source)
    frame = reader.frame()
    reader.stop()
    assert frame.image.shape == (120, 160, 3) and frame.image.dtype == np.uint8
    assert frame.image.flags.c_contiguous and frame.image.max() > 0


def test_frames_are_copies_not_the_producers_buffers(opened):
    source = opened()
    reader = Reader(source)
    first = reader.frame()
    kept = first.image.copy()
    for _ in range(4):  # the producer's 3 buffers are reused meanwhile
        reader.frame()
    reader.stop()
    assert np.array_equal(first.image, kept)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ({"trigger": "software"}, r"TriggerSelector: the camera has no such setting"),
        ({"trigger": "line1"}, r"TriggerSelector: the camera has no such setting"),
        ({"exposure_us": 1000}, r"ExposureTime: the camera has no such setting"),
        ({"gain_db": 1.0}, r"Gain: the camera has no such setting"),
        ({"binning": 2}, r"BinningHorizontal: the camera has no such setting"),
        ({"roi": (8, 0, 128, 100)}, r"OffsetX: the camera has no such setting"),
        ({"roi": (0, 0, 50, 100)}, r"Width: 50 is below the minimum 100"),
        ({"pixel_format": "Mono12"}, r"PixelFormat: the camera does not offer Mono12"),
    ],
)
def test_a_setting_the_camera_lacks_is_refused_naming_the_node(opened, setup, message):
    with pytest.raises(SourceError, match=message):
        opened(**setup)
    opened()  # the refused opening released the camera: it opens again


def test_configure_switches_the_pixel_format_while_open(opened):
    from engine.cameras.common import CameraSetup

    source = opened()
    reader = Reader(source)
    assert reader.frame().image.ndim == 2
    source.configure(CameraSetup(pixel_format="RGBa8", roi=(0, 0, 128, 100)))
    deadline = time.monotonic() + 2
    while reader.frame().image.ndim == 2:  # frames fetched before the switch may still come
        assert time.monotonic() < deadline
    with pytest.raises(SourceError, match="Gain"):
        source.configure(CameraSetup(gain_db=2.0))
    assert reader.frame().image.ndim == 3  # still acquiring with what it had
    reader.stop()


def test_trigger_is_refused_in_free_run(opened):
    with pytest.raises(SourceError, match="trigger='software'"):
        opened().trigger()


def test_close_from_another_thread_ends_the_iteration_within_1s(opened):
    source = opened()
    reader = Reader(source)
    reader.frame()
    started = time.monotonic()
    closer = threading.Thread(target=source.close)
    closer.start()
    reader.thread.join(timeout=1.0)
    closer.join(timeout=1.0)
    assert not reader.thread.is_alive() and time.monotonic() - started < 1.0
    source.close()
    assert list(source) == []


def test_a_camera_that_stops_sending_raises_source_disconnected(opened):
    source = opened(timeout_ms=300)
    reader = Reader(source)
    reader.frame()
    source.acquirer.remote_device.node_map.AcquisitionStop.execute()  # the camera goes quiet
    deadline = time.monotonic() + 3
    with pytest.raises(SourceDisconnected, match="no frame for 300 ms"):
        while time.monotonic() < deadline:
            reader.frame(timeout=deadline - time.monotonic())
    reader.stop()


def test_the_station_inspects_a_free_running_genicam_camera(cti, tmp_path):
    from engine.cameras.common import CameraSetup
    from engine.recorder import open_store

    setup = CameraSetup(roi=(0, 0, 128, 100), pixel_format="RGBa8")
    with open_store(tmp_path / "out") as store:
        spec = f"genicam:0@{cti}"
        with station_on(store, tmp_path / "bundle", spec, camera=setup) as (_, parts):
            wait_until(lambda: len(parts) >= 3, what="3 parts")
        rows = store.select([], [])
    assert all(p.frame.image.shape == (100, 128, 3) for p in parts)
    assert len(rows) >= 3 and {r.source for r in rows} == {"genicam:0"}


@needs_trigger_camera
def test_software_trigger_gives_one_frame_per_trigger_on_a_bench_camera():
    from engine.cameras.common import CameraSetup

    with open_source(BENCH_CAMERA, camera_setup=CameraSetup(), software=True) as source:
        reader = Reader(source)
        assert reader.nothing_within(0.5), "a frame came without a trigger"
        for _ in range(3):
            source.trigger()
            reader.frame(timeout=2.0)
            assert reader.nothing_within(0.1), "more than one frame for one trigger"
        assert source.triggers == source.delivered == 3
        reader.stop()
