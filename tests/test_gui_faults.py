"""The station window given bad input (issue 13): a frame it cannot inspect, an execution
provider this onnxruntime lacks, a path that must not be read (/proc/kmsg, a FIFO).

Offscreen Qt on the tiny bundle, real onnxruntime; as tests/test_gui.py, whose helpers these
use.
"""

import contextlib
import dataclasses
import faulthandler
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import cv2
import onnxruntime
import pytest
import shiboken6
from PySide6.QtCore import QSettings, QStandardPaths, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QLineEdit

from engine.providers import ALIASES
from gui.main_window import MainWindow
from gui.settings import StationSettings
from gui.source_picker import PathRefused, check_path
from tests.test_gui import (
    RUN_TIMEOUT_MS,
    log_in,
    open_engineer_settings,
    open_window,
    part,
    run_to_end,
    write_parts,
)
from training.tiny_bundle import make_tiny_bundle

JOIN_S = 5.0  # a path check that takes longer has opened what it must only look at
HANG_S = 120  # a test still running then is hung (a dialog reading /proc/kmsg): end it loudly
GUARD_MS = 8000  # a dialog that blocked the caller (exec) is closed then, so the test fails


@pytest.fixture()
def window(qtbot, qsettings, tiny_bundle, tmp_path) -> Iterator[MainWindow]:
    window = open_window(qtbot, qsettings, tiny_bundle, tmp_path / "out")
    yield window
    window.close()
    assert not window.threads


@pytest.fixture()
def fifo(tmp_path: Path) -> Path:
    """A FIFO: code that opens it to read blocks until a writer comes."""
    path = tmp_path / "pipe.png"
    os.mkfifo(path)
    return path


@pytest.fixture()
def released_fifo(fifo: Path) -> Iterator[Path]:
    """The FIFO with a writer coming and going all along: a window that wrongly opens it (its
    loader, a run) reads end-of-file and the test fails, instead of the window's close waiting
    for ever on that thread."""
    stop = threading.Event()

    def release() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):  # ENXIO: no reader, as it should be
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            stop.wait(0.01)

    writer = threading.Thread(target=release, daemon=True)
    writer.start()
    yield fifo
    stop.set()
    writer.join()


@pytest.fixture()
def qt_dialog_state(tmp_path: Path) -> Iterator[None]:
    """Qt's file dialog keeps its last folder in the user's QtProject.conf when it is
    deleted: keep that in tmp_path (tests wait for the deletion), and end the run with a
    traceback should a dialog hang."""
    default = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)
    for kind in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(kind, QSettings.Scope.UserScope, str(tmp_path / "qt-config"))
    faulthandler.dump_traceback_later(HANG_S, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()
    for kind in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(kind, QSettings.Scope.UserScope, default)


def close_dialogs_later(parent: MainWindow) -> QTimer:
    """On code whose dialogs block their caller (a static QFileDialog.get… runs exec), close
    them after GUARD_MS so the test fails on what they return instead of waiting for ever."""

    def close_all() -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QDialog) and widget.isVisible():
                widget.reject()

    timer = QTimer(parent, singleShot=True, interval=GUARD_MS)
    timer.timeout.connect(close_all)
    timer.start()
    return timer


def unavailable_provider() -> str:
    missing = [
        name
        for name in ("cuda", "directml", "coreml")
        if ALIASES[name] not in onnxruntime.get_available_providers()
    ]
    if not missing:
        pytest.skip("this onnxruntime has every execution provider the station knows")
    return missing[0]


# --- 19: a frame that cannot be inspected ----------------------------------------------------
def test_a_part_that_cannot_be_inspected_replaces_the_previous_one_on_screen(
    qtbot, window, tmp_path
):
    folder = write_parts(tmp_path / "parts", "O")
    (folder / "part_01.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage, no image in here")
    run_to_end(qtbot, window, folder)

    banner = window.verdict.banner
    assert window.counters.counts.ok == 1 and window.counters.counts.errors == 1
    assert banner.verdict == "error" and "OK" not in banner.word.text()
    assert banner.detail.text().startswith("cannot inspect part_01.png: ")
    assert window.verdict.gauge.score is None  # not the OK part's score either
    assert not window.view.has_image  # the OK part's image is gone ...
    assert "part_01.png" in window.view.placeholder  # ... and the failed file is named there

    # Neither a threshold change nor another model brings the OK part back on screen.
    window.apply_thresholds(dataclasses.replace(window.thresholds, min_defect_area_px=1))
    assert banner.verdict == "error" and not window.view.has_image
    seg_only = make_tiny_bundle(tmp_path / "seg_only", anomaly=False)
    window.apply_settings(dataclasses.replace(window.settings, bundle=str(seg_only)))
    qtbot.waitUntil(lambda: window.inspector.bundle.anomaly is None, timeout=RUN_TIMEOUT_MS)
    assert banner.verdict == "error"

    image = tmp_path / "next.png"  # the next part inspected ends the error state
    cv2.imwrite(str(image), part(defect=True))
    run_to_end(qtbot, window, image)
    assert banner.verdict == "NG" and window.view.has_image


