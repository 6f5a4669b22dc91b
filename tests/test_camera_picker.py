"""The window's camera dialog: it lists the industrial cameras found without holding the GUI
thread, and a picked camera's spec is what the window gets (real Qt, offscreen; pylon's
emulation and the genicam wheel's simulated producer as the cameras)."""

from __future__ import annotations

import os
import time

import pytest

from tests.test_genicam import HAVE_HARVESTERS
from tests.test_pylon import HAVE_PYPYLON

pytestmark = pytest.mark.skipif(
    not (HAVE_PYPYLON and HAVE_HARVESTERS),
    reason="needs pypylon and harvesters (pip install inspection-station[pylon,genicam])",
)


@pytest.fixture
def dialog(qtbot, monkeypatch):
    from engine.cameras.genicam import simulator
    from gui.source_picker import ask_camera

    monkeypatch.setenv("PYLON_CAMEMU", "2")
    monkeypatch.setenv("GENICAM_GENTL64_PATH", os.path.dirname(simulator()))
    chosen: list[str] = []
    refused: list[str] = []
    started = time.monotonic()
    opened = ask_camera(None, "", chosen.append, refused.append)
    opened.opened_in_s = time.monotonic() - started
    opened.chosen, opened.refused = chosen, refused
    qtbot.addWidget(opened)
    yield opened
    opened.searching.join(15)  # the dialog may be gone; its last search ends before the next test


def test_the_dialog_lists_both_backends_cameras_and_hands_over_the_picked_spec(qtbot, dialog):
    assert dialog.opened_in_s < 0.5  # the search runs on its own thread
    assert dialog.status.text().startswith("Searching")
    qtbot.waitUntil(lambda: dialog.cameras.count() >= 5, timeout=15_000)
    specs = [dialog.cameras.item(i).toolTip() for i in range(dialog.cameras.count())]
    assert {"pylon:0815-0000", "pylon:0815-0001"} <= set(specs)
    assert sum(s.startswith("genicam:") and s.endswith("viky.cti") for s in specs) == 3
    assert "5 camera(s) found" in dialog.status.text()
    item = dialog.cameras.item(specs.index("pylon:0815-0001"))
    dialog.cameras.itemClicked.emit(item)
    assert dialog.spec.text() == "pylon:0815-0001"
    dialog.accept()
    assert dialog.chosen == ["pylon:0815-0001"] and dialog.refused == []


def test_a_producer_that_is_not_there_is_said_and_the_pylon_cameras_still_listed(
    qtbot, dialog, tmp_path
):
    qtbot.waitUntil(lambda: dialog.search_button.isEnabled(), timeout=15_000)
    dialog.producer.setText(str(tmp_path / "missing.cti"))
    dialog.search()
    qtbot.waitUntil(lambda: dialog.search_button.isEnabled(), timeout=15_000)
    assert (
        "genicam: GenTL producer" in dialog.status.text() and "no such file" in dialog.status.text()
    )
    assert dialog.cameras.count() == 2


def test_a_typed_index_or_url_still_works(qtbot, dialog):
    dialog.spec.setText("rtsp://10.0.0.5/stream")
    dialog.accept()
    assert dialog.chosen == ["rtsp://10.0.0.5/stream"]
