"""Bundle validation: every way a bundle can be broken gives a BundleError naming the culprit."""

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from engine.bundle import (
    BundleError,
    InputLimits,
    InputSpec,
    add_variant,
    load_bundle,
    pack_bundle,
    set_metrics,
    sha256_bytes,
    write_model,
)
from engine.inspector import Inspector
from tests.tiny_bundle import edit_manifest
from training.tiny_bundle import INPUT as TINY_INPUT
from training.tiny_bundle import anomaly_onnx, make_tiny_bundle


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


# --- the input block: engine.bundle writes what it reads (issue 17) ---------------------------


IMAGENET = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # the mean and std training writes


@pytest.mark.parametrize(
    "spec",
    [
        InputSpec("image", 256, 256, "RGB", 1 / 255, *IMAGENET, "stretch"),
        InputSpec("x", 320, 240, "BGR", 1.0, (0.0, 0.5, 1.0), (1.0, 2.0, 3.0), "stretch"),
        TINY_INPUT,
    ],
)
def test_input_spec_round_trips_through_its_manifest_form(spec: InputSpec) -> None:
    block = spec.to_manifest()
    as_stored = json.loads(json.dumps(block))  # what manifest.json holds
    assert as_stored == block
    assert InputSpec.from_manifest(as_stored, "manifest.json") == spec


@pytest.mark.parametrize(
    "limits",
    [
        InputLimits(350, 350, 1400, 1400, colour=True, trained_size="700×700"),
        InputLimits(16, 8, 64, 32, colour=None, trained_size=None),
    ],
)
def test_input_limits_round_trip_through_their_manifest_form(limits: InputLimits) -> None:
    block = json.loads(json.dumps(limits.to_manifest(), ensure_ascii=False))
    assert InputLimits.from_manifest(block, "manifest.json") == limits
    assert ("colour" in block) is (limits.colour is not None)  # optional fields left out


def test_the_tiny_bundle_input_block_is_the_spec_it_was_written_from(tiny_bundle: Path) -> None:
    bundle = load_bundle(tiny_bundle)
    for role in ("segmentation", "anomaly"):
        assert bundle.manifest["models"][role]["input"] == TINY_INPUT.to_manifest()
    assert bundle.segmentation.input == bundle.anomaly.input == TINY_INPUT


def test_input_spec_from_manifest_names_the_bad_field() -> None:
    block = {**TINY_INPUT.to_manifest(), "std": [1.0, 0.0, 1.0]}
    with pytest.raises(BundleError, match=r"^m.json: field 'models.anomaly.input.std' must be pos"):
        InputSpec.from_manifest(block, "m.json", "models.anomaly.input")
    with pytest.raises(BundleError, match=r"^m.json: field 'input' must be an object"):
        InputSpec.from_manifest([], "m.json")


def test_the_format_module_needs_no_onnxruntime() -> None:
    code = "import sys, engine.bundle; print(sorted(m for m in sys.modules if 'onnx' in m))"
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


# --- a zip bundle's file is closed once loading ends, whether it loaded or not ----------------


def _open_files() -> set[str]:
    paths = set()
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):  # the directory's own fd is gone by now
            paths.add(os.readlink(fd))
    return paths


def _rezip(source: Path, target: Path, change: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            new.writestr(name, change.get(name, old.read(name)))
        for name in change.keys() - set(old.namelist()):
            new.writestr(name, change[name])
    return target


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="lists open files through /proc")
def test_a_zip_bundle_is_closed_after_loading_good_or_bad(tiny_bundle: Path, tmp_path: Path):
    good = pack_bundle(tiny_bundle, tmp_path / "good.zip")
    bad = {
        "not valid JSON": _rezip(good, tmp_path / "json.zip", {"manifest.json": b"{not json"}),
        "sha256 does not match": _rezip(good, tmp_path / "hash.zip", {"anomaly.onnx": b"x"}),
        "leaves the bundle": _rezip(good, tmp_path / "slip.zip", {"../evil": b"x"}),
    }
    nested = tmp_path / "nested.zip"
    with zipfile.ZipFile(nested, "w") as archive:
        archive.writestr("tiny/manifest.json", "{}")
    bad["manifest.json is missing"] = nested
    load_bundle(good)
    assert str(good) not in _open_files()
    for message, archive in bad.items():
        # the error's traceback holds the reader's frames: only an explicit close frees the file
        with pytest.raises(BundleError, match=message) as info:
            load_bundle(archive)
        assert str(archive) not in _open_files(), f"{archive.name} left open after {info.value}"


def test_add_variant_lists_the_file_with_its_hash_and_replaces_one_of_the_same_precision(
    tiny_bundle: Path, tmp_path: Path
) -> None:
    model = tiny_bundle / "anomaly.onnx"
    first = add_variant(tiny_bundle, "anomaly", model, {"precision": "int8", "note": "first"})
    again = add_variant(tiny_bundle, "anomaly", model, {"precision": "int8", "note": "second"})
    assert first == again == tiny_bundle / "anomaly.int8.onnx"
    (variant,) = load_bundle(tiny_bundle).manifest["models"]["anomaly"]["variants"]
    assert variant["note"] == "second" and variant["file"] == "anomaly.int8.onnx"
    assert variant["sha256"] == sha256_bytes(model.read_bytes())
    with pytest.raises(ValueError, match="precision"):
        add_variant(tiny_bundle, "anomaly", model, {"precision": "../x"})
    bare = make_tiny_bundle(tmp_path / "seg_only", anomaly=False)
    with pytest.raises(BundleError, match="no model 'anomaly'"):
        add_variant(bare, "anomaly", model, {"precision": "int8"})
