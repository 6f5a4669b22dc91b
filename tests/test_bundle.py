"""Bundle validation: every way a bundle can be broken gives a BundleError naming the culprit."""

import json
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from engine.bundle import BundleError, load_bundle, pack_bundle, set_metrics, write_model
from engine.inspector import Inspector
from tests.tiny_bundle import anomaly_onnx, edit_manifest, make_tiny_bundle


def test_valid_bundle_loads_with_both_models(tiny_bundle: Path) -> None:
    bundle = load_bundle(tiny_bundle)
    assert bundle.name == "tiny"
    assert bundle.segmentation and bundle.segmentation.pixel_threshold == 0.5
    assert bundle.anomaly and bundle.anomaly.global_score_output == "global_score"
    assert bundle.defect_types == ["scratch", "spot"]
    assert len(bundle.digest) == 64


def test_bundle_with_one_model_is_valid(tmp_path: Path) -> None:
    bundle = load_bundle(make_tiny_bundle(tmp_path / "b", segmentation=False))
    assert bundle.segmentation is None and bundle.anomaly is not None


def test_write_model_keeps_the_other_model_and_replaces_its_own_metrics(tmp_path: Path) -> None:
    path = make_tiny_bundle(tmp_path / "b")
    set_metrics(path, "anomaly", "test", {"image_auroc": 0.5})
    set_metrics(path, "segmentation", "heldout", {"dice": 0.7})
    entry = json.loads((path / "manifest.json").read_text())["models"]["anomaly"]
    entry = {k: v for k, v in entry.items() if k not in ("file", "sha256")}
    entry["image_threshold"] = 0.9
    write_model(path, "anomaly", anomaly_onnx(tmp_path / "new.onnx"), entry)
    bundle = load_bundle(path)
    assert bundle.segmentation is not None
    assert bundle.anomaly.image_threshold == 0.9
    assert bundle.metrics == {"segmentation": {"heldout": {"dice": 0.7}}}


def test_write_model_rejects_an_invalid_entry(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"missing field 'models.anomaly.outputs'"):
        write_model(tmp_path / "b", "anomaly", anomaly_onnx(tmp_path / "a.onnx"), {})
    assert not (tmp_path / "b" / "anomaly.onnx").exists()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m.update(format_version=99), "'format_version' is 99"),
        (lambda m: m.pop("name"), "missing field 'name'"),
        (
            lambda m: m["models"]["anomaly"].pop("image_threshold"),
            "missing field 'models.anomaly.image_threshold'",
        ),
        (
            lambda m: m["models"]["segmentation"].update(pixel_threshold="high"),
            "'models.segmentation.pixel_threshold' must be float",
        ),
        (
            lambda m: m["models"]["segmentation"]["input"].update(color_order="CMYK"),
            "'models.segmentation.input.color_order' is 'CMYK'",
        ),
        (
            lambda m: m["models"]["anomaly"]["input"].update(mean=[0, 0]),
            "'models.anomaly.input.mean' must be 3 numbers",
        ),
        (lambda m: m["models"]["anomaly"]["map_normalization"].update(high=-1), "needs high > low"),
        (lambda m: m["models"].update(classifier={}), "unknown model role"),
        (lambda m: m.update(models={}), "declares no model"),
        (lambda m: m["models"]["anomaly"].update(file="../escape.onnx"), "leaves the bundle"),
        (lambda m: m["models"]["anomaly"].update(file="/etc/passwd"), "leaves the bundle"),
        (lambda m: m["models"]["anomaly"].update(file="missing.onnx"), "'missing.onnx'"),
        (
            lambda m: m["models"]["anomaly"].update(sha256="0" * 64),
            "sha256 does not match field 'models.anomaly.sha256'",
        ),
    ],
)
def test_broken_manifest_is_rejected_with_the_field_named(tiny_bundle: Path, edit, message) -> None:
    edit_manifest(tiny_bundle, edit)
    with pytest.raises(BundleError, match=re.escape(message)):
        load_bundle(tiny_bundle)


def test_changed_model_file_fails_the_hash_check(tiny_bundle: Path) -> None:
    with (tiny_bundle / "anomaly.onnx").open("ab") as f:
        f.write(b"\0")
    with pytest.raises(BundleError, match=r"anomaly\.onnx: sha256 does not match"):
        load_bundle(tiny_bundle)


def test_manifest_that_is_not_json(tiny_bundle: Path) -> None:
    (tiny_bundle / "manifest.json").write_text("{not json")
    with pytest.raises(BundleError, match=r"manifest.json: not valid JSON"):
        load_bundle(tiny_bundle)


def test_missing_bundle_and_non_bundle_file(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"bundle not found"):
        load_bundle(tmp_path / "nowhere")
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"hello")
    with pytest.raises(BundleError, match=r"not a model bundle: neither a folder nor a .zip"):
        load_bundle(junk)


def test_onnx_outputs_must_match_the_manifest(tiny_bundle: Path) -> None:
    edit_manifest(tiny_bundle, lambda m: m["models"]["anomaly"]["outputs"].update(map="heat"))
    bundle = load_bundle(tiny_bundle)
    with pytest.raises(BundleError, match=r"models.anomaly output 'heat' is not in the ONNX graph"):
        Inspector(bundle)


def test_onnx_input_name_must_match_the_manifest(tiny_bundle: Path) -> None:
    edit_manifest(tiny_bundle, lambda m: m["models"]["segmentation"]["input"].update(name="x"))
    with pytest.raises(BundleError, match=r"models.segmentation input 'x' is not in the ONNX"):
        Inspector(load_bundle(tiny_bundle))


def test_zip_bundle_round_trip(tiny_bundle: Path, tmp_path: Path) -> None:
    archive = pack_bundle(tiny_bundle, tmp_path / "tiny.zip")
    shutil.rmtree(tiny_bundle)
    bundle = load_bundle(archive)
    assert set(bundle.model_bytes) == {"segmentation", "anomaly"}
    assert Inspector(bundle).inspect(_bright_dot()).verdict == "NG"


def test_zip_slip_member_is_rejected(tiny_bundle: Path, tmp_path: Path) -> None:
    archive = pack_bundle(tiny_bundle, tmp_path / "evil.zip")
    with zipfile.ZipFile(archive, "a") as z:
        z.writestr("../../outside.txt", "x")
    with pytest.raises(BundleError, match=r"leaves the bundle"):
        load_bundle(archive)


def test_symlink_out_of_the_bundle_is_rejected(tiny_bundle: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.onnx"
    shutil.move(tiny_bundle / "anomaly.onnx", outside)
    (tiny_bundle / "anomaly.onnx").symlink_to(outside)
    with pytest.raises(BundleError, match=r"leaves the bundle"):
        load_bundle(tiny_bundle)


def _bright_dot() -> np.ndarray:
    image = np.full((64, 64, 3), 80, np.uint8)
    image[20:40, 20:40] = 250
    return image
