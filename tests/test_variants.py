"""Model variants: the station runs int8 where its recorded accuracy passes the gate (CPU),
fp32 otherwise, and the engineer can force either; bundles check variant files like models.

The int8 variant here is a real QDQ graph: the tiny anomaly model with its input quantized to
uint8 at a coarse step (1/15), so its scores differ from fp32's and show which file ran.
"""

import json
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from engine.bundle import BundleError, VariantSpec, add_variant, load_bundle
from engine.cli import main as inspect_main
from engine.inspector import Inspector
from engine.providers import CHOICES, ProviderError, available_choices, choose_providers
from engine.variants import ENV_VAR, VariantError, check_gate, choose_variant
from tests.tiny_bundle import edit_manifest
from training.tiny_bundle import SIZE, anomaly_onnx, make_tiny_bundle

STEP = 1 / 15  # the variant's quantization step: 100/255 = 0.392 comes out as 6/15 = 0.4
GREY = np.full((SIZE, SIZE, 3), 100, np.uint8)


def qdq_anomaly(path: Path) -> Path:
    """The tiny anomaly graph behind a uint8 QuantizeLinear/DequantizeLinear of its input."""
    model = onnx.load(anomaly_onnx(path))
    for node in model.graph.node:
        node.input[:] = ["x" if name == "image" else name for name in node.input]
    model.graph.initializer.extend(
        [
            helper.make_tensor("scale", TensorProto.FLOAT, [], [STEP]),
            helper.make_tensor("zero", TensorProto.UINT8, [], [0]),
        ]
    )
    qdq = [
        helper.make_node("QuantizeLinear", ["image", "scale", "zero"], ["q"]),
        helper.make_node("DequantizeLinear", ["q", "scale", "zero"], ["x"]),
    ]
    nodes = [*qdq, *model.graph.node]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def anomaly_metrics(image_drop: float = 0.001, pixel_drop: float = 0.002) -> dict:
    return {
        "split": "tiny/test",
        "int8": {"image_auroc": 0.99 - image_drop, "pixel_auroc": 0.97 - pixel_drop},
        "fp32": {"image_auroc": 0.99, "pixel_auroc": 0.97},
    }


def with_int8(bundle: Path, metrics: dict) -> Path:
    add_variant(
        bundle,
        "anomaly",
        qdq_anomaly(bundle.parent / "int8.onnx"),
        {"precision": "int8", "metrics": metrics},
    )
    return bundle


@pytest.fixture()
def int8_bundle(tiny_bundle: Path) -> Path:
    return with_int8(tiny_bundle, anomaly_metrics())


@pytest.fixture(autouse=True)
def no_env_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


def score(inspector: Inspector) -> float:
    return inspector.inspect(GREY).anomaly_score


def test_int8_runs_on_the_cpu_when_its_accuracy_passes_the_gate(int8_bundle):
    inspector = Inspector(load_bundle(int8_bundle), "cpu")
    assert inspector.precisions == {"segmentation": "fp32", "anomaly": "int8"}
    assert inspector.variant_label == "U-Net fp32, anomaly int8"
    assert "within the gate" in inspector.variants["anomaly"].reason
    assert score(inspector) == pytest.approx(6 * STEP)  # the variant's file really runs
    fp32 = Inspector(load_bundle(int8_bundle), "cpu", "fp32")
    assert fp32.variant_label == "fp32" and score(fp32) == pytest.approx(100 / 255)


@pytest.mark.parametrize(
    ("metrics", "why"),
    [
        (anomaly_metrics(image_drop=0.006), "image_auroc"),  # more than half a point
        (anomaly_metrics(pixel_drop=0.011), "pixel_auroc"),  # more than one point
        ({"split": "tiny/test"}, "no recorded image_auroc"),
    ],
)
def test_a_variant_outside_the_gate_is_not_run(tiny_bundle, metrics, why):
    inspector = Inspector(load_bundle(with_int8(tiny_bundle, metrics)), "cpu")
    assert inspector.precisions["anomaly"] == "fp32"
    assert inspector.variants["anomaly"].reason == "no variant passes the accuracy gate"
    assert why in check_gate("anomaly", load_bundle(tiny_bundle).anomaly.variants[0]).reason
    forced = Inspector(load_bundle(tiny_bundle), "cpu", "int8")  # the engineer may force it
    assert forced.precisions["anomaly"] == "int8" and score(forced) == pytest.approx(6 * STEP)


def test_the_unet_gate_is_one_point_of_dice():
    def unet(drop: float) -> VariantSpec:
        metrics = {"int8": {"dice_mean": 0.82 - drop}, "fp32": {"dice_mean": 0.82}}
        return VariantSpec("int8", "segmentation.int8.onnx", metrics)

    assert check_gate("segmentation", unet(0.009)).passed
    assert not check_gate("segmentation", unet(0.011)).passed


