"""The big OK / NG banner and the score-against-threshold gauge beside it.

The verdict is given three ways at once: a colour (Okabe-Ito, distinct for colour-blind eyes),
a symbol and the word, large enough to read from two metres.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QVBoxLayout, QWidget

from gui.model_table import PartDetails, details_of_result, short_reasons, verdict_name

if TYPE_CHECKING:
    from engine.result import InspectionResult

# Reason text in operator mode: a rule of thumb for reading at a distance is a character height
# of 1/200 of it, 1 cm at 2 m: a 36 px font on a 24" full-HD panel (0.28 mm pixels) gives that.
OPERATOR_DETAIL_PX = 36
VERDICT_COLOURS = {"OK": QColor("#009e73"), "NG": QColor("#d55e00")}
SYMBOLS = {"OK": "✔", "NG": "✖"}
BAR_PX = 18


def largest_region(result: InspectionResult) -> int:
    """Largest segmented defect: the figure the minimum-area threshold is compared with."""
    return max((r.area_px for r in result.regions if r.source == "segmentation"), default=0)


def describe_score(result: InspectionResult) -> str:
    return describe_details(details_of_result(result))


def describe_details(details: PartDetails) -> str:
    """One line per model: its figure against its threshold, as the operator should read it;
    a U-Net region just below the minimum area is named, not hidden behind '0 px'."""
    lines = []
    score, limit = details.anomaly_score, details.image_threshold
    if score is not None and limit is not None:
        lines.append(
            QCoreApplication.translate(
                "VerdictBanner", "anomaly score {score} {relation} threshold {limit}"
            ).format(
                score=f"{score:.3f}", relation="≥" if score >= limit else "<", limit=f"{limit:.3f}"
            )
        )
    if details.has_segmentation:
        line = QCoreApplication.translate(
            "VerdictBanner", "largest defect {px} px (counted from {minimum} px)"
        ).format(px=details.largest_px, minimum=details.min_area_px)
        if details.near_miss_px:
            line += QCoreApplication.translate("VerdictBanner", "; near miss {px} px").format(
                px=details.near_miss_px
            )
        lines.append(line)
    return "\n".join(lines)


class VerdictBanner(QFrame):
    """Shows READY, OK, NG or ERROR; the style sheet colours it by its `verdict` property.

    An error has a `cause` (model, source, part, station), so the window clears only the
    error that is over: a model that loads clears "No model loaded", not a part that failed.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.word = QLabel(objectName="verdictWord", alignment=Qt.AlignmentFlag.AlignCenter)
        self.detail = QLabel(objectName="verdictDetail", alignment=Qt.AlignmentFlag.AlignCenter)
        self.detail.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.word)
        layout.addWidget(self.detail)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.show_idle()

    @property
    def verdict(self) -> str:
        return str(self.property("verdict"))

    def _set(self, state: str, word: str, detail: str, cause: str | None = None) -> None:
        self.cause = cause
        self.setProperty("verdict", state)
        self.word.setText(word)
        self.detail.setText(detail)
        # A dynamic property only restyles after an unpolish / polish.
        self.style().unpolish(self)
        self.style().polish(self)

    def show_idle(self, detail: str = "") -> None:
        self._set("idle", self.tr("READY"), detail or self.tr("waiting for the first part"))

    def show_error(self, detail: str, cause: str = "station") -> None:
        self._set("error", f"⚠ {verdict_name('ERROR')}", detail, cause)

    def show_failure(self, what: str, reason: str) -> None:
        """A part that could not be inspected: neither OK nor NG, until the next one is."""
        message = self.tr("cannot inspect {what}: {reason}").format(what=what, reason=reason)
        self.show_error(message, cause="part")

    def show_result(self, result: InspectionResult) -> None:
        self.show_details(details_of_result(result))

    def show_details(self, details: PartDetails) -> None:
        """A part's verdict; a replay or a what-if says so above the reasons."""
        name = details.verdict
        detail = "\n".join(short_reasons(details)) if name == "NG" else self.tr("no defect found")
        if details.replay_mark:
            detail = f"{details.replay_mark.upper()}\n{detail}"
        word = f"{SYMBOLS[name]} {verdict_name(name)}" if name in SYMBOLS else verdict_name(name)
        self._set(name, word, detail)

    def set_operator(self, on: bool) -> None:
        """Reasons readable at 2 m in operator mode (the label's own sheet wins)."""
        self.detail.setStyleSheet(
            f"font-size: {OPERATOR_DETAIL_PX}px; font-weight: bold;" if on else ""
        )


class ScoreGauge(QWidget):
    """A bar of the anomaly score with the threshold marked, so 'how close' is visible."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.score: float | None = None
        self.threshold: float | None = None
        self.verdict = "idle"
        self.text = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        # Bar plus two lines of text in the current font (larger in operator mode).
        return QSize(300, BAR_PX + 12 + 2 * self.fontMetrics().lineSpacing())

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.FontChange:
            self.updateGeometry()
        super().changeEvent(event)

    def show_result(self, result: InspectionResult) -> None:
        self.show_details(details_of_result(result))

    def show_details(self, details: PartDetails) -> None:
        self.score = details.anomaly_score
        self.threshold = details.image_threshold
        self.verdict = details.verdict
        self.text = describe_details(details)
        self.setToolTip(self.text)
        self.update()

    def clear(self) -> None:
        self.score = self.threshold = None
        self.verdict, self.text = "idle", ""
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        bar = QRectF(4, 4, self.width() - 8, BAR_PX)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#14171b"))
        painter.drawRoundedRect(bar, 4, 4)
        if self.score is not None and self.threshold:
            # Full scale is twice the threshold (or the score if higher), so the mark sits mid-way.
            full = max(2.0 * self.threshold, self.score * 1.05)
            filled = QRectF(bar)
            filled.setWidth(bar.width() * min(max(self.score / full, 0.0), 1.0))
            painter.setBrush(VERDICT_COLOURS.get(self.verdict, QColor("#6b7280")))
            painter.drawRoundedRect(filled, 4, 4)
            x = bar.left() + bar.width() * self.threshold / full
            painter.setPen(QPen(QColor("#ffffff"), 3))
            painter.drawLine(int(x), int(bar.top()) - 3, int(x), int(bar.bottom()) + 3)
        painter.setPen(QColor("#e8eaed"))
        text_rect = QRectF(4, bar.bottom() + 4, bar.width(), self.height() - bar.bottom() - 4)
        painter.drawText(
            text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, self.text
        )
        painter.end()


class VerdictPanel(QWidget):
    """Banner above gauge: the block the operator's eyes go to."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.banner = VerdictBanner()
        self.gauge = ScoreGauge()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.gauge)

    def show_result(self, result: InspectionResult) -> None:
        self.show_details(details_of_result(result))

    def show_details(self, details: PartDetails) -> None:
        self.banner.show_details(details)
        self.gauge.show_details(details)

    def set_operator(self, on: bool) -> None:
        self.banner.set_operator(on)

    def show_failure(self, what: str, reason: str) -> None:
        """The gauge is cleared too: the previous part's score is not this part's."""
        self.banner.show_failure(what, reason)
        self.gauge.clear()
