"""The station core: the per-part cycle in every trigger mode, missed triggers, recipes, the
OPC 40100 states, live sources that drop out and come back, and events.

Everything is real: the tiny bundle on onnxruntime's CPU provider, SQLite, OpenCV video files,
and an HTTP MJPEG camera served from a thread (OpenCV's FFMPEG backend reads it as it reads an
IP camera). The tiny bundle calls an image NG when it has bright pixels.
"""

import ast
import http.server
import itertools
import logging
import re
import threading
import time
from pathlib import Path

import cv2
import pytest

from engine.events import (
    FrameFailed,
    FramesDropped,
    RecipeChanged,
    RecipeFailed,
    ResultReady,
    RunEnded,
    RunStarted,
    SourceBack,
    SourceLost,
    StateChanged,
    TriggerMissed,
)
from engine.recipes import Recipe, RecipeError
from engine.recorder import open_store
from engine.sources import CameraSource, SourceError, VideoFileSource, source_key
from engine.station import Station, TriggerMode
from engine.vision_states import TRANSITIONS, TransitionError, VisionState
from tests.parts import make_folder, part, write_video
from tests.waiting import wait_until
from training.tiny_bundle import make_tiny_bundle

S = VisionState
REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 5.0
SINGLE_JOB = [
    (S.READY, S.SINGLE_EXECUTION, "ReadyToSingleExecution"),
    (S.SINGLE_EXECUTION, S.READY, "SingleExecutionToReadyAuto"),
]


# --- helpers --------------------------------------------------------------------------------


class Events:
    """Every event a station publishes, in order; tests wait on it."""

    def __init__(self, station: Station) -> None:
        self.items: list = []
        self._cond = threading.Condition()
        station.subscribe(self)

    def __call__(self, event) -> None:
        with self._cond:
            self.items.append(event)
            self._cond.notify_all()

    def of(self, *kinds) -> list:
        with self._cond:
            return [e for e in self.items if isinstance(e, kinds)]

    def parts(self) -> list:
        return [e.part for e in self.of(ResultReady, FrameFailed)]

    def states(self) -> list[tuple[VisionState, VisionState, str]]:
        return [(e.old, e.new, e.transition) for e in self.of(StateChanged)]

    def wait(self, *kinds, count: int = 1, timeout: float = TIMEOUT) -> list:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(found := [e for e in self.items if isinstance(e, kinds)]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    names = "/".join(k.__name__ for k in kinds)
                    raise AssertionError(
                        f"timed out waiting for {count} {names} event(s), got {len(found)}: "
                        f"{[type(e).__name__ for e in self.items]}"
                    )
                self._cond.wait(left)
        return found

    def wait_parts(self, count: int, timeout: float = TIMEOUT) -> list:
        return [e.part for e in self.wait(ResultReady, FrameFailed, count=count, timeout=timeout)]


class RunThread:
    """`station.run(...)` on its own thread; `join()` returns the summary or re-raises."""

    def __init__(self, station: Station, *args, **kwargs) -> None:
        self.station = station
        self.summary = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, args=args, kwargs=kwargs, daemon=True)
        self._thread.start()

    def _work(self, *args, **kwargs) -> None:
        try:
            self.summary = self.station.run(*args, **kwargs)
        except BaseException as exc:  # handed to the test by join()
            self.error = exc

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float = TIMEOUT):
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"run did not end within {timeout} s"
        if self.error is not None:
            raise self.error
        return self.summary


class Runs:
    """Starts runs and makes sure none outlives its test."""

    def __init__(self) -> None:
        self.started: list[RunThread] = []

    def start(self, station: Station, *args, wait: bool = True, **kwargs) -> RunThread:
        run = RunThread(station, *args, **kwargs)
        self.started.append(run)
        if wait:
            wait_until(lambda: station.running or not run.alive, what="the run to start")
            if run.error is not None:
                raise run.error
        return run


@pytest.fixture()
def runs():
    tracker = Runs()
    yield tracker
    for run in tracker.started:
        if run.alive:
            run.station.abort()
            run._thread.join(TIMEOUT)


@pytest.fixture()
def store(tmp_path):
    opened = open_store(tmp_path / "out")
    yield opened
    opened.close()


@pytest.fixture()
def recipe(tiny_bundle) -> Recipe:
    return Recipe("a", str(tiny_bundle), name="Part A")


@pytest.fixture()
def station(store, recipe) -> Station:
    station = Station(store, provider="cpu", trigger_timeout_s=2.0)
    station.prepare(recipe, "test")
    return station


@pytest.fixture()
def events(station) -> Events:
    return Events(station)


def trigger_and_wait(station: Station, events: Events, done: int, **kwargs) -> None:
    """Send one trigger that must be taken and wait for its part and the return to Ready."""
    assert station.trigger(**kwargs), (
        f"trigger {kwargs} was missed: {station.store.missed_triggers()}"
    )
    events.wait_parts(done)
    wait_until(
        lambda: events.states().count(SINGLE_JOB[1]) >= done, what="SingleExecutionToReadyAuto"
    )
    # Ready is published a moment before the station takes triggers again (see
    # test_a_trigger_sent_when_ready_is_published_is_taken): give it that moment.
    time.sleep(0.01)


