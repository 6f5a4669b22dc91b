"""The station window: puts the widgets together and routes signals between them and workers.

It holds no inspection logic: the engine inspects (in `gui.workers` threads), decides
thresholds (`engine.inspector.decide`) and draws overlays (`engine.overlay.render_overlay`).
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from PySide6.QtCore import QT_TRANSLATE_NOOP, QSettings, Qt, QThread, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine.events import PartResult, TriggerMissed
from engine.inspector import Inspector, decide
from engine.line.links import KINDS as LINK_KINDS
from engine.line.links import Link, LinkError, close_links, parse_link, start_links
from engine.overlay import MODES, render_overlay
from engine.providers import available_choices
from engine.recipes import THRESHOLD_FIELDS, Recipe, RecipeError, load_recipes, save_recipes
from engine.recorder import open_store
from engine.result import InspectionResult, Thresholds
from engine.sources import FrameSource, classify, source_key
from engine.station import Active, Display, Station, TriggerMode
from engine.store import ResultStore, StoreError
from engine.vision_states import VisionState
from gui import source_picker
from gui.access import WindowAccess
from gui.alarm_panel import AlarmPanel
from gui.alarm_settings import alarm_limits
from gui.assets import icon
from gui.batch_panel import BatchPanel
from gui.counters import CounterPanel
from gui.error_panel import ErrorPanel
from gui.help_dialog import ShortcutsDialog
from gui.history import HistoryPanel, Replay, replay_view
from gui.image_view import ImageView, bgr_to_qimage
from gui.legend import OverlayLegend
from gui.line_panel import LinePanel
from gui.model_table import ModelTable, details_of_result
from gui.permissions import Action
from gui.review_actions import ReviewActions
from gui.settings import (
    MQTT_TLS_FILES,
    StationSettings,
    load_thresholds,
    save_thresholds,
)
from gui.settings_dialog import SettingsDialog
from gui.statistics_view import StatisticsDock
from gui.status_bar import StationStatusBar
from gui.trigger_panel import TriggerPanel
from gui.verdict_banner import VerdictPanel
from gui.workers import Inspected, RecipeLoader, StationBridge, StationRun, to_inspected

log = logging.getLogger(__name__)

DISPLAY_INTERVAL_MS = 33  # the view repaints at most ~30 times a second, however fast results come
LINKS_REFRESH_MS = 1000  # how often the status bar asks the line links how they are
LINK_KINDS_IN_WINDOW = ("modbus", "opcua", "mqtt")
LINK_NAMES = {"modbus": "PLC", "opcua": "OPC UA", "mqtt": "MQTT"}
MODE_LABELS = {  # marked for translation here, translated where shown
    "mask": QT_TRANSLATE_NOOP("MainWindow", "Mask fill"),
    "contours": QT_TRANSLATE_NOOP("MainWindow", "Contours"),
    "heatmap": QT_TRANSLATE_NOOP("MainWindow", "Heat map"),
    "none": QT_TRANSLATE_NOOP("MainWindow", "None"),
}


class MainWindow(QMainWindow):
    def __init__(self, store: QSettings, settings: StationSettings | None = None) -> None:
        super().__init__()
        self.qsettings = store
        self.settings = settings or StationSettings.load(store)
        self.inspector: Inspector | None = None
        self.thresholds: Thresholds | None = None
        self.display = Display(self.settings.overlay_mode, self.settings.opacity)
        self.source = self.settings.last_source
        self.run: StationRun | None = None
        self.station: Station | None = None
        self.bridge: StationBridge | None = None
        self.batch_done = 0
        self.links: dict[str, Link] = {}  # the line links running on the station, by kind
        self.loader: RecipeLoader | None = None
        self._load_again = False
        self._provider_used: str | None = None
        self.results: ResultStore | None = None
        self.current: Inspected | None = None
        self.replay: Replay | None = None  # a history entry on screen, shown as recorded
        self.what_if = False  # the replay re-judged with the current thresholds, on request
        self.settings_dialog: SettingsDialog | None = None
        self._pending: Inspected | PartResult | None = None  # the newest part, inspected or not
        # `station --source S` asks to inspect S: start once the bundle is loaded. A source only
        # remembered from last time waits for the operator's Start.
        self.start_when_loaded = False
        # Every worker thread until it has finished: a QThread garbage-collected while running
        # would abort the process, and closing the window joins them all.
        self.threads: set[QThread] = set()
        self.setWindowTitle(self.tr("Inspection Station"))
        self.setWindowIcon(icon("station"))
        self.setAcceptDrops(True)
        self._build_widgets()
        self._build_actions()
        self.access = WindowAccess(self)  # users, permissions and the audit trail
        self.review = ReviewActions(self)  # Review menu: flag, review screen, export, rollback
        self.statistics = StatisticsDock(self, self.counters, self.settings.shift_starts)
        self.alarm_panel.who = lambda: self.access.session.who  # acknowledgements name the user
        self.view_menu.addAction(self.statistics.toggleViewAction())
        self._display_timer = QTimer(self, singleShot=True, interval=DISPLAY_INTERVAL_MS)
        self._display_timer.timeout.connect(self._show_pending)
        self._links_timer = QTimer(self, interval=LINKS_REFRESH_MS)
        self._links_timer.timeout.connect(self._show_links)
        self.set_operator_mode(False)
        self.book = None
        self.load_recipe_book()
        self._open_results()
        self._show_source()
        self.access.apply()

    # --- construction --------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.view = ImageView()
        self.errors = ErrorPanel()
        self.verdict = VerdictPanel()
        self.counters = CounterPanel()
        self.counters.reset_confirmed.connect(self.reset_counters)
        self.history = HistoryPanel()
        self.history.selected.connect(self.show_entry)
        self.alarm_panel = AlarmPanel()
        self.model_table = ModelTable()
        self.model_table.what_if_requested.connect(self.show_what_if)
        self.legend = OverlayLegend()
        self.legend.set_mode(self.display.mode)
        self.batch = BatchPanel()
        self.batch.pause_toggled.connect(self.set_paused)
        self.batch.cancel_requested.connect(self.stop)
        self.batch.export_requested.connect(self.export_results)
        self.source_label = QLabel(objectName="sourceLabel")
        self.source_label.setWordWrap(True)
        self.big_start = QPushButton(icon("start"), self.tr("START"))
        self.big_start.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.big_start.clicked.connect(self.toggle_run)
        self.trigger_panel = TriggerPanel(self.settings.trigger_mode)
        self.big_trigger = self.trigger_panel.trigger_button
        self.big_trigger.clicked.connect(self.send_trigger)
        self.trigger_panel.leave_button.clicked.connect(self.leave_modes)
        self.line_panel = LinePanel()
        self.part_id = QLineEdit(placeholderText=self.tr("part id (optional)"))
        self.part_id.setToolTip(self.tr("Sent with the next trigger and stored with its result"))
        self.part_id.setFixedWidth(190)
        self.part_id.returnPressed.connect(self.send_trigger)  # a barcode scanner ends with Enter

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.errors)
        left_layout.addWidget(self.alarm_panel)  # above the image: seen first, costs no side room
        left_layout.addWidget(self.view, 1)
        left_layout.addWidget(self.legend)
        left_layout.addWidget(self.model_table)
        left_layout.addWidget(self.source_label)
        self.side = QWidget()
        side = QVBoxLayout(self.side)
        side.addWidget(self.verdict)
        side.addWidget(self.counters)
        side.addWidget(self.big_start)
        side.addWidget(self.trigger_panel)
        side.addWidget(self.line_panel)
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
        self.act_image = a(self.tr("Open &image…"), self.choose_image, "Ctrl+O", "image")
        self.act_folder = a(self.tr("Open &folder…"), self.choose_folder, "Ctrl+Shift+O", "folder")
        self.act_video = a(self.tr("Open &video…"), self.choose_video, "Ctrl+Shift+V", "video")
        self.act_camera = a(self.tr("Open &camera…"), self.choose_camera, "Ctrl+Shift+C", "camera")
        self.act_csv = a(
            self.tr("Export results as &CSV…"), lambda: self.export_results("csv"), "", "export"
        )
        self.act_json = a(
            self.tr("Export results as &JSON…"), lambda: self.export_results("json"), "", "export"
        )
        self.act_quit = a(self.tr("&Quit"), self._quit, "Ctrl+Q")
        self.act_run = a(self.tr("&Start / stop"), self.toggle_run, "Space", "start")
        self.act_step = a(self.tr("Single &step"), self.step, "S", "step")
        self.act_trigger = a(self.tr("&Trigger one part"), self.send_trigger, "", "trigger")
        self.act_pause = a(self.tr("&Pause / resume folder run"), self.toggle_pause, "P", "pause")
        self.act_watch = a(self.tr("&Watch folders for new images"), self._remember_folder_options)
        self.act_skip = a(self.tr("S&kip images already inspected"), self._remember_folder_options)
        self.act_video_live = a(
            self.tr("Play videos as a live &camera"), self._remember_folder_options
        )
        for action, on in (
            (self.act_watch, self.settings.watch_folder),
            (self.act_skip, self.settings.skip_inspected),
            (self.act_video_live, self.settings.video_as_camera),
        ):
            action.setCheckable(True)
            action.setChecked(on)
        self.act_fit = a(self.tr("&Fit image to window"), self.view.fit, "0", "fit")
        self.act_full = a(self.tr("F&ull screen"), self.toggle_full_screen, "F11", "fullscreen")
        self.act_operator = a(
            self.tr("&Operator mode"), self.toggle_operator_mode, "F10", "operator"
        )
        self.act_leave = a(self.tr("Leave operator mode / full screen"), self.leave_modes, "Esc")
        self.act_settings = a(
            self.tr("&Engineer settings…"), self.open_settings, "Ctrl+E", "settings"
        )
        self.act_help = a(self.tr("&Keyboard shortcuts"), self.show_shortcuts, "F1", "help")
        self.act_operator.setCheckable(True)

        menus = self.menuBar()
        file_menu = menus.addMenu(self.tr("&File"))
        for action in (self.act_image, self.act_folder, self.act_video, self.act_camera):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addActions([self.act_csv, self.act_json])
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)
        run_menu = menus.addMenu(self.tr("&Run"))
        run_menu.addActions([self.act_run, self.act_step, self.act_pause, self.act_trigger])
        run_menu.addSeparator()
        run_menu.addActions([self.act_watch, self.act_skip, self.act_video_live])
        view_menu = self.view_menu = menus.addMenu(self.tr("&View"))
        view_menu.addActions([self.act_fit, self.act_full, self.act_operator])
        menus.addMenu(self.tr("&Settings")).addAction(self.act_settings)
        menus.addMenu(self.tr("&Help")).addAction(self.act_help)

        self.toolbar = self.addToolBar(self.tr("Station"))
        self.toolbar.setObjectName("stationToolbar")
        self.toolbar.setMovable(False)
        for action in (self.act_image, self.act_folder, self.act_video, self.act_camera):
            self.toolbar.addAction(action)
        self.toolbar.addSeparator()
        self.toolbar.addActions([self.act_run, self.act_step])
        self.toolbar.addSeparator()
        self.trigger_box = self.trigger_panel.mode_box  # beside the image, for touch too
        self.trigger_box.currentIndexChanged.connect(self._trigger_mode_changed)
        self.recipe_box = self.trigger_panel.recipe_box
        self.recipe_box.currentIndexChanged.connect(self._recipe_chosen)
        self.toolbar.addAction(self.act_trigger)
        self.part_id_action = self.toolbar.addWidget(self.part_id)
        self.toolbar.addSeparator()
        self.toolbar.addWidget(QLabel(self.tr(" Overlay ")))
        self.mode_box = QComboBox()
        for mode in MODES:
            self.mode_box.addItem(self.tr(MODE_LABELS[mode]), mode)
        self.mode_box.setCurrentIndex(max(0, MODES.index(self.display.mode)))
        self.mode_box.currentIndexChanged.connect(self._overlay_changed)
        self._apply_trigger_mode()
        self.toolbar.addWidget(self.mode_box)
        self.toolbar.addWidget(QLabel(self.tr(" Opacity ")))
        self.opacity = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100)
        self.opacity.setValue(round(self.display.opacity * 100))
        self.opacity.setFixedWidth(140)
        self.opacity.valueChanged.connect(self._overlay_changed)
        self.toolbar.addWidget(self.opacity)
        self.toolbar.addSeparator()
        self.toolbar.addActions([self.act_fit, self.act_operator, self.act_settings, self.act_help])

    # --- bundle and results store --------------------------------------------------------------
    def bundle_path(self) -> str:
        """The bundle to load: the selected recipe's, or the settings' when no recipe file."""
        recipe = self._book_recipe()
        return recipe.bundle if recipe is not None else self.settings.bundle

    def load_bundle(self, path: str) -> None:
        """Use the bundle at `path` (when no recipe file is in use) and load it."""
        if self.book is None:
            self.settings.bundle = path
        self.load_recipe()

    def load_recipe(self) -> None:
        """Prepare the window's recipe on the station core in a worker: its bundle loads
        (hashing every file, building sessions: seconds) while the window stays usable and a
        run goes on with the old recipe; the core swaps them between two parts. A failed load
        keeps the old recipe and is stored with the reason. One load at a time: a request
        during a load is taken when it ends."""
        recipe = self._window_recipe()
        if not recipe.bundle:
            message = self.tr("No model bundle set: Settings › Engineer settings")
            self.verdict.banner.show_error(message, cause="model")
            return
        if self.station is None:
            self.report_error(f"{recipe.bundle}: not loaded, no results store is open")
            return
        try:  # a missing bundle is the engine's to report (and store); a FIFO must not be read
            source_picker.check_path(recipe.bundle, missing_ok=True)
        except source_picker.PathRefused as exc:
            self._recipe_failed(recipe, str(exc))
            return
        if self.loader is not None:
            self._load_again = True
            return
        self._refuse_unavailable_provider()
        self.station.provider = None if self.settings.provider == "auto" else self.settings.provider
        loaded = self.inspector is not None and _same_path(
            recipe.bundle, self.inspector.bundle.source
        )
        if loaded and self.station.provider == self._provider_used:
            self._prepare_recipe()  # same model, other policy or thresholds: nothing to load
            return
        self.status.set_bundle(self.tr("loading {name}…").format(name=Path(recipe.bundle).name))
        loader = RecipeLoader(self.station, recipe)
        # Signals from worker threads go to bound methods of this window, so Qt queues them
        # into the GUI thread.
        loader.done.connect(self._recipe_loaded)
        self._start_thread(loader)
        self.loader = loader

    def _refuse_unavailable_provider(self) -> None:
        """A provider this onnxruntime lacks (a stale settings file, a choice made on another
        machine) is refused before anything loads: the running model keeps its provider, and
        the settings name that one, so the window and the settings dialog agree."""
        choices = available_choices()
        if self.settings.provider in choices:
            return
        in_use = self._provider_used or "auto"
        self.report_error(
            f"Execution provider {self.settings.provider!r} is not available in this "
            f"onnxruntime (it offers {', '.join(choices)}); using {in_use}"
        )
        self._keep_provider_in_use()

    def _keep_provider_in_use(self) -> None:
        """After a failed load, or a refused provider, the station and the settings name the
        provider the running model uses: the next load must not fail on the refused one again."""
        self.station.provider = self._provider_used
        in_use = self._provider_used or "auto"
        if self.settings.provider != in_use:
            self.settings.provider = in_use
            self.settings.save(self.qsettings)

    def _recipe_loaded(self, loader: RecipeLoader, active: Active | None, error: str) -> None:
        """A load ended; a load asked for meanwhile starts once this one's outcome is in
        place, so it compares against the model really loaded."""
        self.loader = None
        if active is None:
            self._recipe_failed(loader.recipe, error)
        else:
            self._recipe_ready(loader, active)
        if self._load_again:
            self._load_again = False
            self.load_recipe()

    def _recipe_ready(self, loader: RecipeLoader, active: Active) -> None:
        inspector = self.inspector = active.inspector
        self._provider_used = loader.provider
        if self._book_recipe() is not None:  # the recipe file owns the thresholds
            self.thresholds = active.thresholds
        else:  # those the engineer accepted for this exact bundle
            self.thresholds = load_thresholds(
                self.qsettings, inspector.bundle.digest, inspector.thresholds
            )
            self.station.set_thresholds(self.thresholds)
        self.status.set_bundle(inspector.bundle.name)
        self.status.set_provider(inspector.main_provider)
        self.review.bundle_loaded(loader.recipe, inspector.bundle)  # a challenger's comparison
        self.legend.set_anomaly(inspector.bundle.anomaly)
        self.status.set_variant(
            inspector.variant_label,
            {role: f"{c.precision}, {c.reason}" for role, c in inspector.variants.items()},
        )
        if self.verdict.banner.cause == "model":  # only "no model" is over; a failed part stays
            self.verdict.banner.show_idle()
        if self.start_when_loaded:
            self.start_when_loaded = False
            self.start()

    def _recipe_failed(self, recipe: Recipe, message: str) -> None:
        hint = "" if Path(recipe.bundle).exists() else " (choose one in Engineer settings)"
        current = self.station.recipe if self.station is not None else None
        if current is None or self.inspector is None:
            self.inspector = None
            self.status.set_bundle(None)
            self.status.set_provider(None)
            self.status.set_variant(None)
            self.verdict.banner.show_error(self.tr("No model loaded"), cause="model")
            self.report_error(f"Model bundle not loaded: {message}{hint}", origin=recipe.bundle)
            return
        self._keep_provider_in_use()
        self.status.set_bundle(self.inspector.bundle.name)
        self.report_error(
            f"{message}{hint}; still inspecting with recipe {current.label}", origin=recipe.bundle
        )

    def _open_results(self) -> None:
        """Open the output folder's store and the station core on it (one per store)."""
        self.stop()  # a run records into the store it started with
        self._join_runs()
        self._close_station()
        try:
            self.results = open_store(self.settings.output_dir)
        except (StoreError, OSError) as exc:
            self.report_error(f"Results store not available, results are not saved: {exc}")
            return
        # Each run archives its images in its own folder beneath the output folder.
        self.station = Station(self.results, self.settings.output_dir, archive_per_run=True)
        self.station.display = self.display
        bridge = self.bridge = StationBridge(self.station)
        bridge.part_done.connect(self._part_done)
        bridge.part_failed.connect(self._part_failed)
        bridge.source_lost.connect(self._source_failed)
        bridge.dropped.connect(lambda e: self.status.set_dropped(e.dropped, e.alarm))
        bridge.dropped.connect(lambda e: self.alarm_panel.dropped(e.dropped))
        bridge.trigger_missed.connect(self._trigger_missed)
        bridge.state_changed.connect(self.status.set_state)
        self.trigger_panel.follow(bridge, self.station)
        self.line_panel.follow(bridge)
        self.counters.set_counts(self.station.counters)
        self.history.attach(self.results)
        self.alarm_panel.attach(self.results, alarm_limits(self.settings))
        self.statistics.attach(self.results, bridge)
        self.status.set_state(self.station.state.path)
        self.status.set_missed(self.station.missed)
        if self.inspector is not None:
            self._prepare_recipe()
        self._start_links()

    # --- recipes -------------------------------------------------------------------------------
    def load_recipe_book(self) -> None:
        """Read the recipe file of the settings (none: the settings' bundle is the recipe)."""
        self.book = None
        if self.settings.recipes_file:
            try:
                self.book = load_recipes(self.settings.recipes_file)
            except RecipeError as exc:
                self.report_error(f"Recipes not loaded, using the model bundle setting: {exc}")
        self.access.show_recipes()  # those the user's level may pick

    def _book_recipe(self) -> Recipe | None:
        """The selected recipe of the recipe file (its default, first, when none is)."""
        if not self.book or not self.book.recipes:
            return None
        if self.settings.recipe_id in self.book.recipes:
            return self.book.recipes[self.settings.recipe_id]
        return self.book.first()

    def select_recipe(self, recipe_id: str) -> None:
        """Switch product: the recipe's bundle loads first, then the core swaps it in between
        two parts; a failed load keeps the current recipe (error panel)."""
        if self.book is None or recipe_id not in self.book.recipes:
            return
        self.access.audit("recipe", "selected", self.settings.recipe_id or None, recipe_id)
        self.settings.recipe_id = recipe_id
        self.settings.save(self.qsettings)
        self.load_recipe()

    def _recipes_saved(self, book: object) -> None:
        """The engineer saved the recipe file: use it now (the selected recipe may have a new
        bundle or policy; the core swaps it in between two parts)."""
        self.access.audit_recipes(self.book, book)
        self.settings.recipes_file = self.settings_dialog.settings.recipes_file
        self.settings.save(self.qsettings)
        self.load_recipe_book()
        self.load_recipe()

    def _recipe_chosen(self) -> None:
        if self.access.may_select_recipe(self.recipe_box.currentData()):
            self.select_recipe(self.recipe_box.currentData())

    def _window_recipe(self) -> Recipe:
        """The active recipe: the recipe file's selected one, else one made of the settings
        (their bundle and archive policy)."""
        recipe = self._book_recipe()
        if recipe is not None:
            return recipe
        mode = self.display.mode
        return Recipe(
            id=Path(self.settings.bundle).name or "window",
            bundle=self.settings.bundle,
            overlays=self.settings.archive,
            archive=self.settings.archive,
            overlay_mode=mode if mode != "none" else "mask",  # archived overlays show defects
        )

    def _prepare_recipe(self) -> None:
        """Make the window's recipe active with the Inspector already loaded for its bundle
        (a new store, or another archive policy: nothing to load)."""
        if self.station is None or self.inspector is None:
            return
        recipe = self._window_recipe()
        try:
            active = self.station.prepare(recipe, "window", self.inspector)
        except RecipeError as exc:
            self.report_error(str(exc))
            return
        if self._book_recipe() is not None:
            self.thresholds = active.thresholds
        else:
            self.station.set_thresholds(self.thresholds)

    # --- line links ------------------------------------------------------------------------
    def _start_links(self) -> None:
        """Start the links the settings name on the station (closing any running first); one
        that cannot start is reported and the others still run."""
        self._close_links()
        if self.station is None:
            return
        for kind in LINK_KINDS_IN_WINDOW:
            address = getattr(self.settings, kind)
            if not address:
                continue
            table = {LINK_KINDS[kind].address_key: address, **self._link_options(kind)}
            try:
                spec = parse_link(kind, table, self.station.name)
                (self.links[kind],) = start_links([spec], self.station, self.book)
            except LinkError as exc:
                self.report_error(f"Line link not started: {exc}")
        self._links_timer.start() if self.links else self._links_timer.stop()
        self._show_links()

    def _link_options(self, kind: str) -> dict[str, str]:
        """The settings beyond a link's address: OPC UA's login, MQTT's TLS files."""
        if kind == "opcua" and self.settings.opcua_user:
            return {
                "username": self.settings.opcua_user,
                "password_hash": self.settings.opcua_password_hash,
            }
        if kind == "mqtt":
            files = {field: getattr(self.settings, name) for name, field in MQTT_TLS_FILES.items()}
            return {field: path for field, path in files.items() if path}
        return {}

    def _close_links(self) -> None:
        close_links(list(self.links.values()))
        self.links = {}

    def link_states(self) -> dict[str, str]:
        """What each running link says now, by kind (for the engineer settings)."""
        states = {}
        for kind, link in self.links.items():
            status = link.status()
            error = getattr(status, "last_error", None)
            states[kind] = status.headline() + (f" · last error: {error}" if error else "")
        return states

    def _show_links(self) -> None:
        parts, up, statuses = [], True, {}
        for kind, link in self.links.items():
            status = statuses[kind] = link.status()
            up = up and status.up
            parts.append(f"{LINK_NAMES[kind]} {status.headline()}")
        self.status.set_links(" | ".join(parts), up)
        configured = {kind for kind in LINK_KINDS_IN_WINDOW if getattr(self.settings, kind)}
        self.line_panel.show_links(statuses, configured)
        self.alarm_panel.links({LINK_NAMES[kind]: s.up for kind, s in statuses.items()})

    def _close_station(self) -> None:
        self._close_links()
        self.statistics.attach(None)
        self.alarm_panel.detach()
        if self.bridge is not None:
            self.bridge.unsubscribe()
            self.bridge = None
        self.station = None
        if self.results is not None:
            self.results.close()
            self.results = None

    def reset_counters(self) -> None:
        if self.station is not None and self.access.allow(Action.RESET_COUNTERS):
            self.access.audit_counters(self.station.counters)
            self.station.reset_counters()
            self.counters.set_counts(self.station.counters)

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
    def set_source(self, spec: str) -> bool:
        """Make `spec` the source once `source_picker.check_path` accepts it; a refused one is
        reported and the source stays as it was."""
        if not spec:
            return False
        try:
            spec = source_picker.check_path(spec, camera=True)
        except source_picker.PathRefused as exc:
            self.report_error(f"Source not used: {exc}")
            return False
        self.stop()
        if spec != self.source:
            self.access.audit("source", "source", self.source or None, spec)
        self.source = spec
        self.settings.last_source = spec
        self.settings.save(self.qsettings)
        self._show_source()
        return True

    def _show_source(self) -> None:
        text = source_picker.describe(self.source) if self.source else self.tr("no source chosen")
        self.source_label.setText(self.tr("Source — {source}").format(source=text))
        self.source_label.setToolTip(self.source)

    def _start_dir(self) -> str:
        return str(Path(self.source).parent) if self.source and not self.source.isdigit() else ""

    # The dialogs return at once and hand the path over later: a run goes on meanwhile.
    def choose_image(self) -> QFileDialog | None:
        if not self.access.allow(Action.CHOOSE_SOURCE):
            return None
        return source_picker.ask_image(self, self._start_dir(), self.set_source, self._refused)

    def choose_folder(self) -> QFileDialog | None:
        if not self.access.allow(Action.CHOOSE_SOURCE):
            return None
        return source_picker.ask_folder(self, self._start_dir(), self.set_source, self._refused)

    def choose_video(self) -> QFileDialog | None:
        if not self.access.allow(Action.CHOOSE_SOURCE):
            return None
        return source_picker.ask_video(self, self._start_dir(), self.set_source, self._refused)

    def choose_camera(self) -> QInputDialog | None:
        if not self.access.allow(Action.CHOOSE_SOURCE):
            return None
        return source_picker.ask_camera(self, self.source, self.set_source, self._refused)

    def _refused(self, message: str) -> None:
        self.report_error(f"Not used: {message}")

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = event.mimeData().urls()
        if urls and self.access.allow(Action.CHOOSE_SOURCE):
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

    def start(self, paused: bool = False, source: FrameSource | None = None) -> bool:
        """Start a run of the chosen source (or of `source`, already open) on the station core:
        continuous, or file arrival for a watched folder."""
        if self.running:
            return True
        if self.inspector is None or self.station is None or self.station.active is None:
            self.errors.add_error(
                self.tr("Cannot start: no model bundle is loaded (see Engineer settings)")
            )
            return False
        if not self.source and source is None:
            self.errors.add_error(
                self.tr("Cannot start: choose a source first (File menu or drop it here)")
            )
            return False
        if source is None:  # a remembered or --source path is checked as a chosen one is
            try:
                source_picker.check_path(self.source, camera=True)
            except source_picker.PathRefused as exc:
                self.report_error(f"Cannot start: {exc}")
                return False
        self._join_runs()  # a stopped run may still be finishing its part
        if self.station.recipe != self._window_recipe():  # archive or overlay policy changed
            self._prepare_recipe()
        if self.station.state in (VisionState.ERROR, VisionState.HALTED):
            self.station.reset()  # the operator's Start acknowledges the fault
        kind = source.kind if source is not None else classify(self.source)
        watching = kind == "folder" and self.settings.watch_folder
        skipped = 0
        if kind == "folder" and self.settings.skip_inspected:
            digest = self.inspector.bundle.digest
            skipped = len(self.station.store.done_frames(source_key(self.source), digest))
        if self.software_trigger:
            mode = TriggerMode.SOFTWARE
        else:
            mode = TriggerMode.FILE if watching else TriggerMode.CONTINUOUS
        run = StationRun(
            self.station,
            source if source is not None else self.source,
            mode,
            resume=self.settings.skip_inspected,
            realtime=kind == "video" and self.settings.video_as_camera,
        )
        self.station.set_paused(paused)
        run.cannot_start.connect(self._source_failed)
        run.finished.connect(self._run_finished)
        self.run = run
        self.status.reset_rate()
        self.status.set_dropped(0)
        if kind == "folder":
            self.batch.start(Path(self.source).name, watching, skipped)
            self.batch.set_running(True, paused)
        self._show_running(True)
        self._start_thread(run)
        return True

    @property
    def software_trigger(self) -> bool:
        return self.settings.trigger_mode == "software"

    def _trigger_mode_changed(self) -> None:
        """Applies from the next Start; kept for the next shift."""
        self.settings.trigger_mode = self.trigger_box.currentData()
        self.settings.save(self.qsettings)
        self._apply_trigger_mode()

    def _apply_trigger_mode(self) -> None:
        """In software-trigger mode Space (and the foot pedal's key) trigger a part, and
        Ctrl+Space starts and stops; in free run Space starts and stops."""
        software = self.software_trigger
        self.act_run.setShortcut(QKeySequence("Ctrl+Space" if software else "Space"))
        keys = ["Space", self.settings.pedal_key] if software else []
        self.act_trigger.setShortcuts([QKeySequence(k) for k in keys if k])
        self.act_trigger.setVisible(software)
        self.part_id_action.setVisible(software)  # a toolbar widget shows through its action
        self.trigger_panel.set_keys(software, self.settings.pedal_key)

    def send_trigger(self) -> bool:
        """One part, now: the station takes the next frame after this moment. A trigger while
        the station is busy is a missed trigger, stored and counted (status bar)."""
        if not self.software_trigger:
            return False
        if not self.running:
            self.statusBar().showMessage(self.tr("Trigger ignored: press Start first"), 4000)
            return False
        part_id = self.part_id.text().strip() or None
        taken = self.station.trigger(part_id=part_id, origin="window")
        if taken:
            self.part_id.clear()
        return taken

    def _trigger_missed(self, event: TriggerMissed) -> None:
        self.status.set_missed(event.missed)
        self.statusBar().showMessage(
            self.tr("Trigger missed: {reason}").format(reason=event.reason), 4000
        )

    def _remember_folder_options(self) -> None:
        """Applies from the next run; kept for the next shift."""
        self.settings.watch_folder = self.act_watch.isChecked()
        self.settings.skip_inspected = self.act_skip.isChecked()
        self.settings.video_as_camera = self.act_video_live.isChecked()
        self.settings.save(self.qsettings)

    def stop(self) -> None:
        """Stop from the operator's view at once: the core finishes its current part on its
        thread (and records it); Start waits for that before the next run."""
        if self.run is not None:
            self.run = None
            self.station.stop()
            self._run_ended("stopped")

    def _join_runs(self) -> None:
        for thread in [t for t in self.threads if isinstance(t, StationRun)]:
            thread.wait()

    def step(self) -> None:
        """One frame, then pause: starts the run paused if none is going."""
        if self.run is None and not self.start(paused=True):
            return
        self.station.step()
        self.batch.set_running(True, paused=True)

    def set_paused(self, paused: bool) -> None:
        if self.run is not None:
            self.station.set_paused(paused)

    def toggle_pause(self) -> None:
        if self.run is not None:
            self.set_paused(not self.station.paused)
            self.batch.set_running(True, self.station.paused)

    def _source_failed(self, message: str) -> None:
        # A part still waiting for the display's pace must not paint its verdict over the
        # source's error: it is in the history, the error is what the operator must see now.
        self._pending = None
        self._display_timer.stop()
        self.errors.add_error(message)
        self.verdict.banner.show_error(message, cause="source")
        if self.station is not None:
            self.counters.set_counts(self.station.counters)

    def _part_failed(self, part: PartResult) -> None:
        self.counters.set_counts(part.counters)
        self.errors.add_error(f"{part.frame.origin}: {part.error}")
        self._progress(part)
        self._show_later(part)

    def _run_finished(self) -> None:
        """A run ended by itself (end of folder or video, source failure)."""
        if self.run is not None and self.run.isFinished():
            self.run = None
            self._run_ended("done")

    def _run_ended(self, how: str) -> None:
        self._show_running(False)
        text = (
            self.tr("Last run stopped: {n} frame(s)")
            if how == "stopped"
            else self.tr("Last run done: {n} frame(s)")
        )
        self.batch.finish(text.format(n=self.batch_done))

    def _start_thread(self, thread: QThread) -> None:
        self.threads.add(thread)
        thread.finished.connect(self._thread_finished)
        thread.start()

    def _thread_finished(self) -> None:
        for thread in [t for t in self.threads if t.isFinished()]:
            thread.wait()  # returns at once: run() is over; frees the native thread
            self.threads.discard(thread)

    def _show_running(self, running: bool) -> None:
        self.act_run.setIcon(icon("stop" if running else "start"))
        self.act_run.setText(self.tr("&Stop") if running else self.tr("&Start"))
        self.big_start.setIcon(icon("stop" if running else "start"))
        self.big_start.setText(self.tr("STOP") if running else self.tr("START"))

    # --- results -------------------------------------------------------------------------------
    def _part_done(self, part: PartResult) -> None:
        entry = to_inspected(part)
        self.counters.set_counts(part.counters)
        self.history.add(entry, part.result_id)
        self.alarm_panel.part(entry.verdict)
        self.status.frame_done(entry.latency_ms)
        self._progress(part)
        self._show_later(entry)

    def _show_later(self, shown: Inspected | PartResult) -> None:
        """The newest part goes on screen at the display's pace, inspected or not: a part
        that failed replaces the one before it, and a later one replaces it."""
        self._pending = shown
        if not self._display_timer.isActive():
            self._display_timer.start()

    def _progress(self, part: PartResult) -> None:
        self.batch_done = part.done
        self.batch.set_progress(part.done, max(part.expected or 0, part.done))

    def _show_pending(self) -> None:
        shown, self._pending = self._pending, None
        if isinstance(shown, Inspected):
            self.current, self.replay = shown, None
            self.view.set_qimage(shown.overlay)
            self._show_details(shown.result)
        elif shown is not None:
            self._show_failure(shown)

    def _show_failure(self, part: PartResult) -> None:
        """A part that could not be inspected takes the screen from the one before: ERROR on
        the banner, its own image if it has one, else its name where the image was."""
        self.current = self.replay = None  # a change must not bring the last part back
        self.model_table.clear()
        frame = part.frame
        what = Path(frame.origin).name if frame.path else frame.origin  # printable
        reason = part.error or "unreadable"
        if frame.image is not None:
            self.view.set_image(frame.image)
        else:
            self.view.clear(
                self.tr("{what}\ncannot be inspected: {reason}").format(what=what, reason=reason)
            )
        self.verdict.show_failure(what, reason)

    def show_entry(self, replay: Replay) -> None:
        """Show a result from the history as RECORDED: its stored verdict, scores and thresholds,
        marked with the time; today's thresholds do not re-judge it (`show_what_if` does, on an
        engineer's request). Its image is redrawn in the current overlay mode while this session
        holds it, else the archived overlay or original is shown."""
        self.current, self.replay, self.what_if = replay.entry, replay, False
        self._redraw_current()

    def show_what_if(self) -> None:
        """The replayed part judged with the current thresholds, labelled as a what-if."""
        if self.replay is not None and self.replay.entry is not None:
            self.what_if = True
            self._redraw_current()

    def _show_replay(self, replay: Replay) -> None:
        what_if = self.thresholds if self.what_if else None
        image, details = replay_view(replay, self.display, what_if)
        if image is None:
            self.view.clear(self.tr("recorded result: no image of it was archived"))
        else:
            self.view.set_qimage(image)
        self.verdict.show_details(details)
        self.model_table.show_details(details, what_if_possible=replay.in_memory)

    def _redraw_current(self) -> None:
        if self.replay is not None:
            self._show_replay(self.replay)
            return
        if self.current is None or self.current.frame.image is None:
            return
        mode, opacity = self.display.mode, self.display.opacity
        image = render_overlay(self.current.frame.image, self.current.result, mode, opacity, False)
        self.current.overlay = bgr_to_qimage(image)
        self.view.set_qimage(self.current.overlay)
        self._show_details(self.current.result)

    def _show_details(self, result: InspectionResult) -> None:
        """The banner, the gauge and the model table of one result, from one PartDetails."""
        details = details_of_result(result)
        self.verdict.show_details(details)
        self.model_table.show_details(details)

    def _overlay_changed(self) -> None:
        mode = self.mode_box.currentData()
        opacity = self.opacity.value() / 100
        self.display = Display(mode, opacity)
        if self.station is not None:
            self.station.display = self.display
        self.settings.overlay_mode, self.settings.opacity = mode, opacity
        self.legend.set_mode(mode)
        self._redraw_current()

    def apply_thresholds(self, thresholds: Thresholds) -> None:
        """New thresholds act on the next frames and, at once, on the image on screen."""
        self.thresholds = thresholds
        if self.station is not None:
            self.station.set_thresholds(thresholds)
        if self.current is not None and self.replay is None:  # a replay stays as recorded
            self.current.result = decide(self.current.result, thresholds)
            self._redraw_current()
        elif self.replay is not None and self.what_if:
            self._redraw_current()

    def export_results(self, kind: str) -> QFileDialog | None:
        """Ask where to export (the dialog returns at once, a run goes on), then export."""
        if self.results is None:
            self.report_error("No results store is open; nothing to export")
            return None
        default = str(Path(self.settings.output_dir) / f"results.{kind}")
        return source_picker.ask_path(
            self,
            self.tr("Export results as {kind}").format(kind=kind.upper()),
            default,
            lambda path: self.export_to(kind, path),
            self._refused,
            source_picker.Wanted.NEW_FILE,
            f"{kind.upper()} (*.{kind})",
        )

    def export_to(self, kind: str, path: str) -> None:
        try:
            writer = self.results.export_csv if kind == "csv" else self.results.export_json
            writer(path)
        except (OSError, StoreError) as exc:
            self.report_error(f"Export to {path} failed: {exc}")
            return
        self.statusBar().showMessage(self.tr("Results exported to {path}").format(path=path), 5000)

    # --- settings ------------------------------------------------------------------------------
    def open_settings(self) -> QWidget:
        """The engineer settings, after a login when the user's level is too low."""
        return self.access.open_settings()

    def _show_settings(self) -> None:
        dialog = SettingsDialog(
            self.settings, self.inspector, self.thresholds, self, self.link_states()
        )
        dialog.thresholds_changed.connect(self.apply_thresholds)
        dialog.applied.connect(self.apply_settings)
        dialog.recipes_saved.connect(self._recipes_saved)
        dialog.accepted.connect(
            lambda: self.access.audit_thresholds(dialog.original, self.thresholds)
        )
        dialog.setModal(False)  # the overlay and the images stay usable while tuning
        dialog.show()
        self.settings_dialog = dialog

    def apply_settings(self, new: StationSettings) -> None:
        old = self.settings
        self.settings = dataclasses.replace(new, last_source=self.source)
        self.access.audit_settings(old, self.settings)
        self.settings.save(self.qsettings)
        self._keep_thresholds()
        if new.output_dir != old.output_dir:
            self._open_results()
        if new.recipes_file != old.recipes_file or new.recipe_id != old.recipe_id:
            self.load_recipe_book()
        self.load_recipe()  # loads only when the bundle or the provider changed
        self._apply_trigger_mode()
        self.alarm_panel.set_limits(alarm_limits(self.settings))
        self.statistics.set_shift_starts(self.settings.shift_starts)
        link_fields = (*LINK_KINDS_IN_WINDOW, "opcua_user", "opcua_password_hash", *MQTT_TLS_FILES)
        if any(getattr(new, k) != getattr(old, k) for k in link_fields):
            self._start_links()

    def _keep_thresholds(self) -> None:
        """Accepted thresholds go to their one owner: the selected recipe in the recipe file,
        or (no recipe file) the settings, for this exact bundle."""
        if self.inspector is None or self.thresholds is None:
            return
        recipe = self._book_recipe()
        if recipe is None:
            save_thresholds(self.qsettings, self.inspector.bundle.digest, self.thresholds)
            return
        overrides = {
            name: getattr(self.thresholds, name)
            for name in THRESHOLD_FIELDS
            if getattr(self.thresholds, name) is not None
        }
        self.book.recipes[recipe.id] = dataclasses.replace(recipe, thresholds=overrides)
        try:
            save_recipes(self.book, self.book.path)
        except OSError as exc:
            self.report_error(f"{self.book.path}: thresholds not saved in the recipe file ({exc})")

    def show_shortcuts(self) -> None:
        ShortcutsDialog(self.actions(), self).exec()

    # --- operator mode and full screen ---------------------------------------------------------
    def set_operator_mode(self, on: bool) -> None:
        """Operator mode: full screen, large fonts, only view, banner, counters, start / stop."""
        self.setProperty("operator", "true" if on else "false")
        for widget in (self.menuBar(), self.toolbar, self.history, self.batch, self.statusBar()):
            widget.setVisible(not on)
        self.big_start.setVisible(on)
        self.trigger_panel.leave_button.setVisible(on)
        self.act_operator.setChecked(on)
        for shown in (self.verdict, self.model_table, self.legend, self.alarm_panel):
            shown.set_operator(on)  # larger type; the statistics (an engineer's) hide
        self.statistics.set_operator(on)
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
        self.statistics.shutdown()
        self._close_station()

    def _quit(self) -> None:
        if self.access.may_close():
            self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        if event.spontaneous() and not self.access.may_close():  # the window's close button
            event.ignore()
            return
        self.shutdown()
        super().closeEvent(event)


def _same_path(a: str | Path, b: str | Path) -> bool:
    return Path(a).resolve() == Path(b).resolve()
