"""The window with its line links: a PLC over Modbus TCP triggers parts in software-trigger
mode, the results also go to a real MQTT broker, and the status bar shows both links."""

import pytest
from PySide6.QtCore import QSettings

from bench.mosquitto import free_port
from engine.line.modbus_map import Coil
from gui.main_window import MainWindow
from gui.settings import StationSettings
from gui.settings_dialog import SettingsDialog
from tests.mosquitto import mosquitto_broker
from tests.test_gui import RUN_TIMEOUT_MS, write_parts
from tests.test_modbus import Plc
from tests.test_mqtt import Observer
from tests.tls import make_ca_and_server


@pytest.fixture()
def broker(tmp_path):
    yield from mosquitto_broker(tmp_path)


def test_a_plc_triggers_the_window_and_results_go_to_mqtt(qtbot, tmp_path, tiny_bundle, broker):
    port = free_port()
    qsettings = QSettings(str(tmp_path / "station.ini"), QSettings.Format.IniFormat)
    settings = StationSettings.load(qsettings)
    settings.bundle, settings.output_dir = str(tiny_bundle), str(tmp_path / "out")
    settings.modbus, settings.mqtt = f"127.0.0.1:{port}", f"mqtt://127.0.0.1:{broker.port}"
    settings.trigger_mode = "software"
    consumer = Observer(broker, ["inspection/station/result"], "consumer")
    window = MainWindow(qsettings, settings)
    qtbot.addWidget(window)
    try:
        window.load_bundle(str(tiny_bundle))
        qtbot.waitUntil(lambda: window.inspector is not None, timeout=RUN_TIMEOUT_MS)
        assert set(window.links) == {"modbus", "mqtt"}
        window.set_source(str(write_parts(tmp_path / "parts", "ON")))
        assert window.start()
        qtbot.waitUntil(lambda: window.station.taking_triggers, timeout=RUN_TIMEOUT_MS)
        plc = Plc(port)
        try:
            plc.coil(Coil.ENABLE, True)
            first = plc.inspect("SN-1")
            second = plc.inspect("SN-2")
            window._show_links()  # as its timer does every second
            plc_text = window.status.labels["links"].text()
        finally:
            plc.close()
        assert "PLC 1 PLC · 2 triggers · missed 0" in plc_text, plc_text
        assert (first["ok"], second["ng"]) == (True, True)
        qtbot.waitUntil(lambda: window.counters.counts.total == 2, timeout=RUN_TIMEOUT_MS)
        rows = window.results.records()
        assert [(r.part_id, r.verdict) for r in rows] == [("SN-1", "OK"), ("SN-2", "NG")]
        messages = consumer.wait_count("inspection/station/result", 2)
        assert [m["part_id"] for m in messages] == ["SN-1", "SN-2"]
        window._show_links()
        text = window.status.labels["links"].text()
        assert "PLC 0 PLCs" in text and "MQTT connected · 0 to send" in text, text
        assert window.status.labels["links"].property("alarm") == "false"
        window.stop()
    finally:
        consumer.close()
        window.close()
    assert window.links == {}  # closed with the window


def test_the_opcua_server_runs_from_the_engineer_settings_with_a_hashed_password(
    qtbot, tmp_path, tiny_bundle
):
    from tests.test_gui import open_engineer_settings

    qsettings = QSettings(str(tmp_path / "station.ini"), QSettings.Format.IniFormat)
    settings = StationSettings.load(qsettings)
    settings.bundle, settings.output_dir = str(tiny_bundle), str(tmp_path / "out")
    window = MainWindow(qsettings, settings)
    qtbot.addWidget(window)
    try:
        window.load_bundle(str(tiny_bundle))
        qtbot.waitUntil(lambda: window.inspector is not None, timeout=RUN_TIMEOUT_MS)
        dialog = open_engineer_settings(window)
        dialog.link_fields["opcua"].setText(f"opc.tcp://127.0.0.1:{free_port()}")
        dialog.opcua_user.setText("line")
        dialog.opcua_password.setText("s3cret-line")
        dialog.accept()
        assert "opcua" in window.links
        assert window.links["opcua"].status().up
        stored = StationSettings.load(qsettings)
        assert stored.opcua_user == "line" and "s3cret-line" not in stored.opcua_password_hash
        assert "s3cret-line" not in (tmp_path / "station.ini").read_text(encoding="utf-8")
        window._show_links()
        assert "OPC UA" in window.status.labels["links"].text()
    finally:
        window.close()
    assert window.links == {}


@pytest.fixture()
def tls_broker(tmp_path):
    files = make_ca_and_server(tmp_path / "tls")
    for broker in mosquitto_broker(tmp_path, tls=files):
        broker.ca = files[0]
        yield broker


def test_mqtt_over_tls_from_the_settings_with_a_ca_file(qtbot, tmp_path, tiny_bundle, tls_broker):
    qsettings = QSettings(str(tmp_path / "station.ini"), QSettings.Format.IniFormat)
    settings = StationSettings.load(qsettings)
    settings.bundle, settings.output_dir = str(tiny_bundle), str(tmp_path / "out")
    settings.mqtt = f"mqtts://127.0.0.1:{tls_broker.port}"
    settings.mqtt_ca_file = str(tls_broker.ca)
    window = MainWindow(qsettings, settings)
    qtbot.addWidget(window)
    try:
        window.load_bundle(str(tiny_bundle))
        qtbot.waitUntil(lambda: window.inspector is not None, timeout=RUN_TIMEOUT_MS)
        link = window.links["mqtt"]
        assert (link.config.tls, link.config.ca_file) == (True, str(tls_broker.ca))
        qtbot.waitUntil(lambda: link.status().connected, timeout=RUN_TIMEOUT_MS)
        dialog = SettingsDialog(settings, window.inspector, None, links={})
        assert dialog.mqtt_ca_file.text() == str(tls_broker.ca)  # shown for editing
    finally:
        window.close()
