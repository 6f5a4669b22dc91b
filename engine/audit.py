"""The audit trail: every change of thresholds, recipe, source, provider, users or counters,
with who made it, when, and the old and new value, kept in the results store beside the
results it explains (a table of the same SQLite file, written through the store's lock)."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Mapping
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from engine.store import ResultStore

KINDS = ("thresholds", "recipe", "source", "provider", "user", "counters", "settings")

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS audit_trail (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    user TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ({", ".join(repr(k) for k in KINDS)})),
    subject TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT
);
"""


@dataclass(frozen=True)
class AuditEntry:
    id: int
    time: float
    user: str  # the user name, or who acted without logging in ("operator (not logged in)")
    kind: str  # one of KINDS
    subject: str  # what changed: "image_threshold", a recipe id, a user name...
    old_value: str | None
    new_value: str | None


_COLUMNS = [f.name for f in fields(AuditEntry)]


def as_text(value: object) -> str | None:
    """A value as the trail keeps it: text as is, anything else as JSON (None stays None)."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


class AuditTrail:
    """The audit table of one results store."""

    def __init__(self, store: ResultStore) -> None:
        self.store = store
        store.create_tables(_SCHEMA)

    def record(
        self, user: str, kind: str, subject: str, old: object = None, new: object = None
    ) -> int:
        """Store one change; returns its row id. Raises ValueError for a kind not in KINDS."""
        if kind not in KINDS:
            raise ValueError(f"audit kind {kind!r} is not one of {', '.join(KINDS)}")
        with self.store.connection() as db:
            cursor = db.execute(
                "INSERT INTO audit_trail (time, user, kind, subject, old_value, new_value) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (time.time(), user, kind, subject, as_text(old), as_text(new)),
            )
            return int(cursor.lastrowid)

    def record_changes(
        self, user: str, kind: str, old: Mapping[str, object], new: Mapping[str, object]
    ) -> list[int]:
        """One row per key whose value differs between `old` and `new` (subject: the key)."""
        return [
            self.record(user, kind, key, old.get(key), new.get(key))
            for key in sorted(set(old) | set(new))
            if old.get(key) != new.get(key)
        ]

    def entries(self, *, kind: str | None = None, limit: int | None = None) -> list[AuditEntry]:
        """Rows newest first, optionally of one kind."""
        sql = f"SELECT {', '.join(_COLUMNS)} FROM audit_trail"
        params: list[object] = []
        if kind is not None:
            sql += " WHERE kind = ?"
            params.append(kind)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(-1 if limit is None else limit)
        with self.store.connection() as db:
            rows = db.execute(sql, params).fetchall()
        return [AuditEntry(*row) for row in rows]

    def export_csv(self, path: Path | str) -> Path:
        """Every row, oldest first, with the time also as ISO 8601 (UTC); returns the path."""
        path = Path(path)
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["iso_time", *_COLUMNS])
            for entry in reversed(self.entries()):
                stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(entry.time))
                writer.writerow([stamp, *("" if v is None else v for v in astuple(entry))])
        return path
