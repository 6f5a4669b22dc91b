"""A PLC triggering parts of a window in software-trigger mode over its Modbus link."""

from __future__ import annotations

from engine.line.modbus_map import Coil
from gui.main_window import MainWindow
from tests.test_gui import RUN_TIMEOUT_MS
from tests.test_modbus import Plc


def plc_inspects(qtbot, window: MainWindow, port: int, *part_ids: str) -> list[dict]:
    """Once the window's run takes triggers, a PLC on `port` has one part inspected per id, by
    the handshake; its results, in order. The window has refreshed its link lights (as its
    timer does every second) while the PLC was still connected."""
    qtbot.waitUntil(lambda: window.station.taking_triggers, timeout=RUN_TIMEOUT_MS)
    plc = Plc(port)
    try:
        plc.coil(Coil.ENABLE, True)
        results = [plc.inspect(part_id) for part_id in part_ids]
        window._show_links()
    finally:
        plc.close()
    return results
