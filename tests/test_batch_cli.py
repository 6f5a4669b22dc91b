"""Batch inspection and the station-inspect CLI: outputs, resume, bad inputs, exit codes.

The tiny bundle calls an image NG when it has bright pixels, so dark images are OK parts and
images with a white square are NG parts.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.batch import run_batch
from engine.bundle import load_bundle
from engine.cli import main
from engine.inspector import Inspector
from engine.recorder import open_store, output_name
from engine.sources import CameraSource
from engine.store import ResultStore
from tests.parts import make_folder, part
from training.tiny_bundle import make_tiny_bundle

REPO = Path(__file__).resolve().parents[1]


def _rows(out: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(out / "results.sqlite") as db:
        return db.execute("SELECT frame_id, verdict, error FROM inspections ORDER BY id").fetchall()


@pytest.fixture()
def inspector(tiny_bundle: Path) -> Inspector:
    return Inspector(load_bundle(tiny_bundle), "cpu")


def test_output_name_is_safe_and_keeps_extension_apart():
    assert str(output_name("bent/000.png")) == "bent/000.png"
    assert str(output_name("a.jpg")) == "a.jpg.png"
    assert str(output_name("../../etc/x.png")) == "etc/x.png"
    assert str(output_name("12")) == "12.png"
    assert str(output_name("a.JPG", ".jpg")) == "a.JPG"


def test_cli_folder_writes_every_output(tmp_path, tiny_bundle, capsys):
    source = make_folder(tmp_path / "parts", ok=3, ng=2)
    (source / "sub").mkdir()
    cv2.imwrite(str(source / "sub" / "ng_deep.jpg"), part(True))
    out = tmp_path / "out"
    code = main([str(source), "--bundle", str(tiny_bundle), "--out", str(out), "--no-progress"])
    assert code == 0
    rows = _rows(out)
    assert [r[0] for r in rows] == [
        "ng_0.png", "ng_1.png", "ok_0.png", "ok_1.png", "ok_2.png", "sub/ng_deep.jpg",
    ]  # fmt: skip
    assert [r[1] for r in rows] == ["NG", "NG", "OK", "OK", "OK", "NG"]
    # Overlays for NG only by default; NG originals copied byte for byte.
    overlays = sorted(
        p.relative_to(out / "overlays").as_posix() for p in out.glob("overlays/**/*.png")
    )
    assert overlays == ["ng_0.png", "ng_1.png", "sub/ng_deep.jpg.png"]
    overlay = cv2.imread(str(out / "overlays" / "ng_0.png"))
    assert overlay.shape == (48, 48, 3) and not np.array_equal(overlay, part(True))
    assert (out / "ng" / "sub" / "ng_deep.jpg").read_bytes() == (
        source / "sub/ng_deep.jpg"
    ).read_bytes()
    assert sorted(p.name for p in (out / "ng").rglob("*.*")) == [
        "ng_0.png",
        "ng_1.png",
        "ng_deep.jpg",
    ]

    summary = json.loads((out / "summary.json").read_text())
    assert (summary["total"], summary["ok"], summary["ng"], summary["errors"]) == (6, 3, 3, 0)
    assert summary["ng_ids"] == ["ng_0.png", "ng_1.png", "sub/ng_deep.jpg"]
    assert summary["mean_ms"] > 0 and summary["p95_ms"] >= summary["mean_ms"] * 0.5
    assert summary["bundle_name"] == "tiny" and summary["failures"] == []
    exported = json.loads((out / "results.json").read_text())
    assert [r["frame_id"] for r in exported] == [r[0] for r in rows]
    assert exported[0]["overlay_path"] == str(out / "overlays" / "ng_0.png")
    assert exported[0]["image_path"] == str(out / "ng" / "ng_0.png")
    assert exported[2]["overlay_path"] is None and exported[2]["region_count"] == 0
    assert {"decode", "preprocess", "segmentation", "anomaly", "postprocess", "overlay"} <= set(
        exported[0]["timings_ms"]
    )
    csv_lines = (out / "results.csv").read_text().splitlines()
    assert len(csv_lines) == 7 and csv_lines[0].startswith("id,run_id,source,frame_id")
    printed = capsys.readouterr().out
    assert "NG 3" in printed and str(out / "results.csv") in printed


@pytest.mark.parametrize(("policy", "expected"), [("all", 3), ("none", 0)])
def test_overlay_policy(tmp_path, tiny_bundle, policy, expected):
    source = make_folder(tmp_path / "parts", ok=2, ng=1)
    out = tmp_path / "out"
    argv = [str(source), "--bundle", str(tiny_bundle), "--out", str(out), "--overlays", policy]
    assert main([*argv, "--no-progress"]) == 0
    assert len(list((out / "overlays").glob("*.png"))) == expected


def test_bad_inputs_are_recorded_and_the_run_goes_on(tmp_path, tiny_bundle, caplog):
    source = make_folder(tmp_path / "parts", ok=2, ng=1)
    good_bytes = (source / "ok_0.png").read_bytes()
    (source / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    (source / "empty.png").write_bytes(b"")
    (source / "truncated.png").write_bytes(good_bytes[: len(good_bytes) // 2])
    (source / "readme.txt").write_text("not an image")
    os.symlink(
        "unreadable", source / "unreadable"
    )  # a folder no stat can read (ELOOP), even as root
    out = tmp_path / "out"
    code = main([str(source), "--bundle", str(tiny_bundle), "--out", str(out), "--no-progress"])
    assert code == 1
    rows = {frame_id: (verdict, error) for frame_id, verdict, error in _rows(out)}
    assert {k for k, v in rows.items() if v[0] != "ERROR"} == {"ok_0.png", "ok_1.png", "ng_0.png"}
    assert "empty" in rows["empty.png"][1]
    assert "not a readable image" in rows["corrupt.png"][1]
    assert "not a readable image" in rows["truncated.png"][1]
    assert "symbolic links" in rows["unreadable"][1]
    assert "readme.txt" not in rows  # skipped by extension, not a failure
    summary = json.loads((out / "summary.json").read_text())
    assert summary["errors"] == 4 and summary["skipped_files"] == ["readme.txt"]
    assert {f["origin"] for f in summary["failures"]} == {
        str(source / name) for name in ["corrupt.png", "empty.png", "truncated.png", "unreadable"]
    }
    logged = caplog.text
    assert f"{source / 'empty.png'}: file is empty" in logged
    assert str(source / "truncated.png") in logged


def test_non_image_file_as_source_fails_with_exit_1(tmp_path, tiny_bundle):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    out = tmp_path / "out"
    assert main([str(text), "--bundle", str(tiny_bundle), "--out", str(out), "--no-progress"]) == 1
    ((frame_id, verdict, error),) = _rows(out)
    assert (frame_id, verdict) == ("notes.txt", "ERROR") and "not a readable image" in error


def test_unwritable_output_folder_exits_2_naming_it(tmp_path, tiny_bundle, caplog):
    # Root ignores permission bits, so use a path below a regular file: no one can create it.
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    source = make_folder(tmp_path / "parts", ok=1, ng=0)
    code = main([str(source), "--bundle", str(tiny_bundle), "--out", str(blocker / "out")])
    assert code == 2
    assert f"{blocker / 'out'}: output folder cannot be written" in caplog.text


def test_bad_bundle_and_missing_source_exit_2(tmp_path, tiny_bundle, caplog):
    source = make_folder(tmp_path / "parts", ok=1, ng=0)
    (tiny_bundle / "manifest.json").write_text("{not json")
    assert main([str(source), "--bundle", str(tiny_bundle), "--out", str(tmp_path / "o1")]) == 2
    assert "manifest.json: not valid JSON" in caplog.text
    good = make_tiny_bundle(tmp_path / "good")
    assert (
        main([str(tmp_path / "nowhere"), "--bundle", str(good), "--out", str(tmp_path / "o2")]) == 2
    )
    assert f"{tmp_path / 'nowhere'}: not found" in caplog.text


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["somewhere"])  # --bundle and --out missing
    assert exit_info.value.code == 2
    assert "--bundle" in capsys.readouterr().err


def test_another_bundle_on_the_same_out_folder_inspects_anew_and_counts_its_own(
    tmp_path, tiny_bundle
):
    """A recipe switch puts two bundles in one store: resume and summaries go by bundle."""
    source = make_folder(tmp_path / "parts", ok=1, ng=1)
    out = tmp_path / "out"
    first = run_batch(Inspector(load_bundle(tiny_bundle), "cpu"), source, out)
    other = make_tiny_bundle(tmp_path / "other", segmentation=False)
    second = run_batch(Inspector(load_bundle(other), "cpu"), source, out)
    again = run_batch(Inspector(load_bundle(other), "cpu"), source, out)
    assert (first.inspected, second.inspected, again.inspected) == (2, 2, 0)
    assert (second.total, again.total, again.resumed) == (2, 2, 2)
    with ResultStore(out / "results.sqlite") as store:
        digests = [r.bundle_digest for r in store.records()]
    assert len(digests) == 4 and len(set(digests)) == 2


def test_cancelled_run_resumes_without_repeats_or_losses(tmp_path, inspector):
    source = make_folder(tmp_path / "parts", ok=6, ng=4)
    out = tmp_path / "out"
    cancel = threading.Event()
    seen = []

    def on_progress(item):
        seen.append(item)
        if item.done == 4:
            cancel.set()

    first = run_batch(inspector, source, out, progress=on_progress, cancel=cancel)
    assert first.cancelled and first.inspected == 4 and len(_rows(out)) == 4
    assert [p.total for p in seen] == [10] * 4 and seen[-1].done == 4
    second = run_batch(inspector, source, out)
    assert not second.cancelled and (second.inspected, second.resumed) == (6, 4)
    frame_ids = [r[0] for r in _rows(out)]
    assert sorted(frame_ids) == sorted(p.name for p in source.iterdir())
    assert len(frame_ids) == len(set(frame_ids)) == 10
    assert (second.total, second.ok, second.ng) == (10, 6, 4)
    third = run_batch(inspector, source, out)
    assert (third.inspected, third.resumed, third.mean_ms) == (0, 10, None)


def test_killed_cli_resumes_each_image_exactly_once(tmp_path, tiny_bundle):
    source = make_folder(tmp_path / "parts", ok=250, ng=50)
    out = tmp_path / "out"
    command = [
        sys.executable, "-m", "engine.cli", str(source), "--bundle", str(tiny_bundle),
        "--out", str(out), "--no-progress",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, cwd=REPO, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    done = 0
    while time.monotonic() < deadline and process.poll() is None:
        if (out / "results.sqlite").exists():
            try:
                done = len(_rows(out))
            except sqlite3.OperationalError:  # schema not created yet
                done = 0
            if done >= 5:
                break
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    interrupted = len(_rows(out))
    assert 5 <= interrupted < 300, "the run was not stopped halfway"
    subprocess.run(command, cwd=REPO, env=env, check=False, capture_output=True, timeout=120)
    frame_ids = [r[0] for r in _rows(out)]
    assert len(frame_ids) == len(set(frame_ids)) == 300
    assert set(frame_ids) == {p.name for p in source.iterdir()}
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["resumed"], summary["total"], summary["ng"]) == (interrupted, 300, 50)


def test_video_source_inspects_every_frame(tmp_path, inspector):
    path = tmp_path / "line.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5, (48, 48))
    for i in range(6):
        writer.write(part(ng=i % 3 == 0))
    writer.release()
    summary = run_batch(inspector, path, tmp_path / "out")
    assert summary.ng_ids == ["0", "3"] and (summary.total, summary.ok) == (6, 4)
    with ResultStore(tmp_path / "out" / "results.sqlite") as store:
        records = store.records()
    assert [r.frame_time for r in records] == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    archived = cv2.imread(str(tmp_path / "out" / "ng" / "3.png"))
    assert archived.shape == (48, 48, 3) and archived.max() > 200


def test_camera_drop_out_is_reported_not_raised(tmp_path, inspector):
    path = tmp_path / "camera.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5, (48, 48))
    for _ in range(3):
        writer.write(part(ng=False))
    writer.release()
    camera = CameraSource(str(path), retries=1, retry_delay=0.01)  # the video stands in
    summary = run_batch(inspector, camera, tmp_path / "out")
    assert summary.failed and "stopped delivering frames" in summary.source_error
    # latest frame wins on a live source: each frame inspected or counted as dropped
    assert summary.inspected + summary.dropped == 3 and summary.resumed == 0
    assert summary.ok == summary.inspected >= 1
    *frame_ids, loss = [r[0] for r in _rows(tmp_path / "out")]
    assert loss == "-"  # the drop-out itself is logged in the store, after the last part
    assert all(i.startswith(f"{summary.run_id}/") for i in frame_ids)  # unique across runs
    assert frame_ids[-1] == f"{summary.run_id}/2"  # the newest frame is never the one dropped


def test_watched_folder_inspects_new_images_until_cancelled(tmp_path, inspector):
    source = make_folder(tmp_path / "parts", ok=1, ng=0)
    cancel = threading.Event()
    seen: list[str] = []
    summary = {}

    def on_progress(item):
        seen.append(item.frame_id)
        if item.frame_id == "ok_0.png":  # the line delivers a new part while we watch
            cv2.imwrite(str(source / "ng_new.png"), part(True))
        if item.frame_id == "ng_new.png":
            cancel.set()

    def work():
        summary["result"] = run_batch(
            inspector, source, tmp_path / "out", watch=True, poll_interval=0.02,
            progress=on_progress, cancel=cancel,
        )  # fmt: skip

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "watching run did not stop when cancelled"
    assert seen == ["ok_0.png", "ng_new.png"]
    assert summary["result"].cancelled and summary["result"].ng_ids == ["ng_new.png"]


def test_cli_ctrl_c_stops_gracefully_and_writes_reports(tmp_path, tiny_bundle):
    source = make_folder(tmp_path / "parts", ok=2, ng=1)
    out = tmp_path / "out"
    command = [
        sys.executable, "-m", "engine.cli", str(source), "--bundle", str(tiny_bundle),
        "--out", str(out), "--watch", "--poll-interval", "0.05", "--no-progress",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if len(_rows(out)) == 3:
                break
        except sqlite3.OperationalError:  # database not created yet
            pass
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, _ = process.communicate(timeout=30)
    assert process.returncode == 0  # with --watch, Ctrl-C is the normal end
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cancelled"] and summary["total"] == 3 and summary["ng"] == 1
    assert (out / "results.csv").exists() and "NG 1" in stdout


def test_a_second_station_on_the_same_output_folder_is_refused(tmp_path, tiny_bundle):
    """Two writers would store every frame twice (issue 13, case 1): the second one is refused
    at once, naming the folder and who holds it; once the first is gone, it runs."""
    source = make_folder(tmp_path / "parts", ok=1, ng=1)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "engine.cli", str(source), "--bundle", str(tiny_bundle)]
    command += ["--out", str(out), "--no-progress"]
    with open_store(out):  # the first station, still running
        refused = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert refused.returncode == 2
        assert str(out) in refused.stderr and "in use by station process" in refused.stderr
        assert str(os.getpid()) in refused.stderr
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(_rows(out)) == 2  # each frame once
