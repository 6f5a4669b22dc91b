"""Bad bundles and images a bundle cannot judge (issue 13, cases 5, 12, 16 and 17).

Each bad input is made here: a model file that is not ONNX, a manifest whose input size is not
the graph's, manifests that are not bundles at all, and images unlike the training images.
Each must be refused with a message naming the file (or the image's problem) in plain words.
"""

import json
import pickle
import re
import zipfile
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest

from engine.bundle import BundleError, InputLimits, load_bundle, pack_bundle, sha256_bytes
from engine.cli import EXIT_ERROR, main
from engine.input_limits import CannotJudge, check_judgeable, is_greyscale
from engine.inspector import Inspector
from engine.result import Verdict
from tests.parts import make_folder
from tests.tiny_bundle import edit_manifest
from training.input_limits import ImageKind, limits_for, limits_from_images
from training.tiny_bundle import make_tiny_bundle

LIMITS = InputLimits(
    min_width=16, min_height=16, max_width=64, max_height=64, colour=True, trained_size="32×32"
)


def _replace_model(bundle: Path, role: str, data: bytes) -> None:
    """Overwrite a model file and give the manifest its hash, so only onnxruntime can tell."""
    (bundle / f"{role}.onnx").write_bytes(data)
    edit_manifest(bundle, lambda m: m["models"][role].update(sha256=sha256_bytes(data)))


def _colour(height: int = 32, width: int = 32) -> np.ndarray:
    return np.full((height, width, 3), (70, 80, 90), np.uint8)


# --- case 5: a model file that is not ONNX ---------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [pickle.dumps({"weights": [0.5] * 64}), np.random.default_rng(0).bytes(256)],
    ids=["pickle", "random-bytes"],
)
def test_model_file_that_is_not_onnx_is_a_bundle_error(tiny_bundle: Path, data: bytes) -> None:
    _replace_model(tiny_bundle, "anomaly", data)
    bundle = load_bundle(tiny_bundle)  # its hash matches: only creating the session can tell
    with pytest.raises(BundleError) as info:
        Inspector(bundle)
    assert str(info.value).startswith(
        f"{tiny_bundle}/anomaly.onnx: the models.anomaly file cannot be loaded: "
        "not an ONNX model (onnxruntime: "
    )


def test_onnx_model_onnxruntime_cannot_run_is_a_bundle_error(tiny_bundle: Path) -> None:
    image = onnx.helper.make_tensor_value_info("image", onnx.TensorProto.FLOAT, ["n", 3, 32, 32])
    score = onnx.helper.make_tensor_value_info("score", onnx.TensorProto.FLOAT, ["n"])
    node = onnx.helper.make_node("Frobnicate", ["image"], ["score"])
    graph = onnx.helper.make_graph([node], "unknown_op", [image], [score])
    _replace_model(tiny_bundle, "anomaly", onnx.helper.make_model(graph).SerializeToString())
    with pytest.raises(BundleError) as info:
        Inspector(load_bundle(tiny_bundle))
    message = str(info.value)
    assert message.startswith(
        f"{tiny_bundle}/anomaly.onnx: the models.anomaly file cannot be loaded: "
        "the ONNX graph is invalid (onnxruntime: "
    )
    assert "No Op registered for Frobnicate" in message


