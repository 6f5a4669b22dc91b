"""Line status as lights: the station's trigger and source, and each line link (PLC over Modbus
TCP, OPC UA, MQTT) with its state, last trigger and last acknowledgement.

Green (Okabe-Ito bluish green) is up, vermilion is down, grey is off (not configured). The
trigger and source rows follow the station's events; the link rows are refreshed by the window
from each link's `status()` (the same the status bar shows).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QWidget

from engine.events import PartResult, TriggerMissed
from gui.model_table import verdict_name
from gui.workers import StationBridge

LINK_ROWS = {
    "modbus": QT_TRANSLATE_NOOP("LinePanel", "PLC (Modbus)"),
    "opcua": QT_TRANSLATE_NOOP("LinePanel", "OPC UA"),
    "mqtt": QT_TRANSLATE_NOOP("LinePanel", "MQTT"),
}
ROWS = {
    "trigger": QT_TRANSLATE_NOOP("LinePanel", "Trigger"),
    "source": QT_TRANSLATE_NOOP("LinePanel", "Source"),
    **LINK_ROWS,
}
# Which field of each link's status holds its last trigger and last acknowledgement.
LAST_TRIGGER = {"modbus": "last_trigger", "opcua": "last_call_time", "mqtt": "last_command"}
LAST_ACK = {"modbus": "last_ack", "opcua": "last_event_time", "mqtt": "last_ack"}
DOWN_STATES = ("Error", "Halted")


class Light(StrEnum):
    UP = "#009e73"
    DOWN = "#d55e00"
    OFF = "#6b7280"


@dataclass(frozen=True)
class RowState:
    light: Light
    state: str
    last_trigger: str = "–"
    last_ack: str = "–"


def clock(stamp: float | str | None) -> str:
    """A wall-clock time as HH:MM:SS; text (an MQTT command) as it is; None as a dash."""
    if stamp is None:
        return "–"
    if isinstance(stamp, str):
        return stamp
    return time.strftime("%H:%M:%S", time.localtime(stamp))


def link_state(kind: str, status: object | None) -> RowState:
    """One link's row from its status() (None: the link is off)."""
    if status is None:
        return RowState(Light.OFF, QCoreApplication.translate("LinePanel", "off"))
    error = getattr(status, "last_error", None)
    text = status.headline() + (f" · {error}" if error else "")
    return RowState(
        Light.UP if status.up else Light.DOWN,
        text,
        clock(getattr(status, LAST_TRIGGER[kind], None)),
        clock(getattr(status, LAST_ACK[kind], None)),
    )


class LinePanel(QGroupBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Line"), parent)
        self.setObjectName("linePanel")
        grid = QGridLayout(self)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(1)
        grid.setContentsMargins(6, 2, 6, 2)
        for column, title in enumerate(
            ("", "", self.tr("State"), self.tr("Last trigger"), self.tr("Last ack"))
        ):
            grid.addWidget(QLabel(title, objectName="lineHeader"), 0, column)
        self.cells: dict[str, list[QLabel]] = {}
        for row, (key, name) in enumerate(ROWS.items(), start=1):
            light = QLabel("●", objectName="lineLight")
            cells = [light, QLabel(QCoreApplication.translate("LinePanel", name))]
            cells += [QLabel(objectName="lineCell") for _ in range(3)]
            cells[2].setWordWrap(True)
            for column, cell in enumerate(cells):
                grid.addWidget(cell, row, column)
            self.cells[key] = cells
        grid.setColumnStretch(2, 1)
        self.states: dict[str, RowState] = {}
        self._last_trigger: float | None = None
        self.show_row("trigger", RowState(Light.OFF, self.tr("no part yet")))
        self.show_row("source", RowState(Light.OFF, self.tr("not running")))
        self.show_links({})

    def follow(self, bridge: StationBridge) -> None:
        """Follow the station behind `bridge`: its parts, missed triggers, source and state."""
        bridge.part_done.connect(self._part)
        bridge.part_failed.connect(self._part)
        bridge.trigger_missed.connect(self._missed)
        bridge.source_lost.connect(self._source_lost)
        bridge.source_back.connect(lambda _source: self.set_source_state("Operational"))
        bridge.state_changed.connect(self.set_source_state)

    def show_row(self, key: str, state: RowState) -> None:
        previous = self.states.get(key)
        self.states[key] = state
        light, _name, text, trigger, ack = self.cells[key]
        if previous is None or previous.light != state.light:  # a style sheet costs a repolish
            light.setStyleSheet(f"color: {state.light.value}; font-size: 20px;")
            light.setToolTip(state.light.name.lower())
        text.setText(state.state)
        trigger.setText(state.last_trigger)
        ack.setText(state.last_ack)

    def show_links(self, statuses: dict[str, object], configured: set[str] = frozenset()) -> None:
        """Each running link's status() by kind; a kind not running is off, or down when it
        is `configured` (it could not start: the error panel says why)."""
        for kind in LINK_ROWS:
            if kind in configured and kind not in statuses:
                self.show_row(kind, RowState(Light.DOWN, self.tr("not started")))
            else:
                self.show_row(kind, link_state(kind, statuses.get(kind)))

    def set_source_state(self, path: str) -> None:
        """The station's state (OPC 40100 path): down in Error or Halted."""
        light = Light.DOWN if path in DOWN_STATES else Light.UP
        self.show_row("source", RowState(light, path))

    def _source_lost(self, message: str) -> None:
        self.show_row("source", RowState(Light.DOWN, message))

    def _part(self, part: PartResult) -> None:
        """A part came back: its trigger (origin and time) and the result as the ack."""
        trigger = part.trigger
        if trigger is not None:
            self._last_trigger = trigger.time
        origin = trigger.origin if trigger is not None else self.tr("free run")
        light = Light.UP if part.verdict != "ERROR" else Light.DOWN
        text = self.tr("{origin}: {verdict}").format(
            origin=origin, verdict=verdict_name(part.verdict)
        )
        self.show_row(
            "trigger", RowState(light, text, clock(self._last_trigger), clock(time.time()))
        )

    def _missed(self, event: TriggerMissed) -> None:
        text = self.tr("missed ({count}): {reason}").format(count=event.missed, reason=event.reason)
        previous = self.states["trigger"]
        self.show_row(
            "trigger", RowState(Light.DOWN, text, clock(event.trigger.time), previous.last_ack)
        )
