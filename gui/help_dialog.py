"""The keyboard shortcuts, listed from the window's own actions so the list cannot go stale."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


class ShortcutsDialog(QDialog):
    def __init__(self, actions: list[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Keyboard shortcuts"))
        rows = [
            (a.text().replace("&", ""), a.shortcut()) for a in actions if not a.shortcut().isEmpty()
        ]
        table = QTableWidget(len(rows), 2)
        table.setHorizontalHeaderLabels([self.tr("Action"), self.tr("Key")])
        table.verticalHeader().hide()
        for row, (text, key) in enumerate(rows):
            table.setItem(row, 0, QTableWidgetItem(text))
            table.setItem(
                row, 1, QTableWidgetItem(key.toString(QKeySequence.SequenceFormat.NativeText))
            )
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        table.setMinimumSize(420, 360)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)
        self.table = table
