"""Total / OK / NG / yield counters with a reset that asks first."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QMessageBox, QPushButton, QWidget

from engine.statistics import Snapshot
from engine.store import Counters
from gui.assets import icon
from gui.i18n.engine_text import engine_text
from gui.model_table import verdict_name


def yield_text(counts: Counters) -> str:
    """The yield as the panels show it: a percentage, or a dash before the first judged part."""
    share = counts.yield_
    return "–" if share is None else f"{100 * share:.1f} %"


def add_verdict(counts: Counters, verdict: str) -> Counters:
    """Counts after one more frame (OK, NG or ERROR), as the store will count it."""
    return dataclasses.replace(
        counts,
        total=counts.total + 1,
        ok=counts.ok + (verdict == "OK"),
        ng=counts.ng + (verdict == "NG"),
        errors=counts.errors + (verdict not in ("OK", "NG")),
    )


class CounterPanel(QWidget):
    """Shows counts; `reset_confirmed` fires only after the operator said yes."""

    reset_confirmed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.counts = Counters(0, 0, 0, 0)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        self.values: dict[str, QLabel] = {}
        for column, (key, name) in enumerate(
            [
                ("total", self.tr("TOTAL")),
                ("ok", verdict_name("OK")),
                ("ng", verdict_name("NG")),
                ("yield", self.tr("YIELD")),
            ]
        ):
            value_name = {"ok": "counterValueOK", "ng": "counterValueNG"}.get(key, "counterValue")
            value = QLabel("0", objectName=value_name, alignment=Qt.AlignmentFlag.AlignCenter)
            label = QLabel(name, objectName="counterName", alignment=Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(value, 0, column)
            grid.addWidget(label, 1, column)
            self.values[key] = value
        self.errors = QLabel(objectName="counterName", alignment=Qt.AlignmentFlag.AlignCenter)
        grid.addWidget(self.errors, 2, 0, 1, 4)
        # The open lot's and the shift's counts, from the store (engine.statistics).
        self.periods = QLabel(objectName="counterName", alignment=Qt.AlignmentFlag.AlignCenter)
        self.periods.setWordWrap(True)
        grid.addWidget(self.periods, 3, 0, 1, 4)
        self.reset_button = QPushButton(icon("reset"), self.tr("Reset counters"))
        self.reset_button.setToolTip(self.tr("Set total, OK and NG back to zero (asks first)"))
        self.reset_button.clicked.connect(self.ask_reset)
        grid.addWidget(self.reset_button, 4, 0, 1, 4)
        self.set_counts(self.counts)

    def set_counts(self, counts: Counters) -> None:
        """TOTAL counts parts judged (OK + NG); frames that could not be inspected are listed
        apart, as the yield ignores them too."""
        self.counts = counts
        self.values["total"].setText(str(counts.ok + counts.ng))
        self.values["ok"].setText(str(counts.ok))
        self.values["ng"].setText(str(counts.ng))
        self.values["yield"].setText(yield_text(counts))
        logged = self.tr("{count} error(s) logged").format(count=counts.errors)
        self.errors.setText(logged if counts.errors else "")

    def set_periods(self, periods: dict[str, Counters]) -> None:
        """One line per period (the lot, the shift): parts, NG and yield; besides the total."""
        lines = []
        for label, counts in periods.items():
            lines.append(
                self.tr("{period}: {parts} parts, {ng} NG, {rate}").format(
                    period=engine_text(label),
                    parts=counts.ok + counts.ng,
                    ng=counts.ng,
                    rate=yield_text(counts),
                )
            )
        self.periods.setText("\n".join(lines))

    def show_periods(self, shot: Snapshot) -> None:
        """The lot's and the shift's counts of a statistics snapshot (not the last hour)."""
        self.set_periods({label: shot.counts[label] for label in shot.periods[:-1]})

    def add(self, verdict: str) -> None:
        self.set_counts(add_verdict(self.counts, verdict))

    def ask_reset(self) -> None:
        answer = QMessageBox.question(
            self,
            self.tr("Reset counters"),
            self.tr(
                "Set the counters ({parts} parts) back to zero?\n"
                "The inspection records stay in the results store."
            ).format(parts=self.counts.ok + self.counts.ng),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.reset_confirmed.emit()