class MjpegCamera:
    """An IP camera stand-in: HTTP multipart MJPEG at `fps`, as many network cameras serve.
    `unplug()` ends the stream being sent and refuses connections (HTTP 503) until `plug()`."""

    def __init__(self, fps: float = 50.0) -> None:
        self.fps = fps
        self.connections = 0
        self._streams = threading.Condition()
        self._streaming = 0
        self._plugged = threading.Event()
        self._plugged.set()
        self._closed = threading.Event()
        ok, jpeg = cv2.imencode(".jpg", part(False))
        assert ok
        data = jpeg.tobytes()
        camera = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                if not camera._plugged.is_set() or camera._closed.is_set():
                    self.send_error(503, "camera unplugged")
                    return
                with camera._streams:
                    camera.connections += 1
                    camera._streaming += 1
                try:
                    self._stream()
                finally:
                    with camera._streams:
                        camera._streaming -= 1
                        camera._streams.notify_all()

            def _stream(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                head = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
                try:
                    while camera._plugged.is_set() and not camera._closed.is_set():
                        self.wfile.write(head % len(data) + data + b"\r\n")
                        self.wfile.flush()
                        camera._closed.wait(1 / camera.fps)
                except OSError:  # the station closed the connection
                    pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/stream.mjpg"

    def unplug(self) -> None:
        """Stop sending; returns once the last frame has been written, then lets the reader
        drain what is still in flight, so no frame arrives after this returns."""
        self._plugged.clear()
        with self._streams:
            assert self._streams.wait_for(lambda: self._streaming == 0, TIMEOUT)
        time.sleep(0.15)

    def plug(self) -> None:
        self._plugged.set()

    def close(self) -> None:
        self._closed.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(TIMEOUT)


@pytest.fixture()
def camera():
    served = MjpegCamera()
    yield served
    served.close()


# --- the transition names the station uses --------------------------------------------------


def test_every_transition_the_station_fires_is_in_the_table():
    """Every transition name written in engine/station.py is one of the table's (a name
    missing there, e.g. ReadyToContinuousExecutionAuto when a camera comes back, is a
    KeyError in the middle of a run)."""
    tree = ast.parse((REPO / "engine" / "station.py").read_text(encoding="utf-8"))
    states = "|".join(s.value for s in S) + "|Operational"
    pattern = re.compile(rf"^({states})To[A-Z]\w*$")
    used = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if pattern.match(node.value)
    }
    assert "ReadyToSingleExecution" in used  # the scan finds the names
    assert sorted(used - set(TRANSITIONS)) == []


# --- start-up and recipes -------------------------------------------------------------------


def test_a_new_station_is_initialized_and_ready_once_a_recipe_is_prepared(store, recipe):
    station = Station(store, provider="cpu")
    events = Events(station)
    assert station.state is S.INITIALIZED and station.recipe is None
    with pytest.raises(TransitionError) as refused:
        station.run(REPO)
    assert "Operational/Initialized" in str(refused.value)
    assert "no recipe prepared" in str(refused.value)
    active = station.prepare(recipe, "startup")
    assert station.state is S.READY and station.active is active and station.recipe is recipe
    assert events.states() == [(S.INITIALIZED, S.READY, "InitializedToReadyRecipe")]
    assert events.of(RecipeChanged) == [RecipeChanged(None, "a", "startup")]
    (switch,) = store.recipe_switches()
    assert (switch.from_recipe, switch.to_recipe, switch.requested_by, switch.error) == (
        None,
        "a",
        "startup",
        None,
    )
    assert switch.bundle_digest == active.inspector.bundle.digest
    assert "Halt" in station.allowed_methods() and "StartContinuous" in station.allowed_methods()


# --- continuous mode on a folder ------------------------------------------------------------


def test_continuous_folder_stores_every_image_once_and_resumes(tmp_path, station, events, runs):
    folder = make_folder(tmp_path / "parts", ok=4, ng=3)
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    summary = runs.start(station, folder).join()
    assert (summary.how, summary.mode, summary.inspected, summary.resumed) == (
        "done",
        "continuous",
        8,
        0,
    )
    assert summary.source == source_key(folder) and summary.source_error is None
    records = station.store.records()
    names = sorted(p.name for p in folder.iterdir())
    assert sorted(r.frame_id for r in records) == names and len(records) == 8
    ids = [r.id for r in records]
    assert ids == sorted(ids) and len(set(ids)) == 8
    parts = events.parts()
    assert [p.result_id for p in parts] == ids  # events in store order, strictly increasing
    assert all(a < b for a, b in itertools.pairwise(ids))
    assert [p.done for p in parts] == list(range(1, 9)) and {p.expected for p in parts} == {8}
    digest = station.active.inspector.bundle.digest
    assert {(r.recipe_id, r.bundle_digest, r.run_id) for r in records} == {
        ("a", digest, summary.run_id)
    }
    verdicts = {r.frame_id: r.verdict for r in records}
    assert verdicts == {
        **{f"ok_{i}.png": "OK" for i in range(4)},
        **{f"ng_{i}.png": "NG" for i in range(3)},
        "corrupt.png": "ERROR",
    }
    assert [p.frame.id for p in events.parts() if p.result is None] == ["corrupt.png"]
    assert len(events.of(FrameFailed)) == 1 and len(events.of(ResultReady)) == 7
    for record in records:  # free-running: no trigger, no part id; latency from the decode
        assert (record.part_id, record.job_id, record.trigger_time) == (None, None, None)
        assert 0 < record.latency_ms < 5000
    counters = station.counters
    assert counters == station.store.counters() == parts[-1].counters
    assert (counters.total, counters.ok, counters.ng, counters.errors) == (8, 4, 3, 1)
    assert events.states() == [
        (S.READY, S.CONTINUOUS_EXECUTION, "ReadyToContinuousExecution"),
        (S.CONTINUOUS_EXECUTION, S.READY, "ContinuousExecutionToReadyAuto"),
    ]
    assert events.of(RunStarted) == [RunStarted(summary.run_id, summary.source, "continuous")]
    assert events.of(RunEnded) == [RunEnded(summary.run_id, "done", 8, None)]
    assert len(summary.latencies_ms) == 8 and station.state is S.READY

    # A rerun passes over what was inspected and tries the failure again: its new row makes
    # the old one history, so it is not counted twice.
    again = runs.start(station, folder).join()
    assert (again.inspected, again.resumed, again.how) == (1, 7, "done")
    records = station.store.records()
    assert len(records) == 9 and [r.frame_id for r in records if r.retried_in] == ["corrupt.png"]
    assert station.counters == station.store.counters() == counters


