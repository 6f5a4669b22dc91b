"""The station window: puts the widgets together and routes signals between them and workers.

It holds no inspection logic: the engine inspects (in `gui.workers` threads), decides
thresholds (`engine.inspector.decide`) and draws overlays (`engine.overlay.render_overlay`).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QThread, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QLabel,
    QMainWindow,
    QPushButton,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine.inspector import Inspector, decide
from engine.overlay import MODES, render_overlay
from engine.recorder import Recorder, new_run_id, open_store, source_key
from engine.result import Thresholds
from engine.sources import FrameSource, open_source
from engine.store import ResultStore, StoreError
from gui import source_picker
from gui.assets import icon
from gui.batch_panel import BatchPanel
from gui.counters import CounterPanel
from gui.error_panel import ErrorPanel
from gui.help_dialog import ShortcutsDialog
from gui.history import HistoryPanel
from gui.image_view import ImageView, bgr_to_qimage
from gui.settings import StationSettings, load_thresholds, save_thresholds
from gui.settings_dialog import PasswordDialog, SettingsDialog
from gui.status_bar import StationStatusBar
from gui.verdict_banner import VerdictPanel
from gui.workers import BundleLoader, Inspected, InspectionRun, ViewSettings

log = logging.getLogger(__name__)

DISPLAY_INTERVAL_MS = 33  # the view repaints at most ~30 times a second, however fast results come
MODE_LABELS = {"mask": "Mask fill", "contours": "Contours", "heatmap": "Heat map", "none": "None"}


class MainWindow(QMainWindow):
    def __init__(self, store: QSettings, settings: StationSettings | None = None) -> None:
        super().__init__()
        self.qsettings = store
        self.settings = settings or StationSettings.load(store)
        self.inspector: Inspector | None = None
        self.thresholds: Thresholds | None = None
        self.view_settings = ViewSettings(
            overlay_mode=self.settings.overlay_mode, opacity=self.settings.opacity
        )
        self.source = self.settings.last_source
        self.run: InspectionRun | None = None
        self.loader: BundleLoader | None = None
        self.results: ResultStore | None = None
        self.current: Inspected | None = None
        self.password_dialog: PasswordDialog | None = None
        self.settings_dialog: SettingsDialog | None = None
        self._pending: Inspected | None = None
        # `station --source S` asks to inspect S: start once the bundle is loaded. A source only
        # remembered from last time waits for the operator's Start.
        self.start_when_loaded = False
        # Every worker thread until it has finished: a QThread garbage-collected while running
        # would abort the process, and closing the window joins them all.
        self.threads: set[QThread] = set()
        self.setWindowTitle("Inspection Station")
        self.setWindowIcon(icon("station"))
        self.setAcceptDrops(True)
        self._build_widgets()
        self._build_actions()
        self._display_timer = QTimer(self, singleShot=True, interval=DISPLAY_INTERVAL_MS)
        self._display_timer.timeout.connect(self._show_pending)
        self.set_operator_mode(False)
        self._open_results()
        self._show_source()

    # --- construction --------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.view = ImageView()
        self.errors = ErrorPanel()
        self.verdict = VerdictPanel()
        self.counters = CounterPanel()
        self.counters.reset_confirmed.connect(self.reset_counters)
        self.history = HistoryPanel()
        self.history.selected.connect(self.show_entry)
        self.batch = BatchPanel()
        self.batch.pause_toggled.connect(self.set_paused)
        self.batch.cancel_requested.connect(self.stop)
        self.batch.export_requested.connect(self.export_results)
        self.source_label = QLabel(objectName="sourceLabel")
        self.source_label.setWordWrap(True)
        self.big_start = QPushButton(icon("start"), "START")
        self.big_start.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.big_start.clicked.connect(self.toggle_run)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.errors)
        left_layout.addWidget(self.view, 1)
        left_layout.addWidget(self.source_label)
        self.side = QWidget()
        side = QVBoxLayout(self.side)
        side.addWidget(self.verdict)
        side.addWidget(self.counters)
        side.addWidget(self.big_start)
        side.addWidget(self.batch)
        side.addWidget(self.history, 100)
        side.addStretch(1)  # takes the room of the hidden history in operator mode
        self.splitter = QSplitter()
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.side)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.setCentralWidget(self.splitter)
        self.status = StationStatusBar()
        self.setStatusBar(self.status)

    def _action(self, text: str, slot, key: str = "", icon_name: str = "") -> QAction:
        action = QAction(text, self)
        if icon_name:
            action.setIcon(icon(icon_name))
        if key:
            action.setShortcut(QKeySequence(key))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts keep working while menus are hidden (operator mode)
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.act_image = a("Open &image…", self.choose_image, "Ctrl+O", "image")
        self.act_folder = a("Open &folder…", self.choose_folder, "Ctrl+Shift+O", "folder")
        self.act_video = a("Open &video…", self.choose_video, "Ctrl+Shift+V", "video")
        self.act_camera = a("Open &camera…", self.choose_camera, "Ctrl+Shift+C", "camera")
        self.act_csv = a(
            "Export results as &CSV…", lambda: self.export_results("csv"), "", "export"
        )
        self.act_json = a(
            "Export results as &JSON…", lambda: self.export_results("json"), "", "export"
        )
        self.act_quit = a("&Quit", self.close, "Ctrl+Q")
        self.act_run = a("&Start / stop", self.toggle_run, "Space", "start")
        self.act_step = a("Single &step", self.step, "S", "step")
        self.act_pause = a("&Pause / resume folder run", self.toggle_pause, "P", "pause")
        self.act_watch = a("&Watch folders for new images", self._remember_folder_options)
        self.act_skip = a("S&kip images already inspected", self._remember_folder_options)
        for action, on in (
            (self.act_watch, self.settings.watch_folder),
            (self.act_skip, self.settings.skip_inspected),
        ):
            action.setCheckable(True)
            action.setChecked(on)
        self.act_fit = a("&Fit image to window", self.view.fit, "0", "fit")
        self.act_full = a("F&ull screen", self.toggle_full_screen, "F11", "fullscreen")
        self.act_operator = a("&Operator mode", self.toggle_operator_mode, "F10", "operator")
        self.act_leave = a("Leave operator mode / full screen", self.leave_modes, "Esc")
        self.act_settings = a("&Engineer settings…", self.open_settings, "Ctrl+E", "settings")
        self.act_help = a("&Keyboard shortcuts", self.show_shortcuts, "F1", "help")
        self.act_operator.setCheckable(True)

        menus = self.menuBar()
        file_menu = menus.addMenu("&File")
        for action in (self.act_image, self.act_folder, self.act_video, self.act_camera):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addActions([self.act_csv, self.act_json])
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)
        run_menu = menus.addMenu("&Run")
        run_menu.addActions([self.act_run, self.act_step, self.act_pause])
        run_menu.addSeparator()
        run_menu.addActions([self.act_watch, self.act_skip])
        view_menu = menus.addMenu("&View")
        view_menu.addActions([self.act_fit, self.act_full, self.act_operator])
        menus.addMenu("&Settings").addAction(self.act_settings)
        menus.addMenu("&Help").addAction(self.act_help)

        self.toolbar = self.addToolBar("Station")
        self.toolbar.setObjectName("stationToolbar")
        self.toolbar.setMovable(False)
        for action in (self.act_image, self.act_folder, self.act_video, self.act_camera):
            self.toolbar.addAction(action)
        self.toolbar.addSeparator()
        self.toolbar.addActions([self.act_run, self.act_step])
        self.toolbar.addSeparator()
        self.toolbar.addWidget(QLabel(" Overlay "))
        self.mode_box = QComboBox()
        for mode in MODES:
            self.mode_box.addItem(MODE_LABELS[mode], mode)
        self.mode_box.setCurrentIndex(max(0, MODES.index(self.view_settings.overlay_mode)))
        self.mode_box.currentIndexChanged.connect(self._overlay_changed)
        self.toolbar.addWidget(self.mode_box)
        self.toolbar.addWidget(QLabel(" Opacity "))
        self.opacity = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100)
        self.opacity.setValue(round(self.view_settings.opacity * 100))
        self.opacity.setFixedWidth(140)
        self.opacity.valueChanged.connect(self._overlay_changed)
        self.toolbar.addWidget(self.opacity)
        self.toolbar.addSeparator()
        self.toolbar.addActions([self.act_fit, self.act_operator, self.act_settings, self.act_help])

    # --- bundle and results store --------------------------------------------------------------
    def load_bundle(self, path: str) -> None:
        """Load in a worker; the window stays usable and shows the outcome when it is done."""
        if not path:
            self.verdict.banner.show_error("No model bundle set: Settings › Engineer settings")
            return
        if not Path(path).exists():
            self.loader = None
            self._bundle_failed(None, f"{path}: bundle not found (choose one in Engineer settings)")
            return
        self.stop()
        self.status.set_bundle(f"loading {Path(path).name}…")
        provider = None if self.settings.provider == "auto" else self.settings.provider
        loader = BundleLoader(path, provider)
        # Signals from worker threads go to bound methods of this window, so Qt queues them
        # into the GUI thread; only the latest load counts.
        loader.loaded.connect(self._bundle_loaded)
        loader.failed.connect(self._bundle_failed)
        self._start_thread(loader)
        self.loader = loader

    def _bundle_loaded(self, loader: BundleLoader, inspector: Inspector) -> None:
        if loader is not self.loader:
            return
        self.inspector = inspector
        self.thresholds = load_thresholds(
            self.qsettings, inspector.bundle.digest, inspector.thresholds
        )
        self.view_settings.update(thresholds=self.thresholds)
        self.status.set_bundle(inspector.bundle.name)
        self.status.set_provider(inspector.main_provider)
        if self.current is None:
            self.verdict.banner.show_idle()
        if self.start_when_loaded:
            self.start_when_loaded = False
            self.start()

    def _bundle_failed(self, loader: BundleLoader | None, message: str) -> None:
        if loader is not self.loader:
            return
        self.inspector = None
        self.status.set_bundle(None)
        self.status.set_provider(None)
        self.verdict.banner.show_error("No model loaded")
        self.report_error(f"Model bundle not loaded: {message}", origin=self.settings.bundle)

    def _open_results(self) -> None:
        self.stop()  # a run records into the store it started with
        if self.results is not None:
            self.results.close()
            self.results = None
        try:
            self.results = open_store(self.settings.output_dir)
        except (StoreError, OSError) as exc:
            self.report_error(f"Results store not available, results are not saved: {exc}")
            return
        counts = self.results.counters()
        self.counters.set_counts(counts)

    def reset_counters(self) -> None:
        if self.results is not None:
            self.results.reset_counters()
            self.counters.set_counts(self.results.counters())

    def report_error(self, message: str, origin: str = "station") -> None:
        """Show an error in the panel and log it in the store; the station keeps running."""
        log.error("%s", message)
        self.errors.add_error(message)
        if self.results is not None:
            try:
                self.results.add_failure(
                    run_id="station", source="station", frame_id="-", origin=origin, error=message
                )
            except StoreError as exc:
                log.error("error not stored: %s", exc)

    # --- sources -------------------------------------------------------------------------------
    def set_source(self, spec: str) -> None:
        if not spec:
            return
        self.stop()
        self.source = spec
        self.settings.last_source = spec
        self.settings.save(self.qsettings)
        self._show_source()

    def _show_source(self) -> None:
        text = source_picker.describe(self.source) if self.source else "no source chosen"
        self.source_label.setText(f"Source — {text}")
        self.source_label.setToolTip(self.source)

    def _start_dir(self) -> str:
        return str(Path(self.source).parent) if self.source and not self.source.isdigit() else ""

    def choose_image(self) -> None:
        self.set_source(source_picker.ask_image(self, self._start_dir()))

    def choose_folder(self) -> None:
        self.set_source(source_picker.ask_folder(self, self._start_dir()))

    def choose_video(self) -> None:
        self.set_source(source_picker.ask_video(self, self._start_dir()))

    def choose_camera(self) -> None:
        self.set_source(source_picker.ask_camera(self, self.source))

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = event.mimeData().urls()
        if urls:
            url = urls[0]
            self.set_source(url.toLocalFile() if url.isLocalFile() else url.toString())
            event.acceptProposedAction()

    # --- running -------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.run is not None

    def toggle_run(self) -> None:
        if self.running:
            self.stop()
        else:
            self.start()

    def start(self, paused: bool = False) -> bool:
        if self.running:
            return True
        if self.inspector is None:
            self.errors.add_error("Cannot start: no model bundle is loaded (see Engineer settings)")
            return False
        if not self.source:
            self.errors.add_error("Cannot start: choose a source first (File menu or drop it here)")
            return False
        kind = source_picker.source_kind(self.source)
        opener, skipped = self._folder_opener() if kind == "folder" else (open_source, 0)
        recorder = None
        if self.results is not None:
            mode = self.view_settings.overlay_mode
            run_id = new_run_id()
            recorder = Recorder(  # each run archives in its own folder, overlays beside originals
                self.results,
                Path(self.settings.output_dir) / run_id,
                source_key(self.source),
                self.inspector.bundle,
                run_id,
                overlays=self.settings.archive,
                originals=self.settings.archive,
                overlay_mode=mode if mode != "none" else "mask",  # archived overlays show defects
            )
        run = InspectionRun(
            self.inspector,
            self.source,
            self.view_settings,
            live=kind in source_picker.LIVE_KINDS,
            recorder=recorder,
            realtime=kind == "video",
            start_paused=paused,
            open_source_fn=opener,
        )
        run.inspected.connect(self._inspected)
        run.frame_failed.connect(self._frame_failed)
        run.source_failed.connect(self._source_failed)
        run.progress.connect(self.batch.set_progress)
        run.dropped.connect(self.status.set_dropped)
        run.finished.connect(self._run_finished)
        self.run = run
        self.status.reset_rate()
        self.status.set_dropped(0)
        if kind == "folder":
            self.batch.start(Path(self.source).name, self.settings.watch_folder, skipped)
            self.batch.set_running(True, paused)
        self._show_running(True)
        self._start_thread(run)
        return True

    def _folder_opener(self) -> tuple[Callable[[str], FrameSource], int]:
        """How this run opens its folder (watched or not, never reading the station's own output
        folder), passing over the images the store holds for it from this bundle; and how many
        those are."""
        skip: set[str] = set()
        if self.settings.skip_inspected and self.results is not None:
            skip = self.results.done_frame_ids(
                source_key(self.source), self.inspector.bundle.digest
            )
        opener = functools.partial(
            open_source,
            watch=self.settings.watch_folder,
            skip_ids=skip,
            exclude=[self.settings.output_dir] if self.settings.output_dir else [],
        )
        return opener, len(skip)

    def _remember_folder_options(self) -> None:
        """Applies from the next folder run; kept for the next shift."""
        self.settings.watch_folder = self.act_watch.isChecked()
        self.settings.skip_inspected = self.act_skip.isChecked()
        self.settings.save(self.qsettings)

    def stop(self) -> None:
        """Stop at once from the operator's view: the thread finishes its current frame on its
        own (closing the window joins it), and Start can begin a new run right away."""
        if self.run is not None:
            run, self.run = self.run, None
            run.stop()
            self._run_ended(run, "stopped")

    def step(self) -> None:
        """One frame, then pause: starts the run paused if none is going."""
        if self.run is None and not self.start(paused=True):
            return
        self.run.step()
        self.batch.set_running(True, paused=True)

    def set_paused(self, paused: bool) -> None:
        if self.run is not None:
            self.run.set_paused(paused)

    def toggle_pause(self) -> None:
        if self.run is not None:
            self.set_paused(not self.run.paused)
            self.batch.set_running(True, self.run.paused)

    def _source_failed(self, message: str) -> None:
        self.errors.add_error(message)
        self.verdict.banner.show_error(message)

    def _frame_failed(self, origin: str, message: str) -> None:
        self.counters.add("ERROR")
        self.errors.add_error(message)

    def _run_finished(self) -> None:
        """A run ended by itself (end of folder or video, source failure)."""
        if self.run is not None and self.run.isFinished():
            run, self.run = self.run, None
            self._run_ended(run, "done")

    def _run_ended(self, run: InspectionRun, how: str) -> None:
        self._show_running(False)
        self.batch.finish(f"Last run {how}: {run.done} frame(s)")

    def _start_thread(self, thread: QThread) -> None:
        self.threads.add(thread)
        thread.finished.connect(self._thread_finished)
        thread.start()

    def _thread_finished(self) -> None:
        for thread in [t for t in self.threads if t.isFinished()]:
            thread.wait()  # returns at once: run() is over; frees the native thread
            self.threads.discard(thread)
        if self.loader is not None and self.loader.isFinished():
            self.loader = None

    def _show_running(self, running: bool) -> None:
        self.act_run.setIcon(icon("stop" if running else "start"))
        self.act_run.setText("&Stop" if running else "&Start")
        self.big_start.setIcon(icon("stop" if running else "start"))
        self.big_start.setText("STOP" if running else "START")

    # --- results -------------------------------------------------------------------------------
    def _inspected(self, entry: Inspected) -> None:
        self.counters.add(entry.verdict)
        self.history.add(entry)
        self.status.frame_done(entry.latency_ms)
        self._pending = entry
        if not self._display_timer.isActive():
            self._display_timer.start()

    def _show_pending(self) -> None:
        if self._pending is not None:
            entry, self._pending = self._pending, None
            self.current = entry
            self.view.set_qimage(entry.overlay)
            self.verdict.show_result(entry.result)

    def show_entry(self, entry: Inspected) -> None:
        """Show a result again (from the history) with the current overlay and thresholds."""
        self.current = entry
        if self.thresholds is not None and entry.result.thresholds != self.thresholds:
            entry.result = decide(entry.result, self.thresholds)
        self._redraw_current()

    def _redraw_current(self) -> None:
        if self.current is None or self.current.frame.image is None:
            return
        _, mode, opacity = self.view_settings.snapshot()
        image = render_overlay(self.current.frame.image, self.current.result, mode, opacity, False)
        self.current.overlay = bgr_to_qimage(image)
        self.view.set_qimage(self.current.overlay)
        self.verdict.show_result(self.current.result)

    def _overlay_changed(self) -> None:
        mode = self.mode_box.currentData()
        opacity = self.opacity.value() / 100
        self.view_settings.update(overlay_mode=mode, opacity=opacity)
        self.settings.overlay_mode, self.settings.opacity = mode, opacity
        self._redraw_current()

    def apply_thresholds(self, thresholds: Thresholds) -> None:
        """New thresholds act on the next frames and, at once, on the image on screen."""
        self.thresholds = thresholds
        self.view_settings.update(thresholds=thresholds)
        if self.current is not None:
            self.current.result = decide(self.current.result, thresholds)
            self._redraw_current()

    def export_results(self, kind: str) -> None:
        if self.results is None:
            self.report_error("No results store is open; nothing to export")
            return
        default = str(Path(self.settings.output_dir) / f"results.{kind}")
        path, _ = QFileDialog.getSaveFileName(self, f"Export results as {kind.upper()}", default)
        if path:
            self.export_to(kind, path)

    def export_to(self, kind: str, path: str) -> None:
        try:
            writer = self.results.export_csv if kind == "csv" else self.results.export_json
            writer(path)
        except (OSError, StoreError) as exc:
            self.report_error(f"Export to {path} failed: {exc}")
            return
        self.statusBar().showMessage(f"Results exported to {path}", 5000)

    # --- settings ------------------------------------------------------------------------------
    def open_settings(self) -> PasswordDialog:
        """Ask for the engineer password; the settings open only when it is right."""
        gate = PasswordDialog(self.qsettings, self)
        gate.accepted.connect(self._show_settings)
        gate.open()
        self.password_dialog = gate
        return gate

    def _show_settings(self) -> None:
        dialog = SettingsDialog(self.settings, self.inspector, self.thresholds, self)
        dialog.thresholds_changed.connect(self.apply_thresholds)
        dialog.applied.connect(self.apply_settings)
        dialog.open()
        self.settings_dialog = dialog

    def apply_settings(self, new: StationSettings) -> None:
        old = self.settings
        self.settings = dataclasses.replace(new, last_source=self.source)
        self.settings.save(self.qsettings)
        if self.inspector is not None and self.thresholds is not None:
            save_thresholds(self.qsettings, self.inspector.bundle.digest, self.thresholds)
        if new.output_dir != old.output_dir:
            self._open_results()
        if new.bundle != old.bundle or new.provider != old.provider:
            self.load_bundle(new.bundle)

    def show_shortcuts(self) -> None:
        ShortcutsDialog(self.actions(), self).exec()

    # --- operator mode and full screen ---------------------------------------------------------
    def set_operator_mode(self, on: bool) -> None:
        """Operator mode: full screen, large fonts, only view, banner, counters, start / stop."""
        self.setProperty("operator", "true" if on else "false")
        for widget in (self.menuBar(), self.toolbar, self.history, self.batch, self.statusBar()):
            widget.setVisible(not on)
        self.big_start.setVisible(on)
        self.act_operator.setChecked(on)
        width = max(self.width(), 1000)
        # The image takes most of the screen; the side keeps room for the banner's large type.
        self.splitter.setSizes([int(width * 0.64), int(width * 0.36)])
        self.style().unpolish(self)
        self.style().polish(self)
        for child in self.findChildren(QWidget):
            child.style().unpolish(child)
            child.style().polish(child)
        if on:
            self.showFullScreen()
        elif self.isFullScreen():
            self.showNormal()

    @property
    def operator_mode(self) -> bool:
        return self.property("operator") == "true"

    def toggle_operator_mode(self) -> None:
        self.set_operator_mode(not self.operator_mode)

    def toggle_full_screen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()

    def leave_modes(self) -> None:
        if self.operator_mode:
            self.set_operator_mode(False)
        elif self.isFullScreen():
            self.showNormal()

    # --- closing -------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop and join every worker, then close the store; safe to call twice."""
        self.stop()
        for thread in list(self.threads):
            thread.wait()
        self.threads.clear()
        self.run = self.loader = None
        self.settings.save(self.qsettings)
        if self.results is not None:
            self.results.close()
            self.results = None

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)
