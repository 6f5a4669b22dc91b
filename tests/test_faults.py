"""Bad input and faults met on a shop floor (issue 13): each test makes the bad input and checks
that no part is lost, none is counted twice and the run goes on with a clear message.

Files are real files, FIFOs and links; the store is real SQLite; a full disk is a real write
limit (RLIMIT_FSIZE) on a real `station-inspect` process.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.batch import BatchProgress, run_batch
from engine.bundle import load_bundle
from engine.cli import main
from engine.inspector import Inspector
from engine.sources import FolderSource, SourceError, open_source
from engine.store import ResultStore
from tests.parts import part, write_parts, write_video
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def inspector(tiny_bundle: Path) -> Inspector:
    return Inspector(load_bundle(tiny_bundle), "cpu")


def _rows(out: Path) -> list[tuple]:
    with sqlite3.connect(out / "results.sqlite") as db:
        return db.execute(
            "SELECT frame_id, verdict, error, file_sig, retried_in FROM inspections ORDER BY id"
        ).fetchall()


def _inspect(source: Path, bundle: Path, out: Path, *extra: str) -> int:
    return main([str(source), "--bundle", str(bundle), "--out", str(out), "--no-progress", *extra])


def _png(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", image)
    assert ok
    return data.tobytes()


class Watch:
    """`run_batch` watching a folder on a thread, collecting what it reports."""

    def __init__(self, inspector: Inspector, folder: Path, out: Path) -> None:
        self.parts: list[BatchProgress] = []
        self.cancel = threading.Event()
        self.summary = None
        self._thread = threading.Thread(
            target=self._run, args=(inspector, folder, out), daemon=True
        )
        self._thread.start()

    def _run(self, inspector: Inspector, folder: Path, out: Path) -> None:
        self.summary = run_batch(
            inspector,
            folder,
            out,
            watch=True,
            poll_interval=0.05,
            progress=self.parts.append,
            cancel=self.cancel,
        )

    def wait(self, count: int) -> None:
        wait_until(lambda: len(self.parts) >= count, timeout=10, what=f"{count} parts")

    def stop(self):
        self.cancel.set()
        self._thread.join(timeout=10)
        assert not self._thread.is_alive()
        return self.summary


# --- case 2: a file written in two halves with a pause ------------------------------------------


def test_watch_retries_a_half_written_file_until_it_is_complete(tmp_path, inspector):
    folder, out = tmp_path / "incoming", tmp_path / "out"
    folder.mkdir()
    data = _png(part(True))
    watch = Watch(inspector, folder, out)
    with (folder / "part.png").open("wb") as handle:
        handle.write(data[: len(data) // 2])
        handle.flush()
        time.sleep(0.6)  # many polls: the half file is stable, and does not decode
        assert watch.parts == []
        handle.write(data[len(data) // 2 :])
    watch.wait(1)
    time.sleep(0.2)
    watch.stop()
    assert [(p.frame_id, p.verdict) for p in watch.parts] == [("part.png", "NG")]
    assert [r[:3] for r in _rows(out)] == [("part.png", "NG", None)]


def test_watch_reports_a_file_that_stays_broken_once_it_is_still(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n half a header")
    source = FolderSource(tmp_path, watch=True, poll_interval=0.02, settle_s=0.4)
    frames = []
    worker = threading.Thread(target=lambda: frames.extend(source), daemon=True)
    started = time.monotonic()
    worker.start()
    wait_until(lambda: frames, timeout=5, what="the failure")
    waited = time.monotonic() - started
    source.close()
    worker.join(timeout=2)
    assert [(f.id, f.image is None) for f in frames] == [("broken.png", True)]
    assert "not a readable image" in frames[0].error
    assert waited >= 0.3  # held back while it might still be written, then reported once


def test_a_failure_is_not_done_for_a_rerun_and_is_counted_once(tmp_path, tiny_bundle):
    folder, out = tmp_path / "parts", tmp_path / "out"
    write_parts(folder, "ON")
    good = (folder / "part_01.png").read_bytes()
    (folder / "part_01.png").write_bytes(good[: len(good) // 2])
    assert _inspect(folder, tiny_bundle, out) == 1
    (folder / "part_01.png").write_bytes(good)  # the writer finished after all
    os.utime(folder / "part_01.png", ns=(1, 1))
    assert _inspect(folder, tiny_bundle, out) == 1  # the failure of the half file is real
    rows = _rows(out)
    assert [r[:2] for r in rows] == [
        ("part_00.png", "OK"),
        ("part_01.png", "ERROR"),
        ("part_01.png", "NG"),
    ]
    # The same file content failing and then read fine (a share back) retires the failure.
    folder2, out2 = tmp_path / "parts2", tmp_path / "out2"
    write_parts(folder2, "N")
    target = folder2 / "part_00.png"
    hidden = target.rename(folder2 / ".away")
    os.symlink(hidden.name, target)
    os.unlink(hidden)  # the link now dangles: the file is "gone"
    assert _inspect(folder2, tiny_bundle, out2) == 1
    target.unlink()
    target.write_bytes(_png(part(True)))
    assert _inspect(folder2, tiny_bundle, out2) == 0
    rows = _rows(out2)
    assert [(r[0], r[1], r[4] is not None) for r in rows] == [
        ("part_00.png", "ERROR", True),
        ("part_00.png", "NG", False),
    ]
    summary = json.loads((out2 / "summary.json").read_text())
    assert (summary["total"], summary["ng"], summary["errors"]) == (1, 1, 0)
    with ResultStore(out2 / "results.sqlite") as store:
        assert store.counters().errors == 0 and store.counters().total == 1


# --- case 3: the same file name written again ---------------------------------------------------


def test_watch_sees_each_image_written_under_the_same_name(tmp_path, inspector):
    folder, out = tmp_path / "camera", tmp_path / "out"
    folder.mkdir()
    watch = Watch(inspector, folder, out)
    latest = folder / "latest.png"
    latest.write_bytes(_png(part(False)))
    watch.wait(1)
    latest.write_bytes(_png(part(True)))  # overwritten in place
    watch.wait(2)
    staged = folder / ".next.png"
    staged.write_bytes(_png(part(True, size=56)))
    staged.replace(latest)  # replaced by rename, as cameras do
    watch.wait(3)
    time.sleep(0.2)
    summary = watch.stop()
    assert [(p.frame_id, p.verdict) for p in watch.parts] == [
        ("latest.png", "OK"),
        ("latest.png", "NG"),
        ("latest.png", "NG"),
    ]
    rows = _rows(out)
    assert len(rows) == 3 and len({r[3] for r in rows}) == 3  # three file versions
    assert summary.total == 3
    kept = sorted(p.name for p in (out / "ng").iterdir())
    assert kept == ["latest-2.png", "latest.png"]  # the second NG did not replace the first
    sizes = {cv2.imread(str(out / "ng" / name)).shape[0] for name in kept}
    assert sizes == {48, 56}


# --- case 9: a file replaced by another image, then a batch rerun --------------------------------


def test_batch_rerun_inspects_a_replaced_file_again_and_keeps_both_rows(tmp_path, tiny_bundle):
    folder, out = tmp_path / "parts", tmp_path / "out"
    write_parts(folder, "OO")
    assert _inspect(folder, tiny_bundle, out) == 0
    assert _inspect(folder, tiny_bundle, out) == 0  # unchanged: nothing to do
    assert len(_rows(out)) == 2
    (folder / "part_01.png").write_bytes(_png(part(True)))
    os.utime(folder / "part_01.png", ns=(10**18, 10**18))
    assert _inspect(folder, tiny_bundle, out) == 0
    rows = _rows(out)
    assert [r[:2] for r in rows] == [
        ("part_00.png", "OK"),
        ("part_01.png", "OK"),
        ("part_01.png", "NG"),
    ]
    assert rows[1][3] != rows[2][3]
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["inspected"], summary["resumed"]) == (1, 1)


# --- case 4: a file name that is not UTF-8 ------------------------------------------------------


def test_a_file_name_that_is_not_utf8_is_stored_and_resumed(tmp_path, tiny_bundle, capsys):
    folder, out = tmp_path / "parts", tmp_path / "out"
    write_parts(folder, "O")
    latin1 = os.fsdecode(b"caf\xe9.png")  # a Latin-1 byte, as a network share gives it
    (folder / latin1).write_bytes(_png(part(True)))
    assert _inspect(folder, tiny_bundle, out) == 0
    rows = _rows(out)
    assert [r[:2] for r in rows] == [("caf\\xe9.png", "NG"), ("part_00.png", "OK")]
    assert "caf\\xe9.png" in capsys.readouterr().out
    archived = os.listdir(os.fsencode(out / "ng"))
    assert archived == [b"caf\\xe9.png"]
    assert _inspect(folder, tiny_bundle, out) == 0  # the rerun knows it is done
    assert len(_rows(out)) == 2
    export = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert {row["frame_id"] for row in export} == {"caf\\xe9.png", "part_00.png"}


# --- case 6: a FIFO or other special file as the source -----------------------------------------


def test_a_fifo_as_the_source_is_refused_at_once(tmp_path, tiny_bundle, caplog):
    pipe = tmp_path / "pipe.png"
    os.mkfifo(pipe)
    result: list[int] = []
    worker = threading.Thread(
        target=lambda: result.append(_inspect(pipe, tiny_bundle, tmp_path / "out")), daemon=True
    )
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "station-inspect blocked on a FIFO"
    assert result == [2]
    assert "pipe.png: not a regular file or folder (a FIFO)" in caplog.text
    with pytest.raises(SourceError, match="a FIFO"):
        open_source(pipe)


def test_a_fifo_and_broken_links_in_a_folder_are_failures_not_hangs(tmp_path, tiny_bundle):
    folder, out = tmp_path / "parts", tmp_path / "out"
    write_parts(folder, "O")
    os.mkfifo(folder / "stuck.png")
    os.symlink("gone.png", folder / "dangling.png")  # case 14: a dangling symlink
    os.symlink("gone.txt", folder / "notes.txt")
    done: list[int] = []
    worker = threading.Thread(target=lambda: done.append(_inspect(folder, tiny_bundle, out)))
    worker.daemon = True
    worker.start()
    worker.join(timeout=20)
    assert done == [1], "the run blocked or did not report the bad entries"
    rows = {r[0]: r[1:3] for r in _rows(out)}
    assert rows["part_00.png"] == ("OK", None)
    assert rows["stuck.png"] == ("ERROR", "not a regular file (a FIFO)")
    assert rows["dangling.png"] == ("ERROR", "broken link: its target gone.png does not exist")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["skipped_files"] == ["notes.txt"]


# --- case 8: failures are retried by a rerun ----------------------------------------------------


def test_a_sub_folder_that_could_not_be_listed_is_retried_by_a_rerun(tmp_path, tiny_bundle):
    folder, out = tmp_path / "parts", tmp_path / "out"
    write_parts(folder, "O")
    os.symlink("sub", folder / "sub")  # a loop: listing it fails, as an unreadable share does
    assert _inspect(folder, tiny_bundle, out) == 1
    assert [r[:2] for r in _rows(out)] == [("part_00.png", "OK"), ("sub", "ERROR")]
    (folder / "sub").unlink()
    write_parts(folder / "sub", "N")
    assert _inspect(folder, tiny_bundle, out) == 0
    rows = _rows(out)
    assert [(r[0], r[1], r[4] is not None) for r in rows] == [
        ("part_00.png", "OK", False),
        ("sub", "ERROR", True),  # retried: history, not a count
        ("sub/part_00.png", "NG", False),
    ]
    with ResultStore(out / "results.sqlite") as store:
        assert (store.counters().total, store.counters().errors) == (2, 0)


# --- case 15: a truncated video -----------------------------------------------------------------


def test_a_truncated_video_says_how_many_frames_it_promised_and_gave(tmp_path, tiny_bundle, capsys):
    video = write_video(tmp_path / "line.avi", 20, draw=lambda ng: _noisy(ng))
    data = video.read_bytes()
    video.write_bytes(data[: int(len(data) * 0.55)])
    out = tmp_path / "out"
    assert _inspect(video, tiny_bundle, out) == 1
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    read = summary["inspected"]
    assert 0 < read < 20
    message = f"video ended after {read} of the 20 frames its header announces"
    assert message in summary["source_error"] and message in printed


def _noisy(ng: bool) -> np.ndarray:
    """Frames that do not compress to nothing, so a cut file loses frames."""
    image = np.random.default_rng(int(ng)).integers(0, 120, (48, 64, 3), dtype=np.uint8)
    if ng:
        image[10:20, 10:20] = 255
    return image


# --- case 7: the disk fills up mid-run ----------------------------------------------------------

FULL_DISK = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from engine.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_a_full_disk_loses_no_verdict_and_leaves_no_truncated_file(tmp_path, tiny_bundle):
    folder, out = tmp_path / "parts", tmp_path / "out"
    write_parts(folder, "ON" * 15)
    big = np.random.default_rng(0).integers(0, 120, (400, 400, 3), dtype=np.uint8)
    big[10:60, 10:60] = 255
    cv2.imwrite(str(folder / "part_00_big.png"), big)  # its NG copy does not fit
    args = [str(folder), "--bundle", str(tiny_bundle), "--out", str(out), "--no-progress"]
    done = subprocess.run(
        [sys.executable, "-c", FULL_DISK, str(128 * 1024), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "NOT STORED" in done.stdout
    summary = json.loads((out / "summary.json").read_text())  # written although the disk is full
    stored = {r[0] for r in _rows(out)}
    unstored = {Path(item["origin"]).name for item in summary["not_stored"]}
    images = {p.name for p in folder.iterdir()}
    assert stored and unstored and stored | unstored == images and not stored & unstored
    assert all(item["verdict"] in ("OK", "NG") for item in summary["not_stored"])
    for copy in (out / "ng").iterdir():  # whole copies only, and only of stored rows
        assert copy.read_bytes() == (folder / copy.name).read_bytes()
        assert copy.name in stored
    leftovers = [p for p in out.rglob(".*") if p.is_file()]
    assert leftovers == []
    # With room again, a rerun inspects exactly the parts that were not stored; the one row
    # whose NG copy did not fit still says so.
    assert _inspect(folder, tiny_bundle, out) == 1
    rows = _rows(out)
    assert sorted(r[0] for r in rows) == sorted(images) and len(rows) == len(images)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["not_stored"] == [] and summary["inspected"] == len(unstored)
    assert [f["frame_id"] for f in summary["failures"]] == ["part_00_big.png"]
    assert summary["failures"][0]["error"].startswith("output not saved")


# --- case 12: an image the bundle cannot judge is a failure, not a verdict ----------------------


def test_an_image_the_bundle_cannot_judge_is_stored_as_a_failure(tmp_path, caplog):
    from engine.bundle import InputLimits
    from training.tiny_bundle import make_tiny_bundle

    limits = InputLimits(32, 32, 128, 128, colour=True, trained_size="48×48")
    bundle = make_tiny_bundle(tmp_path / "bundle", input_limits=limits)
    folder, out = tmp_path / "parts", tmp_path / "out"
    write_parts(folder, "N", draw=_tinted)  # the test parts are grey: give them colour
    cv2.imwrite(str(folder / "thumb.png"), _tinted(True)[:8, :8])
    cv2.imwrite(str(folder / "grey.png"), cv2.cvtColor(part(False), cv2.COLOR_BGR2GRAY))
    assert _inspect(folder, bundle, out) == 1
    rows = {r[0]: r[1:3] for r in _rows(out)}
    assert rows["part_00.png"] == ("NG", None)
    assert rows["thumb.png"][0] == "ERROR" and rows["thumb.png"][1].startswith("cannot judge: ")
    assert "8×8" in rows["thumb.png"][1]
    assert rows["grey.png"][0] == "ERROR" and "greyscale" in rows["grey.png"][1]
    assert "Traceback" not in caplog.text


def _tinted(ng: bool) -> np.ndarray:
    image = part(ng)
    image[..., 0] = image[..., 0] // 2 + 10  # less blue: a colour image, still judged alike
    return image


def test_a_bad_pixel_limit_in_the_environment_stops_the_start(tmp_path, tiny_bundle, monkeypatch):
    from engine.service_config import ConfigError, Overrides, load_config

    monkeypatch.setenv("STATION_MAX_PIXELS", "lots")
    folder = write_parts(tmp_path / "parts", "O")
    assert _inspect(folder, tiny_bundle, tmp_path / "out") == 2
    assert not (tmp_path / "out").exists()
    overrides = Overrides(bundle=str(tiny_bundle), source=str(folder), out=str(tmp_path / "o"))
    with pytest.raises(ConfigError) as info:
        load_config(None, overrides)
    assert any("STATION_MAX_PIXELS='lots'" in line for line in info.value.errors)


def test_a_fifo_as_the_bundle_is_refused_without_reading_it(tmp_path):
    from engine.bundle import BundleError

    pipe = tmp_path / "bundle.zip"
    os.mkfifo(pipe)
    errors: list[str] = []

    def load() -> None:
        with pytest.raises(BundleError) as info:
            load_bundle(pipe)
        errors.append(str(info.value))

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "load_bundle blocked on a FIFO"
    assert errors == [f"{pipe}: not a model bundle: neither a folder nor a regular file"]
