"""`station serve`: the headless line service on the station core (engine.station.Station).

    station serve --config station.toml            # run until SIGTERM / SIGINT / `!stop`
    station serve --check --config station.toml    # validate only; exit 0 or 2

Everything comes from the config (engine.service_config); --bundle, --source, --trigger,
--recipe, --out and --provider override it. Logs go to stderr and, when configured, to a
rotating log file. stdout carries one JSON object per line, for scripts:

    {"event": "ready", ...}    a run is on: triggers are taken from now
    {"event": "result", "result_id": 7, "part_id": "A12", "verdict": "NG", "score": 0.91,
     "latency_ms": 41.2, "error": null, ...}
    {"event": "missed", ...}   a trigger the station could not take (stored too)
    {"event": "status", ...}   the answer to `!status`, `!halt`, `!reset`, `!recipe ID`
    {"event": "error", ...}    a stdin line that could not be done
    {"event": "ended", ...}    a run ended (how, parts inspected)

stdin, one line each: a plain line is a software trigger whose text (stripped) is the part id
(an empty line: no part id); a line starting with `!` is a command: `!status`, `!halt`,
`!reset`, `!stop`, `!recipe ID`, `!trigger PART` (for a part id that itself starts with `!`).
EOF on stdin only stops the reading (under systemd stdin is /dev/null).

Exit codes: 0 stopped (signal or `!stop`) or the source ended; 1 the source failed during the
run (lost, with no reconnect_s); 2 the service could not start (configuration, bundle, source,
results store or log file), with the reason in one line naming the file or field.

Threads: Station.run blocks the main thread (signal handlers must be installed there); a
control thread turns signals and `!stop` into the run's stop event; a daemon thread reads stdin.
"""

from __future__ import annotations

import argparse
import json
import logging
import logging.handlers
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from engine.events import FrameFailed, PartResult, ResultReady, RunStarted, TriggerMissed
from engine.line.links import Link, LinkError, close_links, start_links
from engine.line.modbus_map import modbus_map_text
from engine.recipes import RecipeError
from engine.recorder import open_store
from engine.service_config import (
    TRIGGERS,
    ConfigError,
    Overrides,
    ServeConfig,
    StationConfig,
    load_config,
)
from engine.sources import SourceError
from engine.station import RunSummary, Station, TriggerMode
from engine.store import StoreError
from engine.vision_states import TransitionError, VisionState

log = logging.getLogger("station.serve")

EXIT_OK, EXIT_SOURCE_FAILED, EXIT_ERROR = 0, 1, 2
POLL_S = 0.05  # how often waiting loops look at their flags
SETTLE_S = 10.0  # longest wait for a halt or reset to take effect before `status` answers
REQUESTED_BY = "station serve"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
COMMANDS = ("status", "halt", "reset", "stop", "recipe", "trigger")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="station serve",
        description="Headless line service: inspect parts from a camera, folder or video as "
        "the config says, one JSON line per result on stdout, software triggers and commands "
        "on stdin (docs/serve.md).",
        epilog="Exit codes: 0 stopped (SIGTERM, SIGINT, !stop) or the source ended; 1 the "
        "source failed during the run; 2 could not start, or --check found errors.",
    )
    parser.add_argument("--config", type=Path, help="station.toml (docs/station.example.toml)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="validate the configuration and the files it names, then exit (0 valid, 2 not)",
    )
    parser.add_argument("--bundle", help="model bundle: run a one-recipe book of it")
    parser.add_argument("--source", help="camera index, stream URL, folder, video or image")
    parser.add_argument("--trigger", choices=TRIGGERS, help="trigger mode")
    parser.add_argument("--recipe", metavar="ID", help="recipe to start with")
    parser.add_argument("--out", help="results folder")
    parser.add_argument("--provider", help="onnxruntime provider: cpu, cuda, ... or auto")
    parser.add_argument(
        "--modbus", metavar="HOST:PORT", help="PLC handshake over Modbus TCP (docs/modbus.md)"
    )
    parser.add_argument(
        "--opcua", metavar="URL", help="OPC UA Machine Vision server, opc.tcp://HOST:PORT"
    )
    parser.add_argument(
        "--mqtt", metavar="URL", help="publish results to the broker mqtt://HOST:PORT"
    )
    parser.add_argument(
        "--modbus-map", action="store_true", help="print the Modbus register map and exit"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.modbus_map:
        print(modbus_map_text())
        return EXIT_OK
    if args.bundle and args.recipe:
        parser.error("--recipe chooses from the configured recipes; --bundle replaces them")
    overrides = Overrides(
        args.bundle,
        args.source,
        args.trigger,
        args.recipe,
        args.out,
        args.provider,
        args.modbus,
        args.opcua,
        args.mqtt,
    )
    try:
        config = load_config(args.config, overrides, load_bundles=args.check)
    except KeyboardInterrupt:  # before the service's own handler is installed
        return EXIT_OK
    except ConfigError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        return EXIT_ERROR
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.check:
        print(config.summary())
        return EXIT_OK
    try:
        undo_logging = configure_logging(config.station, args.verbose)
    except OSError as exc:
        print(f"{config.where}: station.log_file: cannot open ({exc})", file=sys.stderr)
        return EXIT_ERROR
    try:
        return serve(config, stdin_fd=_stdin_fd())
    finally:
        undo_logging()


def configure_logging(station: StationConfig, verbose: bool = False) -> Callable[[], None]:
    """Log to stderr and, when configured, to a rotating file. Returns the function undoing
    it, so in-process callers (tests, a launcher) do not pile up handlers."""
    formatter = logging.Formatter(LOG_FORMAT)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if station.log_file is not None:
        station.log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                station.log_file,
                maxBytes=station.log_max_bytes,
                backupCount=station.log_backups,
                encoding="utf-8",
            )
        )
    root = logging.getLogger()
    previous_level = root.level
    root.setLevel(logging.DEBUG if verbose else station.log_level)
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)

    def undo() -> None:
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(previous_level)

    return undo


