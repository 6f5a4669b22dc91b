"""The window with its line links: a PLC over Modbus TCP triggers parts in software-trigger
mode, the results also go to a real MQTT broker, and the status bar shows both links."""

import pytest

from bench.mosquitto import free_port
from gui.settings import StationSettings
from gui.settings_dialog import SettingsDialog
from tests.mosquitto import mosquitto_broker
from tests.plc_window import plc_inspects
from tests.test_gui import RUN_TIMEOUT_MS, ini_settings, open_window, write_parts
from tests.test_mqtt import Observer
from tests.tls import make_ca_and_server


@pytest.fixture()
def broker(tmp_path):
    yield from mosquitto_broker(tmp_path)


def test_a_plc_triggers_the_window_and_results_go_to_mqtt(qtbot, tmp_path, tiny_bundle, broker):
    port = free_port()
    links = {"modbus": f"127.0.0.1:{port}", "mqtt": f"mqtt://127.0.0.1:{broker.port}"}
    output = tmp_path / "out"
    window = open_window(
        qtbot, ini_settings(tmp_path), tiny_bundle, output, trigger_mode="software", **links
    )
    consumer = Observer(broker, ["inspection/station/result"], "consumer")  # before any result
    try:
        assert set(window.links) == {"modbus", "mqtt"}
        window.set_source(str(write_parts(tmp_path / "parts", "ON")))
        assert window.start()
        first, second = plc_inspects(qtbot, window, port, "SN-1", "SN-2")
        plc_text = window.status.labels["links"].text()
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

    qsettings = ini_settings(tmp_path)
    window = open_window(qtbot, qsettings, tiny_bundle, tmp_path / "out")
    try:
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


@pytest.fixture()
def cert_broker(tmp_path):
    """A TLS broker that asks clients for a certificate signed by its CA; its own certificate
    and key serve the station as the client's (one CA signs both)."""
    files = make_ca_and_server(tmp_path / "tls")
    for broker in mosquitto_broker(tmp_path, tls=files, require_certificate=True):
        broker.files = files
        yield broker


def test_mqtt_client_certificate_from_the_settings(qtbot, tmp_path, tiny_bundle, cert_broker):
    """A broker that asks for a client certificate takes the station's, named in the settings;
    without it the link does not connect."""
    ca, cert, key = cert_broker.files
    url = f"mqtts://127.0.0.1:{cert_broker.port}"
    window = open_window(
        qtbot, ini_settings(tmp_path), tiny_bundle, tmp_path / "out", mqtt=url, mqtt_ca_file=str(ca)
    )
    try:
        assert window.links["mqtt"].config.cert_file is None
        qtbot.wait(1000)
        assert not window.links["mqtt"].status().connected  # the broker trusted: no certificate
        dialog = SettingsDialog(window.settings, window.inspector, None, links={})
        files = {"mqtt_ca_file": ca, "mqtt_cert_file": cert, "mqtt_key_file": key}
        for name, path in files.items():
            dialog.mqtt_files[name].setText(str(path))
        dialog.applied.connect(window.apply_settings)
        dialog.accept()
        link = window.links["mqtt"]
        assert (link.config.cert_file, link.config.key_file) == (str(cert), str(key))
        qtbot.waitUntil(lambda: link.status().connected, timeout=RUN_TIMEOUT_MS)
    finally:
        window.close()


def test_mqtt_over_tls_from_the_settings_with_a_ca_file(qtbot, tmp_path, tiny_bundle, tls_broker):
    mqtt = {"mqtt": f"mqtts://127.0.0.1:{tls_broker.port}", "mqtt_ca_file": str(tls_broker.ca)}
    window = open_window(qtbot, ini_settings(tmp_path), tiny_bundle, tmp_path / "out", **mqtt)
    try:
        link = window.links["mqtt"]
        assert (link.config.tls, link.config.ca_file) == (True, str(tls_broker.ca))
        qtbot.waitUntil(lambda: link.status().connected, timeout=RUN_TIMEOUT_MS)
        dialog = SettingsDialog(window.settings, window.inspector, None, links={})
        assert dialog.mqtt_ca_file.text() == str(tls_broker.ca)  # shown for editing
    finally:
        window.close()
