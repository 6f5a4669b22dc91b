"""The Basler pylon camera source against pylon's camera emulation (PYLON_CAMEMU).

The emulated cameras (serials 0815-0000, 0815-0001) free-run at about 100 fps, take software
and line triggers, and offer the nodes the settings write; two of their test nodes make grabs
fail (ForceFailedBuffer) and simulate an unplugged camera (FirePnPCallbackValue). Every wait
is bounded: frames are read on a thread into a queue, and each test waits on the queue.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import time

import numpy as np
import pytest

from engine.sources import SourceDisconnected, SourceError
from tests.cameras import Reader, closing_all, station_on
from tests.waiting import wait_until

HAVE_PYPYLON = importlib.util.find_spec("pypylon") is not None
needs_pylon = pytest.mark.skipif(
    not HAVE_PYPYLON, reason="pypylon not installed (pip install inspection-station[pylon])"
)
SERIALS = ("0815-0000", "0815-0001")


@pytest.fixture(scope="module")
def emulation():
    """Two emulated cameras; the variable is read at each enumeration."""
    if not HAVE_PYPYLON:
        pytest.skip("pypylon not installed (pip install inspection-station[pylon])")
    from engine.cameras.pylon import list_cameras

    old = os.environ.get("PYLON_CAMEMU")
    os.environ["PYLON_CAMEMU"] = "2"
    serials = {c.serial for c in list_cameras()}
    if not set(SERIALS) <= serials:
        pytest.skip(f"pylon's camera emulation gives no cameras {SERIALS} (found {serials})")
    yield
    if old is None:
        os.environ.pop("PYLON_CAMEMU", None)
    else:
        os.environ["PYLON_CAMEMU"] = old


@pytest.fixture
def opened(emulation):
    """Opens PylonSources and closes every one at the end, even when the test failed."""
    from engine.cameras.common import CameraSettings, CameraSetup
    from engine.cameras.pylon import PylonSource

    def open_(serial=SERIALS[0], **setup):
        setup.setdefault("roi", (0, 0, 64, 48))
        setup.setdefault("pixel_format", "Mono8")
        return PylonSource(CameraSettings(serial=serial, setup=CameraSetup(**setup)))

    yield from closing_all(open_)


def test_missing_pypylon_names_the_extra(monkeypatch):
    from engine.cameras import pylon as module

    monkeypatch.setitem(sys.modules, "pypylon", None)  # import pypylon now raises ImportError
    with pytest.raises(SourceError, match=r"pip install inspection-station\[pylon\]"):
        module.load_pypylon()


@needs_pylon
def test_opens_the_camera_with_the_serial(opened):
    from engine.cameras.pylon import list_cameras

    assert {c.serial for c in list_cameras()} >= set(SERIALS)
    source = opened(serial="0815-0001")
    assert source.serial == "0815-0001"
    assert source.camera.GetDeviceInfo().GetSerialNumber() == "0815-0001"
    assert (source.kind, source.live, source.key) == ("camera", True, "pylon:0815-0001")
    assert "0815-0001" in source.name


@needs_pylon
def test_an_unknown_serial_lists_the_cameras_found(emulation):
    from engine.cameras.common import CameraSettings
    from engine.cameras.pylon import PylonSource

    with pytest.raises(SourceError, match="not found") as info:
        PylonSource(CameraSettings(serial="4711"))
    assert all(serial in str(info.value) for serial in SERIALS)


@needs_pylon
def test_settings_are_applied_and_read_back(opened):
    source = opened(
        exposure_us=2500,
        gain_db=3.0,
        roi=(16, 8, 320, 240),
        pixel_format="Mono12",
        trigger="line2",
        activation="falling",
    )
    values = source.parameters()
    assert values["ExposureTime"] == pytest.approx(2500)
    assert values["Gain"] == pytest.approx(3.0, abs=0.01)
    assert (values["OffsetX"], values["OffsetY"], values["Width"], values["Height"]) == (
        16,
        8,
        320,
        240,
    )
    assert values["PixelFormat"] == "Mono12"
    assert (values["TriggerSelector"], values["TriggerMode"]) == ("FrameStart", "On")
    assert (values["TriggerSource"], values["TriggerActivation"]) == ("Line2", "FallingEdge")
    free = opened(serial=SERIALS[1], trigger="free")
    assert free.parameters()["TriggerMode"] == "Off"


@needs_pylon
@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"exposure_us": 0.5}, r"ExposureTime: 0.5 is below the minimum 1 µs"),
        ({"gain_db": 99}, r"Gain: 99 is above the maximum 48(\.\d+)? dB"),
        ({"pixel_format": "Mono12p"}, r"PixelFormat: the camera does not offer Mono12p"),
        ({"roi": (4000, 0, 320, 240)}, r"OffsetX: 4000 is above the maximum"),
        ({"roi": (0, 0, 5000, 240)}, r"Width: 5000 is above the maximum"),
    ],
)
def test_a_setting_out_of_range_is_refused_naming_the_node(opened, settings, message):
    with pytest.raises(SourceError, match=message):
        opened(**settings)
    opened()  # the refused opening closed the camera again: it opens


@needs_pylon
def test_free_run_yields_frames_with_increasing_camera_ids(opened):
    source = opened(trigger="free", roi=(0, 0, 128, 96))
    reader = Reader(source)
    before = time.time()
    frames = [reader.frame() for _ in range(5)]
    reader.stop()
    ids = [int(f.id) for f in frames]
    assert ids == sorted(ids) and len(set(ids)) == 5
    for frame in frames:
        assert before - 0.1 <= frame.timestamp <= time.time()  # arrival wall time
        assert frame.image.shape == (96, 128) and frame.image.dtype == np.uint8
        assert frame.image_number >= 1 and frame.pixel_format == "Mono8"


@needs_pylon
def test_software_trigger_gives_one_frame_per_trigger(opened):
    source = opened(trigger="software")
    reader = Reader(source)
    assert reader.nothing_within(0.3), "a frame came without a trigger"
    ids = []
    for _ in range(5):
        source.trigger()
        ids.append(int(reader.frame(timeout=1.0).id))
        assert reader.nothing_within(0.05), "more than one frame for one trigger"
    assert ids == sorted(ids) and len(set(ids)) == 5
    assert (source.triggers, source.delivered, source.failed) == (5, 5, 0)
    reader.stop()


@needs_pylon
@pytest.mark.parametrize("trigger", ["free", "line1"])
def test_trigger_is_refused_unless_software(opened, trigger):
    source = opened(trigger=trigger)
    with pytest.raises(SourceError, match="trigger='software'"):
        source.trigger()


@needs_pylon
@pytest.mark.parametrize(
    ("pixel_format", "shape", "dtype", "top"),
    [
        ("Mono8", (100, 200), np.uint8, 255),
        ("Mono12", (100, 200), np.uint16, 4095),
        ("Mono16", (100, 200), np.uint16, 65535),
        ("RGB8Packed", (100, 200, 3), np.uint8, 255),
        ("BayerRG8", (100, 200, 3), np.uint8, 255),
        ("BayerBG12", (100, 200, 3), np.uint16, 4095),
    ],
)
def test_pixel_formats_map_to_the_engine_layout(opened, pixel_format, shape, dtype, top):
    source = opened(trigger="software", roi=(10, 20, 200, 100), pixel_format=pixel_format)
    reader = Reader(source)
    source.trigger()
    frame = reader.frame(timeout=1.0)
    reader.stop()
    assert frame.image.shape == shape and frame.image.dtype == dtype
    assert frame.image.flags.c_contiguous
    assert 0 < int(frame.image.max()) <= top  # the test image is not black
    assert frame.pixel_format == pixel_format


def _read_failing(source, count: int) -> tuple[object, Reader]:
    """`source` with its next `count` grabs made to fail (an emulation test node), being read."""
    source.camera.ForceFailedBufferCount.Value = count
    source.camera.ForceFailedBuffer.Execute()
    return source, Reader(source)


@needs_pylon
def test_failed_grabs_triggered_are_error_frames_of_their_parts(opened):
    source, reader = _read_failing(opened(trigger="software"), 2)
    frames = []
    for _ in range(3):
        source.trigger()
        frames.append(reader.frame(timeout=1.0))
    assert reader.nothing_within(0.1)
    assert [f.image is None for f in frames] == [True, True, False]
    assert all("incomplete" in f.error for f in frames[:2]) and frames[2].error is None
    assert [f.id for f in frames] == ["0", "1", "2"]  # every trigger is a part, in order
    assert (source.failed, source.delivered, source.lost) == (2, 3, 0)
    reader.stop()


@needs_pylon
def test_failed_grabs_in_free_run_are_lost_parts(opened):
    source, reader = _read_failing(opened(trigger="free"), 3)
    frames = [reader.frame() for _ in range(3)]
    reader.stop()
    assert all(f.image is not None for f in frames)  # nothing yielded for the failed grabs
    assert source.failed == 3 and source.lost >= 3


@needs_pylon
def test_configure_applies_a_recipes_settings_to_the_open_camera(opened):
    from engine.cameras.common import CameraSetup

    source = opened(trigger="software", exposure_us=1000)
    reader = Reader(source)
    source.trigger()
    assert reader.frame(timeout=1.0).image.shape == (48, 64)
    source.configure(CameraSetup(exposure_us=3000, roi=(0, 0, 96, 64), binning=2))
    values = source.parameters()
    assert values["ExposureTime"] == pytest.approx(3000)
    assert (values["Width"], values["Height"], values["BinningHorizontal"]) == (96, 64, 2)
    assert values["TriggerSource"] == "Software"  # still fired by the station
    source.trigger()
    assert reader.frame(timeout=1.0).image.shape == (64, 96)
    with pytest.raises(SourceError, match="Gain: 99 is above the maximum"):
        source.configure(CameraSetup(gain_db=99))
    source.trigger()  # the refused setting left the camera grabbing with what it had
    assert reader.frame(timeout=1.0).image.shape == (64, 96)
    reader.stop()


@needs_pylon
def test_close_from_another_thread_ends_a_blocked_iteration_within_1s(opened):
    source = opened(trigger="software")  # no trigger: the iteration waits for good
    reader = Reader(source)
    assert reader.nothing_within(0.2)
    started = time.monotonic()
    closer = threading.Thread(target=source.close)
    closer.start()
    reader.thread.join(timeout=1.0)
    closer.join(timeout=1.0)
    assert not reader.thread.is_alive() and not closer.is_alive()
    assert time.monotonic() - started < 1.0
    assert reader.items.get_nowait() is None  # ended without an error
    source.close()  # twice: nothing happens
    with pytest.raises(SourceError, match="closed"):
        source.trigger()
    assert list(source) == []


@needs_pylon
@pytest.mark.parametrize("trigger", ["free", "software"])
def test_a_removed_camera_raises_source_disconnected(opened, trigger):
    source = opened(trigger=trigger)
    reader = Reader(source)
    if trigger == "free":
        reader.frame()
    unplug = source.camera.GetNodeMap().GetNode("FirePnPCallbackValue")  # emulated removal
    threading.Thread(target=unplug.SetValue, args=(1,)).start()
    deadline = time.monotonic() + 2.0
    with pytest.raises(SourceDisconnected, match="removed"):
        while time.monotonic() < deadline:
            reader.frame(timeout=deadline - time.monotonic())
    reader.stop()


@needs_pylon
def test_a_camera_closed_behind_the_source_raises_source_disconnected(opened):
    source = opened(trigger="software")
    reader = Reader(source)
    threading.Thread(target=source.camera.Close).start()
    with pytest.raises(SourceDisconnected, match="stopped grabbing"):
        reader.frame(timeout=2.0)
    reader.stop()


@needs_pylon
def test_the_station_fires_a_software_triggered_camera_once_per_trigger(opened, tmp_path):
    from engine.recorder import open_store

    source = opened(trigger="software")
    assert source.fired
    with (
        open_store(tmp_path / "out") as store,
        station_on(store, tmp_path / "bundle", source, "software") as (station, parts),
    ):
        for number in range(3):
            wait_until(lambda: station.taking_triggers, what="Ready")
            assert station.trigger(part_id=f"P-{number}")
            wait_until(lambda n=number: len(parts) > n, what=f"part P-{number}")
    assert [p.trigger.part_id for p in parts] == ["P-0", "P-1", "P-2"]
    assert (source.triggers, source.delivered) == (3, 3)  # one exposure per trigger
    assert all(p.frame.timestamp >= p.trigger.time for p in parts)  # exposed after it
