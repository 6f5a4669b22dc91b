"""Reading and converting images, with errors that name the file and the problem.

docs/images.md says what the station reads and how it converts it; in short:
- read_image decodes as stored (8/16-bit, float; grey or colour; alpha dropped), turned as its
  EXIF orientation says, and refuses images above a pixel limit, JPEGs that libjpeg had to
  patch up (truncated or corrupt data) and float images outside [0, 1] or [0, 255];
- to_bgr8 is the one conversion to the models' 3-channel uint8, by the image's real range:
  16-bit by its significant bits (PNG sBIT, else inferred), float by its scale.
"""

import contextlib
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from engine.imageheaders import jpeg_is_complete, parse_header

MAX_PIXELS_ENV = "STATION_MAX_PIXELS"
# 50 MP holds the largest common machine-vision sensors (45-50 MP, e.g. 8192x5460) and keeps
# one image's decode + inspection + overlay under about 1 GB (bench/bench_large_image.py).
DEFAULT_MAX_PIXELS = 50_000_000
# Keep 16-bit and float depths and grey, and let OpenCV apply the EXIF orientation, which it
# skips for IMREAD_UNCHANGED. The price: a 4th (alpha) channel is dropped, which the
# conversion to BGR for the models always ignored anyway.
READ_FLAGS = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR
INFERRED_BITS = (10, 12, 14, 16)  # camera depths a 16-bit sample without sBIT may hold
# libjpeg-turbo's warnings (JWRN_* in its jerror.h, as OpenCV's bundled build prints them):
# each means it met bad data and made pixels up. Only the first warning of an image is printed.
_LIBJPEG_WARNING = re.compile(
    r"Corrupt JPEG data: .+|Premature end of JPEG file|Invalid SOS parameters for sequential JPEG"
    r"|Inconsistent progression sequence for component \d+ coefficient \d+"
    r"|Unknown Adobe color transform code \d+|Application transferred too many scanlines"
    r"|Warning: unknown JFIF revision number \d+\.\d+"
    r"|Warning: thumbnail image size does not match data length \d+"
)
_STDERR_LOCK = threading.Lock()  # one capture of fd 2 at a time: captures must not nest


