"""The engineer's statistics: counters per lot, shift and the last hour beside the running
total, processing times and parts per minute, the yield trend and NG by reason (pyqtgraph), and
the lot controls.

The figures come from the store (`engine.statistics.snapshot`), gathered by `StatisticsFeed` on
a worker thread every few seconds, so neither a long lot nor a slow disk stalls the window.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor

import pyqtgraph as pg
from PySide6.QtCore import QT_TRANSLATE_NOOP, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine import lots
from engine.statistics import Snapshot, TimingStats, parse_shift_starts, snapshot
from engine.store import Counters, ResultStore, StoreError
from gui.counters import CounterPanel, yield_text
from gui.i18n.engine_text import engine_text
from gui.model_table import verdict_name
from gui.workers import StationBridge

log = logging.getLogger(__name__)

REFRESH_MS = 2000  # a snapshot at least this often, for the last hour and the shift's end
MIN_GAP_MS = 1000  # and at most this often, however fast parts come (each part asks for one)
# A chart replot costs some 15 ms of the GUI thread (mostly its axes' text), the tables under
# 1 ms: the charts follow at most this often (and at once for another lot or shift).
CHART_INTERVAL_S = 5.0
RUNNING_TOTAL = QT_TRANSLATE_NOOP("StatisticsView", "running total")
YIELD_PEN = "#4fd1a5"
BAR_BRUSH = "#ff9e57"


class StatisticsFeed(QObject):
    """Gathers a Snapshot of the store off the GUI thread, at most one at a time; `ready`
    arrives in the GUI thread (a signal emitted from the worker is queued to its receivers)."""

    ready = Signal(object)  # Snapshot

    def __init__(self, interval_ms: int = REFRESH_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store: ResultStore | None = None
        self.shift_starts: list[dt.time] = [dt.time(6), dt.time(14), dt.time(22)]
        self.latest: Snapshot | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="statistics")
        self._job: Future | None = None
        self._again = False
        self._last_start = 0.0
        self.ready.connect(self._keep)
        self.timer = QTimer(self, interval=interval_ms)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self._soon = QTimer(self, singleShot=True)
        self._soon.timeout.connect(self.refresh)

    def set_store(self, store: ResultStore | None) -> None:
        self.store = store
        self.refresh()

    def refresh(self) -> None:
        """Gather a new snapshot; one asked for while one is running follows it, and one asked
        for sooner than MIN_GAP_MS after the last waits for the rest of that gap."""
        if self.store is None or self._pool is None:
            return
        if self._job is not None and not self._job.done():
            self._again = True
            return
        wait_ms = MIN_GAP_MS - (time.monotonic() - self._last_start) * 1000
        if wait_ms > 0:
            if not self._soon.isActive():
                self._soon.start(int(wait_ms) + 1)
            return
        self._last_start = time.monotonic()
        self._job = self._pool.submit(self._gather, self.store, list(self.shift_starts))

    def _gather(self, store: ResultStore, starts: list[dt.time]) -> None:
        try:
            shot = snapshot(store, starts)
        except StoreError as exc:  # a store being closed, a disk gone: the next tick tries again
            log.debug("statistics not gathered: %s", exc)
            return
        self.ready.emit(shot)

    def _keep(self, shot: Snapshot) -> None:
        self.latest = shot
        if self._again:
            self._again = False
            self.refresh()

    def wait(self) -> None:
        """Until the snapshot in flight (if any) has been delivered: for tests and shutdown."""
        if self._job is not None:
            self._job.result()

    def shutdown(self) -> None:
        """Stop gathering and join the worker; safe to call twice."""
        self.timer.stop()
        self._soon.stop()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def _table(rows: int, headers: list[str]) -> QTableWidget:
    table = QTableWidget(rows, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    table.verticalHeader().setMinimumWidth(150)  # fixed: a new label does not re-lay it out
    return table


def _fill(table: QTableWidget, rows: list[tuple[str, list[str]]]) -> None:
    """Change only the texts that changed: each refresh then repaints a few cells, not the
    whole table (the event loop keeps its pace while a line runs)."""
    if table.rowCount() != len(rows):
        table.setRowCount(len(rows))
    for row, (label, cells) in enumerate(rows):
        header = table.verticalHeaderItem(row)
        if header is None or header.text() != label:
            table.setVerticalHeaderItem(row, QTableWidgetItem(label))
        for column, text in enumerate(cells):
            item = table.item(row, column)
            if item is None:
                item = QTableWidgetItem()
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(row, column, item)
            if item.text() != text:
                item.setText(text)


def count_cells(counts: Counters) -> list[str]:
    return [
        str(counts.ok + counts.ng),
        str(counts.ok),
        str(counts.ng),
        yield_text(counts),
        str(counts.errors),
    ]


def timing_cells(stats: TimingStats) -> list[str]:
    def ms(value: float | None) -> str:
        return "–" if value is None else f"{value:.0f}"

    rate = stats.parts_per_minute
    return [
        ms(stats.min_ms),
        ms(stats.mean_ms),
        ms(stats.p95_ms),
        ms(stats.max_ms),
        "–" if rate is None else f"{rate:.1f}",
    ]


class StatisticsView(QWidget):
    """Shows each Snapshot of its feed; starts and ends lots in the feed's store."""

    def __init__(self, feed: StatisticsFeed, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.feed = feed
        feed.ready.connect(self.show_snapshot)
        pg.setConfigOptions(antialias=True, background="#1b1f24", foreground="#e8eaed")

        self.lot_name = QLineEdit(placeholderText=self.tr("lot name (order or batch number)"))
        self.lot_name.returnPressed.connect(self.start_lot)
        self.start_button = QPushButton(self.tr("Start lot"))
        self.start_button.clicked.connect(self.start_lot)
        self.end_button = QPushButton(self.tr("End lot"))
        self.end_button.clicked.connect(self.end_lot)
        self.lot_state = QLabel(self.tr("no lot open"))
        self.message = QLabel(objectName="statisticsMessage")
        self.message.setStyleSheet("color: #ff9e80;")
        lot_row = QHBoxLayout()
        lot_row.addWidget(QLabel(self.tr("Lot")))
        lot_row.addWidget(self.lot_name, 1)
        lot_row.addWidget(self.start_button)
        lot_row.addWidget(self.end_button)
        lot_row.addWidget(self.lot_state, 1)
        lot_row.addWidget(self.message)

        self.counts = _table(
            0,
            [
                self.tr("parts"),
                verdict_name("OK"),
                verdict_name("NG"),
                self.tr("yield"),
                self.tr("errors"),
            ],
        )
        self.timings = _table(
            0,
            [
                self.tr("min ms"),
                self.tr("mean ms"),
                self.tr("p95 ms"),
                self.tr("max ms"),
                self.tr("parts / min"),
            ],
        )
        self.trend_plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem()})
        self.trend_plot.setTitle(self.tr("Yield trend"))
        self.trend_plot.setLabel("left", self.tr("yield"), units="%")
        self.trend_plot.setYRange(0, 100)
        self.trend_plot.showGrid(x=True, y=True, alpha=0.2)
        self.trend = self.trend_plot.plot([], [], pen=pg.mkPen(YIELD_PEN, width=2), symbol="o")
        self.trend.setSymbolSize(5)
        self.trend.setSymbolBrush(YIELD_PEN)
        self.reason_plot = pg.PlotWidget()
        self.reason_plot.setTitle(self.tr("NG by reason"))
        self.reason_plot.setLabel("left", self.tr("NG parts"))
        self.reason_plot.setMouseEnabled(x=False, y=False)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.6, brush=BAR_BRUSH)
        self.reason_plot.addItem(self.bars)

        grid = QGridLayout()
        grid.addWidget(QLabel(self.tr("Counters")), 0, 0)
        grid.addWidget(QLabel(self.tr("Processing time per part and rate")), 0, 1)
        grid.addWidget(self.counts, 1, 0)
        grid.addWidget(self.timings, 1, 1)
        grid.addWidget(self.trend_plot, 2, 0)
        grid.addWidget(self.reason_plot, 2, 1)
        grid.setRowStretch(2, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(lot_row)
        layout.addLayout(grid, 1)
        self.shown: Snapshot | None = None
        self.chart_interval_s = CHART_INTERVAL_S
        self._charts_at = 0.0
        self._charted: Snapshot | None = None

    def start_lot(self) -> None:
        store = self.feed.store
        if store is None:
            self.message.setText(self.tr("no results store is open"))
            return
        try:
            lot = lots.start_lot(store, self.lot_name.text())
        except (lots.LotError, StoreError) as exc:
            self.message.setText(str(exc))
            return
        log.info("lot %s started", lot.name)
        self.lot_name.clear()
        self.message.clear()
        self.feed.refresh()

    def end_lot(self) -> None:
        store = self.feed.store
        if store is None:
            return
        try:
            lots.end_lot(store)
        except StoreError as exc:
            self.message.setText(str(exc))
            return
        self.message.clear()
        self.feed.refresh()

    def show_snapshot(self, shot: Snapshot) -> None:
        self.shown = shot
        if shot.lot is None:
            self.lot_state.setText(self.tr("no lot open"))
        else:
            since = time.strftime("%H:%M:%S", time.localtime(shot.lot.started))
            text = self.tr("lot {name} open since {since}")
            self.lot_state.setText(text.format(name=shot.lot.name, since=since))
        self.end_button.setEnabled(shot.lot is not None)
        rows = [(self.tr(RUNNING_TOTAL), count_cells(shot.total))]
        rows += [(engine_text(label), count_cells(shot.counts[label])) for label in shot.periods]
        _fill(self.counts, rows)
        times = [(engine_text(label), timing_cells(t)) for label, t in shot.timings.items()]
        _fill(self.timings, times)
        self._show_charts(shot)

    def _show_charts(self, shot: Snapshot) -> None:
        drawn = self._charted  # the snapshot the charts show
        moved = drawn is None or shot.trend_label != drawn.trend_label
        if not moved and time.monotonic() - self._charts_at < self.chart_interval_s:
            return
        self._charts_at, self._charted = time.monotonic(), shot
        if moved or shot.trend != drawn.trend:
            title = self.tr("Yield trend, {period}").format(period=engine_text(shot.trend_label))
            self.trend_plot.setTitle(title)
            self.trend.setData([p.time for p in shot.trend], [100 * p.yield_ for p in shot.trend])
        if moved or shot.reasons != drawn.reasons:  # in a turn of its own: two short stalls
            QTimer.singleShot(0, self, lambda: self._show_reasons(shot))

    def _show_reasons(self, shot: Snapshot) -> None:
        labels = [engine_text(label) for label in shot.reasons]
        self.bars.setOpts(x=list(range(len(labels))), height=list(shot.reasons.values()))
        self.reason_plot.getAxis("bottom").setTicks([list(enumerate(labels))])
        title = self.tr("NG by reason, {period}").format(period=engine_text(shot.trend_label))
        self.reason_plot.setTitle(title)
        if labels:
            self.reason_plot.setXRange(-0.6, len(labels) - 0.4)
            self.reason_plot.setYRange(0, max(shot.reasons.values()) * 1.15)


class StatisticsDock(QDockWidget):
    """The statistics view as a dock of the window (View › Statistics, Ctrl+T), hidden in
    operator mode; its feed also gives the counter panel the lot's and the shift's counts."""

    def __init__(self, window: QMainWindow, counters: CounterPanel, shift_starts: str) -> None:
        super().__init__(window, objectName="statisticsDock")
        self.setWindowTitle(self.tr("Statistics"))
        self.feed = StatisticsFeed(parent=self)
        self.view = StatisticsView(self.feed)
        self.setWidget(self.view)
        self.set_shift_starts(shift_starts)
        self.feed.ready.connect(counters.show_periods)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self)
        # A window of its own at first: docked, it would take the height the side panel needs.
        self.setFloating(True)
        self.resize(1100, 640)
        self.toggleViewAction().setShortcut(QKeySequence("Ctrl+T"))
        window.addAction(self.toggleViewAction())  # listed in the shortcuts dialog (F1)
        self.wanted = False  # shown by the engineer: comes back after operator mode
        self.hide()

    def attach(self, store: ResultStore | None, bridge: StationBridge | None = None) -> None:
        """Follow `store`; with the station's `bridge`, a new snapshot after each part."""
        if bridge is not None:
            bridge.part_done.connect(self.feed.refresh)
            bridge.part_failed.connect(self.feed.refresh)
        self.feed.set_store(store)

    def set_shift_starts(self, text: str) -> None:
        try:
            self.feed.shift_starts = parse_shift_starts(text)
        except ValueError as exc:  # a hand-edited settings file; the dialog refuses bad ones
            log.error("shift start times %r not used: %s", text, exc)
        self.feed.refresh()

    def set_operator(self, on: bool) -> None:
        if on:
            self.wanted = self.isVisible()
            self.hide()
        elif self.wanted:
            self.show()

    def shutdown(self) -> None:
        self.feed.shutdown()