def test_pause_and_step_a_folder_run(tmp_path, station, events, runs):
    folder = make_folder(tmp_path / "parts", ok=5, ng=0)
    station.set_paused(True)  # start paused
    run = runs.start(station, folder)
    time.sleep(0.15)
    assert events.parts() == [] and station.paused
    station.step()
    events.wait_parts(1)
    station.step()
    events.wait_parts(2)
    time.sleep(0.15)
    assert len(events.parts()) == 2  # a step is one part, then paused again
    station.set_paused(False)
    summary = run.join()
    assert summary.inspected == 5 and summary.how == "done"
    assert [p.frame.id for p in events.parts()] == [f"ok_{i}.png" for i in range(5)]
    assert not station.paused  # the next run does not start paused


def test_a_source_that_cannot_be_opened_is_raised_and_stored(tmp_path, station, events):
    missing = tmp_path / "nowhere"
    with pytest.raises(SourceError, match="not found"):
        station.run(missing)
    (fault,) = station.store.records()
    assert (fault.frame_id, fault.verdict, fault.recipe_id) == ("-", "ERROR", "a")
    assert "not found" in fault.error and str(missing) in fault.source
    assert station.counters == station.store.counters() and station.counters.errors == 1
    assert station.state is S.READY and not station.running and events.states() == []


# --- software triggers ----------------------------------------------------------------------


def test_software_triggers_on_a_folder_carry_part_ids(tmp_path, station, events, runs):
    folder = make_folder(tmp_path / "parts", ok=5, ng=0)
    run = runs.start(station, folder, TriggerMode.SOFTWARE)
    assert station.state is S.READY  # waiting for triggers is Ready, not an execution state
    sent = []
    for i in range(4):
        before = time.time()
        trigger_and_wait(station, events, i + 1, part_id=f"P{i}", job_id=f"J{i}")
        sent.append((before, time.time()))
    assert station.state is S.READY
    station.stop()
    summary = run.join()
    assert (summary.how, summary.mode, summary.inspected, summary.missed) == (
        "stopped",
        "software",
        4,
        0,
    )
    records = station.store.records()
    assert [r.frame_id for r in records] == ["ok_0.png", "ok_1.png", "ok_2.png", "ok_3.png"]
    assert [(r.part_id, r.job_id, r.recipe_id) for r in records] == [
        (f"P{i}", f"J{i}", "a") for i in range(4)
    ]
    parts = events.parts()
    for record, part_, (before, after) in zip(records, parts, sent, strict=True):
        assert before <= record.trigger_time <= after
        assert record.trigger_time == part_.trigger.time and part_.trigger.origin == "software"
        assert 0 < record.latency_ms < 5000 and record.latency_ms == pytest.approx(part_.latency_ms)
        assert part_.trigger.part_id == record.part_id and part_.result_id == record.id
    assert events.states() == SINGLE_JOB * 4  # Ready -> SingleExecution -> Ready per trigger
    assert station.store.missed_triggers() == [] and station.missed == 0


def test_a_trigger_sent_when_ready_is_published_is_taken(tmp_path, station, events, runs):
    """Ready is published only once the station is free, so a trigger sent as soon as Ready is
    seen (here by a subscriber, as an OPC UA or PLC adapter relaying the state would) is
    taken, not missed as 'busy'."""
    folder = make_folder(tmp_path / "parts", ok=3, ng=0)
    answers: list[bool] = []

    def on_ready(event) -> None:
        ready = isinstance(event, StateChanged) and event.transition == SINGLE_JOB[1][2]
        if ready and not answers:
            answers.append(station.trigger(part_id="second"))

    station.subscribe(on_ready)
    run = runs.start(station, folder, TriggerMode.SOFTWARE)
    assert station.trigger(part_id="first")
    wait_until(lambda: answers, what="the Ready state change")
    missed = [(m.part_id, m.reason) for m in station.store.missed_triggers()]
    assert answers == [True], f"trigger sent in state Ready was missed: {missed}"
    events.wait_parts(2)
    station.stop()
    run.join()


