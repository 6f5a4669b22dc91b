"""The MQTT link (engine.line.mqtt) against a real mosquitto broker (bench/mosquitto.py), with a
real paho client playing the consumer: result messages of parts through a real Station (tiny
bundle, software triggers on a folder), the retained status and the last will of a killed
process, commands, and store and forward through a broker killed halfway through 50 parts.
"""

from __future__ import annotations

import dataclasses
import json
import queue
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from bench.mosquitto import Mosquitto
from engine.events import ResultReady
from engine.line.mqtt import (
    MqttConfig,
    MqttError,
    MqttLink,
    Topics,
    parse_command,
    result_payload,
)
from engine.recipes import Recipe, RecipeBook
from engine.recorder import open_store
from engine.station import Station
from engine.store import ResultStore
from tests.mosquitto import mosquitto_broker
from tests.parts import write_parts
from tests.tls import make_ca_and_server
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 5.0


# --- helpers --------------------------------------------------------------------------------


class Observer:
    """A consumer: a paho client subscribed (again after every reconnect: the broker keeps no
    sessions across a restart) to `topics`; it keeps every message with its arrival time."""

    def __init__(
        self, broker: Mosquitto, topics: list[str], name: str, ca: Path | None = None
    ) -> None:
        self.messages: list[tuple[str, bytes, bool, float]] = []
        self.subacks = 0
        self._topics = topics
        self._cond = threading.Condition()
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=name, protocol=paho.MQTTv311
        )
        self.client.reconnect_delay_set(0.05, 0.2)
        if ca is not None:  # a TLS broker: verify it against the test CA
            self.client.tls_set(ca_certs=str(ca))
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port, keepalive=10)
        self.client.loop_start()
        self.wait(lambda: self.subacks >= 1, what=f"{name} subscribed")

    def _on_connect(self, client, _userdata, _flags, reason, _properties) -> None:
        if not reason.is_failure:
            client.subscribe([(topic, 1) for topic in self._topics])

    def _on_subscribe(self, _client, _userdata, _mid, _reasons, _properties) -> None:
        with self._cond:
            self.subacks += 1
            self._cond.notify_all()

    def _on_message(self, _client, _userdata, message) -> None:
        with self._cond:
            self.messages.append(
                (message.topic, bytes(message.payload), message.retain, time.time())
            )
            self._cond.notify_all()

    def wait(self, predicate: Callable[[], bool], timeout: float = TIMEOUT, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"timed out after {timeout} s waiting for {what}; got "
                        f"{[(t, p[:80]) for t, p, _, _ in self.messages]}"
                    )
                self._cond.wait(left)

    def on(self, topic: str) -> list[tuple[bytes, bool, float]]:
        with self._cond:
            return [(p, r, t) for top, p, r, t in self.messages if top == topic]

    def json_on(self, topic: str) -> list[dict]:
        return [json.loads(payload) for payload, _, _ in self.on(topic)]

    def wait_on(self, topic: str, count: int, timeout: float = TIMEOUT) -> list[tuple]:
        """At least `count` messages on `topic`: (payload, retained, arrival time) each."""
        self.wait(lambda: len(self.on(topic)) >= count, timeout, f"{count} message(s) on {topic}")
        return self.on(topic)

    def wait_count(self, topic: str, count: int, timeout: float = TIMEOUT) -> list[dict]:
        """As `wait_on`, the payloads decoded from JSON."""
        self.wait_on(topic, count, timeout)
        return self.json_on(topic)

    def send(self, topic: str, payload: str) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(TIMEOUT)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Events:
    """The station's ResultReady and StateChanged events, in order."""

    def __init__(self, station: Station) -> None:
        self.items: list = []
        self._lock = threading.Lock()
        station.subscribe(self._add)

    def _add(self, event) -> None:
        with self._lock:
            self.items.append(event)

    def parts(self) -> list:
        with self._lock:
            return [e.part for e in self.items if isinstance(e, ResultReady)]


