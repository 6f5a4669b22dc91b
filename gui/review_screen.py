"""The review screen: queued parts one after another, decided with the keyboard.

G good, D defective (the painter starts from the U-Net mask, or the thresholded heat map when
the U-Net found nothing), 1–9 a defect type (and defective), Enter saves and moves to the next
pending part, N / P (or → / ←) next and previous. No dialog per part: a refused decision says
why in the panel. Every decision goes through `ReviewQueue.decide` with the reviewer's name
(the queue stores the time); a decided part can be decided again, its history stays.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine.imageio import ImageReadError, read_image, to_bgr8
from engine.overlay import render_overlay
from engine.result import InspectionResult, Thresholds, Verdict
from engine.review import ReviewError, ReviewItem, ReviewQueue, read_mask
from engine.store import StoreError
from gui.image_view import ImageView
from gui.mask_painter import MaskEditor, heat_mask
from gui.model_table import verdict_name
from gui.session import NOBODY

log = logging.getLogger(__name__)

REASON_LABELS = {  # translated where shown (context ReviewScreen)
    "disagreement": QT_TRANSLATE_NOOP("ReviewScreen", "models disagree"),
    "near_threshold": QT_TRANSLATE_NOOP("ReviewScreen", "score near its threshold"),
    "operator_flag": QT_TRANSLATE_NOOP("ReviewScreen", "flagged by an operator"),
    "audit_sample": QT_TRANSLATE_NOOP("ReviewScreen", "audit sample"),
}
FILTERS = {  # what the list shows: ReviewQueue.items(pending=...)
    QT_TRANSLATE_NOOP("ReviewScreen", "Pending"): True,
    QT_TRANSLATE_NOOP("ReviewScreen", "Decided"): False,
    QT_TRANSLATE_NOOP("ReviewScreen", "All"): None,
}
ERROR_STYLE, NOTE_STYLE = "color: #ff7b72;", "color: #aab1bd;"
THUMB_OPACITY = 0.55
# The chosen decision stands out in the verdict colours (Okabe-Ito, as the banner's).
STYLE = """
QPushButton#reviewGood:checked { background-color: #009e73; color: #ffffff; font-weight: bold; }
QPushButton#reviewDefective:checked {
    background-color: #d55e00; color: #ffffff; font-weight: bold; border: 2px solid #f0e442;
}
QCheckBox::indicator { width: 13px; height: 13px; border: 1px solid #8a93a3; border-radius: 3px; }
QCheckBox::indicator:checked { background-color: #2f6fb3; border-color: #e8eaed; }
QCheckBox::indicator:disabled { border-color: #3c434f; }
"""


@dataclass
class Planes:
    """One queued part as the screen shows it: the original and both models' outputs."""

    image: np.ndarray  # BGR uint8, full resolution
    unet: np.ndarray | None  # 0 / 1 uint8 masks at the image's shape, None without one
    heat: np.ndarray | None  # 8-bit heat, [0, 1] * 255
    heat_mask: np.ndarray | None
    painted: np.ndarray | None  # the latest decision's mask


def load_planes(item: ReviewItem) -> Planes:
    """Read a queued part's files; raises ReviewError naming the file that cannot be read.
    A missing U-Net mask or heat map only leaves that output out."""
    try:
        image = to_bgr8(read_image(item.image_path))
    except ImageReadError as exc:
        raise ReviewError(f"review item {item.id}: image: {exc}") from None
    shape = image.shape[:2]

    def optional_mask(path: str | None) -> np.ndarray | None:
        if not path:
            return None
        try:
            mask = read_mask(path)
        except ReviewError as exc:
            log.warning("%s", exc)
            return None
        return mask.astype(np.uint8) if mask.shape == shape else None

    heat = cv2.imread(item.heat_path, cv2.IMREAD_GRAYSCALE) if item.heat_path else None
    if heat is not None and heat.shape != shape:
        heat = None
    thresholded = None
    if heat is not None and item.map_threshold is not None:
        thresholded = heat_mask(heat, item.map_threshold)
    painted = optional_mask(item.mask_path) if item.decision == "defective" else None
    return Planes(image, optional_mask(item.unet_mask_path), heat, thresholded, painted)


def _outputs_overlay(planes: Planes, mode: str) -> np.ndarray:
    """The engine's overlay of one model's output (mask fill or heat map), no banner."""
    height, width = planes.image.shape[:2]
    result = InspectionResult(
        Verdict.OK,
        [],
        (height, width),
        Thresholds(None, None, 0, None),
        mask=planes.unet.astype(bool) if planes.unet is not None else None,
        heat=planes.heat.astype(np.float32) / 255 if planes.heat is not None else None,
    )
    return render_overlay(planes.image, result, mode, THUMB_OPACITY, banner=False)


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def _stamp(when: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when))


class ReviewScreen(QWidget):
    """A window over one ReviewQueue; `reviewer()` names who decides (asked at each save, so
    a change of login is followed)."""

    def __init__(
        self, queue: ReviewQueue, reviewer: Callable[[], str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.queue = queue
        self.reviewer = reviewer
        self.items: list[ReviewItem] = []
        self.item: ReviewItem | None = None
        self.planes: Planes | None = None
        self.decision: str | None = None
        self.setWindowTitle(self.tr("Review queue"))
        self._build()
        self._build_keys()
        self.reload()

    # --- widgets -------------------------------------------------------------------------------
    def _build(self) -> None:
        self.filter = QComboBox()
        for label, pending in FILTERS.items():
            self.filter.addItem(self.tr(label), pending)
        self.filter.currentIndexChanged.connect(self.reload)
        self.count_label = QLabel(objectName="reviewCount")
        self.saved_label = QLabel(objectName="reviewSaved", wordWrap=True, styleSheet=NOTE_STYLE)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the letter keys stay decisions
        self.list.currentRowChanged.connect(self._row_chosen)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        refresh = QPushButton(self.tr("Refresh  (F5)"), clicked=self.reload)
        refresh.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        refresh.setToolTip(self.tr("Read the queue again: new parts come in, decided ones leave"))
        filters = QHBoxLayout()
        filters.addWidget(self.filter, 1)
        filters.addWidget(refresh)
        left_layout.addLayout(filters)
        left_layout.addWidget(self.count_label)
        left_layout.addWidget(self.list, 1)
        left_layout.addWidget(self.saved_label)

        self.editor = MaskEditor()
        self.title = QLabel(objectName="reviewTitle", wordWrap=True)
        self.title.setStyleSheet("font-size: 16px; font-weight: bold;")

        self.reasons = QLabel(wordWrap=True)
        self.scores = QLabel(wordWrap=True)
        self.unet_view, self.heat_view = ImageView(), ImageView()
        for view in (self.unet_view, self.heat_view):
            view.setMinimumSize(150, 150)
            view.placeholder = self.tr("none")
        outputs = QGroupBox(self.tr("What the station saw"))
        outputs_layout = QVBoxLayout(outputs)
        outputs_layout.addWidget(self.reasons)
        outputs_layout.addWidget(self.scores)
        pair = QHBoxLayout()
        captions = (self.tr("U-Net mask"), self.tr("Anomaly heat map"))
        for caption, view in zip(captions, (self.unet_view, self.heat_view), strict=True):
            column = QVBoxLayout()
            column.addWidget(QLabel(caption))
            column.addWidget(view, 1)
            pair.addLayout(column)
        outputs_layout.addLayout(pair, 1)

        self.good_button = QPushButton(
            self.tr("✔ Good  (G)"), checkable=True, objectName="reviewGood"
        )
        self.defective_button = QPushButton(
            self.tr("✖ Defective  (D)"), checkable=True, objectName="reviewDefective"
        )
        for button in (self.good_button, self.defective_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setMinimumHeight(40)
        self.good_button.clicked.connect(lambda: self.choose("good"))
        self.defective_button.clicked.connect(lambda: self.choose("defective"))
        self.defect_type = QComboBox(editable=True)
        self.defect_type.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)  # a typo stays out
        self.defect_type.setToolTip(self.tr("1–9 pick a type; type a new name for a new one"))
        self.defect_type.lineEdit().setPlaceholderText(self.tr("defect type"))
        self.defect_type.lineEdit().returnPressed.connect(self.save)
        self.no_outline = QCheckBox(self.tr("no outline (save an empty mask)"))
        self.no_outline.setToolTip(
            self.tr("For a defect that cannot be painted, e.g. a missing part")
        )
        self.save_button = QPushButton(self.tr("Save and next  (Enter)"), objectName="reviewSave")
        self.save_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.save_button.clicked.connect(self.save)
        self.message = QLabel(objectName="reviewMessage", wordWrap=True)
        decision = QGroupBox(self.tr("Decision"))
        form = QFormLayout(decision)
        buttons = QHBoxLayout()
        buttons.addWidget(self.good_button)
        buttons.addWidget(self.defective_button)
        form.addRow(buttons)
        form.addRow(self.tr("Defect type"), self.defect_type)
        form.addRow(self.no_outline)
        form.addRow(self.save_button)
        form.addRow(self.message)

        self.history = QListWidget()
        self.history.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.history.setMaximumHeight(110)
        history = QGroupBox(self.tr("History of this part"))
        QVBoxLayout(history).addWidget(self.history)
        keys = QLabel(
            self.tr(
                "G good · D defective · 1–9 type · Enter save · N / P next / previous · "
                "B brush · E eraser · [ ] size · Ctrl+Z undo · U / H start from U-Net / heat map"
            ),
            wordWrap=True,
            styleSheet=NOTE_STYLE,
        )

        side = QWidget()
        side.setMinimumWidth(360)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.title)
        side_layout.addWidget(outputs, 1)
        side_layout.addWidget(decision)
        side_layout.addWidget(history)
        side_layout.addWidget(keys)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self.editor)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 4)
        splitter.setStretchFactor(2, 2)
        splitter.setSizes([260, 800, 420])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self.setStyleSheet(STYLE)

    def _key(self, keys: list[str], slot: Callable[[], object]) -> None:
        action = QAction(self)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        self.addAction(action)

    def _build_keys(self) -> None:
        self._key(["G"], lambda: self.choose("good"))
        self._key(["D"], lambda: self.choose("defective"))
        self._key(["Return", "Enter"], self.save)
        self._key(["N", "Right", "PgDown"], self.next)
        self._key(["P", "Left", "PgUp"], self.previous)
        for number in range(1, 10):
            self._key([str(number)], lambda _checked=False, n=number: self.choose_type(n))
        self._key(["F5"], self.reload)
        self._key(["Esc"], self.close)

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(ERROR_STYLE if error else NOTE_STYLE)

    # --- the list ------------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the queue again (the filter's items); decided items stay listed until then."""
        shown = self.item.id if self.item is not None else None
        try:
            self.items = self.queue.items(pending=self.filter.currentData())
        except StoreError as exc:
            self._say(self.tr("Review queue not readable: {error}").format(error=exc), True)
            self.items = []
        self.list.blockSignals(True)
        self.list.clear()
        for item in self.items:
            self.list.addItem(QListWidgetItem(self.row_text(item)))
        self.list.blockSignals(False)
        ids = [item.id for item in self.items]
        self._show_count()
        self.show_row(ids.index(shown) if shown in ids else 0)

    def _show_count(self) -> None:
        pending = sum(item.decision is None for item in self.items)
        self.count_label.setText(
            self.tr("{listed} listed, {pending} pending").format(
                listed=len(self.items), pending=pending
            )
        )

    def show_row(self, row: int) -> None:
        if not self.items:
            self._show_item(None)
            return
        self.list.setCurrentRow(max(0, min(row, len(self.items) - 1)))

    def _row_chosen(self, row: int) -> None:
        self._show_item(self.items[row] if 0 <= row < len(self.items) else None)

    def next(self) -> None:
        self.show_row(self.list.currentRow() + 1)

    def previous(self) -> None:
        self.show_row(self.list.currentRow() - 1)

    def _next_pending(self) -> None:
        """After a save: the next pending part below, else above, else stay."""
        row = self.list.currentRow()
        order = [*range(row + 1, len(self.items)), *range(row)]
        pending = [r for r in order if self.items[r].decision is None]
        if pending:
            self.show_row(pending[0])

    # --- one part ------------------------------------------------------------------------------
    def _show_item(self, item: ReviewItem | None) -> None:
        self.item, self.planes = item, None
        self.unet_view.clear(self.tr("none"))
        self.heat_view.clear(self.tr("none"))
        self.history.clear()
        if item is None:
            self.editor.painter.clear()
            self.title.setText(self.tr("The review queue is empty") if not self.items else "")
            self._set_decision(None)
            self.save_button.setEnabled(False)
            return
        self.title.setText(
            self.tr("Part #{part} (review item {item}), queued {when}").format(
                part=item.inspection_id, item=item.id, when=_stamp(item.queued_time)
            )
        )
        self.reasons.setText(
            self.tr("Why queued: {reasons}").format(reasons=self.reasons_text(item))
        )
        self.scores.setText(self.scores_text(item))
        self._fill_types(item)
        self._show_history(item)
        try:
            self.planes = load_planes(item)
        except ReviewError as exc:
            self.editor.painter.clear()
            self._set_decision(None)
            self.save_button.setEnabled(False)
            self._say(str(exc), error=True)
            return
        planes = self.planes
        self.editor.set_part(planes.image, planes.painted, planes.unet, planes.heat_mask)
        if planes.unet is not None:
            self.unet_view.set_image(_outputs_overlay(planes, "mask"))
        if planes.heat is not None:
            self.heat_view.set_image(_outputs_overlay(planes, "heatmap"))
        self.save_button.setEnabled(True)
        self._set_decision(item.decision)
        self.defect_type.setEditText(item.defect_type or "")
        self.no_outline.setChecked(False)
        pending = self.tr("Pending: G good, D defective")
        self._say(self._decided_text(item) if item.decision else pending)

    def _fill_types(self, item: ReviewItem) -> None:
        self.defect_type.clear()
        for number, name in enumerate(item.defect_types[:9], start=1):
            self.defect_type.addItem(f"{number}  {name}", name)
        for name in item.defect_types[9:]:
            self.defect_type.addItem(name, name)
        self.defect_type.setEditText("")

    def _show_history(self, item: ReviewItem) -> None:
        try:
            decisions = self.queue.decisions(item.id)
        except StoreError as exc:
            self.history.addItem(self.tr("history not readable: {error}").format(error=exc))
            return
        for d in decisions:
            what = self.decision_text(d.decision, d.defect_type)
            self.history.addItem(f"{_stamp(d.time)}  {d.reviewer}: {what}")
        if not decisions:
            self.history.addItem(self.tr("no decision yet"))

    def decision_text(self, decision: str, defect_type: str | None) -> str:
        if decision == "good":
            return self.tr("good")
        return self.tr("defective / {type}").format(type=defect_type)

    def _decided_text(self, item: ReviewItem) -> str:
        what = self.decision_text(item.decision, item.defect_type)
        return self.tr("Decided {what} by {reviewer}, {when}").format(
            what=what, reviewer=item.reviewer, when=_stamp(item.decided_time)
        )

    def scores_text(self, item: ReviewItem) -> str:
        return self.tr(
            "Station: {verdict}   U-Net: {unet}   Anomaly: {anomaly}\n"
            "Anomaly score {score} / threshold {threshold}"
        ).format(
            verdict=verdict_name(item.verdict),
            unet=verdict_name(item.unet_verdict) if item.unet_verdict else self.tr("no U-Net"),
            anomaly=(
                verdict_name(item.anomaly_verdict)
                if item.anomaly_verdict
                else self.tr("no anomaly model")
            ),
            score=_number(item.score),
            threshold=_number(item.threshold),
        )

    def reasons_text(self, item: ReviewItem) -> str:
        labels = []
        for reason in item.reasons:
            if reason == "operator_flag" and item.flagged_by:
                who = item.flagged_by
                if who == NOBODY:  # the store's English word for nobody logged in
                    who = self.tr("operator (not logged in)")
                labels.append(self.tr("flagged by {who}").format(who=who))
            else:
                labels.append(self.tr(REASON_LABELS[reason]) if reason in REASON_LABELS else reason)
        return ", ".join(labels)

    def row_text(self, item: ReviewItem) -> str:
        if item.decision is None:
            state = self.tr("· pending")
        elif item.decision == "good":
            state = self.tr("✔ good")
        else:
            state = f"✖ {item.defect_type}"
        verdict = verdict_name(item.verdict)
        return f"#{item.inspection_id}  {verdict}  {state}\n{self.reasons_text(item)}"

    def _set_decision(self, decision: str | None) -> None:
        self.decision = decision
        self.good_button.setChecked(decision == "good")
        self.defective_button.setChecked(decision == "defective")
        defective = decision == "defective"
        for widget in (self.defect_type, self.no_outline, self.editor):
            widget.setEnabled(defective)

    # --- deciding ------------------------------------------------------------------------------
    def choose(self, decision: str) -> None:
        """Good or defective for the part on screen; defective starts the painter from the
        models' mask when nothing is painted yet."""
        if self.planes is None:
            return
        self._set_decision(decision)
        painter = self.editor.painter
        if decision == "defective" and not painter.mask().any():
            if self.planes.unet is not None and self.planes.unet.any():
                self.editor.start_from_unet()
            elif self.planes.heat_mask is not None:
                self.editor.start_from_heat()
        if decision == "good":
            self._say(self.tr("Enter saves"))
        else:
            self._say(self.tr("Paint the defect, pick a type, Enter"))

    def choose_type(self, number: int) -> None:
        """Key 1–9: that defect type of the bundle (and defective)."""
        if self.planes is None or number > self.defect_type.count():
            return
        if self.decision != "defective":
            self.choose("defective")
        self.defect_type.setCurrentIndex(number - 1)

    def chosen_type(self) -> str | None:
        """The type picked (its name) or typed (a new one); None when empty."""
        text = self.defect_type.currentText().strip()
        index = self.defect_type.findText(text)
        if index >= 0 and self.defect_type.itemData(index):
            return self.defect_type.itemData(index)
        return text or None

    def save(self) -> ReviewItem | None:
        """Store the decision on screen, then show the next pending part; a refused one says
        why (ReviewError names the field) and stays."""
        if self.item is None or self.planes is None:
            return None
        if self.decision is None:
            self._say(self.tr("Choose first: G good, D defective"), error=True)
            return None
        defective = self.decision == "defective"
        try:
            stored = self.queue.decide(
                self.item.id,
                self.decision,
                reviewer=self.reviewer(),
                defect_type=self.chosen_type() if defective else None,
                mask=self.editor.painter.mask() if defective else None,
                allow_empty_mask=defective and self.no_outline.isChecked(),
            )
        except (ReviewError, StoreError) as exc:
            self._say(str(exc), error=True)
            return None
        row = self.list.currentRow()
        self.items[row] = stored
        self.list.item(row).setText(self.row_text(stored))
        self._show_count()
        what = self.decision_text(stored.decision, stored.defect_type)
        self.saved_label.setText(
            self.tr("Saved part #{part}: {what}").format(part=stored.inspection_id, what=what)
        )
        self._next_pending()
        if self.item is not None and self.item.id == stored.id:  # nothing pending: stays
            self._show_item(stored)
        return stored
