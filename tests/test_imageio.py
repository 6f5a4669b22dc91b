"""Image reading: each kind of bad file gives ImageReadError naming the file and the reason."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.imageheaders import Header, parse_header
from engine.imageio import ImageReadError, read_image, to_bgr8, write_image


def test_round_trip_keeps_pixels_and_handles_non_ascii_names(tmp_path: Path) -> None:
    image = np.random.default_rng(0).integers(0, 255, (20, 30, 3), dtype=np.uint8)
    path = tmp_path / "écrou n°1.png"
    write_image(path, image)
    np.testing.assert_array_equal(read_image(path), image)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "file is empty"),
        (b"this is a text file", "not a readable image"),
    ],
)
def test_bad_files(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(ImageReadError, match=rf"bad.png: {reason}"):
        read_image(path)


def test_truncated_png(tmp_path: Path) -> None:
    path = tmp_path / "cut.png"
    cv2.imwrite(str(path), np.full((64, 64, 3), 128, np.uint8))
    path.write_bytes(path.read_bytes()[:60])
    with pytest.raises(ImageReadError, match=r"cut.png: not a readable image"):
        read_image(path)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match=r"file not found"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(ImageReadError, match=r"is a folder"):
        read_image(tmp_path)


def test_to_bgr8_converts_depths_and_channels() -> None:
    deep = np.full((4, 4), 65535, np.uint16)
    assert to_bgr8(deep).shape == (4, 4, 3) and to_bgr8(deep).max() == 255
    rgba = np.zeros((4, 4, 4), np.uint8)
    assert to_bgr8(rgba).shape == (4, 4, 3)
    with pytest.raises(ValueError, match=r"unsupported channel count 2"):
        to_bgr8(np.zeros((4, 4, 2), np.uint8))


@pytest.mark.parametrize(
    ("ext", "kind", "image"),
    [
        (".png", "png", np.zeros((30, 40, 3), np.uint8)),
        (".png", "png", np.zeros((30, 40), np.uint16)),
        (".jpg", "jpeg", np.zeros((30, 40, 3), np.uint8)),
        (".jpg", "jpeg", np.zeros((30, 40), np.uint8)),
        (".bmp", "bmp", np.zeros((30, 40, 3), np.uint8)),
        (".tiff", "tiff", np.zeros((30, 40), np.float32)),
    ],
)
def test_headers_give_format_and_size_without_decoding(
    ext: str, kind: str, image: np.ndarray
) -> None:
    ok, encoded = cv2.imencode(ext, image)
    assert ok
    header = parse_header(encoded.tobytes())
    assert (header.kind, header.size, header.significant_bits) == (kind, (40, 30), None)


def test_unknown_or_cut_headers_give_no_size() -> None:
    _, webp = cv2.imencode(".webp", np.zeros((30, 40, 3), np.uint8))
    assert parse_header(webp.tobytes()) == Header("")
    _, png = cv2.imencode(".png", np.zeros((30, 40), np.uint8))
    assert parse_header(png.tobytes()[:20]) == Header("png")
    assert parse_header(b"\xff\xd8\xff\xe0\x00") == Header("jpeg")
    assert parse_header(b"BM\x00") == Header("bmp")


def test_plain_files_read_as_plain_arrays(tmp_path: Path) -> None:
    path = tmp_path / "deep.png"
    write_image(path, np.full((4, 4), 4095, np.uint16))
    assert type(read_image(path)) is np.ndarray  # DecodedImage only carries a PNG's sBIT
