"""The per-model results of one part: what each model found against its threshold, and which
one rejected the part. Built from a live result or from a stored row (a replay), so both read
the same; a replay is marked with the time it was recorded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from engine.result import InspectionResult
    from engine.store import Record

MODEL_NAMES = {  # translated where shown
    "segmentation": QT_TRANSLATE_NOOP("ModelTable", "U-Net"),
    "anomaly": QT_TRANSLATE_NOOP("ModelTable", "anomaly score"),
}
# The verdict words as the window shows them; the store and the line links keep the codes.
VERDICT_NAMES = {
    "OK": QT_TRANSLATE_NOOP("verdict", "OK"),
    "NG": QT_TRANSLATE_NOOP("verdict", "NG"),
    "ERROR": QT_TRANSLATE_NOOP("verdict", "ERROR"),
}
NEAR_MISS = QT_TRANSLATE_NOOP("ModelTable", "near miss")
INFO_ONLY = QT_TRANSLATE_NOOP("ModelTable", "info only")
CELL_COLOURS = {"NG": QColor("#ff9e57"), "OK": QColor("#4fd1a5"), NEAR_MISS: QColor("#f0e442")}
NORMAL_PX, OPERATOR_PX = 13, 22


def _tr(text: str) -> str:
    """A text of the table marked elsewhere (QT_TRANSLATE_NOOP): the rows are built outside
    the widget, so table_rows is testable without one."""
    return QCoreApplication.translate("ModelTable", text)


def verdict_name(verdict: str) -> str:
    """A verdict code (OK, NG, ERROR) in the window's language; another code as it is."""
    return QCoreApplication.translate("verdict", verdict) if verdict in VERDICT_NAMES else verdict


@dataclass(frozen=True)
class PartDetails:
    """One part's figures per model, as the table shows them."""

    verdict: str
    reasons: tuple[str, ...]
    rejected_by: tuple[str, ...]
    has_segmentation: bool
    segmentation_regions: int
    largest_px: int  # largest U-Net region counted (at least the minimum area)
    min_area_px: int | None
    near_miss_px: int | None  # largest U-Net region below the minimum
    anomaly_score: float | None
    image_threshold: float | None
    anomaly_regions: int
    global_score: float | None
    recorded_at: float | None = None  # a replay: when the store recorded it
    what_if: bool = False  # re-judged with today's thresholds, not the recorded verdict

    @property
    def replay_mark(self) -> str:
        if self.what_if:
            return QCoreApplication.translate(
                "ModelTable", "WHAT-IF with the current thresholds (not the recorded verdict)"
            )
        if self.recorded_at is None:
            return ""
        clock = time.strftime("%H:%M:%S", time.localtime(self.recorded_at))
        return QCoreApplication.translate("ModelTable", "recorded {clock}").format(clock=clock)


def details_of_result(
    result: InspectionResult, *, recorded_at: float | None = None, what_if: bool = False
) -> PartDetails:
    seg = [r.area_px for r in result.regions if r.source == "segmentation"]
    return PartDetails(
        verdict=result.verdict.value,
        reasons=tuple(result.reasons),
        rejected_by=tuple(result.rejected_by),
        has_segmentation=result.thresholds.pixel_threshold is not None,
        segmentation_regions=len(seg),
        largest_px=max(seg, default=0),
        min_area_px=result.thresholds.min_defect_area_px,
        near_miss_px=result.near_miss_px,
        anomaly_score=result.anomaly_score,
        image_threshold=result.image_threshold,
        anomaly_regions=sum(r.source == "anomaly" for r in result.regions),
        global_score=result.global_score,
        recorded_at=recorded_at,
        what_if=what_if,
    )


def details_of_record(record: Record) -> PartDetails:
    """What the store recorded; a row from before the per-model columns shows what it has."""
    regions = record.regions or []
    seg = [r["area_px"] for r in regions if r.get("source") == "segmentation"]
    return PartDetails(
        verdict=record.verdict,
        reasons=tuple(record.reasons or ()),
        rejected_by=tuple(record.rejected_by or ()),
        has_segmentation=record.pixel_threshold is not None or bool(seg),
        segmentation_regions=len(seg),
        largest_px=max(seg, default=0),
        min_area_px=record.min_area_px,
        near_miss_px=record.near_miss_px,
        anomaly_score=record.score,
        image_threshold=record.threshold,
        anomaly_regions=sum(r.get("source") == "anomaly" for r in regions),
        global_score=record.global_score,
        recorded_at=record.time,
    )


