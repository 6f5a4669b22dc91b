"""The overlay's legend: what each colour on the image means, in the colours
`engine.overlay` really draws (its constants and OpenCV's JET map, not copies of them).
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from engine.bundle import AnomalySpec
from engine.overlay import ANOMALY_BGR, DEFECT_BGR

SWATCH_PX = 14
OPERATOR_FONT_PX = 20
GRADIENT_PX = 180


def bgr_colour(bgr: tuple[int, int, int]) -> QColor:
    return QColor(bgr[2], bgr[1], bgr[0])


def jet_strip() -> QImage:
    """One row of the heat colours from 0 to 1, as the overlay maps heat (COLORMAP_JET)."""
    ramp = np.arange(256, dtype=np.uint8).reshape(1, -1)
    rgb = np.ascontiguousarray(cv2.applyColorMap(ramp, cv2.COLORMAP_JET)[:, :, ::-1])
    return QImage(rgb.data, 256, 1, 3 * 256, QImage.Format.Format_RGB888).copy()


def heat_position(map_threshold: float | None, low: float, high: float) -> float | None:
    """Where a raw anomaly-map value sits on the heat scale (the overlay's normalisation)."""
    if map_threshold is None or high <= low:
        return None
    return float(np.clip((map_threshold - low) / (high - low), 0.0, 1.0))


class OverlayLegend(QWidget):
    """A strip under the image: U-Net defect (red, filled in mask mode), anomaly region
    (magenta outline), and in heat-map mode the heat scale with the map threshold marked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode = "mask"
        self.threshold_at: float | None = None  # the map threshold on the heat scale, 0..1
        self.swatch_px = SWATCH_PX
        self._jet = jet_strip()
        self.defect = bgr_colour(DEFECT_BGR)
        self.anomaly = bgr_colour(ANOMALY_BGR)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(600, max(self.swatch_px, self.fontMetrics().height()) + 10)

    def set_operator(self, on: bool) -> None:
        """Larger in operator mode (the widget's own sheet wins over the window's)."""
        self.setStyleSheet(f"font-size: {OPERATOR_FONT_PX}px;" if on else "")
        self.swatch_px = round(SWATCH_PX * 1.5) if on else SWATCH_PX
        self.updateGeometry()
        self.update()

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.setVisible(mode != "none")
        self.update()

    def set_scale(self, map_threshold: float | None, low: float, high: float) -> None:
        self.threshold_at = heat_position(map_threshold, low, high)
        self.update()

    def set_anomaly(self, spec: AnomalySpec | None) -> None:
        """The heat scale of a bundle's anomaly model (none: no mark)."""
        if spec is None:
            self.threshold_at = None
            self.update()
        else:
            self.set_scale(spec.map_threshold, spec.map_low, spec.map_high)

    def entries(self) -> list[str]:
        """The legend's words in the current mode (what a test or a screen reader checks)."""
        fill = self.tr("filled") if self.mode == "mask" else self.tr("outline")
        words = [self.tr("U-Net defect ({fill})").format(fill=fill), self.tr("anomaly region")]
        if self.mode == "heatmap":
            words.append(self.tr("heat low → high, | map threshold"))
        return words

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = self.fontMetrics()
        x, mid = 6.0, self.height() / 2
        text_colour = QColor("#e8eaed")

        def swatch(colour: QColor, filled: bool, label: str) -> None:
            nonlocal x
            box = QRectF(x, mid - self.swatch_px / 2, self.swatch_px, self.swatch_px)
            painter.setPen(QPen(colour, 3))
            painter.setBrush(colour if filled else Qt.BrushStyle.NoBrush)
            painter.drawRect(box)
            painter.setPen(text_colour)
            painter.drawText(
                int(x + self.swatch_px + 6), int(mid + metrics.ascent() / 2 - 1), label
            )
            x += self.swatch_px + 6 + metrics.horizontalAdvance(label) + 18

        words = self.entries()
        swatch(self.defect, self.mode == "mask", words[0])
        swatch(self.anomaly, False, words[1])
        if self.mode == "heatmap":
            painter.setPen(text_colour)
            low = self.tr("heat low")
            painter.drawText(int(x), int(mid + metrics.ascent() / 2 - 1), low)
            x += metrics.horizontalAdvance(low) + 6
            bar = QRectF(x, mid - self.swatch_px / 2, GRADIENT_PX, self.swatch_px)
            painter.drawImage(bar, self._jet)
            if self.threshold_at is not None:
                mark = bar.left() + bar.width() * self.threshold_at
                painter.setPen(QPen(QColor("#ffffff"), 3))
                painter.drawLine(int(mark), int(bar.top()) - 3, int(mark), int(bar.bottom()) + 3)
            painter.setPen(text_colour)
            label = self.tr("high   | map threshold")
            painter.drawText(int(bar.right() + 6), int(mid + metrics.ascent() / 2 - 1), label)
        painter.end()
