"""Line adapters benchmark: trigger-to-result latency over Modbus TCP, MQTT and OPC UA, against
the station core's own latency of the same parts.

The station (the default bundle, a video played as the camera: VideoFileSource(path,
realtime=True), software triggers) runs in this process with its adapters; each protocol's
client runs in a process of its own, as the PLC or the line computer would (its polling and
its Python do not share this process's GIL), driven part by part over stdin/stdout:

- Modbus: a pymodbus client plays the PLC (Enable; PartId; Trigger; TriggerAck seen; Trigger
  dropped; ResultValid polled every --poll-ms; result block read; ResultAck; ResultValid drops;
  ResultAck dropped). Protocol latency = the Trigger write sent -> the poll that sees
  ResultValid returned; nothing subtracted (the polling period is reported).
- MQTT: a paho client publishes `cmd/trigger` with the part id (QoS 1) to a real mosquitto
  (bench/mosquitto.py, `set_tcp_nodelay true`) on a free 127.0.0.1 port; protocol latency =
  publish -> the `result` message with that part id received. Also the pure publish leg: the
  store row's time -> received (same machine, same wall clock).
- OPC UA: an asyncua client (Basic256Sha256 Sign & Encrypt, username and password) calls
  StartSingleJob and waits for the ResultReadyEvent with that part id (subscription
  publishing interval 0: each event is sent at once). Skipped, with the reason printed, when
  engine.line.opcua cannot be imported or its server does not start.

Added by the adapter = protocol latency - the core's latency_ms of that part (store row =
PartResult.latency_ms: trigger arrival in the core -> result ready to store). Also shown: the
core's trigger -> ResultReady event (after the store insert and the sinks) and the protocol
latency beyond it. Goal: each adapter adds at most 10 ms at p99.

Two layouts (--layout both, the default): `alone`, one station run block per protocol with
only that adapter attached; `together`, every adapter attached at once (as `station serve
--modbus --mqtt --opcua` would run) and the protocols taking turns part by part, so they see
the same conditions. One trigger at a time, each once the station is Ready again. A run is
restarted (not measured) before the video would end. Exit code 1 when a part is lost (no
result seen by the client, no store row, a missed trigger, a timeout answer) or a Modbus or
MQTT block could not be set up.

    .venv/bin/python bench/bench_line.py --bundle assets/default_bundle \
        [--parts 200] [--quick] [--layout both|alone|together] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import platform
import queue
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
for _path in (str(REPO), str(BENCH)):  # run as a script: `engine`, `tests`, `bench_station`
    if _path not in sys.path:
        sys.path.insert(0, _path)

import bench_station  # noqa: E402  (the station benchmark's helpers, reused as they are)
import paho.mqtt.client as paho  # noqa: E402
from bench_station import (  # noqa: E402
    calibrate,
    finish_run,
    load_samples,
    start_run,
    stats,
    wait_ready,
    write_video,
)
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402
from pymodbus.client import ModbusTcpClient  # noqa: E402

from bench.mosquitto import Mosquitto, find_mosquitto, free_port  # noqa: E402
from engine.bundle import load_bundle  # noqa: E402
from engine.events import FrameFailed, ResultReady  # noqa: E402
from engine.inspector import Inspector  # noqa: E402
from engine.line.modbus import ModbusAdapter, ModbusConfig  # noqa: E402
from engine.line.modbus_map import (  # noqa: E402
    Code,
    Coil,
    Discrete,
    Holding,
    Input,
    Table,
    ascii_words,
    table_size,
    words_ascii,
)
from engine.line.mqtt import MqttConfig, MqttLink, Topics  # noqa: E402
from engine.recipes import Recipe, RecipeBook  # noqa: E402
from engine.recorder import open_store  # noqa: E402
from engine.sources import VideoFileSource  # noqa: E402
from engine.station import Station  # noqa: E402

GOAL_ADDED_P99_MS = 10.0
PROTOCOLS = ("modbus", "mqtt", "opcua")
LABELS = {"modbus": "Modbus TCP", "mqtt": "MQTT", "opcua": "OPC UA"}
FULL = {"parts": 200, "warmup": 3}
QUICK = {"parts": 10, "warmup": 1}
MV_NAMESPACE = "http://opcfoundation.org/UA/MachineVision"
RESULT_READY_EVENT = 1024  # ResultReadyEventType in the Machine Vision namespace
OPCUA_USER, OPCUA_PASSWORD = "bench", "bench-line-password"
OPCUA_CLIENT_URI = "urn:inspection-station:bench-client"
CLIENT_START_S = 90.0  # a client's connect (OPC UA: key, secure channel, type definitions)
RESULT_WAIT_S = 20.0  # a client waits this long for one part's result
STEP_WAIT_S = 60.0  # the station side waits this long for a client's answer
PROGRESS_EVERY = 100  # parts between progress lines

log = logging.getLogger("bench_line")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", default=str(REPO / "assets/default_bundle"), help="bundle")
    parser.add_argument("--provider", help="onnxruntime provider: cpu, cuda, ... (default: auto)")
    parser.add_argument(
        "--samples", type=Path, default=REPO / "assets/samples", help="folder of sample images"
    )
    parser.add_argument("--parts", type=int, help="timed parts per protocol and layout (200)")
    parser.add_argument("--warmup", type=int, help="untimed parts per protocol first (3)")
    parser.add_argument(
        "--layout",
        choices=("both", "alone", "together"),
        default="both",
        help="alone: one adapter at a time; together: all attached, taking turns (both)",
    )
    parser.add_argument(
        "--protocols", default=",".join(PROTOCOLS), help="comma-separated (modbus,mqtt,opcua)"
    )
    parser.add_argument(
        "--poll-ms", type=float, default=0.5, help="Modbus: ResultValid polling period (0.5)"
    )
    parser.add_argument(
        "--policy",
        choices=("none", "default"),
        default="none",
        help="image archiving: none, or the recipe default (NG overlays + NG originals)",
    )
    parser.add_argument("--fps", type=float, default=20.0, help="video frame rate (default: 20)")
    parser.add_argument(
        "--video-s", type=float, default=60.0, help="video length; runs restart before its end"
    )
    parser.add_argument("--quick", action="store_true", help="small smoke run (about a minute)")
    parser.add_argument("--keep", type=Path, help="keep the scratch files in this folder")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument("--report", type=Path, help="only print the tables of a JSON written here")
    parser.add_argument("--client", choices=PROTOCOLS, help=argparse.SUPPRESS)
    parser.add_argument("--client-config", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.protocols = [p.strip() for p in args.protocols.split(",") if p.strip()]
    unknown = sorted(set(args.protocols) - set(PROTOCOLS))
    if unknown:
        parser.error(f"--protocols: unknown {', '.join(unknown)} (known: {', '.join(PROTOCOLS)})")
    if args.parts < 1 or args.warmup < 0 or args.poll_ms <= 0:
        parser.error("--parts must be >= 1, --warmup >= 0, --poll-ms > 0")
    return args


# === the clients: each in its own process =========================================================


class ClientError(Exception):
    """A client could not do its part of the protocol; the message says what and where."""


def _say(message: dict[str, Any]) -> None:
    """One JSON line to the station side (stdout is the channel; logs go to stderr)."""
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _ms(start: float, end: float) -> float:
    return (end - start) * 1000


class ModbusPlc:
    """The PLC: the handshake of docs/modbus.md with a pymodbus client, timed from the Trigger
    write to the poll that sees ResultValid."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.where = f"modbus {config['host']}:{config['port']}"
        self.period_s = float(config["poll_s"])
        self.client = ModbusTcpClient(config["host"], port=config["port"], timeout=2, retries=0)
        if not self.client.connect():
            raise ClientError(f"{self.where}: cannot connect")
        self._write_coil(Coil.ENABLE, True)
        self._starts: list[float] = []  # poll start times of the current wait
        self._rtts: list[float] = []

    def info(self) -> dict[str, Any]:
        return {"poll_ms": self.period_s * 1000}

    def close(self) -> None:
        self.client.close()

    def _write_coil(self, coil: Coil, value: bool) -> None:
        reply = self.client.write_coil(int(coil), value)
        if reply.isError():
            raise ClientError(f"{self.where}: write of coil {coil.name} failed: {reply}")

    def _bits(self) -> list[bool]:
        reply = self.client.read_discrete_inputs(0, count=len(Discrete))
        if reply.isError():
            raise ClientError(f"{self.where}: read of discrete inputs failed: {reply}")
        return list(reply.bits)

    def _poll(self, bit: Discrete, value: bool, timeout_s: float) -> tuple[float, list[bool]]:
        """Read the discrete inputs every `period_s` (back to back when a read takes longer)
        until `bit` is `value`; returns when that read returned, and the bits."""
        deadline = time.perf_counter() + timeout_s
        while True:
            start = time.perf_counter()
            bits = self._bits()
            seen = time.perf_counter()
            self._starts.append(start)
            self._rtts.append(_ms(start, seen))
            if bool(bits[bit]) == value:
                return seen, bits
            if seen > deadline:
                raise ClientError(f"{self.where}: {bit.name} not {value} within {timeout_s:g} s")
            pause = start + self.period_s - time.perf_counter()
            if pause > 0:
                time.sleep(pause)

    def _result_block(self) -> dict[str, Any]:
        reply = self.client.read_input_registers(0, count=table_size(Table.INPUT_REGISTER))
        if reply.isError():
            raise ClientError(f"{self.where}: read of input registers failed: {reply}")
        regs = reply.registers

        def uint32(address: Input) -> int:
            return (regs[address] << 16) | regs[address + 1]

        latency = struct.unpack(
            ">f", struct.pack(">HH", *regs[Input.LATENCY_MS : Input.LATENCY_MS + 2])
        )
        return {
            "trigger_id": uint32(Input.TRIGGER_ID),
            "result_id": uint32(Input.RESULT_ID),
            "result_trigger_id": uint32(Input.RESULT_TRIGGER_ID),
            "verdict_code": regs[Input.VERDICT],
            "error_code": regs[Input.ERROR_CODE],
            "latency_register_ms": latency[0],
            "result_part_id": words_ascii(regs[Input.RESULT_PART_ID : Input.RESULT_PART_ID + 16]),
        }

    def inspect(self, part_id: str) -> dict[str, Any]:
        self._poll(Discrete.READY, True, RESULT_WAIT_S)
        words = ascii_words(part_id)
        reply = self.client.write_registers(int(Holding.RECIPE_NUMBER), [0, *words])
        if reply.isError():
            raise ClientError(f"{self.where}: write of PartId failed: {reply}")
        self._starts, self._rtts = [], []
        sent = time.perf_counter()
        self._write_coil(Coil.TRIGGER, True)
        written = time.perf_counter()
        _, bits = self._poll(Discrete.TRIGGER_ACK, True, 2.0)
        self._write_coil(Coil.TRIGGER, False)
        self._starts, self._rtts = [], []  # the ResultValid wait's polls from here
        valid, bits = self._poll(Discrete.RESULT_VALID, True, RESULT_WAIT_S)
        valid_wall = time.time()
        polls = len(self._starts)
        intervals = np.diff(self._starts) * 1000 if polls > 1 else np.zeros(0)
        rtts = list(self._rtts)
        block = self._result_block()
        self._write_coil(Coil.RESULT_ACK, True)
        self._poll(Discrete.RESULT_VALID, False, 2.0)
        self._write_coil(Coil.RESULT_ACK, False)
        problems = []
        if block["result_trigger_id"] != block["trigger_id"]:
            problems.append(
                f"ResultTriggerId {block['result_trigger_id']} != TriggerId {block['trigger_id']}"
            )
        if block["result_part_id"] != part_id:
            problems.append(f"ResultPartId {block['result_part_id']!r} != {part_id!r}")
        if block["error_code"] != Code.NONE:
            problems.append(f"ErrorCode {Code(block['error_code']).name}")
        return {
            "part_id": part_id,
            "ok": not problems,
            "error": "; ".join(problems) or None,
            "protocol_ms": _ms(sent, valid),
            "trigger_write_ms": _ms(sent, written),
            "polls": polls,
            "poll_interval_ms_mean": float(intervals.mean()) if intervals.size else None,
            "poll_interval_ms_max": float(intervals.max()) if intervals.size else None,
            "last_poll_interval_ms": float(intervals[-1]) if intervals.size else None,
            "poll_rtt_ms_mean": float(np.mean(rtts)) if rtts else None,
            "received_wall": valid_wall,
            "ok_bit": bits[Discrete.OK],
            **block,
        }


