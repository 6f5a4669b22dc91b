"""The PLC handshake over Modbus TCP (engine.line.modbus), played by a real pymodbus client as
the PLC against a real Station (tiny bundle, software-trigger run on a folder of OK and NG
parts), on a free port of 127.0.0.1.

Where a test needs the station to be slow at a known moment, a `Gate` sink holds the cycle
after the part is stored (a line component that takes its time, such as a reject gate that
confirms), so the PLC's view can be checked at each step without racing the inspection.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from pathlib import Path

import pytest
from pymodbus.client import ModbusTcpClient

from engine.line.modbus import ModbusAdapter, ModbusConfig, ModbusConfigError, ModbusError
from engine.line.modbus_map import (
    POINTS,
    Code,
    Coil,
    Discrete,
    Holding,
    Input,
    Table,
    Verdict,
    ascii_words,
    float32_words,
    modbus_map_text,
    table_size,
    uint32_words,
    words_ascii,
)
from engine.recipes import Recipe, RecipeBook
from engine.recorder import open_store
from engine.sources import CameraSource
from engine.station import Station
from engine.vision_states import VisionState
from tests.parts import write_parts, write_video
from tests.test_station import MjpegCamera
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 5.0
DT = ModbusTcpClient.DATATYPE


class Gate:
    """A sink that holds the station's cycle (after the part is stored) while closed."""

    def __init__(self) -> None:
        self._open = threading.Event()
        self._open.set()
        self.holding = threading.Event()  # a part is being held

    def close(self) -> None:
        self._open.clear()

    def open(self) -> None:
        self._open.set()

    def deliver(self, part) -> None:
        if not self._open.is_set():
            self.holding.set()
            self._open.wait(TIMEOUT)
            self.holding.clear()


class Plc:
    """The PLC: a pymodbus client doing the documented handshake."""

    def __init__(self, port: int) -> None:
        self.client = ModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=0)
        assert self.client.connect(), f"no Modbus server on 127.0.0.1:{port}"

    def close(self) -> None:
        self.client.close()

    def coil(self, coil: Coil, value: bool) -> None:
        assert not self.client.write_coil(int(coil), value).isError()

    def bits(self) -> dict[Discrete, bool]:
        reply = self.client.read_discrete_inputs(0, count=len(Discrete))
        assert not reply.isError(), reply
        return {bit: reply.bits[bit] for bit in Discrete}

    def bit(self, bit: Discrete) -> bool:
        return self.bits()[bit]

    def inputs(self) -> list[int]:
        reply = self.client.read_input_registers(0, count=table_size(Table.INPUT_REGISTER))
        assert not reply.isError(), reply
        return reply.registers

    def word(self, address: Input) -> int:
        return self.inputs()[address]

    def wait(self, bit: Discrete, value: bool = True, timeout: float = TIMEOUT) -> None:
        wait_until(lambda: self.bit(bit) is value, timeout, f"{bit.name} = {value}")

    def write_part(self, part_id: str | None, recipe: int = 0) -> None:
        text = DT.STRING
        words = self.client.convert_to_registers(part_id or "", text) if part_id else []
        words = (words + [0] * 16)[:16]
        assert not self.client.write_registers(
            int(Holding.RECIPE_NUMBER), [recipe, *words]
        ).isError()

    def result(self) -> dict:
        regs = self.inputs()

        def value(address: Input, kind, words: int = 2):
            return self.client.convert_from_registers(regs[address : address + words], kind)

        return {
            "result_id": value(Input.RESULT_ID, DT.UINT32),
            "trigger_id": value(Input.RESULT_TRIGGER_ID, DT.UINT32),
            "verdict": Verdict(regs[Input.VERDICT]),
            "code": Code(regs[Input.ERROR_CODE]),
            "score": value(Input.SCORE, DT.FLOAT32),
            "threshold": value(Input.THRESHOLD, DT.FLOAT32),
            "defects": regs[Input.DEFECT_COUNT],
            "latency_ms": value(Input.LATENCY_MS, DT.FLOAT32),
            "part_id": value(Input.RESULT_PART_ID, DT.STRING, 16) or None,
        }

    def trigger(self, part_id: str | None = None, recipe: int = 0) -> None:
        """Steps 1-3: wait for Ready, write the part, raise Trigger, see the Ack, drop it."""
        self.wait(Discrete.READY)
        self.write_part(part_id, recipe)
        self.coil(Coil.TRIGGER, True)
        self.wait(Discrete.TRIGGER_ACK)
        self.coil(Coil.TRIGGER, False)
        self.wait(Discrete.TRIGGER_ACK, False)

    def take_result(self) -> dict:
        """Steps 4-5: wait for ResultValid, read, ResultAck, see ResultValid drop, drop Ack."""
        self.wait(Discrete.RESULT_VALID)
        bits = self.bits()
        result = self.result() | {"ok": bits[Discrete.OK], "ng": bits[Discrete.NG]}
        self.coil(Coil.RESULT_ACK, True)
        self.wait(Discrete.RESULT_VALID, False)
        assert not self.bit(Discrete.OK) and not self.bit(Discrete.NG)
        self.coil(Coil.RESULT_ACK, False)
        return result

    def inspect(self, part_id: str | None = None, recipe: int = 0) -> dict:
        self.trigger(part_id, recipe)
        return self.take_result()


