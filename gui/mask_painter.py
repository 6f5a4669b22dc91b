"""Painting a defect mask over a part's image, in the image's own pixels whatever the zoom.

The mask is a numpy array of the image's shape (0 / 1 bytes); the view only maps mouse
positions to image pixels (the image item sits at the scene's origin, one scene unit per
pixel) and shows the mask as a translucent layer. Left button paints with the current tool,
right button erases, middle button pans, the wheel zooms. Undo keeps, per step, only the
rectangle a step changed, so a 7000×7000 image does not cost 49 MB per step.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QImage, QKeySequence, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QSlider,
    QStyleOptionGraphicsItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gui.image_view import MAX_ZOOM, ZOOM_STEP, bgr_to_qimage

TOOLS = ("brush", "eraser")
UNDO_STEPS = 30
MASK_RGBA = (213, 94, 0, 130)  # Okabe-Ito vermilion, the NG colour, translucent
SIZE_STEP = 1.25  # [ and ] change the brush by this factor


def heat_mask(heat8: np.ndarray, map_threshold: float) -> np.ndarray:
    """The thresholded heat map (8-bit, [0, 1] * 255) as a 0 / 1 mask: where the anomaly model
    calls a pixel anomalous (`Thresholds.map_threshold`)."""
    return (heat8.astype(np.float32) >= map_threshold * 255.0).astype(np.uint8)


def max_brush(shape: tuple[int, ...]) -> int:
    """The largest brush: half the image's shorter side, at least 8 px."""
    return max(8, min(shape[:2]) // 2)


@dataclass
class UndoStep:
    """What a step overwrote: the rectangle [top:bottom, left:right] as it was before."""

    top: int
    left: int
    before: np.ndarray


def _changed_box(before: np.ndarray, after: np.ndarray) -> tuple[slice, slice] | None:
    """The smallest rectangle holding every pixel that differs, None when nothing did."""
    diff = before != after
    rows, cols = np.flatnonzero(diff.any(axis=1)), np.flatnonzero(diff.any(axis=0))
    if rows.size == 0:
        return None
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


class MaskLayer(QGraphicsItem):
    """Draws the mask as a translucent colour over the image; repaints only what changed."""

    def __init__(self, mask: np.ndarray) -> None:
        super().__init__()
        height, width = mask.shape
        self.rgba = np.zeros((height, width, 4), np.uint8)
        # The QImage shares rgba's memory: updating a rectangle of it costs that rectangle.
        self.image = QImage(self.rgba.data, width, height, width * 4, QImage.Format.Format_RGBA8888)
        self.refresh(mask, slice(0, height), slice(0, width))

    def refresh(self, mask: np.ndarray, rows: slice, cols: slice) -> None:
        patch = mask[rows, cols].astype(bool)
        self.rgba[rows, cols] = 0
        self.rgba[rows, cols][patch] = MASK_RGBA
        self.update(QRectF(cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start))

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.image.width(), self.image.height())

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        exposed = option.exposedRect.intersected(self.boundingRect()).toAlignedRect()
        painter.drawImage(exposed, self.image, exposed)


