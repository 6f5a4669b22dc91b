"""Production figures from the results store: counts, processing times, parts per minute, the
yield trend and NG by reason, over a lot, a shift or the last hour; and the history by page.

Everything is read from the store (no Qt), so the window, a report or a test see the same
numbers, and they survive a restart. `snapshot` gathers what the statistics view shows in one
call, which the window runs off its GUI thread.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

from engine.lots import Lot, current_lot
from engine.store import COUNTED, Counters, Record, ResultStore, count_verdicts

HOUR_S = 3600.0
DEFAULT_SHIFT_STARTS = "06:00, 14:00, 22:00"
REASON_LABELS = {
    ("segmentation",): "U-Net",
    ("anomaly",): "anomaly score",
    ("segmentation", "anomaly"): "U-Net + anomaly",
}
JUDGED = "verdict IN ('OK', 'NG')"


@dataclass(frozen=True)
class Period:
    """A span of stored results: by row id (a lot: after `after_id`, up to `last_id`) and / or
    by time (a shift, the last hour: `start` <= time < `end`). None leaves a side open."""

    label: str
    after_id: int | None = None
    last_id: int | None = None
    start: float | None = None
    end: float | None = None

    def conditions(self) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        params: list[Any] = []
        for sql, value in (
            ("id > ?", self.after_id),
            ("id <= ?", self.last_id),
            ("time >= ?", self.start),
            ("time < ?", self.end),
        ):
            if value is not None:
                where.append(sql)
                params.append(value)
        return where, params


def lot_period(lot: Lot) -> Period:
    return Period(f"lot {lot.name}", after_id=lot.first_id, last_id=lot.last_id)


def last_hour(now: float | None = None) -> Period:
    now = time.time() if now is None else now
    return Period("last hour", start=now - HOUR_S)


@dataclass(frozen=True)
class Shift:
    name: str  # e.g. "shift 06:00–14:00"
    start: float
    end: float

    @property
    def period(self) -> Period:
        return Period(self.name, start=self.start, end=self.end)


def parse_shift_starts(text: str) -> list[dt.time]:
    """'06:00, 14:00, 22:00' -> sorted times of day; raises ValueError naming a bad entry."""
    starts = []
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        try:
            starts.append(dt.time.fromisoformat(entry))
        except ValueError:
            raise ValueError(f"shift start {entry!r} is not a time of day such as 06:00") from None
    if not starts:
        raise ValueError("no shift start times given (e.g. 06:00, 14:00, 22:00)")
    return sorted(set(starts))


def shift_at(moment: float, starts: list[dt.time]) -> Shift:
    """The shift (local time) that `moment` falls in: from the latest start at or before it to
    the next start; before the day's first start, the previous day's last shift."""
    now = dt.datetime.fromtimestamp(moment)
    day = now.date()
    candidates = [
        dt.datetime.combine(day + dt.timedelta(days=offset), start)
        for offset in (-1, 0, 1)
        for start in starts
    ]
    begin = max(c for c in candidates if c <= now)
    end = min(c for c in candidates if c > now)
    name = f"shift {begin:%H:%M}–{end:%H:%M}"
    return Shift(name, begin.timestamp(), end.timestamp())


def _where(period: Period, *extra: str) -> tuple[str, list[Any]]:
    where, params = period.conditions()
    clauses = [*where, COUNTED, *extra]
    return " WHERE " + " AND ".join(clauses), params


def counts(store: ResultStore, period: Period) -> Counters:
    """Results of the period by verdict (errors apart: the yield ignores them)."""
    where, params = _where(period)
    with store.connection() as db:
        return count_verdicts(db, where, params)


@dataclass(frozen=True)
class TimingStats:
    """Processing time per judged part (the stored latency: trigger or frame arrival to the
    result ready to store), and the rate: parts per minute from the period's first part to its
    end (now, for a period still open), so a stopped line shows a falling rate."""

    parts: int
    min_ms: float | None = None
    mean_ms: float | None = None
    p95_ms: float | None = None
    max_ms: float | None = None
    parts_per_minute: float | None = None


def timing_stats(store: ResultStore, period: Period, now: float | None = None) -> TimingStats:
    now = time.time() if now is None else now
    where, params = _where(period, JUDGED)
    with store.connection() as db:
        parts, first, last = db.execute(
            f"SELECT COUNT(*), MIN(time), MAX(time) FROM inspections{where}", params
        ).fetchone()
        timed = where + " AND latency_ms IS NOT NULL"
        n, low, mean, high = db.execute(
            f"SELECT COUNT(*), MIN(latency_ms), AVG(latency_ms), MAX(latency_ms) "
            f"FROM inspections{timed}",
            params,
        ).fetchone()
        p95 = None
        if n:  # nearest rank: the smallest value with at least 95 % of the values at or below
            rank = math.ceil(0.95 * n) - 1
            p95 = db.execute(
                f"SELECT latency_ms FROM inspections{timed} ORDER BY latency_ms LIMIT 1 OFFSET ?",
                [*params, rank],
            ).fetchone()[0]
    if not parts:
        return TimingStats(0)
    end = period.end if period.end is not None and period.end < now else now
    if period.last_id is not None:  # an ended lot ends with its last part
        end = last
    minutes = (end - first) / 60.0
    rate = parts / minutes if minutes > 0 else None
    return TimingStats(parts, low, mean, p95, high, rate)


@dataclass(frozen=True)
class TrendPoint:
    time: float  # the block's last part
    yield_: float  # OK / (OK + NG) of the block
    parts: int


def yield_trend(
    store: ResultStore, period: Period, points: int = 60, min_block: int = 10, limit: int = 6000
) -> list[TrendPoint]:
    """The yield over consecutive blocks of judged parts (oldest first, of the newest `limit`
    parts), about `points` of them, each of at least `min_block` parts so one NG does not swing
    the line; the last block may be smaller."""
    where, params = _where(period, JUDGED)
    newest = f"SELECT id, time, verdict FROM inspections{where} ORDER BY id DESC LIMIT ?"
    with store.connection() as db:
        (parts,) = db.execute(f"SELECT COUNT(*) FROM ({newest})", [*params, limit]).fetchone()
        if not parts:
            return []
        block = max(min_block, math.ceil(parts / points))
        # Blocked in SQL: a long lot costs the window's threads no Python loop over its rows.
        rows = db.execute(
            "SELECT MAX(time), AVG(verdict = 'OK'), COUNT(*) FROM ("
            f"SELECT time, verdict, ROW_NUMBER() OVER (ORDER BY id) - 1 AS n FROM ({newest})"
            ") GROUP BY n / ? ORDER BY n / ?",
            [*params, limit, block, block],
        ).fetchall()
    return [TrendPoint(when, share, n) for when, share, n in rows]


def ng_by_reason(store: ResultStore, period: Period) -> dict[str, int]:
    """NG parts of the period by the model(s) that rejected them, largest first; rows stored
    before the station recorded that count as 'not recorded'."""
    where, params = _where(period, "verdict = 'NG'")
    with store.connection() as db:
        rows = db.execute(
            f"SELECT rejected_by, COUNT(*) FROM inspections{where} GROUP BY rejected_by", params
        ).fetchall()
    reasons: dict[str, int] = {}
    for rejected, n in rows:
        models = tuple(json.loads(rejected)) if rejected else ()
        label = REASON_LABELS.get(models, " + ".join(models) or "not recorded")
        reasons[label] = reasons.get(label, 0) + n
    return dict(sorted(reasons.items(), key=lambda item: -item[1]))


@dataclass(frozen=True)
class HistoryPage:
    records: list[Record]  # newest first
    page: int  # 0 is the newest
    pages: int
    total: int


def history_page(
    store: ResultStore, page: int = 0, per_page: int = 24, verdict: str | None = None
) -> HistoryPage:
    """One page of judged parts (of one verdict, if given), newest first, page 0 the newest."""
    where = [JUDGED] if verdict is None else ["verdict = ?"]
    params: list[Any] = [] if verdict is None else [verdict]
    with store.connection() as db:
        total = db.execute(f"SELECT COUNT(*) FROM inspections WHERE {where[0]}", params).fetchone()[
            0
        ]
    pages = max(1, math.ceil(total / per_page))
    page = min(max(page, 0), pages - 1)
    # store.select reads oldest first: count this page's window back from the newest row.
    newest = total - page * per_page
    first = max(0, newest - per_page)
    rows = store.select(where, params, limit=newest - first, offset=first) if total else []
    return HistoryPage(rows[::-1], page, pages, total)


@dataclass(frozen=True)
class Snapshot:
    """What the statistics view shows, gathered in one call (off the GUI thread)."""

    taken: float
    total: Counters  # the running total: since the last counter reset
    lot: Lot | None
    shift: Shift
    counts: dict[str, Counters]  # by period label: the lot, the shift, the last hour
    timings: dict[str, TimingStats]  # by period label: the lot (if open), the last hour
    trend: list[TrendPoint]
    reasons: dict[str, int]
    trend_label: str = ""
    periods: list[str] = field(default_factory=list)  # labels in display order


def snapshot(store: ResultStore, shift_starts: list[dt.time], now: float | None = None) -> Snapshot:
    """Counts, times and charts for the open lot (else the shift), the shift and the last hour."""
    now = time.time() if now is None else now
    lot = current_lot(store)
    shift = shift_at(now, shift_starts)
    in_shift = shift.period
    periods = [lot_period(lot)] if lot is not None else []
    periods += [in_shift, last_hour(now)]
    timed = [p for p in periods if p is not in_shift]
    focus = periods[0]  # the charts follow the lot, else the shift
    return Snapshot(
        taken=now,
        total=store.counters(),
        lot=lot,
        shift=shift,
        counts={p.label: counts(store, p) for p in periods},
        timings={p.label: timing_stats(store, p, now) for p in timed},
        trend=yield_trend(store, focus),
        reasons=ng_by_reason(store, focus),
        trend_label=focus.label,
        periods=[p.label for p in periods],
    )
