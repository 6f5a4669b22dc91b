"""OPC UA for Machine Vision (OPC 40100-1) server on the station core, with asyncua.

    server = OpcUaServer(station, book, OpcUaConfig.from_url("opc.tcp://127.0.0.1:4840",
                         username="line", password_hash=hash_password("...")))
    server.start()      # returns once the endpoint listens; raises OpcUaError otherwise
    ...
    server.close()      # stops within close_timeout_s

One `VisionSystemType` object (`Objects/VisionSystem`, docs/opcua.md has every node path)
mirrors the station: its state machines follow the core's StateChanged events, its methods call
the core (engine/line/opcua_methods.py, opcua_management.py), and every part the station finishes
is a `ResultReadyEventType` event whose result GetResultById returns from the results store.

Threads: asyncua runs on its own thread with its own asyncio loop. The station's events arrive
on the station's threads; the subscriber only hands them over (loop.call_soon_threadsafe) and
returns, and one task on the loop turns them into node values and OPC UA events, in order.

Security (engine/line/opcua_security.py): Basic256Sha256 Sign & Encrypt with a certificate made
on first start, username/password with the password hashed in the configuration; anonymous
(read-only) sessions and an unencrypted endpoint only when the configuration asks for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from asyncua import Server, ua

from engine.events import FrameFailed, PartResult, ResultReady, RunStarted, StateChanged
from engine.line.opcua_management import ConfigurationMethods, ResultMethods
from engine.line.opcua_methods import ControlMethods, RecipeMethods, StartContinuous, link
from engine.line.opcua_model import (
    OBJECT_NAME,
    RESULT_READY_EVENT_TYPE,
    VisionModel,
    build_model,
)
from engine.line.opcua_results import (
    ResultQueries,
    record_from_part,
    result_fields,
)
from engine.line.opcua_security import (
    SecurityError,
    StationPermissions,
    StationUsers,
    ensure_certificate,
)
from engine.recipes import RecipeBook
from engine.station import Station

log = logging.getLogger(__name__)

SCHEME = "opc.tcp"
DEFAULT_PORT = 4840
VERSION = "0.1.0"
FORWARDED = (StateChanged, ResultReady, FrameFailed, RunStarted)
SEVERITY = {"OK": 100, "NG": 500, "ERROR": 700}


class OpcUaError(Exception):
    """The server cannot start or run as configured; the message names the endpoint or field."""


@dataclass(frozen=True)
class OpcUaConfig:
    """The `[opcua]` section of the station configuration."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    username: str | None = None
    password_hash: str | None = None  # opcua_security.hash_password(...); never the password
    allow_anonymous: bool = False  # read-only sessions without a user
    allow_unencrypted: bool = False  # also offer SecurityPolicy None (test benches only)
    cert_dir: Path | None = None  # default: `opcua-pki` beside the results store
    application_uri: str = "urn:inspection-station:opcua"
    server_name: str = "Inspection Station"
    prepare_wait_s: float = 2.0  # PrepareRecipe answers IsCompleted=False after this
    max_results: int = 1000  # most results one GetResultListFiltered call returns
    start_timeout_s: float = 30.0
    close_timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if isinstance(self.cert_dir, str):  # from a TOML file
            object.__setattr__(self, "cert_dir", Path(self.cert_dir))

    @property
    def endpoint(self) -> str:
        return f"{SCHEME}://{self.host}:{self.port}"

    @classmethod
    def from_url(cls, url: str, **fields: Any) -> OpcUaConfig:
        """`opc.tcp://HOST:PORT` (the `--opcua` option, `[opcua] endpoint`) plus any other
        field, checked (OpcUaError naming the field)."""
        parsed = urlparse(url)
        try:
            port = parsed.port
        except ValueError:
            port = -1
        if parsed.scheme != SCHEME or not parsed.hostname or port == -1:
            raise OpcUaError(f"opcua.endpoint: {url!r} is not {SCHEME}://HOST:PORT")
        config = cls(host=parsed.hostname, port=port or DEFAULT_PORT, **fields)
        config.check()
        return config

    def check(self) -> None:
        """Raise OpcUaError for a configuration no client could use."""
        if not 0 < self.port < 65536:
            raise OpcUaError(f"opcua.port: {self.port} is not a TCP port")
        if self.username is None and not self.allow_anonymous:
            raise OpcUaError(
                "opcua: no user (username, password_hash) and allow_anonymous is false: "
                "no client could log in"
            )
        try:
            StationUsers(self.username, self.password_hash, self.allow_anonymous)
        except SecurityError as exc:
            raise OpcUaError(str(exc)) from None


