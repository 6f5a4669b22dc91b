"""The engineer settings' tab for alarm limits and shift start times."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from engine.alarms import AlarmLimits
from engine.statistics import parse_shift_starts
from gui.settings import StationSettings


def alarm_limits(settings: StationSettings) -> AlarmLimits:
    """The alarm rules' limits from the settings (percent in the settings, share in the rule)."""
    return AlarmLimits(
        consecutive_ng=settings.alarm_consecutive_ng,
        ng_rate=settings.alarm_ng_rate_percent / 100,
        ng_rate_window=settings.alarm_ng_rate_window,
        uninspected=settings.alarm_uninspected,
        link_down=settings.alarm_link_down,
    )


class AlarmSettingsTab(QWidget):
    """Edits a copy's alarm and shift fields; `refused` says why they cannot be kept."""

    def __init__(self, settings: StationSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        form = QFormLayout(self)
        self.consecutive_ng = QSpinBox(minimum=0, maximum=1000, value=settings.alarm_consecutive_ng)
        self.consecutive_ng.setSpecialValueText(self.tr("off"))
        self.ng_rate = QDoubleSpinBox(minimum=0, maximum=100, decimals=1, suffix=" %")
        self.ng_rate.setValue(settings.alarm_ng_rate_percent)
        self.ng_rate.setSpecialValueText(self.tr("off"))
        self.ng_rate_window = QSpinBox(minimum=1, maximum=100_000)
        self.ng_rate_window.setValue(settings.alarm_ng_rate_window)
        self.uninspected = QSpinBox(minimum=0, maximum=1_000_000, value=settings.alarm_uninspected)
        self.uninspected.setSpecialValueText(self.tr("off"))
        self.link_down = QCheckBox(self.tr("Alarm when a line link goes down"))
        self.link_down.setChecked(settings.alarm_link_down)
        self.shift_starts = QLineEdit(settings.shift_starts)
        self.shift_starts.setToolTip(
            self.tr("Times of day each shift begins, e.g. 06:00, 14:00, 22:00")
        )
        form.addRow(self.tr("NG parts in a row"), self.consecutive_ng)
        form.addRow(self.tr("NG rate above"), self.ng_rate)
        form.addRow(self.tr("… over the last parts"), self.ng_rate_window)
        form.addRow(self.tr("Uninspected live frames per run"), self.uninspected)
        form.addRow("", self.link_down)
        form.addRow(self.tr("Shift start times"), self.shift_starts)
        note = QLabel(
            self.tr(
                "An alarm shows on the operator screen until acknowledged; each one and its "
                "acknowledgement are recorded in the results store. 0 switches a rule off."
            )
        )
        note.setWordWrap(True)
        form.addRow(note)

    def refused(self) -> str | None:
        try:
            parse_shift_starts(self.shift_starts.text())
        except ValueError as exc:
            return self.tr("Shift start times: {error}").format(error=exc)
        return None

    def apply_to(self, settings: StationSettings) -> None:
        settings.alarm_consecutive_ng = self.consecutive_ng.value()
        settings.alarm_ng_rate_percent = self.ng_rate.value()
        settings.alarm_ng_rate_window = self.ng_rate_window.value()
        settings.alarm_uninspected = self.uninspected.value()
        settings.alarm_link_down = self.link_down.isChecked()
        settings.shift_starts = self.shift_starts.text().strip()
