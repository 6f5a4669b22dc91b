"""Bad input found when the station was tried with it (issue 13): each fixture makes the file.

10: corrupt JPEGs that libjpeg "recovers"; 11: EXIF orientation; 13: 12-bit data in 16-bit
PNGs and float TIFFs, converted by their real range; 18: a pixel limit on reading, and
post-processing at a bounded working resolution for large images.
"""

import dataclasses
import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

import engine.imageio
from engine.bundle import load_bundle
from engine.imageio import (
    DEFAULT_MAX_PIXELS,
    DecodedImage,
    ImageReadError,
    read_image,
    to_bgr8,
)
from engine.inspector import WORKING_SIDE, Inspector, decide, working_size
from engine.overlay import DEFECT_BGR, render_overlay
from engine.result import Verdict


def _part(height: int = 240, width: int = 320) -> np.ndarray:
    """A smooth part-like image (gradient, a disc, some texture): JPEG keeps it close."""
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([60 + x * 100 // width, 80 + y * 90 // height, 120 + 0 * x], -1)
    image = image.astype(np.uint8)
    cv2.circle(image, (width // 3, height // 2), min(height, width) // 5, (200, 180, 40), -1)
    return image


def _jpeg(image: np.ndarray, *params: int) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92, *params])
    assert ok
    return encoded.tobytes()


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _encode(ext: str, image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(ext, image)
    assert ok
    return encoded.tobytes()


# --- 10: corrupt JPEG data -------------------------------------------------------------------


def test_truncated_jpeg_is_refused(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    data = _jpeg(_part())
    path = _write(tmp_path, "cut.jpg", data[: len(data) * 2 // 3])
    with pytest.raises(ImageReadError, match=r"cut.jpg: truncated JPEG \(no end-of-image"):
        read_image(path)


def test_overwritten_entropy_data_is_refused_with_libjpegs_message(
    tmp_path: Path, capfd: pytest.CaptureFixture
) -> None:
    data = bytearray(_jpeg(_part()))
    middle = len(data) // 2
    data[middle : middle + 200] = b"\x55" * 200  # damaged sectors in the scan data
    path = _write(tmp_path, "damaged.jpg", bytes(data))
    with pytest.raises(ImageReadError) as caught:
        read_image(path)
    assert caught.value.reason.startswith("corrupt JPEG data (Corrupt JPEG data: ")
    assert "Corrupt JPEG data" not in capfd.readouterr().err  # attributed, not left on stderr


@pytest.mark.parametrize(
    ("params", "grey", "tail"),
    [
        ((), False, b""),
        ((cv2.IMWRITE_JPEG_PROGRESSIVE, 1), False, b""),
        ((cv2.IMWRITE_JPEG_RST_INTERVAL, 4, cv2.IMWRITE_JPEG_OPTIMIZE, 1), False, b""),
        ((), True, b""),
        ((), False, b"\x00" * 64),  # padding after the end marker, as some cameras write
    ],
    ids=["baseline", "progressive", "restarts", "grey", "padded"],
)
def test_sound_jpegs_raise_no_alarm(
    tmp_path: Path, capfd: pytest.CaptureFixture, params: tuple, grey: bool, tail: bytes
) -> None:
    image = cv2.cvtColor(_part(), cv2.COLOR_BGR2GRAY) if grey else _part()
    path = _write(tmp_path, "sound.jpg", _jpeg(image, *params) + tail)
    decoded = read_image(path)
    assert decoded.shape == image.shape
    assert np.abs(decoded.astype(int) - image).mean() < 3
    assert capfd.readouterr().err == ""


def test_other_output_on_stderr_during_a_jpeg_decode_is_passed_on(
    tmp_path: Path, capfd: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    decode = engine.imageio._decode

    def decode_while_someone_prints(path: Path, data: bytes) -> np.ndarray | None:
        os.write(2, b"another library's line\n")
        return decode(path, data)

    monkeypatch.setattr(engine.imageio, "_decode", decode_while_someone_prints)
    read_image(_write(tmp_path, "sound.jpg", _jpeg(_part())))
    assert capfd.readouterr().err == "another library's line\n"


# --- 11: EXIF orientation --------------------------------------------------------------------


def _exif_app1(orientation: int) -> bytes:
    """An APP1 segment with a minimal big-endian TIFF: one IFD entry, 0x0112 Orientation."""
    entry = struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)  # SHORT, count 1, padded
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1) + entry + b"\0" * 4
    body = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def test_exif_orientation_6_is_applied(tmp_path: Path) -> None:
    original = _part()
    data = _jpeg(original)
    path = _write(tmp_path, "turned.jpg", data[:2] + _exif_app1(6) + data[2:])
    decoded = read_image(path)
    expected = cv2.rotate(original, cv2.ROTATE_90_CLOCKWISE)
    assert decoded.shape == expected.shape == (320, 240, 3)
    difference = np.abs(decoded.astype(int) - expected)
    assert difference.mean() < 3 and np.percentile(difference, 99) < 25


@pytest.mark.parametrize(
    ("ext", "image", "expected"),
    [
        (".png", np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000, None),
        (".png", np.arange(12, dtype=np.uint8).reshape(3, 4) * 20, None),
        (".png", np.full((3, 4, 4), (10, 20, 30, 0), np.uint8), np.full((3, 4, 3), (10, 20, 30))),
        (".tiff", np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4), None),
    ],
    ids=["png16-grey", "png8-grey", "bgra-alpha-dropped", "float-tiff"],
)
def test_depths_and_channels_read_as_documented(
    tmp_path: Path, ext: str, image: np.ndarray, expected: np.ndarray | None
) -> None:
    decoded = read_image(_write(tmp_path, f"kind{ext}", _encode(ext, image)))
    expected = image if expected is None else expected.astype(image.dtype)
    assert decoded.dtype == expected.dtype
    np.testing.assert_array_equal(decoded, expected)


# --- 13: 16-bit and float by their real range -------------------------------------------------


def _png_with_chunk(png: bytes, name: bytes, body: bytes) -> bytes:
    """`png` with a chunk inserted right after IHDR (where sBIT belongs)."""
    chunk = struct.pack(">I", len(body)) + name + body + struct.pack(">I", zlib.crc32(name + body))
    after_ihdr = 8 + 8 + 13 + 4
    return png[:after_ihdr] + chunk + png[after_ihdr:]


def test_twelve_bit_data_in_a_16_bit_png_converts_by_its_range(tmp_path: Path) -> None:
    mid_grey = np.full((8, 8, 3), 2048, np.uint16)  # 12-bit mid grey, no sBIT chunk
    image = read_image(_write(tmp_path, "twelve.png", _encode(".png", mid_grey)))
    assert np.all(np.abs(to_bgr8(image).astype(int) - 128) <= 1)


def test_png_sbit_decides_the_range_of_a_dark_image(tmp_path: Path) -> None:
    dark = np.full((8, 8), 800, np.uint16)  # 12-bit, dark: on its own it would look 10-bit
    png = _png_with_chunk(_encode(".png", dark), b"sBIT", bytes([12]))
    image = read_image(_write(tmp_path, "dark.png", png))
    assert isinstance(image, DecodedImage) and image.significant_bits == 12
    assert np.all(to_bgr8(image) == round(800 * 255 / 4095))
    assert np.all(to_bgr8(image[2:6, 2:6]) == round(800 * 255 / 4095))  # crops keep it


def test_png_sbit_with_samples_scaled_to_16_bits_as_the_standard_asks(tmp_path: Path) -> None:
    scaled = np.full((8, 8), 2048 << 4, np.uint16)  # 12-bit mid grey, shifted up by the writer
    png = _png_with_chunk(_encode(".png", scaled), b"sBIT", bytes([12]))
    assert np.all(
        np.abs(to_bgr8(read_image(_write(tmp_path, "s.png", png))).astype(int) - 128) <= 1
    )


def test_full_range_16_bit_converts_as_before() -> None:
    exact = np.arange(256, dtype=np.uint16).reshape(16, 16) * 257
    np.testing.assert_array_equal(to_bgr8(exact)[..., 0], np.arange(256).reshape(16, 16))
    noisy = np.random.default_rng(0).integers(0, 65536, (64, 64), dtype=np.uint16)
    noisy[0, 0] = 65535
    assert np.abs(to_bgr8(noisy)[..., 0].astype(int) - (noisy >> 8)).max() <= 1


def test_float_tiffs_in_0_255_and_0_1_give_the_same_image(tmp_path: Path) -> None:
    original = _part()
    as_255 = read_image(
        _write(tmp_path, "f255.tiff", _encode(".tiff", original.astype(np.float32)))
    )
    as_one = read_image(_write(tmp_path, "f1.tiff", _encode(".tiff", original / np.float32(255))))
    np.testing.assert_array_equal(to_bgr8(as_255), original)
    np.testing.assert_array_equal(to_bgr8(as_one), original)


@pytest.mark.parametrize(
    ("low", "high", "reason"),
    [
        (
            -0.5,
            0.5,
            r"float image values span \[-0.5, 0.5\]; expected within \[0, 1\] or \[0, 255\]",
        ),
        (10.0, 4095.0, r"float image values span \[10, 4095\]"),
        (0.0, np.nan, r"float image holds NaN"),
    ],
)
def test_float_images_out_of_range_are_refused(
    tmp_path: Path, low: float, high: float, reason: str
) -> None:
    image = np.full((4, 4), low, np.float32)
    image[0, 0] = high
    path = _write(tmp_path, "odd.tiff", _encode(".tiff", image))
    with pytest.raises(ImageReadError, match=rf"odd.tiff: {reason}"):
        read_image(path)
    with pytest.raises(ValueError, match=reason):
        to_bgr8(image)


# --- 18: pixel limit and working resolution ---------------------------------------------------


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".tiff"])
def test_pixel_limit_refuses_from_the_header_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ext: str
) -> None:
    path = _write(tmp_path, f"big{ext}", _encode(ext, _part(40, 60)))

    def no_decoding(*args: object) -> None:
        raise AssertionError("decoded although the header was over the limit")

    monkeypatch.setattr(engine.imageio.cv2, "imdecode", no_decoding)
    with pytest.raises(ImageReadError, match=r"image is 60x40 \(0.0 megapixels\), above the limit"):
        read_image(path, max_pixels=2000)


def test_pixel_limit_without_a_parsed_header_applies_after_decoding(tmp_path: Path) -> None:
    path = _write(tmp_path, "big.webp", _encode(".webp", _part(40, 60)))
    with pytest.raises(ImageReadError, match=r"big.webp: image is 60x40"):
        read_image(path, max_pixels=2000)
    assert read_image(path, max_pixels=2400).shape == (40, 60, 3)


def test_default_limit_refuses_a_12000_px_square_header(tmp_path: Path) -> None:
    png = bytearray(_encode(".png", _part(8, 8)))
    png[16:24] = struct.pack(">II", 12000, 12000)  # IHDR width, height: 144 MP announced
    path = _write(tmp_path, "huge.png", bytes(png))
    limit = f"{DEFAULT_MAX_PIXELS / 1e6:.1f} megapixels"
    with pytest.raises(ImageReadError, match=rf"12000x12000 \(144.0 megapixels\).*{limit}"):
        read_image(path)


def test_pixel_limit_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, "part.png", _encode(".png", _part(40, 60)))
    monkeypatch.setenv("STATION_MAX_PIXELS", "2000")
    with pytest.raises(ImageReadError, match=r"limit of 0.0 megapixels"):
        read_image(path)
    assert read_image(path, max_pixels=2400).shape == (40, 60, 3)  # the argument wins
    monkeypatch.setenv("STATION_MAX_PIXELS", "lots")
    with pytest.raises(ValueError, match=r"STATION_MAX_PIXELS='lots'"):
        read_image(path)


