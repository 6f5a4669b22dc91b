"""MQTT link of the station (paho-mqtt 2.x): results that survive a broker outage, a retained
status with a last will, counters, and a command topic for triggers and recipe selection.

Topics (`<prefix>` default `inspection`, `<station>` the station id; docs/mqtt.md has examples):

    <prefix>/<station>/result       one JSON message per stored result, QoS 1, in id order
    <prefix>/<station>/status       "online" / "offline", retained, QoS 1; the last will
    <prefix>/<station>/state        the vision state (OPC 40100) as JSON, retained, QoS 1
    <prefix>/<station>/counters     counts and the publish backlog, retained, QoS 0, periodic
    <prefix>/<station>/cmd/trigger  in:  a trigger, with part id / job id
    <prefix>/<station>/cmd/recipe   in:  a recipe selection (Station.prepare)
    <prefix>/<station>/reply        out: the answer to each command, QoS 1

Store and forward: results are published *from the SQLite store*, not from memory. The store
keeps a publish cursor (the last result id the broker acknowledged, `publish_cursors` table);
the publisher thread sends the rows after it, in id order, at most `window` unacknowledged at a
time, and moves the cursor only over the contiguous prefix the broker has acknowledged
(PUBACK). So a broker outage, or this process being killed, loses no result: on reconnect (or
restart) the unacknowledged ones go out again, in order. A result may then arrive twice; both
copies carry the same `result_id`, so a consumer drops the second.

Threads: paho's network thread (`loop_start`: connects, reconnects with backoff, resends
unacknowledged messages), the publisher thread (reads the store, publishes, moves the cursor)
and the command thread (a recipe load takes seconds and must not stall the network thread).
On a reconnect nothing new goes out before paho's resent ones are acknowledged.
`deliver()`, called in the station's cycle, only notes the part's region boxes and wakes the
publisher: no I/O in the cycle.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from engine.events import PartResult, RecipeChanged, StateChanged, TriggerMissed
from engine.recipes import RecipeBook, RecipeError
from engine.station import Station
from engine.store import Record, StoreError

log = logging.getLogger(__name__)

SCHEMA = 1  # version of the JSON payloads; raised on an incompatible change
IDLE_S = 1.0  # the publisher looks at the store at least this often (rows no sink delivered)
RETRY_S = 1.0  # after a store error, wait this long before trying again
TRANSITIONS_KEPT = 64  # state changes waiting to be published; the oldest go first
COMMANDS_KEPT = 100  # commands waiting for the command thread; more are refused
MAX_COMMAND_BYTES = 4096
REQUESTED_BY = "mqtt"
COMMAND_FIELDS = {
    "trigger": ("part_id", "job_id", "request_id"),
    "recipe": ("recipe_id", "request_id"),
}
_SENT = (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN)  # paho keeps both


class MqttError(Exception):
    """A configuration or URL the link cannot use; the message names the field and reason."""


@dataclass(frozen=True)
class MqttConfig:
    """Where the broker is and how to talk to it. `from_url("mqtt://HOST:PORT")` for the CLI."""

    host: str = "127.0.0.1"
    port: int = 1883
    station_id: str = "station"  # one topic level: <topic_prefix>/<station_id>/...
    topic_prefix: str = "inspection"
    client_id: str | None = None  # default "inspection-<station_id>": unique per broker
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # kept out of logs
    keepalive_s: int = 30
    counters_interval_s: float = 5.0
    window: int = 10  # results published and not yet acknowledged, at most
    reconnect_min_s: float = 1.0  # paho's backoff: doubles per failed attempt up to the max
    reconnect_max_s: float = 30.0
    publish_history: bool = False  # first start: also send the results stored before it
    commands: bool = True  # subscribe to cmd/trigger and cmd/recipe
    # TLS (mqtts://): the broker's certificate is checked against `ca_file` (else the system's
    # CAs) and its host name; `cert_file` and `key_file` give a client certificate.
    tls: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    def __post_init__(self) -> None:
        problems = list(_config_problems(self))
        if problems:
            raise MqttError(f"MQTT broker {self.host}:{self.port}: " + "; ".join(problems))

    @classmethod
    def from_url(cls, url: str, **values: Any) -> MqttConfig:
        """`mqtt://[user[:password]@]host[:port]` (or plain `host[:port]`), `mqtts://` for TLS
        (port 8883 by default); `values` set the other fields. Raises MqttError naming what is
        wrong."""
        text = url if "://" in url else f"mqtt://{url}"
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError as exc:
            raise MqttError(f"MQTT URL {url!r}: {exc}") from None
        if parts.scheme not in ("mqtt", "mqtts"):
            raise MqttError(f"MQTT URL {url!r}: scheme must be mqtt:// or mqtts:// (TLS)")
        if not parts.hostname:
            raise MqttError(f"MQTT URL {url!r}: no host")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise MqttError(
                f"MQTT URL {url!r}: only mqtt://HOST:PORT; set topic_prefix and station_id "
                "in the configuration"
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise MqttError(f"MQTT config: unknown field(s) {', '.join(unknown)}")
        return cls(
            **{
                "host": parts.hostname,
                "port": port or (8883 if parts.scheme == "mqtts" else 1883),
                "tls": parts.scheme == "mqtts",
                "username": unquote(parts.username) if parts.username else None,
                "password": unquote(parts.password) if parts.password else None,
                **values,
            }
        )

    @property
    def broker(self) -> str:
        return f"{self.host}:{self.port}"


def _config_problems(config: MqttConfig):
    if not config.host:
        yield "host: empty"
    if not 0 < config.port < 65536:
        yield f"port: {config.port} is not in 1..65535"
    if not _topic_level(config.station_id):
        yield f"station_id: {config.station_id!r} must be one topic level (no / + # or blank)"
    prefix = config.topic_prefix
    if not prefix or not all(_topic_level(level) for level in prefix.split("/")):
        yield f"topic_prefix: {prefix!r} must be topic levels joined by / (no + # or blanks)"
    if not 1 <= config.window <= 1000:
        yield f"window: {config.window} is not in 1..1000"
    if config.keepalive_s < 5:
        yield f"keepalive_s: {config.keepalive_s} is under 5"
    if config.counters_interval_s <= 0:
        yield f"counters_interval_s: {config.counters_interval_s} must be > 0"
    yield from _tls_problems(config)
    if not 0 < config.reconnect_min_s <= config.reconnect_max_s:
        yield (
            f"reconnect_min_s / reconnect_max_s: {config.reconnect_min_s} / "
            f"{config.reconnect_max_s} must be > 0 with min ≤ max"
        )


def _tls_problems(config: MqttConfig):
    files = {"ca_file": config.ca_file, "cert_file": config.cert_file, "key_file": config.key_file}
    given = [name for name, path in files.items() if path]
    if given and not config.tls:
        yield f"{', '.join(given)}: only with TLS (an mqtts:// broker URL)"
    for name in given:
        if not Path(files[name]).is_file():
            yield f"{name}: {files[name]} is not a readable file"
    if bool(config.cert_file) != bool(config.key_file):
        yield "cert_file and key_file: a client certificate needs both"


def _tls_context(config: MqttConfig) -> ssl.SSLContext:
    """Verify the broker (certificate and host name), TLS 1.2 or newer."""
    try:
        context = ssl.create_default_context(cafile=config.ca_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if config.cert_file:
            context.load_cert_chain(config.cert_file, config.key_file)
    except (ssl.SSLError, OSError) as exc:
        files = ", ".join(p for p in (config.ca_file, config.cert_file, config.key_file) if p)
        raise MqttError(f"MQTT broker {config.broker}: TLS files {files}: {exc}") from None
    return context


def _tls_failure(config: MqttConfig, timeout_s: float = 2.0) -> str | None:
    """Why a TLS connection to the broker fails (paho keeps the reason to itself), e.g. the
    broker's certificate is not signed by `ca_file`; None when the handshake works."""
    try:
        context = _tls_context(config)
        address = (config.host, config.port)
        with (
            socket.create_connection(address, timeout=timeout_s) as raw,
            context.wrap_socket(raw, server_hostname=config.host),
        ):
            return None
    except ssl.SSLError as exc:
        return f"TLS: {exc.reason or exc}"
    except (OSError, MqttError) as exc:
        return str(exc)


