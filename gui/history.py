"""The results as thumbnails (verdict and time under each) and a gallery of NG parts, read from
the results store page by page, so both survive a restart and reach past the newest 24.

Parts inspected in this session also keep their frame and result in memory while they are on
the first page, so clicking one redraws its overlay in the current mode; older ones show their
archived overlay or original. Either way the click is a replay of what was recorded (`Replay`):
the store's row says the verdict, not today's thresholds.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QImageReader, QPainter, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.inspector import decide
from engine.overlay import render_overlay
from engine.result import Thresholds
from engine.statistics import history_page
from engine.store import Record, ResultStore, StoreError
from gui.image_view import bgr_to_qimage
from gui.model_table import PartDetails, details_of_record, details_of_result, verdict_name
from gui.workers import THUMBNAIL_PX

if TYPE_CHECKING:
    from engine.station import Display
    from gui.workers import Inspected

log = logging.getLogger(__name__)

RECENT_MAX = 24
NG_MAX = 24
VERDICT_TEXT_COLOURS = {"OK": QColor("#4fd1a5"), "NG": QColor("#ff9e57")}
PLACEHOLDER_COLOURS = {"OK": QColor("#1f4d3f"), "NG": QColor("#5c2a10")}


@dataclass
class Replay:
    """A result picked from the history: the stored row (what was recorded) and, for a part of
    this session still on the first page, its frame and result in memory."""

    result_id: int
    record: Record | None
    entry: Inspected | None

    @property
    def verdict(self) -> str:
        if self.record is not None:
            return self.record.verdict
        return self.entry.verdict if self.entry is not None else ""

    @property
    def in_memory(self) -> bool:
        """The frame and the model outputs are at hand: redrawn in any mode, or re-judged."""
        return self.entry is not None and self.entry.frame.image is not None


def replay_details(replay: Replay) -> PartDetails:
    """What the replay shows as recorded: the stored row, or (a row the store could not give)
    the result as the station judged it then."""
    if replay.record is not None:
        return details_of_record(replay.record)
    entry = replay.entry
    return details_of_result(entry.result, recorded_at=entry.finished_at)


def replay_view(
    replay: Replay, display: Display, what_if: Thresholds | bool | None = None
) -> tuple[QImage | None, PartDetails]:
    """The image and the figures a replay shows: as recorded; with `what_if` thresholds (a part
    in memory only) as they would judge it, labelled so. The image is the part redrawn in the
    display's mode when it is in memory, else its archived overlay or original (None: none)."""
    if not replay.in_memory:
        return stored_image(replay.record), replay_details(replay)
    result = replay.entry.result
    details = replay_details(replay)
    if what_if is not None:
        result = decide(result, what_if)
        details = details_of_result(result, what_if=True)
    image = render_overlay(replay.entry.frame.image, result, display.mode, display.opacity, False)
    return bgr_to_qimage(image), details


def stored_image(record: Record | None) -> QImage | None:
    """The archived overlay of a stored part, else its archived original, else None."""
    for path in (record.overlay_path, record.image_path) if record is not None else ():
        image = QImage(path) if path else QImage()
        if not image.isNull():
            return image
    return None


def thumbnail_of(record: Record) -> QImage:
    """The archived overlay (or original) scaled down, else a tile in the verdict's colour."""
    for path in (record.overlay_path, record.image_path):
        if not path:
            continue
        reader = QImageReader(path)
        size = reader.size()
        if size.isValid():  # decoding at the thumbnail's size is cheaper where the format can
            reader.setScaledSize(
                size.scaled(THUMBNAIL_PX, THUMBNAIL_PX, Qt.AspectRatioMode.KeepAspectRatio)
            )
        image = reader.read()
        if not image.isNull():
            return image
    tile = QImage(THUMBNAIL_PX, THUMBNAIL_PX, QImage.Format.Format_RGB32)
    tile.fill(PLACEHOLDER_COLOURS.get(record.verdict, QColor("#30343a")))
    painter = QPainter(tile)
    painter.setPen(QColor("#e8eaed"))
    words = QCoreApplication.translate("HistoryPanel", "no image\narchived")
    painter.drawText(tile.rect(), Qt.AlignmentFlag.AlignCenter, words)
    painter.end()
    return tile


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

    def _item(self, replay: Replay, thumbnail: QImage, when: float, tip: str) -> QListWidgetItem:
        clock = time.strftime("%H:%M:%S", time.localtime(when))
        label = f"{verdict_name(replay.verdict)} {clock}"
        item = QListWidgetItem(QIcon(QPixmap.fromImage(thumbnail)), label)
        item.setData(Qt.ItemDataRole.UserRole, replay)
        item.setForeground(VERDICT_TEXT_COLOURS.get(replay.verdict, QColor("#e8eaed")))
        item.setToolTip(tip)
        item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
        return item

    def prepend(self, entry: Inspected, result_id: int = 0) -> None:
        replay = Replay(result_id, None, entry)
        tip = f"{entry.frame.origin} #{entry.frame.id}\n" + "\n".join(entry.result.reasons)
        self.insertItem(0, self._item(replay, entry.thumbnail, entry.finished_at, tip))
        while self.count() > self.capacity:
            self.takeItem(self.count() - 1)

    def show_records(self, records: list[Record], in_memory: dict[int, Inspected]) -> None:
        self.clear()
        for record in records:
            entry = in_memory.get(record.id)
            replay = Replay(record.id, record, entry)
            thumbnail = entry.thumbnail if entry is not None else thumbnail_of(record)
            tip = f"{record.origin} #{record.frame_id}\n" + "\n".join(record.reasons or [])
            self.addItem(self._item(replay, thumbnail, record.time, tip))

    def replays(self) -> list[Replay]:
        return [self.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.count())]

    def entries(self) -> list[Inspected]:
        """The parts of this session in the list, kept in memory."""
        return [r.entry for r in self.replays() if r.entry is not None]