def table_rows(details: PartDetails) -> list[tuple[str, str, str, str]]:
    """(model, figure, limit, verdict code) per row: the table's text (verdicts translated
    where shown), testable without a widget."""
    rows = []
    if details.has_segmentation:
        minimum = f"≥ {details.min_area_px} px" if details.min_area_px is not None else "–"
        seg_ng = "segmentation" in details.rejected_by
        count = details.segmentation_regions
        figure = (
            QCoreApplication.translate("ModelTable", "{count} region(s), largest {px} px").format(
                count=count, px=details.largest_px
            )
            if count
            else QCoreApplication.translate("ModelTable", "no region")
        )
        rows.append(
            (
                QCoreApplication.translate("ModelTable", "U-Net segmentation"),
                figure,
                minimum,
                "NG" if seg_ng else "OK",
            )
        )
        if details.near_miss_px:
            near = f"  {_tr(NEAR_MISS)}"
            rows.append((near, f"{details.near_miss_px} px", minimum, NEAR_MISS))
    if details.anomaly_score is not None:
        limit = details.image_threshold
        ano_ng = "anomaly" in details.rejected_by
        figure = QCoreApplication.translate("ModelTable", "score {score}").format(
            score=f"{details.anomaly_score:.3f}"
        )
        if details.anomaly_regions:
            figure += QCoreApplication.translate("ModelTable", ", {count} region(s)").format(
                count=details.anomaly_regions
            )
        rows.append(
            (
                QCoreApplication.translate("ModelTable", "Anomaly model"),
                figure,
                "–" if limit is None else f"≥ {limit:.3f}",
                "NG" if ano_ng else "OK",
            )
        )
    if details.global_score is not None:
        score = QCoreApplication.translate("ModelTable", "score {score}").format(
            score=f"{details.global_score:.3g}"
        )
        rows.append(
            (
                QCoreApplication.translate("ModelTable", "Global PCA + K-means"),
                score,
                "–",
                INFO_ONLY,
            )
        )
    names = (_tr(MODEL_NAMES[m]) if m in MODEL_NAMES else m for m in details.rejected_by)
    rows.append(
        (
            QCoreApplication.translate("ModelTable", "Rejected by"),
            " + ".join(names) or "–",
            "",
            details.verdict,
        )
    )
    return rows


def short_reasons(details: PartDetails) -> list[str]:
    """Why the part is NG, one short line per model that rejected it: what the banner shows
    in type large enough for 2 m (the table has the rest). A row stored before the models'
    verdicts were kept shows its recorded reasons."""
    lines = []
    if "segmentation" in details.rejected_by:
        lines.append(
            QCoreApplication.translate("ModelTable", "U-Net: defect {px} px").format(
                px=details.largest_px
            )
        )
    if "anomaly" in details.rejected_by and details.anomaly_score is not None:
        limit = details.image_threshold
        against = "" if limit is None else f" ≥ {limit:.3f}"
        score = f"{details.anomaly_score:.3f}{against}"
        lines.append(
            QCoreApplication.translate("ModelTable", "anomaly {score}").format(score=score)
        )
    return lines or list(details.reasons)  # the engine's recorded words, as stored


class ModelTable(QWidget):
    """The table, with the replay mark above it (hidden for a live part) and, for a replay of a
    part still in memory, the engineer's what-if button below it."""

    what_if_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.what_if = QPushButton(self.tr("What-if: judge this part with the current thresholds"))
        self.what_if.setToolTip(
            self.tr(
                "Shows how today's thresholds would judge the replayed part; the recorded verdict "
                "stays in the store and comes back on the next click in the history"
            )
        )
        self.what_if.clicked.connect(self.what_if_requested)
        self.what_if.hide()
        self.what_if_allowed = True  # off in operator mode: an engineer's action
        self.mark = QLabel(objectName="replayMark", alignment=Qt.AlignmentFlag.AlignCenter)
        self.mark.hide()
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(
            [self.tr("Model"), self.tr("Result"), self.tr("Limit"), self.tr("Verdict")]
        )
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.mark)
        layout.addWidget(self.table)
        layout.addWidget(self.what_if)
        self.details: PartDetails | None = None
        self.set_operator(False)
        self.clear()

    def set_operator(self, on: bool) -> None:
        """Larger type in operator mode; the widget's own style sheet wins over the window's."""
        self.what_if_allowed = not on
        self.what_if.setVisible(False)
        size = OPERATOR_PX if on else NORMAL_PX
        self.table.setStyleSheet(f"font-size: {size}px;")
        self.mark.setStyleSheet(
            f"font-size: {size + 2}px; font-weight: bold; color: #14171b; "
            "background-color: #f0e442; border-radius: 4px; padding: 2px;"
        )
        self._fit()

    def show_details(self, details: PartDetails, what_if_possible: bool = False) -> None:
        """`what_if_possible`: a replay whose frame and model outputs are still in memory."""
        self.details = details
        self.what_if.setVisible(what_if_possible and self.what_if_allowed and not details.what_if)
        self.mark.setText(details.replay_mark)
        self.mark.setVisible(bool(details.replay_mark))
        rows = table_rows(details)
        self.table.setRowCount(len(rows))
        for row, cells in enumerate(rows):
            for column, text in enumerate(cells):
                shown = text
                if column == 3:  # a verdict code, or a word of this table
                    shown = _tr(text) if text in (NEAR_MISS, INFO_ONLY) else verdict_name(text)
                item = QTableWidgetItem(shown)
                if column == 3 and text in CELL_COLOURS:
                    item.setForeground(CELL_COLOURS[text])
                self.table.setItem(row, column, item)
        self._fit()

    def clear(self) -> None:
        self.details = None
        self.mark.hide()
        self.what_if.hide()
        self.table.setRowCount(0)
        self._fit()

    def cell(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text() if item is not None else ""

    def _fit(self) -> None:
        """As tall as its rows: the side panel keeps the rest for the history."""
        self.table.resizeRowsToContents()
        rows = sum(self.table.rowHeight(r) for r in range(self.table.rowCount()))
        self.table.setFixedHeight(self.table.horizontalHeader().sizeHint().height() + rows + 4)