_PAHO_LOG = logging.getLogger(f"{__name__}.paho")


def _paho_log(_client, _userdata, _level, text: str) -> None:
    """paho's own log at DEBUG: it reports a normal disconnect as an error ("Client is not
    connected"), which would cry wolf in the service's log; the link logs outages itself. An
    exception in one of the link's callbacks stays an error."""
    _PAHO_LOG.log(logging.ERROR if text.startswith("Caught exception") else logging.DEBUG, text)


def _no_delay(_client, _userdata, sock) -> None:
    """paho leaves Nagle's algorithm on: a lone result message would wait for the TCP ACK of
    the one before (up to the peer's 40 ms delayed ACK). Send each one at once."""
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _topic_level(level: str) -> bool:
    return bool(level.strip()) and not set(level) & {"/", "+", "#", "\0"}


@dataclass(frozen=True)
class Topics:
    base: str
    result: str
    status: str
    state: str
    counters: str
    commands: str  # the subscription: <base>/cmd/+
    reply: str

    @classmethod
    def of(cls, config: MqttConfig) -> Topics:
        base = f"{config.topic_prefix}/{config.station_id}"
        return cls(
            base,
            f"{base}/result",
            f"{base}/status",
            f"{base}/state",
            f"{base}/counters",
            f"{base}/cmd/+",
            f"{base}/reply",
        )

    def command_name(self, topic: str) -> str | None:
        head = f"{self.base}/cmd/"
        return topic[len(head) :] if topic.startswith(head) else None


