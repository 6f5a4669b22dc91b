"""Statistics from the store: times, rate, yield trend, NG by reason, history pages."""

import time

import pytest

from engine import lots, statistics
from engine.recorder import open_store
from engine.result import InspectionResult, Thresholds, Verdict

THRESHOLDS = Thresholds(0.8, 0.5, 4, 0.8)


def add(store, verdict: str, latency_ms: float = 10.0, rejected_by=(), when=None) -> int:
    result = InspectionResult(
        Verdict(verdict), [], (8, 8), THRESHOLDS, anomaly_score=0.5, rejected_by=rejected_by
    )
    row = store.add_result(
        result, run_id="r", source="/p", frame_id="f", origin="x", latency_ms=latency_ms
    )
    if when is not None:
        with store.connection() as db:
            db.execute("UPDATE inspections SET time = ? WHERE id = ?", (when, row))
    return row


@pytest.fixture()
def store(tmp_path):
    with open_store(tmp_path / "out") as store:
        yield store


def test_processing_times_and_parts_per_minute_over_the_last_hour(store):
    now = time.time()
    add(store, "OK", 999.0, when=now - 2 * 3600)  # outside the hour
    for i, latency in enumerate(range(1, 101)):  # 100 parts over the last 10 minutes
        add(store, "OK" if i % 4 else "NG", float(latency), when=now - 600 + 6 * i)
    store.add_failure(run_id="r", source="/p", frame_id="bad", origin="x", error="unreadable")
    stats = statistics.timing_stats(store, statistics.last_hour(now), now)
    assert stats.parts == 100
    assert (stats.min_ms, stats.max_ms) == (1.0, 100.0)
    assert stats.mean_ms == pytest.approx(50.5)
    assert stats.p95_ms == 95.0
    assert stats.parts_per_minute == pytest.approx(10.0)  # 100 parts in the 10 minutes
    assert statistics.timing_stats(store, statistics.Period("empty", after_id=10**6)).parts == 0


def test_timings_of_an_ended_lot_end_with_its_last_part(store):
    lot = lots.start_lot(store, "L1")
    start = time.time() - 1000
    for i in range(11):
        add(store, "OK", when=start + 30 * i)  # 11 parts over 5 minutes
    ended = lots.end_lot(store)
    stats = statistics.timing_stats(store, statistics.lot_period(ended), time.time() + 3600)
    assert ended.id == lot.id and stats.parts == 11
    assert stats.parts_per_minute == pytest.approx(11 / 5)


def test_yield_trend_in_blocks_and_ng_by_reason(store):
    for block in ("OOOOOOOOOO", "OOOOONNNNN", "NNNNNNNNNN", "OO"):
        for letter in block:
            add(store, "OK" if letter == "O" else "NG", rejected_by=("anomaly",))
    trend = statistics.yield_trend(store, statistics.Period("all"), points=60, min_block=10)
    assert [(p.yield_, p.parts) for p in trend] == [(1.0, 10), (0.5, 10), (0.0, 10), (1.0, 2)]
    add(store, "NG", rejected_by=("segmentation",))
    add(store, "NG", rejected_by=("segmentation", "anomaly"))
    with store.connection() as db:  # a row stored before the models' verdicts were
        db.execute("UPDATE inspections SET rejected_by = NULL WHERE id = 16")
    assert statistics.ng_by_reason(store, statistics.Period("all")) == {
        "anomaly score": 14,
        "U-Net": 1,
        "U-Net + anomaly": 1,
        "not recorded": 1,
    }
    assert store.get(34).rejected_by == ["segmentation", "anomaly"]  # stored as JSON


def test_history_pages_reach_past_the_newest_24(store):
    ids = [add(store, "NG" if i % 3 == 0 else "OK") for i in range(50)]
    store.add_failure(run_id="r", source="/p", frame_id="bad", origin="x", error="unreadable")
    first = statistics.history_page(store, 0, per_page=24)
    assert (first.total, first.pages) == (50, 3)
    assert [r.id for r in first.records] == ids[::-1][:24]  # newest first
    last = statistics.history_page(store, 2, per_page=24)
    assert [r.id for r in last.records] == ids[1::-1]
    assert statistics.history_page(store, 9, per_page=24).page == 2  # clamped
    ng = statistics.history_page(store, 0, per_page=24, verdict="NG")
    assert ng.total == 17 and all(r.verdict == "NG" for r in ng.records)


def test_snapshot_follows_the_open_lot(store):
    starts = statistics.parse_shift_starts("00:00")
    add(store, "OK")
    lots.start_lot(store, "L7")
    add(store, "NG", rejected_by=("segmentation",))
    shot = statistics.snapshot(store, starts)
    assert shot.periods == ["lot L7", shot.shift.name, "last hour"]
    assert shot.counts["lot L7"].ng == 1 and shot.counts["last hour"].total == 2
    assert set(shot.timings) == {"lot L7", "last hour"}
    assert shot.trend_label == "lot L7" and shot.reasons == {"U-Net": 1}