class Line:
    """A station with the Modbus adapter, a software-trigger run on a folder and a PLC."""

    def __init__(self, tmp_path: Path, bundle: Path) -> None:
        self.tmp_path = tmp_path
        self.store = open_store(tmp_path / "out")
        self.station = Station(self.store, provider="cpu", trigger_timeout_s=2.0)
        self.book = RecipeBook({"a": Recipe("a", str(bundle))})
        self.station.prepare(self.book.get("a"), "test")
        self.gate = Gate()
        self.station.sinks.append(self.gate)  # before the adapter: it holds the adapter back
        self.adapter: ModbusAdapter | None = None
        self.plc: Plc | None = None
        self.thread: threading.Thread | None = None
        self.run_error: BaseException | None = None
        self.reconnect_s: float | None = None

    def start(self, verdicts: str = "ON", source=None, enable: bool = True, **config) -> Plc:
        config = {"port": 0, "heartbeat_s": 0.05, **config}
        self.adapter = ModbusAdapter(self.station, ModbusConfig(**config), recipes=self.book)
        self.adapter.start()
        if source is None:
            source = str(write_parts(self.tmp_path / "parts", verdicts))
        self.thread = threading.Thread(target=self._run, args=(source,), daemon=True)
        self.thread.start()
        wait_until(lambda: self.station.running or self.run_error, what="the run to start")
        self.plc = Plc(self.adapter.port)
        if enable:
            self.plc.coil(Coil.ENABLE, True)
        return self.plc

    def _run(self, source) -> None:
        try:
            self.station.run(source, "software", reconnect_s=self.reconnect_s)
        except BaseException as exc:  # re-raised by close()
            self.run_error = exc

    def close(self) -> None:
        self.gate.open()
        if self.plc is not None:
            self.plc.close()
        self.station.abort()
        if self.thread is not None:
            self.thread.join(TIMEOUT)
            assert not self.thread.is_alive(), "the run did not end"
        if self.adapter is not None:
            self.adapter.close()
        self.store.close()


@pytest.fixture()
def line(tmp_path, tiny_bundle):
    made = Line(tmp_path, tiny_bundle)
    yield made
    made.close()
    if made.run_error is not None:
        raise made.run_error


# --- the map and its encodings --------------------------------------------------------------


def test_the_map_is_printed_and_documented_with_every_point():
    text = modbus_map_text()
    doc = (REPO / "docs" / "modbus.md").read_text(encoding="utf-8")
    for point in POINTS:
        assert point.name in text and point.modicon in text
        row = f"| {point.span} | {point.modicon} | {point.kind} | {point.name} |"
        assert row in doc, f"docs/modbus.md lacks the row of {point.table} {point.name}: {row}"
    for code in Code:
        assert f"| {int(code)} | {code.name} |" in doc
    # no two points share an address in one table
    for table in Table:
        taken = [
            a for p in POINTS if p.table is table for a in range(p.address, p.address + p.words)
        ]
        assert len(taken) == len(set(taken)), table


def test_encodings_are_what_a_pymodbus_client_decodes():
    decode = ModbusTcpClient.convert_from_registers
    assert decode(uint32_words(70_000), DT.UINT32) == 70_000
    assert decode(float32_words(0.8351), DT.FLOAT32) == pytest.approx(0.8351)
    assert math.isnan(decode(float32_words(None), DT.FLOAT32))
    assert decode(ascii_words("A12-77"), DT.STRING) == "A12-77"
    assert words_ascii(ModbusTcpClient.convert_to_registers("P-9 ", DT.STRING)) == "P-9"
    assert words_ascii([0] * 16) is None
    assert len(ascii_words("x" * 40)) == 16 and words_ascii(ascii_words("x" * 40)) == "x" * 32


