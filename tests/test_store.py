"""The SQLite results store: WAL mode, rows, counters, resume ids, exports, threads."""

import csv
import json
import sqlite3
import threading

import numpy as np
import pytest

from engine.result import InspectionResult, Region, Thresholds, Verdict
from engine.store import ResultStore, StoreError

THRESHOLDS = Thresholds(
    image_threshold=0.5, pixel_threshold=0.5, min_defect_area_px=4, map_threshold=0.4
)


def _result(verdict: Verdict, score: float, areas: tuple[int, ...] = ()) -> InspectionResult:
    regions = [
        Region(np.zeros((4, 2), np.int32), (0, 0, 2, 2), area, "segmentation") for area in areas
    ]
    return InspectionResult(
        verdict=verdict,
        reasons=[],
        image_shape=(8, 8),
        thresholds=THRESHOLDS,
        anomaly_score=score,
        regions=regions,
        timings_ms={"preprocess": 1.5, "anomaly": 10.0},
    )


def _add(store: ResultStore, frame_id: str, verdict: Verdict, score: float, **extra) -> int:
    return store.add_result(
        _result(verdict, score, extra.pop("areas", ())),
        run_id="run1",
        source="/data/parts",
        frame_id=frame_id,
        origin=f"/data/parts/{frame_id}",
        bundle_name="tiny",
        bundle_digest="abc123",
        **extra,
    )


@pytest.fixture()
def store(tmp_path):
    with ResultStore(tmp_path / "results.sqlite") as opened:
        yield opened


def test_wal_mode_is_on_and_visible_to_other_connections(store, tmp_path):
    assert store.journal_mode == "wal"
    _add(store, "a.png", Verdict.OK, 0.1)
    other = sqlite3.connect(tmp_path / "results.sqlite")
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert other.execute("SELECT frame_id, verdict FROM inspections").fetchall() == [
        ("a.png", "OK")
    ]


def test_rows_hold_every_field(store):
    _add(
        store,
        "a.png",
        Verdict.NG,
        0.9,
        areas=(30, 12),
        overlay_path="ov/a.png",
        image_path="ng/a.png",
        frame_time=12.5,
    )
    store.add_failure(
        run_id="run1",
        source="/data/parts",
        frame_id="b.png",
        origin="/data/parts/b.png",
        error="file is empty",
    )
    newest, oldest = store.recent(10)
    assert (oldest.frame_id, oldest.verdict, oldest.score, oldest.threshold) == (
        "a.png",
        "NG",
        0.9,
        0.5,
    )
    assert oldest.region_count == 2 and oldest.region_areas == [30, 12]
    assert oldest.timings_ms == {"preprocess": 1.5, "anomaly": 10.0}
    assert (oldest.bundle_name, oldest.bundle_digest) == ("tiny", "abc123")
    assert (oldest.image_path, oldest.overlay_path, oldest.frame_time) == (
        "ng/a.png",
        "ov/a.png",
        12.5,
    )
    assert oldest.error is None and oldest.run_id == "run1"
    assert (newest.verdict, newest.error, newest.score) == ("ERROR", "file is empty", None)
    assert newest.time >= oldest.time
    assert [r.frame_id for r in store.recent(5, verdict="NG")] == ["a.png"]
    assert store.recent(5, source="elsewhere") == []


def test_counters_yield_and_reset_keeps_history(store):
    for i, verdict in enumerate([Verdict.OK, Verdict.OK, Verdict.OK, Verdict.NG]):
        _add(store, f"{i}.png", verdict, 0.1)
    store.add_failure(run_id="r", source="/data/parts", frame_id="x.png", origin="x", error="bad")
    counters = store.counters()
    assert (counters.total, counters.ok, counters.ng, counters.errors) == (5, 3, 1, 1)
    assert counters.yield_ == pytest.approx(0.75)
    store.reset_counters()
    assert store.counters().total == 0 and store.counters().yield_ is None
    _add(store, "5.png", Verdict.NG, 0.8)
    assert (store.counters().total, store.counters().ng) == (1, 1)
    assert store.counters(since_reset=False).total == 6
    assert len(store.recent(None)) == 6


def test_done_frames_per_source_leave_failures_to_retry(store):
    _add(store, "a.png", Verdict.OK, 0.1)
    store.add_failure(run_id="r", source="/data/parts", frame_id="b.png", origin="b", error="bad")
    store.add_failure(run_id="r", source="/other", frame_id="c.png", origin="c", error="bad")
    assert store.done_frames("/data/parts") == {"a.png": None}
    assert store.failed_frames("/data/parts") == {"b.png"}
    assert store.done_frames("/nowhere") == {}
    assert store.bundle_digests("/data/parts") == {"abc123"}
    assert store.done_frames("/data/parts", bundle_digest="abc123") == {"a.png": None}
    assert store.done_frames("/data/parts", bundle_digest="another") == {}


def test_rows_survive_reopening(tmp_path):
    path = tmp_path / "results.sqlite"
    with ResultStore(path) as first:
        _add(first, "a.png", Verdict.NG, 0.7)
    with ResultStore(path) as second:
        assert [r.frame_id for r in second.records()] == ["a.png"]


def test_export_csv_and_json_contents(store, tmp_path):
    _add(store, "a,b.png", Verdict.NG, 0.9, areas=(5,))
    store.add_failure(
        run_id="run1",
        source="/data/parts",
        frame_id="c.png",
        origin="c",
        error='quote " and, comma',
    )
    with store.export_csv(tmp_path / "r.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["frame_id"] for r in rows] == ["a,b.png", "c.png"]
    assert rows[0]["verdict"] == "NG" and float(rows[0]["score"]) == 0.9
    assert json.loads(rows[0]["region_areas"]) == [5]
    assert json.loads(rows[0]["timings_ms"])["anomaly"] == 10.0
    assert rows[1]["error"] == 'quote " and, comma' and rows[1]["score"] == ""
    data = json.loads(store.export_json(tmp_path / "r.json").read_text())
    assert [d["verdict"] for d in data] == ["NG", "ERROR"]
    assert data[0]["region_areas"] == [5] and data[1]["score"] is None
    assert data[0]["bundle_digest"] == "abc123"


def test_writes_from_worker_threads_while_reading(store):
    def write(worker: int) -> None:
        for i in range(25):
            _add(store, f"{worker}-{i}.png", Verdict.OK, 0.1)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        store.counters()
    for thread in threads:
        thread.join()
    assert store.counters().total == 100
    assert len(store.done_frames("/data/parts")) == 100


def test_unwritable_location_raises_store_error_naming_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    with pytest.raises(StoreError, match=r"file/results\.sqlite"):
        ResultStore(blocker / "results.sqlite")