def test_working_size_bounds_the_long_side() -> None:
    assert working_size(700, 700) == (700, 700)
    assert working_size(WORKING_SIDE, 100) == (WORKING_SIDE, 100)
    assert working_size(12000, 12000) == (WORKING_SIDE, WORKING_SIDE)
    assert working_size(2400, 3000) == (1638, WORKING_SIDE)


@pytest.fixture()
def large_case(tiny_bundle: Path) -> tuple[np.ndarray, Inspector]:
    """A 2400x3000 part with one bright defect of radius 300 px centred at (1000, 1200)."""
    image = np.full((2400, 3000, 3), 90, np.uint8)
    cv2.circle(image, (1000, 1200), 300, (250, 250, 250), -1)
    return image, Inspector(load_bundle(tiny_bundle))


def test_large_image_planes_stay_at_the_working_resolution(large_case) -> None:
    image, inspector = large_case
    result = inspector.inspect(image)
    plane_shape = working_size(2400, 3000)
    for plane in (result.probability, result.mask, result.anomaly_map, result.heat):
        assert plane.shape == plane_shape
    assert result.image_shape == (2400, 3000) and result.verdict == Verdict.NG


def test_large_image_regions_are_in_image_pixels(large_case) -> None:
    image, inspector = large_case
    small = inspector.inspect(image)
    full = inspector.inspect(image, full_resolution=True)
    assert full.probability.shape == (2400, 3000)
    for working, exact in zip(small.regions, full.regions, strict=True):
        assert working.source == exact.source
        assert np.abs(np.subtract(working.bbox, exact.bbox)).max() <= 3
        assert working.area_px == pytest.approx(exact.area_px, rel=0.01)
        assert working.contour[:, 0].max() < 3000 and working.contour[:, 1].max() < 2400
    x, y, w, h = small.regions[0].bbox
    model_pixel = 3000 / 32  # the tiny models see 32x32: a region is placed to about that
    assert abs(x + w / 2 - 1000) < model_pixel and abs(y + h / 2 - 1200) < model_pixel


