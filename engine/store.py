"""Results store: one SQLite row per inspection, in WAL mode, with CSV and JSON export.

Thread-safety rule: one `ResultStore` may be shared by threads. It holds one connection opened
with `check_same_thread=False`, and every method takes the store's lock, so the GUI's worker
thread can write while the GUI thread reads counters. Other processes may read the file at the
same time (WAL mode lets readers proceed while one writer commits).

Each row is committed on its own, so a run killed at any point leaves every finished inspection
in the file, which is what lets a batch run resume without losing or repeating an image.

A frame read from a file carries the file's signature (`file_sig`: size and modification time),
so a resumed run inspects a file again when its content changed. A failure (verdict ERROR) is
never "done": a rerun tries the frame again, and the new row marks the failure `retried_in`
that run, after which it is history, not a count (counters and summaries leave it out).
"""

from __future__ import annotations

import csv
import fcntl
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import IO, Any

from engine.result import InspectionResult
from engine.text import printable

SCHEMA_VERSION = 4
ERROR = "ERROR"  # verdict of a frame that could not be inspected

_SCHEMA = """
CREATE TABLE IF NOT EXISTS inspections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    source TEXT NOT NULL,
    frame_id TEXT NOT NULL,
    origin TEXT NOT NULL,
    frame_time REAL,
    time REAL NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('OK', 'NG', 'ERROR')),
    score REAL,
    threshold REAL,
    region_count INTEGER,
    region_areas TEXT,
    timings TEXT,
    bundle_name TEXT,
    bundle_digest TEXT,
    image_path TEXT,
    overlay_path TEXT,
    error TEXT,
    part_id TEXT,
    job_id TEXT,
    recipe_id TEXT,
    trigger_time REAL,
    latency_ms REAL,
    regions TEXT,
    file_sig TEXT,
    retried_in TEXT,
    meas_id TEXT,
    reasons TEXT,
    global_score REAL,
    pixel_threshold REAL,
    min_area_px INTEGER,
    near_miss_px INTEGER,
    rejected_by TEXT
);
CREATE INDEX IF NOT EXISTS inspections_source_frame ON inspections (source, frame_id);
CREATE TABLE IF NOT EXISTS missed_triggers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    run_id TEXT,
    recipe_id TEXT,
    part_id TEXT,
    job_id TEXT,
    origin TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS recipe_switches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    from_recipe TEXT,
    to_recipe TEXT NOT NULL,
    bundle_digest TEXT,
    requested_by TEXT NOT NULL,
    error TEXT
);
CREATE TABLE IF NOT EXISTS counter_resets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    last_inspection_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS publish_cursors (
    sink TEXT PRIMARY KEY,
    last_id INTEGER NOT NULL
);
"""


class StoreError(Exception):
    """The results database cannot be opened or written; the message names the file."""


@dataclass
class Record:
    """One stored inspection; `region_areas` and `timings_ms` are decoded from JSON."""

    id: int
    run_id: str
    source: str
    frame_id: str
    origin: str
    frame_time: float | None
    time: float
    verdict: str
    score: float | None
    threshold: float | None
    region_count: int | None
    region_areas: list[int] | None
    timings_ms: dict[str, float] | None
    bundle_name: str | None
    bundle_digest: str | None
    image_path: str | None
    overlay_path: str | None
    error: str | None
    part_id: str | None = None
    job_id: str | None = None
    recipe_id: str | None = None
    trigger_time: float | None = None
    latency_ms: float | None = None  # trigger (or frame arrival) to the row ready to store
    regions: list[dict[str, Any]] | None = None  # bbox [x, y, w, h], area_px, source each
    file_sig: str | None = None  # "size:mtime_ns" of the file the frame was read from
    retried_in: str | None = None  # a failure: the run that tried the frame again
    meas_id: str | None = None  # the line's measurement id of the job (OPC UA MeasId)
    # What a replay shows as recorded (the per-model table): the decision's reasons, the
    # global score, the thresholds besides `threshold`, the U-Net's near miss and the models
    # that rejected the part.
    reasons: list[str] | None = None
    global_score: float | None = None
    pixel_threshold: float | None = None
    min_area_px: int | None = None
    near_miss_px: int | None = None
    rejected_by: list[str] | None = None


