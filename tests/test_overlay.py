"""Overlays: each mode draws what it promises, on a copy, at the image's size."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.bundle import load_bundle
from engine.inspector import Inspector
from engine.overlay import DEFECT_BGR, render_overlay


@pytest.fixture()
def ng_case(tiny_bundle: Path):
    image = np.full((200, 200, 3), 90, np.uint8)
    cv2.circle(image, (120, 130), 25, (250, 250, 250), -1)
    return image, Inspector(load_bundle(tiny_bundle)).inspect(image)


def test_mask_mode_tints_defect_pixels_red_and_leaves_the_rest(ng_case) -> None:
    image, result = ng_case
    out = render_overlay(image, result, "mask", opacity=0.5, banner=False)
    assert out.shape == image.shape and out.dtype == np.uint8
    b, g, r = out[130, 120].astype(int)
    assert r > g + 50 and r > b + 50
    np.testing.assert_array_equal(out[190, 10], image[190, 10])
    np.testing.assert_array_equal(image[130, 120], [250, 250, 250])  # input untouched


def test_contours_are_drawn_on_the_region_boundary(ng_case) -> None:
    image, result = ng_case
    out = render_overlay(image, result, "contours", banner=False)
    boundary = result.regions[0].contour[0]
    assert tuple(out[boundary[1], boundary[0]]) == DEFECT_BGR
    np.testing.assert_array_equal(out[130, 120], image[130, 120])  # interior not filled


def test_heatmap_colours_the_hot_area(ng_case) -> None:
    image, result = ng_case
    out = render_overlay(image, result, "heatmap", opacity=0.8, banner=False)
    assert not np.array_equal(out[130, 120], image[130, 120])


def test_banner_shows_the_verdict_colour(ng_case) -> None:
    image, result = ng_case
    out = render_overlay(image, result, "none")
    np.testing.assert_array_equal(out, image)
    out = render_overlay(image, result, "mask")
    b, _, r = out[2, 2].astype(int)
    assert r > 150 and b < 80  # red NG bar


def test_unknown_mode_is_rejected(ng_case) -> None:
    image, result = ng_case
    with pytest.raises(ValueError, match="unknown overlay mode 'x-ray'"):
        render_overlay(image, result, "x-ray")
