"""`station serve` with its line links: a PLC over Modbus TCP triggers a part, and the result
comes back over Modbus, MQTT (a real mosquitto broker) and stdout alike; link settings are
checked by field, and a link that cannot start stops the service with the reason."""

import os
import socket
import sqlite3
import subprocess
import sys

import pytest

from bench.mosquitto import free_port
from engine.line.modbus_map import Coil, Discrete
from tests.mosquitto import mosquitto_broker
from tests.parts import write_parts
from tests.test_modbus import Plc
from tests.test_mqtt import Observer
from tests.test_serve import REPO, _basic, _Service
from training.tiny_bundle import make_tiny_bundle


@pytest.fixture()
def broker(tmp_path):
    yield from mosquitto_broker(tmp_path)


@pytest.fixture()
def line(tmp_path):
    make_tiny_bundle(tmp_path / "bundle")
    write_parts(tmp_path / "parts", "ONO")
    return tmp_path


def _serve(*options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "engine.serve", *options],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_plc_trigger_comes_back_over_modbus_mqtt_and_stdout(line, broker):
    config = _basic(line, trigger="software")
    modbus_port = free_port()
    consumer = Observer(broker, ["inspection/test-line/result"], "consumer")
    service = _Service(
        [
            "--config",
            str(config),
            "--modbus",
            f"127.0.0.1:{modbus_port}",
            "--mqtt",
            f"mqtt://127.0.0.1:{broker.port}",
        ],
        line,
        stdin=subprocess.DEVNULL,
    )
    try:
        service.next("ready")
        plc = Plc(modbus_port)
        try:
            plc.coil(Coil.ENABLE, True)
            first = plc.inspect("PLC-1")
            second = plc.inspect("PLC-2")
        finally:
            plc.close()
        results = [service.next("result"), service.next("result")]
        messages = consumer.wait_count("inspection/test-line/result", 2)
    finally:
        consumer.close()
        code = service.terminate()
    assert code == 0, service.stderr()
    assert [(r["part_id"], r["verdict"]) for r in results] == [("PLC-1", "OK"), ("PLC-2", "NG")]
    assert (first["part_id"], first["ok"], second["part_id"], second["ng"]) == (
        "PLC-1",
        True,
        "PLC-2",
        True,
    )
    assert [first["result_id"], second["result_id"]] == [r["result_id"] for r in results]
    assert [(m["result_id"], m["part_id"]) for m in messages] == [
        (r["result_id"], r["part_id"]) for r in results
    ]


def test_link_settings_are_checked_by_field(line):
    config = _basic(line)
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text + '\n[modbus]\nlisten = "127.0.0.1:99999"\n\n[mqtt]\nbroker = "http://x"\n',
        encoding="utf-8",
    )
    checked = _serve("--check", "--config", str(config))
    assert checked.returncode == 2
    assert "modbus: '127.0.0.1:99999': the port is not 0-65535" in checked.stderr
    assert "mqtt" in checked.stderr and "mqtt://" in checked.stderr  # the scheme it wants
    good = _serve(
        "--check",
        "--config",
        str(_basic(line)),
        "--modbus",
        f"127.0.0.1:{free_port()}",
        "--mqtt",
        "mqtt://127.0.0.1:1",
    )
    assert good.returncode == 0, good.stderr
    assert ", modbus 127.0.0.1:" in good.stdout and ", mqtt mqtt://127.0.0.1:1" in good.stdout


def test_a_modbus_port_that_is_taken_stops_the_service_with_the_reason(line):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        service = _Service(
            ["--config", str(_basic(line)), "--modbus", f"127.0.0.1:{port}"],
            line,
            stdin=subprocess.DEVNULL,
        )
        code = service.process.wait(timeout=60)
    assert code == 2
    assert f"modbus 127.0.0.1:{port}: cannot start" in service.stderr()


def test_the_modbus_map_is_printed_without_a_config():
    printed = _serve("--modbus-map")
    assert printed.returncode == 0
    for name in ("Enable", "Trigger", "ResultAck", "Ready", "ResultValid", "MissedTrigger"):
        assert name in printed.stdout
    assert f"discrete input    {int(Discrete.READY)}" in printed.stdout


def test_opcua_start_continuous_switches_the_service_to_a_continuous_run_and_back(line):
    import asyncio
    from types import SimpleNamespace

    from engine.line.opcua_security import hash_password
    from tests.test_opcua import PASSWORD, USER, Vision, connect

    port = free_port()
    config = _basic(line, trigger="software")
    config.write_text(
        config.read_text(encoding="utf-8")
        + f'\n[opcua]\nendpoint = "opc.tcp://127.0.0.1:{port}"\nusername = "{USER}"\n'
        + f'password_hash = "{hash_password(PASSWORD)}"\n',
        encoding="utf-8",
    )
    server = SimpleNamespace(url=f"opc.tcp://127.0.0.1:{port}", client_pki=line / "client-pki")

    async def start_continuous() -> tuple[str, int]:
        async with connect(server) as client:
            vision = await Vision.find(client)
            job, error = await vision.start_continuous("M-1")
            return job.Id, error

    service = _Service(["--config", str(config)], line, stdin=subprocess.DEVNULL)
    try:
        assert service.next("ready")["mode"] == "software"
        job_id, error = asyncio.run(start_continuous())
        continuous = service.next("ready")
        results = [service.next("result") for _ in range(3)]
        back = service.next("ready")  # the folder is done: the configured mode again
    finally:
        code = service.terminate()
    assert code == 0, service.stderr()
    assert error == 0 and (continuous["mode"], continuous["run_id"]) == ("continuous", job_id)
    assert [r["verdict"] for r in results] == ["OK", "NG", "OK"]
    assert {r["run_id"] for r in results} == {job_id}
    assert back["mode"] == "software"
    with sqlite3.connect(line / "out" / "results.sqlite") as db:  # the MeasId, kept per part
        stored = db.execute("SELECT meas_id FROM inspections WHERE run_id = ?", (job_id,))
        assert [row[0] for row in stored.fetchall()] == ["M-1"] * 3