class MaskPainter(QGraphicsView):
    """Brush and eraser over an image; `mask()` returns the painted mask at the image's shape.

    Every edit (a stroke, a loaded mask, a clear) is one undo step; `mask_changed` follows
    each. Brush size is a diameter in image pixels (the round cursor shows it at the zoom).
    """

    mask_changed = Signal()
    brush_changed = Signal(int)  # the new diameter in image pixels
    tool_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self._image_item = QGraphicsPixmapItem()
        self._scene.addItem(self._image_item)
        self._layer: MaskLayer | None = None
        self._mask = np.zeros((0, 0), np.uint8)
        self._undo: list[UndoStep] = []
        self._before: np.ndarray | None = None  # the mask as the current stroke began
        self._last: tuple[int, int] | None = None  # the stroke's previous point
        self._stroke_value = 1
        self._panning: QPointF | None = None
        self._cursor: QPointF | None = None  # scene position of the brush outline
        self.tool = "brush"
        self.brush = 24
        self.fit_mode = True
        self.setMouseTracking(True)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)  # see pixels
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    # --- image and mask -------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        return self._mask.shape

    @property
    def has_image(self) -> bool:
        return self._layer is not None

    def set_image(self, image: np.ndarray, mask: np.ndarray | None = None) -> None:
        """Show `image` (BGR or grey, uint8) with `mask` (or an empty one); clears undo."""
        height, width = image.shape[:2]
        self._image_item.setPixmap(QPixmap.fromImage(bgr_to_qimage(image)))
        self._mask = np.zeros((height, width), np.uint8)
        if mask is not None:
            self._mask[:] = self._checked(mask)
        if self._layer is not None:
            self._scene.removeItem(self._layer)
        self._layer = MaskLayer(self._mask)
        self._scene.addItem(self._layer)
        self._scene.setSceneRect(0, 0, width, height)
        self._undo.clear()
        self._cursor = None
        self.set_brush(min(self.brush, max_brush(self._mask.shape)))
        self.fit()
        self.mask_changed.emit()

    def clear(self) -> None:
        """No image (one that cannot be read must not leave the previous part on screen)."""
        self._image_item.setPixmap(QPixmap())
        if self._layer is not None:
            self._scene.removeItem(self._layer)
            self._layer = None
        self._mask = np.zeros((0, 0), np.uint8)
        self._undo.clear()
        self._cursor = None
        self.mask_changed.emit()

    def mask(self) -> np.ndarray:
        """A copy of the painted mask: uint8 0 / 1 at the image's (height, width)."""
        return self._mask.copy()

    def load_mask(self, mask: np.ndarray) -> None:
        """Start from `mask` (the U-Net's, the thresholded heat map): one undo step."""
        self._replace(self._checked(mask))

    def clear_mask(self) -> None:
        self._replace(np.zeros_like(self._mask))

    def _checked(self, mask: np.ndarray) -> np.ndarray:
        if mask.shape != self._mask.shape:
            raise ValueError(
                f"mask of shape {mask.shape} does not fit the image ({self._mask.shape})"
            )
        return (np.asarray(mask) > 0).astype(np.uint8)

    def _replace(self, new: np.ndarray) -> None:
        before = self._mask.copy()
        self._mask[:] = new
        self._commit(before)

    def _commit(self, before: np.ndarray) -> None:
        """Close an edit: remember what it changed (undo) and repaint that rectangle."""
        box = _changed_box(before, self._mask)
        if box is None:
            return
        rows, cols = box
        self._undo.append(UndoStep(rows.start, cols.start, before[rows, cols].copy()))
        del self._undo[:-UNDO_STEPS]
        self._layer.refresh(self._mask, rows, cols)
        self.mask_changed.emit()

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    def undo(self) -> bool:
        """Put back what the last edit changed; False when there is nothing to undo."""
        if not self._undo or self._before is not None:
            return False
        step = self._undo.pop()
        height, width = step.before.shape
        rows = slice(step.top, step.top + height)
        cols = slice(step.left, step.left + width)
        self._mask[rows, cols] = step.before
        self._layer.refresh(self._mask, rows, cols)
        self.mask_changed.emit()
        return True

    # --- tool and brush -------------------------------------------------------------------
    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}; expected one of {TOOLS}")
        self.tool = tool
        self.tool_changed.emit(tool)

    def set_brush(self, diameter: int) -> None:
        top = max_brush(self._mask.shape) if self.has_image else 512
        self.brush = int(min(max(1, diameter), top))
        self.brush_changed.emit(self.brush)
        self.viewport().update()

    def grow_brush(self) -> None:
        self.set_brush(max(self.brush + 1, round(self.brush * SIZE_STEP)))

    def shrink_brush(self) -> None:
        self.set_brush(min(self.brush - 1, round(self.brush / SIZE_STEP)))

    # --- painting -------------------------------------------------------------------------
    def image_pixel(self, view_pos: QPointF) -> tuple[int, int]:
        """The image pixel (x, y) under a viewport position: scene units are image pixels."""
        scene = self.mapToScene(view_pos.toPoint())
        return int(np.floor(scene.x())), int(np.floor(scene.y()))

    def _dab(self, point: tuple[int, int]) -> None:
        """Paint from the stroke's last point to `point` with a round brush of `brush` px."""
        radius = self.brush // 2
        start = self._last or point
        if self.brush <= 1:
            cv2.line(self._mask, start, point, self._stroke_value, 1)
        else:
            cv2.circle(self._mask, point, radius, self._stroke_value, -1)
            cv2.line(self._mask, start, point, self._stroke_value, 2 * radius + 1)
        self._last = point
        height, width = self._mask.shape
        x0, x1 = sorted((start[0], point[0]))
        y0, y1 = sorted((start[1], point[1]))
        rows = slice(max(0, y0 - radius - 1), min(height, y1 + radius + 2))
        cols = slice(max(0, x0 - radius - 1), min(width, x1 + radius + 2))
        if rows.start < rows.stop and cols.start < cols.stop:
            self._layer.refresh(self._mask, rows, cols)

    def mousePressEvent(self, event) -> None:
        button = event.button()
        if button == Qt.MouseButton.MiddleButton:
            self._panning = event.position()
            return
        painting = (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton)
        if not self.has_image or button not in painting:
            return
        erase = button == Qt.MouseButton.RightButton or self.tool == "eraser"
        self._stroke_value = 0 if erase else 1
        self._before = self._mask.copy()
        self._last = None
        self._dab(self.image_pixel(event.position()))

    def mouseMoveEvent(self, event) -> None:
        if self._panning is not None:
            delta = event.position() - self._panning
            self._panning = event.position()
            bars = (self.horizontalScrollBar(), self.verticalScrollBar())
            bars[0].setValue(bars[0].value() - round(delta.x()))
            bars[1].setValue(bars[1].value() - round(delta.y()))
            return
        self._cursor = self.mapToScene(event.position().toPoint())
        if self._before is not None:
            self._dab(self.image_pixel(event.position()))
        self.viewport().update()

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.MiddleButton:
            self._panning = None
            return
        if self._before is not None:
            before, self._before, self._last = self._before, None, None
            self._commit(before)

    def leaveEvent(self, event) -> None:
        self._cursor = None
        self.viewport().update()
        super().leaveEvent(event)

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        """The brush outline at its true size in image pixels, under the mouse."""
        if self._cursor is None or not self.has_image or not self.isEnabled():
            return
        pen = QPen(QColor("#ffffff" if self.tool == "brush" else "#56b4e9"))
        pen.setCosmetic(True)  # one screen pixel wide at any zoom
        painter.setPen(pen)
        radius = max(0.5, self.brush / 2)
        centre = QPointF(np.floor(self._cursor.x()) + 0.5, np.floor(self._cursor.y()) + 0.5)
        painter.drawEllipse(centre, radius, radius)

    # --- zoom -----------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def fit(self) -> None:
        self.fit_mode = True
        if self.has_image:
            self.fitInView(self._scene.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def zoom_by(self, factor: float) -> None:
        target = min(max(self.zoom * factor, 0.05), MAX_ZOOM)
        self.fit_mode = False
        self.scale(target / self.zoom, target / self.zoom)

    def wheelEvent(self, event) -> None:
        self.zoom_by(ZOOM_STEP if event.angleDelta().y() > 0 else 1 / ZOOM_STEP)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.fit_mode:
            self.fit()


class MaskEditor(QWidget):
    """The painter with its tools: brush / eraser (B, E), size slider ([ and ]), undo
    (Ctrl+Z), start from the U-Net mask (U) or the thresholded heat map (H), clear.

    The keys are window shortcuts, so they work wherever the focus is in the review window
    (a text field still takes the letters typed into it)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.painter = MaskPainter()
        self.unet_mask: np.ndarray | None = None
        self.heat_mask: np.ndarray | None = None
        self.brush_button = self._tool_button(
            self.tr("Brush"), "B", lambda: self.painter.set_tool("brush")
        )
        self.eraser_button = self._tool_button(
            self.tr("Eraser"), "E", lambda: self.painter.set_tool("eraser")
        )
        self.size = QSlider(Qt.Orientation.Horizontal, minimum=1, maximum=512)
        self.size.setToolTip(self.tr("Brush diameter in image pixels ([ smaller, ] larger)"))
        self.size.setFixedWidth(150)
        self.size.valueChanged.connect(self.painter.set_brush)
        self.size_label = QLabel()
        self.size_label.setMinimumWidth(52)
        self.undo_button = self._button(self.tr("Undo"), "Ctrl+Z", self.painter.undo)
        self.unet_button = self._button(self.tr("From U-Net"), "U", self.start_from_unet)
        self.heat_button = self._button(self.tr("From heat map"), "H", self.start_from_heat)
        self.clear_button = self._button(self.tr("Clear"), "Shift+Del", self.painter.clear_mask)
        self._key("[", self.painter.shrink_brush)
        self._key("]", self.painter.grow_brush)
        self.painter.brush_changed.connect(self._show_brush)
        self.painter.tool_changed.connect(self._show_tool)
        self.painter.mask_changed.connect(self._show_state)

        tools = QHBoxLayout()
        tools.setContentsMargins(0, 0, 0, 0)
        for widget in (self.brush_button, self.eraser_button, QLabel(self.tr("Size")), self.size):
            tools.addWidget(widget)
        tools.addWidget(self.size_label)
        for widget in (self.undo_button, self.unet_button, self.heat_button, self.clear_button):
            tools.addWidget(widget)
        tools.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(tools)
        layout.addWidget(self.painter, 1)
        self._show_tool(self.painter.tool)
        self._show_brush(self.painter.brush)
        self._show_state()

    def _key(self, key: str, slot) -> QAction:
        action = QAction(self, shortcut=QKeySequence(key))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _button(self, text: str, key: str, slot) -> QToolButton:
        button = QToolButton(text=text, toolTip=f"{text} ({key})")
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.clicked.connect(slot)
        self._key(key, slot)
        return button

    def _tool_button(self, text: str, key: str, slot) -> QToolButton:
        button = self._button(text, key, slot)
        button.setCheckable(True)
        return button

    def set_part(
        self,
        image: np.ndarray,
        mask: np.ndarray | None,
        unet_mask: np.ndarray | None,
        heat_mask: np.ndarray | None,
    ) -> None:
        """A new part: its image, the mask to start with, and the two models' masks for the
        'From …' buttons (None where the bundle lacks the model)."""
        self.unet_mask, self.heat_mask = unet_mask, heat_mask
        self.painter.set_image(image, mask)
        self.size.setMaximum(max_brush(self.painter.shape))

    def start_from_unet(self) -> None:
        if self.unet_mask is not None:
            self.painter.load_mask(self.unet_mask)

    def start_from_heat(self) -> None:
        if self.heat_mask is not None:
            self.painter.load_mask(self.heat_mask)

    def _show_tool(self, tool: str) -> None:
        self.brush_button.setChecked(tool == "brush")
        self.eraser_button.setChecked(tool == "eraser")

    def _show_brush(self, diameter: int) -> None:
        self.size.blockSignals(True)
        self.size.setValue(diameter)
        self.size.blockSignals(False)
        self.size_label.setText(self.tr("{size} px").format(size=diameter))

    def _show_state(self) -> None:
        self.undo_button.setEnabled(self.painter.can_undo)
        self.unet_button.setEnabled(self.unet_mask is not None)
        self.heat_button.setEnabled(self.heat_mask is not None)
