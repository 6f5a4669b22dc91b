"""The PLC handshake over Modbus TCP: a pymodbus server on the station core.

The sequence is the one Cognex In-Sight's Modbus TCP factory interface uses (Trigger Enable,
Trigger Ready, Trigger Ack, Exposure Complete, Results Valid, Inspection Results Ack, a buffer
of results, Missed Acquisition, Results Buffer Overrun, Error and Clear Error), with the
names of the issue; `docs/modbus.md` has the map, the sequence and a timing diagram, and
`engine.line.modbus_map` the map itself.

    adapter = ModbusAdapter(station, ModbusConfig.from_url("127.0.0.1:5020"), recipes=book)
    adapter.start()      # listening; a sink and an event subscriber of `station`
    ...
    adapter.close()

Threads: the server runs on its own thread with its own asyncio loop, and every piece of
handshake state is touched only there. PLC writes are seen through the datastore's access
hook (`SimDevice.action`), called on that loop for every request, so no write is missed
between polls (a Trigger pulse shorter than any poll period still counts) and nothing runs
while no PLC talks. The station's sink call and events come on its threads and are handed to
the loop with `call_soon_threadsafe`; the station's controls are thread-safe, so the loop
calls them directly, except `prepare` (a bundle load), which runs on a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import socket
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from engine.events import (
    Event,
    FrameAcquired,
    PartResult,
    RecipeChanged,
    TriggerMissed,
)
from engine.line.modbus_map import (
    PART_ID_REGISTERS,
    STATE_CODES,
    Code,
    Coil,
    Discrete,
    Holding,
    Input,
    Table,
    Verdict,
    ascii_words,
    float32_words,
    table_size,
    uint32_words,
    words_ascii,
)
from engine.recipes import Recipe, RecipeBook
from engine.station import Station
from engine.vision_states import TransitionError, VisionState

log = logging.getLogger(__name__)

DEFAULT_PORT = 502  # the registered Modbus TCP port (below 1024: root or CAP_NET_BIND_SERVICE)
START_TIMEOUT_S = 5.0
TIMED_OUT_KEPT = 1024  # job ids answered by a timeout, remembered to spot their late results
BITS = 16  # coils and discrete inputs: one 16-bit word each (addresses past the map read 0)
ORIGIN = "modbus"
TABLE_OF_FUNCTION = {
    1: Table.COIL,
    5: Table.COIL,
    15: Table.COIL,
    2: Table.DISCRETE_INPUT,
    4: Table.INPUT_REGISTER,
    **{code: Table.HOLDING_REGISTER for code in (3, 6, 16, 22, 23)},
}


class ModbusConfigError(ValueError):
    """A setting of the adapter that cannot be used; the message names the field."""


class ModbusError(RuntimeError):
    """The server cannot run (e.g. the address cannot be listened on); names host and port."""


@dataclass(frozen=True)
class ModbusConfig:
    """The adapter's settings (`[modbus]` in the service config; field names are the keys).

    `timeout_s` is the time budget from a trigger taken to its result; `recipe_timeouts_s`
    overrides it per recipe id. `recipe_numbers` maps RecipeNumber values to recipe ids;
    empty means the recipe book's order, 1 for the first. `buffer` is how many results wait
    for the PLC's ResultAck, the presented one included. With `plc_results_only` only results
    of PLC triggers are presented (else every part, e.g. of a free run or the window's button).
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    buffer: int = 8
    timeout_s: float = 2.0
    recipe_timeouts_s: Mapping[str, float] = field(default_factory=dict)
    recipe_numbers: Mapping[int, str] = field(default_factory=dict)
    heartbeat_s: float = 1.0
    plc_results_only: bool = False

    def __post_init__(self) -> None:
        # TOML table keys are text: `[modbus.recipe_numbers]` `1 = "metal_nut"` arrives as "1".
        numbers = {
            int(key) if isinstance(key, str) and key.strip().isdigit() else key: recipe_id
            for key, recipe_id in self.recipe_numbers.items()
        }
        object.__setattr__(self, "recipe_numbers", numbers)
        problems = list(_config_problems(self))
        if problems:
            raise ModbusConfigError("; ".join(problems))

    @classmethod
    def from_url(cls, url: str, **fields) -> ModbusConfig:
        """'HOST:PORT' (what `--modbus` takes), also 'modbus://HOST:PORT', '[::1]:PORT' or
        ':PORT' (127.0.0.1); the other fields as keywords."""
        text = url.strip()
        parsed = urlsplit(text if "://" in text else f"modbus://{text}")
        try:
            port = parsed.port
        except ValueError:
            raise ModbusConfigError(f"modbus: {url!r}: the port is not 0-65535") from None
        if parsed.scheme not in ("modbus", "tcp") or parsed.path not in ("", "/"):
            raise ModbusConfigError(f"modbus: {url!r} is not HOST:PORT")
        if port is None:
            raise ModbusConfigError(f"modbus: {url!r} names no port (HOST:PORT)")
        return cls(host=parsed.hostname or "127.0.0.1", port=port, **fields)


def _config_problems(config: ModbusConfig):
    if not config.host:
        yield "modbus.host: empty"
    if not 0 <= config.port <= 65535:
        yield f"modbus.port: must be 0-65535, got {config.port}"
    if config.buffer < 1:
        yield f"modbus.buffer: must be at least 1, got {config.buffer}"
    for name in ("timeout_s", "heartbeat_s"):
        value = getattr(config, name)
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            yield f"modbus.{name}: must be a number of seconds > 0, got {value!r}"
    for recipe_id, value in config.recipe_timeouts_s.items():
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            yield f"modbus.recipe_timeouts_s.{recipe_id}: must be seconds > 0, got {value!r}"
    for number, recipe_id in config.recipe_numbers.items():
        if isinstance(number, bool) or not (isinstance(number, int) and 1 <= number <= 65535):
            yield f"modbus.recipe_numbers: {number!r} is not a RecipeNumber 1-65535"
        elif not isinstance(recipe_id, str):
            yield f"modbus.recipe_numbers.{number}: must be a recipe id, got {recipe_id!r}"


@dataclass(frozen=True)
class LinkStatus:
    """What the window and `!status` show of the link."""

    listening: bool
    address: str
    clients: int
    triggers: int  # PLC triggers taken
    results: int  # results presented
    missed: int
    discarded: int
    late: int
    last_trigger: float | None = None  # wall-clock time
    last_ack: float | None = None
    last_error: str | None = None

    @property
    def up(self) -> bool:
        return self.listening

    def headline(self) -> str:
        """A few words for a status bar."""
        if not self.listening:
            return "not listening"
        plcs = f"{self.clients} PLC" + ("s" if self.clients != 1 else "")
        return f"{plcs} · {self.triggers} triggers · missed {self.missed}"


@dataclass(frozen=True)
class Answer:
    """One result as the PLC gets it (the result block of the input registers)."""

    result_id: int
    trigger_id: int
    verdict: Verdict
    code: Code
    part_id: str | None = None
    score: float | None = None
    threshold: float | None = None
    defects: int = 0
    latency_ms: float | None = None


@dataclass
class _Job:
    """A PLC trigger taken and not answered yet."""

    trigger_id: int
    part_id: str | None
    clock: float  # perf_counter when taken
    deadline: asyncio.TimerHandle | None = None

    @property
    def job_id(self) -> str:
        return f"{ORIGIN}-{self.trigger_id}"


class _UnknownRecipe(Exception):
    pass


def answer_of(part: PartResult, trigger_id: int) -> Answer:
    result = part.result
    verdict = {"OK": Verdict.OK, "NG": Verdict.NG}.get(part.verdict, Verdict.ERROR)
    if verdict is Verdict.ERROR:
        code = Code.INSPECTION_FAILED
    elif part.result_id == 0:
        code = Code.NOT_STORED
    else:
        code = Code.NONE
    return Answer(
        result_id=part.result_id,
        trigger_id=trigger_id,
        verdict=verdict,
        code=code,
        part_id=part.trigger.part_id if part.trigger else None,
        score=result.anomaly_score if result is not None else None,
        threshold=result.image_threshold if result is not None else None,
        defects=len(result.regions) if result is not None else 0,
        latency_ms=part.latency_ms,
    )


class _Image:
    """The four tables as the PLC reads them; the adapter's own copy is the truth, written
    into pymodbus's registers on each access."""

    def __init__(self) -> None:
        self.coils = [False] * BITS
        self.discrete = [False] * BITS
        self.holding = [0] * table_size(Table.HOLDING_REGISTER)
        self.input = [0] * table_size(Table.INPUT_REGISTER)

    def set_input(self, address: int, words: list[int]) -> None:
        self.input[address : address + len(words)] = words

    def registers(self, table: Table) -> list[int]:
        """The table as pymodbus keeps it: bits 16 to a register, bit 0 first."""
        if table is Table.COIL:
            return [_pack(self.coils)]
        if table is Table.DISCRETE_INPUT:
            return [_pack(self.discrete)]
        return self.holding if table is Table.HOLDING_REGISTER else self.input


def _pack(bits: list[bool]) -> int:
    return sum(1 << index for index, bit in enumerate(bits) if bit)


class _Handshake:
    """The handshake's state and rules; runs only on the adapter's loop."""

    def __init__(
        self,
        station: Station,
        config: ModbusConfig,
        numbers: dict[int, str],
        book: RecipeBook | None,
        loop: asyncio.AbstractEventLoop,
        executor: ThreadPoolExecutor,
        status: Callable[..., None],
    ) -> None:
        self.station = station
        self.config = config
        self.numbers = numbers
        self.book = book
        self.loop = loop
        self.executor = executor
        self.report = status  # updates the LinkStatus counters
        self.image = _Image()
        self.jobs: dict[str, _Job] = {}
        self.timed_out: OrderedDict[str, _Job] = OrderedDict()
        self.results: deque[Answer] = deque()
        self.valid = False
        self.loading = False
        self.reset_refused = False
        self.sequence = itertools.count(1)
        self.counts = {"missed": 0, "discarded": 0, "late": 0, "triggers": 0, "results": 0}
        self.heartbeat = 0
        self.refresh()

    # --- PLC requests -------------------------------------------------------------------------
    def access(self, table: Table, address: int, values: list | None) -> list[int]:
        """One request of the PLC: apply a write, then return the table's registers."""
        if values is not None and table is Table.COIL:
            self._write_coils(address, [bool(v) for v in values])
        elif values is not None and table is Table.HOLDING_REGISTER:
            end = min(address + len(values), len(self.image.holding))
            self.image.holding[address:end] = [int(v) & 0xFFFF for v in values][: end - address]
        self.refresh()
        return self.image.registers(table)

    def _write_coils(self, address: int, values: list[bool]) -> None:
        coils = self.image.coils
        for offset, value in enumerate(values):
            index = address + offset
            if not 0 <= index < len(coils) or coils[index] == value:
                continue
            coils[index] = value
            if index == Coil.TRIGGER:
                self._trigger_rose() if value else self._set(Discrete.TRIGGER_ACK, False)
            elif index == Coil.RESULT_ACK:
                self._ack_rose() if value else self._present()
            elif index == Coil.RESET and value:
                self._reset()

    def _set(self, bit: Discrete, value: bool) -> None:
        self.image.discrete[bit] = value

    # --- triggers -----------------------------------------------------------------------------
    def _trigger_rose(self) -> None:
        part_id = words_ascii(
            self.image.holding[Holding.PART_ID : Holding.PART_ID + PART_ID_REGISTERS]
        )
        if not self.image.coils[Coil.ENABLE]:
            self._missed(part_id, "Enable is off")
            return
        if self.loading:
            self._missed(part_id, "a recipe switch is in progress")
            return
        number = self.image.holding[Holding.RECIPE_NUMBER]
        try:
            recipe = self._recipe_for(number)
        except _UnknownRecipe:
            if not self.station.taking_triggers:
                self._missed(part_id, "not Ready")
                return
            job = self._take(part_id)
            log.warning("trigger %d: RecipeNumber %d maps to no recipe", job.trigger_id, number)
            self._answer(job, Verdict.ERROR, Code.RECIPE_UNKNOWN, f"RecipeNumber {number}")
            return
        if recipe is None:
            self._send(part_id, None)
            return
        if not self.station.taking_triggers:
            self._missed(part_id, "not Ready")
            return
        job = self._take(part_id)
        self.loading = True
        future = self.loop.run_in_executor(self.executor, self.station.prepare, recipe, ORIGIN)
        future.add_done_callback(lambda done: self._switched(done, job, recipe))

    def _switched(self, done: asyncio.Future, job: _Job, recipe: Recipe) -> None:
        self.loading = False
        if done.cancelled():  # the adapter is closing
            return
        error = done.exception()
        if error is None:
            self._send(job.part_id, job)
        else:
            reason = f"recipe {recipe.id!r} not prepared: {error}"
            log.warning("trigger %d: %s", job.trigger_id, reason)
            self._answer(job, Verdict.ERROR, Code.RECIPE_LOAD_FAILED, reason)
        self.refresh()

    def _send(self, part_id: str | None, job: _Job | None) -> None:
        """Hand the trigger to the core; `job` when it was acknowledged already."""
        trigger_id = job.trigger_id if job else next(self.sequence)
        job_id = f"{ORIGIN}-{trigger_id}"
        if not self.station.trigger(part_id=part_id, job_id=job_id, origin=ORIGIN):
            if job is None:  # stored and counted as missed by the core
                self._missed(part_id, "the station did not take it", stored=True)
            else:
                self._count_missed()
                self._answer(job, Verdict.ERROR, Code.TRIGGER_DROPPED, "not taken")
            return
        job = job or self._take(part_id, trigger_id)
        recipe = self.station.recipe
        budget = self.config.recipe_timeouts_s.get(recipe.id if recipe else "", None)
        budget = budget or self.config.timeout_s
        job.clock = time.perf_counter()
        job.deadline = self.loop.call_later(budget, self._timed_out, job.job_id, budget)
        self.jobs[job.job_id] = job

    def _take(self, part_id: str | None, trigger_id: int | None = None) -> _Job:
        """Acknowledge a trigger: TriggerAck and Busy up, Ready down (refresh)."""
        job = _Job(trigger_id or next(self.sequence), part_id, time.perf_counter())
        self.image.set_input(Input.TRIGGER_ID, uint32_words(job.trigger_id))
        self._set(Discrete.TRIGGER_ACK, True)
        self._set(Discrete.EXPOSURE_DONE, False)
        self._set(Discrete.MISSED_TRIGGER, False)
        self.counts["triggers"] += 1
        self.report(last_trigger=time.time())
        return job

    def _missed(self, part_id: str | None, reason: str, stored: bool = False) -> None:
        """Count a trigger the handshake could not take; one the core never saw is stored by
        it too (`refuse_trigger`), so the store accounts for every trigger."""
        if not stored:
            self.station.refuse_trigger(part_id, origin=ORIGIN, reason=f"PLC: {reason}")
        self._count_missed()

    def _count_missed(self) -> None:
        self.counts["missed"] += 1
        self._set(Discrete.MISSED_TRIGGER, True)

    def _recipe_for(self, number: int) -> Recipe | None:
        """The recipe to switch to before the trigger; None to keep the active one."""
        if number == 0:
            return None
        recipe_id = self.numbers.get(number)
        if recipe_id is None or self.book is None or recipe_id not in self.book.recipes:
            raise _UnknownRecipe(number)
        active = self.station.recipe
        return None if active is not None and active.id == recipe_id else self.book.get(recipe_id)

    def _timed_out(self, job_id: str, budget: float) -> None:
        job = self.jobs.get(job_id)
        if job is None:
            return
        log.warning(
            "trigger %d (part %s): no result within %.3g s: NG (timeout)",
            job.trigger_id,
            job.part_id or "-",
            budget,
        )
        self.timed_out[job_id] = job
        while len(self.timed_out) > TIMED_OUT_KEPT:
            self.timed_out.popitem(last=False)
        self._answer(job, Verdict.ERROR, Code.TIMEOUT, f"no result within {budget:g} s")

    def _answer(self, job: _Job, verdict: Verdict, code: Code, why: str) -> None:
        """A fail-safe answer for a job the core did not judge: never OK."""
        self.jobs.pop(job.job_id, None)
        if job.deadline is not None:
            job.deadline.cancel()
        self.report(last_error=f"trigger {job.trigger_id}: {code.name} ({why})")
        self._queue(Answer(0, job.trigger_id, verdict, code, job.part_id))

    # --- the station's side -------------------------------------------------------------------
    def on_part(self, part: PartResult) -> None:
        trigger = part.trigger
        job_id = trigger.job_id if trigger is not None and trigger.origin == ORIGIN else None
        job = self.jobs.pop(job_id, None) if job_id else None
        if job is not None:
            if job.deadline is not None:
                job.deadline.cancel()
            self._queue(answer_of(part, job.trigger_id))
        elif job_id in self.timed_out:
            late = self.timed_out.pop(job_id)
            self.counts["late"] += 1
            log.warning(
                "result %d (%s) for trigger %d came %.0f ms after the trigger, past its "
                "budget: not presented (the PLC had NG, timeout); it stays stored",
                part.result_id,
                part.verdict,
                late.trigger_id,
                (time.perf_counter() - late.clock) * 1000,
            )
        elif not self.config.plc_results_only:
            self._queue(answer_of(part, 0))
        self.refresh()

    def on_event(self, event: Event) -> None:
        if isinstance(event, FrameAcquired):
            if event.trigger.job_id in self.jobs:
                self._set(Discrete.EXPOSURE_DONE, True)
        elif isinstance(event, TriggerMissed):
            job = self.jobs.get(event.trigger.job_id or "")
            if job is not None:  # taken, then dropped: the part never came
                self._count_missed()
                self._answer(job, Verdict.ERROR, Code.TRIGGER_DROPPED, event.reason)
            self.timed_out.pop(event.trigger.job_id or "", None)
        elif isinstance(event, RecipeChanged):
            log.info("active recipe %s (RecipeNumber %d)", event.new, self._active_number())
        self.refresh()

    # --- results ------------------------------------------------------------------------------
    def _queue(self, answer: Answer) -> None:
        if len(self.results) >= self.config.buffer:
            self.counts["discarded"] += 1
            self._set(Discrete.RESULT_OVERRUN, True)
            log.warning(
                "result %d (trigger %d) discarded: %d results wait for ResultAck (buffer %d)",
                answer.result_id,
                answer.trigger_id,
                len(self.results),
                self.config.buffer,
            )
            self.report(last_error=f"result {answer.result_id} discarded: buffer full")
        else:
            self.results.append(answer)
        self._present()

    def _present(self) -> None:
        """Load the oldest waiting result and raise ResultValid, once the PLC has dropped
        ResultAck (so it sees ResultValid rise again for each result)."""
        if self.valid or not self.results or self.image.coils[Coil.RESULT_ACK]:
            return
        answer = self.results[0]
        image = self.image
        image.set_input(Input.RESULT_ID, uint32_words(answer.result_id))
        image.set_input(Input.RESULT_TRIGGER_ID, uint32_words(answer.trigger_id))
        image.set_input(Input.VERDICT, [int(answer.verdict), int(answer.code)])
        image.set_input(Input.SCORE, float32_words(answer.score))
        image.set_input(Input.THRESHOLD, float32_words(answer.threshold))
        image.set_input(Input.DEFECT_COUNT, [min(answer.defects, 0xFFFF)])
        image.set_input(Input.LATENCY_MS, float32_words(answer.latency_ms))
        image.set_input(Input.RESULT_PART_ID, ascii_words(answer.part_id))
        self._set(Discrete.OK, answer.verdict is Verdict.OK)
        self._set(Discrete.NG, answer.verdict is not Verdict.OK)
        self._set(Discrete.RESULT_VALID, True)
        self.valid = True
        self.counts["results"] += 1

    def _ack_rose(self) -> None:
        if not self.valid:
            return
        self.results.popleft()
        self.valid = False
        for bit in (Discrete.RESULT_VALID, Discrete.OK, Discrete.NG):
            self._set(bit, False)
        self.report(last_ack=time.time())

    # --- reset and status ---------------------------------------------------------------------
    def _reset(self) -> None:
        """Clear the latched flags; from Error or Halted also reset the station."""
        self._set(Discrete.MISSED_TRIGGER, False)
        self._set(Discrete.RESULT_OVERRUN, False)
        state = self.station.state
        if state not in (VisionState.ERROR, VisionState.HALTED):
            return
        try:
            self.station.reset()
        except TransitionError as exc:
            self.reset_refused = True
            log.warning("PLC Reset refused: %s", exc)
            self.report(last_error=f"Reset refused: {exc}")
        else:
            self.reset_refused = False
            log.info("PLC Reset: station %s -> %s", state.path, self.station.state.path)

    def tick(self) -> None:
        self.heartbeat = (self.heartbeat + 1) & 0xFFFF
        self.refresh()

    def _active_number(self) -> int:
        recipe = self.station.recipe
        if recipe is None:
            return 0
        return next((n for n, rid in self.numbers.items() if rid == recipe.id), 0)

    def refresh(self) -> None:
        """Recompute what follows the station's state (read on every request, so the PLC
        always reads the state of this moment)."""
        station, image = self.station, self.image
        state = station.state
        enabled = image.coils[Coil.ENABLE]
        self._set(Discrete.READY, enabled and not self.loading and station.taking_triggers)
        self._set(Discrete.BUSY, bool(self.jobs) or self.loading)
        self._set(Discrete.ERROR, state is VisionState.ERROR)
        self._set(Discrete.RUNNING, station.running)
        if state is not VisionState.ERROR:
            self.reset_refused = False
        if state is VisionState.ERROR:
            fault = Code.RESET_REFUSED if self.reset_refused else Code.STATION_ERROR
        else:
            fault = Code.NONE
        counts = self.counts
        image.set_input(
            Input.STATUS_WORD,
            [
                _pack(image.discrete),
                self.heartbeat,
                STATE_CODES.get(state, 0),
                int(fault),
                self._active_number(),
                len(self.results),
                counts["missed"] & 0xFFFF,
                counts["discarded"] & 0xFFFF,
                counts["late"] & 0xFFFF,
            ],
        )
        self.report(**counts)


class ModbusAdapter:
    """The station's Modbus TCP server: a result sink and event subscriber of `station`.

    `recipes` is the book RecipeNumber selects from (needed for recipe switches by the PLC).
    """

    def __init__(
        self,
        station: Station,
        config: ModbusConfig | None = None,
        recipes: RecipeBook | None = None,
    ) -> None:
        self.station = station
        self.config = config or ModbusConfig()
        self.recipes = recipes
        self.numbers = _numbering(self.config, recipes)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: ModbusTcpServer | None = None
        self._handshake: _Handshake | None = None
        self._executor: ThreadPoolExecutor | None = None  # made by start(): prepare() runs there
        self._unsubscribe: Callable[[], None] | None = None
        self.port = self.config.port  # the bound port once started (port 0: a free one)
        self._status_lock = threading.Lock()
        self._status = LinkStatus(False, self._where(), 0, 0, 0, 0, 0, 0)

    def __enter__(self) -> ModbusAdapter:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ModbusAdapter({self._where()})"

    def _where(self) -> str:
        host = self.config.host
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    # --- life ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Listen on host:port and attach to the station; raises ModbusError naming the
        address and the reason when it cannot listen."""
        if self._thread is not None:
            raise ModbusError(f"modbus {self._where()}: already started")
        started = threading.Event()
        failure: list[BaseException] = []
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="modbus-recipe")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._serve, args=(started, failure), name="modbus-server", daemon=True
        )
        self._thread.start()
        if not started.wait(START_TIMEOUT_S):
            failure.append(TimeoutError(f"not listening after {START_TIMEOUT_S:g} s"))
        if failure:
            self._stop_loop()
            self._executor.shutdown(wait=False)
            self._executor = None
            reason = failure[0]
            raise ModbusError(f"modbus {self._where()}: cannot listen: {reason}") from None
        self.station.sinks.append(self)
        self._unsubscribe = self.station.subscribe(self._on_event)
        self._update(listening=True, address=self._where())
        log.info("Modbus TCP server listening on %s", self._where())

    def close(self) -> None:
        """Detach from the station and stop the server (clients are disconnected)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self in self.station.sinks:
            self.station.sinks.remove(self)
        if self._thread is not None:
            self._stop_loop()
            log.info("Modbus TCP server on %s closed", self._where())
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        self._update(listening=False, clients=0)

    def _stop_loop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(START_TIMEOUT_S)
        self._thread = None

    def _serve(self, started: threading.Event, failure: list[BaseException]) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._listen())
        except Exception as exc:  # reported by start() with the address
            failure.append(exc)
            started.set()
            loop.close()
            return
        started.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._server.shutdown())
            loop.close()

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        self._handshake = _Handshake(
            self.station,
            self.config,
            self.numbers,
            self.recipes,
            loop,
            self._executor,
            self._update,
        )
        device = SimDevice(
            id=0,  # answers every unit id
            simdata=(
                [SimData(0, values=[False] * BITS, datatype=DataType.BITS)],
                [SimData(0, values=[False] * BITS, datatype=DataType.BITS)],
                [SimData(0, values=[0] * table_size(Table.HOLDING_REGISTER), datatype=_REGS)],
                [SimData(0, values=[0] * table_size(Table.INPUT_REGISTER), datatype=_REGS)],
            ),
            action=self._access,
        )
        self._server = ModbusTcpServer(
            device, address=(self.config.host, self.config.port), trace_connect=self._connected
        )
        try:
            await self._server.serve_forever(background=True)
        except RuntimeError:  # pymodbus logs the OSError only; find it again for the message
            raise OSError(_bind_problem(self.config.host, self.config.port)) from None
        sockets = getattr(self._server.transport, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]
        self._heartbeat()

    def _heartbeat(self) -> None:
        self._handshake.tick()
        self._loop.call_later(self.config.heartbeat_s, self._heartbeat)

    async def _access(
        self,
        function_code: int,
        _start: int,
        address: int,
        _count: int,
        registers: list[int],
        values: list | None,
    ) -> None:
        """pymodbus's datastore hook, called for every request before it is answered."""
        table = TABLE_OF_FUNCTION.get(function_code)
        if table is None:
            return None
        try:
            words = self._handshake.access(table, address, None if values is None else values)
        except Exception:  # never break the server: the PLC would see no answer at all
            log.exception("modbus request %d at %d failed", function_code, address)
            return None
        registers[: len(words)] = words
        return None

    def _connected(self, connected: bool) -> None:
        with self._status_lock:
            clients = max(0, self._status.clients + (1 if connected else -1))
            self._status = replace(self._status, clients=clients)
        log.info("PLC %s (%d connected)", "connected" if connected else "disconnected", clients)

    # --- the station's side (its threads) ------------------------------------------------------
    def deliver(self, part: PartResult) -> None:
        """Station sink: hand the part to the loop and return."""
        self._post(self._handshake.on_part, part)

    def _on_event(self, event: Event) -> None:
        self._post(self._handshake.on_event, event)

    def _post(self, handler: Callable, item: object) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # closed between the check and the call
            loop.call_soon_threadsafe(handler, item)

    # --- status -------------------------------------------------------------------------------
    def _update(self, **changes: object) -> None:
        with self._status_lock:
            self._status = replace(self._status, **changes)

    def status(self) -> LinkStatus:
        with self._status_lock:
            return self._status


_REGS = DataType.REGISTERS


def _numbering(config: ModbusConfig, book: RecipeBook | None) -> dict[int, str]:
    """RecipeNumber -> recipe id: the config's table, else the book's order from 1."""
    if config.recipe_numbers:
        if book is None:
            raise ModbusConfigError("modbus.recipe_numbers: given, but no recipe book")
        for number, recipe_id in config.recipe_numbers.items():
            if recipe_id not in book.recipes:
                known = ", ".join(book.recipes) or "none"
                raise ModbusConfigError(
                    f"modbus.recipe_numbers.{number}: no recipe {recipe_id!r} (known: {known})"
                )
        return dict(config.recipe_numbers)
    if book is None:
        return {}
    return {number: recipe_id for number, recipe_id in enumerate(book.recipes, start=1)}


def _bind_problem(host: str, port: int) -> str:
    """Why host:port cannot be listened on, from a plain bind (pymodbus only logs it)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"{host!r} does not resolve ({exc})"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return exc.strerror or str(exc)
    return "the server did not start listening"
