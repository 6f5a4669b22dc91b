"""Production lots: named spans of results, started and ended by a person, kept in the store.

A lot holds the results stored while it was open. It is kept as a range of row ids (after
`first_id`, up to `last_id`), which is exact with one writer per store (the station holds its
lock), survives a restart and needs no column on every result. One lot is open at a time:
starting one ends the one before.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields

from engine.store import ResultStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    started REAL NOT NULL,
    ended REAL,
    first_id INTEGER NOT NULL,
    last_id INTEGER
);
"""
_MAX_ID = "(SELECT COALESCE(MAX(id), 0) FROM inspections)"


class LotError(ValueError):
    """A lot request that cannot be done; the message says why."""


@dataclass(frozen=True)
class Lot:
    """Results with `first_id` < id <= `last_id` (no upper end while the lot is open)."""

    id: int
    name: str
    started: float
    ended: float | None
    first_id: int  # the newest row id when the lot started: its results come after it
    last_id: int | None  # the newest row id when it ended; None while open

    @property
    def open(self) -> bool:
        return self.ended is None


_NAMES = ", ".join(f.name for f in fields(Lot))


def ensure_table(store: ResultStore) -> None:
    store.create_tables(_SCHEMA)


def current_lot(store: ResultStore) -> Lot | None:
    """The open lot, or None."""
    ensure_table(store)
    with store.connection() as db:
        row = db.execute(
            f"SELECT {_NAMES} FROM lots WHERE ended IS NULL ORDER BY id DESC LIMIT 1"
        ).fetchone()
    return None if row is None else Lot(*row)


def start_lot(store: ResultStore, name: str) -> Lot:
    """Open a lot named `name` (ending the open one first); its results are those stored from
    now on. Raises LotError for an empty name."""
    name = name.strip()
    if not name:
        raise LotError("a lot needs a name (an order or batch number)")
    end_lot(store)
    with store.connection() as db:
        cursor = db.execute(
            f"INSERT INTO lots (name, started, first_id) VALUES (?, ?, {_MAX_ID})",
            (name, time.time()),
        )
        row = db.execute(f"SELECT {_NAMES} FROM lots WHERE id = ?", (cursor.lastrowid,)).fetchone()
    return Lot(*row)


def end_lot(store: ResultStore) -> Lot | None:
    """End the open lot at the newest stored result; returns it ended (None if none was open)."""
    lot = current_lot(store)
    if lot is None:
        return None
    with store.connection() as db:
        db.execute(
            f"UPDATE lots SET ended = ?, last_id = {_MAX_ID} WHERE id = ?", (time.time(), lot.id)
        )
        row = db.execute(f"SELECT {_NAMES} FROM lots WHERE id = ?", (lot.id,)).fetchone()
    return Lot(*row)


def lots(store: ResultStore, limit: int = 50) -> list[Lot]:
    """The newest lots first."""
    ensure_table(store)
    with store.connection() as db:
        rows = db.execute(f"SELECT {_NAMES} FROM lots ORDER BY id DESC LIMIT ?", (limit,))
        return [Lot(*row) for row in rows.fetchall()]
