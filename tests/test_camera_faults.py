"""Camera faults through the station core, on pylon's camera emulation: a camera lost mid-run and
back, a trigger whose frame does not come, frames the camera loses, recipe settings applied to
the open camera. Every trigger must end as a stored part or a stored missed trigger.
"""

from __future__ import annotations

import logging
import re
import threading

import pytest

from engine.events import RecipeFailed, ResultReady, SourceBack, SourceLost
from engine.recipes import Recipe, RecipeError
from engine.recorder import open_store
from engine.station import Station
from tests.test_pylon import HAVE_PYPYLON, SERIALS
from tests.waiting import wait_until

pytestmark = pytest.mark.skipif(
    not HAVE_PYPYLON, reason="pypylon not installed (pip install inspection-station[pylon])"
)
SMALL = {"roi": (0, 0, 64, 48), "pixel_format": "Mono8"}


@pytest.fixture
def emulated(monkeypatch):
    """Two emulated cameras; `emulated(0)` makes them vanish from enumeration, `(2)` return."""
    monkeypatch.setenv("PYLON_CAMEMU", "2")
    return lambda n: monkeypatch.setenv("PYLON_CAMEMU", str(n))


class Line:
    """A station running one source on a thread, its events kept."""

    def __init__(self, tmp_path, tiny_bundle, camera: dict, **station) -> None:
        from engine.cameras.common import CameraSetup

        self.store = open_store(tmp_path / "out")
        self.station = Station(self.store, provider="cpu", **station)
        self.recipe = Recipe("cam", str(tiny_bundle), camera=CameraSetup(**camera))
        self.station.prepare(self.recipe, "test")
        self.events: list = []
        self.station.subscribe(self.events.append)
        self.summary = None

    def start(self, source, mode: str, **options) -> None:
        def run() -> None:
            self.summary = self.station.run(source, mode, **options)

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def parts(self) -> list:
        return [e.part for e in self.events if hasattr(e, "part")]

    def count(self, kind) -> int:
        return sum(isinstance(e, kind) for e in self.events)

    def part(self, part_id: str):
        """Trigger one part once the station is Ready, and wait for its result."""
        wait_until(lambda: self.station.taking_triggers, what="Ready")
        before = len(self.parts())
        assert self.station.trigger(part_id=part_id)
        wait_until(lambda: len(self.parts()) > before, what=f"part {part_id}")
        return self.parts()[-1]

    def source(self):
        return self.station._run.source  # the camera the station opened from the spec

    def stop(self):
        self.station.stop()
        self.thread.join(10)
        assert not self.thread.is_alive()
        self.store.close()
        return self.summary


def test_a_camera_lost_and_back_is_reattached_by_serial_and_every_part_counted(
    emulated, tmp_path, tiny_bundle, caplog
):
    caplog.set_level(logging.WARNING, logger="engine.station")
    line = Line(tmp_path, tiny_bundle, SMALL, trigger_timeout_s=1.0)
    line.start(f"pylon:{SERIALS[0]}", "software", reconnect_s=0.05)
    before = [line.part(f"A{i}") for i in range(3)]
    emulated(0)  # the camera is unplugged and stays away ...
    unplug = line.source().camera.GetNodeMap().GetNode("FirePnPCallbackValue")
    unplug.SetValue(1)
    wait_until(lambda: line.count(SourceLost), what="camera lost")
    sent_while_lost = [line.station.trigger(part_id=f"L{i}") for i in range(3)]
    assert sent_while_lost == [False, False, False]  # in Error: missed, stored, counted
    threading.Event().wait(1.0)
    assert not line.count(SourceBack)
    retries = [r.getMessage() for r in caplog.records if "still lost" in r.getMessage()]
    assert 2 <= len(retries) <= 5  # backing off: 0.05, 0.1, 0.2, 0.4 s apart, not 20 tries
    assert "not found" in retries[0] and SERIALS[0] in retries[0]
    emulated(2)  # ... and is plugged in again
    wait_until(lambda: line.count(SourceBack), what="camera back")
    after = [line.part(f"B{i}") for i in range(3)]
    assert line.source().serial == SERIALS[0]  # the same camera, by its serial
    assert line.source().parameters()["Width"] == 64  # with the recipe's settings again
    summary = line.stop()
    assert all(p.result is not None for p in before + after)  # judged, not failed
    store = open_store(tmp_path / "out")
    rows = store.select(["part_id IS NOT NULL"], [])
    missed = store.missed_triggers()
    store.close()
    sent = [f"{batch}{i}" for batch in "ALB" for i in range(3)]
    accounted = sorted([r.part_id for r in rows] + [m.part_id for m in missed])
    assert accounted == sorted(sent)  # every trigger: a stored part or a stored missed trigger
    assert summary.missed == 3 and summary.source_error is None


