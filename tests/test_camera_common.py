"""What both camera backends share, without a camera: settings and their checks, the spec
syntax, pixel-format conversion and the sources' classification of camera specs."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine.cameras.common import (
    CameraSettings,
    CameraSetup,
    PixelFormatError,
    frames_skipped,
    setup_problems,
    to_engine_image,
)
from engine.cameras.spec import CameraSpec, CameraSpecError, parse_camera_spec
from engine.sources import SourceError, classify, open_source, source_key


def test_settings_need_a_serial_or_user_id_and_known_values():
    with pytest.raises(ValueError, match="serial number or user id"):
        CameraSettings()
    with pytest.raises(ValueError, match="trigger"):
        CameraSetup(trigger="line5")
    with pytest.raises(ValueError, match="activation"):
        CameraSetup(trigger="line1", activation="both")
    with pytest.raises(ValueError, match="roi"):
        CameraSetup(roi=(0, 0, 0, 10))
    with pytest.raises(ValueError, match="binning"):
        CameraSetup(binning=0)
    assert CameraSetup(roi=[1, 2, 3, 4]).roi == (1, 2, 3, 4)


def test_setup_problems_name_every_bad_field():
    problems = dict(setup_problems({"exposure_us": "fast", "gain_db": True, "speed": 1}))
    assert set(problems) == {"exposure_us", "gain_db", "speed"}
    assert "unknown field" in problems["speed"]


@pytest.mark.parametrize(
    ("trigger", "software", "used"),
    [
        ("free", True, "software"),
        ("line1", True, "software"),  # the station's software trigger fires the camera
        ("line1", False, "line1"),  # a light barrier on Line1: hardware trigger
        ("software", False, "free"),  # nothing would fire it: free run
        ("free", False, "free"),
    ],
)
def test_the_station_mode_decides_software_against_the_recipes_line(trigger, software, used):
    assert CameraSetup(trigger=trigger).for_station(software).trigger == used


def test_setup_table_holds_only_what_is_set():
    setup = CameraSetup(exposure_us=2000, roi=(0, 0, 64, 48), trigger="line2")
    assert setup.table() == {"exposure_us": 2000, "roi": [0, 0, 64, 48], "trigger": "line2"}
    assert CameraSetup(**setup.table()) == setup
    assert CameraSetup().table() == {}


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("pylon:40123456", CameraSpec("pylon", serial="40123456")),
        ("pylon:user=top-cam", CameraSpec("pylon", user_id="top-cam")),
        ("genicam:21A@/opt/p.cti", CameraSpec("genicam", serial="21A", producer="/opt/p.cti")),
        ("genicam:user=left@/x/y.cti", CameraSpec("genicam", user_id="left", producer="/x/y.cti")),
        ("GenICam:7", CameraSpec("genicam", serial="7")),
    ],
)
def test_camera_specs_parse_and_print_back(text, spec):
    assert parse_camera_spec(text) == spec
    assert parse_camera_spec(str(spec)) == spec
    assert classify(text) == "camera"
    assert source_key(text) == text  # a camera's store key is its spec, as OpenCV cameras'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pylon:", "serial number or user id"),
        ("pylon:user=", "serial number or user id"),
        ("pylon:1@/x.cti", "only genicam"),
        ("genicam:1@", "no producer"),
    ],
)
def test_a_bad_camera_spec_says_how_to_write_it(text, message):
    with pytest.raises(CameraSpecError, match=message):
        parse_camera_spec(text)
    with pytest.raises(SourceError, match=message):  # open_source names it the same way
        open_source(text)


def test_files_are_not_camera_specs(tmp_path):
    assert classify(tmp_path) == "folder"
    assert classify("pylon.png") == "image"
    assert classify("0") == "camera"


def _mosaic_rggb(bgr: np.ndarray) -> np.ndarray:
    """A PFNC BayerRG (R G / G B) sensor's raw image of `bgr`."""
    raw = np.zeros(bgr.shape[:2], bgr.dtype)
    raw[0::2, 0::2] = bgr[0::2, 0::2, 2]
    raw[0::2, 1::2] = bgr[0::2, 1::2, 1]
    raw[1::2, 0::2] = bgr[1::2, 0::2, 1]
    raw[1::2, 1::2] = bgr[1::2, 1::2, 0]
    return raw


@pytest.mark.parametrize(("bits", "dtype"), [(8, np.uint8), (12, np.uint16)])
def test_bayer_rg_of_a_red_part_is_red_in_bgr(bits, dtype):
    bgr = np.zeros((8, 10, 3), dtype)
    bgr[..., 2] = 2**bits - 1  # all red
    image = to_engine_image(_mosaic_rggb(bgr).ravel(), f"BayerRG{bits}", 10, 8)
    assert image.shape == (8, 10, 3) and image.dtype == dtype
    inner = image[2:-2, 2:-2]
    assert (inner[..., 2] == 2**bits - 1).all() and not inner[..., :2].any()


