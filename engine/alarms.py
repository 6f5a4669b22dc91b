"""Alarms: conditions on the parts and the line that call for a person, recorded in the store
and open until someone acknowledges them (who and when is recorded too).

Rules (each off with a limit of 0): N consecutive NG parts; an NG share above a limit over the
last M judged parts; live frames left uninspected in one run (the station core's
FramesDropped); a line link down. An alarm still open is not raised again, and the NG rules
count afresh after raising, so an operator sees one alarm per occurrence, not one per part.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, fields

from engine.store import ResultStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alarms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    message TEXT NOT NULL,
    acknowledged REAL,
    acknowledged_by TEXT
);
"""
CONSECUTIVE_NG, NG_RATE, UNINSPECTED, LINK_DOWN = (
    "consecutive_ng",
    "ng_rate",
    "uninspected",
    "link_down",
)


class AlarmError(LookupError):
    """An alarm id the store does not hold, or one acknowledged already."""


@dataclass(frozen=True)
class AlarmLimits:
    """When each rule fires; 0 (or False) switches it off. Set in the engineer settings."""

    consecutive_ng: int = 5
    ng_rate: float = 0.2  # NG share above this ...
    ng_rate_window: int = 50  # ... over the last this many judged parts
    uninspected: int = 10  # live frames not inspected in one run
    link_down: bool = True


@dataclass(frozen=True)
class Alarm:
    id: int
    time: float
    kind: str
    subject: str  # what it is about within its kind: a link's name, "" for the NG rules
    message: str
    acknowledged: float | None
    acknowledged_by: str | None

    @property
    def open(self) -> bool:
        return self.acknowledged is None


_NAMES = ", ".join(f.name for f in fields(Alarm))


def open_alarms(store: ResultStore) -> list[Alarm]:
    """Alarms not yet acknowledged, oldest first: they survive a restart."""
    store.create_tables(_SCHEMA)
    with store.connection() as db:
        rows = db.execute(f"SELECT {_NAMES} FROM alarms WHERE acknowledged IS NULL ORDER BY id")
        return [Alarm(*row) for row in rows.fetchall()]


def alarm_log(store: ResultStore, limit: int = 200) -> list[Alarm]:
    """Every recorded alarm, newest first, acknowledged or not."""
    store.create_tables(_SCHEMA)
    with store.connection() as db:
        rows = db.execute(f"SELECT {_NAMES} FROM alarms ORDER BY id DESC LIMIT ?", (limit,))
        return [Alarm(*row) for row in rows.fetchall()]


def acknowledge(store: ResultStore, alarm_id: int, by: str) -> Alarm:
    """Record that `by` acknowledged the alarm now; raises AlarmError if it is not open."""
    store.create_tables(_SCHEMA)
    with store.connection() as db:
        changed = db.execute(
            "UPDATE alarms SET acknowledged = ?, acknowledged_by = ? "
            "WHERE id = ? AND acknowledged IS NULL",
            (time.time(), by, alarm_id),
        ).rowcount
        row = db.execute(f"SELECT {_NAMES} FROM alarms WHERE id = ?", (alarm_id,)).fetchone()
    if row is None:
        raise AlarmError(f"alarm {alarm_id} is not in {store.path}")
    if not changed:
        raise AlarmError(f"alarm {alarm_id} was acknowledged already")
    return Alarm(*row)


class AlarmMonitor:
    """Applies the rules to what the station reports; each method returns the alarms it raised
    (already recorded). Call it from one thread (the window's)."""

    def __init__(self, store: ResultStore, limits: AlarmLimits | None = None) -> None:
        self.store = store
        store.create_tables(_SCHEMA)
        self.limits = limits or AlarmLimits()
        self._streak = 0
        self._recent: deque[bool] = deque(maxlen=max(1, self.limits.ng_rate_window))
        self._dropped_seen = 0
        self._down: set[str] = set()

    def set_limits(self, limits: AlarmLimits) -> None:
        """New limits count afresh: a window of the old size says nothing of the new rule."""
        self.limits = limits
        self._streak = 0
        self._recent = deque(maxlen=max(1, limits.ng_rate_window))

    def part(self, verdict: str) -> list[Alarm]:
        """A judged part (OK or NG; a frame that could not be judged changes nothing)."""
        if verdict not in ("OK", "NG"):
            return []
        raised = []
        ng = verdict == "NG"
        self._streak = self._streak + 1 if ng else 0
        limit = self.limits.consecutive_ng
        if limit and self._streak >= limit:
            self._streak = 0
            raised += self._raise(CONSECUTIVE_NG, "", f"{limit} NG parts in a row")
        self._recent.append(ng)
        window, share = self.limits.ng_rate_window, self.limits.ng_rate
        if share and window and len(self._recent) == window:
            rate = sum(self._recent) / window
            if rate > share:
                self._recent.clear()
                message = f"NG rate {100 * rate:.0f} % over the last {window} parts"
                raised += self._raise(NG_RATE, "", f"{message} (limit {100 * share:.0f} %)")
        return raised

    def dropped(self, count: int) -> list[Alarm]:
        """Live frames left uninspected so far in this run (FramesDropped.dropped)."""
        previous, self._dropped_seen = self._dropped_seen, count
        if count < previous:  # a new run counts from zero again
            previous = 0
        limit = self.limits.uninspected
        if not limit or not previous < limit <= count:  # raised once, as the count passes it
            return []
        message = f"{count} live frames not inspected in this run: the station cannot keep up"
        return self._raise(UNINSPECTED, "", message)

    def links(self, states: dict[str, bool]) -> list[Alarm]:
        """Each line link by name: up or not; a link going down raises its alarm once."""
        down = {name for name, up in states.items() if not up}
        newly = sorted(down - self._down)
        self._down = down
        if not self.limits.link_down:
            return []
        raised = []
        for name in newly:
            raised += self._raise(LINK_DOWN, name, f"line link {name} is down")
        return raised

    def _raise(self, kind: str, subject: str, message: str) -> list[Alarm]:
        with self.store.connection() as db:
            still_open = db.execute(
                "SELECT 1 FROM alarms WHERE kind = ? AND subject = ? AND acknowledged IS NULL",
                (kind, subject),
            ).fetchone()
            if still_open:
                return []
            cursor = db.execute(
                "INSERT INTO alarms (time, kind, subject, message) VALUES (?, ?, ?, ?)",
                (time.time(), kind, subject, message),
            )
            row = db.execute(
                f"SELECT {_NAMES} FROM alarms WHERE id = ?", (cursor.lastrowid,)
            ).fetchone()
        return [Alarm(*row)]