def test_a_trigger_sent_on_the_result_is_taken(tmp_path, station, events, runs):
    """The result is published once the station is free: a line that triggers the next part
    as soon as it has the verdict is not told 'busy'."""
    folder = make_folder(tmp_path / "parts", ok=3, ng=0)
    answers: list[bool] = []

    def on_result(event) -> None:
        if isinstance(event, ResultReady) and len(answers) < 2:
            answers.append(station.trigger(part_id=f"next-{len(answers)}"))

    station.subscribe(on_result)
    run = runs.start(station, folder, TriggerMode.SOFTWARE)
    assert station.trigger(part_id="first")
    events.wait_parts(3)
    assert answers == [True, True] and station.store.missed_triggers() == []
    assert [r.part_id for r in station.store.records()] == ["first", "next-0", "next-1"]
    station.stop()
    run.join()


def test_software_triggers_past_the_end_of_a_folder_are_missed(tmp_path, station, events, runs):
    folder = make_folder(tmp_path / "parts", ok=2, ng=0)
    run = runs.start(station, folder, TriggerMode.SOFTWARE)
    trigger_and_wait(station, events, 1, part_id="P0")
    trigger_and_wait(station, events, 2, part_id="P1")
    assert station.trigger(part_id="P2")  # taken, but the folder has no third image
    summary = run.join()
    assert (summary.how, summary.inspected, summary.missed) == ("done", 2, 1)
    (missed,) = station.store.missed_triggers()
    assert (missed.part_id, missed.run_id, missed.reason) == (
        "P2",
        summary.run_id,
        "source has no more frames",
    )
    assert [e.trigger.part_id for e in events.of(TriggerMissed)] == ["P2"]
    assert station.state is S.READY and events.states()[-1] == SINGLE_JOB[1]
    assert [r.part_id for r in station.store.records()] == ["P0", "P1"]


def test_software_trigger_on_a_video_camera_takes_a_fresh_frame(tmp_path, station, events, runs):
    fps = 25.0
    video = write_video(tmp_path / "line.avi", frames=100, fps=fps)  # 4 s of "camera"
    started = time.monotonic()
    run = runs.start(station, video, TriggerMode.SOFTWARE, realtime=True)
    time.sleep(0.2)  # frames have been coming (and going) before the first trigger
    for i in range(3):
        trigger_and_wait(station, events, i + 1, part_id=f"P{i}")
        time.sleep(0.12)
    station.stop()
    summary = run.join()
    assert time.monotonic() - started < 3.8  # stop ended the 4 s playback; it did not play out
    assert summary.inspected == 3 and summary.source == source_key(video)
    records = station.store.records()
    assert [r.part_id for r in records] == ["P0", "P1", "P2"]
    indices = []
    for record in records:
        assert record.frame_time >= record.trigger_time, "a frame from before the trigger"
        # the next frame or so (with room for a loaded machine's scheduling)
        assert record.frame_time - record.trigger_time < 3 / fps + 0.4
        assert record.frame_id.startswith(f"{summary.run_id}/")
        indices.append(int(record.frame_id.split("/")[1]))
    # ~0.13 s between triggers at 25 fps: the frames are several video frames apart
    assert all(b - a >= 2 for a, b in itertools.pairwise(indices)), indices


def test_video_file_source_as_camera_is_live_and_stamped_with_wall_time(tmp_path, station, runs):
    video = write_video(tmp_path / "line.avi", frames=40, fps=100)
    source = VideoFileSource(video, realtime=True)
    assert source.live and source.kind == "video"
    before = time.time()
    summary = runs.start(station, source).join()
    after = time.time()
    records = station.store.records()
    assert summary.inspected == len(records) and summary.inspected + summary.dropped == 40
    assert all(before <= r.frame_time <= after for r in records)  # arrival times, not positions


def test_a_slow_cycle_on_a_live_source_counts_dropped_frames(tmp_path, store, recipe, runs):
    class SlowSink:  # e.g. a PLC handshake that takes a while
        def deliver(self, part_) -> None:
            time.sleep(0.03)

    station = Station(store, provider="cpu", sinks=(SlowSink(),), drop_alarm_share=0.5)
    station.prepare(recipe, "test")
    events = Events(station)
    video = write_video(tmp_path / "fast.avi", frames=40, fps=100)  # a frame every 10 ms
    summary = runs.start(station, video, realtime=True).join()
    assert summary.dropped > 0 and summary.inspected + summary.dropped == 40
    assert len(store.records()) == summary.inspected
    dropped = events.of(FramesDropped)
    assert dropped and [e.dropped for e in dropped] == sorted({e.dropped for e in dropped})
    assert dropped[-1].dropped == summary.dropped
    last = dropped[-1]
    assert last.alarm == (last.share > 0.5)
    assert any(e.alarm for e in dropped)  # ~2 of 3 frames lost: above the 50 % alarm share
    # the newest frame is never the one dropped
    assert store.records()[-1].frame_id == f"{summary.run_id}/39"


# --- missed triggers ------------------------------------------------------------------------


def test_a_trigger_without_a_run_is_missed_and_stored(station, events):
    assert station.trigger(part_id="P-x", job_id="J-1", origin="modbus") is False
    (missed,) = station.store.missed_triggers()
    assert (missed.part_id, missed.job_id, missed.origin, missed.run_id, missed.recipe_id) == (
        "P-x",
        "J-1",
        "modbus",
        None,
        "a",
    )
    assert missed.reason == "station not waiting for triggers (state Operational/Ready)"
    (event,) = events.of(TriggerMissed)
    assert (event.trigger.part_id, event.reason, event.missed) == ("P-x", missed.reason, 1)
    assert station.missed == 1 and station.store.records() == []