@dataclass(frozen=True)
class LinkStatus:
    """What the window's status bar and engineer settings show about the link."""

    broker: str
    connected: bool
    published_id: int  # the publish cursor: last result id the broker acknowledged
    unpublished: int  # stored results not yet acknowledged (the backlog of an outage)
    in_flight: int  # published, waiting for the broker's PUBACK
    connects: int  # successful connections so far (reconnects = connects - 1)
    last_ack: float | None  # wall-clock time of the last acknowledged result
    last_command: str | None  # e.g. "trigger part A12: taken"
    last_error: str | None

    @property
    def up(self) -> bool:
        return self.connected

    def headline(self) -> str:
        """A few words for a status bar: the backlog tells an outage's size."""
        state = "connected" if self.connected else "broker away"
        return f"{state} · {self.unpublished} to send"


# --- payloads -------------------------------------------------------------------------------


def iso_time(seconds: float | None) -> str | None:
    """Wall-clock seconds as ISO 8601 UTC with milliseconds ('2025-03-01T08:00:00.125Z')."""
    if seconds is None:
        return None
    stamp = datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def _number(value: float | None) -> float | None:
    """JSON has no NaN or infinity: those become null."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def result_payload(record: Record, station_id: str) -> dict[str, Any]:
    """The result message of one stored row. A row stored before the store kept regions has
    each region's area only, bbox and source null."""
    latency = _number(record.latency_ms)
    regions = record.regions
    if regions is None:
        areas = record.region_areas or []
        regions = [{"bbox": None, "area_px": int(a), "source": None} for a in areas]
    return {
        "schema": SCHEMA,
        "station": station_id,
        "result_id": record.id,
        "part_id": record.part_id,
        "job_id": record.job_id,
        "time": iso_time(record.time),
        "trigger_time": iso_time(record.trigger_time),
        "verdict": record.verdict,
        "score": _number(record.score),
        "threshold": _number(record.threshold),
        "region_count": record.region_count or 0,
        "regions": regions,
        "recipe_id": record.recipe_id,
        "bundle": {"name": record.bundle_name, "digest": record.bundle_digest},
        "latency_ms": None if latency is None else round(latency, 3),
        "error": record.error,
        "frame_id": record.frame_id,
        "run_id": record.run_id,
        "image_path": record.image_path,
        "overlay_path": record.overlay_path,
    }


def parse_command(name: str, payload: bytes) -> dict[str, str | None]:
    """A command's fields: a JSON object, or plain text taken as the main field (the part id
    of a trigger, the recipe id of a recipe). Raises ValueError saying what is wrong."""
    known = COMMAND_FIELDS.get(name)
    if known is None:
        raise ValueError(f"unknown command {name!r}; commands: {', '.join(COMMAND_FIELDS)}")
    if len(payload) > MAX_COMMAND_BYTES:
        raise ValueError(f"payload of {len(payload)} bytes; at most {MAX_COMMAND_BYTES}")
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ValueError("payload is not UTF-8 text") from None
    if not text.startswith("{"):
        return {key: (text or None) if key == known[0] else None for key in known}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"payload is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError("payload must be a JSON object")
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(known)}")
    for key, value in data.items():
        if value is not None and not isinstance(value, str | int):
            raise ValueError(f"{key}: must be text, got {type(value).__name__}")
    return {key: None if data.get(key) is None else str(data[key]) for key in known}