# --- 20: execution providers ------------------------------------------------------------------
def test_the_settings_offer_only_providers_this_onnxruntime_has(qtbot, window):
    dialog = open_engineer_settings(window)
    offered = [dialog.provider.itemText(i) for i in range(dialog.provider.count())]
    available = onnxruntime.get_available_providers()
    assert offered[0] == "auto" and "cpu" in offered
    assert all(ALIASES[name] in available for name in offered[1:])
    assert ("cuda" in offered) == ("CUDAExecutionProvider" in available)
    dialog.reject()


def test_a_stale_provider_setting_is_refused_and_the_model_loads(
    qtbot, qsettings, tiny_bundle, tmp_path
):
    missing = unavailable_provider()
    settings = StationSettings.load(qsettings)
    settings.bundle, settings.output_dir = str(tiny_bundle), str(tmp_path / "out")
    settings.provider = missing  # a settings file written on a machine with a GPU
    window = MainWindow(qsettings, settings)
    qtbot.addWidget(window)
    window.load_bundle(str(tiny_bundle))
    qtbot.waitUntil(
        lambda: window.inspector is not None or window.verdict.banner.verdict == "error",
        timeout=RUN_TIMEOUT_MS,
    )
    assert window.inspector is not None
    assert any(f"{missing!r} is not available" in m for m in window.errors.messages)
    assert window.verdict.banner.verdict == "idle"  # no "No model loaded"
    assert window.status.labels["bundle"].text() == "bundle tiny"
    assert window.status.labels["provider"].text() == "provider CPU"
    assert StationSettings.load(qsettings).provider == "auto"  # the settings say what runs
    run_to_end(qtbot, window, write_parts(tmp_path / "parts", "N"))
    assert window.verdict.banner.verdict == "NG"
    window.close()


def test_a_refused_provider_keeps_the_running_model(qtbot, window, tmp_path):
    missing = unavailable_provider()
    before = window.inspector
    window.apply_settings(dataclasses.replace(window.settings, provider=missing))
    qtbot.waitUntil(lambda: window.loader is None, timeout=RUN_TIMEOUT_MS)
    assert any(repr(missing) in m for m in window.errors.messages)
    assert window.inspector is before and window.station.active.inspector is before
    assert window.verdict.banner.verdict != "error"
    assert window.status.labels["bundle"].text() == "bundle tiny"
    assert window.settings.provider == "auto"

    # The next model loads with the provider in use, not with the refused one.
    seg_only = make_tiny_bundle(tmp_path / "seg_only", anomaly=False)
    window.apply_settings(dataclasses.replace(window.settings, bundle=str(seg_only)))
    qtbot.waitUntil(lambda: window.loader is None, timeout=RUN_TIMEOUT_MS)
    assert not any("not prepared" in m for m in window.errors.messages)
    assert window.inspector is not before and window.inspector.bundle.anomaly is None
    run_to_end(qtbot, window, write_parts(tmp_path / "parts", "N"))
    assert window.verdict.banner.verdict == "NG"
    assert window.status.labels["provider"].text() == "provider CPU"


# --- 21: paths that must not be read ---------------------------------------------------------
def checked_within(path: str, **options: bool) -> str:
    """check_path's answer for `path` ("accepted" or its refusal), from a thread given JOIN_S:
    a check that opened a FIFO or /proc/kmsg would still be waiting."""
    answers: list[str] = []

    def check() -> None:
        try:
            check_path(path, **options)
            answers.append("accepted")
        except PathRefused as exc:
            answers.append(str(exc))

    worker = threading.Thread(target=check, daemon=True)
    worker.start()
    worker.join(JOIN_S)
    assert not worker.is_alive(), f"check_path({path!r}) blocked"
    return answers[0]


