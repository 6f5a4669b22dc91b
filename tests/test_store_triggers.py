"""The store's trigger columns, missed triggers, recipe switches and the schema-1 migration."""

import csv
import json
import sqlite3

import numpy as np
import pytest

from engine.recorder import open_store
from engine.result import InspectionResult, Region, Thresholds, Verdict
from engine.store import (
    SCHEMA_VERSION,
    MissedTrigger,
    RecipeSwitch,
    ResultStore,
)

THRESHOLDS = Thresholds(0.5, 0.5, 4, 0.4)
NEW_COLUMNS = ["part_id", "job_id", "recipe_id", "trigger_time", "latency_ms"]
# every column added after schema version 1
ADDED_COLUMNS = [
    *NEW_COLUMNS,
    *("regions", "file_sig", "retried_in", "meas_id"),
    *("reasons", "global_score", "pixel_threshold", "min_area_px", "near_miss_px", "rejected_by"),
]

# The schema of version 1 (git show HEAD:engine/store.py), before the trigger columns existed.
SCHEMA_1 = """
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
    error TEXT
);
CREATE INDEX IF NOT EXISTS inspections_source_frame ON inspections (source, frame_id);
CREATE TABLE IF NOT EXISTS counter_resets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    last_inspection_id INTEGER NOT NULL
);
"""


def _result(verdict: Verdict = Verdict.OK, score: float = 0.2) -> InspectionResult:
    regions = [Region(np.zeros((4, 2), np.int32), (0, 0, 2, 2), 9, "segmentation")]
    return InspectionResult(
        verdict=verdict,
        reasons=[],
        image_shape=(8, 8),
        thresholds=THRESHOLDS,
        anomaly_score=score,
        regions=regions if verdict is Verdict.NG else [],
        timings_ms={"anomaly": 3.0},
    )


def _common(frame_id: str) -> dict:
    return {
        "run_id": "run1",
        "source": "/parts",
        "frame_id": frame_id,
        "origin": f"/parts/{frame_id}",
        "bundle_name": "tiny",
        "bundle_digest": "d1",
    }


def _schema_1_file(path):
    """A results file as schema version 1 wrote it, with one OK, one NG and one ERROR row."""
    db = sqlite3.connect(path)
    db.executescript(SCHEMA_1)
    db.execute("PRAGMA user_version=1")
    rows = [
        ("old", "/parts", "a.png", "/parts/a.png", 1.0, 100.0, "OK", 0.1, "[]", None),
        ("old", "/parts", "b.png", "/parts/b.png", 2.0, 101.0, "NG", 0.9, "[12]", None),
        ("old", "/parts", "c.png", "/parts/c.png", 3.0, 102.0, "ERROR", None, None, "empty"),
    ]
    db.executemany(
        "INSERT INTO inspections (run_id, source, frame_id, origin, frame_time, time, verdict, "
        "score, region_areas, error, bundle_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'd0')",
        rows,
    )
    db.execute("INSERT INTO counter_resets (time, last_inspection_id) VALUES (99.0, 0)")
    db.commit()
    db.close()
    return path