class MqttTrigger:
    """A line computer on MQTT: `cmd/trigger` with a part id, then the result message with it."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.where = f"MQTT broker {config['host']}:{config['port']}"
        self.topics = config["topics"]
        self._cond = threading.Condition()
        self._results: dict[str, tuple[float, float, dict]] = {}  # part id -> arrival, payload
        self._replies: dict[str, tuple[float, dict]] = {}  # request id -> arrival, payload
        self._subscribed = False
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=config["client_id"], protocol=paho.MQTTv311
        )
        self.client.on_socket_open = _no_delay
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.connect(config["host"], config["port"], keepalive=30)
        self.client.loop_start()
        if not self._wait(lambda: self._subscribed, 10.0):
            raise ClientError(f"{self.where}: not subscribed within 10 s")

    def info(self) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client, _userdata, _flags, reason, _properties) -> None:
        if not reason.is_failure:
            client.subscribe([(self.topics["result"], 1), (self.topics["reply"], 1)])

    def _on_subscribe(self, _client, _userdata, _mid, _reasons, _properties) -> None:
        with self._cond:
            self._subscribed = True
            self._cond.notify_all()

    def _on_message(self, _client, _userdata, message) -> None:
        arrived, wall = time.perf_counter(), time.time()
        payload = json.loads(message.payload)
        with self._cond:
            if message.topic == self.topics["result"]:
                self._results[payload.get("part_id") or ""] = (arrived, wall, payload)
            elif payload.get("request_id"):
                self._replies[payload["request_id"]] = (arrived, payload)
            self._cond.notify_all()

    def _wait(self, predicate, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def inspect(self, part_id: str) -> dict[str, Any]:
        payload = json.dumps({"part_id": part_id, "request_id": part_id})
        sent = time.perf_counter()
        self.client.publish(self.topics["trigger"], payload, qos=1)

        def answered() -> bool:
            reply = self._replies.get(part_id)
            return part_id in self._results or (reply is not None and not reply[1]["ok"])

        if not self._wait(answered, RESULT_WAIT_S):
            raise ClientError(f"{self.where}: no result for part {part_id} in {RESULT_WAIT_S} s")
        self._wait(lambda: part_id in self._replies, 2.0)  # the reply comes before the result
        with self._cond:
            reply = self._replies.pop(part_id, None)
            result = self._results.pop(part_id, None)
        if result is None:
            return {"part_id": part_id, "ok": False, "error": f"refused: {reply[1]['error']}"}
        arrived, wall, message = result
        return {
            "part_id": part_id,
            "ok": True,
            "error": None,
            "protocol_ms": _ms(sent, arrived),
            "reply_ms": _ms(sent, reply[0]) if reply else None,
            "received_wall": wall,
            "result_id": message["result_id"],
            "payload_latency_ms": message["latency_ms"],
        }


def _no_delay(_client, _userdata, sock) -> None:
    """TCP_NODELAY on the consumer's socket, as the link does on its own."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _OpcUaEvents:
    """Subscription handler: (arrival as perf_counter and wall clock, part id, result id)
    of each ResultReady event."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[float, float, str, str]] = asyncio.Queue()

    def event_notification(self, event) -> None:
        arrived, wall = time.perf_counter(), time.time()
        part = getattr(getattr(event, "PartId", None), "Id", "") or ""
        result = getattr(getattr(event, "ResultId", None), "Id", "") or ""
        self.queue.put_nowait((arrived, wall, part, result))


async def _opcua_client(config: dict[str, Any]) -> int:
    """A line client on OPC UA: StartSingleJob, then the ResultReadyEvent with that part id."""
    from asyncua import Client, ua
    from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256

    from engine.line.opcua_security import ensure_certificate

    cert = ensure_certificate(Path(config["cert_dir"]), OPCUA_CLIENT_URI, "127.0.0.1")
    client = Client(config["url"], timeout=10)
    client.application_uri = OPCUA_CLIENT_URI
    await client.set_security(
        SecurityPolicyBasic256Sha256,
        str(cert.cert_path),
        str(cert.key_path),
        mode=ua.MessageSecurityMode.SignAndEncrypt,
    )
    client.set_user(config["user"])
    client.set_password(config["password"])
    async with client:
        await client.load_data_type_definitions()
        ns = await client.get_namespace_index(MV_NAMESPACE)
        own = await client.get_namespace_index(config["application_uri"])
        system = await client.nodes.objects.get_child(f"{own}:VisionSystem")
        auto = await system.get_child(
            [f"{ns}:VisionStateMachine", f"{ns}:AutomaticModeStateMachine"]
        )
        events = _OpcUaEvents()
        subscription = await client.create_subscription(0, events)
        await subscription.subscribe_events(
            system, client.get_node(ua.NodeId(RESULT_READY_EVENT, ns))
        )
        _say({"ready": True, "publishing_interval_ms": 0})
        while True:
            line = await asyncio.to_thread(sys.stdin.readline)
            request = json.loads(line) if line.strip() else {"quit": True}
            if request.get("quit"):
                return 0
            part_id = request["part_id"]
            try:
                answer = await _opcua_part(auto, ns, events, part_id, ua)
            except Exception as exc:  # reported as this part's failure; the next one goes on
                answer = {"part_id": part_id, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
            _say(answer)


async def _opcua_part(auto, ns: int, events: _OpcUaEvents, part_id: str, ua) -> dict[str, Any]:
    sent = time.perf_counter()
    job, error = await auto.call_method(
        f"{ns}:StartSingleJob",
        ua.MeasIdDataType(Id=""),
        ua.PartIdDataType(Id=part_id),
        ua.RecipeIdExternalDataType(Id=""),
        ua.ProductIdDataType(Id=""),
        ua.Variant([], ua.VariantType.Variant),
    )
    called = time.perf_counter()
    if error != 0:
        return {"part_id": part_id, "ok": False, "error": f"StartSingleJob error {error}"}
    deadline = sent + RESULT_WAIT_S
    while True:  # events of other parts (other protocols' turns) are passed over
        left = deadline - time.perf_counter()
        if left <= 0:
            return {"part_id": part_id, "ok": False, "error": "no ResultReadyEvent"}
        arrived, wall, part, result_id = await asyncio.wait_for(events.queue.get(), left)
        if part == part_id:
            break
    return {
        "part_id": part_id,
        "ok": True,
        "error": None,
        "protocol_ms": _ms(sent, arrived),
        "call_ms": _ms(sent, called),
        "received_wall": wall,
        "job_id": job.Id,
        "result_id": int(result_id) if result_id.isdigit() else None,
    }


def client_main(protocol: str, config: dict[str, Any]) -> int:
    """The client process: announce readiness, then one part per stdin line."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("asyncua").setLevel(logging.ERROR)
    try:
        if protocol == "opcua":
            return asyncio.run(_opcua_client(config))
        driver = ModbusPlc(config) if protocol == "modbus" else MqttTrigger(config)
    except Exception as exc:  # the station side prints it as the reason
        _say({"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return 1
    _say({"ready": True, **driver.info()})
    try:
        for line in sys.stdin:
            request = json.loads(line)
            if request.get("quit"):
                break
            try:
                answer = driver.inspect(request["part_id"])
            except Exception as exc:  # reported as this part's failure
                answer = {
                    "part_id": request["part_id"],
                    "ok": False,
                    "error": f"{type(exc).__name__}: {exc}",
                }
            _say(answer)
    finally:
        driver.close()
    return 0


# === the station side =============================================================================


class ClientProcess:
    """One protocol's client process; `step(part_id)` has it do one part and returns its
    answer (None when the process is gone or silent)."""

    def __init__(self, protocol: str, config: dict[str, Any], log_path: Path) -> None:
        self.protocol = protocol
        self.log_path = log_path
        self._log = log_path.open("w", encoding="utf-8")
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--client",
            protocol,
            "--client-config",
            json.dumps(config),
        ]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            bufsize=1,
            cwd=str(REPO),
        )
        self._lines: queue.Queue[dict | None] = queue.Queue()
        threading.Thread(target=self._read, name=f"{protocol}-client", daemon=True).start()
        hello = self._next(CLIENT_START_S)
        if hello is None or not hello.get("ready"):
            why = (hello or {}).get("error") or f"no answer within {CLIENT_START_S:g} s"
            self.close()
            raise ClientError(f"{LABELS[protocol]} client did not start: {why}{self.log_tail()}")
        self.info = hello

    def _read(self) -> None:
        for line in self.process.stdout:
            try:
                self._lines.put(json.loads(line))
            except json.JSONDecodeError:
                log.warning("%s client said: %s", self.protocol, line.rstrip())
        self._lines.put(None)

    def _next(self, timeout: float) -> dict | None:
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            return None

    def step(self, part_id: str, timeout: float = STEP_WAIT_S) -> dict | None:
        if self.process.poll() is not None:
            return None
        try:
            self.process.stdin.write(json.dumps({"part_id": part_id}) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            return None
        deadline = time.monotonic() + timeout
        while True:  # an answer to an earlier part that timed out here is passed over
            answer = self._next(max(0.0, deadline - time.monotonic()))
            if answer is None or answer.get("part_id") == part_id:
                return answer
            log.warning("%s client: late answer for %s", self.protocol, answer.get("part_id"))

    def log_tail(self, lines: int = 5) -> str:
        self._log.flush()
        text = self.log_path.read_text(encoding="utf-8", errors="replace").strip()
        return ("; log: " + " | ".join(text.splitlines()[-lines:])) if text else ""

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.write(json.dumps({"quit": True}) + "\n")
                self.process.stdin.flush()
                self.process.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log.close()


class EventTimes:
    """Trigger -> ResultReady/FrameFailed event (after the store insert and the sinks), per
    part id: the core's whole cycle as a subscriber sees it."""

    def __init__(self, station: Station) -> None:
        self.ms: dict[str, float] = {}
        self._lock = threading.Lock()
        self.unsubscribe = station.subscribe(self._on_event)

    def _on_event(self, event: object) -> None:
        if isinstance(event, ResultReady | FrameFailed):
            seen = time.perf_counter()
            trigger = event.part.trigger
            if trigger is not None and trigger.part_id:
                with self._lock:
                    self.ms[trigger.part_id] = _ms(trigger.clock, seen)


class Runs:
    """Software-trigger runs on the video as a camera, restarted before the video ends."""

    def __init__(self, station: Station, video: Path, video_s: float) -> None:
        self.station = station
        self.video = video
        self.video_s = video_s
        self.running = None
        self.started = 0.0
        self.count = 0

    def ensure(self, reserve_s: float) -> None:
        """A run that has at least `reserve_s` of video left."""
        alive = self.running is not None and self.running.thread.is_alive()
        if alive and self.video_s - (time.perf_counter() - self.started) >= reserve_s:
            return
        self.close()
        source = VideoFileSource(self.video, realtime=True)
        self.running = start_run(self.station, source, "software")
        self.started = time.perf_counter()
        self.count += 1

    def close(self) -> None:
        if self.running is not None:
            wait_ready(self.station, 10)
            finish_run(self.station, self.running)
            self.running = None


@dataclass
class Context:
    args: argparse.Namespace
    inspector: Inspector
    bundle: str
    video: Path
    video_s: float
    cycle_s: float
    scratch: Path
    broker: Mosquitto | None
    opcua_skip: str | None  # why OPC UA is not measured, or None
    mqtt_skip: str | None


@dataclass
class Block:
    """One station with some adapters; its protocols take turns part by part."""

    name: str
    layout: str
    protocols: list[str]
    links: dict[str, Any] = field(default_factory=dict)
    clients: dict[str, ClientProcess] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def _link(protocol: str, block: Block, station: Station, book: RecipeBook, ctx: Context):
    """Start one adapter on `station`; returns it and its client's configuration."""
    if protocol == "modbus":
        adapter = ModbusAdapter(
            station, ModbusConfig(host="127.0.0.1", port=0, plc_results_only=True), recipes=book
        )
        adapter.start()
        config = {"host": "127.0.0.1", "port": adapter.port, "poll_s": ctx.args.poll_ms / 1000}
        return adapter, config
    if protocol == "mqtt":
        if ctx.mqtt_skip:
            raise ClientError(ctx.mqtt_skip)
        mqtt_config = MqttConfig(
            host=ctx.broker.host, port=ctx.broker.port, station_id=f"bench-{block.name}"
        )
        link = MqttLink(station, mqtt_config, book)
        link.start()
        if not link.wait_connected(10):
            link.close(timeout=1)
            raise ClientError(f"MQTT link not connected to {mqtt_config.broker} within 10 s")
        topics = Topics.of(mqtt_config)
        config = {
            "host": ctx.broker.host,
            "port": ctx.broker.port,
            "client_id": f"bench-consumer-{block.name}",
            "topics": {
                "trigger": f"{topics.base}/cmd/trigger",
                "result": topics.result,
                "reply": topics.reply,
            },
        }
        return link, config
    if ctx.opcua_skip:
        raise ClientError(ctx.opcua_skip)
    from engine.line.opcua import OpcUaConfig, OpcUaServer
    from engine.line.opcua_security import hash_password

    opcua_config = OpcUaConfig(
        host="127.0.0.1",
        port=free_port(),
        username=OPCUA_USER,
        password_hash=hash_password(OPCUA_PASSWORD, iterations=1000),
        cert_dir=ctx.scratch / "opcua-pki-server",
    )
    server = OpcUaServer(station, book, opcua_config)
    server.start()
    config = {
        "url": opcua_config.endpoint,
        "user": OPCUA_USER,
        "password": OPCUA_PASSWORD,
        "cert_dir": str(ctx.scratch / "opcua-pki-client"),
        "application_uri": opcua_config.application_uri,
    }
    return server, config


def _close_link(link: Any) -> None:
    try:
        if isinstance(link, MqttLink):
            link.close(timeout=2.0)
        else:
            link.close()
    except Exception:  # closing must not hide the figures
        log.exception("closing %r failed", link)


def _attach(block: Block, station: Station, book: RecipeBook, ctx: Context) -> None:
    """Adapters and client processes of the block; a protocol that cannot be set up is
    skipped with the reason."""
    folder = ctx.scratch / block.name
    for protocol in block.protocols:
        link = None
        try:
            link, config = _link(protocol, block, station, book, ctx)
            block.links[protocol] = link
            client = ClientProcess(protocol, config, folder / f"{protocol}-client.log")
            block.clients[protocol] = client
        except Exception as exc:  # printed as the reason; the others go on
            reason = str(exc) if isinstance(exc, ClientError) else f"{type(exc).__name__}: {exc}"
            block.skipped[protocol] = reason
            print(f"   {LABELS[protocol]} skipped: {reason}", flush=True)
            if link is not None:
                _close_link(link)
                block.links.pop(protocol, None)


def _plan(block: Block, args: argparse.Namespace) -> list[tuple[str, str, bool]]:
    """(protocol, part id, timed) in order: warm-up parts first, protocols taking turns."""
    plan = []
    for index in range(args.warmup + args.parts):
        for protocol in block.protocols:
            if protocol in block.clients:
                timed = index >= args.warmup
                plan.append((protocol, f"{block.name}-{protocol}-{index:04d}", timed))
    return plan


def _server_event_time(block: Block, protocol: str, before: float | None = None) -> float | None:
    """OPC UA: when the server last handed a ResultReady event to asyncua (wall clock); with
    `before`, waits (at most 0.5 s) until that time has moved on from it: the client may see
    the event before the server has noted it."""
    if protocol != "opcua":
        return None
    server = block.links[protocol]
    deadline = time.monotonic() + (0.5 if before is not None else 0.0)
    while True:
        value = server.status().last_event_time
        if before is None or value != before or time.monotonic() > deadline:
            return value if value != before or before is None else None
        time.sleep(0.001)


def run_block(block: Block, ctx: Context) -> dict[str, Any]:
    folder = ctx.scratch / block.name
    folder.mkdir(parents=True, exist_ok=True)
    store = open_store(folder / "out")
    station = Station(store, folder / "out", name=f"bench-{block.name}")
    policy = {} if ctx.args.policy == "default" else {"overlays": "none", "archive": "none"}
    recipe = Recipe(id="default", bundle=ctx.bundle, name="default bundle", **policy)
    book = RecipeBook({recipe.id: recipe}, default=recipe.id)
    station.prepare(recipe, "bench", inspector=ctx.inspector)
    events = EventTimes(station)
    runs = Runs(station, ctx.video, ctx.video_s)
    answers: list[dict[str, Any]] = []
    problem = None
    slowest = ctx.cycle_s
    started = time.perf_counter()
    try:
        _attach(block, station, book, ctx)
        plan = _plan(block, ctx.args)
        dead: set[str] = set()
        for step, (protocol, part_id, timed) in enumerate(plan):
            if step and step % PROGRESS_EVERY == 0:
                print(f"   {step} of {len(plan)} parts", flush=True)
            row = {"protocol": protocol, "part_id": part_id, "timed": timed}
            if protocol in dead:
                answers.append({**row, "ok": False, "error": "client gone"})
                continue
            runs.ensure(reserve_s=max(5.0, 4 * slowest))
            if not wait_ready(station, 30):
                problem = f"station not Ready 30 s before part {part_id}"
                answers.append({**row, "ok": False, "error": problem})
                break
            clock = time.perf_counter()
            before = _server_event_time(block, protocol)
            answer = block.clients[protocol].step(part_id)
            slowest = max(slowest, time.perf_counter() - clock)
            if answer is not None and protocol == "opcua":
                answer["server_event_wall"] = _server_event_time(block, protocol, before)
            if answer is None:
                client = block.clients[protocol]
                dead.add(protocol)
                answer = {"ok": False, "error": f"client gone or silent{client.log_tail()}"}
                print(f"   {LABELS[protocol]}: {answer['error']}", flush=True)
            answers.append({**row, **answer})
    finally:
        runs.close()
        for client in block.clients.values():
            client.close()
        for link in block.links.values():
            _close_link(link)
        events.unsubscribe()
    wall_s = time.perf_counter() - started
    rows = {r.part_id: r for r in store.records() if r.part_id}
    missed = store.missed_triggers()
    store.close()
    figures = _block_figures(block, answers, rows, events.ms)
    return {
        "name": block.name,
        "layout": block.layout,
        "protocols": block.protocols,
        "skipped": block.skipped,
        "problem": problem,
        "runs": runs.count,
        "wall_s": wall_s,
        "missed_triggers": len(missed),
        "missed_reasons": sorted({f"{m.origin}: {m.reason}" for m in missed}),
        "client_info": {p: c.info for p, c in block.clients.items()},
        "by_protocol": figures,
    }


def _part_row(answer: dict[str, Any], record, event_ms: float | None) -> dict[str, Any]:
    """One part's figures: the client's answer joined with its store row."""
    row = dict(answer)
    row["stored"] = record is not None
    lost_why = answer.get("error") if not answer.get("ok") else None
    if record is None and lost_why is None:
        lost_why = "no store row with this part id"
    if record is not None:
        row.update(
            result_id_stored=record.id,
            verdict=record.verdict,
            core_ms=record.latency_ms,
            event_ms=event_ms,
        )
        if record.verdict == "ERROR" and lost_why is None:
            lost_why = f"ERROR part: {record.error}"
        if answer.get("ok") and answer.get("result_id") not in (None, record.id):
            lost_why = f"result id {answer.get('result_id')} != stored {record.id}"
    protocol_ms, core_ms = row.get("protocol_ms"), row.get("core_ms")
    if protocol_ms is not None and core_ms is not None:
        row["added_ms"] = protocol_ms - core_ms
        if event_ms is not None:
            row["beyond_event_ms"] = protocol_ms - event_ms
    if record is not None:
        for wall, key in (("received_wall", "publish_leg_ms"), ("server_event_wall", "server_ms")):
            if answer.get(wall) is not None:
                row[key] = (answer[wall] - record.time) * 1000
    row["lost"] = lost_why
    return row


DETAILS = {
    "modbus": (
        ("trigger_write_ms", "Trigger write round trip"),
        ("poll_interval_ms_mean", "ResultValid poll interval, mean per part"),
        ("poll_interval_ms_max", "ResultValid poll interval, max per part"),
        ("last_poll_interval_ms", "interval before the poll that saw ResultValid"),
        ("poll_rtt_ms_mean", "poll read round trip, mean per part"),
        ("polls", "polls per part"),
    ),
    "mqtt": (("reply_ms", "cmd/trigger published -> reply received"),),
    "opcua": (
        ("call_ms", "StartSingleJob call round trip"),
        ("server_ms", "store row time -> events handed to asyncua (last_event_time)"),
    ),
}
COMMON = (
    ("protocol_ms", "protocol latency"),
    ("core_ms", "core latency_ms"),
    ("added_ms", "added by the adapter"),
    ("event_ms", "core: trigger -> ResultReady event"),
    ("beyond_event_ms", "protocol latency - that event"),
    ("publish_leg_ms", "publish leg: store row time -> result seen by the client"),
)


def _block_figures(
    block: Block, answers: list[dict], rows: dict, event_ms: dict[str, float]
) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for protocol in block.protocols:
        if protocol not in block.clients:
            continue
        parts = [
            _part_row(a, rows.get(a["part_id"]), event_ms.get(a["part_id"]))
            for a in answers
            if a["protocol"] == protocol
        ]
        timed = [p for p in parts if p["timed"] and not p["lost"]]
        entry = {
            "triggered": len(parts),
            "timed": len(timed),
            "lost": [{"part_id": p["part_id"], "why": p["lost"]} for p in parts if p["lost"]],
            "verdicts": {v: sum(p.get("verdict") == v for p in timed) for v in ("OK", "NG")},
        }
        for key, _ in COMMON + DETAILS[protocol]:
            entry[key] = stats([p[key] for p in timed if p.get(key) is not None])
        if protocol == "modbus":
            entry["latency_register_matches"] = all(
                math.isclose(p["latency_register_ms"], p["core_ms"], rel_tol=1e-5, abs_tol=1e-3)
                for p in timed
            )
        entry["parts"] = parts
        figures[protocol] = entry
    return figures


# --- report ---------------------------------------------------------------------------------------
def _f(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _triple(s: dict, digits: int = 1) -> list[str]:
    return [_f(s["p50"], digits), _f(s["p99"], digits), _f(s["max"], digits)]


def print_report(figures: dict) -> None:
    goal = figures["goal_added_p99_ms"]
    host = figures["host"]
    print()
    print(f"## Line adapters: trigger to result ({figures['bundle']}, {figures['provider']})")
    print()
    video = figures["video"]
    print(
        f"Video {video['frames']} frames at {video['fps']:g} fps ({video['width']}x"
        f"{video['height']} MJPG) as the camera; calibrated inspect "
        f"{figures['calibration']['inspect_ms_median']:.0f} ms; {figures['parts']} timed parts "
        f"per protocol and layout (+{figures['warmup']} warm-up); Modbus polling period "
        f"{figures['poll_ms']:g} ms; archive policy {figures['policy']}; {host['cpus']} CPUs, "
        f"load average {host['loadavg_start']} -> {host['loadavg_end']}"
    )
    print()
    print(
        "| layout | protocol | parts | protocol p50 | p99 | max | core p50 | p99 | max "
        f"| added p50 | p99 | max | added p99 <= {goal:g} ms |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for block in figures["blocks"]:
        for protocol, entry in block["by_protocol"].items():
            added = entry["added_ms"]
            verdict = "-" if added["p99"] is None else "meets" if added["p99"] <= goal else "MISSES"
            cells = [
                block["layout"],
                LABELS[protocol],
                str(entry["timed"]),
                *_triple(entry["protocol_ms"]),
                *_triple(entry["core_ms"]),
                *_triple(added, 2),
                verdict,
            ]
            print("| " + " | ".join(cells) + " |")
        for protocol, reason in block["skipped"].items():
            print(f"| {block['layout']} | {LABELS[protocol]} | skipped: {reason} |")
    print()
    print("| layout | protocol | figure (ms unless said) | p50 | p99 | max |")
    print("|---|---|---|---:|---:|---:|")
    for block in figures["blocks"]:
        for protocol, entry in block["by_protocol"].items():
            for key, label in COMMON[3:] + DETAILS[protocol]:
                digits = 0 if key == "polls" else 2
                cells = [block["layout"], LABELS[protocol], label, *_triple(entry[key], digits)]
                print("| " + " | ".join(cells) + " |")
    print()
    for block in figures["blocks"]:
        lost = sum(len(e["lost"]) for e in block["by_protocol"].values())
        print(
            f"- {block['name']}: {block['runs']} run(s), {block['wall_s']:.0f} s; lost parts "
            f"{lost}, missed triggers in the store {block['missed_triggers']}"
            + (f" ({', '.join(block['missed_reasons'])})" if block["missed_reasons"] else "")
            + (f"; PROBLEM: {block['problem']}" if block["problem"] else "")
        )
        for protocol, entry in block["by_protocol"].items():
            for item in entry["lost"][:5]:
                print(f"  - lost {item['part_id']} ({LABELS[protocol]}): {item['why']}")
            if protocol == "modbus" and not entry["latency_register_matches"]:
                print("  - Modbus LatencyMs register differs from the store's latency_ms")
    for reason in figures.get("skipped", []):
        print(f"- skipped: {reason}")
    print()


# --- main -----------------------------------------------------------------------------------------
def _loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _opcua_available() -> str | None:
    """None when engine.line.opcua can be used; else why not."""
    if not (REPO / "engine/line/opcua.py").is_file():
        return "engine/line/opcua.py does not exist"
    try:
        from engine.line.opcua import OpcUaServer  # noqa: F401
    except Exception as exc:
        return f"engine.line.opcua does not import: {type(exc).__name__}: {exc}"
    return None


def _blocks(args: argparse.Namespace) -> list[Block]:
    blocks = []
    if args.layout in ("both", "alone"):
        blocks += [Block(f"alone-{p}", "alone", [p]) for p in args.protocols]
    if args.layout in ("both", "together") and len(args.protocols) > 1:
        blocks.append(Block("together", "together", list(args.protocols)))
    return blocks


def _failed(figures: dict) -> list[str]:
    """Why the run fails: lost parts, missed triggers, Modbus or MQTT not measured."""
    reasons = []
    for block in figures["blocks"]:
        if block["problem"]:
            reasons.append(f"{block['name']}: {block['problem']}")
        if block["missed_triggers"]:
            reasons.append(f"{block['name']}: {block['missed_triggers']} missed trigger(s)")
        for protocol, entry in block["by_protocol"].items():
            if entry["lost"]:
                reasons.append(f"{block['name']}: {len(entry['lost'])} {protocol} part(s) lost")
        for protocol, reason in block["skipped"].items():
            if protocol != "opcua":
                reasons.append(f"{block['name']}: {protocol} not measured: {reason}")
    return reasons


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.client:
        return client_main(args.client, json.loads(args.client_config))
    if args.report:
        figures = json.loads(args.report.read_text(encoding="utf-8"))
        print_report(figures)
        return 1 if _failed(figures) else 0
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    logging.getLogger("engine.station").setLevel(logging.ERROR)
    loadavg_start = _loadavg()
    skipped = []
    opcua_skip = _opcua_available() if "opcua" in args.protocols else None
    if opcua_skip:
        print(f"OPC UA skipped: {opcua_skip}", flush=True)
        skipped.append(f"OPC UA: {opcua_skip}")
    mosquitto = find_mosquitto() if "mqtt" in args.protocols else None
    mqtt_skip = None
    if "mqtt" in args.protocols and mosquitto is None:
        mqtt_skip = "mosquitto is not installed (Debian: apt-get install -y mosquitto)"
    bundle = str(Path(args.bundle).resolve())
    inspector = Inspector(load_bundle(bundle), args.provider)
    samples = load_samples(args.samples)
    images = [image for _, image in samples]
    scratch = args.keep or Path(tempfile.mkdtemp(prefix="bench_line_"))
    scratch.mkdir(parents=True, exist_ok=True)
    broker = None
    results = []
    try:
        print("calibrating ...", flush=True)
        calibration = calibrate(inspector, images)
        cycle_s = calibration["inspect_ms_median"] / 1000 + 1 / args.fps + 0.05
        video = scratch / "camera.avi"
        frames = write_video(video, images, args.fps, args.video_s)
        height, width = images[0].shape[:2]
        print(f"video: {frames} frames ({args.video_s:g} s at {args.fps:g} fps)", flush=True)
        if mosquitto is not None:
            broker = Mosquitto(mosquitto, scratch / "mosquitto")
            broker.start()
        ctx = Context(
            args, inspector, bundle, video, frames / args.fps, cycle_s, scratch, broker,
            opcua_skip, mqtt_skip,
        )  # fmt: skip
        for block in _blocks(args):
            count = args.parts + args.warmup
            print(f"{block.name}: {count} part(s) per protocol {block.protocols} ...", flush=True)
            results.append(run_block(block, ctx))
    finally:
        if broker is not None:
            broker.kill()
        if args.keep is None:
            shutil.rmtree(scratch, ignore_errors=True)

    figures = {
        "bundle": inspector.bundle.name,
        "bundle_path": bundle,
        "provider": inspector.main_provider,
        "parts": args.parts,
        "warmup": args.warmup,
        "poll_ms": args.poll_ms,
        "policy": args.policy,
        "quick": args.quick,
        "layout": args.layout,
        "goal_added_p99_ms": GOAL_ADDED_P99_MS,
        "calibration": calibration,
        "video": {"frames": frames, "fps": args.fps, "width": width, "height": height},
        "blocks": results,
        "skipped": skipped,
        "host": {
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "python": sys.version,
            "opencv": cv2.__version__,
            "bench_station": str(Path(bench_station.__file__).relative_to(REPO)),
            "loadavg_start": loadavg_start,
            "loadavg_end": _loadavg(),
        },
        "command": " ".join([sys.executable, *sys.argv]),
    }
    print_report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
        print(f"figures written to {args.json}")
    reasons = _failed(figures)
    for reason in reasons:
        print(f"FAILED: {reason}")
    return 1 if reasons else 0


if __name__ == "__main__":
    sys.exit(main())