def _stdin_fd() -> int | None:
    """stdin's file descriptor, or None when there is none to read (closed, or replaced)."""
    try:
        return sys.stdin.fileno() if sys.stdin is not None else None
    except (OSError, ValueError):  # io.UnsupportedOperation is both
        return None


def serve(config: ServeConfig, stdin_fd: int | None = None, stdout: TextIO | None = None) -> int:
    """Open the results store, make the station and run the service until it ends, reading
    stdin lines from `stdin_fd` and writing JSON lines to `stdout` (default sys.stdout). The
    store is closed on every way out (each row is committed already; closing checkpoints the
    WAL)."""
    station_config = config.station
    try:
        store = open_store(station_config.out)
    except (StoreError, OSError) as exc:
        log.error("%s: station.out: results store cannot be opened: %s", config.where, exc)
        return EXIT_ERROR
    try:
        station = Station(
            store,
            station_config.out,
            provider=station_config.provider,
            drop_alarm_share=station_config.drop_alarm_share,
            trigger_timeout_s=station_config.trigger_timeout_s,
            name=station_config.name,
        )
        lines = JsonLines(stdout or sys.stdout)
        return Service(config, station, lines, stdin_fd).run()
    except StoreError as exc:
        log.error("%s: station.out: %s", config.where, exc)
        return EXIT_ERROR
    finally:
        store.close()