def test_a_trigger_in_continuous_mode_is_missed(tmp_path, station, events, runs):
    folder = make_folder(tmp_path / "parts", ok=2, ng=0)
    station.set_paused(True)
    run = runs.start(station, folder)
    wait_until(lambda: station.state is S.CONTINUOUS_EXECUTION, what="ContinuousExecution")
    assert station.trigger(part_id="P") is False
    (missed,) = station.store.missed_triggers()
    assert "not waiting for triggers (state Operational/ContinuousExecution)" in missed.reason
    station.set_paused(False)
    summary = run.join()
    assert missed.run_id == summary.run_id and summary.missed == 1
    assert len(station.store.records()) == 2  # the trigger did not add or take a part


def test_a_second_trigger_while_busy_is_missed(tmp_path, station, events, runs):
    folder = make_folder(tmp_path / "parts", ok=3, ng=0)
    run = runs.start(station, folder, TriggerMode.SOFTWARE)
    assert station.trigger(part_id="A") is True
    assert station.trigger(part_id="B") is False  # the first is pending or being inspected
    events.wait_parts(1)
    station.stop()
    summary = run.join()
    (missed,) = station.store.missed_triggers()
    assert (missed.part_id, missed.reason, missed.run_id) == (
        "B",
        "station busy with the previous part",
        summary.run_id,
    )
    assert [r.part_id for r in station.store.records()] == ["A"]
    assert summary.missed == 1 and station.missed == 1
    assert [e.trigger.part_id for e in events.of(TriggerMissed)] == ["B"]


@pytest.mark.parametrize("kind", ["folder", "video camera"])
def test_triggers_faster_than_inspection_are_all_accounted_for(
    tmp_path, station, events, runs, kind
):
    if kind == "folder":
        source, options, pause = make_folder(tmp_path / "parts", ok=50, ng=10), {}, 0.0
    else:
        source = write_video(tmp_path / "line.avi", frames=150, fps=50)
        options, pause = {"realtime": True}, 0.004
    run = runs.start(station, source, TriggerMode.SOFTWARE, **options)
    answers: dict[str, bool] = {}

    def fire() -> None:
        for i in range(40):
            answers[f"P{i:02d}"] = station.trigger(part_id=f"P{i:02d}", origin="flood")
            if pause:
                time.sleep(pause)

    firing = threading.Thread(target=fire)
    firing.start()
    firing.join(TIMEOUT)
    assert not firing.is_alive() and len(answers) == 40
    taken = sorted(p for p, ok in answers.items() if ok)
    missed = sorted(p for p, ok in answers.items() if not ok)
    events.wait_parts(len(taken))  # every taken trigger becomes a stored part
    station.stop()
    summary = run.join()
    records = station.store.records()
    stored_missed = station.store.missed_triggers()
    assert taken and missed, answers  # some taken, some missed: the flood was faster
    assert len(records) + len(stored_missed) == 40  # sent == stored + missed, exactly
    assert sorted(r.part_id for r in records) == taken
    assert sorted(m.part_id for m in stored_missed) == missed
    assert {m.reason for m in stored_missed} == {"station busy with the previous part"}
    assert {m.run_id for m in stored_missed} == {summary.run_id}
    assert {m.origin for m in stored_missed} == {"flood"}
    assert len(station.store.missed_triggers(run_id=summary.run_id)) == len(missed)
    assert summary.missed == station.missed == len(missed) == len(events.of(TriggerMissed))
    assert summary.inspected == len(taken)
    assert [e.missed for e in events.of(TriggerMissed)] == list(range(1, len(missed) + 1))
    assert all(r.trigger_time is not None and r.latency_ms > 0 for r in records)


def test_the_missed_count_survives_a_restart(tmp_path, station):
    assert not station.trigger(part_id="1") and not station.trigger(part_id="2")
    again = Station(station.store, provider="cpu")
    assert again.missed == 2


# --- file-arrival mode ----------------------------------------------------------------------


def test_file_mode_inspects_each_new_file_as_a_trigger(tmp_path, station, events, runs):
    folder = tmp_path / "incoming"
    folder.mkdir()
    run = runs.start(station, folder, TriggerMode.FILE, poll_interval=0.05)
    wait_until(lambda: station.state is S.CONTINUOUS_EXECUTION, what="ContinuousExecution")
    written = {}
    for i, (name, ng) in enumerate([("a.png", False), ("b.png", True), ("c.png", False)]):
        written[name] = time.time()
        cv2.imwrite(str(folder / name), part(ng))
        events.wait_parts(i + 1)
    station.stop()
    summary = run.join(timeout=2.0)
    assert (summary.how, summary.mode, summary.inspected) == ("stopped", "file", 3)
    records = station.store.records()
    assert [(r.frame_id, r.verdict) for r in records] == [
        ("a.png", "OK"),
        ("b.png", "NG"),
        ("c.png", "OK"),
    ]
    for record, part_ in zip(records, events.parts(), strict=True):
        assert part_.trigger is not None and part_.trigger.origin == "file"
        # the trigger is the file's detection: after it was written, before it was stored
        assert written[record.frame_id] <= record.trigger_time <= record.time
        assert record.trigger_time == record.frame_time == part_.trigger.time
        assert record.part_id is None and 0 < record.latency_ms < 5000
        assert record.recipe_id == "a"
    assert events.states() == [
        (S.READY, S.CONTINUOUS_EXECUTION, "ReadyToContinuousExecution"),
        (S.CONTINUOUS_EXECUTION, S.READY, "ContinuousExecutionToReadyStop"),
    ]
    assert station.state is S.READY