# Columns added after schema version 1, with their SQL types: an older file gets them on open.
_ADDED_COLUMNS = {
    "part_id": "TEXT",
    "job_id": "TEXT",
    "recipe_id": "TEXT",
    "trigger_time": "REAL",
    "latency_ms": "REAL",
    "regions": "TEXT",
    "file_sig": "TEXT",
    "retried_in": "TEXT",
    "meas_id": "TEXT",
    "reasons": "TEXT",
    "global_score": "REAL",
    "pixel_threshold": "REAL",
    "min_area_px": "INTEGER",
    "near_miss_px": "INTEGER",
    "rejected_by": "TEXT",
}


@dataclass
class MissedTrigger:
    """A trigger that came while the station could not take it: never silently dropped."""

    id: int
    time: float
    run_id: str | None
    recipe_id: str | None
    part_id: str | None
    job_id: str | None
    origin: str
    reason: str


@dataclass
class RecipeSwitch:
    """A recipe selection; `error` set when the new recipe could not be loaded (old one kept)."""

    id: int
    time: float
    from_recipe: str | None
    to_recipe: str  # "" when the recipe was unprepared (Station.unprepare)
    bundle_digest: str | None
    requested_by: str
    error: str | None


@dataclass
class Counters:
    """Counts since the last reset. Yield = OK / (OK + NG): errors are not parts judged."""

    total: int
    ok: int
    ng: int
    errors: int

    @property
    def yield_(self) -> float | None:
        judged = self.ok + self.ng
        return self.ok / judged if judged else None


def count_verdicts(db: sqlite3.Connection, where: str, params: list[Any]) -> Counters:
    """The inspections matching `where` (an SQL WHERE clause with its `params`), by verdict."""
    rows = db.execute(
        f"SELECT verdict, COUNT(*) FROM inspections{where} GROUP BY verdict", params
    ).fetchall()
    by_verdict = dict(rows)
    return Counters(
        total=sum(by_verdict.values()),
        ok=by_verdict.get("OK", 0),
        ng=by_verdict.get("NG", 0),
        errors=by_verdict.get(ERROR, 0),
    )


_COLUMNS = [f.name for f in fields(Record)]
_SQL_COLUMNS = [("timings" if c == "timings_ms" else c) for c in _COLUMNS]