def test_config_from_url_and_its_errors(tmp_path, tiny_bundle):
    assert ModbusConfig.from_url("127.0.0.1:5020").port == 5020
    assert ModbusConfig.from_url("modbus://0.0.0.0:502").host == "0.0.0.0"
    assert ModbusConfig.from_url(":1502").host == "127.0.0.1"
    assert ModbusConfig.from_url("[::1]:1502", buffer=3).host == "::1"
    with pytest.raises(ModbusConfigError, match="names no port"):
        ModbusConfig.from_url("localhost")
    with pytest.raises(ModbusConfigError, match="0-65535"):
        ModbusConfig.from_url("localhost:70000")
    with pytest.raises(ModbusConfigError, match=r"modbus\.buffer"):
        ModbusConfig(buffer=0)
    with pytest.raises(ModbusConfigError, match=r"modbus\.recipe_timeouts_s\.a"):
        ModbusConfig(recipe_timeouts_s={"a": -1})
    assert ModbusConfig(recipe_numbers={"7": "a"}).recipe_numbers == {7: "a"}  # TOML keys
    with pytest.raises(ModbusConfigError, match="'x' is not a RecipeNumber"):
        ModbusConfig(recipe_numbers={"x": "a"})
    store = open_store(tmp_path / "out")
    try:
        station = Station(store, provider="cpu")
        book = RecipeBook({"a": Recipe("a", str(tiny_bundle))})
        with pytest.raises(ModbusConfigError, match=r"recipe_numbers\.7: no recipe 'z'"):
            ModbusAdapter(station, ModbusConfig(recipe_numbers={7: "z"}), recipes=book)
        assert ModbusAdapter(station, ModbusConfig(recipe_numbers={7: "a"}), book).numbers == {
            7: "a"
        }
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            adapter = ModbusAdapter(station, ModbusConfig(port=port))
            with pytest.raises(ModbusError, match=f"127.0.0.1:{port}: cannot listen: .*in use"):
                adapter.start()
        assert adapter not in station.sinks
    finally:
        store.close()


# --- the handshake --------------------------------------------------------------------------


def test_the_whole_handshake_on_ok_and_ng_parts(line):
    plc = line.start("ONNOO")
    station, store = line.station, line.store
    assert line.adapter.status().clients == 1 and line.adapter.status().listening
    beat = plc.word(Input.HEARTBEAT)
    wait_until(lambda: plc.word(Input.HEARTBEAT) != beat, what="the heartbeat")
    bits = plc.bits()
    assert bits[Discrete.READY] and bits[Discrete.RUNNING] and not bits[Discrete.BUSY]
    assert plc.word(Input.STATION_STATE) == 3  # Ready
    assert plc.word(Input.ACTIVE_RECIPE) == 1  # the book's first recipe

    # Step by step for the first part, the station held after it stored the result.
    line.gate.close()
    plc.write_part("A-001")
    plc.coil(Coil.TRIGGER, True)
    bits = plc.bits()
    assert bits[Discrete.TRIGGER_ACK] and bits[Discrete.BUSY] and not bits[Discrete.READY]
    plc.coil(Coil.TRIGGER, False)
    assert not plc.bit(Discrete.TRIGGER_ACK)
    wait_until(line.gate.holding.is_set, what="the part to be inspected")
    bits = plc.bits()
    assert bits[Discrete.EXPOSURE_DONE] and bits[Discrete.BUSY] and not bits[Discrete.RESULT_VALID]
    assert plc.word(Input.STATION_STATE) == 4  # SingleExecution
    first_trigger = plc.client.convert_from_registers(
        plc.inputs()[Input.TRIGGER_ID : Input.TRIGGER_ID + 2], DT.UINT32
    )
    line.gate.open()
    results = [plc.take_result()]
    assert not plc.bit(Discrete.BUSY)
    plc.wait(Discrete.READY)

    for number in range(2, 6):
        results.append(plc.inspect(f"A-00{number}"))

    records = store.records()
    assert [r.verdict for r in records] == ["OK", "NG", "NG", "OK", "OK"]
    assert [r["verdict"] for r in results] == [
        Verdict.OK,
        Verdict.NG,
        Verdict.NG,
        Verdict.OK,
        Verdict.OK,
    ]
    assert [(r["ok"], r["ng"]) for r in results] == [
        (True, False),
        (False, True),
        (False, True),
        (True, False),
        (True, False),
    ]
    assert [r["result_id"] for r in results] == [r.id for r in records]
    ids = [r["result_id"] for r in results]
    assert ids == list(range(ids[0], ids[0] + 5))  # ResultId increments
    assert [r["trigger_id"] for r in results] == list(range(first_trigger, first_trigger + 5))
    assert [r.part_id for r in records] == [f"A-00{n}" for n in range(1, 6)]
    assert [r.job_id for r in records] == [f"modbus-{r['trigger_id']}" for r in results]
    for got, record in zip(results, records, strict=True):
        assert got["part_id"] == record.part_id
        assert got["code"] is Code.NONE
        assert got["score"] == pytest.approx(record.score, rel=1e-6)
        assert got["threshold"] == pytest.approx(record.threshold, rel=1e-6)
        assert got["defects"] == record.region_count
        assert got["latency_ms"] == pytest.approx(record.latency_ms, rel=1e-5)
    assert results[1]["defects"] >= 1 and results[0]["defects"] == 0
    assert station.missed == 0 and plc.word(Input.MISSED_TRIGGERS) == 0
    status = line.adapter.status()
    assert (status.triggers, status.results, status.missed) == (5, 5, 0)
    assert status.last_ack is not None and status.last_trigger is not None