def test_file_mode_passes_over_files_already_inspected(tmp_path, station, events, runs):
    folder = make_folder(tmp_path / "incoming", ok=2, ng=0)
    runs.start(station, folder).join()  # a batch run first
    run = runs.start(station, folder, TriggerMode.FILE, poll_interval=0.05)
    time.sleep(0.2)
    cv2.imwrite(str(folder / "new.png"), part(True))
    events.wait_parts(3)
    time.sleep(0.15)
    station.stop()
    summary = run.join(timeout=2.0)
    assert summary.resumed == 2 and summary.inspected == 1
    assert [r.frame_id for r in station.store.records()] == ["ok_0.png", "ok_1.png", "new.png"]


# --- recipe switches ------------------------------------------------------------------------


def test_recipe_switch_between_runs(tmp_path, station, events, runs, recipe):
    folder = make_folder(tmp_path / "parts", ok=2, ng=1)
    runs.start(station, folder).join()
    digest_a = station.active.inspector.bundle.digest
    other = Recipe("b", str(make_tiny_bundle(tmp_path / "bundle_b", segmentation=False)))
    active = station.prepare(other, "window")
    digest_b = active.inspector.bundle.digest
    assert digest_a != digest_b and station.recipe is other and station.state is S.READY
    second = runs.start(station, folder).join()
    assert second.inspected == 3 and second.resumed == 0  # another bundle inspects anew
    records = station.store.records()
    assert [(r.recipe_id, r.bundle_digest) for r in records] == [("a", digest_a)] * 3 + [
        ("b", digest_b)
    ] * 3
    switches = [
        (s.from_recipe, s.to_recipe, s.bundle_digest, s.requested_by, s.error)
        for s in station.store.recipe_switches()
    ]
    assert switches == [
        (None, "a", digest_a, "test", None),
        ("a", "b", digest_b, "window", None),
    ]
    assert events.of(RecipeChanged) == [RecipeChanged("a", "b", "window")]


def test_recipe_switch_during_a_run_applies_from_the_next_part(tmp_path, station, events, runs):
    folder = make_folder(tmp_path / "parts", ok=4, ng=0)
    run = runs.start(station, folder, TriggerMode.SOFTWARE)
    trigger_and_wait(station, events, 1, part_id="P0")
    other = Recipe("b", str(make_tiny_bundle(tmp_path / "bundle_b", segmentation=False)))
    station.prepare(other, "plc")
    trigger_and_wait(station, events, 2, part_id="P1")
    station.stop()
    summary = run.join()
    first, second = station.store.records()
    assert (first.recipe_id, second.recipe_id) == ("a", "b")
    assert first.bundle_digest != second.bundle_digest
    assert second.bundle_digest == station.active.inspector.bundle.digest
    assert {first.run_id, second.run_id} == {summary.run_id}  # one run, two recipes
    assert [p.recipe_id for p in events.parts()] == ["a", "b"]
    assert events.states() == SINGLE_JOB * 2  # preparing in Ready changes no state


def _corrupt_model(bundle: Path) -> Path:
    model = next(bundle.glob("*.onnx"))
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    return bundle


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [("missing", "bundle not found"), ("corrupt onnx", "sha256 does not match")],
)
def test_a_broken_recipe_keeps_the_old_one(tmp_path, station, events, runs, breakage, expected):
    if breakage == "missing":
        bundle = tmp_path / "nowhere"
    else:
        bundle = _corrupt_model(make_tiny_bundle(tmp_path / "broken"))
    old = station.active
    broken = Recipe("broken", str(bundle))
    with pytest.raises(RecipeError) as failed:
        station.prepare(broken, "window")
    message = str(failed.value)
    assert "'broken'" in message and expected in message and str(bundle) in message
    assert station.active is old and station.recipe.id == "a" and station.state is S.READY
    last = station.store.recipe_switches()[-1]
    assert (last.from_recipe, last.to_recipe, last.requested_by, last.bundle_digest) == (
        "a",
        "broken",
        "window",
        None,
    )
    assert expected in last.error
    (event,) = events.of(RecipeFailed)
    assert (event.recipe_id, event.requested_by) == ("broken", "window")
    assert expected in event.reason
    assert events.of(RecipeChanged) == [] and events.states() == []
    # the line goes on with the old recipe
    folder = make_folder(tmp_path / "parts", ok=1, ng=1)
    runs.start(station, folder).join()
    assert {r.recipe_id for r in station.store.records()} == {"a"}


def test_a_broken_recipe_during_a_run_does_not_disturb_it(tmp_path, station, events, runs):
    folder = make_folder(tmp_path / "parts", ok=3, ng=0)
    run = runs.start(station, folder, TriggerMode.SOFTWARE)
    trigger_and_wait(station, events, 1, part_id="P0")
    with pytest.raises(RecipeError):
        station.prepare(Recipe("x", str(tmp_path / "nowhere")), "plc")
    trigger_and_wait(station, events, 2, part_id="P1")
    station.stop()
    assert run.join().inspected == 2
    assert [r.recipe_id for r in station.store.records()] == ["a", "a"]