def test_a_trigger_the_camera_cannot_take_is_a_failure_row_not_a_hang(
    emulated, tmp_path, tiny_bundle
):
    from engine.cameras.common import CameraSettings, CameraSetup
    from engine.cameras.pylon import PylonSource

    setup = CameraSetup(trigger="software", **SMALL)
    camera = PylonSource(CameraSettings(SERIALS[1], setup=setup, timeout_ms=300))
    line = Line(tmp_path, tiny_bundle, SMALL, trigger_timeout_s=0.5)
    line.start(camera, "software")
    assert line.part("P0").error is None
    camera.camera.AcquisitionStop.Execute()  # the camera stops taking triggers
    stuck = line.part("P1")
    # Refused as not ready, or sent while the stop took effect: either way this part's failure.
    assert stuck.verdict == "ERROR"
    assert re.search(r"not ready for a trigger within 300 ms|no frame within 0.5 s", stuck.error)
    assert stuck.trigger.part_id == "P1"
    camera.camera.AcquisitionStart.Execute()
    assert line.part("P2").error is None  # the run went on
    line.stop()


def test_frames_the_camera_loses_in_free_run_are_uninspected_parts(emulated, tmp_path, tiny_bundle):
    line = Line(tmp_path, tiny_bundle, SMALL)
    line.start(f"pylon:{SERIALS[0]}", "continuous")
    wait_until(lambda: line.parts(), what="a part")
    source = line.source()
    source.camera.AcquisitionFrameRateEnable.Value = True  # 20 fps: no frame waits for the
    source.camera.AcquisitionFrameRate.Value = 20.0  # station, so (almost) none is replaced
    feed = line.station._run.feed
    replaced = feed.dropped
    source.camera.ForceFailedBufferCount.Value = 5
    source.camera.ForceFailedBuffer.Execute()
    wait_until(lambda: source.failed >= 5, what="5 failed grabs")
    inspected = len(line.parts())
    wait_until(lambda: len(line.parts()) > inspected + 1, what="parts after the failed grabs")
    summary = line.stop()
    assert source.lost == 5
    # The camera's lost frames are the run's uninspected parts, with the replaced ones.
    assert replaced + 5 <= summary.dropped <= feed.dropped + 5
    assert all(p.error is None for p in line.parts())  # and have no part row


def test_a_recipe_switch_applies_its_camera_settings_to_the_open_camera(
    emulated, tmp_path, tiny_bundle
):
    from engine.cameras.common import CameraSetup

    line = Line(tmp_path, tiny_bundle, {**SMALL, "exposure_us": 1000})
    line.start(f"pylon:{SERIALS[1]}", "software")
    assert line.part("P0").frame.image.shape == (48, 64)
    wide = Recipe(
        "wide", str(tiny_bundle), camera=CameraSetup(exposure_us=4000, roi=(0, 0, 96, 80))
    )
    line.station.prepare(wide, "test")
    assert line.source().parameters()["ExposureTime"] == pytest.approx(4000)
    assert line.part("P1").frame.image.shape == (80, 96)
    refused = Recipe("hot", str(tiny_bundle), camera=CameraSetup(gain_db=99))
    with pytest.raises(RecipeError, match="Gain: 99 is above the maximum"):
        line.station.prepare(refused, "test")
    assert line.station.recipe.id == "wide" and line.count(RecipeFailed) == 1
    assert line.part("P2").frame.image.shape == (80, 96)  # the old settings stayed
    assert line.count(ResultReady) == 3
    line.stop()


def test_a_line_triggered_camera_is_armed_and_gives_no_part_without_its_input(
    emulated, tmp_path, tiny_bundle
):
    line = Line(tmp_path, tiny_bundle, {**SMALL, "trigger": "line2", "activation": "falling"})
    line.start(f"pylon:{SERIALS[0]}", "continuous")
    wait_until(lambda: line.station.running and line.station._run.feed, what="the camera open")
    values = line.source().parameters()
    assert (values["TriggerMode"], values["TriggerSource"]) == ("On", "Line2")
    assert values["TriggerActivation"] == "FallingEdge"
    assert not line.source().fired  # the light barrier fires it, not the station
    threading.Event().wait(0.5)
    assert line.parts() == []  # armed: no frame, so no part, until the input switches
    line.stop()