def test_gpu_providers_run_fp32_unless_forced_and_openvino_runs_int8(int8_bundle):
    spec = load_bundle(int8_bundle).anomaly
    for provider in ("CUDAExecutionProvider", "DmlExecutionProvider"):
        choice = choose_variant("anomaly", spec, provider, "auto")
        assert (choice.precision, choice.variant) == ("fp32", None)
    assert choose_variant("anomaly", spec, "CUDAExecutionProvider", "int8").precision == "int8"
    assert choose_variant("anomaly", spec, "OpenVINOExecutionProvider", "auto").precision == "int8"


def test_the_env_var_forces_a_precision(int8_bundle, monkeypatch):
    monkeypatch.setenv(ENV_VAR, "fp32")
    assert Inspector(load_bundle(int8_bundle), "cpu").precisions["anomaly"] == "fp32"
    monkeypatch.setenv(ENV_VAR, "int4")
    with pytest.raises(VariantError, match=r"unknown model variant 'int4'.*STATION_VARIANT"):
        Inspector(load_bundle(int8_bundle), "cpu")


def test_forcing_int8_on_a_bundle_without_any_is_refused(tiny_bundle):
    with pytest.raises(ProviderError, match="no model of the bundle has one"):
        Inspector(load_bundle(tiny_bundle), "cpu", "int8")


def test_a_changed_or_missing_variant_file_makes_the_bundle_unusable(int8_bundle):
    path = int8_bundle / "anomaly.int8.onnx"
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(BundleError, match=r"models\.anomaly\.variants\[0\]\.sha256"):
        load_bundle(int8_bundle)
    path.unlink()
    with pytest.raises(BundleError, match=r"'anomaly.int8.onnx'.*variants\[0\]\.file.*missing"):
        load_bundle(int8_bundle)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda v: v.update(precision="fp32"), r"variants\[0\]\.precision"),
        (lambda v: v.update(file="../outside.onnx"), "leaves the bundle"),
        (lambda v: v.pop("sha256"), r"missing field 'models\.anomaly\.variants\[0\]\.sha256'"),
    ],
)
def test_a_bad_variant_entry_names_its_field(int8_bundle, edit, message):
    edit_manifest(int8_bundle, lambda m: edit(m["models"]["anomaly"]["variants"][0]))
    with pytest.raises(BundleError, match=message):
        load_bundle(int8_bundle)


def test_retraining_a_model_drops_its_variants(int8_bundle):
    make_tiny_bundle(int8_bundle)  # rewrites both models: the old int8 is not theirs
    assert load_bundle(int8_bundle).anomaly.variants == ()


def test_station_inspect_reports_the_precision_and_takes_variant(int8_bundle, tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    cv2.imwrite(str(folder / "grey.png"), GREY)
    for flag, expected in (([], "int8"), (["--variant", "fp32"], "fp32")):
        out = tmp_path / f"out-{expected}"
        args = [str(folder), "--bundle", str(int8_bundle), "--out", str(out), "--no-progress"]
        assert inspect_main([*args, "--provider", "cpu", *flag]) == 0
        summary = json.loads((out / "summary.json").read_text())
        assert summary["precisions"] == {"segmentation": "fp32", "anomaly": expected}


def test_openvino_is_a_choice_refused_clearly_where_absent():
    assert "openvino" in CHOICES
    if "OpenVINOExecutionProvider" in ort.get_available_providers():
        assert choose_providers("openvino")[0] == "OpenVINOExecutionProvider"
        assert "openvino" in available_choices()
        return
    assert "openvino" not in available_choices()  # screens do not offer what cannot run
    with pytest.raises(ProviderError, match=r"'openvino' is not available.*onnxruntime-openvino"):
        choose_providers("openvino")


def test_the_status_bar_says_the_precision(qtbot, int8_bundle):
    from gui.status_bar import StationStatusBar

    bar = StationStatusBar()
    qtbot.addWidget(bar)
    assert bar.labels["variant"].text() == "precision –"
    inspector = Inspector(load_bundle(int8_bundle), "cpu")
    bar.set_variant(inspector.variant_label, {r: c.reason for r, c in inspector.variants.items()})
    assert bar.labels["variant"].text() == "precision U-Net fp32, anomaly int8"
    assert "within the gate" in bar.labels["variant"].toolTip()


def test_the_default_bundle_ships_int8_variants_that_pass_the_gate():
    folder = Path(__file__).resolve().parents[1] / "assets" / "default_bundle"
    assert sum(f.stat().st_size for f in folder.iterdir()) <= 60 * 1024 * 1024
    bundle = load_bundle(folder)
    for role in ("segmentation", "anomaly"):
        (variant,) = getattr(bundle, role).variants
        assert variant.precision == "int8" and check_gate(role, variant).passed
    assert Inspector(bundle, "cpu").precisions == {"segmentation": "int8", "anomaly": "int8"}