class JsonLines:
    """One JSON object per line on `stream`, whole lines from any thread, flushed at once. A
    reader that went away (broken pipe) is logged once; the service goes on without it."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._broken = False

    def write(self, event: str, **values: Any) -> None:
        line = json.dumps({"event": event, **values}, default=str)
        with self._lock:
            if self._broken:
                return
            try:
                self._stream.write(line + "\n")
                self._stream.flush()
            except (OSError, ValueError) as exc:  # ValueError: the stream was closed
                self._broken = True
                log.error("stdout is gone (%s); results are still stored", exc)


class ProtocolError(ValueError):
    """A stdin line that is not a trigger nor a known command."""


def parse_line(line: str) -> tuple[str, str | None]:
    """(command, argument) of one stdin line: ('trigger', part id or None) for a plain line,
    else the `!command` and its argument."""
    text = line.strip()
    if not text.startswith("!"):
        return "trigger", text or None
    name, _, argument = text[1:].partition(" ")
    name, argument = name.strip().lower(), argument.strip() or None
    if name not in COMMANDS:
        known = ", ".join(f"!{c}" for c in COMMANDS)
        raise ProtocolError(f"unknown command {text!r} (commands: {known})")
    if name == "recipe" and argument is None:
        raise ProtocolError("!recipe needs the id of the recipe to switch to")
    if name not in ("recipe", "trigger") and argument is not None:
        raise ProtocolError(f"!{name} takes no argument")
    return name, argument


def read_lines(fd: int, chunk: int = 4096) -> Iterator[str]:
    """Lines from a file descriptor, read with os.read: a daemon thread blocked in it holds no
    lock of sys.stdin, so the interpreter can always exit around it."""
    pending = b""
    while True:
        try:
            data = os.read(fd, chunk)
        except OSError:  # a closed descriptor reads as the end
            data = b""
        if not data:
            break
        pending += data
        *lines, pending = pending.split(b"\n")
        for raw in lines:
            yield raw.decode("utf-8", errors="replace")
    if pending:
        yield pending.decode("utf-8", errors="replace")


@dataclass
class _Runs:
    """Runs the main thread has started and the station has announced (RunStarted); a trigger
    sent before a run is on would be missed, so stdin waits for the first announcement."""

    started: int = 0
    announced: int = 0
    cond: threading.Condition = field(default_factory=threading.Condition)

    def wait_announced(self, count: int, timeout: float, finished: threading.Event) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while self.announced < count and not finished.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, POLL_S))
            return self.announced >= count


class Service:
    """Runs `station` as the config says until a stop is asked or the source ends."""

    def __init__(
        self,
        config: ServeConfig,
        station: Station,
        lines: JsonLines,
        stdin_fd: int | None = None,
    ) -> None:
        self.config = config
        self.station = station
        self.lines = lines
        self.stdin_fd = stdin_fd
        self._requests: queue.SimpleQueue[str] = queue.SimpleQueue()  # put() is signal-safe
        self._stopping = threading.Event()
        self._run_stop = threading.Event()  # the caller's stop of the run on now
        self._halted = threading.Event()  # `!halt` asked: after the run, wait for `!reset`
        self._finished = threading.Event()
        self._runs = _Runs()
        self._mode: TriggerMode = config.source.trigger  # of the run on now, or the last one
        self._next_mode: TriggerMode | None = None  # asked for the next run (StartContinuous)
        self._next_meas: str | None = None  # that request's MeasId, for the run's parts
        self.links: list[Link] = []
        station.subscribe(self._on_event)

    # --- the main thread ----------------------------------------------------------------------
    def run(self) -> int:
        """Prepare the recipe, then run the source, again after each `!reset` of a halt."""
        previous = self._install_signals()
        control = threading.Thread(target=self._control, name="serve-control", daemon=True)
        control.start()
        try:
            try:
                self.station.prepare(self.config.recipe, REQUESTED_BY)
            except RecipeError as exc:
                log.error("%s: %s", self.config.where, exc)
                return EXIT_ERROR
            try:
                self.links = start_links(list(self.config.links), self.station, self.config.book)
            except LinkError as exc:
                log.error("%s: %s", self.config.where, exc)
                return EXIT_ERROR
            for link in self.links:  # the host of runs answers OPC UA's StartContinuous
                if hasattr(link, "on_start_continuous"):
                    link.on_start_continuous = self.start_continuous
            if self.stdin_fd is not None:
                reader = threading.Thread(target=self._read_stdin, name="serve-stdin", daemon=True)
                reader.start()
            return self._loop()
        finally:
            close_links(self.links)
            self._finished.set()
            control.join(timeout=5)
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _loop(self) -> int:
        ran = False
        while not self._stopping.is_set():
            try:
                summary: RunSummary | None = self._run_once()
                ran = True
            except SourceError as exc:
                log.error("%s: source.spec: %s", self.config.where, exc)
                return EXIT_ERROR
            except TransitionError as exc:  # a `!halt` just before the run could start
                if self.station.state is not VisionState.HALTED:
                    log.error("run not started: %s", exc)
                    return EXIT_ERROR
                summary = None
            if self._stopping.is_set():
                break
            if summary is not None and summary.how == "source failed":
                log.error("source failed: %s", summary.source_error)
                return EXIT_SOURCE_FAILED
            # A halted run: asked for (the state may be Ready again already, after a quick
            # `!reset`), or seen in the state.
            halted = summary is None or self._halted.is_set()
            if halted or self.station.state is VisionState.HALTED:
                if not self._wait_for_reset():
                    break
                continue
            if self._switch_mode():
                continue
            log.info("source done" if summary.how == "done" else f"run ended ({summary.how})")
            break
        if not ran:
            log.info("stopped before the run started")
        return EXIT_OK

    def _switch_mode(self) -> bool:
        """After a run that was not asked to end the service: True when the next run is in
        another mode. OPC UA's StartContinuous ends the configured run for a continuous one;
        when that one ends (Stop, or the source done), the configured mode comes back."""
        with self._runs.cond:
            if self._next_mode is not None:
                return True
            if self._mode is not self.config.source.trigger:
                self._next_mode = self.config.source.trigger
                return True
        return False

    def start_continuous(self, request: object = None) -> None:
        """OPC UA StartContinuous: end the current run (the part in hand is finished) and run
        the source continuously; the OPC UA server waits for that run's RunStarted."""
        if self._mode is TriggerMode.CONTINUOUS:
            raise TransitionError("a continuous run is on already")
        with self._runs.cond:
            self._next_mode = TriggerMode.CONTINUOUS
            self._next_meas = getattr(request, "meas_id", None)
        self.station.stop()

    def _run_once(self) -> RunSummary:
        source = self.config.source
        with self._runs.cond:
            self._runs.started += 1
            self._mode, self._next_mode = self._next_mode or source.trigger, None
            meas_id, self._next_meas = self._next_meas, None
        # Each run has its own stop event, so ending one run (StartContinuous) does not end the
        # service. It is in place before `_stopping` is looked at, and `_stop` sets `_stopping`
        # before it, so a stop asked just before the run starts still ends it.
        self._run_stop = run_stop = threading.Event()
        if self._stopping.is_set():
            run_stop.set()
        summary = self.station.run(
            source.spec,
            self._mode,
            realtime=source.realtime,
            poll_interval=source.poll_interval,
            reconnect_s=source.reconnect_s,
            stop=run_stop,
            meas_id=meas_id,
        )
        self._log_summary(summary)
        self.lines.write(
            "ended",
            run_id=summary.run_id,
            how=summary.how,
            inspected=summary.inspected,
            resumed=summary.resumed,
            missed=summary.missed,
            dropped=summary.dropped,
            source_error=summary.source_error,
        )
        return summary

    def _log_summary(self, summary: RunSummary) -> None:
        log.info(
            "run %s %s: %d inspected, %d passed over (done before), %d triggers missed, "
            "%d live frames dropped, %.1f s",
            summary.run_id,
            summary.how,
            summary.inspected,
            summary.resumed,
            summary.missed,
            summary.dropped,
            summary.wall_s,
        )

    def _wait_for_reset(self) -> bool:
        """Halted: wait for `!reset` (True, run again) or a stop (False)."""
        if self.station.state is VisionState.HALTED:
            log.warning("halted: triggers are refused until `!reset`")
        while self.station.state is not VisionState.READY:
            if self._stopping.wait(POLL_S):
                return False
        self._halted.clear()
        return not self._stopping.is_set()

    # --- signals and stop requests ------------------------------------------------------------
    def _install_signals(self) -> dict[int, Any]:
        """SIGTERM and SIGINT ask for a stop: the handler only queues it (SimpleQueue.put is
        safe in a signal handler; Station.stop() takes locks the main thread may hold)."""
        if threading.current_thread() is not threading.main_thread():
            return {}  # signal handlers can only be set from the main thread

        def handler(signum: int, _frame: object) -> None:
            self._requests.put(signal.Signals(signum).name)

        return {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}

    def request_stop(self, why: str = "!stop") -> None:
        self._requests.put(why)

    def _control(self) -> None:
        """Act on stop requests: the first finishes the current part, the next ends at once."""
        stops = 0
        while not self._finished.is_set():
            try:
                why = self._requests.get(timeout=POLL_S)
            except queue.Empty:
                continue
            stops += 1
            self._stop(why, stops)

    def _stop(self, why: str, stops: int) -> None:
        if stops == 1:
            log.warning("%s: stopping after the current part", why)
            self._stopping.set()
            self._run_stop.set()
        else:
            log.warning("%s again: stopping now", why)
            self.station.abort()

    def _announce_run(self, event: RunStarted) -> None:
        runs = self._runs
        source = self.config.source
        log.info("%s: %s trigger on %s", self.station.name, event.mode, source.spec)
        self.lines.write(
            "ready",
            station=self.station.name,
            recipe=self.station.recipe.id if self.station.recipe else None,
            mode=event.mode,
            source=source.spec,
            run_id=event.run_id,
            state=self.station.state.path,
        )
        with runs.cond:  # after the line: whoever waited for it answers after it
            runs.announced += 1
            runs.cond.notify_all()

    # --- events -------------------------------------------------------------------------------
    def _on_event(self, event: object) -> None:
        """Events to JSON lines, on the thread that published them. Station publishes a
        triggered part's result once it is free for the next trigger, so a script may send
        the next one as soon as it reads the line."""
        if isinstance(event, ResultReady | FrameFailed):
            self.lines.write("result", **result_fields(event.part))
        elif isinstance(event, RunStarted):
            self._announce_run(event)
        elif isinstance(event, TriggerMissed):
            self.lines.write(
                "missed",
                part_id=event.trigger.part_id,
                origin=event.trigger.origin,
                reason=event.reason,
                missed=event.missed,
            )

    def status(self) -> dict[str, Any]:
        station = self.station
        counters = station.counters
        return {
            "station": station.name,
            "state": station.state.path,
            "running": station.running,
            "mode": self._mode.value,
            "recipe": station.recipe.id if station.recipe else None,
            "counters": {
                "total": counters.total,
                "ok": counters.ok,
                "ng": counters.ng,
                "errors": counters.errors,
            },
            "yield": counters.yield_,
            "missed": station.missed,
            "allowed": station.allowed_methods(),
        }

    # --- stdin --------------------------------------------------------------------------------
    def _read_stdin(self) -> None:
        if not self._runs.wait_announced(1, float("inf"), self._finished):
            return
        for line in read_lines(self.stdin_fd):
            if self._finished.is_set():
                return
            self.handle_line(line)
        software = self.config.source.trigger is TriggerMode.SOFTWARE
        level = logging.WARNING if software else logging.DEBUG
        log.log(level, "stdin closed: no more stdin triggers or commands; still running")

    def handle_line(self, line: str) -> None:
        """Do one stdin line; a line that cannot be done is answered with an error line."""
        try:
            command, argument = parse_line(line)
            getattr(self, f"_do_{command}")(argument)
        except (ProtocolError, TransitionError, RecipeError) as exc:
            log.warning("stdin %r: %s", line.strip(), exc)
            self.lines.write("error", line=line.strip(), message=str(exc))
        except Exception as exc:  # a bug must not end the reading: the line service goes on
            log.exception("stdin %r failed", line.strip())
            self.lines.write("error", line=line.strip(), message=f"internal error: {exc}")

    def _do_trigger(self, part_id: str | None) -> None:
        self.station.trigger(part_id=part_id, origin="stdin")  # answered by result or missed

    def _do_status(self, _argument: None) -> None:
        self.lines.write("status", **self.status())

    def _do_stop(self, _argument: None) -> None:
        self.request_stop()  # answered by the `ended` line

    def _do_halt(self, _argument: None) -> None:
        self._halted.set()  # first: the main loop must not take the run's end as the source's
        self.station.halt()
        self._settle(lambda: not self.station.running)
        self._do_status(None)

    def _do_reset(self, _argument: None) -> None:
        with self._runs.cond:
            next_run = self._runs.started + 1
        self.station.reset()
        self._runs.wait_announced(next_run, SETTLE_S, self._finished)
        self._do_status(None)

    def _do_recipe(self, recipe_id: str) -> None:
        recipe = self.config.book.get(recipe_id)
        self.station.prepare(recipe, "stdin")
        self._do_status(None)

    def _settle(self, done: Callable[[], bool], timeout: float = SETTLE_S) -> None:
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:
            time.sleep(POLL_S / 5)


def result_fields(part: PartResult) -> dict[str, Any]:
    """What a result line carries: enough for a script to act on the part."""
    result = part.result
    score = result.anomaly_score if result is not None else None
    return {
        "result_id": part.result_id,
        "part_id": part.trigger.part_id if part.trigger else None,
        "verdict": part.verdict,
        "score": None if score is None else round(float(score), 6),
        "latency_ms": None if part.latency_ms is None else round(part.latency_ms, 1),
        "error": part.error,
        "frame_id": part.frame.id,
        "recipe_id": part.recipe_id,
        "run_id": part.run_id,
    }


if __name__ == "__main__":
    sys.exit(main())
