"""The line controls and lights beside the image: the Trigger button, Space and the foot pedal's
key, the missed-trigger count, and the line panel's lights for the trigger, the source and a
real Modbus link driven by a PLC client on 127.0.0.1."""

import socket
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from bench.mosquitto import free_port
from engine.line.modbus import LinkStatus
from gui.line_panel import Light, clock, link_state
from gui.main_window import MainWindow
from gui.trigger_panel import TOUCH_PX
from tests.plc_window import plc_inspects
from tests.test_gui import RUN_TIMEOUT_MS, ini_settings, open_window, write_parts


def open_software_trigger_window(qtbot, tmp_path, tiny_bundle, **settings_values) -> MainWindow:
    qsettings, output = ini_settings(tmp_path), tmp_path / "out"
    return open_window(
        qtbot, qsettings, tiny_bundle, output, trigger_mode="software", **settings_values
    )


@pytest.fixture()
def window(qtbot, tmp_path, tiny_bundle):
    window = open_software_trigger_window(qtbot, tmp_path, tiny_bundle, pedal_key="F12")
    yield window
    window.close()


def cells(window, row: str) -> tuple[str, str, str, str]:
    light, _name, state, trigger, ack = window.line_panel.cells[row]
    return light.toolTip(), state.text(), trigger.text(), ack.text()


def test_a_link_status_becomes_a_light_with_its_last_trigger_and_ack():
    now = time.time()
    up = LinkStatus(True, "127.0.0.1:5020", 1, 3, 3, 0, 0, 0, last_trigger=now, last_ack=now)
    state = link_state("modbus", up)
    assert state.light is Light.UP and state.state == "1 PLC · 3 triggers · missed 0"
    assert state.last_trigger == state.last_ack == clock(now) == time.strftime("%H:%M:%S")
    down = LinkStatus(False, "127.0.0.1:5020", 0, 0, 0, 0, 0, 0, last_error="port in use")
    assert link_state("modbus", down).light is Light.DOWN
    assert link_state("modbus", down).state == "not listening · port in use"
    assert link_state("mqtt", None).light is Light.OFF and link_state("mqtt", None).state == "off"


def test_trigger_button_space_and_pedal_each_inspect_one_part(qtbot, window, tmp_path):
    panel = window.trigger_panel
    assert not panel.trigger_button.isHidden() and panel.keys_label.text() == "keys: Space · F12"
    assert panel.trigger_button.minimumHeight() >= TOUCH_PX
    window.set_source(str(write_parts(tmp_path / "parts", "ONO")))
    assert window.start()
    qtbot.waitUntil(lambda: window.station.taking_triggers, timeout=RUN_TIMEOUT_MS)
    qtbot.mouseClick(panel.trigger_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.counters.counts.total == 1, timeout=RUN_TIMEOUT_MS)
    qtbot.waitUntil(lambda: cells(window, "trigger")[:2] == ("up", "window: OK"))
    assert cells(window, "trigger")[2] != "–" and cells(window, "source")[0] == "up"

    window.show()
    window.windowHandle().requestActivate()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    window.view.setFocus()
    for done, key in ((2, Qt.Key.Key_Space), (3, Qt.Key.Key_F12)):  # Space, then the pedal
        qtbot.waitUntil(lambda: window.station.taking_triggers, timeout=RUN_TIMEOUT_MS)
        qtbot.keyClick(window, key)
        qtbot.waitUntil(lambda d=done: window.counters.counts.total == d, timeout=RUN_TIMEOUT_MS)
    assert [r.verdict for r in window.results.records()] == ["OK", "NG", "OK"]
    window.stop()


def test_missed_triggers_are_counted_beside_the_button(qtbot, window, tmp_path):
    window.set_source(str(write_parts(tmp_path / "parts", "OOOOOO")))
    assert window.start()
    qtbot.waitUntil(lambda: window.station.taking_triggers, timeout=RUN_TIMEOUT_MS)
    sent = [window.send_trigger() for _ in range(5)]  # faster than any inspection
    missed = 5 - sum(sent)
    assert missed > 0
    # The light shows the newest event: the missed trigger, until the taken part's result.
    light, state, last_trigger, _ack = cells(window, "trigger")
    assert (light, state) == ("down", f"missed ({missed}): station busy with the previous part")
    assert last_trigger != "–"
    label = window.trigger_panel.missed_label
    qtbot.waitUntil(lambda: label.text() == f"missed triggers: {missed}", timeout=RUN_TIMEOUT_MS)
    assert label.property("alarm") == "true"
    window.stop()


def test_free_run_hides_the_trigger_button(qtbot, window):
    window.trigger_box.setCurrentIndex(window.trigger_box.findData("continuous"))
    assert window.trigger_panel.trigger_button.isHidden()
    assert window.trigger_panel.keys_label.text() == ""


def test_the_modbus_light_follows_a_real_plc(qtbot, tmp_path, tiny_bundle):
    port = free_port()
    window = open_software_trigger_window(qtbot, tmp_path, tiny_bundle, modbus=f"127.0.0.1:{port}")
    try:
        assert cells(window, "modbus")[0] == "up" and cells(window, "opcua")[:2] == ("off", "off")
        assert cells(window, "modbus")[2:] == ("–", "–")  # no trigger yet
        window.set_source(str(write_parts(tmp_path / "parts", "N")))
        assert window.start()
        (result,) = plc_inspects(qtbot, window, port, "SN-1")
        assert result["ng"]
        light, state, last_trigger, last_ack = cells(window, "modbus")
        assert light == "up" and "1 triggers" in state
        assert last_trigger != "–" and last_ack != "–"
        window.stop()
    finally:
        window.close()
    assert window.links == {}  # closed with the window


def test_a_link_that_could_not_start_is_a_vermilion_light(qtbot, tmp_path, tiny_bundle):
    port = free_port()
    blocker = socket.create_server(("127.0.0.1", port))  # the PLC's port is taken
    try:
        window = open_software_trigger_window(
            qtbot, tmp_path, tiny_bundle, modbus=f"127.0.0.1:{port}"
        )
        try:
            assert "modbus" not in window.links
            assert cells(window, "modbus")[:2] == ("down", "not started")
            assert any("Line link not started" in m for m in window.errors.messages)
        finally:
            window.close()
    finally:
        blocker.close()
