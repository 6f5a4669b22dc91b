"""The audit trail of the results store, newest first, filtered by kind, exported as CSV.
A window of its own (not modal): the station goes on while an engineer reads it."""

from __future__ import annotations

import time

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.audit import KINDS, AuditTrail
from engine.store import StoreError
from gui import source_picker

SHOWN_ROWS = 1000  # the newest; the CSV export holds every row
COLUMNS = (
    QT_TRANSLATE_NOOP("AuditView", "Time"),
    QT_TRANSLATE_NOOP("AuditView", "User"),
    QT_TRANSLATE_NOOP("AuditView", "Kind"),
    QT_TRANSLATE_NOOP("AuditView", "What"),
    QT_TRANSLATE_NOOP("AuditView", "Old value"),
    QT_TRANSLATE_NOOP("AuditView", "New value"),
)


class AuditView(QDialog):
    def __init__(self, trail: AuditTrail, default_csv: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.trail = trail
        self.default_csv = default_csv
        self.setWindowTitle(self.tr("Audit trail"))
        self.setModal(False)
        self.resize(980, 560)
        self.kind = QComboBox()
        self.kind.addItem(self.tr("all changes"), None)
        for kind in KINDS:
            self.kind.addItem(kind, kind)
        self.kind.currentIndexChanged.connect(self.refresh)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(
            [QCoreApplication.translate("AuditView", c) for c in COLUMNS]
        )
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.refresh_button = QPushButton(self.tr("Refresh"), clicked=self.refresh)
        self.export_button = QPushButton(self.tr("Export CSV…"), clicked=self.ask_export)
        self.message = QLabel(objectName="auditMessage", wordWrap=True)
        top = QHBoxLayout()
        top.addWidget(QLabel(self.tr("Show")))
        top.addWidget(self.kind)
        top.addStretch(1)
        top.addWidget(self.refresh_button)
        top.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)
        self.refresh()

    def refresh(self) -> None:
        try:
            entries = self.trail.entries(kind=self.kind.currentData(), limit=SHOWN_ROWS)
        except StoreError as exc:
            self.message.setText(str(exc))
            return
        self.table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry.time))
            cells = (stamp, entry.user, entry.kind, entry.subject, entry.old_value, entry.new_value)
            for column, text in enumerate(cells):
                item = QTableWidgetItem("" if text is None else text)
                item.setToolTip(item.text())
                self.table.setItem(row, column, item)
        self.message.setText(self.tr("{count} change(s) shown").format(count=len(entries)))

    def ask_export(self) -> QDialog:
        return source_picker.ask_path(
            self,
            self.tr("Export the audit trail as CSV"),
            self.default_csv,
            self.export_to,
            self.message.setText,
            source_picker.Wanted.NEW_FILE,
            "CSV (*.csv)",
        )

    def export_to(self, path: str) -> None:
        try:
            self.trail.export_csv(path)
        except (OSError, StoreError) as exc:
            self.message.setText(
                self.tr("Export to {path} failed: {error}").format(path=path, error=exc)
            )
            return
        self.message.setText(self.tr("Audit trail exported to {path}").format(path=path))
