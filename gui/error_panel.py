"""A dismissible list of errors: the station keeps running and the operator sees what failed."""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from gui.assets import icon

MAX_SHOWN = 5


@dataclass(eq=False)
class _Row:
    widget: QWidget
    label: QLabel
    message: str
    count: int = 1

    def refresh(self) -> None:
        repeat = f"  (×{self.count})" if self.count > 1 else ""
        self.label.setText(f"{time.strftime('%H:%M:%S')}  {self.message}{repeat}")


class ErrorPanel(QFrame):
    """Newest error on top, each with its own close button; hidden when empty.

    The same message arriving again (a camera failing every frame) bumps a count instead of
    adding rows, so an error storm cannot push the image off the screen.
    """

    changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(6, 4, 6, 4)
        self._rows: list[_Row] = []
        self.hide()

    @property
    def messages(self) -> list[str]:
        return [row.message for row in self._rows]

    def add_error(self, message: str) -> None:
        if self._rows and self._rows[0].message == message:
            self._rows[0].count += 1
            self._rows[0].refresh()
            return
        widget = QWidget(self)
        layout = QHBoxLayout(widget)
        layout.setContentsMargins(0, 0, 0, 0)
        label = QLabel(widget)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton(widget, icon=icon("close"), toolTip=self.tr("Dismiss this message"))
        close.setAccessibleName(self.tr("Dismiss"))
        row = _Row(widget, label, message)
        close.clicked.connect(lambda: self.dismiss(row))
        layout.addWidget(label, 1)
        layout.addWidget(close)
        row.refresh()
        self._layout.insertWidget(0, widget)
        self._rows.insert(0, row)
        while len(self._rows) > MAX_SHOWN:
            self.dismiss(self._rows[-1])
        self.show()
        self.changed.emit(len(self._rows))

    def dismiss(self, row: _Row) -> None:
        if row in self._rows:
            self._rows.remove(row)
            row.widget.deleteLater()
        self.setVisible(bool(self._rows))
        self.changed.emit(len(self._rows))

    def dismiss_all(self) -> None:
        for row in list(self._rows):
            self.dismiss(row)