class Line:
    """A station on the tiny bundle in a software-trigger run over a folder of parts, and the
    links and observers of one test; everything is stopped at the end."""

    def __init__(self, tmp_path: Path, tiny_bundle: Path) -> None:
        self.tmp_path = tmp_path
        self.bundle = tiny_bundle
        self.store = open_store(tmp_path / "out")
        self.station = Station(self.store, provider="cpu", name="cell1")
        self.recipe = Recipe("a", str(tiny_bundle), name="Part A")
        self.station.prepare(self.recipe, "test")
        self.events = Events(self.station)
        self.links: list[MqttLink] = []
        self.observers: list[Observer] = []
        self._run: threading.Thread | None = None

    def link(self, broker: Mosquitto, recipes: RecipeBook | None = None, **values) -> MqttLink:
        values = {"port": broker.port, "station_id": "cell1", "counters_interval_s": 0.2, **values}
        link = MqttLink(self.station, MqttConfig(**values), recipes)
        self.links.append(link)
        link.start()
        return link

    def observe(
        self, broker: Mosquitto, *topics: str, name: str = "observer", ca: Path | None = None
    ) -> Observer:
        observer = Observer(broker, list(topics), f"{name}-{len(self.observers)}", ca)
        self.observers.append(observer)
        return observer

    def start_run(self, verdicts: str) -> None:
        folder = write_parts(self.tmp_path / "parts", verdicts)
        self._run = threading.Thread(
            target=self.station.run, args=(folder, "software"), daemon=True
        )
        self._run.start()
        wait_until(lambda: self.station.taking_triggers, what="the software-trigger run")

    def trigger(self, part_id: str, done: int) -> None:
        """One trigger that must be taken (after waiting for Ready); waits for its part."""
        wait_until(lambda: self.station.taking_triggers, what="Ready")
        assert self.station.trigger(part_id=part_id, origin="test"), part_id
        wait_until(lambda: len(self.events.parts()) >= done, what=f"part {part_id}")

    def stop_run(self) -> None:
        if self._run is not None and self._run.is_alive():
            self.station.abort()
            self._run.join(TIMEOUT)
            assert not self._run.is_alive(), "the station run did not end"

    def close(self) -> None:
        self.stop_run()
        for link in self.links:
            link.close(timeout=2.0)
        for observer in self.observers:
            observer.close()
        self.store.close()


@pytest.fixture()
def broker(tmp_path):
    yield from mosquitto_broker(tmp_path)


@pytest.fixture()
def line(tmp_path, tiny_bundle):
    made = Line(tmp_path, tiny_bundle)
    yield made
    made.close()


TOPICS = Topics.of(MqttConfig(station_id="cell1"))


# --- configuration (no broker) --------------------------------------------------------------


def test_config_from_url_and_errors_naming_the_field():
    config = MqttConfig.from_url("mqtt://ops:s%3Acret@10.1.2.3:1884", station_id="line-7")
    assert (config.host, config.port, config.username, config.password) == (
        "10.1.2.3",
        1884,
        "ops",
        "s:cret",
    )
    assert "s:cret" not in repr(config)  # the password stays out of logs
    assert MqttConfig.from_url("broker.local").port == 1883
    assert Topics.of(config).result == "inspection/line-7/result"
    for url, words in [
        ("http://h:1883", "scheme must be mqtt:// or mqtts://"),
        ("mqtt://h:70000", "out of range"),
        ("mqtt://h:1883/topic", "only mqtt://HOST:PORT"),
        ("mqtt://:1883", "no host"),
    ]:
        with pytest.raises(MqttError, match=words):
            MqttConfig.from_url(url)
    with pytest.raises(MqttError, match=r"127.0.0.1:1883: station_id: 'a/b'.*window: 0"):
        MqttConfig(station_id="a/b", window=0)
    with pytest.raises(MqttError, match="topic_prefix: 'plant/#'"):
        MqttConfig(topic_prefix="plant/#")
    with pytest.raises(MqttError, match=r"unknown field.*colour"):
        MqttConfig.from_url("mqtt://h", colour="red")


