"""Alarms on the operator screen: each open alarm with its time and an Acknowledge button, until
someone acknowledges it (recorded in the store with who and when, `engine.alarms`).

The panel owns the window's `AlarmMonitor`: the window hands it each judged part, the live
frames left uninspected and the line links' states; what the rules raise appears here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from engine import alarms
from engine.alarms import Alarm, AlarmLimits, AlarmMonitor
from engine.store import ResultStore, StoreError
from gui.i18n.engine_text import engine_text

log = logging.getLogger(__name__)
TOUCH_PX = 48  # the smallest target a gloved finger hits


class AlarmPanel(QFrame):
    """Hidden while no alarm is open; `changed` fires when alarms are raised or acknowledged."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="alarmPanel")
        self.monitor: AlarmMonitor | None = None
        self.who: Callable[[], str] = lambda: "operator"  # the name the record keeps
        self.alarms: list[Alarm] = []
        self._rows = QVBoxLayout(self)
        self._rows.setContentsMargins(8, 6, 8, 6)
        self._font_px = 15
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.setStyleSheet(
            "#alarmPanel { background-color: #5c1a0b; border: 2px solid #ff6b5a;"
            " border-radius: 6px; }"
            " #alarmPanel QLabel, #alarmPanel QWidget#alarmRow { background: transparent; }"
        )
        self._show()

    def attach(self, store: ResultStore, limits: AlarmLimits) -> None:
        """Watch the parts of this store; its open alarms (from before a restart) show at once."""
        try:
            self.monitor = AlarmMonitor(store, limits)
            self.alarms = alarms.open_alarms(store)
        except StoreError as exc:
            log.error("alarms not available: %s", exc)
            self.monitor, self.alarms = None, []
        self._show()

    def detach(self) -> None:
        self.monitor, self.alarms = None, []
        self._show()

    def set_limits(self, limits: AlarmLimits) -> None:
        if self.monitor is not None:
            self.monitor.set_limits(limits)

    def part(self, verdict: str) -> None:
        self._apply(lambda m: m.part(verdict))

    def dropped(self, count: int) -> None:
        self._apply(lambda m: m.dropped(count))

    def links(self, states: dict[str, bool]) -> None:
        self._apply(lambda m: m.links(states))

    def _apply(self, rule) -> None:
        if self.monitor is None:
            return
        try:
            raised = rule(self.monitor)
        except StoreError as exc:  # a full disk: the line goes on, the log says why
            log.error("alarm not recorded: %s", exc)
            return
        if raised:
            for alarm in raised:
                log.warning("alarm: %s", alarm.message)
            self.alarms += raised
            self._show()
            self.changed.emit()

    def acknowledge(self, alarm_id: int) -> None:
        if self.monitor is None:
            return
        try:
            alarms.acknowledge(self.monitor.store, alarm_id, self.who())
        except (StoreError, alarms.AlarmError) as exc:
            log.error("alarm %d: %s", alarm_id, exc)
        self.alarms = [a for a in self.alarms if a.id != alarm_id]
        self._show()
        self.changed.emit()

    def set_operator(self, on: bool) -> None:
        self._font_px = 24 if on else 15
        self._show()

    def _show(self) -> None:
        while self._rows.count():
            item = self._rows.takeAt(0)
            if item.widget() is not None:  # hidden now: deleteLater leaves it painted a while
                item.widget().hide()
                item.widget().deleteLater()
        for alarm in self.alarms:
            self._rows.addWidget(self._row(alarm))
        self.setVisible(bool(self.alarms))

    def _row(self, alarm: Alarm) -> QWidget:
        row = QWidget(objectName="alarmRow")
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        clock = time.strftime("%H:%M:%S", time.localtime(alarm.time))
        text = QLabel(f"⚠ {clock}  {engine_text(alarm.message)}", wordWrap=True)
        text.setStyleSheet(f"color: #ffffff; font-size: {self._font_px}px; font-weight: bold;")
        button = QPushButton(self.tr("Acknowledge"), objectName="alarmAcknowledge")
        button.setMinimumHeight(TOUCH_PX)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.setToolTip(self.tr("Acknowledge this alarm (recorded with your name and the time)"))
        button.clicked.connect(lambda: self.acknowledge(alarm.id))
        layout.addWidget(text, 1)
        layout.addWidget(button)
        return row
