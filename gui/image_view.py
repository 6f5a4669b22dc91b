"""Zoom / pan view of the overlay image (the engine draws the overlay; this only shows it)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QWidget

ZOOM_STEP = 1.25
MAX_ZOOM = 40.0
HINT = QT_TRANSLATE_NOOP(
    "ImageView", "Choose a source in the File menu, or drop a folder, video or image here"
)  # translated where drawn


def bgr_to_qimage(image: np.ndarray) -> QImage:
    """A QImage owning a copy of a BGR (or grey) uint8 array, safe after the array is gone."""
    image = np.ascontiguousarray(image)
    height, width = image.shape[:2]
    if image.ndim == 2:
        return QImage(
            image.data, width, height, image.strides[0], QImage.Format.Format_Grayscale8
        ).copy()
    return QImage(image.data, width, height, image.strides[0], QImage.Format.Format_BGR888).copy()


def thumbnail(image: np.ndarray, size: int) -> QPixmap:
    return QPixmap.fromImage(bgr_to_qimage(image)).scaled(
        size,
        size,
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )


class ImageView(QGraphicsView):
    """Fits the image to the window until the user zooms (wheel) or pans (drag);
    double-click fits again."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._scene = QGraphicsScene(self)
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._scene.addItem(self._item)
        self.setScene(self._scene)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.fit_mode = True
        self.placeholder = self.tr(HINT)  # drawn while there is no image

    @property
    def has_image(self) -> bool:
        return not self._item.pixmap().isNull()

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_image(self, image: np.ndarray) -> None:
        self.set_qimage(bgr_to_qimage(image))

    def set_qimage(self, image: QImage) -> None:
        pixmap = QPixmap.fromImage(image)
        resized = pixmap.size() != self._item.pixmap().size()
        self._item.setPixmap(pixmap)
        if resized:
            self._scene.setSceneRect(self._item.boundingRect())
        if self.fit_mode:
            self.fit()

    def clear(self, placeholder: str = "") -> None:
        """No image, `placeholder` (default: the hint) in its place: the view never shows a
        part that is not the one the banner is about."""
        self._item.setPixmap(QPixmap())
        self.placeholder = placeholder or self.tr(HINT)
        self.viewport().update()

    def fit(self) -> None:
        self.fit_mode = True
        if self.has_image:
            self.fitInView(self._item, Qt.AspectRatioMode.KeepAspectRatio)

    def zoom_by(self, factor: float) -> None:
        target = min(max(self.zoom * factor, 0.05), MAX_ZOOM)
        self.fit_mode = False
        self.scale(target / self.zoom, target / self.zoom)

    def drawForeground(self, painter: QPainter, rect) -> None:
        if self.has_image:
            return
        painter.save()
        painter.resetTransform()  # draw in viewport pixels, whatever the zoom
        painter.setPen(QColor("#8b93a1"))
        painter.drawText(
            self.viewport().rect(),
            Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
            self.placeholder,
        )
        painter.restore()

    def wheelEvent(self, event) -> None:
        self.zoom_by(ZOOM_STEP if event.angleDelta().y() > 0 else 1 / ZOOM_STEP)

    def mouseDoubleClickEvent(self, event) -> None:
        self.fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.fit_mode:
            self.fit()