def _columns(path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [row[1] for row in db.execute("PRAGMA table_info(inspections)")]


@pytest.fixture()
def store(tmp_path):
    opened = open_store(tmp_path / "out")
    yield opened
    opened.close()


def test_trigger_columns_round_trip(store):
    row = store.add_result(
        _result(Verdict.NG, 0.9),
        **_common("a.png"),
        frame_time=10.5,
        part_id="P-1",
        job_id="J-7",
        recipe_id="nut",
        trigger_time=10.25,
        latency_ms=12.5,
    )
    failed = store.add_failure(
        **_common("b.png"), error="no frame", part_id="P-2", recipe_id="nut", trigger_time=11.0
    )
    plain = store.add_result(_result(), **_common("c.png"))
    assert row < failed < plain
    a, b, c = store.records()
    assert (a.part_id, a.job_id, a.recipe_id, a.trigger_time, a.latency_ms) == (
        "P-1",
        "J-7",
        "nut",
        10.25,
        12.5,
    )
    assert (b.verdict, b.part_id, b.job_id, b.recipe_id, b.trigger_time, b.latency_ms) == (
        "ERROR",
        "P-2",
        None,
        "nut",
        11.0,
        None,
    )
    assert [getattr(c, name) for name in NEW_COLUMNS] == [None] * len(NEW_COLUMNS)
    assert c.regions == []  # a result without regions: an empty list, not unknown


def test_an_unknown_trigger_column_is_refused_and_nothing_stored(store):
    with pytest.raises(TypeError, match=r"unknown result column.*part_number"):
        store.add_result(_result(), **_common("a.png"), part_number="P-1")
    with pytest.raises(TypeError, match=r"unknown result column.*verdict"):
        store.add_failure(**_common("a.png"), error="x", verdict="OK")
    assert store.records() == []


def test_missed_triggers_are_stored_in_order_and_filtered_by_run(store):
    first = store.add_missed_trigger(
        origin="software", reason="busy", run_id="r1", recipe_id="nut", part_id="P-1", job_id="J"
    )
    second = store.add_missed_trigger(origin="modbus", reason="not ready")
    third = store.add_missed_trigger(origin="software", reason="busy", run_id="r2")
    assert first < second < third
    every = store.missed_triggers()
    assert [m.id for m in every] == [first, second, third]
    assert all(isinstance(m, MissedTrigger) and m.time > 0 for m in every)
    m = every[0]
    assert (m.run_id, m.recipe_id, m.part_id, m.job_id, m.origin, m.reason) == (
        "r1",
        "nut",
        "P-1",
        "J",
        "software",
        "busy",
    )
    assert (every[1].run_id, every[1].part_id, every[1].origin) == (None, None, "modbus")
    assert [m.id for m in store.missed_triggers(run_id="r2")] == [third]
    assert store.missed_triggers(run_id="nothing") == []
    # missed triggers are not inspections: no row, no count
    assert store.records() == [] and store.counters().total == 0


def test_recipe_switches_are_stored_with_their_error(store):
    store.add_recipe_switch(to_recipe="a", requested_by="startup", bundle_digest="d1")
    store.add_recipe_switch(
        from_recipe="a", to_recipe="b", requested_by="window", error="bundle not found"
    )
    ok, failed = store.recipe_switches()
    assert isinstance(ok, RecipeSwitch) and ok.time > 0
    assert (ok.from_recipe, ok.to_recipe, ok.bundle_digest, ok.requested_by, ok.error) == (
        None,
        "a",
        "d1",
        "startup",
        None,
    )
    assert (failed.from_recipe, failed.to_recipe, failed.bundle_digest, failed.error) == (
        "a",
        "b",
        None,
        "bundle not found",
    )


def test_the_new_tables_survive_reopening(tmp_path):
    with open_store(tmp_path / "out") as store:
        store.add_missed_trigger(origin="software", reason="busy", part_id="P")
        store.add_recipe_switch(to_recipe="a", requested_by="x")
        store.add_result(_result(), **_common("a.png"), part_id="P0", latency_ms=3.0)
    with open_store(tmp_path / "out") as store:
        assert [m.part_id for m in store.missed_triggers()] == ["P"]
        assert [s.to_recipe for s in store.recipe_switches()] == ["a"]
        (record,) = store.records()
        assert (record.part_id, record.latency_ms) == ("P0", 3.0)


def test_exports_carry_the_trigger_columns(store, tmp_path):
    store.add_result(_result(), **_common("a.png"), part_id="P-1", recipe_id="nut", latency_ms=2.0)
    store.add_result(_result(), **_common("b.png"))
    with store.export_csv(tmp_path / "r.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert set(NEW_COLUMNS) <= set(rows[0])
    assert (rows[0]["part_id"], rows[0]["recipe_id"], rows[0]["latency_ms"]) == (
        "P-1",
        "nut",
        "2.0",
    )
    assert rows[1]["part_id"] == "" and rows[1]["trigger_time"] == ""
    exported = json.loads(store.export_json(tmp_path / "r.json").read_text())
    assert exported[0]["part_id"] == "P-1" and exported[1]["part_id"] is None


# --- schema 1 files -------------------------------------------------------------------------


def test_a_schema_1_file_opens_gains_the_columns_and_keeps_its_rows(tmp_path):
    path = _schema_1_file(tmp_path / "results.sqlite")
    assert not set(NEW_COLUMNS) & set(_columns(path))
    with ResultStore(path) as store:
        columns = _columns(path)
        assert columns[-len(ADDED_COLUMNS) :] == ADDED_COLUMNS  # appended, old ones untouched
        records = store.records()
        assert [(r.frame_id, r.verdict, r.frame_time, r.time) for r in records] == [
            ("a.png", "OK", 1.0, 100.0),
            ("b.png", "NG", 2.0, 101.0),
            ("c.png", "ERROR", 3.0, 102.0),
        ]
        assert records[1].region_areas == [12] and records[2].error == "empty"
        for record in records:
            assert [getattr(record, name) for name in ADDED_COLUMNS] == [None] * len(ADDED_COLUMNS)
        counters = store.counters()
        assert (counters.total, counters.ok, counters.ng, counters.errors) == (3, 1, 1, 1)
        assert store.done_frames("/parts", "d0") == {"a.png": None, "b.png": None}
        # the migrated file takes new rows with the new columns, after the old ids
        new_id = store.add_result(_result(), **_common("d.png"), part_id="P-9", latency_ms=4.0)
        assert new_id == 4
        assert store.records()[-1].part_id == "P-9"
        # and the new tables exist
        store.add_missed_trigger(origin="software", reason="busy")
        store.add_recipe_switch(to_recipe="a", requested_by="test")
        assert len(store.missed_triggers()) == len(store.recipe_switches()) == 1
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4


def test_migration_is_idempotent(tmp_path):
    path = _schema_1_file(tmp_path / "results.sqlite")
    ResultStore(path).close()
    columns = _columns(path)
    with ResultStore(path) as store:  # a second open adds nothing and loses nothing
        assert _columns(path) == columns
        assert len(store.records()) == 3


def test_a_half_migrated_file_gets_the_remaining_columns(tmp_path):
    """A file that has some of the new columns (an interrupted upgrade) gains the rest."""
    path = _schema_1_file(tmp_path / "results.sqlite")
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE inspections ADD COLUMN part_id TEXT")
        db.execute("UPDATE inspections SET part_id = 'kept' WHERE frame_id = 'a.png'")
    with ResultStore(path) as store:
        assert _columns(path)[-len(ADDED_COLUMNS) :] == ADDED_COLUMNS
        assert [r.part_id for r in store.records()] == ["kept", None, None]