# --- the link -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sent:
    """One result handed to paho: acknowledged once paho reports `mid` after `since`."""

    result_id: int
    mid: int  # MQTT message id (paho reuses ids after 65535 messages)
    since: int  # the link's acknowledgement sequence number just before the publish call


@dataclass
class _Flight:
    """Results published and not yet known acknowledged, oldest first (publisher thread)."""

    sent_up_to: int  # highest result id handed to paho
    queue: deque[_Sent] = field(default_factory=deque)
    # After a reconnect paho resends the unacknowledged ones itself, but only after calling
    # on_connect: nothing new is published until they are all acknowledged, or a new result
    # could overtake them.
    draining: bool = False


class MqttLink:
    """The station's MQTT link; a result sink. `start()` connects (in the background: an absent
    broker is an outage, not an error) and `close()` says offline and disconnects."""

    def __init__(
        self, station: Station, config: MqttConfig, recipes: RecipeBook | None = None
    ) -> None:
        self.station = station
        self.config = config
        self.recipes = recipes
        self.topics = Topics.of(config)
        self.cursor_name = f"mqtt:{self.topics.base}"  # one cursor per topic tree
        self._client = self._make_client()
        self._kick = threading.Event()  # wakes the publisher
        self._closing = threading.Event()
        self._lock = threading.Lock()  # guards the fields below; never held while calling paho
        self._connected = False
        self._connects = 0
        # Acknowledgements: message id -> sequence number when paho reported it. A result is
        # acknowledged when its id was reported after its publish call began: that holds even
        # when the PUBACK comes before publish() returns, and no stale report of a reused id
        # counts.
        self._seq = 0
        self._acked: dict[int, int] = {}
        # (change, wall-clock time it happened), oldest first
        self._transitions: deque[tuple[StateChanged, float]] = deque(maxlen=TRANSITIONS_KEPT)
        self._snapshot_due = False
        self._published_id = 0
        self._in_flight = 0
        self._last_ack: float | None = None
        self._last_command: str | None = None
        self._last_error: str | None = None
        self._flight = _Flight(0)
        self._commands: queue.Queue[tuple[str, bytes] | None] = queue.Queue(COMMANDS_KEPT)
        self._miss_reason: str | None = None
        self._command_thread: threading.Thread | None = None
        self._threads: list[threading.Thread] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._started = False

    @classmethod
    def from_url(
        cls, station: Station, url: str, recipes: RecipeBook | None = None, **values: Any
    ) -> MqttLink:
        """`MqttLink.from_url(station, "mqtt://127.0.0.1:1883", book, station_id="line1")`."""
        values.setdefault("station_id", station.name)
        return cls(station, MqttConfig.from_url(url, **values), recipes)

    # --- life -----------------------------------------------------------------------------
    def start(self) -> None:
        """Open the publish cursor, start connecting and the threads, join the station."""
        if self._started:
            return
        self._started = True
        store = self.station.store
        cursor = store.publish_cursor(self.cursor_name)
        if cursor is None:  # first start: history is sent only when asked for
            cursor = 0 if self.config.publish_history else store.last_record_id()
            store.set_publish_cursor(self.cursor_name, cursor)
        self._published_id = cursor
        self._flight = _Flight(cursor)
        log.info(
            "MQTT %s: results after id %d go to %s", self.config.broker, cursor, self.topics.result
        )
        self._client.connect_async(self.config.host, self.config.port, self.config.keepalive_s)
        self._client.loop_start()
        for target, name in ((self._publish_loop, "publisher"), (self._command_loop, "commands")):
            thread = threading.Thread(target=target, name=f"mqtt-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self._command_thread = self._threads[-1]
        self._unsubscribe = self.station.subscribe(self._on_event)
        if self not in self.station.sinks:
            self.station.sinks.append(self)

    def wait_connected(self, timeout: float) -> bool:
        """True once connected to the broker (within `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while not self.connected:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Leave the station, let acknowledgements in flight arrive (at most `timeout` s), say
        "offline" on the status topic and disconnect. Unacknowledged results stay in the store
        and go out at the next start."""
        if not self._started or self._closing.is_set():
            return
        deadline = time.monotonic() + timeout
        if self in self.station.sinks:
            self.station.sinks.remove(self)
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._closing.set()
        self._kick.set()
        self._commands.put(None)
        for thread in self._threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        while self._flight.queue and self.connected and time.monotonic() < deadline:
            self._advance()
            time.sleep(0.005)
        self._advance()
        if self.connected:
            info, since = self._publish_other(self.topics.status, "offline", qos=1, retain=True)
            self._wait_acked(info.mid, since, deadline)
        self._client.disconnect()
        self._client.loop_stop()
        log.info("MQTT %s: closed at result id %d", self.config.broker, self._published_id)

    @property
    def connected(self) -> bool:
        with self._lock:
            return self._connected

    def status(self) -> LinkStatus:
        try:
            unpublished = max(0, self.station.store.last_record_id() - self._published_id)
        except StoreError:
            unpublished = -1
        with self._lock:
            return LinkStatus(
                broker=self.config.broker,
                connected=self._connected,
                published_id=self._published_id,
                unpublished=unpublished,
                in_flight=self._in_flight,
                connects=self._connects,
                last_ack=self._last_ack,
                last_command=self._last_command,
                last_error=self._last_error,
            )

    # --- the station's side (its threads: quick, no I/O) ----------------------------------
    def deliver(self, part: PartResult) -> None:
        """Result sink: wake the publisher, which reads the row from the store."""
        self._kick.set()

    def _on_event(self, event: object) -> None:
        if isinstance(event, StateChanged):
            with self._lock:
                self._transitions.append((event, time.time()))
            self._kick.set()
        elif isinstance(event, RecipeChanged):
            with self._lock:
                self._snapshot_due = True
            self._kick.set()
        elif isinstance(event, TriggerMissed) and threading.current_thread() is (
            self._command_thread
        ):
            self._miss_reason = event.reason  # published on the thread that sent the trigger

    # --- paho's network thread ------------------------------------------------------------
    def _make_client(self) -> paho.Client:
        config = self.config
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=config.client_id or f"inspection-{config.station_id}",
            protocol=paho.MQTTv311,
            clean_session=True,
        )
        if config.username:
            client.username_pw_set(config.username, config.password)
        if config.tls:
            client.tls_set_context(_tls_context(config))
        client.will_set(self.topics.status, "offline", qos=1, retain=True)
        client.reconnect_delay_set(config.reconnect_min_s, config.reconnect_max_s)
        # Room for the result window and the state, status and reply messages besides it.
        client.max_inflight_messages_set(config.window + 20)
        client.on_log = _paho_log
        client.suppress_exceptions = True  # a failing callback is logged; reconnects go on
        client.on_socket_open = _no_delay
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    def _on_connect(self, client, _userdata, _flags, reason, _properties) -> None:
        """paho: connected (again). Subscribe to the commands (the session is clean), say online,
        and have the publisher send the state and the results after the cursor."""
        if reason.is_failure:
            self._error(f"MQTT broker {self.config.broker} refused the connection: {reason}")
            return
        with self._lock:
            self._connected = True
            self._connects += 1
            self._flight.draining = True
            self._snapshot_due = True
            self._transitions.clear()  # the snapshot says where the station is now
            connects = self._connects
        log.info(
            "MQTT %s: connected%s; %d result(s) to send",
            self.config.broker,
            " again" if connects > 1 else "",
            self.status().unpublished,
        )
        if self.config.commands:
            client.subscribe(self.topics.commands, qos=1)
        self._publish_other(self.topics.status, "online", qos=1, retain=True)
        self._kick.set()

    def _on_connect_fail(self, _client, _userdata) -> None:
        why = _tls_failure(self.config) if self.config.tls else None
        self._error(
            f"MQTT broker {self.config.broker}: cannot connect{f' ({why})' if why else ''}; "
            "retrying, results wait in the store"
        )

    def _on_disconnect(self, _client, _userdata, _flags, reason, _properties) -> None:
        with self._lock:
            was = self._connected
            self._connected = False
        if was and not self._closing.is_set():
            self._error(
                f"MQTT broker {self.config.broker} lost ({reason}); results wait in the store "
                "and are sent on reconnect"
            )

    def _on_publish(self, _client, _userdata, mid, _reason, _properties) -> None:
        """paho: QoS 1 acknowledged by the broker (PUBACK), or QoS 0 written to the socket."""
        with self._lock:
            self._seq += 1
            self._acked[mid] = self._seq
        self._kick.set()

    def _on_message(self, _client, _userdata, message) -> None:
        try:
            self._commands.put_nowait((message.topic, bytes(message.payload)))
        except queue.Full:
            self._error(f"MQTT command on {message.topic} refused: {COMMANDS_KEPT} waiting")

    # --- the publisher thread -------------------------------------------------------------
    def _publish_loop(self) -> None:
        next_counters = time.monotonic()
        while not self._closing.is_set():
            self._kick.wait(max(0.0, min(IDLE_S, next_counters - time.monotonic())))
            self._kick.clear()
            if self._closing.is_set():
                return
            try:
                self._round()
                if time.monotonic() >= next_counters:
                    self._publish_counters()
                    next_counters = time.monotonic() + self.config.counters_interval_s
            except StoreError as exc:
                self._error(f"MQTT publisher: {exc}")
                self._closing.wait(RETRY_S)
            except Exception as exc:  # a bug must not end publishing for good
                log.exception("MQTT publisher failed")
                self._error(f"MQTT publisher failed: {exc}")
                self._closing.wait(RETRY_S)

    def _round(self) -> None:
        self._advance()
        if not self.connected:
            return
        self._publish_state()
        self._fill()

    def _fill(self) -> None:
        """Publish the next stored results, keeping at most `window` unacknowledged."""
        flight = self._flight
        with self._lock:
            if flight.draining and flight.queue:
                return  # paho is resending these; new ones go after them
            flight.draining = False
        room = self.config.window - len(flight.queue)
        if room <= 0:
            return
        for record in self.station.store.records_after(flight.sent_up_to, room):
            payload = json.dumps(result_payload(record, self.config.station_id))
            info, since = self._publish(self.topics.result, payload, qos=1)
            if info.rc not in _SENT:
                self._error(f"MQTT result {record.id} not queued: {paho.error_string(info.rc)}")
                return
            flight.queue.append(_Sent(record.id, info.mid, since))
            flight.sent_up_to = record.id
        with self._lock:
            self._in_flight = len(flight.queue)

    def _advance(self) -> None:
        """Move the cursor over the acknowledged prefix of the results in flight."""
        flight = self._flight
        acked = None
        with self._lock:
            while flight.queue and self._acked.get(flight.queue[0].mid, 0) > flight.queue[0].since:
                acked = flight.queue.popleft().result_id
            # Reports older than every result in flight can confirm nothing any more.
            floor = flight.queue[0].since if flight.queue else self._seq
            self._acked = {mid: seq for mid, seq in self._acked.items() if seq > floor}
            self._in_flight = len(flight.queue)
        if acked is None:
            return
        self.station.store.set_publish_cursor(self.cursor_name, acked)
        with self._lock:
            self._published_id = acked
            self._last_ack = time.time()

    def _publish_state(self) -> None:
        with self._lock:
            snapshot, self._snapshot_due = self._snapshot_due, False
            changes = list(self._transitions)
            self._transitions.clear()
        if snapshot:
            changes = [(None, time.time())]  # the current state says it all
        for change, when in changes:
            payload = json.dumps(self._state_payload(change, when))
            self._publish_other(self.topics.state, payload, qos=1, retain=True)

    def _state_payload(self, change: StateChanged | None, when: float) -> dict[str, Any]:
        station = self.station
        recipe = station.recipe
        return {
            "schema": SCHEMA,
            "station": self.config.station_id,
            "state": (change.new if change else station.state).path,
            "previous": change.old.path if change else None,
            "transition": change.transition if change else None,
            "recipe_id": recipe.id if recipe else None,
            "time": iso_time(when),
        }

    def _publish_counters(self) -> None:
        if not self.connected:
            return
        counters = self.station.counters
        status = self.status()
        payload = {
            "schema": SCHEMA,
            "station": self.config.station_id,
            "time": iso_time(time.time()),
            "total": counters.total,
            "ok": counters.ok,
            "ng": counters.ng,
            "errors": counters.errors,
            "yield": counters.yield_,
            "missed": self.station.missed,
            "published_id": status.published_id,
            "unpublished": status.unpublished,
        }
        self._publish_other(self.topics.counters, json.dumps(payload), qos=0, retain=True)

    def _publish(
        self, topic: str, payload: str, qos: int, retain: bool = False
    ) -> tuple[paho.MQTTMessageInfo, int]:
        """paho's publish, with the acknowledgement sequence number from just before it."""
        with self._lock:
            since = self._seq
        return self._client.publish(topic, payload, qos=qos, retain=retain), since

    def _publish_other(
        self, topic: str, payload: str, qos: int, retain: bool = False
    ) -> tuple[paho.MQTTMessageInfo, int]:
        """A message that is not a result (status, state, counters, reply): it moves no cursor,
        and one lost in an outage is simply superseded by the next."""
        return self._publish(topic, payload, qos, retain)

    def _wait_acked(self, mid: int, since: int, deadline: float) -> bool:
        while time.monotonic() < deadline:
            with self._lock:
                if self._acked.get(mid, 0) > since:
                    return True
            time.sleep(0.005)
        return False

    # --- the command thread ---------------------------------------------------------------
    def _command_loop(self) -> None:
        while True:
            item = self._commands.get()
            if item is None or self._closing.is_set():
                return
            topic, payload = item
            try:
                reply = self._command(self.topics.command_name(topic) or "", payload)
            except Exception as exc:  # answered, logged; the next command is still done
                log.exception("MQTT command on %s failed", topic)
                reply = {"ok": False, "error": f"internal error: {exc}"}
            reply = {"schema": SCHEMA, "station": self.config.station_id, **reply}
            reply["time"] = iso_time(time.time())
            self._publish_other(self.topics.reply, json.dumps(reply), qos=1)

    def _command(self, name: str, payload: bytes) -> dict[str, Any]:
        try:
            values = parse_command(name, payload)
        except ValueError as exc:
            self._note_command(f"{name or '?'}: refused ({exc})")
            return {"command": name, "ok": False, "error": str(exc)}
        if name == "trigger":
            return self._trigger(values)
        return self._select_recipe(values)

    def _trigger(self, values: dict[str, str | None]) -> dict[str, Any]:
        self._miss_reason = None
        part_id = values["part_id"]
        taken = self.station.trigger(part_id=part_id, job_id=values["job_id"], origin="mqtt")
        reason = None if taken else self._miss_reason or "trigger missed"
        self._note_command(f"trigger part {part_id or '-'}: {'taken' if taken else reason}")
        return {
            "command": "trigger",
            "request_id": values["request_id"],
            "ok": taken,
            "part_id": part_id,
            "job_id": values["job_id"],
            "error": reason,
        }

    def _select_recipe(self, values: dict[str, str | None]) -> dict[str, Any]:
        recipe_id = values["recipe_id"]
        reply = {"command": "recipe", "request_id": values["request_id"], "recipe_id": recipe_id}
        try:
            if self.recipes is None:
                raise RecipeError("this station takes no recipe selection (no recipe book)")
            if not recipe_id:
                raise RecipeError("no recipe id given")
            active = self.station.prepare(self.recipes.get(recipe_id), REQUESTED_BY)
        except RecipeError as exc:
            self._note_command(f"recipe {recipe_id}: {exc}")
            return {**reply, "ok": False, "bundle_digest": None, "error": str(exc)}
        self._note_command(f"recipe {recipe_id}: active")
        digest = active.inspector.bundle.digest
        return {**reply, "ok": True, "bundle_digest": digest, "error": None}

    def _note_command(self, text: str) -> None:
        log.info("MQTT command %s", text)
        with self._lock:
            self._last_command = text

    def _error(self, message: str) -> None:
        with self._lock:
            repeated = message == self._last_error
            self._last_error = message
        log.log(logging.DEBUG if repeated else logging.WARNING, "%s", message)


def describe(config: MqttConfig) -> str:
    """One line for logs and `station serve --check`: where the link publishes."""
    client_id = config.client_id or f"inspection-{config.station_id}"
    return f"MQTT mqtt://{config.broker} as {client_id}: {Topics.of(config).base}/#"