class ResultStore:
    """SQLite file of inspection results; see the module docstring for the threading rule.

    With `exclusive` the store holds an OS lock on `<file>.lock` until closed, so a second
    station process writing the same file is refused at once (two writers would store every
    frame twice); readers (exports, reports, tests) open it without.
    """

    def __init__(self, db_path: Path | str, *, exclusive: bool = False) -> None:
        self.path = Path(db_path)
        self._lock = threading.Lock()
        self._owner = _take_writer_lock(self.path) if exclusive else None
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a commit survives the process being killed (not a power cut),
            # without an fsync per row.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._migrate()
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.Error as exc:
            self._release()
            raise StoreError(f"{self.path}: cannot open results database ({exc})") from None

    def _migrate(self) -> None:
        """Add the columns a file of an older schema lacks; its rows keep NULL there."""
        present = {row[1] for row in self._db.execute("PRAGMA table_info(inspections)")}
        for column, kind in _ADDED_COLUMNS.items():
            if column not in present:
                self._db.execute(f"ALTER TABLE inspections ADD COLUMN {column} {kind}")

    @property
    def journal_mode(self) -> str:
        with self._lock:
            return self._db.execute("PRAGMA journal_mode").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
        self._release()

    def _release(self) -> None:
        if self._owner is not None:
            self._owner.close()  # closing the file drops the lock
            self._owner = None

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def create_tables(self, script: str) -> None:
        """Create the tables another engine module keeps in this file (idempotent SQL).

        Each such module (review queue, lots, audit trail) owns its schema and queries; the store
        owns the file, its lock and its errors, so they share one connection and one WAL file.
        """
        with self.connection() as db:
            db.executescript(script)

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """The store's connection under its lock; an SQLite error becomes a StoreError."""
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: {exc}") from None

    def add_result(
        self,
        result: InspectionResult,
        *,
        run_id: str,
        source: str,
        frame_id: str,
        origin: str,
        frame_time: float | None = None,
        bundle_name: str | None = None,
        bundle_digest: str | None = None,
        timings_ms: dict[str, float] | None = None,
        image_path: str | None = None,
        overlay_path: str | None = None,
        error: str | None = None,
        file_sig: str | None = None,
        **trigger: Any,
    ) -> int:
        """Store one inspection; returns its row id. `timings_ms` defaults to the result's;
        `error` notes a problem after inspecting (e.g. the overlay could not be saved);
        `trigger` holds any of part_id, job_id, meas_id, recipe_id, trigger_time and
        latency_ms."""
        return self._insert(
            **_trigger_columns(trigger),
            file_sig=file_sig,
            run_id=run_id,
            source=source,
            frame_id=frame_id,
            origin=origin,
            frame_time=frame_time,
            verdict=result.verdict.value,
            score=result.anomaly_score,
            threshold=result.image_threshold,
            region_count=len(result.regions),
            region_areas=json.dumps([r.area_px for r in result.regions]),
            regions=json.dumps(region_rows(result)),
            timings=json.dumps(timings_ms if timings_ms is not None else result.timings_ms),
            reasons=json.dumps(result.reasons),
            global_score=result.global_score,
            pixel_threshold=result.thresholds.pixel_threshold,
            min_area_px=result.thresholds.min_defect_area_px,
            near_miss_px=result.near_miss_px,
            rejected_by=json.dumps(list(result.rejected_by)),
            bundle_name=bundle_name,
            bundle_digest=bundle_digest,
            image_path=image_path,
            overlay_path=overlay_path,
            error=error,
        )

    def add_failure(
        self,
        *,
        run_id: str,
        source: str,
        frame_id: str,
        origin: str,
        error: str,
        frame_time: float | None = None,
        bundle_name: str | None = None,
        bundle_digest: str | None = None,
        timings_ms: dict[str, float] | None = None,
        file_sig: str | None = None,
        **trigger: Any,
    ) -> int:
        """Store a frame that could not be inspected (verdict ERROR) with the reason;
        `trigger` as for `add_result`."""
        return self._insert(
            **_trigger_columns(trigger),
            file_sig=file_sig,
            run_id=run_id,
            source=source,
            frame_id=frame_id,
            origin=origin,
            frame_time=frame_time,
            verdict=ERROR,
            error=error,
            bundle_name=bundle_name,
            bundle_digest=bundle_digest,
            timings=json.dumps(timings_ms) if timings_ms is not None else None,
        )

    def _insert(self, table: str = "inspections", **values: Any) -> int:
        values["time"] = time.time()
        # A name from a file that is not UTF-8 would stop the run here; stored printable instead.
        values = {k: printable(v) if isinstance(v, str) else v for k, v in values.items()}
        names = ", ".join(values)
        marks = ", ".join("?" * len(values))
        with self.connection() as db:
            cursor = db.execute(
                f"INSERT INTO {table} ({names}) VALUES ({marks})", list(values.values())
            )
            return int(cursor.lastrowid)

    def add_missed_trigger(
        self,
        *,
        origin: str,
        reason: str,
        run_id: str | None = None,
        recipe_id: str | None = None,
        part_id: str | None = None,
        job_id: str | None = None,
    ) -> int:
        """Store a trigger the station could not take (busy, or not in a state to)."""
        return self._insert(
            "missed_triggers",
            run_id=run_id,
            recipe_id=recipe_id,
            part_id=part_id,
            job_id=job_id,
            origin=origin,
            reason=reason,
        )

    def missed_triggers(self, *, run_id: str | None = None) -> list[MissedTrigger]:
        where, params = _filters(run_id=run_id)
        names = ", ".join(f.name for f in fields(MissedTrigger))
        with self.connection() as db:
            rows = db.execute(
                f"SELECT {names} FROM missed_triggers{where} ORDER BY id", params
            ).fetchall()
        return [MissedTrigger(*row) for row in rows]

    def add_recipe_switch(
        self,
        *,
        to_recipe: str,
        requested_by: str,
        from_recipe: str | None = None,
        bundle_digest: str | None = None,
        error: str | None = None,
    ) -> int:
        """Store a recipe selection, whether it took effect (`error` None) or not."""
        return self._insert(
            "recipe_switches",
            from_recipe=from_recipe,
            to_recipe=to_recipe,
            bundle_digest=bundle_digest,
            requested_by=requested_by,
            error=error,
        )

    def recipe_switches(self) -> list[RecipeSwitch]:
        names = ", ".join(f.name for f in fields(RecipeSwitch))
        with self.connection() as db:
            rows = db.execute(f"SELECT {names} FROM recipe_switches ORDER BY id").fetchall()
        return [RecipeSwitch(*row) for row in rows]

    def recent(
        self, limit: int | None = 50, *, source: str | None = None, verdict: str | None = None
    ) -> list[Record]:
        """Rows newest first (all of them with `limit=None`), optionally of one source/verdict."""
        where, params = _filters(source=source, verdict=verdict)
        sql = f"SELECT {', '.join(_SQL_COLUMNS)} FROM inspections{where} ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self.connection() as db:
            rows = db.execute(sql, params).fetchall()
        return [_record(row) for row in rows]

    def get(self, result_id: int) -> Record | None:
        """The row of one result id (the row id), or None."""
        rows = self.select(["id = ?"], [result_id])
        return rows[0] if rows else None

    def select(
        self,
        where: list[str],
        params: list[Any],
        *,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Record]:
        """Rows meeting every SQL condition in `where` (placeholders filled from `params`),
        oldest first; for callers with filters of their own (e.g. OPC UA result queries)."""
        sql = f"SELECT {', '.join(_SQL_COLUMNS)} FROM inspections"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id LIMIT ? OFFSET ?"
        with self.connection() as db:
            rows = db.execute(sql, [*params, -1 if limit is None else limit, offset]).fetchall()
        return [_record(row) for row in rows]

    def records(self, *, source: str | None = None) -> list[Record]:
        """All rows in the order they were stored."""
        return self.recent(None, source=source)[::-1]

    def counters(self, *, source: str | None = None, since_reset: bool = True) -> Counters:
        """Totals by verdict, counted after the last `reset_counters` unless `since_reset` is
        False; optionally for one source only."""
        where, params = _filters(source=source)
        where += (" AND " if where else " WHERE ") + COUNTED
        if since_reset:
            where += f" AND id > {_LAST_RESET}"
        with self.connection() as db:
            return count_verdicts(db, where, params)

    def reset_counters(self) -> None:
        """Start counting from zero; rows stay in the history (a reset marker is stored)."""
        with self.connection() as db:
            db.execute(
                "INSERT INTO counter_resets (time, last_inspection_id) "
                "SELECT ?, COALESCE(MAX(id), 0) FROM inspections",
                (time.time(),),
            )

    def done_frames(self, source: str, bundle_digest: str | None = None) -> dict[str, str | None]:
        """Frames of `source` already inspected, for resuming a run: frame id -> the file
        signature of its newest row. Failures are not done: a rerun tries them again. With
        `bundle_digest`, only the rows that bundle produced."""
        where, params = _filters(source=source, bundle_digest=bundle_digest)
        where += (" AND " if where else " WHERE ") + f"verdict != '{ERROR}'"
        with self.connection() as db:
            rows = db.execute(
                f"SELECT frame_id, file_sig FROM inspections{where} ORDER BY id", params
            ).fetchall()
        return dict(rows)

    def failed_frames(self, source: str, bundle_digest: str | None = None) -> set[str]:
        """Frame ids of `source` whose failures no later row has retried yet."""
        where, params = _filters(source=source, bundle_digest=bundle_digest)
        where += (" AND " if where else " WHERE ") + f"verdict = '{ERROR}' AND retried_in IS NULL"
        with self.connection() as db:
            rows = db.execute(f"SELECT DISTINCT frame_id FROM inspections{where}", params)
            return {row[0] for row in rows.fetchall()}

    def retry_failures(
        self,
        source: str,
        frame_id: str,
        *,
        bundle_digest: str | None,
        file_sig: str | None,
        run_id: str,
        before: int | None = None,
    ) -> int:
        """Mark the open failures of one frame stored before row `before` as retried in
        `run_id` (a new row for the same file content, or the sub-folder listed after all);
        returns how many of them the counters held since the last reset. A failure of another
        version of the file stays: that was another part."""
        condition = (
            "source = ? AND frame_id = ? AND bundle_digest IS ? AND verdict = ? AND id < ? "
            "AND retried_in IS NULL AND (file_sig IS NULL OR file_sig IS ?)"
        )
        last = 2**63 - 1 if before is None else before  # SQLite's largest row id
        params = [printable(source), printable(frame_id), bundle_digest, ERROR, last, file_sig]
        with self.connection() as db:
            counted = db.execute(
                f"SELECT COUNT(*) FROM inspections WHERE {condition} AND id > {_LAST_RESET}",
                params,
            ).fetchone()[0]
            db.execute(
                f"UPDATE inspections SET retried_in = ? WHERE {condition}", [run_id, *params]
            )
        return int(counted)

    def bundle_digests(self, source: str) -> set[str]:
        """Digests of the bundles that produced the stored rows of `source`."""
        with self.connection() as db:
            rows = db.execute(
                "SELECT DISTINCT bundle_digest FROM inspections "
                "WHERE source = ? AND bundle_digest IS NOT NULL",
                (source,),
            ).fetchall()
        return {row[0] for row in rows}

    def export_csv(self, path: Path | str) -> Path:
        """Write every row to a CSV file (areas and timings as JSON text); returns the path."""
        path = Path(path)
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(_COLUMNS)
            for record in self.records():
                row = asdict(record)
                for key in JSON_COLUMNS:
                    row[key] = json.dumps(row[key]) if row[key] is not None else ""
                writer.writerow(["" if row[c] is None else row[c] for c in _COLUMNS])
        return path

    def export_json(self, path: Path | str) -> Path:
        """Write every row as a JSON list of objects; returns the path."""
        path = Path(path)
        rows = [asdict(record) for record in self.records()]
        path.write_text(json.dumps(rows, indent=1), encoding="utf-8")
        return path

    # --- publish cursors: store-and-forward sinks (engine.line.mqtt) ---------------------------
    # A sink that forwards results over an unreliable link keeps here the id of the last row the
    # other side acknowledged, so an outage or a restart resumes after it and loses nothing.

    def publish_cursor(self, sink: str) -> int | None:
        """The last result id `sink` has had acknowledged; None when it never had a cursor."""
        with self.connection() as db:
            row = db.execute(
                "SELECT last_id FROM publish_cursors WHERE sink = ?", (sink,)
            ).fetchone()
        return None if row is None else int(row[0])

    def set_publish_cursor(self, sink: str, last_id: int) -> None:
        """Record that every row up to `last_id` has been acknowledged by `sink`'s receiver."""
        with self.connection() as db:
            db.execute(
                "INSERT INTO publish_cursors (sink, last_id) VALUES (?, ?) "
                "ON CONFLICT (sink) DO UPDATE SET last_id = excluded.last_id",
                (sink, int(last_id)),
            )

    def records_after(self, last_id: int, limit: int = 100) -> list[Record]:
        """Rows with id > `last_id` in id order, at most `limit`: what a sink has still to send."""
        sql = f"SELECT {', '.join(_SQL_COLUMNS)} FROM inspections WHERE id > ? ORDER BY id LIMIT ?"
        with self.connection() as db:
            rows = db.execute(sql, (int(last_id), int(limit))).fetchall()
        return [_record(row) for row in rows]

    def last_record_id(self) -> int:
        """The id of the newest row (0 when the store is empty)."""
        with self.connection() as db:
            return int(db.execute("SELECT COALESCE(MAX(id), 0) FROM inspections").fetchone()[0])


