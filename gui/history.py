"""The last results as thumbnails (verdict and time under each), and a gallery of NG parts.

Entries keep the frame and the result, so clicking one shows it again with the current overlay
settings. Both lists are bounded: a shift of frames must not fill the memory.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QTabWidget, QWidget

from gui.workers import THUMBNAIL_PX

if TYPE_CHECKING:
    from gui.workers import Inspected

RECENT_MAX = 24
NG_MAX = 24
VERDICT_TEXT_COLOURS = {"OK": QColor("#4fd1a5"), "NG": QColor("#ff9e57")}


class _ThumbList(QListWidget):
    def __init__(self, capacity: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.capacity = capacity
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setIconSize(QSize(THUMBNAIL_PX, THUMBNAIL_PX))
        self.setGridSize(QSize(THUMBNAIL_PX + 16, THUMBNAIL_PX + 40))
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setMovement(QListWidget.Movement.Static)
        self.setWrapping(True)
        self.setUniformItemSizes(True)

    def prepend(self, entry: Inspected) -> None:
        clock = time.strftime("%H:%M:%S", time.localtime(entry.finished_at))
        item = QListWidgetItem(
            QIcon(QPixmap.fromImage(entry.thumbnail)), f"{entry.verdict} {clock}"
        )
        item.setData(Qt.ItemDataRole.UserRole, entry)
        item.setForeground(VERDICT_TEXT_COLOURS.get(entry.verdict, QColor("#e8eaed")))
        item.setToolTip(
            f"{entry.frame.origin} #{entry.frame.id}\n" + "\n".join(entry.result.reasons)
        )
        item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.insertItem(0, item)
        while self.count() > self.capacity:
            self.takeItem(self.count() - 1)

    def entries(self) -> list[Inspected]:
        return [self.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.count())]


class HistoryPanel(QTabWidget):
    """Tabs 'Recent' and 'NG gallery'; `selected` carries the clicked entry."""

    selected = Signal(object)  # Inspected

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.recent = _ThumbList(RECENT_MAX)
        self.ng = _ThumbList(NG_MAX)
        self.addTab(self.recent, "Recent")
        self.addTab(self.ng, "NG gallery")
        for thumbs in (self.recent, self.ng):
            thumbs.itemClicked.connect(
                lambda item: self.selected.emit(item.data(Qt.ItemDataRole.UserRole))
            )

    def add(self, entry: Inspected) -> None:
        self.recent.prepend(entry)
        if entry.verdict == "NG":
            self.ng.prepend(entry)
            self.setTabText(1, f"NG gallery ({self.ng.count()})")

    def clear(self) -> None:
        self.recent.clear()
        self.ng.clear()
        self.setTabText(1, "NG gallery")