@pytest.mark.parametrize(
    ("pattern", "code"),
    [("GR", cv2.COLOR_BayerGB2BGR), ("BG", cv2.COLOR_BayerRG2BGR), ("GB", cv2.COLOR_BayerGR2BGR)],
)
def test_every_bayer_pattern_demosaics(pattern, code):
    raw = np.arange(48, dtype=np.uint8).reshape(6, 8)
    image = to_engine_image(raw.ravel(), f"Bayer{pattern}8", 8, 6)
    assert np.array_equal(image, cv2.cvtColor(raw, code))


def test_mono_formats_keep_the_cameras_values():
    mono8 = to_engine_image(np.arange(12, dtype=np.uint8), "Mono8", 4, 3)
    assert mono8.shape == (3, 4) and mono8.dtype == np.uint8 and mono8[2, 3] == 11
    samples = np.array([0, 1023, 4095, 7], np.uint16)
    for name in ("Mono10", "Mono12", "Mono16", "Mono12p"):  # unpacked by the SDK
        image = to_engine_image(samples, name, 2, 2)
        assert image.dtype == np.uint16 and image.tolist() == [[0, 1023], [4095, 7]]
    as_bytes = samples.astype("<u2").view(np.uint8)  # a little-endian buffer as raw bytes
    assert to_engine_image(as_bytes, "Mono12", 2, 2).tolist() == [[0, 1023], [4095, 7]]
    with pytest.raises(PixelFormatError, match="packed"):
        to_engine_image(as_bytes[:3], "Mono12p", 2, 1)


def test_colour_formats_become_bgr():
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[..., 0] = 200  # red, in RGB order
    for name in ("RGB8", "RGB8Packed"):
        image = to_engine_image(rgb.ravel(), name, 3, 2)
        assert (image[..., 2] == 200).all() and not image[..., :2].any()
    rgba = np.dstack([rgb, np.full((2, 3), 255, np.uint8)])
    image = to_engine_image(rgba.ravel(), "RGBa8", 3, 2)
    assert image.shape == (2, 3, 3) and (image[..., 2] == 200).all()
    bgr = to_engine_image(rgb.ravel(), "BGR8", 3, 2)
    assert (bgr[..., 0] == 200).all()


def test_a_format_the_station_does_not_convert_is_named():
    with pytest.raises(PixelFormatError, match=r"YUV422_8.*Mono8/10/12"):
        to_engine_image(np.zeros(8, np.uint8), "YUV422_8", 2, 2)


def test_frame_id_gaps_are_lost_frames():
    assert frames_skipped(None, 5) == 0
    assert frames_skipped(5, 6) == 0
    assert frames_skipped(5, 9) == 3
    assert frames_skipped(65535, 1) == 0  # a GigE Vision 1.x wrap, not a loss


def test_station_serve_takes_a_camera_spec_and_a_recipes_camera_table(tmp_path, tiny_bundle):
    from engine.service_config import ConfigError, load_config

    config = tmp_path / "station.toml"
    body = f"""
[station]
out = "results"
[recipe]
bundle = "{tiny_bundle}"
[recipe.camera]
exposure_us = 1500
trigger = "line1"
activation = "falling"
"""
    config.write_text(f'[source]\nspec = "pylon:40123456"\ntrigger = "continuous"\n{body}')
    loaded = load_config(config)
    assert loaded.source.spec == "pylon:40123456" and loaded.source.kind == "camera"
    assert loaded.recipe.camera == CameraSetup(
        exposure_us=1500, trigger="line1", activation="falling"
    )
    missing = tmp_path / "nowhere.cti"
    config.write_text(f'[source]\nspec = "genicam:7@{missing}"\n{body}')
    with pytest.raises(ConfigError, match=r"source\.spec: .*nowhere\.cti is not a file"):
        load_config(config)
    config.write_text(f'[source]\nspec = "pylon:"\n{body}'.replace("falling", "sideways"))
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert any("source.spec" in e and "serial number or user id" in e for e in info.value.errors)
    assert any("recipe.camera.activation" in e for e in info.value.errors)


def test_a_buffer_that_cannot_be_converted_fails_its_part_not_the_camera():
    from engine.cameras.common import CameraFrame, convert_into

    frame = CameraFrame("7", 0.0, "camera", pixel_format="YUV422_8")
    convert_into(frame, lambda: to_engine_image(np.zeros(8, np.uint8), "YUV422_8", 2, 2))
    assert frame.image is None and "YUV422_8" in frame.error
    short = CameraFrame("8", 0.0, "camera", pixel_format="Mono8")
    convert_into(short, lambda: to_engine_image(np.zeros(5, np.uint8), "Mono8", 2, 3))
    assert short.image is None and "cannot be converted" in short.error
    good = convert_into(CameraFrame("9", 0.0, "camera", pixel_format="Mono8"), lambda: np.ones(2))
    assert good.error is None and good.decode_ms >= 0