def test_min_area_counts_image_pixels_at_the_working_resolution(large_case) -> None:
    image, inspector = large_case
    result = inspector.inspect(image)
    area = next(r.area_px for r in result.regions if r.source == "segmentation")
    for limit, kept in ((int(area * 0.98), 1), (int(area * 1.02), 0)):
        thresholds = dataclasses.replace(inspector.thresholds, min_defect_area_px=limit)
        regions = decide(result, thresholds).regions
        assert sum(r.source == "segmentation" for r in regions) == kept


def test_overlay_of_a_large_image_has_its_size_and_marks_the_defect(large_case) -> None:
    image, inspector = large_case
    result = inspector.inspect(image)
    for mode in ("mask", "heatmap", "contours"):
        out = render_overlay(image, result, mode, opacity=0.5, banner=False)
        assert out.shape == image.shape and out.dtype == np.uint8
    out = render_overlay(image, result, "mask", opacity=0.5, banner=False)
    b, g, r = out[1200, 1000].astype(int)
    assert r > g + 50 and r > b + 50
    np.testing.assert_array_equal(out[2300, 2900], image[2300, 2900])
    seg = next(r for r in result.regions if r.source == "segmentation")
    out = render_overlay(image, result, "contours", banner=False)
    x, y = seg.contour[0]
    assert tuple(out[y, x]) == DEFECT_BGR