class ImageReadError(Exception):
    """An image file could not be read; `path` and `reason` say which and why."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


class DecodedImage(np.ndarray):
    """A decoded 16-bit image that also carries its file's declared significant bits.

    OpenCV drops the PNG sBIT chunk, so read_image attaches it here for to_bgr8; arrays numpy
    derives from it (crops, copies) keep it, OpenCV's results do not (to_bgr8 then infers the
    bits). Everything else in the engine treats this as a plain ndarray.
    """

    significant_bits: int | None = None

    def __array_finalize__(self, obj: np.ndarray | None) -> None:
        self.significant_bits = getattr(obj, "significant_bits", None)


def max_pixels_setting() -> int:
    """The pixel limit: $STATION_MAX_PIXELS if set, else DEFAULT_MAX_PIXELS.

    Read on every call, so a service's environment (or a test) sets it without a restart.
    """
    text = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_PIXELS
    if not text.isdigit() or int(text) == 0:
        raise ValueError(f"{MAX_PIXELS_ENV}={text!r}: expected a positive whole number of pixels")
    return int(text)


def read_image(path: Path | str, *, max_pixels: int | None = None) -> np.ndarray:
    """Read an image (grey or BGR; 8 or 16 bit, or float), raising ImageReadError.

    The image is turned as its EXIF orientation says. `max_pixels` (default
    max_pixels_setting()) bounds width x height; it is checked on the header before decoding
    for PNG, JPEG, BMP and TIFF, and after decoding for other formats.
    """
    path = Path(path)
    limit = max_pixels_setting() if max_pixels is None else max_pixels
    data = _read_bytes(path)
    header = parse_header(data)
    if header.size:
        _check_pixels(path, *header.size, limit)
    image = _decode_jpeg(path, data) if header.kind == "jpeg" else _decode(path, data)
    if image is None or image.size == 0:
        raise ImageReadError(path, "not a readable image (corrupt, truncated or unknown format)")
    _check_pixels(path, image.shape[1], image.shape[0], limit)
    if image.dtype.kind == "f" and (problem := float_range_problem(image)):
        raise ImageReadError(path, problem)
    if header.significant_bits and image.dtype == np.uint16:
        image = image.view(DecodedImage)
        image.significant_bits = header.significant_bits
    return image


def to_bgr8(image: np.ndarray) -> np.ndarray:
    """Convert grey/BGR/BGRA images of 8 or 16 bit, or float, to 3-channel uint8 BGR.

    The one conversion for the models, the overlays and training, so all see the same pixels.
    16-bit is scaled by its significant bits (see significant_bits); float within [0, 1] is
    multiplied by 255, float within [0, 255] taken as is; other floats raise ValueError.
    """
    if image.dtype == np.uint16:
        bits = significant_bits(image)
        image = cv2.convertScaleAbs(np.asarray(image), alpha=255.0 / (2**bits - 1))
    elif image.dtype.kind == "f":
        if problem := float_range_problem(image):
            raise ValueError(problem)
        gain = 255.0 if float(image.max(initial=0.0)) <= 1.0 else 1.0
        image = cv2.convertScaleAbs(image, alpha=gain)  # rounds; all values are >= 0 here
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
        return np.asarray(image)
    raise ValueError(f"unsupported channel count {channels}")


def significant_bits(image: np.ndarray) -> int:
    """How many bits of a 16-bit image's samples carry data.

    A 12-bit camera stores 0..4095 in 16-bit samples; shifting by 8 bits made such a part
    nearly black. The file's sBIT is used when the samples fit in it; samples above it mean
    the writer scaled them to the full 16 bits as the PNG standard asks. Without sBIT it is
    the smallest of 10, 12, 14 and 16 bits that holds the brightest sample (so a very dark
    16-bit image comes out brighter than stored).
    """
    colour = image[..., :3] if image.ndim == 3 and image.shape[2] == 4 else image  # not alpha
    brightest = int(colour.max(initial=0))
    declared = getattr(image, "significant_bits", None)
    if declared:
        return declared if brightest < 2**declared else 16
    return next(bits for bits in INFERRED_BITS if brightest < 2**bits)


def float_range_problem(image: np.ndarray) -> str | None:
    """Why a float image has no known scale (NaN, negative or above 255), or None if it has."""
    if image.size == 0:
        return None
    low, high = float(image.min()), float(image.max())
    if not (np.isfinite(low) and np.isfinite(high)):
        return "float image holds NaN or infinite values"
    if low < 0.0 or high > 255.0:
        return (
            f"float image values span [{low:.6g}, {high:.6g}]; expected within [0, 1] or [0, 255]"
        )
    return None


def write_image(path: Path | str, image: np.ndarray) -> None:
    """Write an image; the format follows the extension. Raises OSError naming the file."""
    path = Path(path)
    ok, encoded = cv2.imencode(path.suffix or ".png", image)
    if not ok:
        raise OSError(f"{path}: could not encode image as {path.suffix or '.png'}")
    encoded.tofile(path)


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()  # bytes + imdecode also handle non-ASCII paths on Windows
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except IsADirectoryError:
        raise ImageReadError(path, "is a folder, not an image file") from None
    except PermissionError:
        raise ImageReadError(path, "permission denied") from None
    except OSError as exc:
        raise ImageReadError(path, f"cannot read file ({exc.strerror or exc})") from None
    if not data:
        raise ImageReadError(path, "file is empty")
    return data


def _check_pixels(path: Path, width: int, height: int, limit: int) -> None:
    if width * height > limit:
        raise ImageReadError(
            path,
            f"image is {width}x{height} ({width * height / 1e6:.1f} megapixels), above the "
            f"limit of {limit / 1e6:.1f} megapixels (read_image max_pixels, ${MAX_PIXELS_ENV})",
        )


def _decode(path: Path, data: bytes) -> np.ndarray | None:
    try:
        return cv2.imdecode(np.frombuffer(data, np.uint8), READ_FLAGS)
    except cv2.error as exc:  # OpenCV's own checks (its size limits, bad headers) raise
        raise ImageReadError(path, f"not a readable image (OpenCV: {exc.err})") from None


def _decode_jpeg(path: Path, data: bytes) -> np.ndarray | None:
    """Decode a JPEG, refusing one that libjpeg decoded only by inventing pixels.

    libjpeg-turbo "recovers" from a cut-off file or damaged entropy data (grey or smeared
    blocks) and says so only as a line on stderr, which OpenCV neither hooks nor reports. So
    the end marker is checked first, and stderr is captured around the decode.
    """
    if not jpeg_is_complete(data):
        raise ImageReadError(path, "truncated JPEG (no end-of-image marker after the image data)")
    image, stderr_text = _with_captured_stderr(lambda: _decode(path, data))
    warnings = []
    for line in stderr_text.splitlines(keepends=True):
        if _LIBJPEG_WARNING.fullmatch(line.strip()):
            warnings.append(line.strip())
        else:
            _write_stderr(line)  # someone else's output (another thread, OpenCV's log)
    if warnings:
        raise ImageReadError(path, f"corrupt JPEG data ({warnings[0]})")
    return image


def _with_captured_stderr(
    decode: Callable[[], np.ndarray | None],
) -> tuple[np.ndarray | None, str]:
    """Run `decode` with file descriptor 2 sent to a temporary file; (result, text written).

    libjpeg prints with fprintf(stderr), below Python, so sys.stderr cannot catch it: the
    descriptor itself is swapped, under a lock, and restored in `finally`. Where fd 2 is not
    open (a windowed app without a console) there is nothing to capture and nothing printed.
    """
    with _STDERR_LOCK, tempfile.TemporaryFile() as sink:
        if sys.stderr is not None:
            sys.stderr.flush()  # Python's pending text goes out before the swap, in order
        try:
            saved = os.dup(2)
        except OSError:
            return decode(), ""
        try:
            os.dup2(sink.fileno(), 2)
            result = decode()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        sink.seek(0)
        return result, sink.read().decode(errors="replace")


def _write_stderr(text: str) -> None:
    with contextlib.suppress(OSError):  # fd 2 closed: the text had nowhere to go anyway
        os.write(2, text.encode(errors="replace"))