def test_tls_config_from_mqtts_and_errors_naming_the_field(tmp_path):
    ca, cert, _ = make_ca_and_server(tmp_path)
    config = MqttConfig.from_url("mqtts://broker.local", ca_file=str(ca))
    assert (config.tls, config.port, config.ca_file) == (True, 8883, str(ca))
    assert MqttConfig.from_url("mqtts://h:8884").port == 8884
    assert MqttConfig.from_url("mqtt://h").tls is False
    for url, values, words in [
        ("mqtt://h", {"ca_file": str(ca)}, "ca_file: only with TLS"),
        ("mqtts://h", {"ca_file": str(tmp_path / "none.pem")}, "ca_file: .*none.pem is not a"),
        ("mqtts://h", {"cert_file": str(cert)}, "cert_file and key_file: a client certificate"),
    ]:
        with pytest.raises(MqttError, match=words):
            MqttConfig.from_url(url, **values)


def test_commands_are_json_objects_or_plain_text():
    empty = {"part_id": None, "job_id": None, "request_id": None}
    assert parse_command("trigger", b" A12 ") == {**empty, "part_id": "A12"}
    assert parse_command("trigger", b"") == empty
    assert parse_command("recipe", b'{"recipe_id": "b", "request_id": 5}') == {
        "recipe_id": "b",
        "request_id": "5",
    }
    for name, payload, words in [
        ("trigger", b"{not json", "not valid JSON"),
        ("trigger", b'{"part": "A"}', "unknown field.*part; known: part_id"),
        ("trigger", b'{"part_id": [1]}', "part_id: must be text"),
        ("launch", b"", "unknown command 'launch'"),
        ("trigger", b"\xff", "not UTF-8"),
    ]:
        with pytest.raises(ValueError, match=words):
            parse_command(name, payload)


def test_the_store_keeps_a_publish_cursor_per_sink(tmp_path):
    path = tmp_path / "old.sqlite"
    ResultStore(path).close()
    with sqlite3.connect(path) as db:  # as a file from before the cursor table was
        db.execute("DROP TABLE publish_cursors")
    with ResultStore(path) as store:
        assert store.last_record_id() == 0 and store.records_after(0) == []
        assert store.publish_cursor("mqtt:a") is None
        ids = [
            store.add_failure(run_id="r", source="s", frame_id=str(i), origin="o", error="x")
            for i in range(5)
        ]
        assert store.last_record_id() == ids[-1]
        assert [r.id for r in store.records_after(ids[1], limit=2)] == ids[2:4]
        store.set_publish_cursor("mqtt:a", ids[2])
        store.set_publish_cursor("mqtt:b", ids[0])
        store.set_publish_cursor("mqtt:a", ids[3])  # moved on, not a second row
        assert (store.publish_cursor("mqtt:a"), store.publish_cursor("mqtt:b")) == (ids[3], ids[0])
    with ResultStore(path) as store:  # it survives a restart
        assert store.publish_cursor("mqtt:a") == ids[3]


# --- results --------------------------------------------------------------------------------


