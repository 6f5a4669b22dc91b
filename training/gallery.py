"""Evaluation gallery rows: image | ground truth | the model's view, drawn by the engine."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np

from engine.overlay import render_overlay
from engine.result import InspectionResult, Verdict


@dataclass(frozen=True)
class GalleryStyle:
    """How an evaluator draws its rows: the third panel, the panel size and the captions."""

    mode: str  # render_overlay mode of the third panel
    title: str  # caption of the third panel
    side: int  # pixels per side of each panel
    font_scale: float
    antialias: bool


def label(panel: np.ndarray, text: str, style: GalleryStyle) -> np.ndarray:
    """Write `text` in white at the bottom left of `panel` (in place) and return it."""
    line = cv2.LINE_AA if style.antialias else cv2.LINE_8
    org = (6, panel.shape[0] - 8)
    cv2.putText(panel, text, org, cv2.FONT_HERSHEY_SIMPLEX, style.font_scale, (255,) * 3, 1, line)
    return panel


def gallery_row(
    image: np.ndarray,
    truth: np.ndarray,
    result: InspectionResult,
    caption: str,
    style: GalleryStyle,
) -> np.ndarray:
    """The image (captioned `caption`), its ground-truth mask and the result drawn in the
    style's mode, each resized to a square panel and labelled."""
    truth_view = dataclasses.replace(
        result, mask=truth, regions=[], verdict=Verdict.NG if truth.any() else Verdict.OK
    )
    panels = [
        (render_overlay(image, result, mode="none"), caption),
        (render_overlay(image, truth_view, mode="mask", banner=False), "ground truth"),
        (render_overlay(image, result, mode=style.mode), style.title),
    ]
    size = (style.side, style.side)
    return np.hstack(
        [label(cv2.resize(p, size, interpolation=cv2.INTER_AREA), t, style) for p, t in panels]
    )
