"""Refusing images a bundle cannot judge, before any model runs.

A bundle's models only learned what parts look like in images like their training images. A
thumbnail, a crop or a greyscale camera on a colour model still gets a confident-looking
verdict, which means nothing; so the Inspector checks each image against the bundle's
`input_limits` (docs/bundle-format.md) and raises `CannotJudge` instead, for the station to
store as a "cannot judge" failure.
"""

import numpy as np

from engine.bundle import InputLimits

COARSE_STEP = 16  # pixel stride of the quick colour test that settles most colour images


class CannotJudge(ValueError):
    """The image is outside what the bundle was trained on: no verdict can be given.

    The message says what is wrong with the image and what the bundle accepts.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"cannot judge: {reason}")
        self.reason = reason


def is_greyscale(image: np.ndarray) -> bool:
    """True for a 1-channel image, and for BGR/BGRA whose three colour planes are identical
    (a grey camera saved as colour carries no colour either); alpha is not looked at.

    A sparse grid is compared first, so a colour image costs microseconds; only images grey
    on that grid are compared in full.
    """
    if image.ndim == 2 or image.shape[2] == 1:
        return True
    b, g, r = image[..., 0], image[..., 1], image[..., 2]
    for step in (COARSE_STEP, 1):
        grid = (slice(None, None, step), slice(None, None, step))
        if not (np.array_equal(b[grid], g[grid]) and np.array_equal(b[grid], r[grid])):
            return False
    return True


def check_judgeable(image: np.ndarray, limits: InputLimits | None) -> None:
    """Raise CannotJudge if `image` (as decoded: grey 2-D or HxWx1, BGR, BGRA; 8 or 16 bit)
    is outside `limits`; None (a bundle without `input_limits`) accepts every image."""
    if limits is None:
        return
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise CannotJudge(f"image array of shape {image.shape} is not grey, BGR or BGRA")
    _check_size(image.shape[1], image.shape[0], limits)
    if limits.colour is not None:
        _check_colour(is_greyscale(image), limits.colour)


def _check_size(width: int, height: int, limits: InputLimits) -> None:
    trained = f", trained on {limits.trained_size} px" if limits.trained_size else ""
    if width < limits.min_width or height < limits.min_height:
        raise CannotJudge(
            f"image {width}×{height} px is smaller than this bundle accepts "
            f"(at least {limits.min_width}×{limits.min_height} px{trained})"
        )
    if width > limits.max_width or height > limits.max_height:
        raise CannotJudge(
            f"image {width}×{height} px is larger than this bundle accepts "
            f"(at most {limits.max_width}×{limits.max_height} px{trained})"
        )


def _check_colour(grey: bool, trained_on_colour: bool) -> None:
    if grey and trained_on_colour:
        raise CannotJudge("greyscale image, this bundle was trained on colour images")
    if not grey and not trained_on_colour:
        raise CannotJudge("colour image, this bundle was trained on greyscale images")