def test_each_part_is_one_result_message_with_the_stored_fields(broker, line):
    observer = line.observe(broker, TOPICS.result)
    link = line.link(broker)
    assert link.wait_connected(TIMEOUT)
    line.start_run("ONO")
    for done, part_id in enumerate(["A-1", "A-2", "A-3"], 1):
        line.trigger(part_id, done)
    messages = observer.wait_count(TOPICS.result, 3)
    records = line.store.records()
    parts = line.events.parts()
    assert (
        [m["result_id"] for m in messages]
        == [r.id for r in records]
        == [p.result_id for p in parts]
    )
    assert [m["part_id"] for m in messages] == ["A-1", "A-2", "A-3"]
    assert [m["verdict"] for m in messages] == ["OK", "NG", "OK"]
    digest = line.station.active.inspector.bundle.digest
    for message, record, part in zip(messages, records, parts, strict=True):
        assert message["station"] == "cell1"
        assert message["score"] == pytest.approx(record.score)
        assert message["threshold"] == pytest.approx(0.8)  # the tiny bundle's
        assert message["recipe_id"] == "a"
        assert message["bundle"] == {"name": "tiny", "digest": digest}
        assert message["latency_ms"] == pytest.approx(record.latency_ms, abs=0.001)
        assert message["time"].endswith("Z") and message["trigger_time"].endswith("Z")
        assert message["frame_id"] == record.frame_id and message["error"] is None
        boxes = [list(r.bbox) for r in part.result.regions]
        assert [r["bbox"] for r in message["regions"]] == boxes
        assert [r["area_px"] for r in message["regions"]] == record.region_areas
        assert message["region_count"] == len(boxes)
    ng = messages[1]["regions"]
    assert ng and ng[0]["bbox"][2] > 0 and ng[0]["area_px"] > 0  # the NG part's bright square
    wait_until(lambda: line.store.publish_cursor(link.cursor_name) == records[-1].id)
    status = link.status()
    assert (status.connected, status.unpublished, status.in_flight) == (True, 0, 0)


def test_results_from_the_store_carry_their_boxes_and_old_rows_their_areas(line):
    """The store keeps every region (so a result sent after a restart has its boxes); a row
    stored before it did has areas only."""
    line.start_run("N")
    line.trigger("Z-1", 1)
    record = line.store.records()[-1]
    payload = result_payload(record, "cell1")  # what a restart publishes: no PartResult
    assert [r["area_px"] for r in payload["regions"]] == record.region_areas
    assert all(len(r["bbox"]) == 4 and r["source"] for r in payload["regions"])
    old = dataclasses.replace(record, regions=None)  # a row of the schema before
    payload = result_payload(old, "cell1")
    assert [r["area_px"] for r in payload["regions"]] == record.region_areas
    assert all(r["bbox"] is None for r in payload["regions"]) and payload["regions"]
    json.dumps(payload, allow_nan=False)


# --- status, state, counters, last will -----------------------------------------------------

CHILD = """
import sys, time
from engine.line.mqtt import MqttConfig, MqttLink
from engine.recorder import open_store
from engine.station import Station
from engine.store import ResultStore
station = Station(open_store(sys.argv[1]), name="child")
link = MqttLink(station, MqttConfig(port=int(sys.argv[2]), station_id="child"))
link.start()
print("connected" if link.wait_connected(10) else "not connected", flush=True)
time.sleep(60)
"""


def test_status_is_retained_and_the_last_will_says_offline_when_the_process_dies(broker, tmp_path):
    status = Topics.of(MqttConfig(station_id="child")).status
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path / "child"), str(broker.port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    observers = []
    try:
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: lines.put(child.stdout.readline()), daemon=True).start()
        assert lines.get(timeout=20).strip() == "connected"
        # Subscribed after the fact: the broker hands over the retained "online".
        observers.append(Observer(broker, [status], "late-observer"))
        assert observers[0].wait_on(status, 1)[0][:2] == (b"online", True)
        child.kill()  # no DISCONNECT: the broker publishes the will
        child.wait(TIMEOUT)
        observers[0].wait(lambda: len(observers[0].on(status)) >= 2, what="the last will")
        assert observers[0].on(status)[1][0] == b"offline"
        observers.append(Observer(broker, [status], "later-observer"))
        assert observers[1].wait_on(status, 1)[0][:2] == (b"offline", True)  # and it is retained
    finally:
        child.kill()
        child.wait(TIMEOUT)
        for observer in observers:
            observer.close()