def test_recipe_thresholds_override_the_bundle(tmp_path, station, events, runs, tiny_bundle):
    folder = make_folder(tmp_path / "parts", ok=1, ng=2)
    strict = runs.start(station, folder).join()
    assert strict.inspected == 3
    lenient = Recipe(
        "lenient",
        str(tiny_bundle),
        thresholds={"image_threshold": 2.0, "min_defect_area_px": 100_000},
    )
    active = station.prepare(lenient, "engineer")
    assert active.thresholds.image_threshold == 2.0
    assert active.thresholds.min_defect_area_px == 100_000
    assert active.thresholds.pixel_threshold == 0.5  # not overridden: the bundle's
    # same bundle, so resuming would pass over every image: inspect them again
    runs.start(station, folder, resume=False).join()
    records = station.store.records()
    first, second = records[:3], records[3:]
    assert [r.verdict for r in first] == ["NG", "NG", "OK"]
    assert [r.verdict for r in second] == ["OK", "OK", "OK"]
    assert {r.threshold for r in first} == {0.8} and {r.threshold for r in second} == {2.0}
    assert {r.recipe_id for r in second} == {"lenient"}


# --- halt and reset -------------------------------------------------------------------------


def test_halt_during_a_continuous_run_then_reset(tmp_path, station, events, runs):
    folder = make_folder(tmp_path / "parts", ok=150, ng=0)
    run = runs.start(station, folder)
    events.wait_parts(1)
    station.halt()
    summary = run.join()
    assert summary.how == "halted" and 1 <= summary.inspected < 150
    assert station.state is S.HALTED
    assert events.states() == [
        (S.READY, S.CONTINUOUS_EXECUTION, "ReadyToContinuousExecution"),
        (S.CONTINUOUS_EXECUTION, S.HALTED, "OperationalToHalted"),
    ]
    assert len(station.store.records()) == summary.inspected  # every part stored, none lost

    with pytest.raises(TransitionError) as refused:
        station.run(folder)
    assert "state Halted" in str(refused.value) and "Reset" in str(refused.value)
    assert station.trigger(part_id="P-h") is False
    (missed,) = station.store.missed_triggers()
    assert missed.part_id == "P-h" and "Halted" in missed.reason
    with pytest.raises(RecipeError, match="Halted"):
        station.prepare(Recipe("b", str(tmp_path / "whatever")), "window")
    assert station.store.recipe_switches()[-1].error is not None
    assert station.allowed_methods() == ["Reset"]
    with pytest.raises(TransitionError, match="Halt is not allowed in state Halted"):
        station.halt()

    events.items.clear()
    station.reset()
    assert station.state is S.READY and station.recipe.id == "a"  # the recipe is kept
    assert events.states() == [
        (S.HALTED, S.PREOPERATIONAL, "HaltedToPreoperational"),
        (S.PREOPERATIONAL, S.INITIALIZED, "PreoperationalToInitializedAuto"),
        (S.INITIALIZED, S.READY, "InitializedToReadyRecipe"),
    ]
    rest = runs.start(station, folder).join()
    assert rest.resumed == summary.inspected and rest.inspected == 150 - summary.inspected
    assert len({r.frame_id for r in station.store.records()}) == 150


def test_halt_and_reset_without_a_run(station, events):
    station.halt()
    assert station.state is S.HALTED
    assert events.states() == [(S.READY, S.HALTED, "OperationalToHalted")]
    station.reset()
    assert station.state is S.READY


def test_reset_is_refused_while_a_run_is_on(tmp_path, station, events, runs):
    run = runs.start(station, make_folder(tmp_path / "parts", ok=1, ng=0), TriggerMode.SOFTWARE)
    with pytest.raises(TransitionError, match="Stop it first"):
        station.reset()
    with pytest.raises(TransitionError, match="already on"):
        station.run(tmp_path / "parts")
    assert station.running and station.state is S.READY
    station.halt()  # a software run waiting for triggers halts too
    run.join()
    assert station.state is S.HALTED


# --- live sources that drop out -------------------------------------------------------------


def test_a_camera_that_stops_delivering_ends_the_run_in_error(tmp_path, station, events, runs):
    video = write_video(tmp_path / "camera.avi", frames=3, fps=5)
    camera = CameraSource(str(video), retries=1, retry_delay=0.01)  # the video stands in
    summary = runs.start(station, camera).join()
    assert summary.how == "source failed"
    assert "stopped delivering frames" in summary.source_error
    assert summary.inspected + summary.dropped == 3 and summary.inspected >= 1
    (lost,) = events.of(SourceLost)
    assert lost.source == camera.key and "stopped delivering frames" in lost.reason
    assert station.state is S.ERROR
    assert events.states() == [
        (S.READY, S.CONTINUOUS_EXECUTION, "ReadyToContinuousExecution"),
        (S.CONTINUOUS_EXECUTION, S.ERROR, "OperationalToErrorAuto"),
    ]
    assert events.of(RunEnded) == [
        RunEnded(summary.run_id, "source failed", summary.inspected, summary.source_error)
    ]
    *_, loss = station.store.records()
    assert (loss.frame_id, loss.verdict) == ("-", "ERROR")  # the drop-out is in the store
    assert "stopped delivering frames" in loss.error and loss.recipe_id == "a"
    assert station.counters == station.store.counters() and station.counters.errors == 1
    with pytest.raises(TransitionError, match="state Error"):
        station.run(video)
    station.reset()
    assert station.state is S.READY