# --- faults ---------------------------------------------------------------------------------


def test_a_trigger_while_not_ready_is_a_missed_trigger(line):
    plc = line.start("OOO", enable=False)
    # Enable off: Ready stays down; a trigger is not taken.
    assert not plc.bit(Discrete.READY)
    plc.write_part("E-1")
    plc.coil(Coil.TRIGGER, True)
    bits = plc.bits()
    assert bits[Discrete.MISSED_TRIGGER] and not bits[Discrete.TRIGGER_ACK]
    assert not bits[Discrete.BUSY]
    assert plc.word(Input.MISSED_TRIGGERS) == 1
    plc.coil(Coil.TRIGGER, False)

    # Busy: the second trigger reaches the core, which stores and counts it as missed.
    plc.coil(Coil.ENABLE, True)
    line.gate.close()
    plc.trigger("B-1")
    wait_until(line.gate.holding.is_set, what="the first part to be held")
    assert not plc.bit(Discrete.MISSED_TRIGGER)  # cleared by the trigger taken
    assert not plc.bit(Discrete.READY)
    plc.write_part("B-2")
    plc.coil(Coil.TRIGGER, True)
    bits = plc.bits()
    assert bits[Discrete.MISSED_TRIGGER] and not bits[Discrete.TRIGGER_ACK]
    assert plc.word(Input.MISSED_TRIGGERS) == 2
    plc.coil(Coil.TRIGGER, False)
    refused, missed = line.store.missed_triggers()  # every trigger is accounted for
    assert (refused.part_id, refused.origin, refused.reason) == (
        "E-1",
        "modbus",
        "PLC: Enable is off",
    )
    assert (missed.part_id, missed.origin) == ("B-2", "modbus")
    assert "busy" in missed.reason and line.station.missed == 2
    line.gate.open()
    assert plc.take_result()["part_id"] == "B-1"

    # The next trigger taken clears the flag; the counter stays.
    result = plc.inspect("B-3")
    assert result["part_id"] == "B-3" and result["verdict"] is Verdict.OK
    assert not plc.bit(Discrete.MISSED_TRIGGER) and plc.word(Input.MISSED_TRIGGERS) == 2
    assert [r.part_id for r in line.store.records()] == ["B-1", "B-3"]