def test_the_path_check_refuses_what_it_must_not_read_without_reading_it(tmp_path, fifo):
    link = tmp_path / "kernel.png"
    link.symlink_to("/proc/kmsg")
    refusals = {
        "/proc/kmsg": "under /proc",
        "/sys/kernel": "under /sys",
        "/dev/null": "under /dev",
        str(link): "under /proc",  # where it leads counts
        str(fifo): "a FIFO",
        str(tmp_path / "missing.png"): "no such file or folder",
        "  ": "no path given",
    }
    for path, why in refusals.items():
        message = checked_within(path, camera=True)
        assert path.strip() in message and why in message, message
    assert "a FIFO" in checked_within(str(fifo), missing_ok=True)  # a new file, not a pipe


def test_the_path_check_accepts_files_folders_and_cameras(tmp_path):
    folder = write_parts(tmp_path / "parts", "O")
    image = folder / "part_00.png"
    assert checked_within(str(folder)) == checked_within(str(image)) == "accepted"
    assert checked_within("0", camera=True) == "accepted"
    assert checked_within("rtsp://10.0.0.7/line1", camera=True) == "accepted"
    assert checked_within(str(tmp_path / "new" / "out"), missing_ok=True) == "accepted"
    assert check_path(f"  {image} ") == str(image)  # as typed, without the blanks


def test_a_refused_source_is_reported_and_the_source_kept(qtbot, window, tmp_path, released_fifo):
    fifo = released_fifo
    folder = write_parts(tmp_path / "parts", "O")
    window.set_source(str(folder))
    window.set_source(str(fifo))  # dropped on the window, say
    window.set_source("/proc/kmsg")
    assert window.source == str(folder)
    assert StationSettings.load(window.qsettings).last_source == str(folder)
    assert any(str(fifo) in m and "FIFO" in m for m in window.errors.messages)
    assert any("/proc/kmsg" in m for m in window.errors.messages)

    window.source = str(fifo)  # remembered from last shift, or given with --source
    assert not window.start()
    assert window.run is None and not window.threads
    assert any(m.startswith(f"Cannot start: {fifo}") for m in window.errors.messages)


def test_a_typed_path_the_station_must_not_read_keeps_the_settings_open(
    qtbot, window, released_fifo
):
    fifo = released_fifo
    dialog = open_engineer_settings(window)
    dialog.bundle.setText(str(fifo))
    dialog.accept()
    assert dialog.isVisible() and str(fifo) in dialog.message.text()
    assert window.settings.bundle != str(fifo)
    dialog.bundle.setText(window.settings.bundle)
    dialog.accept()
    assert not dialog.isVisible()


def test_inspection_goes_on_while_a_file_dialog_is_open(qtbot, window, tmp_path, qt_dialog_state):
    folder = write_parts(tmp_path / "parts", "ON" * 30)
    window.set_source(str(folder))
    guard = close_dialogs_later(window)
    assert window.start()
    log_in(window)  # an operator may not change the source
    dialog = window.choose_folder()
    assert isinstance(dialog, QFileDialog), "the dialog blocked its caller until it closed"
    assert dialog.isVisible() and dialog.testOption(QFileDialog.Option.DontUseNativeDialog)
    shown = window.counters.counts.total
    qtbot.waitUntil(lambda: window.counters.counts.total >= shown + 5, timeout=RUN_TIMEOUT_MS)
    assert dialog.isVisible()
    assert window.history.recent.count() >= 5  # results reach the screen, not just the store
    dialog.reject()
    guard.stop()
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog))  # closed dialogs do not pile up
    window.stop()


def test_a_dialog_given_proc_kmsg_refuses_it_without_hanging(
    qtbot, window, tmp_path, qt_dialog_state
):
    """What hung the window: /proc/kmsg typed into the file dialog (Qt read it to name its
    type, which blocks for root). The dialog answers, and the source stays."""
    folder = write_parts(tmp_path / "parts", "O")
    window.set_source(str(folder / "part_00.png"))
    guard = close_dialogs_later(window)
    log_in(window)  # an operator may not change the source
    dialog = window.choose_image()
    assert isinstance(dialog, QFileDialog), "the dialog blocked its caller until it closed"
    name = dialog.findChild(QLineEdit, "fileNameEdit")
    name.setText("/proc/kmsg")  # the completer lists /proc meanwhile
    qtbot.wait(300)
    dialog.accept()
    guard.stop()
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog))  # it saves its state, in tmp_path
    assert window.source == str(folder / "part_00.png")
    assert any("/proc/kmsg: under /proc" in m for m in window.errors.messages)
