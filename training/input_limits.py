"""The `input_limits` a trained bundle records, measured on its training images.

The station refuses images unlike any the models learned from (docs/bundle-format.md); this
module decides, once at training time, what "unlike" means. The size margin, half the smallest
to twice the largest training image, is deliberately loose: it refuses thumbnails, crops and a
different camera set-up, not the usual variation of one station. Colour is kept as trained:
a colour model refuses greyscale images, a greyscale model colour ones.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.bundle import InputLimits
from engine.imageio import read_image
from engine.input_limits import is_greyscale

SIZE_TOLERANCE = (0.5, 2.0)  # accepted sizes, as factors of the smallest and largest trained


@dataclass(frozen=True)
class ImageKind:
    """What the limits depend on in one training image."""

    width: int
    height: int
    colour: bool


def image_kind(path: Path) -> ImageKind:
    """Decode `path` as the station does and measure it (raises ImageReadError)."""
    image = read_image(path)
    return ImageKind(width=image.shape[1], height=image.shape[0], colour=not is_greyscale(image))


def limits_for(kinds: Sequence[ImageKind]) -> InputLimits:
    """Limits accepting what `kinds` span, widened by SIZE_TOLERANCE; colour is required when
    every training image is colour, greyscale when none is, and either when they are mixed."""
    if not kinds:
        raise ValueError("input limits need at least one training image")
    low, high = SIZE_TOLERANCE
    widths, heights = [k.width for k in kinds], [k.height for k in kinds]
    colours = {k.colour for k in kinds}
    smallest, largest = f"{min(widths)}×{min(heights)}", f"{max(widths)}×{max(heights)}"
    return InputLimits(
        min_width=max(1, math.floor(min(widths) * low)),
        min_height=max(1, math.floor(min(heights) * low)),
        max_width=math.ceil(max(widths) * high),
        max_height=math.ceil(max(heights) * high),
        colour=colours.pop() if len(colours) == 1 else None,
        trained_size=smallest if smallest == largest else f"{smallest} to {largest}",
    )


def limits_from_images(paths: Iterable[Path]) -> InputLimits:
    """The limits for a bundle trained on the images at `paths`."""
    return limits_for([image_kind(p) for p in paths])