def test_unacknowledged_results_are_buffered_then_overrun(line):
    plc = line.start("ONONOOO", buffer=2)
    for number in range(1, 5):  # Ready comes back without ResultAck: the buffer takes them
        plc.trigger(f"U-{number}")
        wait_until(lambda n=number: len(line.store.records()) == n, what=f"part {number}")
    wait_until(lambda: plc.word(Input.DISCARDED_RESULTS) == 2, what="2 discarded results")
    bits = plc.bits()
    assert bits[Discrete.RESULT_OVERRUN] and bits[Discrete.RESULT_VALID]
    assert plc.word(Input.BUFFERED_RESULTS) == 2
    records = line.store.records()
    assert [r.part_id for r in records] == ["U-1", "U-2", "U-3", "U-4"]  # all stored

    first, second = plc.take_result(), plc.take_result()
    assert (first["part_id"], first["result_id"]) == ("U-1", records[0].id)
    assert (second["part_id"], second["result_id"]) == ("U-2", records[1].id)
    assert (first["verdict"], second["verdict"]) == (Verdict.OK, Verdict.NG)
    time.sleep(0.05)
    bits = plc.bits()
    assert not bits[Discrete.RESULT_VALID] and plc.word(Input.BUFFERED_RESULTS) == 0
    assert bits[Discrete.RESULT_OVERRUN]  # latched until Reset
    plc.coil(Coil.RESET, True)
    plc.coil(Coil.RESET, False)
    assert not plc.bit(Discrete.RESULT_OVERRUN)
    assert plc.word(Input.DISCARDED_RESULTS) == 2
    assert line.station.state is VisionState.READY  # Reset outside Error/Halted: flags only
    assert plc.inspect("U-5")["part_id"] == "U-5"

    # A result that comes while ResultAck is still high waits for its falling edge.
    plc.trigger("U-6")
    plc.wait(Discrete.RESULT_VALID)
    plc.coil(Coil.RESULT_ACK, True)
    plc.wait(Discrete.RESULT_VALID, False)
    plc.trigger("U-7")
    wait_until(lambda: len(line.store.records()) == 7, what="part U-7")
    time.sleep(0.05)
    assert not plc.bit(Discrete.RESULT_VALID) and plc.word(Input.BUFFERED_RESULTS) == 1
    plc.coil(Coil.RESULT_ACK, False)
    assert plc.bit(Discrete.RESULT_VALID) and plc.result()["part_id"] == "U-7"


def test_no_result_within_the_budget_is_ng_and_the_late_result_is_not_presented(line):
    plc = line.start("OO", timeout_s=5.0, recipe_timeouts_s={"a": 0.2})
    line.gate.close()
    started = time.monotonic()
    plc.trigger("T-1")
    plc.wait(Discrete.RESULT_VALID, timeout=2)
    waited = time.monotonic() - started
    assert 0.15 < waited < 1.5, f"timeout answered after {waited:.3f} s; the budget is 0.2 s"
    timed_out = plc.take_result()
    assert timed_out["verdict"] is Verdict.ERROR and timed_out["code"] is Code.TIMEOUT
    assert (timed_out["ok"], timed_out["ng"]) == (False, True)  # never passed by a timeout
    assert timed_out["result_id"] == 0 and timed_out["part_id"] == "T-1"
    assert not plc.bit(Discrete.READY)  # the station is still on the part
    line.gate.open()
    wait_until(lambda: plc.word(Input.LATE_RESULTS) == 1, what="the late result")
    plc.wait(Discrete.READY)
    time.sleep(0.05)
    assert not plc.bit(Discrete.RESULT_VALID), "the late result was presented"
    (late,) = line.store.records()
    assert (late.part_id, late.verdict) == ("T-1", "OK")  # stored with its real verdict

    after = plc.inspect("T-2")  # a result in budget: presented as usual
    assert (after["part_id"], after["verdict"], after["code"]) == ("T-2", Verdict.OK, Code.NONE)
    assert after["trigger_id"] == timed_out["trigger_id"] + 1
    assert after["result_id"] == late.id + 1


def test_a_trigger_whose_part_never_comes_is_answered_ng(line):
    plc = line.start("O")
    assert plc.inspect("D-1")["verdict"] is Verdict.OK
    plc.trigger("D-2")  # taken; the folder has no more parts
    result = plc.take_result()
    assert result["code"] is Code.TRIGGER_DROPPED and result["ng"] and not result["ok"]
    assert result["part_id"] == "D-2" and result["result_id"] == 0
    assert plc.word(Input.MISSED_TRIGGERS) == 1
    (missed,) = line.store.missed_triggers()
    assert missed.part_id == "D-2" and "no more frames" in missed.reason