def test_state_follows_the_station_counters_are_periodic_and_close_says_offline(broker, line):
    link = line.link(broker)
    assert link.wait_connected(TIMEOUT)
    line.start_run("OO")
    observer = line.observe(broker, TOPICS.status, TOPICS.state, TOPICS.counters)
    assert observer.wait_on(TOPICS.status, 1)[0][:2] == (b"online", True)
    observer.wait_count(TOPICS.state, 1)
    first = observer.json_on(TOPICS.state)[0]
    assert first["state"] == "Operational/Ready" and first["recipe_id"] == "a"
    assert observer.on(TOPICS.state)[0][1] is True  # retained
    line.trigger("S-1", 1)
    observer.wait(
        lambda: any(
            s["transition"] == "SingleExecutionToReadyAuto" for s in observer.json_on(TOPICS.state)
        ),
        what="the return to Ready",
    )
    changes = [(s["previous"], s["state"], s["transition"]) for s in observer.json_on(TOPICS.state)]
    assert changes[-2:] == [
        ("Operational/Ready", "Operational/SingleExecution", "ReadyToSingleExecution"),
        ("Operational/SingleExecution", "Operational/Ready", "SingleExecutionToReadyAuto"),
    ]
    observer.wait(
        lambda: any(c["total"] == 1 for c in observer.json_on(TOPICS.counters)), what="counters"
    )
    counters = next(c for c in observer.json_on(TOPICS.counters) if c["total"] == 1)
    assert (counters["ok"], counters["ng"], counters["errors"], counters["missed"]) == (1, 0, 0, 0)
    assert counters["yield"] == 1.0
    line.stop_run()
    link.close()
    observer.wait(lambda: observer.on(TOPICS.status)[-1][0] == b"offline", what="offline")
    assert not link.connected


# --- commands -------------------------------------------------------------------------------


def test_a_command_topic_trigger_inspects_a_part_with_the_given_id(broker, line):
    observer = line.observe(broker, TOPICS.result, TOPICS.reply)
    link = line.link(broker)
    assert link.wait_connected(TIMEOUT)
    line.start_run("NO")
    observer.send(f"{TOPICS.base}/cmd/trigger", json.dumps({"part_id": "P-7", "request_id": "r1"}))
    result = observer.wait_count(TOPICS.result, 1)[0]
    assert (result["part_id"], result["verdict"]) == ("P-7", "NG")
    assert line.store.records()[-1].part_id == "P-7"
    reply = observer.wait_count(TOPICS.reply, 1)[0]
    assert reply == {
        **reply,
        "command": "trigger",
        "request_id": "r1",
        "ok": True,
        "part_id": "P-7",
        "error": None,
    }
    wait_until(lambda: line.station.taking_triggers, what="Ready")
    observer.send(f"{TOPICS.base}/cmd/trigger", "P-8")  # plain text: the part id
    assert observer.wait_count(TOPICS.result, 2)[1]["part_id"] == "P-8"
    line.stop_run()
    observer.send(f"{TOPICS.base}/cmd/trigger", json.dumps({"part_id": "P-9"}))
    missed = observer.wait_count(TOPICS.reply, 3)[2]
    assert missed["ok"] is False and "not waiting for triggers" in missed["error"]
    stored = line.store.missed_triggers()[-1]
    assert (stored.part_id, stored.origin) == ("P-9", "mqtt")
    observer.send(f"{TOPICS.base}/cmd/trigger", "{broken")
    bad = observer.wait_count(TOPICS.reply, 4)[3]
    assert bad["ok"] is False and "not valid JSON" in bad["error"]
    assert link.status().last_command.startswith("trigger: refused (payload is not valid JSON")


def test_a_command_topic_recipe_selects_from_the_recipe_book(broker, line):
    book = RecipeBook(
        {
            "a": line.recipe,
            "b": Recipe("b", str(line.bundle), thresholds={"image_threshold": 0.95}),
        }
    )
    observer = line.observe(broker, TOPICS.reply, TOPICS.state)
    link = line.link(broker, recipes=book)
    assert link.wait_connected(TIMEOUT)
    observer.send(f"{TOPICS.base}/cmd/recipe", json.dumps({"recipe_id": "b", "request_id": "x"}))
    reply = observer.wait_count(TOPICS.reply, 1)[0]
    assert (reply["command"], reply["request_id"], reply["ok"], reply["error"]) == (
        "recipe",
        "x",
        True,
        None,
    )
    assert reply["bundle_digest"] == line.station.active.inspector.bundle.digest
    assert line.station.recipe.id == "b"
    assert line.station.active.thresholds.image_threshold == 0.95
    switch = line.store.recipe_switches()[-1]
    assert (switch.to_recipe, switch.requested_by) == ("b", "mqtt")
    observer.wait(
        lambda: observer.json_on(TOPICS.state)[-1]["recipe_id"] == "b", what="state with b"
    )
    observer.send(f"{TOPICS.base}/cmd/recipe", "zz")
    refused = observer.wait_count(TOPICS.reply, 2)[1]
    assert refused["ok"] is False and "no recipe with id 'zz' (known: a, b)" in refused["error"]
    assert line.station.recipe.id == "b"  # the old recipe kept


