"""The station window, offscreen, on the tiny bundle (bright blobs are defects).

Real onnxruntime, SQLite, OpenCV and Qt; QSettings live in an INI file under tmp_path so the
user's own settings are never touched.
"""

import csv
import dataclasses
import itertools
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt, QThread
from PySide6.QtWidgets import QApplication, QMessageBox

from engine.acquisition import LatestFrame, SourceEnded
from engine.store import ResultStore
from engine.users import Level, save_users
from gui.main_window import MainWindow
from gui.settings import StationSettings
from tests import parts

RUN_TIMEOUT_MS = 20_000


def part(defect: bool, size: int = 96) -> np.ndarray:
    """A dark part; a defect is a bright 16x16 blob (NG for both tiny models)."""
    image = np.full((size, size, 3), 70, np.uint8)
    cv2.circle(image, (size // 2, size // 2), size // 3, (110, 110, 110), -1)
    if defect:
        image[20:36, 30:46] = 250
    return image


def write_parts(folder: Path, verdicts: str) -> Path:
    """Images named in order, NG where `verdicts` has 'N' (e.g. 'OONON')."""
    return parts.write_parts(folder, verdicts, draw=part)


def ini_settings(tmp_path: Path) -> QSettings:
    """QSettings in an INI file under tmp_path: the user's own settings are never touched."""
    return QSettings(str(tmp_path / "station.ini"), QSettings.Format.IniFormat)


def open_window(
    qtbot, qsettings: QSettings, bundle: Path | None, output: Path, **settings_values
) -> MainWindow:
    """The window on `bundle` (None: the default recipe's, with `recipes_file=` among the
    `settings_values`, which are set on its StationSettings first), loaded."""
    settings = StationSettings.load(qsettings)
    settings.output_dir = str(output)
    if bundle is not None:
        settings.bundle = str(bundle)
    for name, value in settings_values.items():
        setattr(settings, name, value)
    window = MainWindow(qsettings, settings)
    qtbot.addWidget(window)
    window.load_bundle(window.bundle_path() if bundle is None else str(bundle))
    qtbot.waitUntil(lambda: window.inspector is not None, timeout=RUN_TIMEOUT_MS)
    return window


def opened_window(
    qtbot, qsettings: QSettings, bundle: Path, output: Path, **settings_values
) -> Iterator[MainWindow]:
    """A `window` fixture's body (`yield from`): open_window, then closed, its threads ended."""
    window = open_window(qtbot, qsettings, bundle, output, **settings_values)
    yield window
    window.close()
    assert not window.threads


@pytest.fixture()
def window(qtbot, qsettings, tiny_bundle, tmp_path) -> Iterator[MainWindow]:
    yield from opened_window(qtbot, qsettings, tiny_bundle, tmp_path / "out")


USER_PASSWORD = "s3cret-pw"


def log_in(window: MainWindow, level: Level = Level.ENGINEER) -> None:
    """Log in as a user of `level` (named after it), added to the users file on first use."""
    book = window.access.session.book
    if level.label not in book.users:
        book.add(level.label, level, USER_PASSWORD)
        save_users(book)
    window.access.session.login(level.label, USER_PASSWORD)


def open_engineer_settings(window: MainWindow):
    """Logged in as an engineer, as one would be."""
    log_in(window)
    window.open_settings()
    assert window.settings_dialog is not None and window.settings_dialog.isVisible()
    return window.settings_dialog


def run_to_end(qtbot, window: MainWindow, source: Path | str) -> None:
    window.set_source(str(source))
    assert window.start()
    qtbot.waitUntil(lambda: window.run is None, timeout=RUN_TIMEOUT_MS)
    qtbot.wait(2 * 33)  # let the throttled display show the last result


def test_folder_run_shows_verdicts_counters_and_history(qtbot, window, tmp_path):
    folder = write_parts(tmp_path / "parts", "OONONO")
    run_to_end(qtbot, window, folder)

    counts = window.counters.counts
    assert (counts.ok, counts.ng, counts.errors) == (4, 2, 0)
    assert window.counters.values["total"].text() == "6"
    assert window.counters.values["yield"].text() == "66.7 %"
    assert window.history.recent.count() == 6
    assert window.history.ng.count() == 2
    assert all(e.verdict == "NG" for e in window.history.ng.entries())
    # The newest result is on screen: part_05 is OK.
    assert window.verdict.banner.verdict == "OK"
    assert window.current.frame.id == "part_05.png"
    assert window.batch.bar.value() == window.batch.bar.maximum() == 6
    assert window.view.has_image
    rows = window.results.records()
    assert [r.verdict for r in rows] == ["OK", "OK", "NG", "OK", "NG", "OK"]


def test_results_export_as_csv_and_json(qtbot, window, tmp_path):
    run_to_end(qtbot, window, write_parts(tmp_path / "parts", "ONO"))
    window.export_to("csv", str(tmp_path / "r.csv"))
    window.export_to("json", str(tmp_path / "r.json"))
    with (tmp_path / "r.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["verdict"] for r in rows] == ["OK", "NG", "OK"]
    records = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert [r["frame_id"] for r in records] == ["part_00.png", "part_01.png", "part_02.png"]
    window.export_to("csv", str(tmp_path / "missing" / "r.csv"))  # a folder that is not there
    assert any("Export to" in m for m in window.errors.messages)


def test_history_click_shows_that_result_again(qtbot, window, tmp_path):
    run_to_end(qtbot, window, write_parts(tmp_path / "parts", "NO"))
    assert window.verdict.banner.verdict == "OK"
    ng_item = window.history.ng.item(0)
    window.history.ng.itemClicked.emit(ng_item)
    assert window.verdict.banner.verdict == "NG"
    assert window.current.frame.id == "part_00.png"


def test_threshold_change_updates_the_verdict_on_screen(qtbot, window, tmp_path):
    image = tmp_path / "one.png"
    cv2.imwrite(str(image), part(defect=True))
    run_to_end(qtbot, window, image)
    assert window.verdict.banner.verdict == "NG"
    before = window.view.grab().toImage()

    dialog = open_engineer_settings(window)
    dialog.image_threshold.setValue(0.999)  # above the blob's score of 0.98
    assert window.verdict.banner.verdict == "NG"  # the segmentation still finds the blob
    dialog.min_area.setValue(1000)  # larger than the 16x16 blob
    assert window.verdict.banner.verdict == "OK"
    assert window.thresholds.min_defect_area_px == 1000
    assert window.view.grab().toImage() != before  # the overlay was redrawn without the mask

    # the next part, the same defect, is judged with them while the dialog is still open
    cv2.imwrite(str(tmp_path / "two.png"), part(defect=True))
    run_to_end(qtbot, window, tmp_path / "two.png")
    assert window.current.frame.id == "two.png" and window.verdict.banner.verdict == "OK"
    assert window.current.result.thresholds.min_defect_area_px == 1000
    two = window.results.records()[-1]
    assert (two.frame_id, two.verdict, two.threshold) == ("two.png", "OK", pytest.approx(0.999))
    assert two.region_count == 0

    dialog.reject()  # cancel restores the bundle's thresholds and the NG verdict
    assert window.verdict.banner.verdict == "NG"
    assert window.thresholds.min_defect_area_px == 4
    cv2.imwrite(str(tmp_path / "three.png"), part(defect=True))
    run_to_end(qtbot, window, tmp_path / "three.png")  # and so does the next part
    three = window.results.records()[-1]
    assert (three.frame_id, three.verdict, three.threshold) == ("three.png", "NG", 0.8)
    assert window.current.result.thresholds.min_defect_area_px == 4


def test_accepted_thresholds_persist_for_the_bundle(qtbot, qsettings, tiny_bundle, tmp_path):
    window = open_window(qtbot, qsettings, tiny_bundle, tmp_path / "out")
    dialog = open_engineer_settings(window)
    dialog.image_threshold.setValue(0.9)
    dialog.accept()
    window.close()

    again = open_window(qtbot, qsettings, tiny_bundle, tmp_path / "out")
    assert again.thresholds.image_threshold == pytest.approx(0.9)
    again.close()


def test_settings_switch_bundle_provider_and_output(qtbot, window, tmp_path):
    from training.tiny_bundle import make_tiny_bundle

    seg_only = make_tiny_bundle(tmp_path / "seg_only", anomaly=False)
    old_inspector = window.inspector
    new = dataclasses.replace(
        window.settings, bundle=str(seg_only), provider="cpu", output_dir=str(tmp_path / "out2")
    )
    window.apply_settings(new)
    qtbot.waitUntil(
        lambda: window.inspector is not None and window.inspector is not old_inspector,
        timeout=RUN_TIMEOUT_MS,
    )
    assert window.inspector.bundle.anomaly is None
    assert window.thresholds.image_threshold is None
    assert window.status.labels["provider"].text() == "provider CPU"
    assert window.results.path == tmp_path / "out2" / "results.sqlite"
    assert StationSettings.load(window.qsettings).bundle == str(seg_only)

    run_to_end(qtbot, window, write_parts(tmp_path / "parts", "N"))
    assert window.verdict.banner.verdict == "NG"  # the segmentation alone finds the blob
    dialog = open_engineer_settings(window)
    assert not dialog.image_threshold.isEnabled()
    assert dialog.min_area.isEnabled()
    dialog.reject()


def test_corrupt_image_shows_the_error_panel_and_the_run_goes_on(qtbot, window, tmp_path):
    folder = write_parts(tmp_path / "parts", "ONO")
    (folder / "part_01b.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    run_to_end(qtbot, window, folder)

    assert window.errors.isVisibleTo(window)
    assert any("part_01b.png" in m for m in window.errors.messages)
    counts = window.counters.counts
    assert (counts.ok, counts.ng, counts.errors) == (2, 1, 1)
    assert window.history.recent.count() == 3
    failures = [r for r in window.results.records() if r.verdict == "ERROR"]
    assert len(failures) == 1 and failures[0].frame_id == "part_01b.png"
    window.errors.dismiss_all()
    assert not window.errors.isVisibleTo(window)


def write_video(path: Path, frames: int, fps: float = 30.0) -> Path:
    return parts.write_video(path, frames, fps, draw=part)


def test_video_file_stands_in_for_a_camera(qtbot, window, tmp_path):
    video = write_video(tmp_path / "line.avi", frames=24, fps=30)
    window.act_video_live.trigger()  # Run › Play videos as a live camera
    assert window.settings.video_as_camera
    started = time.monotonic()
    run_to_end(qtbot, window, video)
    assert time.monotonic() - started >= 0.9 * 23 / 30  # frames came at the video's own rate

    counts = window.counters.counts
    dropped = int(window.status.labels["dropped"].text().split()[-1])
    assert counts.ok + counts.ng + dropped == 24  # every frame inspected or counted as dropped
    assert counts.ng >= 1 and counts.ok >= 1
    assert window.status.labels["provider"].text() == "provider CPU"
    assert window.status.labels["latency"].text().endswith(" ms")
    assert len(window.results.records()) == counts.ok + counts.ng


def test_a_video_file_is_inspected_frame_by_frame_by_default(qtbot, window, tmp_path):
    """The same choice as `station inspect`: a recording is a batch, no frame left out."""
    video = write_video(tmp_path / "line.avi", frames=12, fps=30)
    run_to_end(qtbot, window, video)
    rows = window.results.records()
    assert [r.frame_id for r in rows] == [str(i) for i in range(12)]
    assert window.counters.counts.total == 12


def test_a_camera_that_disappears_is_reported(qtbot, window, tmp_path):
    """A video read as a camera stops delivering frames at its end, as an unplugged one does."""
    from engine.sources import CameraSource

    video = write_video(tmp_path / "cam.avi", frames=5)
    with qtbot.waitSignal(window.bridge.source_lost, timeout=RUN_TIMEOUT_MS) as failure:
        assert window.start(source=CameraSource(str(video), retries=1, retry_delay=0.01))
    assert "stopped delivering frames" in failure.args[0]
    qtbot.waitUntil(lambda: window.run is None, timeout=RUN_TIMEOUT_MS)
    assert window.verdict.banner.verdict == "error"
    assert window.history.recent.count() >= 1  # frames before the drop-out were inspected
    assert window.station.state.value == "Error"
    run_to_end(qtbot, window, write_parts(tmp_path / "parts", "N"))  # Start acknowledges it
    assert window.verdict.banner.verdict == "NG"


def test_a_camera_that_cannot_open_leaves_the_station_running(qtbot, window, tmp_path):
    run_to_end(qtbot, window, "99")  # no such camera
    assert any("camera 99" in m for m in window.errors.messages)
    assert window.verdict.banner.verdict == "error"
    run_to_end(qtbot, window, write_parts(tmp_path / "parts", "N"))
    assert window.verdict.banner.verdict == "NG"
    assert any(r.origin == "99" for r in window.results.records() if r.verdict == "ERROR")


def test_latest_frame_wins_and_drops_are_counted():
    from engine.sources import Frame

    mailbox = LatestFrame()
    for index in range(3):
        mailbox.put(Frame(str(index), 0.0, "camera"))
    assert mailbox.take(0.01).id == "2"
    assert mailbox.dropped == 2
    assert mailbox.take(0.01) is None
    mailbox.end()
    with pytest.raises(SourceEnded):
        mailbox.take(0.01)


def test_closing_the_window_stops_the_worker(qtbot, qsettings, tiny_bundle, tmp_path):
    window = open_window(qtbot, qsettings, tiny_bundle, tmp_path / "out")
    window.set_source(str(write_video(tmp_path / "long.avi", frames=300, fps=30)))
    assert window.start()
    qtbot.waitUntil(lambda: window.counters.counts.total >= 2, timeout=RUN_TIMEOUT_MS)
    threads: list[QThread] = list(window.threads)
    assert threads and all(t.isRunning() for t in threads)

    window.close()

    assert all(t.isFinished() for t in threads)
    assert not window.threads
    assert not [t for t in threading.enumerate() if t.name == "frame-reader"]  # joined too
    assert window.counters.counts.total < 300  # it really stopped early


def test_single_step_inspects_one_frame_at_a_time(qtbot, window, tmp_path):
    window.set_source(str(write_parts(tmp_path / "parts", "ONOO")))
    window.step()
    qtbot.waitUntil(lambda: window.counters.counts.total == 1, timeout=RUN_TIMEOUT_MS)
    qtbot.wait(200)
    assert window.counters.counts.total == 1  # paused after the step
    window.step()
    qtbot.waitUntil(lambda: window.counters.counts.total == 2, timeout=RUN_TIMEOUT_MS)
    assert window.counters.counts.ng == 1
    window.stop()
    qtbot.waitUntil(lambda: window.run is None, timeout=RUN_TIMEOUT_MS)
    assert window.counters.counts.total == 2


def test_counters_survive_a_restart_and_reset_asks_first(
    qtbot, qsettings, tiny_bundle, tmp_path, monkeypatch
):
    output = tmp_path / "out"
    window = open_window(qtbot, qsettings, tiny_bundle, output)
    run_to_end(qtbot, window, write_parts(tmp_path / "parts", "ONN"))
    window.close()

    window = open_window(qtbot, qsettings, tiny_bundle, output)
    assert (window.counters.counts.ok, window.counters.counts.ng) == (1, 2)
    log_in(window)  # an operator may not reset the counters
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    window.counters.reset_button.click()
    assert window.counters.counts.ng == 2  # the operator said no
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    window.counters.reset_button.click()
    assert window.counters.values["total"].text() == "0"
    window.close()

    window = open_window(qtbot, qsettings, tiny_bundle, output)
    assert window.counters.counts.ok + window.counters.counts.ng == 0
    assert len(ResultStore(output / "results.sqlite").records()) == 3  # the rows stay
    window.close()


def test_ng_images_are_archived_to_the_output_folder(qtbot, window, tmp_path):
    run_to_end(qtbot, window, write_parts(tmp_path / "parts", "ON"))
    rows = {r.frame_id: r for r in window.results.records()}
    assert rows["part_00.png"].image_path is None
    archived = Path(rows["part_01.png"].image_path)
    assert archived.is_file() and Path(rows["part_01.png"].overlay_path).is_file()
    assert archived.is_relative_to(tmp_path / "out")


def test_a_folder_run_passes_over_images_this_bundle_already_inspected(qtbot, window, tmp_path):
    folder = write_parts(tmp_path / "parts", "ONO")
    run_to_end(qtbot, window, folder)
    for name, ng in (("part_03.png", False), ("part_04.png", True)):  # the line added two
        cv2.imwrite(str(folder / name), part(ng))

    assert window.start(paused=True)
    assert window.batch.label.text() == "Folder run: parts (3 inspected before, passed over)"
    window.toggle_pause()
    qtbot.waitUntil(lambda: window.run is None, timeout=RUN_TIMEOUT_MS)
    frames = [r.frame_id for r in window.results.records()]
    assert frames[3:] == ["part_03.png", "part_04.png"] and len(frames) == 5
    assert window.batch.label.text() == "Last run done: 2 frame(s)"

    window.act_skip.trigger()  # the engineer wants the whole folder again
    assert StationSettings.load(window.qsettings).skip_inspected is False
    run_to_end(qtbot, window, folder)
    assert len(window.results.records()) == 10


def test_a_watched_folder_is_inspected_as_images_arrive(qtbot, qsettings, tiny_bundle, tmp_path):
    folder = write_parts(tmp_path / "line", "O")
    # the station's output folder sits inside the watched one: its archive must not be re-read
    window = open_window(qtbot, qsettings, tiny_bundle, folder / "station-out")
    window.settings.archive = "all"
    window.act_watch.trigger()
    assert StationSettings.load(qsettings).watch_folder is True
    window.set_source(str(folder))
    assert window.start()
    qtbot.waitUntil(lambda: len(window.results.records()) == 1, timeout=RUN_TIMEOUT_MS)

    cv2.imwrite(str(folder / "part_01.png"), part(True))
    qtbot.waitUntil(lambda: len(window.results.records()) == 2, timeout=RUN_TIMEOUT_MS)
    qtbot.wait(1500)  # three polls: archived copies would have been picked up by now
    rows = window.results.records()
    assert [(r.frame_id, r.verdict) for r in rows] == [("part_00.png", "OK"), ("part_01.png", "NG")]
    assert all(Path(r.image_path).is_relative_to(folder / "station-out") for r in rows)
    assert window.run is not None  # still watching
    assert window.batch.label.text().endswith("2 inspected")
    window.stop()
    window.close()
    assert not window.threads


def test_overlay_mode_redraws_the_current_image(qtbot, window, tmp_path):
    image = tmp_path / "one.png"
    cv2.imwrite(str(image), part(defect=True))
    run_to_end(qtbot, window, image)
    from engine.overlay import MODES, render_overlay
    from gui.image_view import bgr_to_qimage

    frame, result = window.current.frame.image, window.current.result
    shown = {}
    for index in [*range(1, window.mode_box.count()), 0]:  # each change of mode, the first last
        window.mode_box.setCurrentIndex(index)
        mode = window.mode_box.currentData()
        opacity = window.display.opacity
        assert window.current.overlay == bgr_to_qimage(
            render_overlay(frame, result, mode, opacity, banner=False)
        ), mode
        shown[mode] = window.current.overlay
    assert sorted(shown) == sorted(MODES)
    for a, b in itertools.combinations(MODES, 2):
        assert shown[a] != shown[b], (a, b)
    assert shown["none"] == bgr_to_qimage(frame)  # the image as it is
    window.opacity.setValue(100)
    assert window.station.display.opacity == 1.0
    mode = window.mode_box.currentData()
    assert window.current.overlay == bgr_to_qimage(
        render_overlay(frame, result, mode, 1.0, banner=False)
    )
    assert window.current.overlay != shown[mode]  # redrawn at the new opacity


def test_a_bundle_that_fails_to_load_is_shown_and_logged(qtbot, qsettings, tiny_bundle, tmp_path):
    (tiny_bundle / "manifest.json").write_text("{ not json", encoding="utf-8")
    settings = StationSettings.load(qsettings)
    settings.bundle, settings.output_dir = str(tiny_bundle), str(tmp_path / "out")
    window = MainWindow(qsettings, settings)
    qtbot.addWidget(window)
    window.load_bundle(str(tiny_bundle))
    qtbot.waitUntil(lambda: bool(window.errors.messages), timeout=5000)
    assert window.inspector is None and window.loader is None
    assert "manifest.json" in window.errors.messages[0]
    assert window.verdict.banner.verdict == "error"
    assert not window.start()  # refuses to run, with a message, and does not crash
    failures = [r for r in window.results.records() if r.verdict == "ERROR"]
    assert any("manifest.json" in (r.error or "") for r in failures)
    (switch,) = window.results.recipe_switches()  # the core stored the failed load
    assert "manifest.json" in switch.error and switch.requested_by == "window"
    window.close()


def test_a_new_bundle_that_fails_to_load_keeps_the_one_in_use(qtbot, window, tmp_path):
    from training.tiny_bundle import make_tiny_bundle

    broken = make_tiny_bundle(tmp_path / "broken")
    (broken / "manifest.json").write_text("{ not json", encoding="utf-8")
    before = window.inspector
    window.apply_settings(dataclasses.replace(window.settings, bundle=str(broken)))
    qtbot.waitUntil(lambda: bool(window.errors.messages), timeout=5000)
    assert "manifest.json" in window.errors.messages[-1]
    assert "still inspecting with recipe" in window.errors.messages[-1]
    assert window.inspector is before and window.station.active.inspector is before
    run_to_end(qtbot, window, write_parts(tmp_path / "parts", "N"))
    assert window.verdict.banner.verdict == "NG"


def test_operator_mode_shows_only_what_the_operator_needs(qtbot, window):
    window.show()
    window.set_operator_mode(True)
    assert window.operator_mode and window.isFullScreen()
    assert not window.toolbar.isVisible() and not window.history.isVisible()
    assert window.big_start.isVisible() and window.counters.isVisible()
    assert window.act_run.shortcut().toString() == "Space"
    window.leave_modes()
    assert not window.operator_mode and not window.isFullScreen()


def test_shortcuts_dialog_lists_the_main_keys(qtbot, window):
    from gui.help_dialog import ShortcutsDialog

    dialog = ShortcutsDialog(window.actions(), window)
    keys = {dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())}
    assert {"Space", "S", "F11", "F10", "F1"} <= keys


def test_pyside_build_keeps_none_alive(qapp):
    """A PySide6 build that leaks None references would crash the station within minutes."""
    from gui.app import pyside_drops_none_references

    assert not pyside_drops_none_references(), "pin pyside6-essentials<6.12 (see gui/app.py)"


def test_station_inspect_runs_without_qt(tiny_bundle, tmp_path):
    folder = write_parts(tmp_path / "parts", "ON")
    code = (
        "import sys; from gui.launcher import main; rc = main(sys.argv[1:]); "
        "assert not any(m.startswith('PySide6') for m in sys.modules), 'Qt imported'; "
        "sys.exit(rc)"
    )
    args = [str(folder), "--bundle", str(tiny_bundle), "--out", str(tmp_path / "o")]
    done = subprocess.run(
        [sys.executable, "-c", code, "inspect", *args, "--no-progress"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "o" / "results.sqlite").is_file()


def test_dropping_a_folder_on_the_window_makes_it_the_source(qtbot, window, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    folder = write_parts(tmp_path / "dropped", "O")
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(folder))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    log_in(window)  # an operator may not change the source
    window.dropEvent(event)
    assert window.source == str(folder)
    assert window.qsettings.value("station/last_source") == str(folder)
    assert "dropped" in window.source_label.text()


def test_keyboard_space_starts_and_stops(qtbot, window, tmp_path):
    window.show()
    window.windowHandle().requestActivate()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    window.set_source(str(write_video(tmp_path / "v.avi", frames=300)))
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.running
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not window.running
    assert window.act_run.text() == "&Start"


def test_a_source_given_at_start_is_inspected_once_the_bundle_loads(
    qtbot, qsettings, tiny_bundle, tmp_path
):
    settings = StationSettings.load(qsettings)
    settings.output_dir = str(tmp_path / "out")
    settings.last_source = str(write_parts(tmp_path / "parts", "ON"))
    window = MainWindow(qsettings, settings)
    qtbot.addWidget(window)
    window.start_when_loaded = True
    window.load_bundle(str(tiny_bundle))
    qtbot.waitUntil(
        lambda: window.counters.counts.ok + window.counters.counts.ng == 2, timeout=RUN_TIMEOUT_MS
    )
    assert (window.counters.counts.ok, window.counters.counts.ng) == (1, 1)
    assert not window.start_when_loaded
    window.close()
    assert not window.threads


def test_the_window_and_the_cli_store_the_same_rows_for_a_folder(qtbot, window, tmp_path):
    """Both drive the one station core: same verdicts, ids, timings and archived bytes."""
    from engine.cli import main as inspect_main

    folder = write_parts(tmp_path / "parts", "ONNO")
    cli_out = tmp_path / "cli"
    bundle = window.settings.bundle
    assert (
        inspect_main([str(folder), "--bundle", bundle, "--out", str(cli_out), "--no-progress"]) == 0
    )
    run_to_end(qtbot, window, folder)
    with ResultStore(cli_out / "results.sqlite") as store:
        cli_rows = store.records()
    gui_rows = window.results.records()

    def comparable(rows):
        return [
            (r.frame_id, r.verdict, r.source, r.bundle_digest, r.region_count, r.error)
            for r in rows
        ]

    assert comparable(gui_rows) == comparable(cli_rows)
    for gui_row, cli_row in zip(gui_rows, cli_rows, strict=True):
        assert gui_row.score == pytest.approx(cli_row.score)
        for row in (gui_row, cli_row):
            assert {"decode", "preprocess", "postprocess"} <= set(row.timings_ms)
            assert row.latency_ms is not None and row.latency_ms > 0
            assert row.recipe_id  # every part names the recipe it was judged with
        if gui_row.verdict == "NG":  # NG originals archived byte for byte by both
            original = (folder / gui_row.frame_id).read_bytes()
            assert Path(gui_row.image_path).read_bytes() == original
            assert Path(cli_row.image_path).read_bytes() == original
    assert [r.id for r in gui_rows] == sorted(r.id for r in gui_rows)  # result ids increase


def test_software_trigger_inspects_one_part_per_trigger_with_its_part_id(qtbot, window, tmp_path):
    folder = write_parts(tmp_path / "parts", "ONO")
    assert not window.part_id_action.isVisible() and not window.act_trigger.isVisible()
    window.trigger_box.setCurrentIndex(window.trigger_box.findData("software"))
    assert window.part_id_action.isVisible() and window.act_trigger.isVisible()
    assert StationSettings.load(window.qsettings).trigger_mode == "software"
    assert window.act_trigger.shortcut().toString() == "Space"  # Space triggers now
    assert window.act_run.shortcut().toString() == "Ctrl+Space"
    window.set_source(str(folder))
    assert window.start()
    qtbot.waitUntil(lambda: window.station.taking_triggers, timeout=RUN_TIMEOUT_MS)
    qtbot.wait(100)  # the run is waiting for triggers: nothing inspected by itself
    assert window.counters.counts.total == 0
    window.part_id.setText("SN-0001")  # a barcode scanner types the id and Enter
    qtbot.keyClick(window.part_id, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.counters.counts.total == 1, timeout=RUN_TIMEOUT_MS)
    assert window.part_id.text() == ""  # a part id goes with one trigger only
    qtbot.waitUntil(lambda: window.station.taking_triggers, timeout=RUN_TIMEOUT_MS)
    window.show()
    window.windowHandle().requestActivate()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    window.view.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_Space)  # the operator's key (or the foot pedal's)
    qtbot.waitUntil(lambda: window.counters.counts.total == 2, timeout=RUN_TIMEOUT_MS)
    rows = window.results.records()
    assert [(r.frame_id, r.verdict, r.part_id) for r in rows] == [
        ("part_00.png", "OK", "SN-0001"),
        ("part_01.png", "NG", None),
    ]
    assert all(r.trigger_time is not None and r.latency_ms > 0 for r in rows)
    qtbot.waitUntil(  # Ready follows the result: the station is free before it says so
        lambda: window.status.labels["state"].text() == "Operational/Ready",
        timeout=RUN_TIMEOUT_MS,
    )
    window.stop()
    qtbot.waitUntil(lambda: not window.station.running, timeout=RUN_TIMEOUT_MS)
    assert not window.send_trigger()  # no run: nothing to trigger, and nothing stored
    assert window.counters.counts.total == 2


def test_a_trigger_while_busy_is_counted_as_missed(qtbot, window, tmp_path):
    window.trigger_box.setCurrentIndex(window.trigger_box.findData("software"))
    window.set_source(str(write_parts(tmp_path / "parts", "OOOOOO")))
    assert window.start()
    qtbot.waitUntil(lambda: window.station.taking_triggers, timeout=RUN_TIMEOUT_MS)
    sent = [window.send_trigger() for _ in range(5)]  # faster than any inspection
    assert sent[0] and not all(sent)
    taken = sum(sent)
    qtbot.waitUntil(lambda: window.counters.counts.total == taken, timeout=RUN_TIMEOUT_MS)
    missed = window.results.missed_triggers()
    assert len(missed) == 5 - taken and all("busy" in m.reason for m in missed)
    qtbot.waitUntil(
        lambda: window.status.labels["missed"].text() == f"missed {5 - taken}",
        timeout=RUN_TIMEOUT_MS,
    )
    window.stop()


def test_recipes_from_the_recipe_file_switch_bundle_and_thresholds(
    qtbot, qsettings, tiny_bundle, tmp_path
):
    from engine.recipes import load_recipes
    from training.tiny_bundle import make_tiny_bundle

    make_tiny_bundle(tmp_path / "anomaly_only", segmentation=False)
    recipes = tmp_path / "recipes.toml"
    recipes.write_text(
        'default = "nut"\n'
        f'[recipes.nut]\nname = "Metal nut"\nbundle = "{tiny_bundle}"\n'
        '[recipes.strict]\nbundle = "anomaly_only"\n'
        "[recipes.strict.thresholds]\nimage_threshold = 1000.0\n"  # nothing is NG
        '[recipes.broken]\nbundle = "missing_bundle"\n',
        encoding="utf-8",
    )
    # The core has the recipe (worker thread) before the window has its loaded event (queued).
    window = open_window(qtbot, qsettings, None, tmp_path / "out", recipes_file=str(recipes))
    assert window.station.recipe.id == "nut"
    assert [window.recipe_box.itemData(i) for i in range(window.recipe_box.count())] == [
        "nut",
        "strict",
        "broken",
    ]
    folder = write_parts(tmp_path / "parts", "N")
    run_to_end(qtbot, window, folder)

    log_in(window)  # these recipes are not open to operators
    window.recipe_box.setCurrentIndex(window.recipe_box.findData("strict"))
    qtbot.waitUntil(lambda: window.station.recipe.id == "strict", timeout=RUN_TIMEOUT_MS)
    assert window.station.active.thresholds.image_threshold == 1000.0
    window.act_skip.setChecked(False)
    window._remember_folder_options()
    run_to_end(qtbot, window, folder)
    rows = window.results.records()
    assert [(r.recipe_id, r.verdict) for r in rows] == [("nut", "NG"), ("strict", "OK")]
    assert rows[0].bundle_digest != rows[1].bundle_digest

    window.recipe_box.setCurrentIndex(window.recipe_box.findData("broken"))
    qtbot.waitUntil(
        lambda: any("missing_bundle" in m for m in window.errors.messages),
        timeout=RUN_TIMEOUT_MS,
    )
    assert window.station.recipe.id == "strict"  # the old recipe stays active

    # thresholds accepted by the engineer go into the selected recipe, in the file
    window.recipe_box.setCurrentIndex(window.recipe_box.findData("strict"))
    dialog = open_engineer_settings(window)
    dialog.image_threshold.setValue(500.0)
    dialog.accept()
    assert load_recipes(recipes).get("strict").thresholds["image_threshold"] == 500.0
    switches = window.results.recipe_switches()
    assert [(s.to_recipe, s.requested_by) for s in switches][:2] == [
        ("nut", "window"),
        ("strict", "window"),
    ]
    window.close()


def test_recipes_made_in_the_engineer_settings_are_used_at_once(qtbot, window, tmp_path):
    dialog = open_engineer_settings(window)
    recipes = tmp_path / "line" / "recipes.toml"
    dialog.recipes_file.setText(str(recipes))
    dialog._recipes_file_changed()
    editor = dialog.recipe_editor
    editor.new_recipe()
    editor.id.setText("nut_m8")
    editor.name.setText("Metal nut M8")
    with qtbot.waitSignal(dialog.recipes_saved, timeout=5000):
        assert editor.save() is not None
    assert recipes.is_file()
    qtbot.waitUntil(lambda: window.station.recipe.id == "nut_m8", timeout=RUN_TIMEOUT_MS)
    assert window.recipe_box.currentData() == "nut_m8" and not window.recipe_box.isHidden()
    assert StationSettings.load(window.qsettings).recipes_file == str(recipes)
    dialog.accept()
    run_to_end(qtbot, window, write_parts(tmp_path / "parts", "N"))
    assert window.results.records()[-1].recipe_id == "nut_m8"


def test_a_window_on_a_folder_another_station_writes_says_so(
    qtbot, qsettings, tiny_bundle, tmp_path
):
    from engine.recorder import open_store

    with open_store(tmp_path / "out"):  # `station inspect` or `station serve` writing there
        settings = StationSettings.load(qsettings)
        settings.bundle, settings.output_dir = str(tiny_bundle), str(tmp_path / "out")
        window = MainWindow(qsettings, settings)
        qtbot.addWidget(window)
        assert window.station is None and window.results is None
        assert any("in use by station process" in m for m in window.errors.messages)
        assert not window.start()  # no store: nothing would be recorded
        window.close()
