"""Reading and converting images, with errors that name the file and the problem."""

from pathlib import Path

import cv2
import numpy as np


class ImageReadError(Exception):
    """An image file could not be read; `path` and `reason` say which and why."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


def read_image(path: Path | str) -> np.ndarray:
    """Read an image as stored (BGR/BGRA/grey, 8 or 16 bit), raising ImageReadError."""
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)  # fromfile + imdecode also handles non-ASCII paths
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except IsADirectoryError:
        raise ImageReadError(path, "is a folder, not an image file") from None
    except PermissionError:
        raise ImageReadError(path, "permission denied") from None
    except OSError as exc:
        raise ImageReadError(path, f"cannot read file ({exc.strerror or exc})") from None
    if data.size == 0:
        raise ImageReadError(path, "file is empty")
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        raise ImageReadError(path, "not a readable image (corrupt, truncated or unknown format)")
    return image


def to_bgr8(image: np.ndarray) -> np.ndarray:
    """Convert grey/BGR/BGRA images of 8 or 16 bit (or float in [0, 1]) to 3-channel uint8 BGR."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype in (np.float32, np.float64):
        image = (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ValueError(f"unsupported image dtype {image.dtype}")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    channels = image.shape[2]
    if channels == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2BGR)
    if channels == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if channels == 3:
        return image
    raise ValueError(f"unsupported channel count {channels}")


def write_image(path: Path | str, image: np.ndarray) -> None:
    """Write an image; the format follows the extension. Raises OSError naming the file."""
    path = Path(path)
    ok, encoded = cv2.imencode(path.suffix or ".png", image)
    if not ok:
        raise OSError(f"{path}: could not encode image as {path.suffix or '.png'}")
    encoded.tofile(path)
