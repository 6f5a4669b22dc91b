"""Turning an image into a model's input tensor exactly as the bundle manifest says.

Training uses this same function for its evaluation and export checks, so the station and
training never disagree on preprocessing.
"""

import cv2
import numpy as np

from engine.bundle import InputSpec
from engine.imageio import to_bgr8


def resize_stretch(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """The bundle's "stretch" policy: area averaging when shrinking, bilinear when enlarging."""
    shrinking = width * height < image.shape[0] * image.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interpolation)


def to_model_input(image: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Any engine image (grey/BGR/BGRA; 8/16 bit or float) -> float32 [1, 3, H, W]."""
    resized = resize_stretch(to_bgr8(image), spec.width, spec.height)
    if spec.color_order == "RGB":
        resized = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
    std = np.asarray(spec.std, np.float32)
    gain = np.float32(spec.scale) / std
    offset = np.asarray(spec.mean, np.float32) / std
    tensor = resized.astype(np.float32) * gain - offset
    return np.ascontiguousarray(tensor.transpose(2, 0, 1)[None])
