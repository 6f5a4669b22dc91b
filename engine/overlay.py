"""Drawing an inspection result onto its image, so the GUI, batch output and reports agree."""

import cv2
import numpy as np

from engine.imageio import to_bgr8
from engine.result import InspectionResult, Verdict

MODES = ("mask", "heatmap", "contours", "none")
DEFECT_BGR = (0, 0, 255)  # segmentation: red
ANOMALY_BGR = (255, 0, 255)  # anomaly regions: magenta, distinct from the heat map's reds
BANNER_BGR = {Verdict.OK: (60, 160, 40), Verdict.NG: (30, 30, 210)}


def _line_width(image: np.ndarray) -> int:
    return max(2, round(min(image.shape[:2]) / 250))


def _blend(canvas: np.ndarray, colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """canvas + (colour - canvas) * alpha, alpha per pixel in [0, 1]; OpenCV ops for speed."""
    base = canvas.astype(np.float32)
    alpha3 = cv2.merge([alpha.astype(np.float32)] * 3)
    mixed = cv2.add(base, cv2.multiply(cv2.subtract(colour.astype(np.float32), base), alpha3))
    return mixed.astype(np.uint8)


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
    canvas = to_bgr8(image).copy()
    if mode == "none":
        return canvas
    opacity = float(np.clip(opacity, 0.0, 1.0))
    if mode == "mask" and result.mask is not None and result.mask.any():
        tinted = canvas[result.mask].astype(np.float32)
        tinted += (np.array(DEFECT_BGR, np.float32) - tinted) * opacity
        canvas[result.mask] = tinted.astype(np.uint8)
    if mode == "heatmap" and result.heat is not None:
        colours = cv2.applyColorMap((result.heat * 255).astype(np.uint8), cv2.COLORMAP_JET)
        alpha = opacity * np.clip(result.heat * 1.5, 0.15, 1.0)
        canvas = _blend(canvas, colours, alpha)
    width = _line_width(canvas)
    for region in result.regions:
        colour = DEFECT_BGR if region.source == "segmentation" else ANOMALY_BGR
        cv2.drawContours(canvas, [region.contour.reshape(-1, 1, 2)], -1, colour, width, cv2.LINE_AA)
    if banner:
        _draw_banner(canvas, result)
    return canvas
