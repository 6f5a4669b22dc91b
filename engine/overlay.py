"""Drawing an inspection result onto its image, so the GUI, batch output and reports agree.

The overlay has the image's own size; the result's planes may be smaller (Inspector.inspect
keeps them at a bounded working resolution) and are enlarged here as uint8, and the float
blending runs over strips of rows, so a 7000x7000 overlay needs about the canvas and two
byte planes, not a dozen full-size float planes.
"""

from collections.abc import Iterator

import cv2
import numpy as np

from engine.imageio import to_bgr8
from engine.result import InspectionResult, Verdict

MODES = ("mask", "heatmap", "contours", "none")
DEFECT_BGR = (0, 0, 255)  # segmentation: red
ANOMALY_BGR = (255, 0, 255)  # anomaly regions: magenta, distinct from the heat map's reds
BANNER_BGR = {Verdict.OK: (60, 160, 40), Verdict.NG: (30, 30, 210)}
STRIP_PIXELS = 1 << 20  # pixels blended at once: float temporaries stay near 16 MB


def _line_width(image: np.ndarray) -> int:
    return max(2, round(min(image.shape[:2]) / 250))


def _blend(canvas: np.ndarray, colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """canvas + (colour - canvas) * alpha, alpha per pixel in [0, 1]; OpenCV ops for speed."""
    base = canvas.astype(np.float32)
    alpha3 = cv2.merge([alpha.astype(np.float32)] * 3)
    mixed = cv2.add(base, cv2.multiply(cv2.subtract(colour.astype(np.float32), base), alpha3))
    return mixed.astype(np.uint8)


def _strips(height: int, width: int) -> Iterator[slice]:
    """Row ranges of about STRIP_PIXELS pixels covering the canvas."""
    rows = max(1, STRIP_PIXELS // max(width, 1))
    for top in range(0, height, rows):
        yield slice(top, top + rows)


def _mask_at(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    """The defect mask at the canvas's size; bilinear on 0/1 bytes rounds at the half-way line,
    which gives smoother edges than nearest-neighbour blocks."""
    if mask.shape == (height, width):
        return mask
    resized = cv2.resize(mask.view(np.uint8), (width, height), interpolation=cv2.INTER_LINEAR)
    return resized.view(bool)


def _heat8_at(heat: np.ndarray, height: int, width: int) -> np.ndarray:
    """The heat map as bytes (what the colour map takes) at the canvas's size."""
    heat8 = (heat * 255).astype(np.uint8)
    if heat8.shape == (height, width):
        return heat8
    return cv2.resize(heat8, (width, height), interpolation=cv2.INTER_LINEAR)


def _tint_mask(canvas: np.ndarray, mask: np.ndarray, opacity: float) -> None:
    """Move defect pixels towards red by `opacity`, in place."""
    red = np.array(DEFECT_BGR, np.float32)
    for rows in _strips(*canvas.shape[:2]):
        strip, hit = canvas[rows], mask[rows]
        tinted = strip[hit].astype(np.float32)
        tinted += (red - tinted) * opacity
        strip[hit] = tinted.astype(np.uint8)


def _blend_heat(canvas: np.ndarray, heat8: np.ndarray, opacity: float) -> None:
    """Blend the JET-coloured heat in proportion to its heat (good areas stay visible)."""
    for rows in _strips(*canvas.shape[:2]):
        colours = cv2.applyColorMap(heat8[rows], cv2.COLORMAP_JET)
        alpha = opacity * np.clip(heat8[rows] * np.float32(1.5 / 255), 0.15, 1.0)
        canvas[rows] = _blend(canvas[rows], colours, alpha)


def _draw_banner(canvas: np.ndarray, result: InspectionResult) -> None:
    height, width = canvas.shape[:2]
    bar = max(28, height // 12)
    colour = BANNER_BGR[result.verdict]
    cv2.rectangle(canvas, (0, 0), (width, bar), colour, -1)
    scale = bar / 40
    thickness = max(1, round(bar / 16))
    cv2.putText(
        canvas,
        result.verdict.value,
        (bar // 4, int(bar * 0.8)),
        cv2.FONT_HERSHEY_DUPLEX,
        scale * 1.1,
        (255, 255, 255),
        thickness,
        cv2.LINE_AA,
    )
    if result.anomaly_score is not None and result.image_threshold is not None:
        text = f"score {result.anomaly_score:.3g} / {result.image_threshold:.3g}"
        size = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale * 0.6, thickness)[0]
        cv2.putText(
            canvas,
            text,
            (width - size[0] - bar // 4, int(bar * 0.68)),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale * 0.6,
            (255, 255, 255),
            thickness,
            cv2.LINE_AA,
        )


def render_overlay(
    image: np.ndarray,
    result: InspectionResult,
    mode: str = "mask",
    opacity: float = 0.45,
    banner: bool = True,
) -> np.ndarray:
    """Return a BGR uint8 copy of `image` with the result drawn on it.

    mask: defect pixels filled red; heatmap: the anomaly heat map blended in proportion to its
    heat (good areas stay visible); contours: outlines only; none: the image as it is.
    Every mode but "none" outlines the defect regions and, with `banner`, shows the verdict.
    """
    if mode not in MODES:
        raise ValueError(f"unknown overlay mode {mode!r}; expected one of {MODES}")
    canvas = to_bgr8(image)
    if np.may_share_memory(canvas, image):  # 8-bit BGR comes back as is: never draw on it
        canvas = canvas.copy()
    if mode == "none":
        return canvas
    height, width = canvas.shape[:2]
    opacity = float(np.clip(opacity, 0.0, 1.0))
    if mode == "mask" and result.mask is not None and result.mask.any():
        _tint_mask(canvas, _mask_at(result.mask, height, width), opacity)
    if mode == "heatmap" and result.heat is not None:
        _blend_heat(canvas, _heat8_at(result.heat, height, width), opacity)
    line = _line_width(canvas)
    for region in result.regions:
        colour = DEFECT_BGR if region.source == "segmentation" else ANOMALY_BGR
        cv2.drawContours(canvas, [region.contour.reshape(-1, 1, 2)], -1, colour, line, cv2.LINE_AA)
    if banner:
        _draw_banner(canvas, result)
    return canvas