def _take_writer_lock(db_path: Path) -> IO[str]:
    """Hold `<db>.lock` for writing, or raise StoreError naming the process that holds it."""
    lock_path = db_path.with_name(db_path.name + ".lock")
    handle = lock_path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise StoreError(
            f"{db_path.parent}: results folder in use by {holder}; a second station writing it "
            "would store every frame twice: stop that one or choose another output folder"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"station process {os.getpid()}")
    handle.flush()
    return handle


_TRIGGER_COLUMNS = frozenset(
    {"part_id", "job_id", "meas_id", "recipe_id", "trigger_time", "latency_ms"}
)
# The rows the counters count: a failure tried again is history, not a count (retry_failures).
COUNTED = "retried_in IS NULL"
_LAST_RESET = "(SELECT COALESCE(MAX(last_inspection_id), 0) FROM counter_resets)"
JSON_COLUMNS = ("region_areas", "timings_ms", "regions", "reasons", "rejected_by")  # JSON text


def region_rows(result: InspectionResult) -> list[dict[str, Any]]:
    """A result's regions as stored and as the line links hand them on (largest first)."""
    return [
        {"bbox": [int(v) for v in r.bbox], "area_px": int(r.area_px), "source": r.source}
        for r in result.regions
    ]


def _trigger_columns(values: dict[str, Any]) -> dict[str, Any]:
    unknown = set(values) - _TRIGGER_COLUMNS
    if unknown:
        raise TypeError(f"unknown result column(s): {', '.join(sorted(unknown))}")
    return values


def _filters(**conditions: str | None) -> tuple[str, list[Any]]:
    used = {column: value for column, value in conditions.items() if value is not None}
    if not used:
        return "", []
    return " WHERE " + " AND ".join(f"{column} = ?" for column in used), list(used.values())


def _record(row: tuple) -> Record:
    values = dict(zip(_COLUMNS, row, strict=True))
    for key in JSON_COLUMNS:
        if values[key] is not None:
            values[key] = json.loads(values[key])
    return Record(**values)