class _Pager(QWidget):
    """'◀ Newer  page 1 / 3  Older ▶' under a list."""

    moved = Signal(int)  # the page asked for, 0 the newest

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.page, self.pages, self.total = 0, 1, 0
        self.newer = QPushButton(self.tr("◀ Newer"))
        self.older = QPushButton(self.tr("Older ▶"))
        self.label = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.newer.clicked.connect(lambda: self.moved.emit(self.page - 1))
        self.older.clicked.connect(lambda: self.moved.emit(self.page + 1))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.newer)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.older)
        self.set_page(0, 1, 0)

    def set_page(self, page: int, pages: int, total: int) -> None:
        self.page, self.pages, self.total = page, pages, total
        text = self.tr("page {page} / {pages} · {total} parts")
        self.label.setText(text.format(page=page + 1, pages=pages, total=total))
        self.newer.setEnabled(page > 0)
        self.older.setEnabled(page + 1 < pages)


class HistoryPanel(QTabWidget):
    """Tabs 'Recent' and 'NG gallery', each a page of the store; `selected` carries a Replay."""

    selected = Signal(object)  # Replay

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store: ResultStore | None = None
        self.recent = _ThumbList(RECENT_MAX)
        self.ng = _ThumbList(NG_MAX)
        self.recent_pager = _Pager()
        self.ng_pager = _Pager()
        for thumbs, pager, title, verdict in (
            (self.recent, self.recent_pager, self.tr("Recent"), None),
            (self.ng, self.ng_pager, self.tr("NG gallery"), "NG"),
        ):
            tab = QWidget()
            layout = QVBoxLayout(tab)
            layout.setContentsMargins(0, 0, 0, 0)
            layout.addWidget(thumbs, 1)
            layout.addWidget(pager)
            self.addTab(tab, title)
            thumbs.itemClicked.connect(self._clicked)
            pager.moved.connect(
                lambda page, t=thumbs, p=pager, v=verdict: self._show_page(t, p, page, v)
            )

    def attach(self, store: ResultStore | None) -> None:
        """Show the newest page of `store` (None: empty lists)."""
        self.store = store
        self._show_page(self.recent, self.recent_pager, 0, None)
        self._show_page(self.ng, self.ng_pager, 0, "NG")

    def _show_page(self, thumbs: _ThumbList, pager: _Pager, page: int, verdict: str | None):
        if self.store is None:
            thumbs.clear()
            pager.set_page(0, 1, 0)
            self._title()
            return
        in_memory = {r.result_id: r.entry for r in thumbs.replays() if r.entry is not None}
        try:
            found = history_page(self.store, page, thumbs.capacity, verdict)
        except StoreError as exc:
            log.error("history not read: %s", exc)
            return
        thumbs.show_records(found.records, in_memory)
        pager.set_page(found.page, found.pages, found.total)
        self._title()

    def add(self, entry: Inspected, result_id: int = 0) -> None:
        """A part of this session: on the first page it appears at once; on a later page the
        page stays put and only its count grows."""
        entry = dataclasses.replace(entry)  # the window may re-judge its own copy, not this one
        targets = [(self.recent, self.recent_pager)]
        if entry.verdict == "NG":
            targets.append((self.ng, self.ng_pager))
        for thumbs, pager in targets:
            total = pager.total + 1
            pages = max(1, -(-total // thumbs.capacity))
            if pager.page == 0:
                thumbs.prepend(entry, result_id)
            pager.set_page(pager.page, pages, total)
        self._title()

    def _title(self) -> None:
        total = self.ng_pager.total
        gallery = self.tr("NG gallery")
        self.setTabText(1, f"{gallery} ({total})" if total else gallery)

    def _clicked(self, item: QListWidgetItem) -> None:
        replay: Replay = item.data(Qt.ItemDataRole.UserRole)
        if replay.record is None and replay.result_id and self.store is not None:
            try:
                replay = dataclasses.replace(replay, record=self.store.get(replay.result_id))
            except StoreError as exc:
                log.error("result %d not read: %s", replay.result_id, exc)
        self.selected.emit(replay)

    def clear(self) -> None:
        self.attach(None)
