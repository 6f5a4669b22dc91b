"""Total / OK / NG / yield counters with a reset that asks first."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QMessageBox, QPushButton, QWidget

from engine.store import Counters
from gui.assets import icon


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
            [("total", "TOTAL"), ("ok", "OK"), ("ng", "NG"), ("yield", "YIELD")]
        ):
            value_name = {"ok": "counterValueOK", "ng": "counterValueNG"}.get(key, "counterValue")
            value = QLabel("0", objectName=value_name, alignment=Qt.AlignmentFlag.AlignCenter)
            label = QLabel(name, objectName="counterName", alignment=Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(value, 0, column)
            grid.addWidget(label, 1, column)
            self.values[key] = value
        self.errors = QLabel(objectName="counterName", alignment=Qt.AlignmentFlag.AlignCenter)
        grid.addWidget(self.errors, 2, 0, 1, 4)
        self.reset_button = QPushButton(icon("reset"), "Reset counters")
        self.reset_button.setToolTip("Set total, OK and NG back to zero (asks first)")
        self.reset_button.clicked.connect(self.ask_reset)
        grid.addWidget(self.reset_button, 3, 0, 1, 4)
        self.set_counts(self.counts)

    def set_counts(self, counts: Counters) -> None:
        """TOTAL counts parts judged (OK + NG); frames that could not be inspected are listed
        apart, as the yield ignores them too."""
        self.counts = counts
        self.values["total"].setText(str(counts.ok + counts.ng))
        self.values["ok"].setText(str(counts.ok))
        self.values["ng"].setText(str(counts.ng))
        share = counts.yield_
        self.values["yield"].setText("–" if share is None else f"{100 * share:.1f} %")
        self.errors.setText(f"{counts.errors} error(s) logged" if counts.errors else "")

    def add(self, verdict: str) -> None:
        self.set_counts(add_verdict(self.counts, verdict))

    def ask_reset(self) -> None:
        answer = QMessageBox.question(
            self,
            "Reset counters",
            f"Set the counters ({self.counts.ok + self.counts.ng} parts) back to zero?\n"
            "The inspection records stay in the results store.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.reset_confirmed.emit()