def test_a_camera_that_comes_back_resumes_a_continuous_run(station, events, runs, camera):
    """After SourceBack the continuous run goes on (ReadyToContinuousExecutionAuto), and the
    frame ids of the second opening do not repeat those of the first."""
    run = runs.start(station, camera.url, reconnect_s=0.05)
    events.wait_parts(3)
    camera.unplug()
    events.wait(SourceLost, timeout=3)
    assert station.state is S.ERROR and station.running
    camera.plug()
    events.wait(SourceBack, timeout=3)
    before = len(events.parts())
    wait_until(lambda: run.error or len(events.parts()) >= before + 3, what="parts after back")
    station.stop()
    summary = run.join()
    assert summary.how == "stopped" and summary.source_error is None
    states = events.states()
    assert (S.CONTINUOUS_EXECUTION, S.ERROR, "OperationalToErrorAuto") in states
    assert (S.ERROR, S.READY, "ErrorToOperationalAuto") in states
    assert states[-2:] == [
        (S.READY, S.CONTINUOUS_EXECUTION, "ReadyToContinuousExecutionAuto"),
        (S.CONTINUOUS_EXECUTION, S.READY, "ContinuousExecutionToReadyStop"),
    ]
    frame_ids = [r.frame_id for r in station.store.records() if r.frame_id != "-"]
    assert len(frame_ids) == len(set(frame_ids)), "frame ids repeat within the run"


def test_a_camera_that_comes_back_resumes_a_triggered_run(station, events, runs, camera):
    run = runs.start(station, camera.url, TriggerMode.SOFTWARE, reconnect_s=0.05)
    time.sleep(0.1)
    trigger_and_wait(station, events, 1, part_id="P1")
    camera.unplug()
    # The next trigger finds the camera gone: an ERROR part for it, then Error until it is back.
    assert station.trigger(part_id="P2")
    events.wait(SourceLost, timeout=3)
    assert station.state is S.ERROR and station.running
    camera.plug()
    events.wait(SourceBack, timeout=3)
    assert station.state is S.READY and station.running
    time.sleep(0.1)
    assert station.trigger(part_id="P3")
    events.wait_parts(3)
    station.stop()
    summary = run.join()
    assert summary.how == "stopped" and summary.source_error is None
    records = station.store.records()
    by_part = {r.part_id: r for r in records if r.part_id}
    assert by_part["P1"].verdict == by_part["P3"].verdict == "OK"
    assert by_part["P2"].verdict == "ERROR" and "stopped delivering" in by_part["P2"].error
    assert by_part["P3"].frame_time >= by_part["P3"].trigger_time
    assert [e.source for e in events.of(SourceLost)] == [camera.url]
    assert events.of(SourceBack) == [SourceBack(camera.url)]
    assert (S.SINGLE_EXECUTION, S.ERROR, "OperationalToErrorAuto") in events.states()
    assert (S.ERROR, S.READY, "ErrorToOperationalAuto") in events.states()
    assert camera.connections == 2


def test_a_camera_lost_while_waiting_for_triggers_is_reported(station, events, runs, camera):
    """In software mode a camera that drops out between triggers is reported when it goes
    (SourceLost, state Error), not at the next trigger."""
    run = runs.start(station, camera.url, TriggerMode.SOFTWARE, reconnect_s=0.05)
    time.sleep(0.1)
    camera.unplug()
    try:
        events.wait(SourceLost, timeout=2.5)  # CameraSource gives up after ~0.6 s of retries
        assert station.state is S.ERROR
    finally:
        station.stop()
        run.join()


# --- events ---------------------------------------------------------------------------------


def test_a_failing_subscriber_or_sink_does_not_stop_the_cycle(
    tmp_path, store, recipe, runs, caplog
):
    class BrokenSink:
        def deliver(self, part_) -> None:
            raise RuntimeError("PLC gone")

    class GoodSink:
        def __init__(self) -> None:
            self.ids: list[int] = []

        def deliver(self, part_) -> None:
            self.ids.append(part_.result_id)

    good = GoodSink()
    station = Station(store, provider="cpu", sinks=(BrokenSink(), good))

    def broken(event) -> None:
        raise ValueError("subscriber bug")

    station.subscribe(broken)
    events = Events(station)  # subscribed after the broken one
    station.prepare(recipe, "test")
    folder = make_folder(tmp_path / "parts", ok=2, ng=2)
    with caplog.at_level(logging.ERROR):
        summary = runs.start(station, folder).join()
    assert summary.inspected == 4 and summary.how == "done"
    records = store.records()
    assert len(records) == 4
    assert good.ids == [r.id for r in records] == [p.result_id for p in events.parts()]
    assert len(events.of(RunEnded)) == 1 and len(events.of(RecipeChanged)) == 1
    assert "event subscriber" in caplog.text and "subscriber bug" in caplog.text
    assert "result sink" in caplog.text and "PLC gone" in caplog.text


def test_unsubscribe_stops_the_events(tmp_path, station, runs):
    got: list = []
    unsubscribe = station.subscribe(got.append)
    runs.start(station, make_folder(tmp_path / "a", ok=1, ng=0)).join()
    count = len(got)
    assert count > 0
    unsubscribe()
    runs.start(station, make_folder(tmp_path / "b", ok=1, ng=0)).join()
    assert len(got) == count
