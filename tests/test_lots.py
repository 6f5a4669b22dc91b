"""Lots and shifts: which stored results belong to which, and their counters (real SQLite)."""

import datetime as dt

import pytest

from engine import lots, statistics
from engine.recorder import open_store
from engine.result import InspectionResult, Thresholds, Verdict

THRESHOLDS = Thresholds(0.8, 0.5, 4, 0.8)


def add(store, verdict: str, frame_id: str = "p.png") -> int:
    result = InspectionResult(Verdict(verdict), [], (8, 8), THRESHOLDS, anomaly_score=0.5)
    return store.add_result(result, run_id="r", source="/parts", frame_id=frame_id, origin="x")


def set_time(store, row_id: int, moment: float) -> None:
    with store.connection() as db:
        db.execute("UPDATE inspections SET time = ? WHERE id = ?", (moment, row_id))


@pytest.fixture()
def store(tmp_path):
    with open_store(tmp_path / "out") as store:
        yield store


def test_a_lot_counts_only_the_results_stored_while_it_was_open(store, tmp_path):
    add(store, "OK")  # before any lot
    lot = lots.start_lot(store, "  L-42 ")
    assert lot.name == "L-42" and lot.open and lots.current_lot(store) == lot
    for verdict in ["OK", "NG", "OK", "NG", "NG"]:
        add(store, verdict)
    ended = lots.end_lot(store)
    add(store, "NG")  # after the lot
    assert not ended.open and lots.current_lot(store) is None
    counted = statistics.counts(store, statistics.lot_period(ended))
    assert (counted.ok, counted.ng, counted.total) == (2, 3, 5)
    assert counted.yield_ == pytest.approx(0.4)
    assert store.counters().total == 7  # the running total goes on beside the lot
    # the lot survives a restart of the station
    store.close()
    with open_store(tmp_path / "out") as again:
        (kept,) = lots.lots(again)
        assert kept == ended
        assert statistics.counts(again, statistics.lot_period(kept)).ng == 3


def test_starting_a_lot_ends_the_open_one_and_names_are_required(store):
    first = lots.start_lot(store, "A")
    add(store, "OK")
    second = lots.start_lot(store, "B")
    add(store, "NG")
    older, newer = lots.lots(store)[::-1]
    assert older.id == first.id and not older.open and older.last_id == 1
    assert newer.id == second.id and newer.open
    assert statistics.counts(store, statistics.lot_period(older)).ok == 1
    assert statistics.counts(store, statistics.lot_period(newer)).ng == 1
    with pytest.raises(lots.LotError, match="needs a name"):
        lots.start_lot(store, "   ")
    assert lots.end_lot(store).id == second.id and lots.end_lot(store) is None


def test_shifts_follow_the_configured_start_times():
    starts = statistics.parse_shift_starts("22:00, 06:00,14:00")
    assert starts == [dt.time(6), dt.time(14), dt.time(22)]
    day = dt.datetime(2026, 12, 1)
    at = lambda h, m=0: (day + dt.timedelta(hours=h, minutes=m)).timestamp()  # noqa: E731
    morning = statistics.shift_at(at(9, 30), starts)
    assert morning.name == "shift 06:00–14:00"
    assert (morning.start, morning.end) == (at(6), at(14))
    night = statistics.shift_at(at(3), starts)  # before the day's first start: last night's
    assert (night.start, night.end) == (at(-2), at(6)) and night.name == "shift 22:00–06:00"
    assert statistics.shift_at(at(14), starts).start == at(14)  # a start belongs to its shift
    with pytest.raises(ValueError, match=r"6 o.clock. is not a time"):
        statistics.parse_shift_starts("06:00, 6 o'clock")
    with pytest.raises(ValueError, match="no shift start"):
        statistics.parse_shift_starts(" , ")


def test_shift_counters_count_the_results_of_that_shift(store):
    starts = statistics.parse_shift_starts("06:00, 18:00")
    day = dt.datetime(2026, 12, 1)
    for hour, verdict in [(5, "NG"), (7, "OK"), (12, "NG"), (17, "OK"), (19, "NG")]:
        set_time(store, add(store, verdict), (day + dt.timedelta(hours=hour)).timestamp())
    shift = statistics.shift_at((day + dt.timedelta(hours=10)).timestamp(), starts)
    counted = statistics.counts(store, shift.period)
    assert (counted.ok, counted.ng) == (2, 1)