def test_recipe_numbers_select_recipes_and_a_bad_one_keeps_the_old(line, tiny_bundle):
    lenient = Recipe(
        "b", str(tiny_bundle), thresholds={"image_threshold": 10.0, "min_defect_area_px": 10**6}
    )
    broken = Recipe("c", str(line.tmp_path / "no-such-bundle"))
    line.book.recipes.update({"b": lenient, "c": broken})  # numbers: a 1, b 2, c 3
    plc = line.start("NNNN")
    result = plc.inspect("R-1", recipe=2)
    assert result["verdict"] is Verdict.OK  # an NG part passes the lenient recipe
    assert line.station.recipe.id == "b" and plc.word(Input.ACTIVE_RECIPE) == 2

    unknown = plc.inspect("R-2", recipe=9)
    assert (unknown["verdict"], unknown["code"]) == (Verdict.ERROR, Code.RECIPE_UNKNOWN)
    assert unknown["ng"] and unknown["result_id"] == 0 and unknown["part_id"] == "R-2"
    failed = plc.inspect("R-3", recipe=3)
    assert (failed["verdict"], failed["code"]) == (Verdict.ERROR, Code.RECIPE_LOAD_FAILED)
    assert line.station.recipe.id == "b" and plc.word(Input.ACTIVE_RECIPE) == 2  # old kept
    *_, switch = line.store.recipe_switches()
    assert (switch.to_recipe, switch.requested_by) == ("c", "modbus") and switch.error

    assert plc.inspect("R-4", recipe=0)["verdict"] is Verdict.OK  # 0 keeps recipe b
    assert plc.inspect("R-5", recipe=2)["verdict"] is Verdict.OK  # b's number: no reload
    assert plc.inspect("R-6", recipe=1)["verdict"] is Verdict.NG  # back to a
    records = line.store.records()
    assert [(r.part_id, r.recipe_id) for r in records] == [
        ("R-1", "b"),
        ("R-4", "b"),
        ("R-5", "b"),
        ("R-6", "a"),
    ]
    assert [s.to_recipe for s in line.store.recipe_switches()] == ["a", "b", "c", "a"]


def test_station_error_raises_error_and_reset_clears_it(line, tmp_path):
    video = write_video(tmp_path / "camera.avi", frames=3, fps=5)
    camera = CameraSource(str(video), retries=1, retry_delay=0.01)  # stops delivering: Error
    plc = line.start(source=camera)
    wait_until(lambda: plc.bit(Discrete.ERROR), what="the Error bit")
    line.thread.join(TIMEOUT)  # no reconnect_s: the run ends, the state stays Error
    bits = plc.bits()
    assert not bits[Discrete.READY] and not bits[Discrete.RUNNING]
    assert plc.word(Input.FAULT_CODE) == Code.STATION_ERROR
    assert plc.word(Input.STATION_STATE) == 7 and line.station.state is VisionState.ERROR
    status_word = plc.word(Input.STATUS_WORD)
    assert status_word & (1 << Discrete.ERROR) and not status_word & (1 << Discrete.READY)
    plc.coil(Coil.RESET, True)
    wait_until(lambda: line.station.state is VisionState.READY, what="the station to reset")
    plc.coil(Coil.RESET, False)
    assert not plc.bit(Discrete.ERROR) and plc.word(Input.FAULT_CODE) == 0
    assert plc.word(Input.STATION_STATE) == 3


def test_reset_from_halted_and_close_stops_the_server(line):
    plc = line.start("O")
    line.station.halt()
    wait_until(lambda: plc.word(Input.STATION_STATE) == 6, what="Halted")
    assert not plc.bit(Discrete.READY) and not plc.bit(Discrete.ERROR)
    plc.coil(Coil.RESET, True)
    assert line.station.state is VisionState.READY and plc.word(Input.STATION_STATE) == 3
    port = line.adapter.port
    line.adapter.close()
    assert line.adapter not in line.station.sinks
    assert not line.adapter.status().listening
    with socket.socket() as probe:
        probe.settimeout(1)
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "still listening after close()"


def test_a_reset_refused_while_the_camera_reconnects_is_a_fault_code(line):
    camera = MjpegCamera()
    try:
        line.reconnect_s = 0.05
        plc = line.start(source=camera.url)
        camera.unplug()
        wait_until(lambda: plc.bit(Discrete.ERROR), what="the Error bit")
        assert plc.word(Input.FAULT_CODE) == Code.STATION_ERROR and line.station.running
        plc.coil(Coil.RESET, True)  # a run is on: the station refuses Reset
        plc.coil(Coil.RESET, False)
        assert plc.bit(Discrete.ERROR) and plc.word(Input.FAULT_CODE) == Code.RESET_REFUSED
        assert "Reset" in (line.adapter.status().last_error or "")
        camera.plug()  # back by itself: Error and the fault clear, Ready returns
        plc.wait(Discrete.READY)
        assert not plc.bit(Discrete.ERROR) and plc.word(Input.FAULT_CODE) == 0
        assert plc.inspect("C-1")["verdict"] is Verdict.OK
    finally:
        line.station.abort()
        camera.close()