def test_cli_exits_2_naming_the_model_file_that_is_not_onnx(
    tmp_path: Path, tiny_bundle: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _replace_model(tiny_bundle, "segmentation", pickle.dumps([1, 2, 3]))
    source = make_folder(tmp_path / "parts", ok=1, ng=0)
    out = tmp_path / "out"
    argv = [str(source), "--bundle", str(tiny_bundle), "--out", str(out), "--no-progress"]
    assert main(argv) == EXIT_ERROR
    assert (
        f"{tiny_bundle}/segmentation.onnx: the models.segmentation file cannot be loaded: "
        "not an ONNX model"
    ) in caplog.text
    assert "Traceback" not in caplog.text
    assert not out.exists()  # no empty output folder left behind by a run that never started


# --- case 16: manifest input size differs from the ONNX graph --------------------------------


@pytest.mark.parametrize(("key", "value"), [("width", 64), ("height", 48)])
def test_manifest_input_size_must_match_the_graph(tiny_bundle: Path, key: str, value: int) -> None:
    edit_manifest(tiny_bundle, lambda m: m["models"]["segmentation"]["input"].update({key: value}))
    with pytest.raises(BundleError) as info:
        Inspector(load_bundle(tiny_bundle))
    assert str(info.value) == (
        f"{tiny_bundle}/segmentation.onnx: field 'models.segmentation.input.{key}' is {value} "
        f"but the ONNX graph input 'image' has {key} 32 (shape ['batch', 3, 32, 32])"
    )


def _set_graph_dims(bundle: Path, role: str, dims: dict[int, int | str]) -> None:
    """Rewrite the declared dims (axis -> size, or name for a symbolic dim) of every 4-D graph
    input and output of one model, keeping the manifest's hash right."""
    model = onnx.load(bundle / f"{role}.onnx")
    for value in [*model.graph.input, *model.graph.output]:
        shape = value.type.tensor_type.shape.dim
        for axis, size in dims.items() if len(shape) == 4 else ():
            if isinstance(size, str):
                shape[axis].dim_param = size
            else:
                shape[axis].dim_value = size
    _replace_model(bundle, role, model.SerializeToString())


def test_symbolic_input_size_accepts_the_manifest_size(tmp_path: Path) -> None:
    bundle_dir = make_tiny_bundle(tmp_path / "b", segmentation=False)
    _set_graph_dims(bundle_dir, "anomaly", {2: "height", 3: "width"})
    edit_manifest(bundle_dir, lambda m: m["models"]["anomaly"]["input"].update(width=48))
    result = Inspector(load_bundle(bundle_dir)).inspect(_colour())
    assert result.verdict == Verdict.OK


def test_graph_input_with_one_channel_is_refused(tiny_bundle: Path) -> None:
    _set_graph_dims(tiny_bundle, "anomaly", {1: 1})
    with pytest.raises(BundleError, match=r"anomaly.onnx: models.anomaly input 'image' has shape"):
        Inspector(load_bundle(tiny_bundle))


# --- case 17: things that are not bundles ----------------------------------------------------


def test_folder_without_manifest_is_not_a_bundle(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "anomaly.onnx").write_bytes(b"x")
    with pytest.raises(BundleError) as info:
        load_bundle(folder)
    assert str(info.value) == f"{folder}: not a model bundle: manifest.json is missing"


def test_folder_above_a_bundle_points_at_it(tmp_path: Path) -> None:
    make_tiny_bundle(tmp_path / "parent" / "bundle")
    with pytest.raises(BundleError, match=r"found 'bundle/manifest.json': choose that folder"):
        load_bundle(tmp_path / "parent")


@pytest.mark.parametrize(
    ("text", "kind"), [("[1, 2]", "a list"), ('"bundle"', "a string"), ("null", "null")]
)
def test_manifest_that_is_not_an_object(tiny_bundle: Path, text: str, kind: str) -> None:
    (tiny_bundle / "manifest.json").write_text(text)
    with pytest.raises(BundleError) as info:
        load_bundle(tiny_bundle)
    assert str(info.value) == f"{tiny_bundle}/manifest.json: must be a JSON object, got {kind}"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"name": 1,', "not valid JSON (Expecting property name enclosed in double quotes at "
         "line 1 column 12)"),
        (b"", "not valid JSON (the file is empty)"),
        ('{"name": "Düsseldorf"}'.encode("latin-1"), "not UTF-8 text (byte 0xfc at offset 11)"),
    ],
    ids=["truncated", "empty", "latin-1"],
)  # fmt: skip
def test_manifest_that_is_not_utf8_json(tiny_bundle: Path, data: bytes, message: str) -> None:
    (tiny_bundle / "manifest.json").write_bytes(data)
    with pytest.raises(BundleError) as info:
        load_bundle(tiny_bundle)
    assert str(info.value).startswith(f"{tiny_bundle}/manifest.json: {message}")


def test_manifest_with_a_byte_order_mark_loads(tiny_bundle: Path) -> None:
    path = tiny_bundle / "manifest.json"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_bundle(tiny_bundle).name == "tiny"


def test_zip_without_manifest_is_not_a_bundle(tiny_bundle: Path, tmp_path: Path) -> None:
    archive = tmp_path / "models.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(tiny_bundle / "anomaly.onnx", "anomaly.onnx")
    with pytest.raises(BundleError) as info:
        load_bundle(archive)
    assert str(info.value) == (
        f"{archive}: not a model bundle: manifest.json is missing from the top of the zip"
    )


def test_zip_of_the_bundle_folder_itself_says_how_to_zip(tiny_bundle: Path, tmp_path: Path):
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name in ("manifest.json", "anomaly.onnx", "segmentation.onnx"):
            z.write(tiny_bundle / name, f"bundle/{name}")
    with pytest.raises(BundleError, match=r"found 'bundle/manifest.json': zip the bundle folder's"):
        load_bundle(archive)