@dataclass
class OpcUaStatus:
    """What the window's status bar shows of this link."""

    endpoint: str
    listening: bool = False
    clients: int = 0
    last_call: str | None = None  # "StartSingleJob: Good", "Reset: BadInvalidState", ...
    last_call_time: float | None = None
    last_event_time: float | None = None  # the last ResultReady event sent
    events: int = 0  # ResultReady events sent
    last_error: str | None = None  # the last call refused, or event not sent

    @property
    def up(self) -> bool:
        return self.listening

    def headline(self) -> str:
        """A few words for a status bar."""
        if not self.listening:
            return "not listening"
        clients = f"{self.clients} client" + ("s" if self.clients != 1 else "")
        return f"{clients} · {self.events} results sent · last call {self.last_call or '-'}"


class OpcUaServer:
    """The OPC UA server of one station; see the module docstring."""

    def __init__(
        self,
        station: Station,
        recipes: RecipeBook | None = None,
        config: OpcUaConfig | None = None,
        *,
        on_start_continuous: StartContinuous | None = None,
    ) -> None:
        self.station = station
        self.recipes = recipes or _one_recipe_book(station)
        self.config = config or OpcUaConfig()
        self.config.check()
        _quiet_asyncua()
        self.on_start_continuous = on_start_continuous
        self.cert_dir = self.config.cert_dir or station.store.path.parent / "opcua-pki"
        self._status = OpcUaStatus(self.config.endpoint)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._stopping: asyncio.Event | None = None
        self._queue: asyncio.Queue | None = None
        self._control: ControlMethods | None = None
        self._server: Server | None = None
        self._configuration_id = station.name

    @property
    def endpoint(self) -> str:
        return self.config.endpoint

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._ready.is_set()

    def status(self) -> OpcUaStatus:
        server = self._server
        bserver = server.bserver if server is not None else None
        self._status.clients = len(bserver.clients) if bserver is not None else 0
        return self._status

    # --- start and close (any thread) ---------------------------------------------------------
    def start(self) -> None:
        """Start the server thread; returns once the endpoint listens. Raises OpcUaError."""
        if self._thread is not None:
            raise OpcUaError(f"{self.endpoint}: already started")
        self._ready.clear()
        self._failure = None
        self._thread = threading.Thread(target=self._main, name="opcua-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(self.config.start_timeout_s):
            self.close()
            raise OpcUaError(
                f"{self.endpoint}: not listening after {self.config.start_timeout_s:g} s"
            )
        if self._failure is not None:
            self._thread.join(self.config.close_timeout_s)
            self._thread = None
            raise OpcUaError(f"{self.endpoint}: cannot start: {_reason(self._failure)}")
        log.info("OPC UA server listening on %s", self.endpoint)

    def close(self) -> None:
        """Stop the server (sessions closed, port released) within close_timeout_s."""
        thread, loop = self._thread, self._loop
        if thread is None:
            return
        if loop is not None and self._stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._stopping.set)
        thread.join(self.config.close_timeout_s)
        if thread.is_alive():
            log.error("OPC UA server did not stop within %.0f s", self.config.close_timeout_s)
        self._thread = None

    def __enter__(self) -> OpcUaServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the server thread --------------------------------------------------------------------
    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported by start() or logged when running
            if not self._ready.is_set():
                self._failure = exc
            else:
                log.exception("OPC UA server stopped by an error")
        finally:
            self._ready.set()
            self._status.listening = False
            _shutdown(loop)

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        self._queue = asyncio.Queue()
        server = await self._make_server()
        queries = ResultQueries(self.station.store)
        model = await build_model(server, self.config.application_uri)
        await self._link(server, model, queries)
        unsubscribe = self.station.subscribe(self._on_event)
        try:
            await model.show_state(self.station.state)
            await self._listen(server, model, queries)
        finally:
            unsubscribe()

    async def _listen(self, server: Server, model: VisionModel, queries: ResultQueries) -> None:
        generators = [
            await server.get_event_generator(ua.NodeId(RESULT_READY_EVENT_TYPE, model.ns), node)
            for node in (model.system, server.nodes.server)
        ]
        for generator in generators:  # the Server object only notifies: the source is the system
            generator.event.SourceNode = model.system.nodeid
            generator.event.SourceName = OBJECT_NAME
        try:
            await server.start()
        except OSError as exc:
            raise OpcUaError(f"cannot listen ({exc.strerror or exc})") from None
        self._server = server
        self._status.listening = True
        pump = asyncio.create_task(self._pump(model, queries, generators))
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            pump.cancel()
            self._status.listening = False
            await asyncio.wait_for(server.stop(), self.config.close_timeout_s * 0.8)
            self._server = None
            log.info("OPC UA server on %s stopped", self.endpoint)

    async def _make_server(self) -> Server:
        config = self.config
        users = StationUsers(config.username, config.password_hash, config.allow_anonymous)
        server = Server(user_manager=users)
        await server.init()
        server.set_endpoint(config.endpoint)
        server.set_server_name(config.server_name)
        await server.set_application_uri(config.application_uri)
        try:
            cert = ensure_certificate(self.cert_dir, config.application_uri, config.host)
        except SecurityError as exc:
            raise OpcUaError(str(exc)) from None
        await server.load_certificate(str(cert.cert_path))
        await server.load_private_key(str(cert.key_path))
        policies = [ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt]
        if config.allow_unencrypted:
            policies.append(ua.SecurityPolicyType.NoSecurity)
        server.set_security_policy(policies, permission_ruleset=StationPermissions())
        tokens: list[type] = [ua.UserNameIdentityToken] if config.username else []
        if config.allow_anonymous:
            tokens.append(ua.AnonymousIdentityToken)
        server.set_identity_tokens(tokens)
        return server

    async def _link(self, server: Server, model: VisionModel, queries: ResultQueries) -> None:
        configuration_id = self._configuration_id
        groups = (
            control := ControlMethods(self.station, lambda: self.on_start_continuous),
            RecipeMethods(self.station, self.recipes, self.config.prepare_wait_s),
            ResultMethods(queries, model.own_ns, configuration_id, self.config.max_results),
            configurations := ConfigurationMethods(
                configuration_id, VERSION, dt.datetime.now(dt.UTC)
            ),
        )
        for group in groups:
            for name, handler in group.handlers().items():
                await link(server, model.methods[name], name, handler, self._called)
        await server.write_attribute_value(
            model.active_configuration.nodeid,
            ua.DataValue(ua.Variant(configurations.configuration, ua.VariantType.ExtensionObject)),
        )
        self._control = control

    def _called(self, method: str, outcome: str) -> None:
        self._status.last_call = f"{method}: {outcome}"
        self._status.last_call_time = time.time()
        if outcome != "Good":
            self._status.last_error = self._status.last_call

    # --- station events -> OPC UA -------------------------------------------------------------
    def _on_event(self, event: object) -> None:
        """Station subscriber (any thread): hand the event to the loop and return."""
        if not isinstance(event, FORWARDED):
            return
        loop, queue = self._loop, self._queue
        if loop is None or queue is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: the server stopped
            loop.call_soon_threadsafe(queue.put_nowait, event)

    async def _pump(self, model: VisionModel, queries: ResultQueries, generators: list) -> None:
        while True:
            event = await self._queue.get()
            try:
                if isinstance(event, StateChanged):
                    await model.show_state(event.new)
                elif isinstance(event, RunStarted):
                    self._control.run_started(event.run_id)
                else:
                    await self._result_ready(event.part, model, queries, generators)
            except Exception as exc:  # one bad event must not stop the others
                log.exception("OPC UA: %s not forwarded", type(event).__name__)
                self._status.last_error = f"{type(event).__name__} not forwarded: {exc}"

    async def _result_ready(
        self, part: PartResult, model: VisionModel, queries: ResultQueries, generators: list
    ) -> None:
        """One ResultReadyEventType event per part, from its store row (the same content as
        GetResultById), emitted by the VisionSystem object and by the Server object."""
        record = queries.get(part.result_id) if part.result_id else None
        if record is None:
            record = record_from_part(part)
        fields = result_fields(record, model.own_ns, self._configuration_id)
        message = f"result {record.id}: {record.verdict}"
        for generator in generators:
            event = generator.event
            for name, (value, kind) in fields.items():
                event.add_property(name, value, kind)
            event.Severity = SEVERITY.get(record.verdict, 500)
            await generator.trigger(message=message)
        self._status.last_event_time = time.time()
        self._status.events += 1


def _one_recipe_book(station: Station) -> RecipeBook:
    """Without a recipe file, the recipes are the one the station has prepared (if any)."""
    recipe = station.recipe
    return RecipeBook({recipe.id: recipe} if recipe else {}, recipe.id if recipe else None)


def _quiet_asyncua() -> None:
    """asyncua logs every request at INFO (formatting each one costs time per part): at the
    station's INFO level show its warnings only, unless the host has set asyncua's level."""
    logger = logging.getLogger("asyncua")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)


def _shutdown(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is left on the loop (a recipe still loading in a worker goes on there and
    is not waited for) and close it."""
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    loop.close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc) or type(exc).__name__