# --- store and forward ----------------------------------------------------------------------


@pytest.mark.parametrize("outage", ["crash", "hang then crash"])
def test_a_broker_outage_halfway_through_50_parts_loses_no_result(broker, line, outage):
    """The broker is killed after the 25th part and restarted while parts keep coming: every
    result arrives, in order, and the cursor ends on the last id. "hang then crash" first
    freezes the broker until the link has a full window published and unacknowledged, which
    paho must resend after the restart, ahead of the backlog in the store.

    The link's first reconnect attempt is 2 s after the drop: by then the restarted broker is
    up and the consumer, which reconnects within 0.2 s, has subscribed again (the broker kept
    no session), so what the link sends has a subscriber."""
    total = 50
    window = 10
    observer = line.observe(broker, TOPICS.result)
    link = line.link(broker, window=window, reconnect_min_s=2.0, reconnect_max_s=4.0)
    assert link.wait_connected(TIMEOUT)
    line.start_run("ON" * (total // 2))
    driver_error: list[BaseException] = []

    def drive() -> None:
        try:
            for i in range(total):
                line.trigger(f"P{i:02d}", i + 1)
                time.sleep(0.01)  # a line's pace, so the outage falls mid-stream
        except BaseException as exc:  # handed to the test
            driver_error.append(exc)

    driver = threading.Thread(target=drive, daemon=True)
    driver.start()
    wait_until(lambda: len(line.events.parts()) >= total // 2, what="half of the parts")
    if outage == "hang then crash":
        broker.freeze()
        wait_until(lambda: link.status().in_flight == window, what="a window unacknowledged")
        assert (
            line.store.publish_cursor(link.cursor_name) <= line.events.parts()[total // 2].result_id
        )
    broker.kill()
    wait_until(lambda: not link.connected, what="the link to see the broker gone")
    wait_until(lambda: len(line.events.parts()) >= total // 2 + 10, what="parts in the outage")
    cursor = line.store.publish_cursor(link.cursor_name)
    received = [m["result_id"] for m in observer.json_on(TOPICS.result)]
    assert cursor <= max(received)  # nothing counted published that the broker did not take
    assert line.store.last_record_id() > cursor  # a backlog built up in the store
    subscribed = observer.subacks
    broker.start()
    observer.wait(lambda: observer.subacks > subscribed, what="the consumer back")
    driver.join(20)
    assert not driver.is_alive() and not driver_error, driver_error
    ids = [r.id for r in line.store.records()]
    assert len(ids) == total
    observer.wait(
        lambda: {m["result_id"] for m in observer.json_on(TOPICS.result)} >= set(ids),
        timeout=15,
        what="every result",
    )
    messages = observer.json_on(TOPICS.result)
    first_seen: dict[int, dict] = {}
    for message in messages:
        first = first_seen.setdefault(message["result_id"], message)
        assert message == first  # a duplicate is the same message: drop it by result id
    assert list(first_seen) == ids  # in order, none lost
    assert [m["part_id"] for m in first_seen.values()] == [f"P{i:02d}" for i in range(total)]
    wait_until(lambda: line.store.publish_cursor(link.cursor_name) == ids[-1], what="cursor")
    assert link.status().connects == 2


def test_a_restarted_link_sends_the_backlog_from_its_cursor(broker, line):
    broker.kill()  # the broker is down from the start: results wait in the store
    first = line.link(broker)
    line.start_run("ONONO")
    for done in range(1, 6):
        line.trigger(f"B{done}", done)
    assert line.store.publish_cursor(first.cursor_name) == 0
    assert first.status().unpublished == 5 and not first.connected
    first.close(timeout=0.5)
    broker.start()
    observer = line.observe(broker, TOPICS.result)
    second = line.link(broker)  # the same cursor name: it resumes where the first stopped
    messages = observer.wait_count(TOPICS.result, 5)
    assert [m["part_id"] for m in messages] == ["B1", "B2", "B3", "B4", "B5"]
    last = line.store.last_record_id()
    wait_until(lambda: line.store.publish_cursor(second.cursor_name) == last, what="cursor")
    # A link with no cursor yet starts after the newest row, unless asked for the history.
    fresh = line.link(broker, station_id="cell2")
    assert line.store.publish_cursor(fresh.cursor_name) == last
    assert fresh.status().unpublished == 0
    other = Topics.of(MqttConfig(station_id="cell3")).result
    history = line.observe(broker, other)
    line.link(broker, station_id="cell3", publish_history=True)
    assert [m["part_id"] for m in history.wait_count(other, 5)] == ["B1", "B2", "B3", "B4", "B5"]


def test_publish_latency_from_stored_to_received(broker, line):
    """Result stored (the row's time) to the consumer's receipt, for 50 paced parts: the
    publisher is woken by the sink, not by its idle poll."""
    total = 50
    observer = line.observe(broker, TOPICS.result)
    link = line.link(broker, counters_interval_s=60)
    assert link.wait_connected(TIMEOUT)
    line.start_run("O" * total)
    for done in range(1, total + 1):
        line.trigger(f"L{done}", done)
        observer.wait(lambda done=done: len(observer.on(TOPICS.result)) >= done)
    stored = {r.id: r.time for r in line.store.records()}
    latencies = sorted(
        (arrived - stored[json.loads(payload)["result_id"]]) * 1000
        for payload, _, arrived in observer.on(TOPICS.result)
    )
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))]
    print(f"MQTT stored -> received, {total} parts: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    assert p50 < 100, latencies  # the idle poll alone would give ~500 ms


# --- TLS ----------------------------------------------------------------------------------------


@pytest.fixture()
def tls_broker(tmp_path):
    files = make_ca_and_server(tmp_path / "tls")
    for broker in mosquitto_broker(tmp_path, tls=files):
        broker.ca = files[0]
        yield broker


def test_results_go_over_tls_to_a_broker_the_ca_vouches_for(tls_broker, line):
    observer = line.observe(tls_broker, TOPICS.result, ca=tls_broker.ca)
    link = line.link(tls_broker, tls=True, ca_file=str(tls_broker.ca))
    assert link.wait_connected(TIMEOUT)
    line.start_run("ON")
    for done, part_id in enumerate(["T-1", "T-2"], 1):
        line.trigger(part_id, done)
    messages = observer.wait_count(TOPICS.result, 2)
    assert [(m["part_id"], m["verdict"]) for m in messages] == [("T-1", "OK"), ("T-2", "NG")]
    records = line.store.records()
    wait_until(lambda: line.store.publish_cursor(link.cursor_name) == records[-1].id)


def test_a_broker_certificate_from_another_ca_is_refused_and_results_wait(
    tls_broker, line, tmp_path
):
    stranger, _, _ = make_ca_and_server(tmp_path / "other", name="other-ca")
    link = line.link(tls_broker, tls=True, ca_file=str(stranger))
    wait_until(lambda: link.status().last_error, what="the TLS failure", timeout=TIMEOUT)
    status = link.status()
    assert not status.connected
    assert "cannot connect (TLS: CERTIFICATE_VERIFY_FAILED)" in status.last_error
    line.start_run("O")
    line.trigger("kept-1", 1)
    assert line.store.publish_cursor(link.cursor_name) == 0  # nothing sent: it waits
    assert link.status().unpublished == 1