def test_zip_with_a_corrupt_member_names_it(tiny_bundle: Path, tmp_path: Path) -> None:
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as z:
        for name in ("manifest.json", "anomaly.onnx", "segmentation.onnx"):
            z.write(tiny_bundle / name, name)
    raw = bytearray(archive.read_bytes())
    at = raw.find((tiny_bundle / "anomaly.onnx").read_bytes()) + 20
    raw[at] ^= 0xFF
    archive.write_bytes(bytes(raw))
    with pytest.raises(BundleError, match=r"bundle.zip: zip member 'anomaly.onnx' cannot be read"):
        load_bundle(archive)


def test_file_that_is_neither_folder_nor_zip(tmp_path: Path) -> None:
    path = tmp_path / "bundle.tar"
    path.write_bytes(b"not a zip")
    with pytest.raises(BundleError) as info:
        load_bundle(path)
    assert str(info.value) == f"{path}: not a model bundle: neither a folder nor a .zip file"


# --- case 12: images the bundle cannot judge -------------------------------------------------


@pytest.fixture()
def limited(tmp_path: Path) -> Inspector:
    return Inspector(load_bundle(make_tiny_bundle(tmp_path / "limited", input_limits=LIMITS)))


def test_limits_round_trip_through_the_manifest(tmp_path: Path) -> None:
    bundle = load_bundle(make_tiny_bundle(tmp_path / "b", input_limits=LIMITS))
    assert bundle.input_limits == LIMITS
    assert bundle.manifest["input_limits"]["colour"] is True
    zipped = load_bundle(pack_bundle(tmp_path / "b", tmp_path / "b.zip"))
    assert zipped.input_limits == LIMITS


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (_colour(1, 1), "image 1×1 px is smaller than this bundle accepts "
         "(at least 16×16 px, trained on 32×32 px)"),
        (_colour(64, 8), "image 8×64 px is smaller"),
        (_colour(48, 200), "image 200×48 px is larger than this bundle accepts "
         "(at most 64×64 px, trained on 32×32 px)"),
        (np.full((32, 32), 90, np.uint8), "greyscale image, this bundle was trained on colour"),
        (np.full((32, 32, 1), 90, np.uint16), "greyscale image"),
        (np.full((32, 32, 3), 90, np.uint8), "greyscale image"),
        (np.full((32, 32, 4), (90, 90, 90, 255), np.uint8), "greyscale image"),
        (np.zeros((32, 32, 2), np.uint8), "image array of shape (32, 32, 2) is not grey, BGR"),
    ],
    ids=["1x1", "too-narrow", "too-wide", "grey", "grey-16bit", "bgr-grey", "bgra-grey", "2ch"],
)  # fmt: skip
def test_images_unlike_the_training_images_cannot_be_judged(
    limited: Inspector, image: np.ndarray, message: str
) -> None:
    with pytest.raises(CannotJudge) as info:
        limited.inspect(image)
    assert str(info.value).startswith(f"cannot judge: {message}")


def test_inspect_file_refuses_too(limited: Inspector, tmp_path: Path) -> None:
    path = tmp_path / "thumb.png"
    cv2.imwrite(str(path), _colour(8, 8))
    with pytest.raises(CannotJudge, match=r"image 8×8 px is smaller"):
        limited.inspect_file(path)


@pytest.mark.parametrize(
    "image",
    [
        _colour(),
        _colour(16, 64),
        _colour().astype(np.uint16) * 257,
        np.dstack([_colour(), np.full((32, 32), 255, np.uint8)]),
    ],
    ids=["bgr", "edge-sizes", "16bit", "bgra"],
)
def test_images_like_the_training_images_are_judged(limited: Inspector, image) -> None:
    assert limited.inspect(image).verdict == Verdict.OK


def test_bundle_without_limits_judges_every_image(tiny_bundle: Path) -> None:
    inspector = Inspector(load_bundle(tiny_bundle))
    assert inspector.bundle.input_limits is None
    for image in (_colour(1, 1), np.full((32, 32), 90, np.uint8), _colour(300, 500)):
        assert inspector.inspect(image).verdict == Verdict.OK


