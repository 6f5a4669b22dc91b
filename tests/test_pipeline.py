"""Pipelined runs: the next frame is decoded and preprocessed on a reader thread while the current
one is inspected, with order, resume, failures, pause and stop as without it."""

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from engine.bundle import load_bundle
from engine.inspector import Inspector, PreparedInput
from engine.prefetch import Prefetcher
from engine.recipes import Recipe
from engine.recorder import open_store
from engine.station import Station
from tests.parts import make_folder, part, write_parts
from tests.waiting import wait_until


class Counting:
    """An iterator of 0..n-1 that counts what it has handed out."""

    def __init__(self, n: int, fail_at: int | None = None) -> None:
        self.n, self.fail_at, self.produced = n, fail_at, 0

    def __iter__(self):
        for i in range(self.n):
            if i == self.fail_at:
                raise OSError(f"item {i} unreadable")
            self.produced += 1
            yield i


def test_items_come_in_order_with_their_work_done_on_another_thread():
    threads = set()

    def work(i: int) -> int:
        threads.add(threading.current_thread().name)
        return i * i

    with Prefetcher(Counting(20), work, depth=2, name="reader") as ahead:
        got = [(p.item, p.extra) for p in ahead]
    assert got == [(i, i * i) for i in range(20)] and threads == {"reader"}


def test_reading_ahead_is_bounded():
    items = Counting(50)
    with Prefetcher(items, lambda i: i, depth=1) as ahead:
        iterator = iter(ahead)
        for taken in range(1, 4):
            next(iterator)
            time.sleep(0.05)  # give the reader every chance to run ahead
            assert items.produced <= taken + 2  # one queued, one in the making
    assert items.produced < 50


def test_an_iterator_error_comes_where_its_item_would_have():
    got = []
    ahead = Prefetcher(Counting(10, fail_at=3), lambda i: i)
    with ahead, pytest.raises(OSError, match="item 3 unreadable"):
        got.extend(p.item for p in ahead)
    assert got == [0, 1, 2]


def test_failed_work_leaves_the_item_for_the_caller():
    def work(i: int) -> int:
        if i == 1:
            raise ValueError("no")
        return i

    with Prefetcher(Counting(3), work) as ahead:
        assert [(p.item, p.extra) for p in ahead] == [(0, 0), (1, None), (2, 2)]


def test_close_stops_the_reader():
    prefetcher = Prefetcher(Counting(10_000), lambda i: i)
    next(iter(prefetcher))
    prefetcher.close()
    assert not prefetcher._thread.is_alive()


def test_inputs_made_ahead_give_the_same_result(tiny_bundle):
    inspector = Inspector(load_bundle(tiny_bundle), "cpu")
    image = part(True)
    direct = inspector.inspect(image)
    ahead = inspector.inspect(image, prepared=inspector.prepare(image))
    assert ahead.verdict == direct.verdict and ahead.anomaly_score == direct.anomaly_score
    np.testing.assert_array_equal(ahead.probability, direct.probability)
    # inputs made for other specs (the recipe changed meanwhile) are not used
    stale = PreparedInput({}, 0.0)
    assert inspector.inspect(image, prepared=stale).anomaly_score == direct.anomaly_score


def station_for(tmp_path: Path, tiny_bundle: Path, prefetch: int, name: str) -> Station:
    station = Station(open_store(tmp_path / name), provider="cpu", prefetch=prefetch)
    station.prepare(Recipe("a", str(tiny_bundle)), "test")
    return station


def rows(station: Station) -> list[tuple[str, str]]:
    return [(r.frame_id, r.verdict) for r in station.store.records()]


def test_a_pipelined_folder_run_stores_what_a_plain_one_does(tmp_path, tiny_bundle):
    folder = write_parts(tmp_path / "parts", "ONNOONONOO")
    (folder / "part_10.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    readers = []
    plain = station_for(tmp_path, tiny_bundle, 0, "plain")
    piped = station_for(tmp_path, tiny_bundle, 1, "piped")
    piped.subscribe(
        lambda e: readers.append(any(t.name == "frame-prefetch" for t in threading.enumerate()))
    )
    summaries = [s.run(folder) for s in (plain, piped)]
    assert rows(piped) == rows(plain) and len(rows(piped)) == 11
    assert [r[1] for r in rows(piped)][-1] == "ERROR"  # the corrupt file, recorded in its place
    assert [s.inspected for s in summaries] == [11, 11] and any(readers)
    for station in (plain, piped):
        station.store.close()


def test_a_stopped_pipelined_run_resumes_without_loss_or_duplicates(tmp_path, tiny_bundle):
    folder = make_folder(tmp_path / "parts", ok=8, ng=4)
    station = station_for(tmp_path, tiny_bundle, 2, "out")
    stopper = station.subscribe(
        lambda e: station.stop() if len(station.store.records()) >= 3 else None
    )
    first = station.run(folder)
    assert first.how == "stopped" and 3 <= first.inspected < 12
    stopper()
    again = station.run(folder)
    names = sorted(p.name for p in folder.iterdir())
    assert sorted(r[0] for r in rows(station)) == names  # every frame once
    assert again.resumed == first.inspected and again.inspected == 12 - first.inspected
    station.store.close()


def test_pause_and_step_with_frames_read_ahead(tmp_path, tiny_bundle):
    folder = make_folder(tmp_path / "parts", ok=5, ng=0)
    station = station_for(tmp_path, tiny_bundle, 1, "out")
    station.set_paused(True)
    summary = {}
    runner = threading.Thread(target=lambda: summary.update(s=station.run(folder)))
    runner.start()
    time.sleep(0.2)  # the reader fills its queue meanwhile; nothing is inspected
    assert rows(station) == []
    station.step()
    wait_until(lambda: len(rows(station)) == 1, what="one stepped part")
    time.sleep(0.2)
    assert len(rows(station)) == 1
    station.set_paused(False)
    runner.join(10)
    assert [r[0] for r in rows(station)] == [f"ok_{i}.png" for i in range(5)]
    assert summary["s"].how == "done"
    station.store.close()