def test_greyscale_bundle_refuses_colour_and_mixed_accepts_both() -> None:
    grey_only = InputLimits(1, 1, 100, 100, colour=False, trained_size=None)
    check_judgeable(np.full((32, 32), 90, np.uint8), grey_only)
    with pytest.raises(CannotJudge, match=r"^cannot judge: colour image, this bundle was trained"):
        check_judgeable(_colour(), grey_only)
    either = InputLimits(1, 1, 100, 100, colour=None, trained_size=None)
    check_judgeable(_colour(), either)
    check_judgeable(np.full((32, 32), 90, np.uint8), either)
    with pytest.raises(CannotJudge, match=r"smaller than this bundle accepts \(at least 1×1 px\)"):
        check_judgeable(_colour(0, 5), either)


def test_one_coloured_pixel_off_the_coarse_grid_makes_an_image_colour() -> None:
    image = np.full((100, 100, 3), 90, np.uint8)
    assert is_greyscale(image)
    image[37, 51, 2] = 91
    assert not is_greyscale(image)
    image[37, 51] = (90, 90, 90)
    assert is_greyscale(np.dstack([image, np.zeros((100, 100), np.uint8)]))  # alpha ignored


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"min_width": 0}, "field 'input_limits.min_width' must be at least 1, got 0"),
        ({"max_height": 8}, "field 'input_limits.max_height' is 8, below "
         "'input_limits.min_height' (16)"),
        ({"min_height": 16.5}, "field 'input_limits.min_height' must be int, got 16.5"),
        ({"max_width": True}, "field 'input_limits.max_width' must be int, got True"),
        ({"colour": "yes"}, "field 'input_limits.colour' must be bool, got 'yes'"),
        ({"trained_size": 32}, "field 'input_limits.trained_size' must be str, got 32"),
        ({"min_width": None}, "field 'input_limits.min_width' must be int, got None"),
    ],
)  # fmt: skip
def test_bad_input_limits_are_rejected_naming_the_field(
    tmp_path: Path, edit: dict, message: str
) -> None:
    bundle_dir = make_tiny_bundle(tmp_path / "b", input_limits=LIMITS)
    edit_manifest(bundle_dir, lambda m: m["input_limits"].update(edit))
    with pytest.raises(BundleError) as info:
        load_bundle(bundle_dir)
    assert str(info.value) == f"{bundle_dir}/manifest.json: {message}"


@pytest.mark.parametrize(
    ("value", "message"),
    [([], "field 'input_limits' must be an object"), ({}, "missing field 'input_limits.min_")],
)
def test_input_limits_must_be_a_complete_object(tiny_bundle: Path, value, message: str) -> None:
    edit_manifest(tiny_bundle, lambda m: m.update(input_limits=value))
    with pytest.raises(BundleError, match=re.escape(f"manifest.json: {message}")):
        load_bundle(tiny_bundle)


# --- case 12, training side: the limits come from the training images --------------------------


def test_limits_span_the_training_sizes_with_the_documented_tolerance() -> None:
    assert limits_for([ImageKind(700, 700, True)] * 3) == InputLimits(
        350, 350, 1400, 1400, colour=True, trained_size="700×700"
    )
    mixed = limits_for([ImageKind(640, 481, True), ImageKind(700, 700, False)])
    assert mixed == InputLimits(
        320, 240, 1400, 1400, colour=None, trained_size="640×481 to 700×700"
    )
    assert limits_for([ImageKind(3, 1, False)]).min_height == 1
    assert limits_for([ImageKind(64, 64, False)]).colour is False
    with pytest.raises(ValueError, match=r"at least one training image"):
        limits_for([])


def test_limits_from_the_tiny_dataset_images(tiny_mvtec: Path) -> None:
    limits = limits_from_images(sorted((tiny_mvtec / "train" / "good").iterdir()))
    assert limits == InputLimits(32, 32, 128, 128, colour=True, trained_size="64×64")


def test_anomaly_training_writes_the_limits_into_the_bundle(
    tiny_mvtec: Path, tmp_path: Path
) -> None:
    import argparse

    from training import train_anomaly

    parser = argparse.ArgumentParser()
    train_anomaly.add_arguments(parser)
    out = tmp_path / "bundle"
    args = parser.parse_args(
        ["--data", str(tiny_mvtec.parent), "--category", tiny_mvtec.name, "--out", str(out),
         "--backbone-weights", "random", "--size", "64"]
    )  # fmt: skip
    assert train_anomaly.run(args) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["input_limits"] == {
        "min_width": 32,
        "min_height": 32,
        "max_width": 128,
        "max_height": 128,
        "colour": True,
        "trained_size": "64×64",
    }
    with pytest.raises(CannotJudge):
        Inspector(load_bundle(out)).inspect(_colour(16, 16))
